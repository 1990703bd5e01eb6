"""The outbound queue in the real program: `python -m bot run` drains a queue of a few hundred
messages to the fake Bot API server, is killed (SIGKILL) in the middle, and started again.
Everything arrives; what arrives twice is at most the messages in flight at the kill."""

import asyncio
import signal
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from storage import outbox, residents
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.types import utcnow
from tests.fake_telegram import FakeBotAPI

CHATS = 150
PER_CHAT = 2  # the second waits a second for its chat's turn
IN_FLIGHT = 8  # OUTBOUND_IN_FLIGHT: the documented bound of repeats


def queue_messages(database) -> set[str]:
    """Queue PER_CHAT reminders to each of CHATS Telegram residents; return their texts."""
    now = utcnow()  # the program runs on the real clock
    texts = set()
    with database.begin() as db:
        for chat in range(CHATS):
            profile, _identity = residents.create_resident(
                db=db, channel="telegram", external_id=str(50_000 + chat), language="id", now=now
            )
            for number in range(PER_CHAT):
                text = f"Pengingat {chat}-{number}"
                outbox.enqueue(
                    db=db, resident_id=profile.id, kind=OutboundKind.REMINDER, text=text, now=now
                )
                texts.add(text)
    return texts


def statuses(database) -> dict[str, str]:
    """Return each queued message's status by its text."""
    table = Outbound.__table__
    with database.connect() as db:
        return dict(db.execute(select(table.c.text, table.c.status)).all())


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start `python -m bot run`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_killed_in_the_middle_of_draining_it_loses_nothing(environment, database) -> None:
    texts = queue_messages(database)
    async with FakeBotAPI() as fake:
        env = {
            **environment,
            "TELEGRAM_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "CLOCK_LEASE_SECONDS": "3",  # the dead process's lease runs out 3 s after it died
            "TELEGRAM_RATE": "60",
            "OUTBOUND_IN_FLIGHT": str(IN_FLIGHT),
            "LOG_LEVEL": "INFO",
        }

        def delivered() -> list[str]:
            return [text for text in fake.sent_texts() if text in texts]

        first = await start(env)
        try:
            await fake.wait_for(lambda f: len(delivered()) >= CHATS // 2, timeout=60)
        finally:
            first.kill()
            _out, first_err = await first.communicate()
        at_kill = statuses(database)
        assert len(delivered()) < len(texts)  # killed in the middle
        in_flight = {text for text, status in at_kill.items() if status == OutboundStatus.SENDING}
        recorded = {text for text, status in at_kill.items() if status == OutboundStatus.SENT}

        second = await start(env)
        try:
            await fake.wait_for(lambda f: set(delivered()) == texts, timeout=60)
            await fake.wait_for(
                lambda f: set(statuses(database).values()) == {OutboundStatus.SENT}, timeout=10
            )
        finally:
            second.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(second.communicate(), timeout=30)
    assert second.returncode == 0, err.decode()
    assert b"Traceback" not in first_err + err
    assert b"Pengingat" not in first_err + err  # no message text in the logs
    counts = Counter(delivered())
    assert set(counts) == texts  # nothing lost
    twice = {text for text, count in counts.items() if count > 1}
    assert max(counts.values()) <= 2
    assert len(twice) <= IN_FLIGHT  # the documented bound
    assert twice <= in_flight  # only what was in flight when the process died...
    assert not twice & recorded  # ...and never what had been recorded as sent
