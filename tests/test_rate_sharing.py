"""Processes sharing a platform's limit: each writes its send rate once a second
(storage/send_rates.py), reads the others' (bot/rate_sharing.py), and its pacer leaves them
that much before it spaces reminders and bulk, while replies keep the whole rate
(bot/pacing.py)."""

import asyncio
import os
import time
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.pacing import Priority
from bot.rate_sharing import ROOM, RateSharing, replies_room, room_for
from storage import send_rates
from storage.types import utcnow
from tests.durability_harness import Options, free_port, run_in, telegram_settings
from tests.fake_telegram import FakeBotAPI
from tests.test_pacing import FakeTime, gaps, pacer_of, sends

FRESH = timedelta(seconds=3)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


async def test_bulk_takes_what_the_other_processes_leave(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    pacer.leave(5.0)  # another process answers its residents at 5 a second
    went = await sends(pacer, fake_time, *[(Priority.BULK, None)] * 6)
    assert gaps([at for _label, at in went]) == [0.2] * 5  # 10 - 5 a second


async def test_replies_leave_only_what_they_are_told(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    pacer.leave(8.0)  # before bulk; nothing before replies: they keep the whole rate
    went = await sends(pacer, fake_time, *[(Priority.REPLY, None)] * 6)
    assert gaps([at for _label, at in went]) == [0.1] * 5
    pacer.leave(8.0, replies=5.0)
    went = await sends(pacer, fake_time, *[(Priority.REPLY, None)] * 6)
    assert gaps([at for _label, at in went]) == [0.2] * 5


def test_in_a_burst_each_process_answers_at_least_its_share(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=30)
    assert replies_room([], pacer) == 0.0  # alone
    assert replies_room([0.0], pacer) == 0.0  # the other idle: the whole rate
    assert replies_room([4.0], pacer) == 4.0  # it answers 4 a second: leave it those
    assert replies_room([29.0], pacer) == 15.0  # it sends all it may: half each
    assert replies_room([29.0, 29.0], pacer) == 20.0  # three busy: a third each


async def test_bulk_keeps_its_floor_when_the_others_take_it_all(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10, floor=0.1)
    pacer.leave(50.0)  # more than the limit: a broadcast still creeps on, a second apart
    assert pacer.rate_for(Priority.BULK) == 1.0
    assert pacer.rate_for(Priority.NOTICE) == 1.0
    pacer.leave(-3.0)  # nonsense from a clock step: nothing is left to anybody
    assert pacer.others == 0.0 and pacer.rate_for(Priority.BULK) == 10.0


def test_the_others_rates_are_read_and_a_silent_process_stops_counting(database) -> None:
    now = utcnow()

    def share(holder: str, rate: float, channel: str = "telegram", at=now) -> list[float]:
        with database.begin() as db:
            return send_rates.share(
                db=db, channel=channel, holder=holder, rate=rate, now=at, fresh=FRESH
            )

    assert share("a", 4.0) == []  # the first process: nobody else
    share("b", 6.0)
    share("b", 50.0, channel="whatsapp")
    share("b", 7.0)  # b writes again: its row is replaced, not added to
    assert sorted(share("c", 1.0)) == [4.0, 7.0]  # not c's own, not WhatsApp's
    # a and b said nothing for five seconds: they stopped
    assert share("c", 1.0, at=now + timedelta(seconds=5)) == []


def test_a_stopped_process_is_forgotten(database) -> None:
    now = utcnow()
    with database.begin() as db:
        send_rates.share(db=db, channel="telegram", holder="a", rate=4.0, now=now, fresh=FRESH)
        send_rates.share(db=db, channel="telegram", holder="b", rate=6.0, now=now, fresh=FRESH)
        send_rates.forget(db=db, holder="a")
        seen = send_rates.share(
            db=db, channel="telegram", holder="b", rate=6.0, now=now, fresh=FRESH
        )
        assert seen == []
        # a row a minute old is removed by the next process to write
        send_rates.share(db=db, channel="telegram", holder="gone", rate=9.0, now=now, fresh=FRESH)
        send_rates.share(
            db=db,
            channel="telegram",
            holder="b",
            rate=6.0,
            now=now + send_rates.FORGET_AFTER + timedelta(seconds=1),
            fresh=FRESH,
        )
        holders = db.execute(send_rates.SendRate.__table__.select()).all()
    assert [row.holder for row in holders] == ["b"]


def test_the_room_left_grows_with_the_others_rates_and_their_ups_and_downs() -> None:
    assert room_for([]) == 0.0  # alone: the whole rate
    assert room_for([0.0]) == ROOM  # another process, nobody writing to it yet
    assert room_for([4.0]) == pytest.approx(4 + 2 * 2 + ROOM)
    assert room_for([4.0, 9.0]) == pytest.approx((4 + 2 * 2 + ROOM) + (9 + 2 * 3 + ROOM))


async def test_two_processes_tell_each_other_their_rates(fake_time: FakeTime, database) -> None:
    now = utcnow()
    replying = pacer_of(fake_time, rate=30)  # answers its residents
    draining = pacer_of(fake_time, rate=30)  # holds the lease, drains a broadcast
    a = RateSharing(database, {"telegram": replying}, holder="a", clock=fake_time, now=lambda: now)
    b = RateSharing(database, {"telegram": draining}, holder="b", clock=fake_time, now=lambda: now)
    await sends(replying, fake_time, *[(Priority.REPLY, str(chat)) for chat in range(4)])
    fake_time.now += 1.0 - 3 / 30  # four replies in the last second
    assert a.share() == {"telegram": 0.0}  # b has said nothing yet
    room = room_for([4.0])  # 10 a second
    assert b.share() == {"telegram": pytest.approx(room)}
    assert draining.rate_for(Priority.BULK) == pytest.approx(30 - room)
    # its own replies leave the other's replies what they send: 4 a second
    assert draining.rate_for(Priority.REPLY) == pytest.approx(26.0)
    went = await sends(draining, fake_time, *[(Priority.BULK, None)] * 20)
    assert gaps([at for _label, at in went]) == [0.05] * 19
    fake_time.now += 0.1
    b.share()  # 20 sends since its last count, a second and a bit ago, none before that
    b_rate = 20 / (fake_time.now - 101.0)
    assert a.share() == {"telegram": pytest.approx(room_for([b_rate]))}
    # a's replies leave b's broadcast what it sends, up to half the rate: at least 15 remain
    assert replying.rate_for(Priority.REPLY) == pytest.approx(30 - min(b_rate, 15.0))
    b.forget()  # b stops: a may have the whole rate again at once
    assert a.share() == {"telegram": 0.0}
    assert replying.rate_for(Priority.BULK) == 30.0


def sharing(database) -> dict[str, str]:
    """Return the processes that told their Telegram send rate lately, by holder."""
    table = send_rates.SendRate.__table__
    with database.begin() as db:
        rows = db.execute(select(table).where(table.c.channel == "telegram")).all()
    return {row.holder: row.rate for row in rows}


def left_to_others(url: str) -> float | None:
    """Read what a program leaves the others of Telegram's limit off its /metrics."""
    try:
        text = httpx.get(url, timeout=5).text
    except httpx.TransportError:  # not listening yet
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            telegram = sample.labels == {"channel": "telegram"}
            if sample.name == "layanan_send_rate_left_to_others" and telegram:
                return sample.value
    return None


async def wait_for(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.1)


async def test_running_programs_tell_their_rates_and_a_stopped_one_is_forgotten(tmp_path) -> None:
    options = Options(0, os.environ.get("TEST_DATABASE_URL"), tmp_path / "logs")
    async with FakeBotAPI() as fake, run_in(options) as run:
        first = await run.program(**telegram_settings(fake)).start()
        second = await run.program(**telegram_settings(fake), HTTP_PORT=str(free_port())).start()
        await wait_for(lambda: len(sharing(run.database)) == 2)
        assert set(sharing(run.database).values()) == {0.0}  # nobody wrote: nothing sent
        # each leaves the other room for a reply or two, and says so at /metrics
        metrics = f"http://127.0.0.1:{first.env['HTTP_PORT']}/metrics"
        await wait_for(lambda: left_to_others(metrics) == ROOM)
        await second.stop()
        await wait_for(lambda: len(sharing(run.database)) == 1)
        assert first.process.returncode is None  # the first still runs, and tells its rate
        await wait_for(lambda: left_to_others(metrics) == 0.0)  # alone: the whole rate
