"""Rounds of applications and the reminders that are withdrawn or moved after being queued: the
last day shown, "remind me" before it, no applications after it (also for a form finished after
the close), `application deadline` for staff; and a queued reminder that is withdrawn when its
enrolment is cancelled, or re-armed when its pickup moves."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select

from bot.__main__ import parse_args, run_staff_command
from bot.settings import Settings
from handlers.engine import Engine
from storage import reminders, rounds
from storage import staff as accounts
from storage.applications import Application, Kind
from storage.outbox import OutboundKind, OutboundStatus
from storage.reminders import ReminderStatus, Subject
from storage.staff import PARTNERS_FILE
from storage.types import utcnow
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.helpers import Chat, Clock
from tests.test_applications_flow import SCHOLARSHIP_EN
from tests.test_registration import HAPPY_EN, HAPPY_ID
from tests.test_reminders import (
    ask_for_sembako_reminder,
    enrol_small,
    outbound,
    stored_reminders,
    tick,
)

ZONE = "Asia/Jakarta"
# the scholarship round of the tests takes applications until Thursday 31 December 2026
LAST_DAY = date(2026, 12, 31)
THREE_DAYS_BEFORE = datetime(2026, 12, 28, 11, 0, tzinfo=UTC)  # Monday 18.00 WIB
LAST_MORNING = datetime(2026, 12, 31, 1, 0, tzinfo=UTC)  # Thursday 08.00 WIB


def open_round(database: Database, clock: Clock, kind: Kind, last_day: date) -> rounds.Round:
    """Set the last day of a round, as staff do."""
    with database.begin() as db:
        found, _old = rounds.set_deadline(
            db=db,
            kind=kind,
            closes_at=rounds.end_of(last_day, ZONE),
            login="petugas",
            now=clock(),
        )
    return found


@pytest.fixture
def scholarship_round(database: Database, clock: Clock) -> rounds.Round:
    """Scholarship applications until 31 December 2026, capital until 15 January 2027."""
    open_round(database, clock, Kind.CAPITAL, date(2027, 1, 15))
    return open_round(database, clock, Kind.SCHOLARSHIP, LAST_DAY)


async def test_the_last_day_is_shown_and_a_reminder_comes_before_it_until_one_applies(
    chat: Chat, database, clock, scholarship_round
) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Scholarships & capital")
    assert "Scholarship applications are taken until Thursday, 31 December 2026." in chat.text
    assert "Business-capital applications are taken until Friday, 15 January 2027." in chat.text
    assert "Remind me: scholarship" in chat.labels
    await chat.tap(f"apply:remind:{scholarship_round.id}")
    assert (
        "Noted. We will remind you on Monday, 28 December 2026 18.00 WIB and Thursday, "
        "31 December 2026 08.00 WIB." in chat.text
    )
    assert "Apply here for:" in chat.text  # back at the choice, to apply now if they like
    await chat.tap(f"apply:remind:{scholarship_round.id}")
    assert "You already asked for this reminder" in chat.text
    await chat.send("Main menu")
    await chat.send("My reminders")
    assert "about the last day of scholarship applications (Thursday, 31 December" in chat.text
    made = stored_reminders(database, Subject.ROUND)
    assert [item.remind_at for item in made] == [THREE_DAYS_BEFORE, LAST_MORNING]

    clock.now = THREE_DAYS_BEFORE
    assert tick(database, clock) == 1
    [sent] = outbound(database, OutboundKind.REMINDER)
    assert sent.text.startswith(
        "Reminder: Scholarship applications close after Thursday, 31 December 2026."
    )
    assert "choose “Scholarships & capital” in the menu" in sent.text
    assert (sent.subject, sent.subject_id) == (Subject.ROUND, scholarship_round.id)

    await chat.send("menu")
    await chat.run(SCHOLARSHIP_EN)
    await chat.send("Submit")
    assert "Reference number: BSW-2026-000001" in chat.text
    clock.now = LAST_MORNING  # applied: the last reminder has nothing left to remind of
    assert tick(database, clock) == 0
    assert [item.status for item in stored_reminders(database, Subject.ROUND)] == [
        ReminderStatus.QUEUED,
        ReminderStatus.CANCELLED,
    ]


async def test_a_closed_round_takes_no_applications_even_from_a_form_filled_in_before(
    engine: Engine, database, clock
) -> None:
    clock.now = datetime(2026, 11, 28, 16, 40, tzinfo=UTC)  # Saturday 23.40 WIB
    open_round(database, clock, Kind.SCHOLARSHIP, date(2026, 11, 28))
    budi, siti = Chat(engine, "budi"), Chat(engine, "siti")
    await budi.run(HAPPY_EN)
    await budi.run(SCHOLARSHIP_EN)  # filled in on the last evening, submitted after midnight
    clock.now = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # Sunday 00.00 WIB: closed
    await budi.send("Submit")
    assert "Scholarship applications closed after Saturday, 28 November 2026." in budi.text
    with database.connect() as db:
        assert db.execute(select(Application)).first() is None

    await siti.run(HAPPY_ID)
    await siti.send("Beasiswa & modal usaha")
    assert "sampai" not in siti.text.split("\n")[-1]  # no open round to show
    assert not any(key.startswith("apply:remind:") for key in siti.keys)
    await siti.send("Beasiswa untuk anak")
    assert "Pendaftaran beasiswa ditutup setelah Sabtu, 28 November 2026." in siti.text
    assert "Beasiswa untuk anak" in siti.labels  # still at the choice: capital or status remain


async def test_an_old_remind_button_of_a_closed_round_says_so_where_the_resident_is(
    chat: Chat, database, clock
) -> None:
    clock.now = datetime(2026, 11, 28, 16, 40, tzinfo=UTC)  # Saturday 23.40 WIB
    found = open_round(database, clock, Kind.SCHOLARSHIP, date(2026, 11, 28))
    await chat.run(HAPPY_EN)
    await chat.send("Scholarships & capital")
    assert f"apply:remind:{found.id}" not in chat.keys  # no reminder time is left before it
    await chat.send("Business capital")
    assert "What kind of business do you run?" in chat.text
    clock.now = datetime(2026, 11, 28, 17, 5, tzinfo=UTC)  # closed five minutes ago
    await chat.tap(f"apply:remind:{found.id}")  # from an older message
    assert chat.text.startswith("That round of applications has closed.")
    assert chat.text.endswith("What kind of business do you run?")  # where they were
    await chat.tap("apply:remind:12x")  # no key we made: a stale button
    assert chat.text.startswith("That button is from an old message")
    assert stored_reminders(database, Subject.ROUND) == []


# -- staff: application deadline -----------------------------------------------------------------


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """Settings that point the commands at the test database, with the shipped accounts."""
    with database.begin() as db:
        accounts.load(db=db, source=PARTNERS_FILE, now=utcnow())
    url = TEST_DATABASE_URL or database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=tmp_path / "data", nik_pepper=TEST_KEY.decode())


def cli(settings: Settings, *args: str) -> int:
    """Run a staff command in this process, as `python -m bot` parses it."""
    return run_staff_command(settings, parse_args(list(args)))


async def test_staff_set_and_move_a_deadline_and_who_asked_for_a_reminder_is_told(
    engine: Engine, settings, database, clock, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("STAFF_LOGIN", raising=False)
    # the command runs on the real clock: days from today on, and the chat on the same clock
    clock.now = utcnow()
    first = date.today() + timedelta(days=40)
    later = first + timedelta(days=14)
    assert cli(settings, "application", "deadline", "beasiswa", first.isoformat()) == 2
    assert "--as LOGIN" in capsys.readouterr().err
    assert cli(settings, "application", "deadline", "modal", str(first), "--as", "ypp") == 2
    assert "partner account" in capsys.readouterr().err
    yesterday = (date.today() - timedelta(days=1)).strftime("%d/%m/%Y")
    assert cli(settings, "application", "deadline", "bsw", yesterday, "--as", "petugas") == 2
    assert "has passed" in capsys.readouterr().err
    with database.connect() as db:
        assert rounds.current(db=db, kind=Kind.SCHOLARSHIP) is None

    assert cli(settings, "application", "deadline", "beasiswa", str(first), "--as", "petugas") == 0
    assert f"open until {first.isoformat()}" in capsys.readouterr().out
    chat = Chat(engine, "budi")
    await chat.run(HAPPY_EN)
    await chat.send("Scholarships & capital")
    key = next(key for key in chat.keys if key.startswith("apply:remind:"))
    await chat.tap(key)
    before = [item.remind_at for item in stored_reminders(database, Subject.ROUND)]

    assert cli(settings, "application", "deadline", "beasiswa", str(later), "--as", "petugas") == 0
    out = capsys.readouterr().out
    assert f"Beasiswa applications are now taken until {later.isoformat()}." in out
    assert "1 resident(s) who asked for a reminder will be told." in out
    after = [item.remind_at for item in stored_reminders(database, Subject.ROUND)]
    assert [at - was for at, was in zip(after, before, strict=True)] == [timedelta(days=14)] * 2
    [told] = outbound(database, OutboundKind.REMINDER)
    assert told.text.startswith("Change: Scholarship applications are now taken until")
    with database.connect() as db:
        assert db.execute(select(rounds.ApplicationRound)).all()[0].set_by == "petugas"
        assert len(db.execute(select(rounds.ApplicationRound)).all()) == 1  # the same round


# -- reminders queued, then withdrawn or moved -----------------------------------------------


async def test_a_reminder_queued_but_not_sent_is_withdrawn_with_its_enrolment(
    chat: Chat, database, clock
) -> None:
    from storage.demo import seed_training

    with database.begin() as db:
        seed_training(db=db, now=clock())
    await enrol_small(chat, database, "Ani Lestari")
    first = stored_reminders(database, Subject.SESSION)[0]
    clock.now = first.remind_at
    assert tick(database, clock) == 1
    [queued] = outbound(database, OutboundKind.REMINDER)
    assert queued.status == OutboundStatus.PENDING  # the drain has not taken it yet
    await chat.send("menu")  # days later: the conversation starts again from the menu
    await chat.send("Skills training")
    await chat.tap("training:mine")
    await chat.tap(next(key for key in chat.keys if key.startswith("training:cancel:")))
    await chat.send("yes")
    assert "is cancelled" in chat.text
    [withdrawn] = outbound(database, OutboundKind.REMINDER)
    assert withdrawn.status == OutboundStatus.CANCELLED
    assert "cancelled" in withdrawn.last_error


async def test_a_pickup_moved_after_its_reminder_was_queued_withdraws_it_and_reminds_again(
    engine: Engine, database, clock
) -> None:
    from storage.demo import seed_distributions

    with database.begin() as db:
        seed_distributions(db=db, today=clock().date(), now=clock())
    siti = Chat(engine, "siti")
    await ask_for_sembako_reminder(siti)
    evening, morning = stored_reminders(database, Subject.DISTRIBUTION)
    clock.now = evening.remind_at
    assert tick(database, clock) == 1
    [queued] = outbound(database, OutboundKind.REMINDER)
    week = timedelta(days=7)
    start = morning.remind_at + timedelta(hours=1, minutes=30)  # 08.00 WIB
    with database.begin() as db:
        held = reminders.move(
            db=db,
            subject=Subject.DISTRIBUTION,
            subject_id=evening.subject_id,
            old_start=start,
            new_start=start + week,
            zone=ZONE,
            now=clock(),
        )
    assert held == [evening.resident_id]  # the caller tells her of the new day
    [withdrawn] = outbound(database, OutboundKind.REMINDER)
    assert (withdrawn.id, withdrawn.status) == (queued.id, OutboundStatus.CANCELLED)
    moved = stored_reminders(database, Subject.DISTRIBUTION)
    assert [(item.remind_at, item.status) for item in moved] == [
        (evening.remind_at + week, ReminderStatus.PENDING),  # armed again for the new evening
        (morning.remind_at + week, ReminderStatus.PENDING),
    ]
