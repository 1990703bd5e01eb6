"""Importing health talks and checks (one row per slot): events matched by code and slots by
start, capacities never below the places booked, batal, slots dropped from the file, re-imports
and dry runs."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import func, select

from storage import health
from storage.csvfile import FileProblem, Rejected
from storage.health import EventKind, HealthEvent, HealthSlot
from storage.health_import import NotedReport, import_health
from tests.helpers import all_rows
from tests.test_course_import import resident

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)
LATER = datetime(2027, 1, 20, 3, 0, tzinfo=UTC)
SLOT = {
    "event": "CEK-0310",
    "kind": "cek kesehatan",
    "topic": "Tekanan darah",
    "topic_en": "Blood pressure",
    "title": "Cek Kesehatan Gratis",
    "title_en": "Free health check",
    "organiser": "Puskesmas Kecamatan Duren Sawit",
    "place": "Puskesmas Kecamatan Duren Sawit",
    "address": "Jl. Raya Duren Sawit No. 3",
    "bring": "KTP",
    "bring_en": "",
    "date": "2027-03-10",
    "start": "08:00",
    "end": "08:30",
    "capacity": "5",
    "status": "",
}
COLUMNS = list(SLOT)


def slot(**changes: str) -> dict[str, str]:
    """Return the base slot row with some cells changed."""
    return {**SLOT, **changes}


def morning(**changes: str) -> list[dict[str, str]]:
    """Return three half-hour slots of one check day."""
    times = (("08:00", "08:30"), ("08:30", "09:00"), ("09:00", "09:30"))
    return [slot(start=start, end=end, **changes) for start, end in times]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write the header and rows as a CSV file."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


def run(database: Database, path: Path, **options) -> NotedReport:
    """Import a health file into the test database."""
    return import_health(
        database=database,
        path=path,
        now=options.pop("now", NOW),
        zone="Asia/Jakarta",
        **options,
    )


def counts(report) -> tuple[int, int, int, int, int]:
    """Return rows, added, updated, unchanged and rejected of a report."""
    return report.rows, report.added, report.updated, report.unchanged, len(report.rejected)


def utc(*parts: int) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


def slots(database: Database, code: str) -> list[tuple[datetime, datetime, int, int]]:
    """Return an event's slots: start, end, capacity, taken."""
    with database.connect() as db:
        return [
            tuple(row)
            for row in db.execute(
                select(
                    HealthSlot.starts_at, HealthSlot.ends_at, HealthSlot.capacity, HealthSlot.taken
                )
                .join(HealthEvent, HealthEvent.id == HealthSlot.event_id)
                .where(HealthEvent.code == code)
                .order_by(HealthSlot.starts_at)
            )
        ]


def event(database: Database, code: str):
    """Return a stored event row."""
    with database.connect() as db:
        return db.execute(select(HealthEvent.__table__).where(HealthEvent.code == code)).one()


def book(database: Database, code: str, start: datetime, name: str) -> None:
    """Book a slot for a new resident."""
    resident_id = resident(database, name)
    with database.begin() as db:
        slot_id = db.execute(
            select(HealthSlot.id)
            .join(HealthEvent, HealthEvent.id == HealthSlot.event_id)
            .where(HealthEvent.code == code, HealthSlot.starts_at == start)
        ).scalar_one()
        booked = health.book(db=db, slot_id=slot_id, resident_id=resident_id, now=NOW)
    assert booked.result == health.BookResult.BOOKED


def test_events_and_slots_import(database) -> None:
    report = run(database, FIXTURES / "health.csv")
    assert counts(report) == (4, 4, 0, 0, 0)
    assert report.notes == []
    check = event(database, "CEK-2027-03-10")
    assert (check.kind, check.topic, check.topic_en) == (
        EventKind.CHECK,
        "Tekanan darah dan gula darah",
        "Blood pressure and blood sugar",
    )
    assert check.bring == "KTP; puasa 8 jam untuk cek gula darah"
    assert not check.cancelled
    assert slots(database, "CEK-2027-03-10") == [
        (utc(2027, 3, 10, 1, 0), utc(2027, 3, 10, 1, 30), 5, 0),
        (utc(2027, 3, 10, 1, 30), utc(2027, 3, 10, 2, 0), 5, 0),
        (utc(2027, 3, 10, 2, 0), utc(2027, 3, 10, 2, 30), 4, 0),
    ]
    talk = event(database, "PNY-GIZI-0312")
    assert (talk.kind, talk.bring, talk.title_en) == (
        EventKind.TALK,
        "",
        "My plate: balanced nutrition for the family",
    )
    with database.connect() as db:
        assert health.topics(db=db, kind=EventKind.TALK, now=NOW) == [
            ("Gizi seimbang", "Balanced nutrition")
        ]


def test_the_same_file_again_changes_nothing(database) -> None:
    run(database, FIXTURES / "health.csv")
    before = all_rows(database)
    assert counts(run(database, FIXTURES / "health.csv", now=LATER)) == (4, 0, 0, 4, 0)
    assert all_rows(database) == before


