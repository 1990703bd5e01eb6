"""Laporan: the figures of a period (storage/report_figures.py) for data built with the storage
functions, and the report in chat with its chart, as transcripts through the engine; only admin,
staff and evaluators get it, anyone else's "laporan" is plain text."""

import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from matplotlib.image import imread
from sqlalchemy import Engine as Database
from sqlalchemy import select, update

from handlers.engine import Engine
from handlers.report_chart import rating_chart
from storage import audit, complaints, outbox, ratings, staff, training
from storage import report_figures as figures
from storage.complaints import ComplaintKind
from storage.demo import seed_training
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.ratings import Invitee, Rated
from storage.staff import Role
from tests.helpers import Chat, Clock
from tests.test_broadcast_flow import BAMBU, KLENDER, add_resident, add_staff
from tests.test_platform_limits import misfits
from tests.test_registration import HAPPY_ID

ZONE = "Asia/Jakarta"
SMALL = "MJH-2026-12B"  # the demo batch with 3 seats
PNG = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parent.parent


def build(database: Database, clock: Clock) -> dict[str, int]:
    """Residents, messages, ratings, complaints and enrolments, all at the clock's time:
    Klender rates PKH 5 and 4 and a course 3, Pondok Bambu rates 2 about nothing said; two
    pungli complaints (answered after 10 hours, closed after 30) and a proposal; 3 confirmed,
    1 waitlisted and 1 cancelled enrolment."""
    people = {
        "klender": add_resident(database, clock, "w-klender", KLENDER),
        "klender-2": add_resident(database, clock, "w-klender-2", KLENDER, 7),
        "bambu": add_resident(database, clock, "w-bambu", BAMBU, 3, language="en"),
        "no-consent": add_resident(database, clock, "w-new", KLENDER, consent=False),
    }
    for number in range(3):
        people[f"student-{number}"] = add_resident(database, clock, f"w-s{number}", KLENDER)
    now = clock()
    with database.begin() as db:
        seed_training(db=db, now=now)
        batch = training.get_batch(db=db, code=SMALL)
        people["batch"] = batch.id
        # messages: two sent to one Klender resident, one still waiting for Pondok Bambu
        sent = [
            outbox.enqueue(
                db=db,
                resident_id=people["klender"],
                kind=OutboundKind.ANNOUNCEMENT,
                text="a",
                now=now,
            )
            for _ in range(2)
        ]
        outbox.enqueue(
            db=db, resident_id=people["bambu"], kind=OutboundKind.ANNOUNCEMENT, text="b", now=now
        )
        db.execute(
            update(Outbound.__table__)
            .where(Outbound.__table__.c.id.in_(sent))
            .values(status=OutboundStatus.SENT, sent_at=now)
        )
        ratings.give(db=db, resident_id=people["klender"], score=5, now=now, program="PKH")
        ratings.give(db=db, resident_id=people["klender"], score=4, now=now, program="PKH")
        ratings.give(db=db, resident_id=people["bambu"], score=2, now=now)
        invited = ratings.invite(
            db=db, invitee=Invitee(people["klender-2"], Rated.BATCH, batch.id), now=now
        )
        ratings.rate(db=db, rating_id=invited, resident_id=people["klender-2"], score=3, now=now)
        ratings.invite(  # invited, never answered: no rating
            db=db, invitee=Invitee(people["klender"], Rated.BATCH, batch.id), now=now
        )
        filed = [
            complaints.file(
                db=db,
                kind=kind,
                resident_id=people[who],
                text="Ada potongan Rp50.000 saat pengambilan.",
                now=now,
                time_zone=ZONE,
                kelurahan_code=code,
                category=category,
            )
            for kind, who, code, category in (
                (ComplaintKind.COMPLAINT, "klender", KLENDER, "pungli"),
                (ComplaintKind.COMPLAINT, "bambu", BAMBU, "pungli"),
                (ComplaintKind.PROPOSAL, "klender-2", KLENDER, None),
            )
        ]
        complaints.answer(
            db=db,
            complaint_id=filed[0].id,
            login="budi",
            note="Kami cek.",
            now=now + timedelta(hours=10),
        )
        complaints.take(db=db, complaint_id=filed[1].id, login="budi", now=now)
        complaints.close(
            db=db, complaint_id=filed[1].id, login="budi", now=now + timedelta(hours=30)
        )
        enrolled = [
            training.enrol(db=db, batch_id=batch.id, resident_id=people[who], now=now)
            for who in ("student-0", "student-1", "student-2", "klender", "klender-2")
        ]
        training.cancel(
            db=db, enrolment_id=enrolled[0].enrolment_id, resident_id=people["student-0"], now=now
        )
    clock.advance(days=2)  # the answers above are in the past now
    return people


