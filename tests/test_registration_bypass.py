"""No way past registration: an old consent button counts only at the privacy question, and
storage refuses a booking, an enrolment or an application for a resident without a complete
profile, which the flows turn into "register first, then come straight back"."""

import pytest
from sqlalchemy import func, select, update

from storage import applications, health, training
from storage.applications import Application, Kind
from storage.demo import seed_health, seed_training
from storage.health import HealthBooking
from storage.residents import ChannelIdentity, ProfileIncomplete, Resident
from storage.training import Enrolment
from tests.helpers import Chat
from tests.test_applications_flow import CAPITAL_EN, SCHOLARSHIP_EN
from tests.test_health_flow import CHECK
from tests.test_registration import HAPPY_EN
from tests.test_training_flow import enrol_in_small
from tests.test_training_storage import add_resident

STALE = "That button is from an old message and no longer applies."
ASK_NAME = "What is your full name, as on your KTP?"
REGISTER_FIRST = "For this we need your name, kelurahan and RW"
NEW_RESIDENT = [
    ("hello", "Please choose your language:"),
    ("English", "Do you agree?"),
]


@pytest.fixture
def services(database, clock) -> None:
    """Load the demo health checks and courses."""
    with database.begin() as db:
        seed_health(db=db, now=clock())
        seed_training(db=db, now=clock())


def count(database, table) -> int:
    """Return how many rows a table holds."""
    with database.connect() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


def forget_profile(database, external_id: str) -> None:
    """Empty a resident's name, kelurahan and RW behind the conversation's back (as if the
    profile had never been completed), keeping the consent."""
    with database.begin() as db:
        resident_id = db.execute(
            select(ChannelIdentity.resident_id).where(ChannelIdentity.external_id == external_id)
        ).scalar_one()
        db.execute(
            update(Resident)
            .where(Resident.id == resident_id)
            .values(name=None, kelurahan_code=None, rw=None)
        )


async def test_an_old_consent_button_at_the_name_question_skips_nothing(
    chat: Chat, services, database
) -> None:
    """The reproduction of the issue: decline, open a check, agree, then tap "I agree" again."""
    await chat.run(NEW_RESIDENT)
    await chat.tap("consent:no")
    assert "That is fine." in chat.text
    await chat.send("Free health checks")
    await chat.tap("kind:check")
    await chat.tap(f"tp:{CHECK}")
    await chat.send("1")
    assert REGISTER_FIRST in chat.text and "Do you agree?" in chat.text
    await chat.tap("consent:yes")
    assert ASK_NAME in chat.text
    await chat.tap("consent:yes")  # the same button, on the notice a message up
    assert chat.text.startswith(STALE) and chat.text.endswith(ASK_NAME)
    assert count(database, HealthBooking) == 0
    await chat.run(HAPPY_EN[3:])  # and once registered, straight back to the booking
    assert "Book “Free blood pressure and blood sugar check” for Budi Santoso" in chat.text
    await chat.send("Yes, book it")
    assert "Booked:" in chat.text and count(database, HealthBooking) == 1


@pytest.mark.parametrize("service", ["Scholarship for a child", "Business capital"])
async def test_an_old_consent_button_does_not_open_an_application(
    chat: Chat, database, service
) -> None:
    await chat.run(NEW_RESIDENT)
    await chat.tap("consent:no")
    await chat.send("Scholarships & capital")
    await chat.send(service)
    assert REGISTER_FIRST in chat.text
    await chat.tap("consent:yes")
    assert ASK_NAME in chat.text
    await chat.tap("consent:yes")
    assert chat.text.startswith(STALE) and chat.text.endswith(ASK_NAME)
    assert "What kind of business" not in chat.text and "child's full name" not in chat.text


async def test_withdrawing_consent_by_an_old_button_still_works(chat: Chat) -> None:
    await chat.run(HAPPY_EN[:3])
    await chat.tap("consent:no")  # "I do not agree", from the notice a few messages up
    assert "That is fine." in chat.text


@pytest.mark.parametrize("key", ["consent:yes", "consent:more"])
async def test_an_old_consent_answer_other_than_no_is_stale_after_registration(
    chat: Chat, key: str
) -> None:
    await chat.run(HAPPY_EN)
    await chat.tap(key)
    assert chat.text.startswith(STALE) and "Main menu" in chat.text


# -- storage refuses, the flows send the resident to register --------------------------------


