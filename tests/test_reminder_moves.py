"""Reminders follow what staff change: a distribution or a course session that moves takes its
pending reminders along (and its residents are told the new time and place, in the import's
transaction); a distribution, batch or health event called off cancels them."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select

from bot import staff as staff_commands
from bot.__main__ import parse_args, run_staff_command
from bot.settings import Settings
from storage import health, reminders, training
from storage import staff as accounts
from storage.outbox import Outbound, OutboundKind
from storage.reminders import Reminder, ReminderStatus, Subject
from storage.staff import PARTNERS_FILE
from storage.types import utcnow
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.test_course_import import FIXTURES, NOW, enrol, resident, three_sessions, write_csv
from tests.test_schedule_import import BASE, COLUMNS

ZONE = "Asia/Jakarta"


@pytest.fixture(autouse=True)
def no_login_in_the_environment(monkeypatch) -> None:
    """Start every test without STAFF_LOGIN."""
    monkeypatch.delenv("STAFF_LOGIN", raising=False)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """Settings that point the commands at the test database."""
    url = TEST_DATABASE_URL or database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=tmp_path / "data", nik_pepper=TEST_KEY.decode())


@pytest.fixture
def staffed(database: Database) -> Database:
    """The test database with the shipped staff accounts."""
    with database.begin() as db:
        accounts.load(db=db, source=PARTNERS_FILE, now=NOW)
    return database


def cli(settings: Settings, *args: str) -> int:
    """Run a staff command in this process, as petugas."""
    return run_staff_command(settings, parse_args([*args, "--as", "petugas"]))


def outbound(database: Database) -> list[Outbound]:
    """Return every queued message."""
    with database.connect() as db:
        rows = db.execute(select(Outbound.__table__).order_by(Outbound.id)).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


def of(database: Database, resident_id: int) -> list[Reminder]:
    """Return a resident's reminders, earliest first."""
    with database.connect() as db:
        rows = db.execute(
            select(Reminder.__table__)
            .where(Reminder.resident_id == resident_id)
            .order_by(Reminder.remind_at, Reminder.id)
        ).all()
    return [Reminder.model_validate(row._asdict()) for row in rows]


def utc(*parts: int) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


# -- sembako distributions -----------------------------------------------------------------------


def schedule_csv(path: Path, **changes: str) -> Path:
    """Write the schedule of one distribution (KLD-A, Klender, 6 March 2027 08.00)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, [*COLUMNS, "status"], lineterminator="\r\n")
    writer.writeheader()
    writer.writerow({**BASE, "status": "", **changes})
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def import_schedule(settings: Settings, path: Path) -> int:
    """Run import-schedule."""
    return staff_commands.import_schedule(settings, path, False, None, "petugas")


def distribution_id(database: Database) -> int:
    """Return the one distribution's id."""
    from storage.schedules import Distribution

    with database.connect() as db:
        return db.execute(select(Distribution.id)).scalar_one()


def ask(database: Database, resident_id: int, subject: Subject, subject_id: int, start: datetime):
    """Record a resident's reminders of an event by the rules, as the conversations do."""
    with database.begin() as db:
        reminders.request(
            db=db,
            resident_id=resident_id,
            subject=subject,
            subject_id=subject_id,
            times=reminders.times_ahead(subject, start, ZONE, utcnow()),
            now=utcnow(),
        )


