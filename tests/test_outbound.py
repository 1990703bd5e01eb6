"""The outbound queue's drain: rows go out through the real Telegram adapter to the fake Bot
API server and are recorded; 429s, blocked accounts, network errors, quiet hours, opt-outs, the
per-chat pace, a restart and the lease. Time is the test's clock: every step is one
`drain_once()` at a moment the test chose."""

import asyncio
import io
import itertools
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.console import ConsoleSender
from bot.channels.telegram import Settings, TelegramChannel, queue_error
from bot.outbound import (
    Beat,
    Drainer,
    Limits,
    QuietHours,
    RetryLater,
    SendFailed,
    Unavailable,
    Unknown,
    Unreachable,
)
from bot.serve import clock_executors, stop_clock
from storage import leases, outbox, residents
from storage.outbox import OPTED_OUT, Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity
from tests.fake_telegram import FakeBotAPI
from tests.helpers import Clock

SITI, BUDI, ANI = 1001, 1002, 1003
LIMITS = Limits(
    rate=1000,  # the overall rate is real time; these tests are about the clock's rules
    chat_interval=timedelta(seconds=1),
    in_flight=8,
    max_attempts=5,
    backoff=timedelta(seconds=30),
    backoff_cap=timedelta(hours=1),
)
BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass
class Queue:
    """A drain on the Telegram channel, the fake server behind it and the test's clock."""

    fake: FakeBotAPI
    channel: TelegramChannel
    drainer: Drainer
    database: object
    clock: Clock

    def resident(self, user_id: int, *, opted_out: bool = False) -> int:
        """Create a resident who uses Telegram; return their id."""
        with self.database.begin() as db:
            profile, _identity = residents.create_resident(
                db=db,
                channel="telegram",
                external_id=str(user_id),
                language="id",
                now=self.clock(),
            )
            # they agreed to the privacy notice (announcements go only to those who did)
            residents.update_profile(
                db=db, profile=profile, now=self.clock(), consent_at=self.clock()
            )
            if opted_out:
                residents.update_profile(db=db, profile=profile, now=self.clock(), opted_out=True)
        return profile.id

    def put(
        self,
        resident_id: int,
        text: str,
        kind: OutboundKind = OutboundKind.REMINDER,
        **fields,
    ) -> int:
        """Queue a message, as a conversation or the reminders' tick does."""
        with self.database.begin() as db:
            return outbox.enqueue(
                db=db, resident_id=resident_id, kind=kind, text=text, now=self.clock(), **fields
            )

    def row(self, outbound_id: int) -> Outbound:
        """Read a queued message back."""
        table = Outbound.__table__
        with self.database.connect() as db:
            found = db.execute(select(table).where(table.c.id == outbound_id)).one()
        return Outbound.model_validate(found._asdict())

    def texts(self, user_id: int) -> list[str]:
        """Return what the fake server delivered to one chat."""
        return self.fake.sent_texts(user_id)


def new_drainer(channel, database, clock: Clock, limits: Limits = LIMITS, **kwargs) -> Drainer:
    """Return a drain allowed to run for a day of the test's clock."""
    drainer = Drainer(channel, database, limits, QuietHours(), clock=clock, **kwargs)
    drainer.permit(clock() + timedelta(days=1))
    return drainer


@pytest.fixture
async def queue(engine, database, clock) -> AsyncIterator[Queue]:
    """A running Telegram channel on a fresh fake server, and a drain on it."""
    async with FakeBotAPI() as fake:
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        drainer = new_drainer(channel, database, clock)
        try:
            yield Queue(fake, channel, drainer, database, clock)
        finally:
            drainer.close()
            await channel.stop()


async def test_a_queued_message_is_sent_and_recorded(queue: Queue) -> None:
    siti = queue.resident(SITI)
    first = queue.put(siti, "Pengingat: besok pengambilan sembako di Kantor Kelurahan Klender.")
    assert await queue.drainer.drain_once() == 1
    assert queue.texts(SITI) == [
        "Pengingat: besok pengambilan sembako di Kantor Kelurahan Klender."
    ]
    row = queue.row(first)
    assert (row.status, row.sent_at, row.attempts) == (OutboundStatus.SENT, queue.clock(), 1)
    assert await queue.drainer.drain_once() == 0  # sent is sent
    assert len(queue.texts(SITI)) == 1


