"""Staff accounts and broadcasts from the command line: who may add staff and send
announcements (every time checked, every action in the audit log), segments, a kelurahan
limit, the 24-hour repeat guard, and a broadcast to 2,000 residents through the fake Bot API:
each delivered once, those who said "berhenti" skipped, the report's counts right."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import func, select

from bot import announcing
from bot.__main__ import bootstrap_admins, parse_args, run_staff_command
from bot.channels.telegram import Settings as TelegramSettings
from bot.channels.telegram import TelegramChannel
from bot.settings import Settings
from storage import broadcasts, staff
from storage.audit import AuditEntry
from storage.broadcasts import Segment, SegmentKind
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity, Resident
from storage.staff import Role
from storage.types import utcnow
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.fake_telegram import FakeBotAPI
from tests.test_outbound import new_drainer

KLENDER = "31.75.07.1003"
PONDOK_BAMBU = "31.75.07.1002"


@pytest.fixture(autouse=True)
def no_login_in_the_environment(monkeypatch, clock) -> None:
    """Start every test without STAFF_LOGIN, and `broadcast` on the test's clock (09.00 WIB):
    on the real one a test run in the evening would meet quiet hours."""
    monkeypatch.delenv("STAFF_LOGIN", raising=False)
    monkeypatch.setattr(announcing, "utcnow", clock)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """Settings pointing the commands at the test database, with an admin and staff."""
    now = utcnow()
    with database.begin() as db:
        staff.add(db=db, login="admin", name="Admin", role=Role.ADMIN, now=now)
        staff.add(db=db, login="petugas", name="Petugas", role=Role.STAFF, now=now)
        staff.add(db=db, login="klender", name="Lurah", role=Role.STAFF, now=now,
                  kelurahan_code=KLENDER)  # fmt: skip
        staff.add(db=db, login="evaluator", name="Evaluator", role=Role.EVALUATOR, now=now)
    url = TEST_DATABASE_URL or database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=tmp_path / "data", nik_pepper=TEST_KEY.decode())


def cli(settings: Settings, *args: str) -> int:
    """Run a command in this process, as `python -m bot` parses it."""
    return run_staff_command(settings, parse_args(list(args)))


def populate(database: Database, count: int, *, opted_out_every: int = 0) -> None:
    """Add `count` consented Telegram residents, alternately of Klender and Pondok Bambu;
    every `opted_out_every`-th said "berhenti"."""
    now = utcnow()
    residents_rows = [
        {
            "name": f"Warga {number}",
            "language": "id" if number % 3 else "en",
            "kelurahan_code": KLENDER if number % 2 else PONDOK_BAMBU,
            "rw": 1 + number % 5,
            "consent_at": now,
            "opted_out": bool(opted_out_every) and number % opted_out_every == 0,
            "phone_verified": False,
            "registry_programs": "PKH;BPNT" if number % 4 == 0 else "",
            "created_at": now,
            "updated_at": now,
        }
        for number in range(count)
    ]
    with database.begin() as db:
        db.execute(Resident.__table__.insert(), residents_rows)
        ids = db.execute(select(Resident.id).order_by(Resident.id)).scalars().all()[-count:]
        db.execute(
            ChannelIdentity.__table__.insert(),
            [
                {
                    "resident_id": rid,
                    "channel": "telegram",
                    "external_id": str(700_000 + rid),
                    "created_at": now,
                }
                for rid in ids
            ],
        )


def message(tmp_path: Path, text: str = "Pasar murah Sabtu 08.00 di Kantor Kelurahan.") -> str:
    path = tmp_path / "siaran.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- staff accounts -----------------------------------------------------------------------------


def test_only_an_admin_adds_and_removes_staff_and_each_change_is_audited(
    settings, database, capsys
) -> None:
    assert cli(settings, "staff", "add", "--telegram", "5551", "--role", "staff") == 2
    assert "--as LOGIN" in capsys.readouterr().err
    added = ("staff", "add", "--telegram", "5551", "--role", "staff", "--kelurahan", "klender")
    assert cli(settings, *added, "--as", "petugas") == 2
    assert "staff.manage is for admin accounts" in capsys.readouterr().err
    assert cli(settings, *added, "--as", "admin") == 0
    assert re.fullmatch(
        r"Added te-[0-9a-f]{6}: staff, limited to klender.\n", capsys.readouterr().out
    )
    with database.connect() as db:
        member = staff.of_chat(db=db, channel="telegram", external_id="5551")
    assert (member.role, member.kelurahan_code) == (Role.STAFF, KLENDER)
    wa = (
        "staff",
        "add",
        "--whatsapp",
        "+62 812-3456-7890",
        "--role",
        "evaluator",
        "--as",
        "admin",
    )
    assert cli(settings, *wa) == 0
    assert (
        cli(settings, "staff", "add", "--telegram", "12ab", "--role", "staff", "--as", "admin")
        == 2
    )
    assert cli(settings, "staff", "list", "--as", "evaluator") == 2  # for kelurahan staff
    assert cli(settings, "staff", "list", "--as", "petugas") == 0
    listing = capsys.readouterr().out
    assert "telegram:5551" in listing and "whatsapp:…7890" in listing  # numbers not shown
    assert "6281234567890" not in listing
    again = ("staff", "add", "--telegram", "5551", "--role", "admin", "--as", "admin")
    assert cli(settings, *again) == 0  # changed: the limit and name stay unless given
    with database.connect() as db:
        member = staff.of_chat(db=db, channel="telegram", external_id="5551")
    assert (member.role, member.kelurahan_code) == (Role.ADMIN, KLENDER)
    # a limited admin manages nobody: not even their own limit away
    widen = ("staff", "add", "--telegram", "5551", "--role", "admin", "--whole-kecamatan")
    assert cli(settings, *widen, "--as", member.login) == 2
    assert "limited to one kelurahan" in capsys.readouterr().err
    assert cli(settings, *widen, "--as", "admin") == 0
    with database.connect() as db:
        member = staff.of_chat(db=db, channel="telegram", external_id="5551")
    assert member.kelurahan_code is None
    assert cli(settings, *again[:-2], "--role", "staff", "--as", "admin") == 0
    assert cli(settings, "staff", "remove", "--telegram", "5551", "--as", "admin") == 0
    with database.connect() as db:
        assert staff.of_chat(db=db, channel="telegram", external_id="5551") is None
        actions = db.execute(select(AuditEntry.action, AuditEntry.actor)).all()
    assert actions == [  # refusals too, each with who tried
        ("refused.staff.manage", "(nobody)"),
        ("refused.staff.manage", "petugas"),
        ("staff.add", "admin"),
        ("staff.add", "admin"),
        ("refused.staff.list", "evaluator"),
        ("staff.list", "petugas"),
        ("staff.change", "admin"),
        ("refused.staff.manage", member.login),  # a limited admin widening their own limit
        ("staff.change", "admin"),
        ("staff.change", "admin"),
        ("staff.remove", "admin"),
    ]
    assert all("628" not in actor for _action, actor in actions)


def test_the_first_admins_come_from_the_settings(settings, database) -> None:
    first = settings.model_copy(
        update={"admin_telegram_ids": [424242], "admin_whatsapp_numbers": ["+62 811-0000-111"]}
    )
    bootstrap_admins(first, database)
    bootstrap_admins(first, database)  # at every start: nothing twice
    with database.connect() as db:
        telegram = staff.of_chat(db=db, channel="telegram", external_id="424242")
        whatsapp = staff.of_chat(db=db, channel="whatsapp", external_id="628110000111")
        admins = db.execute(
            select(func.count())
            .select_from(staff.StaffMember)
            .where(staff.StaffMember.role == Role.ADMIN)
        ).scalar_one()
    assert telegram.role == whatsapp.role == Role.ADMIN
    assert admins == 3  # with the test's own


# -- broadcasts ---------------------------------------------------------------------------------


def test_residents_evaluators_and_unknown_logins_cannot_broadcast(
    settings, database, tmp_path, capsys
) -> None:
    populate(database, 10)
    file = message(tmp_path)
    for login in ("evaluator", "nobody"):
        assert cli(settings, "broadcast", "--segment", "everyone", "--message-file", file,
                   "--as", login) == 2  # fmt: skip
    with database.connect() as db:
        assert db.execute(select(func.count()).select_from(Outbound)).scalar_one() == 0
    assert "evaluator account" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("everyone", 20),
        ("kelurahan=klender", 10),
        ("kelurahan=Pondok Bambu", 10),
        ("rw=klender:2", 2),  # odd numbers with number % 5 == 1: 1, 11
        ("program=pkh", 5),
        ("language=en", 7),
        ("channel=whatsapp", 0),
    ],
)
def test_segments(settings, database, tmp_path, segment: str, expected: int) -> None:
    populate(database, 20)
    file = message(tmp_path)
    done = cli(settings, "broadcast", "--segment", segment, "--message-file", file, "--as",
               "petugas")  # fmt: skip
    assert done == (0 if expected else 2)  # nobody to reach: nothing queued, and it says so
    with database.connect() as db:
        rows = db.execute(select(Outbound.kind, Outbound.broadcast_id)).all()
    assert len(rows) == expected
    assert {kind for kind, _id in rows} <= {OutboundKind.ANNOUNCEMENT}


def test_staff_of_one_kelurahan_reach_only_it(settings, database, tmp_path, capsys) -> None:
    populate(database, 20)
    file = message(tmp_path)
    assert cli(settings, "broadcast", "--segment", "everyone", "--message-file", file,
               "--as", "klender") == 0  # fmt: skip
    assert cli(settings, "broadcast", "--segment", "kelurahan=pondok bambu", "--message-file",
               file, "--as", "klender", "--repeat") == 2  # fmt: skip
    with database.connect() as db:
        places = db.execute(
            select(Resident.kelurahan_code, func.count())
            .join(Outbound, Outbound.resident_id == Resident.id)
            .group_by(Resident.kelurahan_code)
        ).all()
    assert places == [(KLENDER, 10)]


def test_the_same_text_to_the_same_people_within_a_day_needs_repeat(
    settings, database, tmp_path, capsys
) -> None:
    populate(database, 10)
    file = message(tmp_path)
    send = (
        "broadcast",
        "--segment",
        "kelurahan=klender",
        "--message-file",
        file,
        "--as",
        "petugas",
    )
    assert cli(settings, *send) == 0
    capsys.readouterr()
    assert cli(settings, *send) == 2
    assert "5 of them got the same text in the last 24 hours" in capsys.readouterr().err
    other = message(tmp_path, "PASAR   murah sabtu 08.00 di kantor kelurahan.")  # same words
    assert cli(settings, "broadcast", "--segment", "everyone", "--message-file", other,
               "--as", "petugas") == 2  # fmt: skip
    assert cli(settings, *send, "--repeat") == 0
    with database.connect() as db:
        assert db.execute(select(func.count()).select_from(Outbound)).scalar_one() == 10


def test_a_later_broadcast_waits_and_bad_input_is_refused(
    settings, database, tmp_path, capsys
) -> None:
    populate(database, 4)
    file = message(tmp_path)
    later = (utcnow() + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    assert cli(settings, "broadcast", "--segment", "everyone", "--message-file", file,
               "--at", later, "--as", "petugas") == 0  # fmt: skip
    with database.connect() as db:
        waits = db.execute(select(Outbound.not_before)).scalars().all()
    assert all(at > utcnow() + timedelta(days=1) for at in waits) and len(waits) == 4
    bad = [
        ("--segment", "nobody"),
        ("--segment", "kelurahan=atlantis"),
        ("--segment", "rw=klender"),
        ("--segment", "language=jv"),
        ("--segment", "everyone", "--at", "2020-01-01T08:00"),
        ("--segment", "everyone", "--at", "besok"),
    ]
    for extra in bad:
        assert cli(settings, "broadcast", "--message-file", file, *extra, "--as", "petugas") == 2
    empty = message(tmp_path, "   ")
    assert cli(settings, "broadcast", "--segment", "everyone", "--message-file", empty,
               "--as", "petugas") == 2  # fmt: skip


async def test_two_thousand_residents_each_get_it_once_and_the_report_adds_up(
    settings, engine, database, tmp_path, clock
) -> None:
    populate(database, 2000, opted_out_every=40)  # 50 said "berhenti"
    file = message(tmp_path)
    assert cli(settings, "broadcast", "--segment", "everyone", "--message-file", file,
               "--as", "petugas") == 0  # fmt: skip
    with database.connect() as db:
        broadcast_id = db.execute(select(broadcasts.Broadcast.id)).scalar_one()
        blocked_chat = db.execute(
            select(ChannelIdentity.external_id).order_by(ChannelIdentity.id).limit(1).offset(1)
        ).scalar_one()
    async with FakeBotAPI() as fake:
        fake.fail_next("sendMessage", error_code=403, description="Forbidden: bot was blocked by "
                       "the user", chat_id=int(blocked_chat))  # fmt: skip
        channel = TelegramChannel(
            TelegramSettings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        drainer = new_drainer(channel, database, clock)
        try:
            while await drainer.drain_once():
                pass
        finally:
            drainer.close()
            await channel.stop()
        delivered = Counter(
            call.params["chat_id"] for call in fake.calls("sendMessage") if not call.failed
        )
    assert len(delivered) == 1949 and set(delivered.values()) == {1}  # each once
    with database.connect() as db:
        found = broadcasts.report(db=db, broadcast_id=broadcast_id)
        statuses = Counter(db.execute(select(Outbound.status)).scalars().all())
    assert found.recipients == 1950 and found.skipped_opted_out == 50
    assert (found.sent, found.blocked, found.failed, found.waiting) == (1949, 1, 0, 0)
    assert statuses == {OutboundStatus.SENT: 1949, OutboundStatus.FAILED: 1}
    assert found.finished


def test_segments_read_from_the_command_line_are_checked(database) -> None:
    from bot.announcing import read_segment

    with database.connect() as db:
        assert read_segment(db, "rw=Klender:05") == Segment(SegmentKind.RW, f"{KLENDER}:5")
        assert read_segment(db, "batch=mjh-2026-12a") == Segment(SegmentKind.BATCH, "MJH-2026-12A")
        assert read_segment(db, "program=") is None


# -- the clock: progress, the final report, recurring broadcasts --------------------------------


def statuses_of(database: Database, broadcast_id: int, status: OutboundStatus, count: int) -> None:
    """Give `count` more of a broadcast's waiting messages a final status."""
    with database.begin() as db:
        ids = (
            db.execute(
                select(Outbound.id)
                .where(Outbound.broadcast_id == broadcast_id, Outbound.status == "pending")
                .limit(count)
            )
            .scalars()
            .all()
        )
        db.execute(Outbound.__table__.update().where(Outbound.id.in_(ids)).values(status=status))


