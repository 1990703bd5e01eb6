"""Durability of the real program, from outside (tests/durability_harness.py, also run by
bench/durability.py): `python -m bot run` is SIGKILLed while residents write, on each way a
message comes in, and started again: every message is answered, and one answered twice only
where the program itself counted the send as maybe doubled (it was in flight at the kill, so
its outcome was unknown). And a process frozen while it drains the queue (PostgreSQL: two
processes) sends nothing twice when it wakes after another took its lease over."""

import os

import pytest

from tests.durability_harness import Options, Tally, run_scenario

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
RESIDENTS = 40
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


def assert_none_lost_or_doubled(tally: Tally) -> None:
    """Every message answered (every row delivered), none twice."""
    assert (tally.sent, tally.lost, tally.doubled) == (RESIDENTS, 0, 0), tally.row()
    assert tally.answered == RESIDENTS


async def test_killed_while_residents_write_by_telegram_polling(tmp_path) -> None:
    assert_none_lost(await run_scenario("crash-telegram-polling", options(tmp_path)))


async def test_killed_while_residents_write_by_telegram_webhook(tmp_path) -> None:
    assert_none_lost(await run_scenario("crash-telegram-webhook", options(tmp_path)))


async def test_killed_while_residents_write_by_whatsapp(tmp_path) -> None:
    assert_none_lost(await run_scenario("crash-whatsapp", options(tmp_path)))


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="two processes need PostgreSQL")
@pytest.mark.xfail(
    reason="issue 17: passes in about half the runs on this 2-core machine; being looked into",
    strict=False,
)
async def test_a_frozen_lease_holder_sends_nothing_twice(tmp_path) -> None:
    tally = await run_scenario("frozen-holder", options(tmp_path))
    assert_none_lost_or_doubled(tally)
    assert tally.maybe_doubled == 0
