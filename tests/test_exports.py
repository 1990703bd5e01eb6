"""`export feedback | complaints | enrolments`: the columns and rows, what each role sees (staff
a name, an evaluator none, an anonymous complaint nobody's), the kelurahan limit, partners
refused, never a NIK, the XLSX file, and the audit log."""

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine as Database
from sqlalchemy import select

from bot import exports
from bot.__main__ import parse_args, run_staff_command
from bot.settings import Settings
from storage import audit, complaints, ratings, residents, training
from storage import staff as accounts
from storage.complaints import ComplaintKind
from storage.ratings import Invitee, Rated
from storage.schedules import Distribution
from storage.staff import PARTNERS_FILE, Role
from storage.training import BatchSession, Course, CourseBatch
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.test_course_import import LATER, NOW

ZONE = "Asia/Jakarta"
KLENDER, BAMBU = "31.75.07.1003", "31.75.07.1002"
NIK = "3175071234567890"
TODAY = LATER + timedelta(days=10)
TRICKY = f'=HYPERLINK("http://x") bantuan dipotong, NIK saya {NIK}'
SIXTEEN = re.compile(r"\d{16}")
FEEDBACK = ["rated_at", "subject", "what", "kelurahan", "rw", "score", "program", "comment"]
ENROLMENTS = [
    "batch",
    "course",
    "status",
    "waitlist_position",
    "kelurahan",
    "rw",
    "enrolled_at",
    "sessions_attended",
    "sessions_total",
]
COMPLAINTS = [
    "ref",
    "kind",
    "category",
    "status",
    "kelurahan",
    "created_at",
    "due_at",
    "answered_at",
    "closed_at",
    "overdue",
    "days_to_answer",
    "text",
    "from",
]


@pytest.fixture(autouse=True)
def no_login_in_the_environment(monkeypatch) -> None:
    """Start every test without STAFF_LOGIN, whatever the shell running the tests has, and
    export at a fixed moment after the data below."""
    monkeypatch.delenv("STAFF_LOGIN", raising=False)
    monkeypatch.setattr(exports, "utcnow", lambda: TODAY)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """Settings that point the commands at the test database."""
    url = TEST_DATABASE_URL or database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=tmp_path / "data", nik_pepper=TEST_KEY.decode())


def cli(settings: Settings, *args: str) -> int:
    """Run a command in this process, as `python -m bot` parses it."""
    return run_staff_command(settings, parse_args(list(args)))


def person(database: Database, name: str, kelurahan: str, rw: int, phone: str) -> int:
    """Create a registered resident; return their id."""
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id=name.lower(), language="id", now=NOW
        )
        residents.update_profile(
            db=db,
            profile=profile,
            now=NOW,
            consent_at=NOW,
            name=name,
            kelurahan_code=kelurahan,
            rw=rw,
            phone=phone,
        )
    return profile.id