async def test_a_message_waits_for_its_time(queue: Queue) -> None:
    siti = queue.resident(SITI)
    later = queue.put(siti, "Nanti", not_before=queue.clock() + timedelta(minutes=5))
    assert await queue.drainer.drain_once() == 0
    queue.clock.advance(minutes=5)
    assert await queue.drainer.drain_once() == 1
    assert queue.row(later).status == OutboundStatus.SENT


async def test_after_a_restart_what_was_in_flight_goes_again_a_term_later_and_sent_never(
    queue: Queue, engine, database, clock
) -> None:
    siti, budi, ani = queue.resident(SITI), queue.resident(BUDI), queue.resident(ANI)
    done = queue.put(siti, "Sudah terkirim")
    in_flight = queue.put(budi, "Sedang dikirim")
    waiting = queue.put(ani, "Belum diambil", not_before=clock() + timedelta(minutes=1))
    # the program that stopped had claimed two and recorded one as sent when it died
    with database.begin() as db:
        claimed = outbox.claim(db=db, channel="telegram", now=clock(), quiet=False)
        assert sorted(row.id for row in claimed) == [done, in_flight]
        outbox.mark_sent(db=db, outbound_id=done, now=clock())
    assert queue.row(in_flight).status == OutboundStatus.SENDING
    # a new program (a new drain on the same database) starts
    restarted = new_drainer(queue.channel, database, clock)
    try:
        assert await restarted.drain_once() == 0  # its sender may still be at it
        clock.advance(minutes=1)
        assert await restarted.drain_once() == 1  # the one waiting for its time
        clock.advance(seconds=30)  # a lease term (90 s) after it was claimed: abandoned
        assert await restarted.drain_once() == 0  # back, for its old sender to record it
        clock.advance(seconds=90)
        assert await restarted.drain_once() == 0  # a frozen sender may still wake: two terms
        clock.advance(seconds=90)
        assert await restarted.drain_once() == 1
        assert await restarted.drain_once() == 0
    finally:
        restarted.close()
    assert queue.texts(SITI) == []  # recorded as sent: never again
    assert queue.texts(BUDI) == ["Sedang dikirim"]  # may have arrived before: at most twice
    assert queue.texts(ANI) == ["Belum diambil"]
    assert {queue.row(i).status for i in (done, in_flight, waiting)} == {OutboundStatus.SENT}
    assert (queue.row(in_flight).doubts, queue.row(waiting).doubts) == (1, 0)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("20:59", False), ("21:00", True), ("23:30", True), ("03:00", True), ("05:59", True),
     ("06:00", False), ("12:00", False)],
)  # fmt: skip
def test_quiet_hours_are_local_and_cross_midnight(local: str, quiet: bool) -> None:
    moment = datetime.fromisoformat(f"2026-11-28T{local}:00+07:00")
    assert QuietHours(time(21), time(6), "Asia/Jakarta").covers(moment) is quiet
    assert not QuietHours(time(9), time(9)).covers(moment)  # start = end: never quiet
    assert QuietHours(time(9), time(17)).covers(moment) is ("09:00" <= local < "17:00")


async def test_quiet_hours_hold_back_what_nobody_asked_for(queue: Queue) -> None:
    queue.clock.now = datetime.fromisoformat("2026-11-28T21:30:00+07:00")
    kinds = list(OutboundKind)
    ids = {}
    for number, kind in enumerate(kinds):
        resident = queue.resident(2000 + number)  # one chat each: no per-chat waiting
        ids[kind] = queue.put(resident, f"{kind} malam", kind)
    assert await queue.drainer.drain_once() == 5
    sent = {kind for kind, i in ids.items() if queue.row(i).status == OutboundStatus.SENT}
    assert sent == {
        OutboundKind.REMINDER,
        OutboundKind.STATUS,
        OutboundKind.PROMOTION,
        OutboundKind.CALLED_OFF,
        OutboundKind.REPLY,  # an answer to what the resident wrote at night
    }
    queue.clock.now = datetime.fromisoformat("2026-11-29T05:59:00+07:00")
    assert await queue.drainer.drain_once() == 0
    queue.clock.now = datetime.fromisoformat("2026-11-29T06:00:00+07:00")
    assert await queue.drainer.drain_once() == 3  # announcement, survey, feedback: morning
    assert {queue.row(i).status for i in ids.values()} == {OutboundStatus.SENT}