def test_the_figures_of_a_period(database: Database, clock: Clock) -> None:
    start = clock()
    build(database, clock)
    with database.connect() as db:
        found = figures.summary(db, clock())
    assert found.since == clock() - timedelta(days=30) and found.until == clock()
    assert (found.registered, found.registered_total, found.reached) == (6, 6, 1)
    assert (found.confirmed, found.waitlisted, found.cancelled) == (3, 1, 1)
    assert found.ratings == 4 and found.rating_average == 3.5
    assert [(item.name, item.average, item.count) for item in found.by_program] == [
        ("PKH", 4.5, 2),
        ("lainnya", 2.0, 1),
        ("pelatihan", 3.0, 1),
    ]
    assert [(item.name, item.average, item.count) for item in found.by_kelurahan] == [
        ("Klender", 4.0, 3),
        ("Pondok Bambu", 2.0, 1),
    ]
    assert found.complaints == 3
    assert dict(found.by_category) == {"pungli": 2, "USL": 1}
    assert dict(found.by_status) == {"dijawab": 1, "selesai": 1, "baru": 1}
    assert found.resolved == 2 and found.median_resolve == timedelta(hours=20)
    # a period that ended before any of it
    with database.connect() as db:
        before = figures.summary(db, start - timedelta(hours=1))
    assert (before.registered, before.ratings, before.complaints, before.reached) == (0, 0, 0, 0)
    assert before.rating_average is None and before.median_resolve is None
    assert before.by_program == () and before.by_category == ()


def test_a_kelurahan_narrows_everything(database: Database, clock: Clock) -> None:
    build(database, clock)
    with database.connect() as db:
        found = figures.summary(db, clock(), kelurahan_code=BAMBU)
    assert (found.registered, found.reached) == (1, 0)
    assert (found.confirmed, found.waitlisted, found.cancelled) == (0, 0, 0)
    assert [(item.name, item.count) for item in found.by_program] == [("lainnya", 1)]
    assert [item.name for item in found.by_kelurahan] == ["Pondok Bambu"]
    assert found.complaints == 1 and dict(found.by_status) == {"selesai": 1}
    assert found.median_resolve == timedelta(hours=30)


def test_attendance_counts_the_sessions_held_in_the_period(
    database: Database, clock: Clock
) -> None:
    people = build(database, clock)
    with database.begin() as db:
        batch = training.get_batch(db=db, code=SMALL)
        clock.now = batch.sessions[0].starts_at + timedelta(hours=3)
        confirmed = [
            row.id
            for row in training.list_batch(db=db, batch_id=people["batch"])
            if row.status == "confirmed"
        ]
        training.mark_attendance(
            db=db, batch_id=people["batch"], session=1, present=set(confirmed[:2]), now=clock()
        )
    with database.connect() as db:
        found = figures.summary(db, clock(), since=clock() - timedelta(days=1))
        later = figures.summary(db, clock() + timedelta(days=60))
    assert (found.attended, found.expected) == (2, 3)
    assert (later.attended, later.expected) == (0, 0)


def test_the_chart_is_a_small_png(database: Database, clock: Clock) -> None:
    build(database, clock)
    with database.connect() as db:
        found = figures.summary(db, clock())
    for language in ("id", "en"):
        png = rating_chart(found, language)
        assert png.startswith(PNG) and len(png) < 100_000
        pixels = imread(io.BytesIO(png))
        height, width = pixels.shape[:2]
        assert width == 640 and 150 < height < 600
    empty = replace(found, by_program=(), by_kelurahan=(), ratings=0, rating_average=None)
    assert rating_chart(empty, "id").startswith(PNG)