@pytest.fixture
def world(database: Database) -> dict:
    """Accounts, two residents (Siti of Klender, Budi of Pondok Bambu), a batch with one seat
    (Siti confirmed and present once, Budi waitlisted), ratings, and three complaints."""
    with database.begin() as db:
        accounts.load(db=db, source=PARTNERS_FILE, now=NOW)  # admin, petugas, ypp, ppkukm
        accounts.add(db=db, login="evaluator", name="Eva", role=Role.EVALUATOR, now=NOW)
        accounts.add(
            db=db, login="rina", name="Rina", role=Role.STAFF, now=NOW, kelurahan_code=KLENDER
        )
        accounts.add(
            db=db,
            login="eva-bambu",
            name="Eva B",
            role=Role.EVALUATOR,
            now=NOW,
            kelurahan_code=BAMBU,
        )
    siti = person(database, "Siti Aminah", KLENDER, 5, "+6281234567890")
    budi = person(database, "Budi Santoso", BAMBU, 2, "+6281299998888")
    starts = datetime(2027, 3, 6, 1, 0, tzinfo=NOW.tzinfo)
    with database.begin() as db:
        course_id = db.execute(
            Course.__table__.insert().values(
                code="MJH-DASAR", category="Menjahit", title="Menjahit Dasar", updated_at=NOW
            )
        ).inserted_primary_key[0]
        batch_id = db.execute(
            CourseBatch.__table__.insert().values(
                code="MJH-2027-03A",
                course_id=course_id,
                organiser="YPP",
                place="RPTRA Klender",
                address="Jl. Raya Klender No. 1",
                quota=1,
                starts_at=starts,
                ends_at=starts + timedelta(days=14, hours=3),
                updated_at=NOW,
            )
        ).inserted_primary_key[0]
        for number in (1, 2, 3):
            at = starts + timedelta(days=7 * (number - 1))
            db.execute(
                BatchSession.__table__.insert().values(
                    batch_id=batch_id, number=number, starts_at=at, ends_at=at + timedelta(hours=3)
                )
            )
        distribution_id = db.execute(
            Distribution.__table__.insert().values(
                ref="PB-2027-01",
                program_code="BPNT",
                kelurahan_code=BAMBU,
                starts_at=NOW,
                ends_at=NOW + timedelta(hours=3),
                place="RPTRA Pondok Bambu",
                address="Jl. Pondok Bambu",
                latitude=-6.23,
                longitude=106.9,
                updated_at=NOW,
            )
        ).inserted_primary_key[0]
    with database.begin() as db:
        seat = training.enrol(db=db, batch_id=batch_id, resident_id=siti, now=NOW)
        wait = training.enrol(db=db, batch_id=batch_id, resident_id=budi, now=NOW)
        assert (seat.position, wait.position) == (0, 1)
        training.mark_attendance(
            db=db, batch_id=batch_id, session=1, present={seat.enrolment_id}, now=NOW
        )
        course_rating = ratings.invite(
            db=db, invitee=Invitee(siti, Rated.BATCH, batch_id), now=NOW
        )
        ratings.rate(db=db, rating_id=course_rating, resident_id=siti, score=5, now=NOW)
        pickup = ratings.invite(
            db=db, invitee=Invitee(budi, Rated.DISTRIBUTION, distribution_id), now=NOW
        )
        ratings.rate(db=db, rating_id=pickup, resident_id=budi, score=4, now=LATER)
        ratings.invite(db=db, invitee=Invitee(siti, Rated.DISTRIBUTION, distribution_id), now=NOW)
        named = complaints.file(
            db=db,
            kind=ComplaintKind.COMPLAINT,
            resident_id=siti,
            text=TRICKY,
            now=NOW,
            time_zone=ZONE,
            kelurahan_code=KLENDER,
            category="pungli",
        )
        hidden = complaints.file(
            db=db,
            kind=ComplaintKind.COMPLAINT,
            resident_id=siti,
            text="Petugas RW minta uang.",
            now=NOW,
            time_zone=ZONE,
            kelurahan_code=KLENDER,
            category="pungli",
            anonymous=True,
        )
        idea = complaints.file(
            db=db,
            kind=ComplaintKind.SUGGESTION,
            resident_id=budi,
            text="Kursus komputer malam hari.",
            now=LATER,
            time_zone=ZONE,
            kelurahan_code=BAMBU,
        )
        complaints.answer(
            db=db,
            complaint_id=idea.id,
            login="petugas",
            note="Terima kasih.",
            now=LATER + timedelta(days=1, hours=12),
        )
    return {"named": named.ref, "hidden": hidden.ref, "idea": idea.ref}


def exported(capsys) -> list[dict[str, str]]:
    """Read the CSV a command wrote to standard output."""
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def header(capsys) -> list[str]:
    """Read the header of the CSV on standard output (and nothing else of it)."""
    return next(csv.reader(io.StringIO(capsys.readouterr().out)))


def test_staff_export_complaints_with_names_but_never_an_anonymous_sender(
    settings, world, capsys
) -> None:
    assert cli(settings, "export", "complaints", "--as", "petugas") == 0
    output = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(output)))
    assert list(rows[0]) == COMPLAINTS
    by_ref = {row["ref"]: row for row in rows}
    assert list(by_ref) == [world["named"], world["hidden"], world["idea"]]
    named, hidden, idea = (by_ref[world[key]] for key in ("named", "hidden", "idea"))
    assert named["from"] == "Siti Aminah"
    assert hidden["from"] == "anonim"
    assert output.count("Siti Aminah") == 1  # only the one she signed
    assert named["kind"] == "pengaduan" and idea["kind"] == "saran"
    assert named["kelurahan"] == "Klender" and idea["kelurahan"] == "Pondok Bambu"
    assert named["created_at"] == "2027-01-10 10:00"  # local time
    assert named["text"].startswith("'=HYPERLINK")  # formula-safe
    assert "[NIK dihapus]" in named["text"]
    assert not SIXTEEN.search(output)
    assert idea["status"] == "dijawab" and idea["days_to_answer"] == "1.5"
    assert idea["answered_at"] == "2027-01-21 22:00" and idea["overdue"] == "no"
    assert named["overdue"] == "yes" and named["days_to_answer"] == ""  # never answered