async def test_who_said_berhenti_gets_reminders_but_no_announcements(queue: Queue) -> None:
    siti = queue.resident(SITI, opted_out=True)
    news = queue.put(siti, "Pengumuman: pasar murah", OutboundKind.ANNOUNCEMENT)
    survey = queue.put(siti, "Survei kepuasan", OutboundKind.SURVEY)
    reminder = queue.put(siti, "Pengingat: pemeriksaan kesehatan besok", OutboundKind.REMINDER)
    assert await queue.drainer.drain_once() == 1
    assert queue.texts(SITI) == ["Pengingat: pemeriksaan kesehatan besok"]
    assert queue.row(reminder).status == OutboundStatus.SENT
    for skipped in (news, survey):  # cancelled with the reason, not left waiting for ever
        assert queue.row(skipped).status == OutboundStatus.CANCELLED
        assert queue.row(skipped).last_error == OPTED_OUT
    queue.clock.advance(days=1)
    assert await queue.drainer.drain_once() == 0


async def test_a_429_puts_the_message_back_for_retry_after_and_pauses_the_channel(
    queue: Queue,
) -> None:
    siti, budi = queue.resident(SITI), queue.resident(BUDI)
    queue.fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    first = queue.put(siti, "Pesan pertama")
    start = queue.clock()
    assert await queue.drainer.drain_once() == 1
    row = queue.row(first)
    assert row.status == OutboundStatus.PENDING
    assert row.not_before == start + timedelta(seconds=7)
    assert row.attempts == 0  # being told to slow down is not a failed try
    assert "retry after 7" in row.last_error
    second = queue.put(budi, "Pesan kedua")  # another chat: the whole channel waits
    queue.clock.advance(seconds=6)
    assert await queue.drainer.drain_once() == 0
    assert queue.row(second).status == OutboundStatus.PENDING
    queue.clock.advance(seconds=1)
    assert await queue.drainer.drain_once() == 2
    assert queue.texts(SITI) == ["Pesan pertama"] and queue.texts(BUDI) == ["Pesan kedua"]
    assert queue.row(first).attempts == 1
    assert len(queue.fake.calls("sendMessage")) == 3  # the refused one, then one each


async def test_sends_not_yet_handed_over_wait_out_a_429(queue: Queue, database, clock) -> None:
    # one send at a time: the first gets the 429, the others must not be tried meanwhile
    drainer = new_drainer(queue.channel, database, clock, Limits(in_flight=1, rate=1000))
    try:
        ids = [queue.put(queue.resident(3000 + n), f"Pesan {n}") for n in range(3)]
        queue.fake.fail_next("sendMessage", error_code=429, description="Too Many", retry_after=3)
        assert await drainer.drain_once() == 3
        assert len(queue.fake.calls("sendMessage")) == 1
        rows = [queue.row(i) for i in ids]
        assert {row.status for row in rows} == {OutboundStatus.PENDING}
        assert {row.not_before for row in rows} == {clock() + timedelta(seconds=3)}
        assert {row.attempts for row in rows} == {0}
        clock.advance(seconds=3)
        assert await drainer.drain_once() == 3
        assert sorted(queue.fake.sent_texts()) == ["Pesan 0", "Pesan 1", "Pesan 2"]
    finally:
        drainer.close()


