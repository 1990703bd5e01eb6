"""Importing training courses and their batches (one row per session): codes, times in UTC,
batch rows that must agree, quotas that cannot drop below the seats taken, re-imports, and
dry runs."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import func, select

from storage import residents, training
from storage.course_import import import_batches, import_courses
from storage.csvfile import FileProblem, Rejected, Report
from storage.training import Attendance, BatchSession, Course, CourseBatch
from tests.helpers import all_rows

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)  # Sunday 10 January 2027, 10:00 in Jakarta
LATER = datetime(2027, 1, 20, 3, 0, tzinfo=UTC)
SESSION = {
    "batch": "MJH-2027-03A",
    "course": "MJH-DASAR",
    "organiser": "Yayasan Pemberdayaan Perempuan",
    "place": "RPTRA Klender",
    "address": "Jl. Raya Klender No. 1",
    "quota": "2",
    "date": "2027-03-06",
    "start": "08:00",
    "end": "11:00",
    "min_age": "17",
    "residents_only": "ya",
    "priority": "perempuan_kepala_keluarga;kpm",
    "status": "",
}
BATCH_COLUMNS = list(SESSION)


def utc(*parts: int) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


def session(**changes: str) -> dict[str, str]:
    """Return the base session row with some cells changed."""
    return {**SESSION, **changes}


def three_sessions(**changes: str) -> list[dict[str, str]]:
    """Return the rows of a batch meeting on three Saturdays."""
    return [session(date=day, **changes) for day in ("2027-03-06", "2027-03-13", "2027-03-20")]


def write_csv(path: Path, rows: list[dict[str, str]], columns=BATCH_COLUMNS) -> Path:
    """Write a header and rows as a CSV file."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


def courses(database: Database, path: Path = FIXTURES / "courses.csv", **options) -> Report:
    """Import a courses file into the test database."""
    return import_courses(database=database, path=path, now=options.pop("now", NOW), **options)


def batches(database: Database, path: Path, **options) -> Report:
    """Import a batches file into the test database (the fixture courses loaded first)."""
    return import_batches(
        database=database,
        path=path,
        now=options.pop("now", NOW),
        zone="Asia/Jakarta",
        **options,
    )


def counts(report: Report) -> tuple[int, int, int, int, int]:
    """Return rows, added, updated, unchanged and rejected of a report."""
    return report.rows, report.added, report.updated, report.unchanged, len(report.rejected)


def batch(database: Database, code: str) -> training.Batch:
    """Return a stored batch with its sessions."""
    with database.connect() as db:
        found = training.get_batch(db=db, code=code)
    assert found is not None
    return found


def batch_count(database: Database) -> int:
    """Return how many batches are stored."""
    with database.connect() as db:
        return db.execute(select(func.count()).select_from(CourseBatch)).scalar_one()


def resident(database: Database, name: str, *, language: str = "id", phone: str | None = None):
    """Create a registered resident of Klender RW 5; return their id."""
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id=name.lower(), language=language, now=NOW
        )
        residents.update_profile(
            db=db,
            profile=profile,
            now=NOW,
            consent_at=NOW,
            name=name,
            kelurahan_code="31.75.07.1003",
            rw=5,
            phone=phone,
        )
    return profile.id


def enrol(database: Database, code: str, resident_id: int, group: str | None = None):
    """Enrol a resident in a batch."""
    with database.begin() as db:
        batch_id = training.get_batch(db=db, code=code).id
        return training.enrol(
            db=db, batch_id=batch_id, resident_id=resident_id, now=NOW, priority_group=group
        )


@pytest.fixture
def loaded(database: Database) -> Database:
    """The test database with the fixture courses."""
    assert counts(courses(database)) == (3, 3, 0, 0, 0)
    return database


# -- courses -----------------------------------------------------------------------------------


def test_courses_import_with_their_codes_in_capitals(database) -> None:
    report = courses(database)
    assert counts(report) == (3, 3, 0, 0, 0)
    with database.connect() as db:
        stored = {row.code: row for row in db.execute(select(Course.__table__))}
    assert set(stored) == {"MJH-DASAR", "TBG-KUE", "TI-OFFICE"}
    sewing = stored["MJH-DASAR"]
    assert (sewing.category, sewing.title, sewing.title_en) == (
        "Menjahit",
        "Menjahit Dasar",
        "Basic sewing",
    )
    assert sewing.description.startswith("Mengenal mesin jahit, mengukur badan")
    assert stored["TI-OFFICE"].title_en == ""
    assert not sewing.demo


def test_the_same_courses_again_change_nothing(database) -> None:
    courses(database)
    before = all_rows(database)
    assert counts(courses(database, now=LATER)) == (3, 0, 0, 3, 0)
    assert all_rows(database) == before