def test_an_evaluator_sees_no_names_and_no_phones(settings, world, capsys) -> None:
    assert cli(settings, "export", "complaints", "--as", "evaluator") == 0
    output = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [row["from"] for row in rows] == ["-", "anonim", "-"]
    assert rows[2]["text"] == "Kursus komputer malam hari."  # texts are what evaluators read
    assert cli(settings, "export", "feedback", "--as", "evaluator") == 0
    feedback = capsys.readouterr().out
    assert cli(settings, "export", "enrolments", "--as", "evaluator") == 0
    enrolled = capsys.readouterr().out
    assert next(csv.reader(io.StringIO(feedback))) == FEEDBACK
    assert next(csv.reader(io.StringIO(enrolled))) == ENROLMENTS
    for text in (output, feedback, enrolled):
        assert "Siti" not in text and "Budi" not in text
        assert "7890" not in text and "8888" not in text
        assert not SIXTEEN.search(text)


def test_feedback_for_staff(settings, world, capsys) -> None:
    assert cli(settings, "export", "feedback", "--as", "admin") == 0
    rows = exported(capsys)
    assert list(rows[0]) == [*FEEDBACK, "resident", "phone"]
    assert [(row["subject"], row["what"], row["score"]) for row in rows] == [
        ("course", "MJH-2027-03A", "5"),
        ("sembako", "RPTRA Pondok Bambu", "4"),
    ]  # the rating not given is not there
    course, pickup = rows
    assert (course["kelurahan"], course["rw"], course["resident"]) == (
        "Klender",
        "5",
        "Siti Aminah",
    )
    assert course["phone"] == "…7890"
    assert (pickup["kelurahan"], pickup["rated_at"]) == ("Pondok Bambu", "2027-01-20 10:00")


def test_enrolments_with_the_waitlist_and_attendance(settings, world, capsys) -> None:
    assert cli(settings, "export", "enrolments", "--as", "petugas") == 0
    rows = exported(capsys)
    assert list(rows[0]) == [*ENROLMENTS, "resident", "phone"]
    siti, budi = rows
    assert (siti["status"], siti["waitlist_position"], siti["sessions_attended"]) == (
        "confirmed",
        "",
        "1",
    )
    assert (budi["status"], budi["waitlist_position"], budi["sessions_attended"]) == (
        "waitlisted",
        "1",
        "0",
    )
    assert siti["sessions_total"] == "3" and siti["course"] == "MJH-DASAR"
    assert (budi["kelurahan"], budi["rw"], budi["phone"]) == ("Pondok Bambu", "2", "…8888")
    assert siti["enrolled_at"] == "2027-01-10 10:00"


def test_a_kelurahan_limited_account_exports_only_its_kelurahan(settings, world, capsys) -> None:
    assert cli(settings, "export", "complaints", "--as", "rina") == 0
    assert [row["ref"] for row in exported(capsys)] == [world["named"], world["hidden"]]
    assert cli(settings, "export", "feedback", "--as", "eva-bambu") == 0
    assert [row["kelurahan"] for row in exported(capsys)] == ["Pondok Bambu"]
    assert cli(settings, "export", "enrolments", "--as", "eva-bambu") == 0
    assert [row["status"] for row in exported(capsys)] == ["waitlisted"]


def test_days_are_local_and_inclusive(settings, world, capsys) -> None:
    assert cli(settings, "export", "complaints", "--from", "2027-01-11", "--as", "petugas") == 0
    assert [row["ref"] for row in exported(capsys)] == [world["idea"]]
    assert cli(settings, "export", "complaints", "--to", "2027-01-10", "--as", "petugas") == 0
    assert [row["ref"] for row in exported(capsys)] == [world["named"], world["hidden"]]
    args = ("--from", "2027-01-20", "--to", "2027-01-20")
    assert cli(settings, "export", "feedback", *args, "--as", "petugas") == 0
    assert [row["subject"] for row in exported(capsys)] == ["sembako"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as", "ypp"), "ypp is a partner account"),
        (("--as", "nobody"), "No active staff account 'nobody'"),
        ((), "Say who you are"),
        (("--from", "2027-13-01", "--as", "petugas"), "--from must be a day"),
        (("--from", "2027-02-01", "--to", "2027-01-01", "--as", "petugas"), "not be later"),
        (("--format", "xlsx", "--as", "petugas"), "needs --output"),
    ],
)
def test_refused(settings, world, database, capsys, args, message) -> None:
    assert cli(settings, "export", "complaints", *args) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""
    with database.connect() as db:
        assert not [e for e in audit.recent(db=db) if e.action.startswith("export.")]