@pytest.mark.parametrize(
    ("code", "description", "reason"),
    [
        (403, BLOCKED, BLOCKED),
        (403, "Forbidden: user is deactivated", "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found", "Chat not found"),
    ],
)
async def test_an_account_that_cannot_be_reached_is_marked_and_its_messages_given_up(
    queue: Queue, database, code: int, description: str, reason: str
) -> None:
    siti, budi = queue.resident(SITI), queue.resident(BUDI)
    first = queue.put(siti, "Pengingat 1")
    second = queue.put(siti, "Pengingat 2")  # waits for the chat's turn
    later = queue.put(siti, "Pengingat 3", not_before=queue.clock() + timedelta(days=1))
    other = queue.put(budi, "Untuk Budi")
    queue.fake.fail_next("sendMessage", error_code=code, description=description, chat_id=SITI)
    assert await queue.drainer.drain_once() == 3
    for outbound_id in (first, second, later):
        row = queue.row(outbound_id)
        assert (row.status, row.last_error) == (OutboundStatus.FAILED, reason)
    assert queue.row(other).status == OutboundStatus.SENT
    identities = ChannelIdentity.__table__
    with database.connect() as db:
        unreachable = db.execute(
            select(identities.c.external_id, identities.c.unreachable_at)
        ).all()
    assert dict(unreachable) == {str(SITI): queue.clock(), str(BUDI): None}
    with database.begin() as db:  # nothing more is queued for an account that is gone
        assert (
            outbox.enqueue(db=db, resident_id=siti, kind="status", text="x", now=queue.clock())
            is None
        )
    queue.clock.advance(days=2)
    assert await queue.drainer.drain_once() == 0
    assert queue.texts(SITI) == []


async def test_server_errors_are_retried_with_backoff_then_given_up(queue: Queue) -> None:
    siti = queue.resident(SITI)
    flaky = queue.put(siti, "Status permohonan berubah", OutboundKind.STATUS)
    fine = queue.put(queue.resident(BUDI), "Untuk Budi")
    waits = []
    for attempt in range(1, 5):
        # a lone 502 between answers: counted as a failed try (the others go well)
        queue.fake.fail_next(
            "sendMessage", error_code=502, description="Bad Gateway", chat_id=SITI
        )
        if attempt > 1:
            queue.put(queue.resident(BUDI + attempt), f"Lain {attempt}")
        assert await queue.drainer.drain_once() >= 1
        row = queue.row(flaky)
        assert (row.status, row.attempts) == (OutboundStatus.PENDING, attempt)
        waits.append(row.not_before - queue.clock())
        assert await queue.drainer.drain_once() == 0  # not before its time
        queue.clock.now = row.not_before
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    queue.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", chat_id=SITI)
    assert await queue.drainer.drain_once() == 1
    row = queue.row(flaky)
    assert (row.status, row.attempts, row.last_error) == (OutboundStatus.FAILED, 5, "Bad Gateway")
    assert queue.texts(SITI) == []
    assert queue.row(fine).status == OutboundStatus.SENT
    assert not queue.drainer.in_outage()


async def test_a_run_of_server_errors_is_an_outage_that_keeps_the_tries(queue: Queue) -> None:
    siti = queue.resident(SITI)
    flaky = queue.put(siti, "Status permohonan berubah", OutboundKind.STATUS)
    queue.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=22)
    for attempt in range(1, 3):  # the first two count, as a lone 502 does
        assert await queue.drainer.drain_once() == 1
        assert queue.row(flaky).attempts == attempt
        queue.clock.now = queue.row(flaky).not_before
    for _probe in range(20):  # the third in a row: Telegram is away; the probes keep its tries
        assert await queue.drainer.drain_once() == 1
        assert queue.drainer.in_outage()
        row = queue.row(flaky)
        assert (row.status, row.attempts) == (OutboundStatus.PENDING, 2)
        assert row.not_before - queue.clock() <= timedelta(seconds=60)
        queue.clock.now = row.not_before
    assert await queue.drainer.drain_once() == 1  # the 23rd: Telegram answers again
    row = queue.row(flaky)
    assert (row.status, row.attempts) == (OutboundStatus.SENT, 3)
    assert queue.texts(SITI) == ["Status permohonan berubah"]
    assert not queue.drainer.in_outage()


