"""Durability of the real program, from outside (tests/durability_harness.py, also run by
bench/durability.py): `python -m bot run` is SIGKILLed while residents write, on each way a
message comes in, and started again: every message is answered, and one answered twice only
where the program itself counted the send as maybe doubled (it was in flight at the kill, so
its outcome was unknown). And a process frozen while it drains the queue (PostgreSQL: two
processes) sends nothing more when it wakes after another took its lease over, and nothing
twice but a send whose outcome it could not know."""

import os

import pytest

from tests.durability_harness import Options, Tally, run_scenario

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
RESIDENTS = 40
IN_FLIGHT = 8  # OUTBOUND_IN_FLIGHT's default: the sends between handed over and recorded
KILL_AFTER = 0.2  # with 40 residents, most are still in hand then


def options(tmp_path) -> Options:
    """A few residents, on TEST_DATABASE_URL or a new SQLite file; logs kept in tmp_path."""
    return Options(RESIDENTS, TEST_DATABASE_URL, tmp_path / "logs", kill_after=KILL_AFTER)


def assert_none_lost(tally: Tally) -> None:
    """Every message answered (every row delivered); a repeat only where the program counted
    the send as maybe doubled."""
    assert (tally.sent, tally.lost) == (RESIDENTS, 0), tally.row()
    assert tally.answered == RESIDENTS
    assert tally.doubled <= tally.maybe_doubled, tally.row()


async def test_killed_while_residents_write_by_telegram_polling(tmp_path) -> None:
    assert_none_lost(await run_scenario("crash-telegram-polling", options(tmp_path)))


async def test_killed_while_residents_write_by_telegram_webhook(tmp_path) -> None:
    assert_none_lost(await run_scenario("crash-telegram-webhook", options(tmp_path)))


async def test_killed_while_residents_write_by_whatsapp(tmp_path) -> None:
    assert_none_lost(await run_scenario("crash-whatsapp", options(tmp_path)))


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="two processes need PostgreSQL")
async def test_a_frozen_lease_holder_sends_nothing_more_and_repeats_only_its_doubts(
    tmp_path,
) -> None:
    # more rows than one claim's batch (64), so that the other process has rows of its own to
    # take while the holder is frozen with its batch in hand
    queued = 200
    tally = await run_scenario(
        "frozen-holder", Options(queued, TEST_DATABASE_URL, tmp_path / "logs")
    )
    assert tally.taken_over, tally.row()  # the other process drained while it was frozen
    assert (tally.sent, tally.answered, tally.lost) == (queued, queued, 0), tally.row()
    # what it had recorded, or recorded on waking, never went again, and it handed nothing
    # more over; a send in flight whose answer it did not read before its timeout ran out in
    # the freeze is a doubt (it may have arrived): at most the sends in flight
    assert tally.doubled <= tally.maybe_doubled <= IN_FLIGHT, tally.row()