def reports_to(database: Database, external_id: str) -> list[str]:
    """Return the texts queued for the sender's chat."""
    with database.connect() as db:
        return (
            db.execute(
                select(Outbound.text)
                .join(ChannelIdentity, ChannelIdentity.id == Outbound.identity_id)
                .where(ChannelIdentity.external_id == external_id)
                .order_by(Outbound.id)
            )
            .scalars()
            .all()
        )


async def test_the_sender_hears_the_progress_and_the_final_report(engine, database, clock):
    from bot import broadcasting
    from tests.helpers import Chat

    await Chat(engine, "rina").send("halo")  # the sender's chat, known to the bot
    with database.begin() as db:
        staff.add(db=db, login="rina", name="Rina", role=Role.STAFF, now=clock(),
                  channel="console", external_id="rina")  # fmt: skip
    populate(database, 8)
    with database.begin() as db:
        broadcast_id, queued, _skipped = broadcasts.queue(
            db=db,
            segment=Segment(SegmentKind.EVERYONE),
            text="Posyandu lansia Selasa pagi.",
            created_by="rina",
            now=clock(),
            report_to=("console", "rina"),
        )
    assert queued == 8
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 0
    statuses_of(database, broadcast_id, OutboundStatus.SENT, 4)
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 1
    assert reports_to(database, "rina") == [f"Siaran #{broadcast_id}: 4 dari 8 sudah terkirim."]
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 0  # once
    statuses_of(database, broadcast_id, OutboundStatus.SENT, 3)
    statuses_of(database, broadcast_id, OutboundStatus.FAILED, 1)
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 1
    final = reports_to(database, "rina")[-1]
    assert final.startswith(f"Siaran #{broadcast_id} selesai")
    assert "terkirim: 7" in final and "gagal: 1" in final
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 0
    with database.connect() as db:
        assert broadcasts.get(db=db, broadcast_id=broadcast_id).status == "done"