async def test_a_network_error_then_success(queue: Queue) -> None:
    siti = queue.resident(SITI)
    flaky = queue.put(siti, "Selamat, kursi tersedia", OutboundKind.PROMOTION)
    queue.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=2)
    for _ in range(3):
        await queue.drainer.drain_once()
        queue.clock.now = max(queue.clock.now, queue.row(flaky).not_before)
    row = queue.row(flaky)
    assert (row.status, row.attempts) == (OutboundStatus.SENT, 3)
    assert queue.texts(SITI) == ["Selamat, kursi tersedia"]


def test_telegram_errors_become_what_the_queue_does() -> None:
    assert isinstance(queue_error(RetryAfter(12)), RetryLater)
    assert queue_error(RetryAfter(12)).seconds == 12
    assert isinstance(queue_error(Forbidden(BLOCKED)), Unreachable)
    assert isinstance(queue_error(BadRequest("Bad Request: chat not found")), Unreachable)
    assert isinstance(queue_error(BadRequest("Bad Request: user is deactivated")), Unreachable)
    too_long = queue_error(BadRequest("Bad Request: message is too long"))
    assert isinstance(too_long, SendFailed) and not too_long.transient
    bad_gateway = queue_error(NetworkError("Bad Gateway"))  # Telegram answered: safe again
    assert isinstance(bad_gateway, SendFailed) and bad_gateway.transient
    assert bad_gateway.server_error  # a run of them is an outage
    for never_left in (
        httpx.ConnectError("refused"),  # also a failed DNS lookup
        httpx.ConnectTimeout("no connection in time"),
        httpx.PoolTimeout("no free connection"),
    ):
        error = (TimedOut if isinstance(never_left, httpx.TimeoutException) else NetworkError)(
            "httpx"
        )
        error.__cause__ = never_left
        assert isinstance(queue_error(error), Unavailable)  # Telegram out of reach: a pause
    # the request left and no answer came: it may have arrived, and goes again as a doubt
    assert isinstance(queue_error(TimedOut()), Unknown)
    for no_answer in (
        httpx.ReadError("connection reset"),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ):
        error = (TimedOut if isinstance(no_answer, httpx.TimeoutException) else NetworkError)(
            "httpx"
        )
        error.__cause__ = no_answer
        found = queue_error(error)
        assert isinstance(found, Unknown) and "may have arrived" in found.reason


async def test_one_message_a_second_per_chat(queue: Queue) -> None:
    siti, budi = queue.resident(SITI), queue.resident(BUDI)
    start = queue.clock()
    ids = [queue.put(siti, f"Siti {n}") for n in range(3)] + [queue.put(budi, "Budi 0")]
    assert await queue.drainer.drain_once() == 4
    assert queue.texts(SITI) == ["Siti 0"] and queue.texts(BUDI) == ["Budi 0"]
    waiting = [queue.row(i) for i in ids[1:3]]
    assert [row.not_before - start for row in waiting] == [timedelta(seconds=s) for s in (1, 2)]
    assert {row.attempts for row in waiting} == {0}
    queue.clock.advance(seconds=0.5)
    assert await queue.drainer.drain_once() == 0
    queue.clock.advance(seconds=0.5)
    assert await queue.drainer.drain_once() == 1
    queue.clock.advance(seconds=1)
    assert await queue.drainer.drain_once() == 1
    assert queue.texts(SITI) == ["Siti 0", "Siti 1", "Siti 2"]  # in order
    sent = [queue.row(i).sent_at for i in ids[:3]]
    assert [b - a for a, b in itertools.pairwise(sent)] == [timedelta(seconds=1)] * 2
    queue.put(siti, "Siti 3")  # a new one right after the last: its turn comes a second later
    assert await queue.drainer.drain_once() == 1
    assert queue.texts(SITI)[-1] == "Siti 2"
    queue.clock.advance(seconds=1)
    assert await queue.drainer.drain_once() == 1
    assert queue.texts(SITI)[-1] == "Siti 3"