def test_matplotlib_never_warns_about_its_config_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o500)  # a home that cannot be written, as in a container
    environment = {key: value for key, value in os.environ.items() if key not in ("MPLCONFIGDIR",)}
    environment.update(HOME=str(home), XDG_CONFIG_HOME=str(home), XDG_CACHE_HOME=str(home))
    environment["TMPDIR"] = str(tmp_path)
    script = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from datetime import UTC, datetime\n"
        "from handlers.report_chart import rating_chart\n"
        "from storage.report_figures import Average, Summary\n"
        "now = datetime(2026, 11, 28, tzinfo=UTC)\n"
        "found = Summary(now, now, None, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4.0,\n"
        "    (Average('PKH', 4.0, 1),), (), 0, (), (), 0, None)\n"
        "assert rating_chart(found, 'id').startswith(b'\\x89PNG')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (tmp_path / "layanan-matplotlib").is_dir()


def views(database: Database) -> list:
    """Return the audit entries of reports seen."""
    with database.connect() as db:
        rows = db.execute(select(audit.AuditEntry.__table__)).all()
    return [row for row in rows if row.action == "report.view"]


async def test_an_evaluator_reads_the_report(
    engine: Engine, database: Database, clock: Clock
) -> None:
    build(database, clock)
    add_staff(database, clock, "eva", "evaluator-1", role=Role.EVALUATOR)
    chat = Chat(engine, "evaluator-1")
    await chat.send("laporan")
    text = chat.text
    assert (
        "Laporan 30 hari terakhir (Sabtu, 31 Oktober 2026 sampai Senin, 30 November 2026)" in text
    )
    assert "Warga terdaftar: 6 baru (6 seluruhnya)" in text
    assert "Warga yang terjangkau pesan: 1" in text
    assert "Pendaftaran pelatihan: 3 terkonfirmasi, 1 daftar tunggu, 1 batal" in text
    assert "Penilaian: 4, rata-rata 3,5 dari 5" in text
    assert "• PKH: 4,5 (2)" in text and "• Pelatihan keterampilan: 3,0 (1)" in text
    assert "• Lainnya: 2,0 (1)" in text
    assert "• Klender: 4,0 (3)" in text and "• Pondok Bambu: 2,0 (1)" in text
    assert "Aduan masuk: 3" in text and "• Potongan atau pungli: 2" in text
    assert "• Usul penerima: 1" in text
    assert "Median waktu penyelesaian: 20,0 jam (2 selesai)" in text
    assert chat.labels == ["Periode 7 hari", "Periode 30 hari", "Menu utama"]
    image = chat.replies[-1].image
    assert image is not None and image.startswith(PNG) and len(image) < 100_000
    assert imread(io.BytesIO(image)).shape[1] == 640
    await chat.send("Periode 7 hari")
    assert "Laporan 7 hari terakhir" in chat.text and chat.replies[-1].image
    await chat.tap("lp:30")
    assert "Laporan 30 hari terakhir" in chat.text
    await chat.send("Menu utama")
    assert "Menu utama" in chat.text and chat.replies[-1].image is None
    seen = views(database)
    assert [(row.actor, row.role) for row in seen] == [("eva", "evaluator")] * 3
    assert [row.details["days"] for row in seen] == [30, 7, 30]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF])
async def test_admin_and_staff_read_it_too(
    engine: Engine, database: Database, clock: Clock, role: Role
) -> None:
    add_staff(database, clock, "budi", "petugas-1", role=role)
    chat = Chat(engine, "petugas-1")
    await chat.send("/laporan")
    assert "Laporan 30 hari terakhir" in chat.text
    assert "Penilaian: belum ada pada periode ini" in chat.text
    assert "Median waktu penyelesaian: belum ada yang selesai" in chat.text
    assert chat.replies[-1].image.startswith(PNG)


