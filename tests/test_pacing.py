"""The pacer (bot/pacing.py) on a fake clock: slots evenly spaced at its rate, no burst after a
pause, replies before notices before bulk, each chat's own pace, and a 429 that pauses it,
lowers its rate and is then slowly forgotten."""

import asyncio
import itertools
import time

import pytest

from bot.pacing import Budget, Late, Pacer, Priority, by, paid, priority_of


class FakeTime:
    """A monotonic clock that moves only when the pacer sleeps (or the test says)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        for _ in range(5):  # the sends given their slot run first, at the time they got it
            await asyncio.sleep(0)
        self.now += max(0.0, seconds)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def pacer_of(fake_time: FakeTime, rate: float = 10.0, **budget) -> Pacer:
    return Pacer(Budget(rate, **budget), clock=fake_time, sleep=fake_time.sleep)


async def sends(pacer: Pacer, fake_time: FakeTime, *wanted: tuple[Priority, str | None]):
    """Let the sends wait for their turns at once; return (label, time) in the order they went."""
    went: list[tuple[str, float]] = []

    async def one(label: str, priority: Priority, chat: str | None) -> None:
        await pacer.turn(priority, chat)
        went.append((label, fake_time()))

    await asyncio.gather(
        *(one(f"{p.name}:{chat}:{n}", p, chat) for n, (p, chat) in enumerate(wanted))
    )
    return went


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


async def test_slots_are_evenly_spaced_at_the_rate(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    went = await sends(pacer, fake_time, *[(Priority.BULK, None)] * 20)
    times = [at for _label, at in went]
    assert times[0] == 100.0  # the first goes at once
    assert gaps(times) == [0.1] * 19
    assert pacer.granted == 20


async def test_no_burst_after_a_pause(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 3)
    fake_time.now += 30  # nothing to send for a while: no second's worth saved up
    went = await sends(pacer, fake_time, *[(Priority.BULK, None)] * 10)
    times = [at for _label, at in went]
    assert gaps(times) == [0.1] * 9
    # in any second no more than the rate, counted from the first send after the pause
    assert sum(1 for at in times if at < times[0] + 1.0) == 10


async def test_replies_go_before_notices_before_bulk(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    await pacer.turn(Priority.BULK)  # the slot in hand: the rest have to wait their turn
    wanted = [(Priority.BULK, None)] * 3 + [(Priority.NOTICE, None), (Priority.REPLY, None)]
    went = await sends(pacer, fake_time, *wanted)
    assert [label.split(":")[0] for label, _at in went] == [
        "REPLY",
        "NOTICE",
        "BULK",
        "BULK",
        "BULK",
    ]
    assert gaps([at for _label, at in went]) == [0.1] * 4  # priority keeps the pace


async def test_a_reply_written_while_bulk_waits_takes_the_next_slot(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    went: list[str] = []

    async def send(label: str, priority: Priority) -> None:
        await pacer.turn(priority)
        went.append(label)

    bulk = [asyncio.create_task(send(f"bulk{n}", Priority.BULK)) for n in range(30)]
    while len(went) < 5:
        await asyncio.sleep(0)
    await send("reply", Priority.REPLY)
    assert went.index("reply") <= 6  # the slot after the one under way, not after the bulk
    await asyncio.gather(*bulk)


def test_kinds_map_to_priorities() -> None:
    assert priority_of("reply") == Priority.REPLY
    assert priority_of("reminder") == priority_of("status") == Priority.NOTICE
    assert priority_of("announcement") == priority_of("survey") == Priority.BULK


async def test_each_chat_keeps_its_own_pace_without_holding_up_the_others(
    fake_time: FakeTime,
) -> None:
    pacer = pacer_of(fake_time, rate=10, chat_rate=1.0, chat_burst=1.0)
    went = await sends(
        pacer, fake_time, (Priority.BULK, "a"), (Priority.BULK, "a"), (Priority.BULK, "b")
    )
    assert [(label.split(":")[1], round(at - 100, 6)) for label, at in went] == [
        ("a", 0.0),
        ("b", 0.1),  # b does not wait behind a's second message
        ("a", 1.0),
    ]


async def test_a_429_pauses_lowers_the_rate_once_and_recovers_slowly(
    fake_time: FakeTime,
) -> None:
    pacer = pacer_of(fake_time, rate=10, decrease=0.8, recovery=0.05, margin=0.03, probe=0.001)
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 3)
    told = fake_time()
    pacer.slow_down(2.0)
    pacer.slow_down(2.0)  # another send in flight got the same answer: lowered once
    assert pacer.rate == pytest.approx(8.0)
    went = await sends(pacer, fake_time, *[(Priority.BULK, None)] * 5)
    times = [at for _label, at in went]
    assert times[0] >= told + 2.0  # nothing during the pause
    assert all(gap > 0.12 for gap in gaps(times))  # about the lower rate, no burst after
    # additive increase: 5 % of the rate back a second, up to 3 % below where the 429 came
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 10)
    assert 8.0 < pacer.rate < 9.7
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 30)
    assert pacer.rate == pytest.approx(9.7, abs=0.02)
    # above that it probes slowly (0.1 % a second): back at 10 after about 30 s more
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 100)
    assert 9.7 < pacer.rate < 9.9
    went = await sends(pacer, fake_time, *[(Priority.BULK, None)] * 300)
    assert pacer.rate == pytest.approx(10.0)
    assert gaps([at for _label, at in went][-10:]) == [0.1] * 9


async def test_a_second_429_sets_the_ceiling_where_it_came(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=40, decrease=0.8, margin=0.03, calm=120)
    pacer.slow_down(1.0)  # at 40: down to 32
    fake_time.now += 60.0
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 2)
    assert pacer.rate == pytest.approx(38.8, abs=0.01)  # back to 3 % below 40
    pacer.slow_down(1.0)  # the limit is lower: learned at 38.8
    fake_time.now += 60.0
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 2)
    assert pacer.rate == pytest.approx(38.8 * 0.97, abs=0.1)


async def test_a_lone_429_after_a_calm_spell_lowers_the_rate_a_little(
    fake_time: FakeTime,
) -> None:
    pacer = pacer_of(fake_time, rate=30, decrease=0.8, calm=30, jitter=0.98)
    fake_time.now += 5.0
    pacer.slow_down(1.0)  # soon after the start: the rate may be too high, lowered in full
    assert pacer.rate == pytest.approx(24.0)
    fake_time.now += 10.0
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 2)
    before = pacer.rate  # back to 3 % below the ceiling
    pacer.slow_down(1.0)  # ten seconds after the last: in full again
    assert pacer.rate == pytest.approx(before * 0.8)
    fake_time.now += 120.0
    await sends(pacer, fake_time, *[(Priority.BULK, None)] * 2)
    before = pacer.rate
    pacer.slow_down(1.0)  # two minutes without one: sends bunched by chance, 2 % off
    assert pacer.rate == pytest.approx(before * 0.98)
    assert pacer.slowed == 3


async def test_429s_in_a_row_lower_the_rate_further_down_to_a_floor(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10, floor=0.3)
    for _round in range(10):
        pacer.slow_down(1.0)
        fake_time.now += 3.0  # past the pause and its calm: a new 429 teaches again
    assert pacer.rate == pytest.approx(3.0)
    assert pacer.slowed == 10


async def test_a_chat_told_to_wait_waits_alone(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10, chat_rate=1 / 6, chat_burst=45)
    pacer.slow_down(6.0, chat="siti")  # WhatsApp's pair rate: only this resident waits
    assert pacer.rate == 10
    went = await sends(pacer, fake_time, (Priority.REPLY, "siti"), (Priority.BULK, "budi"))
    assert [(label.split(":")[1], round(at - 100, 6)) for label, at in went] == [
        ("budi", 0.0),
        ("siti", 12.0),  # the pause, then one token's refill at 1/6 a second
    ]


async def test_a_send_the_drain_paid_for_does_not_wait_twice(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    await pacer.turn(Priority.BULK)
    with paid():
        await pacer.turn(Priority.REPLY)  # the channel's first call: the drain's turn
        assert fake_time() == 100.0
        await pacer.turn(Priority.REPLY)  # its second part waits for a slot
        assert fake_time() == pytest.approx(100.1)
    assert pacer.granted == 2


async def test_a_cancelled_wait_gives_its_slot_to_the_next(fake_time: FakeTime) -> None:
    pacer = pacer_of(fake_time, rate=10)
    await pacer.turn()
    waiting = asyncio.create_task(pacer.turn(Priority.REPLY))
    await asyncio.sleep(0)
    waiting.cancel()
    await pacer.turn(Priority.BULK)
    assert pacer.waiting() == 0
    assert pacer.granted == 2


async def test_a_turn_given_a_deadline_is_late_after_it_and_leaves_no_slot_taken() -> None:
    pacer = Pacer(Budget(10))  # the real clock: the deadline is a real wait
    pacer.slow_down(0.5)  # every send waits half a second
    with by(time.monotonic() + 0.1), pytest.raises(Late):
        await pacer.turn(Priority.REPLY, "siti")
    assert pacer.waiting() == 0 and pacer.granted == 0
    # the deadline was for that turn only: the next waits as long as it takes
    with by(time.monotonic() + 5.0):
        await pacer.turn(Priority.REPLY, "siti")  # the first call of a send: by the deadline
        await pacer.turn(Priority.REPLY, "siti")  # its second part: no deadline of its own
    assert pacer.granted == 2