def test_a_recurring_broadcast_is_queued_at_each_of_its_times(database, clock) -> None:
    from bot import broadcasting

    populate(database, 4)
    first = clock().replace(hour=1, minute=0)  # its first time: Saturday 08.00 WIB
    with database.begin() as db:
        staff.add(db=db, login="petugas", name="Petugas", role=Role.STAFF, now=clock())
        plan_id = broadcasts.plan(
            db=db,
            segment=Segment(SegmentKind.EVERYONE),
            text="Jadwal posyandu minggu ini: lihat menu Cek kesehatan.",
            cron="0 8 * * mon",
            next_at=first,
            created_by="petugas",
            now=clock(),
        )
    clock.now = first
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 4
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 0
    with database.connect() as db:
        plan = broadcasts.get(db=db, broadcast_id=plan_id)
        copies = (
            db.execute(
                select(broadcasts.Broadcast.id).where(broadcasts.Broadcast.plan_id == plan_id)
            )
            .scalars()
            .all()
        )
    assert len(copies) == 1
    assert plan.send_at.isoformat() == "2026-11-30T01:00:00+00:00"  # Monday 08.00 WIB
    clock.now = plan.send_at  # exactly on time: one copy, and the plan moves a week on
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 4
    clock.advance(seconds=30)
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 0
    with database.begin() as db:
        assert broadcasts.get(db=db, broadcast_id=plan_id).send_at.day == 7
        staff.remove(db=db, login="petugas", now=clock())  # the sender leaves
    clock.now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 0
    with database.connect() as db:
        assert broadcasts.get(db=db, broadcast_id=plan_id).status == "stopped"


