"""Housekeeping: abandoned answers do not linger, silent residents are erased in time."""

from datetime import timedelta

from sqlalchemy import select

from bot.housekeeping import sweep
from handlers.messages import Incoming
from storage import outbox, write_check
from storage.outbox import Outbound
from tests.helpers import Chat, all_rows
from tests.test_registration import HAPPY_ID, stored

IDLE = timedelta(minutes=30)
RETENTION = timedelta(days=730)


async def test_abandoned_registration_answers_are_dropped(chat: Chat, database, clock) -> None:
    await chat.run(HAPPY_ID[:4])  # name given, then silence
    assert "Siti Aminah" in str(all_rows(database)["conversations"])
    clock.advance(minutes=10)
    assert (
        sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).conversations == 0
    )
    clock.advance(minutes=25)
    assert (
        sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).conversations == 1
    )
    assert "Siti Aminah" not in str(all_rows(database)["conversations"])
    await chat.send("3")  # meant for the kelurahan question, long gone
    assert "percakapan sebelumnya kami akhiri" in chat.text and "Menu utama" in chat.text
    await chat.send("Lanjut daftar")  # now the menu works as usual
    assert "Siapa nama lengkap" in chat.text


async def test_residents_silent_past_retention_are_erased(engine, database, clock) -> None:
    old, recent = Chat(engine, "lama"), Chat(engine, "baru")
    await old.run(HAPPY_ID)
    clock.advance(days=400)
    await recent.run(HAPPY_ID)
    clock.advance(days=340)  # old: 740 days silent; recent: 340
    swept = sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION)
    assert swept.residents == 1
    assert len(all_rows(database)["residents"]) == 1
    assert stored(database, "baru").name == "Siti Aminah"


async def test_old_message_ids_are_forgotten(chat: Chat, database, clock) -> None:
    old = chat.message(text="halo")
    await chat.deliver(old)
    clock.advance(days=15)
    await chat.send("1")
    assert sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).message_ids == 1
    assert await chat.deliver(old)  # forgotten, so handled again: an answer, not silence


async def test_the_audit_of_status_checks_is_kept_for_the_retention(
    chat: Chat, database, clock
) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("Cek status bansos", "NIK"), ("3175071508800123", "nama"), ("Siti", "NIK")])
    assert len(all_rows(database)["status_checks"]) == 1
    clock.advance(days=700)
    await chat.send("menu")  # still active: neither she nor the audit goes
    assert (
        sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).status_checks == 0
    )
    clock.advance(days=31)
    swept = sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION)
    assert swept.status_checks == 1
    assert all_rows(database)["status_checks"] == []


async def test_rows_of_replies_go_once_they_are_done_with(engine, database, clock) -> None:
    handled = await engine.handle(Incoming("telegram", "5005", "m1", text="halo"))
    [first] = [reply.queued for reply in handled]
    with database.begin() as db:
        outbox.mark_sent(db=db, outbound_id=first, now=clock(), claim="reply:local")
    clock.advance(days=3)
    handled = await engine.handle(Incoming("telegram", "5005", "m2", text="1"))
    waiting = {reply.queued for reply in handled}  # not out yet: kept
    assert sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).replies == 1
    with database.connect() as db:
        left = set(db.execute(select(Outbound.id).where(Outbound.kind == "reply")).scalars())
    assert left == waiting


def test_write_checks_of_stopped_processes_go(database, clock) -> None:
    with database.begin() as db:
        write_check.write(db=db, name="vm:101", now=clock())  # stopped since
    clock.advance(hours=23)
    with database.begin() as db:
        write_check.write(db=db, name="vm:202", now=clock())  # still running
    assert sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).write_checks == 0
    clock.advance(hours=2)
    assert sweep(database, now=clock.now, idle_timeout=IDLE, retention=RETENTION).write_checks == 1
    assert [row[0] for row in all_rows(database)["write_checks"]] == ["vm:202"]