def test_storage_refuses_a_resident_without_a_complete_profile(database, clock, services):
    with database.begin() as db:
        nobody = add_resident(db, "nobody", clock.now, registered=False)
        slot = health.upcoming_events(db=db, kind=health.EventKind.CHECK, now=clock.now)[0]
        slot_id = health.open_slots(db=db, event_id=slot[0].id, now=clock.now)[0].id
        batch = training.open_batches(db=db, now=clock.now)[0].id
    attempts = [
        lambda db: health.book(db=db, slot_id=slot_id, resident_id=nobody, now=clock.now),
        lambda db: training.enrol(db=db, batch_id=batch, resident_id=nobody, now=clock.now),
        lambda db: applications.submit(
            db=db,
            kind=Kind.SCHOLARSHIP,
            resident_id=nobody,
            details={},
            screening={},
            partner_code=None,
            year=2026,
            now=clock.now,
        ),
    ]
    for attempt in attempts:
        with database.begin() as db, pytest.raises(ProfileIncomplete):
            attempt(db)
    # a name alone is not enough either, nor a missing resident
    with database.begin() as db:
        db.execute(
            update(Resident).where(Resident.id == nobody).values(name="Ani", consent_at=clock.now)
        )
    for resident_id in (nobody, 999_999):
        with database.begin() as db, pytest.raises(ProfileIncomplete):
            training.enrol(db=db, batch_id=batch, resident_id=resident_id, now=clock.now)
    assert count(database, HealthBooking) == count(database, Enrolment) == 0
    assert count(database, Application) == 0


async def test_a_booking_for_a_profile_gone_incomplete_asks_to_register(
    chat: Chat, services, database
) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Free health checks")
    await chat.tap("kind:check")
    await chat.tap(f"tp:{CHECK}")
    await chat.send("1")
    assert "Book “Free blood pressure and blood sugar check”" in chat.text
    forget_profile(database, chat.external_id)
    await chat.send("Yes, book it")
    assert REGISTER_FIRST in chat.text and ASK_NAME in chat.text
    assert count(database, HealthBooking) == 0
    await chat.run(HAPPY_EN[3:])
    assert "Book “Free blood pressure and blood sugar check” for Budi Santoso" in chat.text


async def test_an_enrolment_for_a_profile_gone_incomplete_asks_to_register(
    chat: Chat, services, database
) -> None:
    await chat.run(HAPPY_EN)
    await enrol_in_small(chat, database)
    assert "Enrol Budi Santoso in" in chat.text
    forget_profile(database, chat.external_id)
    await chat.send("yes")
    assert REGISTER_FIRST in chat.text and ASK_NAME in chat.text
    assert count(database, Enrolment) == 0


@pytest.mark.parametrize(
    "transcript",
    [SCHOLARSHIP_EN, [*CAPITAL_EN, ("No", "Please check")]],
    ids=["scholarship", "capital"],
)
async def test_an_application_for_a_profile_gone_incomplete_asks_to_register(
    chat: Chat, database, transcript
) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(transcript)
    forget_profile(database, chat.external_id)
    await chat.send("Submit")
    assert REGISTER_FIRST in chat.text and ASK_NAME in chat.text
    assert count(database, Application) == 0
    await chat.run(HAPPY_EN[3:-1])
    await chat.send("Skip")
    assert "Please check:" in chat.text  # back at the summary, with the answers kept
    await chat.send("Submit")
    assert "Reference number:" in chat.text and count(database, Application) == 1


# -- a step's answer counts only at that step ------------------------------------------------


async def test_a_scholarships_submit_button_does_not_file_capital(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(SCHOLARSHIP_EN)
    scholarship_submit = chat.keys[0]
    await chat.send("batal")
    await chat.run([*CAPITAL_EN, ("No", "Please check")])
    await chat.tap(scholarship_submit)  # from the scholarship summary a few messages up
    assert chat.text.startswith(STALE) and "Submit" in chat.labels
    assert count(database, Application) == 0


async def test_an_enrolments_cancel_answer_does_not_cancel_a_booking(
    chat: Chat, services, database
) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Free health checks")
    await chat.tap("kind:check")
    await chat.tap(f"tp:{CHECK}")
    await chat.send("1")
    await chat.send("Yes, book it")
    await chat.tap(next(key for key in chat.keys if key.startswith("health:cancel:")))
    assert "Cancel your booking" in chat.text
    await chat.tap("cancel:enrolment:1:yes")  # another question's answer
    assert chat.text.startswith(STALE) and "Cancel your booking" in chat.text
    with database.connect() as db:
        assert db.execute(select(HealthBooking.status)).scalar_one() == "booked"