def test_a_moved_distribution_moves_its_reminders_and_tells_who_holds_one(
    settings, database, staffed, tmp_path, capsys
) -> None:
    assert import_schedule(settings, schedule_csv(tmp_path / "a.csv")) == 0
    pickup = distribution_id(database)
    siti, ani = resident(database, "Siti"), resident(database, "Ani", language="en")
    rina = resident(database, "Rina")
    for person in (siti, ani):
        ask(database, person, Subject.DISTRIBUTION, pickup, utc(2027, 3, 6, 1, 0))
    assert [item.remind_at for item in of(database, siti)] == [
        utc(2027, 3, 5, 11, 0),
        utc(2027, 3, 5, 23, 30),
    ]
    morning = of(database, ani)[1].id
    with database.begin() as db:  # Ani wants no reminder on the morning itself
        reminders.cancel_mine(db=db, reminder_id=morning, resident_id=ani)
    capsys.readouterr()
    moved = schedule_csv(
        tmp_path / "b.csv", date="2027-03-13", start="13:00", end="16:00", place="Aula Klender"
    )
    assert import_schedule(settings, moved) == 0
    assert "2 resident(s) with reminders of moved or called-off distributions" in (
        capsys.readouterr().out
    )
    assert [(item.remind_at, item.status) for item in of(database, siti)] == [
        (utc(2027, 3, 12, 11, 0), ReminderStatus.PENDING),
        (utc(2027, 3, 12, 23, 30), ReminderStatus.PENDING),
    ]
    assert [(item.remind_at, item.status) for item in of(database, ani)] == [
        (utc(2027, 3, 5, 23, 30), ReminderStatus.CANCELLED),
        (utc(2027, 3, 12, 11, 0), ReminderStatus.PENDING),
    ]
    queued = outbound(database)
    assert [(item.resident_id, item.kind) for item in queued] == [
        (siti, OutboundKind.REMINDER),
        (ani, OutboundKind.REMINDER),
    ]
    assert "Perubahan jadwal: pengambilan sembako (Program Sembako" in queued[0].text
    assert "kini pada Sabtu, 13 Maret 2027, 13.00–16.00 WIB di Aula Klender" in queued[0].text
    assert "Pengingat Bapak/Ibu ikut pindah ke waktu yang baru" in queued[0].text
    assert "is now on Saturday, 13 March 2027, 13.00–16.00 WIB at Aula Klender" in queued[1].text
    assert not of(database, rina)
    assert import_schedule(settings, moved) == 0  # the same again: no news
    assert len(outbound(database)) == 2
    off = schedule_csv(
        tmp_path / "c.csv",
        date="2027-03-13",
        start="13:00",
        end="16:00",
        place="Aula Klender",
        status="batal",
    )
    assert import_schedule(settings, off) == 0
    assert {item.status for item in of(database, siti)} == {ReminderStatus.CANCELLED}
    queued = outbound(database)[2:]
    assert [(item.resident_id, item.kind) for item in queued] == [
        (siti, OutboundKind.CALLED_OFF),
        (ani, OutboundKind.CALLED_OFF),
    ]
    assert "pada Sabtu, 13 Maret 2027, 13.00–16.00 WIB di Aula Klender dibatalkan" in (
        queued[0].text
    )


def test_a_move_to_within_a_day_drops_the_reminders_already_past(
    settings, database, staffed, tmp_path
) -> None:
    from storage.schedule_import import import_schedule as run_import

    assert import_schedule(settings, schedule_csv(tmp_path / "a.csv")) == 0
    pickup = distribution_id(database)
    siti = resident(database, "Siti")
    ask(database, siti, Subject.DISTRIBUTION, pickup, utc(2027, 3, 6, 1, 0))
    told = []
    # staff bring it forward to 3 March 08.00, on the evening of 2 March at 19.00
    report = run_import(
        database=database,
        path=schedule_csv(tmp_path / "b.csv", date="2027-03-03"),
        now=utc(2027, 3, 2, 12, 0),
        zone=ZONE,
        moved=lambda db, change: told.append(change.residents),
    )
    assert report.updated == 1
    assert told == [[siti]]
    assert [(item.remind_at, item.status) for item in of(database, siti)] == [
        (utc(2027, 3, 2, 23, 30), ReminderStatus.PENDING),  # the morning of
        (utc(2027, 3, 5, 11, 0), ReminderStatus.CANCELLED),  # the evening before: past
    ]


# -- course sessions -----------------------------------------------------------------------------