async def test_a_long_message_is_split_and_options_become_buttons(queue: Queue) -> None:
    long_text = "\n\n".join(f"Paragraf {n}: " + "kata " * 150 for n in range(8))
    await queue.channel.deliver(str(SITI), long_text)
    parts = queue.texts(SITI)
    assert len(parts) == 2 and all(len(part) <= 4096 for part in parts)
    options = [{"key": f"rate:{n}", "label": str(n)} for n in range(1, 6)]
    await queue.channel.deliver(str(SITI), "Beri nilai 1-5", options)
    markup = queue.fake.calls("sendMessage")[-1].params["reply_markup"]
    keys = [button["callback_data"] for row in markup["inline_keyboard"] for button in row]
    assert keys == ["rate:1", "rate:2", "rate:3", "rate:4", "rate:5"]


async def test_the_console_prints_queued_messages() -> None:
    out = io.StringIO()
    sender = ConsoleSender(out)
    await sender.deliver("siti", "Pengingat: besok 08.00 di Kantor Kelurahan Klender")
    await sender.deliver("siti", "Beri nilai", [{"key": "r:1", "label": "Buruk"}])
    assert out.getvalue() == (
        "[message for siti] Pengingat: besok 08.00 di Kantor Kelurahan Klender\n"
        "[message for siti] Beri nilai\n  1. Buruk\n"
    )


async def test_a_stopped_drain_hands_back_what_it_had_not_sent(queue: Queue) -> None:
    ids = [queue.put(queue.resident(4000 + n), f"Pesan {n}") for n in range(3)]
    queue.drainer.stop()
    assert await queue.drainer.drain_once() == 0
    assert {queue.row(i).status for i in ids} == {OutboundStatus.PENDING}