def test_a_dry_run_writes_nothing(database) -> None:
    before = all_rows(database)
    assert counts(run(database, FIXTURES / "health.csv", dry_run=True)) == (4, 4, 0, 0, 0)
    assert all_rows(database) == before


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"capacity": "0"}, "capacity must be a whole number from 1 to 10000, not '0'"),
        ({"capacity": "lima"}, "capacity must be a whole number"),
        ({"capacity": "1.5"}, "capacity must be a whole number"),
        ({"kind": "senam"}, "kind must be penyuluhan (talk) or cek (check), not 'senam'"),
        ({"date": "31/02/2027"}, "date must be YYYY-MM-DD or DD/MM/YYYY"),
        ({"start": "jam 8"}, "start and end must be times like 08:00"),
        ({"end": "07:30"}, "end must be later than start"),
        ({"topic": ""}, "topic, title, organiser, place and address are needed"),
        ({"status": "ditunda"}, "status must be empty, aktif or batal"),
        ({"title_en": "x" * 121}, "title_en is longer than 120 characters"),
        ({"event": ""}, "event code is missing"),
    ],
)
def test_bad_rows_are_rejected(database, tmp_path, changes: dict, reason: str) -> None:
    report = run(database, write_csv(tmp_path / "h.csv", [slot(**changes)]))
    assert counts(report) == (1, 0, 0, 0, 1)
    assert reason in report.rejected[0].reason
    with database.connect() as db:
        assert db.execute(select(func.count()).select_from(HealthEvent)).scalar_one() == 0


def test_kinds_in_other_words(database, tmp_path) -> None:
    rows = [
        slot(event="A", kind="Penyuluhan"),
        slot(event="B", kind="talk"),
        slot(event="C", kind="Pemeriksaan"),
        slot(event="D", kind="CHECK"),
    ]
    assert run(database, write_csv(tmp_path / "h.csv", rows)).added == 4
    kinds = [event(database, code).kind for code in "ABCD"]
    assert kinds == [EventKind.TALK, EventKind.TALK, EventKind.CHECK, EventKind.CHECK]


def test_rows_that_disagree_with_their_event_hold_it_back(database, tmp_path) -> None:
    rows = morning()
    rows[2]["place"] = "Posyandu Melati"
    report = run(database, write_csv(tmp_path / "h.csv", rows))
    assert report.rejected == [
        Rejected(2, "event CEK-0310 not imported: line 4 was rejected"),
        Rejected(3, "event CEK-0310 not imported: line 4 was rejected"),
        Rejected(4, "event CEK-0310: place differs from line 2"),
    ]
    assert slots(database, "CEK-0310") == []


def test_the_same_slot_twice_is_rejected(database, tmp_path) -> None:
    report = run(database, write_csv(tmp_path / "h.csv", [slot(), slot(end="09:00")]))
    assert Rejected(3, "same slot as line 2") in report.rejected


def test_batal_on_one_row_calls_the_event_off(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "h.csv", morning()))
    rows = morning()
    rows[1]["status"] = "batal"
    report = run(database, write_csv(tmp_path / "h2.csv", rows))
    assert counts(report) == (3, 0, 3, 0, 0)
    assert event(database, "CEK-0310").cancelled
    with database.connect() as db:
        assert health.topics(db=db, kind=EventKind.CHECK, now=NOW) == []
    # the same file without batal brings it back
    run(database, write_csv(tmp_path / "h3.csv", morning()))
    assert not event(database, "CEK-0310").cancelled


def test_a_capacity_below_the_places_booked_is_refused(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "h.csv", morning()))
    first = utc(2027, 3, 10, 1, 0)
    for name in ("Siti", "Ani", "Rina"):
        book(database, "CEK-0310", first, name)
    rows = morning()
    rows[0]["capacity"] = "2"
    report = run(database, write_csv(tmp_path / "h2.csv", rows))
    assert report.rejected == [
        Rejected(2, "capacity 2 is below the 3 places already booked in this slot"),
        Rejected(3, "event CEK-0310 not imported: line 2 was rejected"),
        Rejected(4, "event CEK-0310 not imported: line 2 was rejected"),
    ]
    assert slots(database, "CEK-0310")[0][2:] == (5, 3)
    rows[0]["capacity"] = "3"
    assert counts(run(database, write_csv(tmp_path / "h3.csv", rows))) == (3, 0, 1, 2, 0)
    assert slots(database, "CEK-0310")[0][2:] == (3, 3)


def test_later_slots_left_out_go_unless_booked(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "h.csv", morning()))
    book(database, "CEK-0310", utc(2027, 3, 10, 1, 30), "Siti")
    only_first = write_csv(tmp_path / "h2.csv", morning()[:1])
    dry = run(database, only_first, dry_run=True)
    assert dry.notes[0] == "event CEK-0310: 1 later slot not in the file would be removed"
    report = run(database, only_first)
    assert counts(report) == (1, 0, 0, 1, 0)
    assert report.notes == [
        "event CEK-0310: 1 later slot not in the file was removed",
        "event CEK-0310: the slot at 2027-03-10 08:30 is not in the file but has 1 booking(s), "
        "so it stays (to call the whole event off, use status batal)",
    ]
    assert [item[0] for item in slots(database, "CEK-0310")] == [
        utc(2027, 3, 10, 1, 0),
        utc(2027, 3, 10, 1, 30),
    ]


def test_slots_already_past_are_left_alone(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "h.csv", morning()))
    after = utc(2027, 3, 10, 3, 0)
    report = run(database, write_csv(tmp_path / "h2.csv", [slot(date="2027-03-17")]), now=after)
    assert report.notes == []
    assert len(slots(database, "CEK-0310")) == 4


def test_an_empty_file_is_unusable(database, tmp_path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("\r\n", encoding="utf-8")
    with pytest.raises(FileProblem, match="the file is empty"):
        run(database, path)


def test_a_file_without_a_capacity_column_is_unusable(database, tmp_path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("event,kind,topic,title\nA,cek,Gula,Cek\n", encoding="utf-8")
    with pytest.raises(FileProblem, match="missing column"):
        run(database, path)