@pytest.mark.parametrize("role", [None, Role.PARTNER])
async def test_laporan_from_anyone_else_is_plain_text(
    engine: Engine, database: Database, clock: Clock, role: Role | None
) -> None:
    resident = Chat(engine, "warga-biasa")
    other = Chat(engine, "bukan-petugas")
    if role is not None:
        add_staff(database, clock, "lain", "bukan-petugas", role=role, partner_code="YPP")
    await resident.run(HAPPY_ID)
    await other.run(HAPPY_ID)
    for word in ("laporan", "/laporan", "report"):
        assert await other.send(word) == await resident.send(word)
        assert "Laporan 30 hari" not in other.text
        assert all(reply.image is None for reply in other.replies)
    assert views(database) == []


async def test_a_kelurahan_limited_account_sees_only_its_own(
    engine: Engine, database: Database, clock: Clock
) -> None:
    build(database, clock)
    add_staff(database, clock, "ani", "petugas-bambu", kelurahan_code=BAMBU)
    chat = Chat(engine, "petugas-bambu")
    await chat.send("laporan")
    assert "Hanya Kelurahan Pondok Bambu." in chat.text
    assert "Warga terdaftar: 1 baru (1 seluruhnya)" in chat.text
    assert "Penilaian: 1, rata-rata 2,0 dari 5" in chat.text
    assert "Klender" not in chat.text
    assert "Aduan masuk: 1" in chat.text
    assert "Median waktu penyelesaian: 30,0 jam (1 selesai)" in chat.text
    assert views(database)[0].details == {"days": 30, "kelurahan_limit": BAMBU, "via": "console"}


async def test_the_english_walk(engine: Engine, database: Database, clock: Clock) -> None:
    build(database, clock)
    add_staff(database, clock, "eva", "evaluator-en", role=Role.EVALUATOR)
    chat = Chat(engine, "evaluator-en")
    await chat.send("report", language_hint="en")
    text = chat.text
    # English as written in Indonesia (en_ID): a decimal comma, as in the rest of the bot
    assert (
        "Report of the last 30 days (Saturday, 31 October 2026 to Monday, 30 November 2026)"
        in (text)
    )
    assert "Residents registered: 6 new (6 in all)" in text
    assert "Enrolments: 3 confirmed, 1 waitlisted, 1 cancelled" in text
    assert "Ratings: 4, average 3,5 of 5" in text
    assert "• Skills training: 3,0 (1)" in text and "• Other: 2,0 (1)" in text
    assert "• Cuts or illegal levies: 2" in text and "• Recipient proposal: 1" in text
    assert "Median time to resolve: 20,0 hours (2 resolved)" in text
    assert chat.labels == ["Last 7 days", "Last 30 days", "Main menu"]
    seen = list(chat.replies)
    await chat.send("Last 7 days")
    assert "Report of the last 7 days" in chat.text
    seen += chat.replies
    assert not misfits(seen), misfits(seen)


async def test_the_time_to_resolve_in_days(
    engine: Engine, database: Database, clock: Clock
) -> None:
    resident = add_resident(database, clock, "w-lama", KLENDER)
    with database.begin() as db:
        item = complaints.file(
            db=db,
            kind=ComplaintKind.COMPLAINT,
            resident_id=resident,
            text="Bantuan belum sampai.",
            now=clock(),
            time_zone=ZONE,
            kelurahan_code=KLENDER,
            category="layanan",
        )
        complaints.close(
            db=db, complaint_id=item.id, login="budi", now=clock() + timedelta(days=3)
        )
    clock.advance(days=4)
    add_staff(database, clock, "eva", "evaluator-1", role=Role.EVALUATOR)
    chat = Chat(engine, "evaluator-1")
    await chat.send("laporan")
    assert "Median waktu penyelesaian: 3,0 hari (1 selesai)" in chat.text


async def test_an_account_removed_mid_way_goes_home(
    engine: Engine, database: Database, clock: Clock
) -> None:
    add_staff(database, clock, "eva", "evaluator-1", role=Role.EVALUATOR)
    chat = Chat(engine, "evaluator-1")
    await chat.send("laporan")
    assert "Laporan 30 hari terakhir" in chat.text
    with database.begin() as db:
        staff.remove(db=db, login="eva", now=clock())
    await chat.tap("lp:7")
    assert "Akun ini tidak bisa lagi melihat laporan." in chat.text
    assert "Laporan 7 hari" not in chat.text
    assert len(views(database)) == 1