def test_a_changed_course_is_updated(database, tmp_path) -> None:
    courses(database)
    text = (FIXTURES / "courses.csv").read_text(encoding="utf-8")
    changed = tmp_path / "courses.csv"
    changed.write_text(text.replace("Menjahit Dasar", "Menjahit Dasar I"), encoding="utf-8")
    assert counts(courses(database, changed)) == (3, 0, 1, 2, 0)
    with database.connect() as db:
        title = db.execute(select(Course.title).where(Course.code == "MJH-DASAR")).scalar_one()
    assert title == "Menjahit Dasar I"


def test_indonesian_headers_and_semicolons_work(database, tmp_path) -> None:
    path = tmp_path / "kursus.csv"
    path.write_text(
        "Kode;Kategori;Nama Kursus;Deskripsi\r\n"
        "KCT-RIAS;Kecantikan;Tata Rias Pengantin;Rias wajah, sanggul dan busana pengantin.\r\n",
        encoding="cp1252",
    )
    report = courses(database, path)
    assert counts(report) == (1, 1, 0, 0, 0)
    with database.connect() as db:
        row = db.execute(select(Course.__table__)).one()
    assert (row.code, row.category, row.title) == ("KCT-RIAS", "Kecantikan", "Tata Rias Pengantin")
    assert row.description == "Rias wajah, sanggul dan busana pengantin."


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (",Menjahit,Menjahit Dasar", "code is missing"),
        ("MJH DASAR,Menjahit,Menjahit Dasar", "code is missing or not"),
        ("MJH-2,,Menjahit Dasar", "category and title are needed"),
        (f"MJH-3,Menjahit,{'x' * 121}", "title is longer than 120 characters"),
        ("MJH-4,Menjahit,Dasar,extra", "row has 4 cells, the header 3"),
    ],
)
def test_bad_course_rows_are_rejected(database, tmp_path, line: str, reason: str) -> None:
    path = tmp_path / "courses.csv"
    path.write_text(f"code,category,title\n{line}\n", encoding="utf-8")
    report = courses(database, path)
    assert counts(report)[1:] == (0, 0, 0, 1)
    assert report.rejected[0].line == 2
    assert reason in report.rejected[0].reason


def test_the_same_course_code_twice_rejects_the_second(database, tmp_path) -> None:
    path = tmp_path / "courses.csv"
    path.write_text(
        "code,category,title\nMJH,Menjahit,Dasar\nmjh,Menjahit,Lanjutan\n", encoding="utf-8"
    )
    report = courses(database, path)
    assert report.rejected == [Rejected(3, "same code as line 2")]


def test_a_courses_file_without_a_title_column_is_unusable(database, tmp_path) -> None:
    path = tmp_path / "courses.csv"
    path.write_text("code,category\nMJH,Menjahit\n", encoding="utf-8")
    with pytest.raises(FileProblem, match="missing column"):
        courses(database, path)


def test_a_dry_run_of_courses_writes_nothing(database) -> None:
    before = all_rows(database)
    assert counts(courses(database, dry_run=True)) == (3, 3, 0, 0, 0)
    assert all_rows(database) == before


# -- batches -----------------------------------------------------------------------------------


def test_batches_import_with_sessions_in_date_order(loaded) -> None:
    report = batches(loaded, FIXTURES / "batches.csv")
    assert counts(report) == (5, 2, 0, 0, 0)
    sewing = batch(loaded, "MJH-2027-03A")
    assert sewing.course_code == "MJH-DASAR"
    assert (sewing.organiser, sewing.place, sewing.quota) == (
        "Yayasan Pemberdayaan Perempuan",
        "RPTRA Klender",
        2,
    )
    assert (sewing.min_age, sewing.residents_only) == (17, True)
    assert sewing.priority_groups == ("perempuan_kepala_keluarga", "kpm")
    assert [(item.number, item.starts_at, item.ends_at) for item in sewing.sessions] == [
        (1, utc(2027, 3, 6, 1, 0), utc(2027, 3, 6, 4, 0)),
        (2, utc(2027, 3, 13, 1, 0), utc(2027, 3, 13, 4, 0)),
        (3, utc(2027, 3, 20, 1, 0), utc(2027, 3, 20, 4, 30)),
    ]
    assert (sewing.starts_at, sewing.ends_at) == (utc(2027, 3, 6, 1, 0), utc(2027, 3, 20, 4, 30))
    cakes = batch(loaded, "TBG-2027-03A")
    assert (cakes.min_age, cakes.residents_only, cakes.priority_groups) == (0, False, ())
    assert [item.starts_at for item in cakes.sessions] == [
        utc(2027, 3, 1, 6, 0),
        utc(2027, 3, 8, 6, 0),
    ]
    assert not cakes.cancelled