def test_a_moved_session_moves_its_reminders_and_the_enrolled_are_told(
    settings, staffed, tmp_path, capsys
) -> None:
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv")) == 0
    assert (
        cli(settings, "import-batches", str(write_csv(tmp_path / "a.csv", three_sessions()))) == 0
    )
    siti, ani = resident(staffed, "Siti"), resident(staffed, "Ani", language="en")
    rina = resident(staffed, "Rina")
    with staffed.begin() as db:
        batch = training.get_batch(db=db, code="MJH-2027-03A")
    for person in (siti, ani, rina):
        enrolled = enrol(staffed, "MJH-2027-03A", person)
        if enrolled.status == training.EnrolmentStatus.CONFIRMED:
            with staffed.begin() as db:
                reminders.remind_sessions(
                    db=db, resident_id=person, batch_id=batch.id, now=utcnow(), zone=ZONE
                )
    assert [item.remind_at for item in of(staffed, siti)] == [
        utc(2027, 3, 5, 11, 0),
        utc(2027, 3, 12, 11, 0),
        utc(2027, 3, 19, 11, 0),
    ]
    unwanted = of(staffed, ani)[1].id
    with staffed.begin() as db:  # Ani wants no reminder of the second meeting
        reminders.cancel_mine(db=db, reminder_id=unwanted, resident_id=ani)
    rows = three_sessions()
    rows[1].update(date="2027-03-16", start="13:00", end="15:00")
    capsys.readouterr()
    assert cli(settings, "import-batches", str(write_csv(tmp_path / "b.csv", rows))) == 0
    assert "2 enrolled resident(s) of batches with a new schedule or place" in (
        capsys.readouterr().out
    )
    pending = [item for item in of(staffed, siti) if item.status == ReminderStatus.PENDING]
    assert [item.remind_at for item in pending] == [
        utc(2027, 3, 5, 11, 0),
        utc(2027, 3, 15, 11, 0),  # Monday 18.00 WIB, the evening before the moved meeting
        utc(2027, 3, 19, 11, 0),
    ]
    with staffed.connect() as db:
        second = training.session_id(db=db, batch_id=batch.id, number=2)
    assert pending[1].subject_id == second
    assert second not in {
        item.subject_id for item in of(staffed, ani) if item.status == ReminderStatus.PENDING
    }
    assert not of(staffed, rina)  # on the waiting list: no reminders
    queued = outbound(staffed)
    assert [(item.resident_id, item.kind) for item in queued] == [
        (siti, OutboundKind.REMINDER),
        (ani, OutboundKind.REMINDER),
    ]
    assert "Jadwal “Menjahit Dasar” (MJH-2027-03A) berubah. Pertemuannya sekarang:" in (
        queued[0].text
    )
    assert "  2. Selasa, 16 Maret 2027, 13.00–15.00 WIB" in queued[0].text
    assert "  2. Tuesday, 16 March 2027, 13.00–15.00 WIB" in queued[1].text
    # called off: every reminder of the batch is cancelled
    off = [dict(row, status="batal") for row in rows]
    assert cli(settings, "import-batches", str(write_csv(tmp_path / "c.csv", off))) == 0
    for person in (siti, ani):
        assert ReminderStatus.PENDING not in {item.status for item in of(staffed, person)}


def test_a_promotion_by_a_higher_quota_brings_reminders(settings, staffed, tmp_path) -> None:
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv")) == 0
    one = write_csv(tmp_path / "a.csv", three_sessions(quota="1"))
    assert cli(settings, "import-batches", str(one)) == 0
    siti, ani = resident(staffed, "Siti"), resident(staffed, "Ani")
    enrol(staffed, "MJH-2027-03A", siti)
    enrol(staffed, "MJH-2027-03A", ani)  # waiting
    assert not of(staffed, ani)
    two = write_csv(tmp_path / "b.csv", three_sessions(quota="2"))
    assert cli(settings, "import-batches", str(two)) == 0
    assert len(of(staffed, ani)) == 3
    assert [item.kind for item in outbound(staffed)] == [OutboundKind.PROMOTION]


# -- health events -------------------------------------------------------------------------------


