"""The staff commands for accounts, courses, health events, batches and applications: who may
run them, what they print and write, and that a partner sees only what is routed to it."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select

from bot.__main__ import parse_args, run_staff_command
from bot.settings import Settings
from handlers import notices
from storage import applications, audit, health, residents, training
from storage import staff as accounts
from storage.applications import Kind, Status
from storage.outbox import Outbound, OutboundKind
from storage.staff import PARTNERS_FILE, Role
from storage.training import Course
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.helpers import all_rows, data_rows
from tests.test_console import bot
from tests.test_course_import import FIXTURES, NOW, enrol, resident, three_sessions, write_csv

COURSE = {"code": "MJH-DASAR", "category": "Menjahit", "title": "Menjahit Dasar"}
WHO = "Say who you are with --as LOGIN or STAFF_LOGIN; accounts are loaded with load-staff."


@pytest.fixture(autouse=True)
def no_login_in_the_environment(monkeypatch) -> None:
    """Start every test without STAFF_LOGIN, whatever the shell running the tests has."""
    monkeypatch.delenv("STAFF_LOGIN", raising=False)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """Settings that point the commands at the test database."""
    url = TEST_DATABASE_URL or database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=tmp_path / "data", nik_pepper=TEST_KEY.decode())


@pytest.fixture
def staffed(database: Database) -> Database:
    """The test database with the shipped partners and accounts (petugas, ypp, ppkukm)."""
    with database.begin() as db:
        accounts.load(db=db, source=PARTNERS_FILE, now=NOW)
    return database


def cli(settings: Settings, *args: str) -> int:
    """Run a staff command in this process, as `python -m bot` parses it."""
    return run_staff_command(settings, parse_args(list(args)))


def outbound(database: Database) -> list[Outbound]:
    """Return every queued message."""
    with database.connect() as db:
        rows = db.execute(select(Outbound.__table__).order_by(Outbound.id)).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


# -- accounts -----------------------------------------------------------------------------------


def test_load_staff_loads_the_shipped_file_and_again_the_same(settings, database, capsys) -> None:
    assert cli(settings, "load-staff") == 0  # the first accounts: no administrator exists yet
    assert "2 partners and 4 staff accounts loaded" in capsys.readouterr().out
    assert cli(settings, "load-staff", "--as", "admin") == 0
    with database.connect() as db:
        assert accounts.find(db=db, login="PETUGAS").role == Role.STAFF
        assert accounts.find(db=db, login="ypp").partner_code == "YPP"
        assert accounts.partners(db=db)["PPKUKM"] == "Suku Dinas PPKUKM Jakarta Timur"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[staff.budi]\nrole = "partner"\npartner = "NOPE"\n', "a partner account needs"),
        ('[staff.budi]\nrole = "boss"\n', "role must be one of admin, staff, evaluator, partner"),
        ("[staff.budi\n", "not valid TOML"),
        ('[partners.X]\ncontact = "kantor"\n', "an entry has no 'name'"),
    ],
)
def test_a_bad_staff_file_is_refused(settings, database, tmp_path, capsys, content, message):
    path = tmp_path / "staff.toml"
    path.write_text(content, encoding="utf-8")
    assert cli(settings, "load-staff", str(path)) == 2
    assert message in capsys.readouterr().err
    with database.connect() as db:
        assert accounts.find(db=db, login="budi") is None


@pytest.mark.parametrize(
    "login",
    [None, "", "siapa", "lama"],
)
def test_every_command_wants_an_active_account(settings, staffed, tmp_path, capsys, login):
    with staffed.begin() as db:
        db.execute(
            accounts.StaffMember.__table__.insert().values(
                login="lama", name="Lama", role="staff", active=False, updated_at=NOW
            )
        )
    login_args = [] if login is None else ["--as", login]
    commands = [
        ["import-courses", str(FIXTURES / "courses.csv")],
        ["import-batches", str(FIXTURES / "batches.csv")],
        ["import-health", str(FIXTURES / "health.csv")],
        ["batch", "list", "MJH-2027-03A"],
        ["batch", "attendance", "MJH-2027-03A", "--session", "1"],
        ["application", "list"],
        ["application", "show", "BSW-2027-000001"],
        ["application", "set-status", "BSW-2027-000001", "diverifikasi"],
    ]
    before = all_rows(staffed)
    for command in commands:
        assert cli(settings, *command, *login_args) == 2, command
        err = capsys.readouterr().err
        assert WHO in err, command
    after = all_rows(staffed)
    refused = after.pop("audit_log")[len(before.pop("audit_log")) :]
    assert after == before
    assert len(refused) == len(commands)  # every refusal is in the audit log


def test_the_login_can_come_from_the_environment(settings, staffed, monkeypatch, capsys):
    monkeypatch.setenv("STAFF_LOGIN", "petugas")
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv")) == 0
    assert "3 rows read: 3 were added" in capsys.readouterr().out


def test_a_partner_cannot_run_the_staff_commands(settings, staffed, capsys) -> None:
    for command in (
        ["import-courses", str(FIXTURES / "courses.csv")],
        ["batch", "list", "MJH-2027-03A"],
    ):
        assert cli(settings, *command, "--as", "ypp") == 2
        assert "ypp is a partner account" in capsys.readouterr().err


# -- imports -------------------------------------------------------------------------------------


def test_imports_report_and_exit_like_the_others(settings, staffed, tmp_path, capsys) -> None:
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv"), "--as", "petugas") == 0
    assert cli(settings, "import-batches", str(FIXTURES / "batches.csv"), "--as", "petugas") == 0
    out = capsys.readouterr().out
    assert "5 rows read: 2 were added, 0 were updated, 0 unchanged, 0 rejected." in out
    assert "Added, updated and unchanged count batches" in out
    bad = write_csv(tmp_path / "bad.csv", three_sessions(course="NOPE"))
    rejects = tmp_path / "rejects.csv"
    command = ["import-batches", str(bad), "--rejects", str(rejects), "--as", "petugas"]
    assert cli(settings, *command) == 1
    out = capsys.readouterr().out
    assert "line 2: unknown course code 'NOPE'" in out
    assert rejects.read_text(encoding="utf-8").splitlines()[0] == "line,reason"
    health = ["import-health", str(FIXTURES / "health.csv"), "--dry-run", "--as", "petugas"]
    before = data_rows(staffed)
    assert cli(settings, *health) == 0
    assert "Dry run: nothing was written." in capsys.readouterr().out
    assert data_rows(staffed) == before
    assert cli(settings, "import-health", str(tmp_path / "none.csv"), "--as", "petugas") == 2
    assert "No such file" in capsys.readouterr().err


def test_a_higher_quota_moves_the_waitlist_up_and_tells_them(
    settings, staffed, tmp_path, capsys
) -> None:
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv"), "--as", "petugas") == 0
    one = write_csv(tmp_path / "one.csv", three_sessions(quota="1"))
    assert cli(settings, "import-batches", str(one), "--as", "petugas") == 0
    people = [resident(staffed, name) for name in ("Siti", "Ani", "Rina")]
    for person in people:
        enrol(staffed, "MJH-2027-03A", person)
    two = write_csv(tmp_path / "two.csv", three_sessions(quota="2"))
    assert cli(settings, "import-batches", str(two), "--as", "petugas") == 0
    assert "1 on a waitlist moved up into the added seats" in capsys.readouterr().out
    queued = outbound(staffed)
    assert [(item.resident_id, item.kind) for item in queued] == [
        (people[1], OutboundKind.PROMOTION)
    ]
    assert "MJH-2027-03A" in queued[0].text


def test_calling_a_batch_off_cancels_its_places_and_tells_each(
    settings, staffed, tmp_path, capsys
) -> None:
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv"), "--as", "petugas") == 0
    one = write_csv(tmp_path / "one.csv", three_sessions(quota="1"))
    assert cli(settings, "import-batches", str(one), "--as", "petugas") == 0
    siti = resident(staffed, "Siti")
    ani = resident(staffed, "Ani", language="en")
    enrol(staffed, "MJH-2027-03A", siti)
    enrol(staffed, "MJH-2027-03A", ani)  # on the waitlist
    off = write_csv(tmp_path / "off.csv", three_sessions(quota="1", status="batal"))
    assert cli(settings, "import-batches", str(off), "--as", "petugas") == 0
    assert "2 enrolment(s) in called-off batches cancelled" in capsys.readouterr().out
    queued = outbound(staffed)
    assert [(item.resident_id, item.kind) for item in queued] == [
        (siti, OutboundKind.CALLED_OFF),
        (ani, OutboundKind.CALLED_OFF),
    ]
    assert "dibatalkan oleh penyelenggara" in queued[0].text
    assert "has been called off by the organiser" in queued[1].text
    with staffed.connect() as db:
        assert training.of_resident(db=db, resident_id=siti, now=NOW) == []
    assert cli(settings, "import-batches", str(off), "--as", "petugas") == 0  # again: no news
    assert len(outbound(staffed)) == 2


def test_calling_an_event_off_cancels_its_bookings_and_tells_each(
    settings, staffed, tmp_path, capsys
) -> None:
    source = (FIXTURES / "health.csv").read_text(encoding="utf-8")
    assert cli(settings, "import-health", str(FIXTURES / "health.csv"), "--as", "petugas") == 0
    siti = resident(staffed, "Siti")
    with staffed.begin() as db:
        event = db.execute(
            select(health.HealthEvent.id).where(health.HealthEvent.code == "CEK-2027-03-10")
        ).scalar_one()
        slot = health.open_slots(db=db, event_id=event, now=NOW)[0]
        assert health.book(db=db, slot_id=slot.id, resident_id=siti, now=NOW).booking_id
    lines = source.splitlines()
    lines[1] = lines[1][: lines[1].rindex(",")] + ",batal"
    off = tmp_path / "off.csv"
    off.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(settings, "import-health", str(off), "--as", "petugas") == 0
    assert "1 booking(s) of called-off events cancelled" in capsys.readouterr().out
    queued = outbound(staffed)
    assert [(item.resident_id, item.kind) for item in queued] == [(siti, OutboundKind.CALLED_OFF)]
    assert "Cek Kesehatan Gratis" in queued[0].text
    with staffed.connect() as db:
        assert health.of_resident(db=db, resident_id=siti, now=NOW) == []
        assert health.get_slot(db=db, slot_id=slot.id).taken == 0


# -- batches -------------------------------------------------------------------------------------


@pytest.fixture
def enrolled(settings, staffed) -> dict[str, int]:
    """A batch with a quota of 2: Siti and Ani confirmed, Rina and Budi waiting."""
    assert cli(settings, "import-courses", str(FIXTURES / "courses.csv"), "--as", "petugas") == 0
    assert cli(settings, "import-batches", str(FIXTURES / "batches.csv"), "--as", "petugas") == 0
    ids = {}
    for name, phone, group in (
        ("Siti Aminah", "+6281234567890", "kpm"),
        ("=Ani", None, None),
        ("Rina", "081298765432", None),
        ("Budi", None, "perempuan_kepala_keluarga"),
    ):
        ids[name] = enrol(staffed, "MJH-2027-03A", resident(staffed, name, phone=phone), group)
    return {name: enrolled.enrolment_id for name, enrolled in ids.items()}


def test_batch_list_writes_the_enrolments_as_csv(settings, enrolled, capsys) -> None:
    capsys.readouterr()
    assert cli(settings, "batch", "list", "mjh-2027-03a", "--as", "petugas") == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0] == [
        "no",
        "name",
        "kelurahan",
        "rw",
        "phone",
        "status",
        "waitlist_position",
        "priority_group",
        "enrolled_at",
        "sessions_attended",
    ]
    assert rows[1:] == [
        [
            str(enrolled["Siti Aminah"]),
            "Siti Aminah",
            "Klender",
            "5",
            "0812-3456-7890",
            "confirmed",
            "",
            "kpm",
            "2027-01-10 10:00",
            "0",
        ],
        [
            str(enrolled["=Ani"]),
            "'=Ani",
            "Klender",
            "5",
            "",
            "confirmed",
            "",
            "",
            "2027-01-10 10:00",
            "0",
        ],
        [
            str(enrolled["Rina"]),
            "Rina",
            "Klender",
            "5",
            "081298765432",
            "waitlisted",
            "1",
            "",
            "2027-01-10 10:00",
            "0",
        ],
        [
            str(enrolled["Budi"]),
            "Budi",
            "Klender",
            "5",
            "",
            "waitlisted",
            "2",
            "perempuan_kepala_keluarga",
            "2027-01-10 10:00",
            "0",
        ],
    ]
    assert "nik" not in captured.out.lower()
    assert "MJH-2027-03A (Menjahit Dasar): 2 confirmed of 2 seats, 2 on the waitlist" in (
        captured.err
    )


def test_batch_list_to_a_file(settings, enrolled, tmp_path, capsys) -> None:
    out = tmp_path / "list.csv"
    assert (
        cli(settings, "batch", "list", "MJH-2027-03A", "--output", str(out), "--as", "petugas")
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeffno,name,")  # the BOM Excel needs to read names right
    assert len(text.splitlines()) == 5
    assert f"written to {out}" in capsys.readouterr().err


def test_no_such_batch(settings, enrolled, capsys) -> None:
    assert cli(settings, "batch", "list", "XYZ", "--as", "petugas") == 2
    assert "No batch XYZ." in capsys.readouterr().err


def test_attendance_marks_present_and_absent(settings, enrolled, capsys) -> None:
    siti = enrolled["Siti Aminah"]
    command = ["batch", "attendance", "MJH-2027-03A", "--session", "2", "--present", str(siti)]
    assert cli(settings, *command, "--as", "petugas") == 0
    out = capsys.readouterr().out
    assert "Batch MJH-2027-03A, session 2 (2027-03-13 08:00): 1 present, 1 absent." in out
    cli(settings, "batch", "list", "MJH-2027-03A", "--as", "petugas")
    attended = {row["name"]: row["sessions_attended"] for row in _rows(capsys)}
    assert attended == {"Siti Aminah": "1", "'=Ani": "0", "Rina": "0", "Budi": "0"}
    # marking the session again replaces the marks: both came after all
    both = f"{siti},{enrolled['=Ani']}"
    assert cli(settings, *command[:-1], both, "--as", "petugas") == 0
    assert "2 present, 0 absent" in capsys.readouterr().out


def _rows(capsys) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_attendance_names_ids_not_confirmed_in_the_batch(settings, enrolled, capsys) -> None:
    waiting = enrolled["Rina"]
    command = ["batch", "attendance", "MJH-2027-03A", "--session", "1", "--present"]
    ids = [str(enrolled["Siti Aminah"]), str(waiting), "999"]
    assert cli(settings, *command, *ids, "--as", "petugas") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"Not confirmed in batch MJH-2027-03A: {waiting}, 999. Nothing was marked" in (
        captured.err
    )
    cli(settings, "batch", "list", "MJH-2027-03A", "--as", "petugas")
    assert {row["sessions_attended"] for row in _rows(capsys)} == {"0"}


def test_attendance_of_a_session_or_batch_that_does_not_exist(settings, enrolled, capsys):
    assert (
        cli(settings, "batch", "attendance", "MJH-2027-03A", "--session", "9", "--as", "petugas")
        == 2
    )
    assert "Batch MJH-2027-03A has no session 9 (its sessions are 1–3)." in capsys.readouterr().err
    assert cli(settings, "batch", "attendance", "NOPE", "--session", "1", "--as", "petugas") == 2
    assert "No batch NOPE." in capsys.readouterr().err


def test_attendance_numbers_must_be_numbers() -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(["batch", "attendance", "X", "--session", "1", "--present", "12,abc"])
    assert stopped.value.code == 2


# -- applications --------------------------------------------------------------------------------


@pytest.fixture
def filed(staffed) -> dict[str, str]:
    """Three applications: a scholarship (no partner), capital for YPP and for PPKUKM."""
    refs = {}
    wanted = (
        ("beasiswa", Kind.SCHOLARSHIP, None, "Siti", "id"),
        ("ypp", Kind.CAPITAL, "YPP", "Ani", "en"),
        ("ppkukm", Kind.CAPITAL, "PPKUKM", "Budi", "id"),
    )
    for key, kind, partner, name, language in wanted:
        resident_id = resident(staffed, name, language=language, phone="+6281234567890")
        details = (
            {"level": "SMP", "grade": 8} if kind == Kind.SCHOLARSHIP else {"amount": 3_000_000}
        )
        screening = {"checks": [{"rule": "months", "passed": True}]} if partner else {}
        with staffed.begin() as db:
            refs[key] = applications.submit(
                db=db,
                kind=kind,
                resident_id=resident_id,
                details=details,
                screening=screening,
                partner_code=partner,
                year=2027,
                now=NOW,
            )
    return refs


def test_staff_list_every_application(settings, filed, capsys) -> None:
    assert cli(settings, "application", "list", "--as", "petugas") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["REF", "KIND", "STATUS", "PARTNER", "SUBMITTED", "LAST", "CHANGE"]
    assert lines[1].split() == [
        filed["beasiswa"],
        "beasiswa",
        "diajukan",
        "-",
        "2027-01-10",
        "2027-01-10",
        "10:00",
    ]
    assert filed["ypp"] in out and filed["ppkukm"] in out
    assert lines[-1] == "3 applications."


def test_a_partner_lists_only_what_is_routed_to_it(settings, filed, capsys) -> None:
    assert cli(settings, "application", "list", "--as", "ypp") == 0
    out = capsys.readouterr().out
    assert filed["ypp"] in out
    assert filed["ppkukm"] not in out and filed["beasiswa"] not in out
    assert out.splitlines()[-1] == "1 application."


def test_list_by_kind_and_status_and_to_a_file(settings, filed, tmp_path, capsys) -> None:
    assert cli(settings, "application", "list", "--kind", "modal", "--as", "petugas") == 0
    out = capsys.readouterr().out
    assert filed["beasiswa"] not in out and out.splitlines()[-1] == "2 applications."
    assert cli(settings, "application", "list", "--status", "approved", "--as", "petugas") == 0
    assert capsys.readouterr().out == "No applications.\n"
    path = tmp_path / "applications.csv"
    command = ["application", "list", "--kind", "beasiswa", "--output", str(path)]
    assert cli(settings, *command, "--as", "petugas") == 0
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows == [
        {
            "ref": filed["beasiswa"],
            "kind": "beasiswa",
            "status": "diajukan",
            "partner": "-",
            "submitted": "2027-01-10",
            "last_change": "2027-01-10 10:00",
        }
    ]


def test_show_prints_the_details(settings, filed, capsys) -> None:
    assert cli(settings, "application", "show", filed["ypp"].lower(), "--as", "petugas") == 0
    out = capsys.readouterr().out
    assert f"{filed['ypp']}: modal usaha (capital)" in out
    assert "Partner:    YPP (Yayasan Pemberdayaan Perempuan Duren Sawit)" in out
    assert "Applicant:  Ani, Kelurahan Klender, RW 5, phone 0812-3456-7890" in out
    assert "  amount: 3000000" in out
    assert "Pre-screen (indicative):\n  checks:\n    - rule: months\n      passed: yes\n" in out
    assert "2027-01-10 10:00  diajukan  by warga" in out


def test_a_partner_cannot_see_what_is_not_routed_to_it(settings, filed, capsys) -> None:
    assert cli(settings, "application", "show", filed["ppkukm"], "--as", "ypp") == 2
    other = capsys.readouterr()
    assert cli(settings, "application", "show", "MDL-2027-999999", "--as", "ypp") == 2
    missing = capsys.readouterr()
    assert other.out == missing.out == ""
    assert other.err == f"No such application: {filed['ppkukm']}.\n"
    assert missing.err == "No such application: MDL-2027-999999.\n"
    assert cli(settings, "application", "show", filed["ypp"], "--as", "ypp") == 0


@pytest.mark.parametrize(("key", "language"), [("beasiswa", "id"), ("ypp", "en")])
def test_set_status_queues_one_message_in_the_applicants_language(
    settings, filed, staffed, capsys, key, language
) -> None:
    ref = filed[key]
    assert cli(settings, "application", "set-status", ref, "verified", "--as", "petugas") == 0
    out = capsys.readouterr().out
    assert (
        out == f"{ref} is now diverifikasi (verified).\nNotification queued for the applicant.\n"
    )
    with staffed.connect() as db:
        changed = applications.get(db=db, ref=ref)
    assert changed.status == Status.VERIFIED
    assert changed.history[-1].actor == "petugas"
    (queued,) = outbound(staffed)
    assert queued.kind == OutboundKind.STATUS
    assert queued.resident_id == changed.resident_id
    assert queued.text == notices.status_text(changed, language)
    other = "en" if language == "id" else "id"
    assert queued.text != notices.status_text(changed, other)
    expected = "Kabar terbaru pengajuan" if language == "id" else "Update on your application"
    assert queued.text.startswith(expected)


def test_an_illegal_move_changes_nothing(settings, filed, staffed, capsys) -> None:
    before = all_rows(staffed)
    command = ["application", "set-status", filed["beasiswa"], "disetujui", "--as", "petugas"]
    assert cli(settings, *command) == 2
    err = capsys.readouterr().err
    assert f"{filed['beasiswa']} is diajukan; it can move to: ditolak, diverifikasi" in err
    assert all_rows(staffed) == before


def test_a_rejection_needs_a_note(settings, filed, staffed, capsys) -> None:
    before = all_rows(staffed)
    command = ["application", "set-status", filed["beasiswa"], "ditolak", "--as", "petugas"]
    assert cli(settings, *command) == 2
    assert "a rejection needs a reason" in capsys.readouterr().err
    assert cli(settings, *command, "--note", "   ") == 2
    assert all_rows(staffed) == before
    assert cli(settings, *command, "--note", "Rapor belum dilampirkan") == 0
    (queued,) = outbound(staffed)
    assert "Rapor belum dilampirkan" in queued.text


def test_a_partner_decides_only_what_is_routed_to_it(settings, filed, staffed, capsys) -> None:
    before = data_rows(staffed)
    command = ["application", "set-status", filed["ppkukm"], "diverifikasi", "--as", "ypp"]
    assert cli(settings, *command) == 2
    assert capsys.readouterr().err == f"No such application: {filed['ppkukm']}.\n"
    assert data_rows(staffed) == before
    with staffed.connect() as db:
        refused = audit.recent(db=db, limit=1)[0]
    assert (refused.actor, refused.action, refused.target) == (
        "ypp",
        "refused.application.status",
        filed["ppkukm"],
    )
    assert refused.details["why"] == "partner"
    own = ["application", "set-status", filed["ypp"], "diverifikasi", "--as", "ypp"]
    assert cli(settings, *own) == 0
    assert cli(settings, *own[:3], "approved", "--as", "ypp") == 0
    assert "is now disetujui (approved)" in capsys.readouterr().out
    assert len(outbound(staffed)) == 2


def test_an_applicant_out_of_reach_gets_no_message(settings, filed, staffed, capsys) -> None:
    with staffed.begin() as db:
        residents.set_unreachable(db=db, channel="console", external_id="siti", at=NOW)
    command = ["application", "set-status", filed["beasiswa"], "diverifikasi", "--as", "petugas"]
    assert cli(settings, *command) == 0
    assert "can no longer be reached" in capsys.readouterr().out
    assert outbound(staffed) == []


def test_unknown_kind_or_status_words_stop_at_the_command_line(capsys) -> None:
    for args in (
        ["application", "list", "--kind", "bansos"],
        ["application", "set-status", "BSW-2027-000001", "selesai"],
    ):
        with pytest.raises(SystemExit) as stopped:
            parse_args(args)
        assert stopped.value.code == 2
    assert "must be one of diajukan (submitted)" in capsys.readouterr().err


# -- end to end ----------------------------------------------------------------------------------


def test_the_commands_end_to_end(environment, database) -> None:
    assert bot(environment, "load-staff").returncode == 0
    as_staff = {**environment, "STAFF_LOGIN": "petugas"}
    with database.begin() as db:
        db.execute(Course.__table__.insert().values(**COURSE, updated_at=NOW))
    done = bot(as_staff, "import-batches", str(FIXTURES / "batches.csv"))
    assert (done.returncode, done.stderr) == (1, "")  # the cakes batch has no course here
    assert "5 rows read: 1 were added, 0 were updated, 0 unchanged, 2 rejected." in done.stdout
    assert "line 6: unknown course code 'TBG-KUE'" in done.stdout
    siti = resident(database, "Siti")
    enrolment = enrol(database, "MJH-2027-03A", siti).enrolment_id
    done = bot(as_staff, "batch", "list", "MJH-2027-03A")
    assert done.stdout.splitlines()[1].startswith(f"{enrolment},Siti,Klender,5,,confirmed,")
    with database.begin() as db:
        ref = applications.submit(
            db=db,
            kind=Kind.CAPITAL,
            resident_id=siti,
            details={},
            screening={},
            partner_code="YPP",
            year=2027,
            now=NOW,
        )
    done = bot(environment, "application", "set-status", ref, "diverifikasi", "--as", "ypp")
    assert done.returncode == 0, done.stderr
    assert "Notification queued for the applicant." in done.stdout
    assert len(outbound(database)) == 1
    done = bot(environment, "application", "list")
    assert (done.returncode, done.stderr) == (2, WHO + "\n")


def test_times_are_shown_in_the_configured_zone(settings, filed, capsys) -> None:
    east = settings.model_copy(update={"tz_name": "Asia/Jayapura"})
    assert cli(east, "application", "list", "--as", "petugas") == 0
    assert "2027-01-10 12:00" in capsys.readouterr().out