def test_a_broken_plan_holds_up_nothing_else(engine, database, clock) -> None:
    from bot import broadcasting

    populate(database, 2)
    with database.begin() as db:
        staff.add(db=db, login="petugas", name="Petugas", role=Role.STAFF, now=clock())
        for text, cron in (("Rusak", "0 25 * * *"), ("Baik", "0 8 * * *")):  # hour 25: broken
            broadcasts.plan(
                db=db,
                segment=Segment(SegmentKind.EVERYONE),
                text=text,
                cron=cron,
                next_at=clock(),
                created_by="petugas",
                now=clock(),
            )
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 2


async def test_a_console_account_tries_the_staff_side_in_the_terminal(
    settings, engine, database
) -> None:
    from tests.helpers import Chat

    add = ("staff", "add", "--console", "rina", "--role", "staff", "--as", "admin")
    assert cli(settings, *add) == 0
    rina, warga = Chat(engine, "rina"), Chat(engine, "warga")
    await rina.send("siaran")
    assert rina.text.startswith("Siaran baru. Siapa yang akan menerimanya?")
    await warga.send("halo")
    await warga.send("siaran")
    assert "Siaran baru" not in warga.text  # a resident gets the usual answer
    assert "Silakan pilih bahasa" in warga.text


def test_a_recurring_broadcast_from_the_command_line_and_its_stop(
    settings, database, tmp_path, capsys
) -> None:
    populate(database, 4)
    file = message(tmp_path)
    weekly = ("broadcast", "--segment", "everyone", "--message-file", file)
    assert cli(settings, *weekly, "--every", "0 25 * * *", "--as", "petugas") == 2
    assert cli(settings, *weekly, "--every", "0 8 * * mon", "--as", "petugas") == 0
    out = capsys.readouterr().out
    plan_id = int(re.search(r"Recurring siaran #(\d+)", out).group(1))
    assert "08:00" in out
    assert cli(settings, "broadcast", "--stop", str(plan_id), "--as", "klender") == 2  # not theirs
    assert cli(settings, "broadcast", "--stop", str(plan_id), "--as", "petugas") == 0
    assert cli(settings, "broadcast", "--stop", str(plan_id), "--as", "petugas") == 2  # stopped
    with database.connect() as db:
        actions = db.execute(select(AuditEntry.action)).scalars().all()
        assert db.execute(select(func.count()).select_from(Outbound)).scalar_one() == 0
    assert actions == [
        "broadcast.send",  # the broken --every: let in, nothing planned
        "broadcast.plan",
        "refused.broadcast.stop",  # klender's kelurahan is not the plan's
        "broadcast.stop",
        "broadcast.stop",  # let in, already stopped
    ]