def book_first_slot(database: Database, resident_id: int) -> health.Slot:
    """Book the first slot of the fixture's check day, with its reminders."""
    with database.begin() as db:
        event = db.execute(
            select(health.HealthEvent.id).where(health.HealthEvent.code == "CEK-2027-03-10")
        ).scalar_one()
        slot = health.open_slots(db=db, event_id=event, now=NOW)[0]
        assert health.book(db=db, slot_id=slot.id, resident_id=resident_id, now=NOW).booking_id
        reminders.remind_slot(
            db=db,
            resident_id=resident_id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            now=utcnow(),
            zone=ZONE,
        )
    return slot


def health_file(tmp_path: Path, name: str, change) -> Path:
    """Write the fixture's health file with the check day's rows changed."""
    lines = (FIXTURES / "health.csv").read_text(encoding="utf-8").splitlines()
    changed = [change(line) if line.startswith("CEK-2027-03-10") else line for line in lines]
    path = tmp_path / name
    path.write_text("\n".join(changed) + "\n", encoding="utf-8")
    return path


def test_a_health_event_that_changes_place_tells_its_bookers(settings, staffed, tmp_path):
    assert cli(settings, "import-health", str(FIXTURES / "health.csv")) == 0
    siti = resident(staffed, "Siti")
    book_first_slot(staffed, siti)
    assert [item.remind_at for item in of(staffed, siti)] == [
        utc(2027, 3, 9, 11, 0),  # 18.00 WIB the evening before
        utc(2027, 3, 9, 23, 0),  # 06.00 WIB, two hours before the 08.00 slot
    ]

    def elsewhere(line: str) -> str:
        return line.replace(
            "Puskesmas Kecamatan Duren Sawit,Jl. Raya Duren Sawit No. 3",
            "Puskesmas Kecamatan Duren Sawit,Aula Kelurahan Duren Sawit",
        )

    assert cli(settings, "import-health", str(health_file(tmp_path, "b.csv", elsewhere))) == 0
    [queued] = outbound(staffed)
    assert queued.kind == OutboundKind.REMINDER
    assert "Perubahan untuk jadwal Bapak/Ibu: “Cek Kesehatan Gratis” pada Rabu, 10 Maret 2027" in (
        queued.text
    )
    assert "Aula Kelurahan Duren Sawit" in queued.text
    assert {item.status for item in of(staffed, siti)} == {ReminderStatus.PENDING}


def test_a_health_event_called_off_cancels_its_reminders(settings, staffed, tmp_path) -> None:
    assert cli(settings, "import-health", str(FIXTURES / "health.csv")) == 0
    siti = resident(staffed, "Siti")
    book_first_slot(staffed, siti)

    def called_off(line: str) -> str:
        return line[: line.rindex(",")] + ",batal"

    assert cli(settings, "import-health", str(health_file(tmp_path, "off.csv", called_off))) == 0
    assert {item.status for item in of(staffed, siti)} == {ReminderStatus.CANCELLED}
    assert [item.kind for item in outbound(staffed)] == [OutboundKind.CALLED_OFF]


def test_moving_the_last_session_moves_its_reminder(settings, staffed, tmp_path) -> None:
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv")) == 0
    assert (
        cli(settings, "import-batches", str(write_csv(tmp_path / "a.csv", three_sessions()))) == 0
    )
    siti = resident(staffed, "Siti")
    with staffed.begin() as db:
        batch = training.get_batch(db=db, code="MJH-2027-03A")
    enrol(staffed, "MJH-2027-03A", siti)
    with staffed.begin() as db:
        reminders.remind_sessions(
            db=db, resident_id=siti, batch_id=batch.id, now=utcnow(), zone=ZONE
        )
    rows = three_sessions()
    rows[2].update(date="2027-03-23")  # the last meeting, whose row id SQLite may reuse
    assert cli(settings, "import-batches", str(write_csv(tmp_path / "b.csv", rows))) == 0
    pending = [item for item in of(staffed, siti) if item.status == ReminderStatus.PENDING]
    assert [item.remind_at for item in pending] == [
        utc(2027, 3, 5, 11, 0),
        utc(2027, 3, 12, 11, 0),
        utc(2027, 3, 22, 11, 0),  # the evening before the moved meeting
    ]
    assert [item.kind for item in outbound(staffed)] == [OutboundKind.REMINDER]