def test_the_same_batches_again_change_nothing(loaded) -> None:
    batches(loaded, FIXTURES / "batches.csv")
    before = all_rows(loaded)
    assert counts(batches(loaded, FIXTURES / "batches.csv", now=LATER)) == (5, 0, 0, 2, 0)
    assert all_rows(loaded) == before


def test_a_dry_run_of_batches_writes_nothing(loaded) -> None:
    before = all_rows(loaded)
    assert counts(batches(loaded, FIXTURES / "batches.csv", dry_run=True)) == (5, 2, 0, 0, 0)
    assert all_rows(loaded) == before


def test_a_batch_with_an_unknown_course_is_rejected_whole(loaded, tmp_path) -> None:
    path = write_csv(tmp_path / "b.csv", three_sessions(course="MJH-LANJUT"))
    report = batches(loaded, path)
    assert counts(report) == (3, 0, 0, 0, 3)
    assert [rejected.line for rejected in report.rejected] == [2, 3, 4]
    assert all("unknown course code 'MJH-LANJUT'" in item.reason for item in report.rejected)
    assert batch_count(loaded) == 0


def test_rows_that_disagree_with_their_batch_are_rejected_and_the_batch_held(
    loaded, tmp_path
) -> None:
    rows = three_sessions()
    rows[1]["place"] = "RPTRA Pondok Kopi"
    rows[2]["quota"] = "25"
    rows[2]["organiser"] = "PPKD"
    other = session(batch="MJH-2027-04A", date="2027-04-03")
    report = batches(loaded, write_csv(tmp_path / "b.csv", [*rows, other]))
    assert report.rejected == [
        Rejected(2, "batch MJH-2027-03A not imported: line 3 was rejected"),
        Rejected(3, "batch MJH-2027-03A: place differs from line 2"),
        Rejected(4, "batch MJH-2027-03A: organiser, quota differ from line 2"),
    ]
    assert (report.added, batch_count(loaded)) == (1, 1)
    assert batch(loaded, "MJH-2027-04A").quota == 2


def test_the_same_session_twice_is_rejected(loaded, tmp_path) -> None:
    rows = [session(), session(start="08.00", end="10:00")]
    report = batches(loaded, write_csv(tmp_path / "b.csv", rows))
    assert Rejected(3, "same session as line 2") in report.rejected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"quota": "dua puluh"}, "quota must be a whole number from 1 to 10000, not 'dua puluh'"),
        ({"quota": "0"}, "quota must be a whole number from 1 to 10000, not '0'"),
        ({"quota": "20a"}, "quota must be a whole number"),
        ({"quota": "-3"}, "quota must be a whole number"),
        ({"quota": ""}, "quota must be a whole number"),
        ({"date": "2027-02-30"}, "date must be YYYY-MM-DD or DD/MM/YYYY, not '2027-02-30'"),
        ({"date": "6 Maret 2027"}, "date must be YYYY-MM-DD or DD/MM/YYYY"),
        ({"start": "8 pagi"}, "start and end must be times like 08:00"),
        ({"end": "24:00"}, "start and end must be times like 08:00"),
        ({"start": "11:00", "end": "08:00"}, "end must be later than start"),
        ({"min_age": "101"}, "min_age must be a whole number from 0 to 100"),
        ({"min_age": "tujuh belas"}, "min_age must be a whole number"),
        ({"residents_only": "mungkin"}, "residents_only must be ya or tidak"),
        ({"priority": "kpm;janda"}, "unknown priority group 'janda' (known: kpm, "),
        ({"status": "selesai"}, "status must be empty, aktif or batal"),
        ({"address": ""}, "organiser, place and address are needed"),
        ({"batch": ""}, "batch code is missing"),
        ({"batch": "MJH 2027"}, "batch code is missing or not"),
    ],
)
def test_bad_batch_rows_are_rejected(loaded, tmp_path, changes: dict, reason: str) -> None:
    report = batches(loaded, write_csv(tmp_path / "b.csv", [session(**changes)]))
    assert counts(report) == (1, 0, 0, 0, 1)
    assert reason in report.rejected[0].reason
    assert batch_count(loaded) == 0


def test_a_bad_session_holds_its_whole_batch(loaded, tmp_path) -> None:
    rows = three_sessions()
    rows[2]["date"] = "2027-13-01"
    report = batches(loaded, write_csv(tmp_path / "b.csv", rows))
    assert [item.line for item in report.rejected] == [2, 3, 4]
    assert report.rejected[0].reason == "batch MJH-2027-03A not imported: line 4 was rejected"
    assert batch_count(loaded) == 0