class Recorder:
    """A sender that keeps what it was given."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def deliver(self, external_id: str, text: str, options=None, **_context) -> None:
        """Keep the message."""
        self.sent.append((external_id, text))


async def test_the_lease_lets_one_process_run_the_clock_and_drain(database, clock) -> None:
    ticks = {"a": 0, "b": 0}

    def tick_of(name: str):
        def tick(now: datetime) -> int:
            ticks[name] += 1
            return 0

        return tick

    first, second = Recorder(), Recorder()
    drain_a = Drainer(first, database, LIMITS, clock=clock)
    drain_b = Drainer(second, database, LIMITS, clock=clock)
    term = timedelta(seconds=90)
    beat_a = Beat(database, [drain_a], tick=tick_of("a"), holder="a", term=term, clock=clock)
    beat_b = Beat(database, [drain_b], tick=tick_of("b"), holder="b", term=term, clock=clock)
    try:
        queue = Queue(None, None, drain_a, database, clock)
        queue.put(queue.resident(SITI), "Satu")
        assert beat_a() is True and beat_b() is False
        assert ticks == {"a": 1, "b": 0}
        assert await drain_b.drain_once() == 0  # no lease, no sending
        assert await drain_a.drain_once() == 1
        clock.advance(seconds=30)
        assert beat_a() is True and beat_b() is False  # renewed: still a's
        queue.put(queue.resident(BUDI), "Dua")
        clock.advance(seconds=85)  # a stopped beating: its drain stops before its lease ends
        assert await drain_a.drain_once() == 0
        assert beat_b() is False  # a's lease still runs (renewed 85 s ago)
        clock.advance(seconds=6)
        assert beat_b() is True  # ran out: b takes over
        assert await drain_b.drain_once() == 1
        assert beat_a() is False and not drain_a.permitted(clock())
        assert ticks == {"a": 2, "b": 1}
        assert first.sent == [(str(SITI), "Satu")] and second.sent == [(str(BUDI), "Dua")]
        beat_b.release()  # a clean stop hands over at once
        assert beat_a() is True
    finally:
        drain_a.close()
        drain_b.close()


async def test_a_new_holder_sends_again_what_the_dead_one_left_in_flight(database, clock) -> None:
    sender = Recorder()
    queue = Queue(None, None, None, database, clock)
    left = queue.put(queue.resident(SITI), "Tertinggal")
    with database.begin() as db:  # the dead holder had claimed it
        outbox.claim(db=db, channel="telegram", now=clock(), quiet=False)
        leases.hold(
            db=db, name="outbound:telegram", holder="dead", now=clock(), term=timedelta(seconds=90)
        )
    drainer = Drainer(sender, database, LIMITS, clock=clock)
    beat = Beat(database, [drainer], tick=lambda now: 0, holder="new", clock=clock)
    try:
        beat()
        assert await drainer.drain_once() == 0
        clock.advance(seconds=90)
        beat()  # the dead holder's lease ran out, and the row is a term old: abandoned
        assert await drainer.drain_once() == 0
        assert queue.row(left).status == OutboundStatus.PENDING  # for two more terms
        clock.advance(seconds=90)
        beat()
        assert await drainer.drain_once() == 0
        clock.advance(seconds=90)
        beat()
        assert await drainer.drain_once() == 1
        assert sender.sent == [(str(SITI), "Tertinggal")]
        assert queue.row(left).status == OutboundStatus.SENT
        assert queue.row(left).doubts == 1  # it may have arrived from the dead holder too
    finally:
        drainer.close()


async def test_when_outcomes_cannot_be_written_no_more_than_in_flight_repeat(
    database, clock, monkeypatch
) -> None:
    recorder = Recorder()
    limits = Limits(
        rate=1000,
        chat_interval=timedelta(0),
        in_flight=2,
        max_attempts=5,
        backoff=timedelta(seconds=30),
        backoff_cap=timedelta(hours=1),
    )
    drainer = new_drainer(recorder, database, clock, limits)
    queue = Queue(None, None, drainer, database, clock)
    ids = [queue.put(queue.resident(5000 + n), f"Pesan {n}") for n in range(20)]

    def locked(**_kwargs) -> None:
        raise RuntimeError("database is locked")

    try:
        with monkeypatch.context() as patch:
            patch.setattr(outbox, "mark_sent", locked)
            with pytest.raises(RuntimeError):
                await drainer.drain_once()
        assert len(recorder.sent) <= 2  # only the sends in flight went out unrecorded
        for _round in range(5):
            await drainer.drain_once()
    finally:
        drainer.close()
    delivered = [text for _chat, text in recorder.sent]
    assert sorted(set(delivered)) == sorted(f"Pesan {n}" for n in range(20))
    assert len(delivered) - 20 <= 2
    assert {queue.row(i).status for i in ids} == {OutboundStatus.SENT}


async def test_a_reminder_held_up_past_its_event_is_never_sent(database, clock) -> None:
    recorder = Recorder()
    drainer = new_drainer(recorder, database, clock)
    queue = Queue(None, None, drainer, database, clock)
    siti = queue.resident(SITI)
    late = queue.put(siti, "Besok pembagian sembako", expires_at=clock() + timedelta(hours=1))
    timely = queue.put(siti, "Besok cek kesehatan", expires_at=clock() + timedelta(days=1))
    clock.advance(hours=2)  # the bot was down past the first event's start
    try:
        await drainer.drain_once()
    finally:
        drainer.close()
    assert [text for _chat, text in recorder.sent] == ["Besok cek kesehatan"]
    assert (queue.row(late).status, queue.row(late).last_error) == (
        OutboundStatus.EXPIRED,
        outbox.TOO_LATE,
    )
    assert queue.row(timely).status == OutboundStatus.SENT


async def test_stopping_the_clock_waits_for_a_running_job_without_blocking_the_loop() -> None:
    started, release = threading.Event(), threading.Event()

    def long_job() -> None:  # a housekeeping round or a beat still running at the stop
        started.set()
        release.wait(10)

    executors = clock_executors()
    scheduler = AsyncIOScheduler(timezone="Asia/Jakarta", executors=executors)
    scheduler.add_job(long_job, next_run_time=datetime.now(UTC))
    scheduler.start()
    assert await asyncio.to_thread(started.wait, 10)
    # a stop that blocked the loop would hold it until this watchdog lets the job end
    watchdog = threading.Timer(5, release.set)
    watchdog.start()
    try:
        stopping = asyncio.create_task(stop_clock(scheduler, executors))
        for _ in range(10):
            await asyncio.sleep(0)  # the loop goes on: other work is served
        assert not stopping.done()
        assert not release.is_set()
        release.set()
        await asyncio.wait_for(stopping, 10)
    finally:
        watchdog.cancel()
    assert not scheduler.running