def test_every_export_is_in_the_audit_log(settings, world, database, capsys) -> None:
    args = ("--from", "2027-01-01", "--as", "rina")
    assert cli(settings, "export", "complaints", *args) == 0
    with database.connect() as db:
        entry = audit.recent(db=db, limit=1)[0]
    assert (entry.actor, entry.role, entry.action) == ("rina", "staff", "export.complaints")
    assert entry.details["format"] == "csv" and entry.details["rows"] == 2
    assert entry.details["filters"]["kelurahan"] == KLENDER
    assert entry.details["filters"]["from"].startswith("2026-12-31T17:00")  # local midnight
    assert entry.details["filters"]["to"] is None


def test_a_csv_file_has_the_bom_excel_needs(settings, world, tmp_path, capsys) -> None:
    path = tmp_path / "aduan.csv"
    assert cli(settings, "export", "complaints", "--output", str(path), "--as", "admin") == 0
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[0]["text"].startswith("'=")
    assert f"Exported 3 complaints rows as csv to {path}" in capsys.readouterr().err


@pytest.mark.parametrize("what", ["feedback", "complaints", "enrolments"])
def test_xlsx_has_the_rows_of_the_csv(settings, world, tmp_path, capsys, what) -> None:
    assert cli(settings, "export", what, "--as", "petugas") == 0
    expected = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    path = tmp_path / f"{what}.xlsx"
    assert cli(settings, "export", what, "--output", str(path), "--as", "petugas") == 0
    book = load_workbook(path)
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["A"].width > len(expected[0][0])
    seen = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert seen[0] == expected[0]
    assert len(seen) == len(expected)
    for got, wanted in zip(seen[1:], expected[1:], strict=True):
        assert [as_csv(value) for value in got] == [value.lstrip("'") for value in wanted]
    for row in seen[1:]:
        for value in row:
            assert not SIXTEEN.search(str(value))
    dated = sheet.cell(row=2, column=expected[0].index(date_column(what)) + 1)
    assert isinstance(dated.value, datetime) and dated.value.tzinfo is None
    book.close()


def test_xlsx_keeps_a_formula_as_text(settings, world, tmp_path) -> None:
    path = tmp_path / "aduan.xlsx"
    assert cli(settings, "export", "complaints", "--output", str(path), "--as", "admin") == 0
    sheet = load_workbook(path).active
    text = sheet.cell(row=2, column=COMPLAINTS.index("text") + 1)
    assert text.data_type == "s" and text.value.startswith("=HYPERLINK")
    days = sheet.cell(row=4, column=COMPLAINTS.index("days_to_answer") + 1)
    assert days.value == 1.5


def date_column(what: str) -> str:
    """The first date column of an export."""
    return {"feedback": "rated_at", "complaints": "created_at", "enrolments": "enrolled_at"}[what]


def as_csv(value) -> str:
    """Show an XLSX value as the CSV shows it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def test_feedback_given_at_any_time_with_its_program_and_comment(
    settings, world, database, capsys
) -> None:
    with database.begin() as db:
        siti = db.execute(
            select(residents.Resident.id).where(residents.Resident.name == "Siti Aminah")
        ).scalar_one()
        ratings.give(
            db=db,
            resident_id=siti,
            score=3,
            now=LATER,
            program="pelatihan",
            comment="Tolong cek NIK saya 3175 0747 0885 9901, belum dapat.",
        )
    assert cli(settings, "export", "feedback", "--as", "evaluator") == 0
    given = [row for row in exported(capsys) if row["subject"] == "general"]
    assert [(row["program"], row["score"]) for row in given] == [("pelatihan", "3")]
    assert given[0]["comment"] == "Tolong cek NIK saya [NIK dihapus], belum dapat."


def test_misses_export_holds_no_nik_no_phone_and_no_author(
    settings, world, database, capsys
) -> None:
    from storage import misses

    with database.begin() as db:
        misses.record_miss(
            db=db,
            text="nik 3175074508800123 wa 081234567890 bansos kok blm cair",
            language="id",
            where="menu.main",
            now=NOW,
        )
    assert cli(settings, "export", "misses", "--as", "evaluator") == 0
    (row,) = exported(capsys)
    assert set(row) == {"created_at", "language", "where", "text", "grouped_as"}
    assert "3175074508800123" not in str(row) and "081234567890" not in str(row)
    assert "bansos kok blm cair" in row["text"]
    with database.connect() as db:
        entry = audit.recent(db=db, limit=1)[0]
    assert (entry.actor, entry.action) == ("evaluator", "export.misses")
    assert cli(settings, "export", "misses", "--as", "ypp") == 2  # a partner may not
    assert "misses.read is for" in capsys.readouterr().err
    with database.connect() as db:
        assert audit.recent(db=db, limit=1)[0].action == "refused.misses.read"