def test_priority_groups_take_bars_and_any_case(loaded, tmp_path) -> None:
    path = write_csv(tmp_path / "b.csv", [session(priority=" Lansia | KPM |lansia")])
    assert batches(loaded, path).added == 1
    assert batch(loaded, "MJH-2027-03A").priority_groups == ("lansia", "kpm")


def test_no_courses_loaded_makes_a_batches_file_unusable(database) -> None:
    with pytest.raises(FileProblem, match="no courses are loaded yet"):
        batches(database, FIXTURES / "batches.csv")


def test_a_batches_file_without_a_quota_column_is_unusable(loaded, tmp_path) -> None:
    columns = [column for column in BATCH_COLUMNS if column != "quota"]
    rows = [{key: value for key, value in session().items() if key != "quota"}]
    with pytest.raises(FileProblem, match=r"missing column.*quota"):
        batches(loaded, write_csv(tmp_path / "b.csv", rows, columns))


def test_changed_sessions_replace_the_old_ones_and_keep_attendance(loaded, tmp_path) -> None:
    batches(loaded, write_csv(tmp_path / "b.csv", three_sessions()))
    first = enrol(loaded, "MJH-2027-03A", resident(loaded, "Siti"))
    with loaded.begin() as db:
        batch_id = training.get_batch(db=db, code="MJH-2027-03A").id
        for number in (1, 2):
            training.mark_attendance(
                db=db, batch_id=batch_id, session=number, present={first.enrolment_id}, now=NOW
            )
    # the second meeting moves a week later and a fourth is added before it
    rows = [session(date=day) for day in ("2027-03-06", "2027-03-20", "2027-03-27")]
    rows.append(session(date="2027-03-10", start="13:00", end="15:00"))
    report = batches(loaded, write_csv(tmp_path / "b2.csv", rows), now=LATER)
    assert counts(report) == (4, 0, 1, 0, 0)
    moved = batch(loaded, "MJH-2027-03A")
    assert [(item.number, item.starts_at) for item in moved.sessions] == [
        (1, utc(2027, 3, 6, 1, 0)),
        (2, utc(2027, 3, 10, 6, 0)),
        (3, utc(2027, 3, 20, 1, 0)),
        (4, utc(2027, 3, 27, 1, 0)),
    ]
    assert moved.ends_at == utc(2027, 3, 27, 4, 0)
    with loaded.connect() as db:
        marked = db.execute(
            select(BatchSession.number)
            .join(Attendance, Attendance.session_id == BatchSession.id)
            .where(BatchSession.batch_id == batch_id)
        ).all()
    assert marked == [(1,)]  # the meeting of 13 March is gone with its attendance


def test_a_quota_below_the_confirmed_seats_is_refused(loaded, tmp_path) -> None:
    path = write_csv(tmp_path / "b.csv", three_sessions(quota="3"))
    batches(loaded, path)
    for name in ("Siti", "Ani", "Rina"):
        enrol(loaded, "MJH-2027-03A", resident(loaded, name))
    lower = write_csv(tmp_path / "lower.csv", three_sessions(quota="2"))
    report = batches(loaded, lower, now=LATER)
    reason = "batch MJH-2027-03A: quota 2 is below the 3 confirmed enrolments already taken"
    assert report.rejected == [Rejected(line, reason) for line in (2, 3, 4)]
    assert batch(loaded, "MJH-2027-03A").quota == 3
    same = write_csv(tmp_path / "same.csv", three_sessions(quota="3", place="RPTRA Baru"))
    assert counts(batches(loaded, same, now=LATER)) == (3, 0, 1, 0, 0)


def test_a_higher_quota_calls_back_to_fill_the_seats(loaded, tmp_path) -> None:
    batches(loaded, write_csv(tmp_path / "b.csv", three_sessions(quota="1")))
    for name in ("Siti", "Ani", "Rina"):
        enrol(loaded, "MJH-2027-03A", resident(loaded, name))
    called = []
    higher = write_csv(tmp_path / "higher.csv", three_sessions(quota="2"))
    batches(loaded, higher, more_seats=lambda db, batch_id: called.append(batch_id))
    assert called == [batch(loaded, "MJH-2027-03A").id]
    batches(loaded, higher, more_seats=lambda db, batch_id: called.append(batch_id))
    assert len(called) == 1  # unchanged: nothing to fill


def test_batal_on_any_row_calls_the_batch_off(loaded, tmp_path) -> None:
    batches(loaded, FIXTURES / "batches.csv")
    rows = three_sessions()
    rows[1]["status"] = "batal"
    report = batches(loaded, write_csv(tmp_path / "b.csv", rows))
    assert (report.updated, report.rejected) == (1, [])
    assert batch(loaded, "MJH-2027-03A").cancelled
    with loaded.connect() as db:
        assert [item.code for item in training.open_batches(db=db, now=NOW)] == ["TBG-2027-03A"]
