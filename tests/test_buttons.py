"""Button keys: the codec, forged keys of every kind through the engine (a stale button, never
an error), random keys, and shared locations that are not a point on Earth."""

import asyncio
import itertools
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.announcing import read_segment
from handlers import flows
from handlers.broadcast_plans import schedule_text
from handlers.buttons import ID, MAX_ID, Number, ascii_number, button, words
from handlers.messages import Incoming, Kind, is_place
from handlers.numbers import parse_amount, parse_count
from handlers.positions import HOME, RegistrationStep, SembakoStep, registration, sembako
from handlers.registration import rw_number
from handlers.steps import Context, EngineConfig, options_of
from handlers.survey import whole_number
from handlers.text import match_option
from storage import schedules
from storage.demo import seed_distributions
from storage.residents import Profile
from storage.schedules import distance_km
from tests.helpers import Chat, place_at
from tests.test_applications_flow import CAPITAL_EN
from tests.test_engine import ERROR_TEXTS
from tests.test_registration import HAPPY_EN

PROFILE = Profile(1, "Eva", "en", None, None, None, None, None, False)
STALE = "That button is from an old message and no longer applies."
# what people and attackers put where a number belongs
FORGED_NUMBERS = [
    "99999999999999999999",
    str(MAX_ID + 1),
    "9" * 5000,
    "-1",
    "0",
    "²",
    "①",
    "٣",
    "１",
    " 1",
    "1 ",
    "+1",
    "1.0",
    "1e3",
    "0x1",
    "",
]


def forged_keys() -> list[str]:
    """Return forged keys of every kind of button honoured anywhere."""
    keys = []
    for prefix in (
        "reminder:cancel",
        "sembako:remind",
        "apply:remind",
        "training:cancel",
        "health:cancel",
    ):
        keys += [f"{prefix}:{number}" for number in FORGED_NUMBERS]
        keys += [prefix, f"{prefix}:", f"{prefix}:1:2", f"{prefix}::1", f"{prefix}:1:"]
    keys += [f"rate:{number}:5" for number in FORGED_NUMBERS]
    keys += [f"rate:1:{number}" for number in FORGED_NUMBERS]
    keys += ["rate", "rate:", "rate:1", "rate:1:", "rate:1:6", "rate:1:5:5", "rate::"]
    keys += [f"survey:{number}:start" for number in FORGED_NUMBERS]
    keys += ["survey:1", "survey:1:", "survey:1:maybe", "survey:1:start:1", "survey:"]
    keys += [f"sv:{number}:1:1" for number in FORGED_NUMBERS]
    keys += [f"sv:1:{number}:1" for number in FORGED_NUMBERS]
    keys += [f"sv:1:1:{number}" for number in FORGED_NUMBERS]
    keys += ["sv:1:1", "sv:1:1:1:1", "sv:1:1:skipped", "sv:", "sv"]
    keys += ["lang:", "lang:xx", "lang:id:en", "lang:ID"]
    keys += ["consent:yes", "consent:more", "consent:", "consent:maybe", "consent:no:1"]
    return keys


# -- the codec -----------------------------------------------------------------------------


def test_a_key_is_read_back_as_it_was_built() -> None:
    rate = button("rate", rating=ID, score=Number(1, 5))
    key = rate.encode(rating=MAX_ID, score=4)
    assert key == f"rate:{MAX_ID}:4"
    assert rate.decode(key) == {"rating": MAX_ID, "score": 4}
    cancel = button("reminder:cancel", reminder=ID)
    assert cancel.decode("reminder:cancel:12") == {"reminder": 12}
    assert cancel.owns("reminder:cancel:²") and not cancel.owns("reminder:cancelled:1")
    action = button("survey", survey=ID, action=words("start", "no"))
    assert action.decode("survey:3:no") == {"survey": 3, "action": "no"}


@pytest.mark.parametrize("number", FORGED_NUMBERS)
def test_the_codec_reads_nothing_but_ascii_digits_in_range(number: str) -> None:
    assert button("x", id=ID).decode(f"x:{number}") is None
    assert ascii_number(number) is None or number == "0"


@pytest.mark.parametrize(
    "values",
    [{"id": 0}, {"id": MAX_ID + 1}, {"id": "1"}, {"id": True}, {}, {"id": 1, "more": 2}],
)
def test_the_codec_builds_no_key_it_could_not_read(values: dict) -> None:
    with pytest.raises(ValueError):
        button("x", id=ID).encode(**values)


def test_every_button_honoured_anywhere_is_a_codec_kind() -> None:
    conversations = flows.build()
    prefixes = [kind.prefix for kind in conversations.anywhere]
    assert len(prefixes) == len(set(prefixes))
    for kind in conversations.anywhere:
        assert kind.decode(f"{kind.prefix}:²") is None


# -- forged keys through the engine ----------------------------------------------------------


@pytest.fixture
async def registered(chat: Chat) -> Chat:
    """A registered English-speaking resident at the menu."""
    await chat.run(HAPPY_EN)
    return chat


@pytest.mark.parametrize("key", forged_keys())
async def test_a_forged_key_is_a_stale_button(registered: Chat, key: str) -> None:
    await registered.tap(key)
    assert not any(error in registered.text for error in ERROR_TEXTS), key
    assert registered.text.startswith(STALE), registered.text
    assert "Main menu" in registered.text  # and the current question again


async def test_a_forged_key_in_the_middle_of_registration_loses_nothing(chat: Chat) -> None:
    await chat.run(HAPPY_EN[:4])  # the kelurahan question, the name kept
    for key in ("reminder:cancel:²", "rate:99999999999999999999:5", "sv:1:1:①"):
        await chat.tap(key)
        assert chat.text.startswith(STALE) and "Which kelurahan do you live in?" in chat.text
    await chat.run(HAPPY_EN[4:])  # the name typed before the forged keys is still there


async def test_typed_unicode_digits_are_no_numbers(chat: Chat) -> None:
    await chat.run(HAPPY_EN[:5])  # the RW question
    for typed in ("²", "①", "٣", "9" * 5000):
        await chat.send(typed)
        assert not any(error in chat.text for error in ERROR_TEXTS), typed
    await chat.send("14")
    assert "May we have your mobile number?" in chat.text


# -- random keys -----------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "250"))
PREFIXES = [kind.prefix for kind in flows.build().anywhere] + ["book", "slot", "event", "batch"]
parts = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["²", "①", "٣", "start", "no", "skip", "yes", "id", "", "1", "5"]),
)
keys = st.one_of(
    st.builds(
        lambda prefix, rest: ":".join([prefix, *rest]),
        st.sampled_from(PREFIXES),
        st.lists(parts, max_size=4),
    ),
    st.text(max_size=300),
)
_serial = itertools.count()


@pytest.fixture
def loop():
    """An event loop the synchronous property test drives."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize(
    "position",
    [HOME, registration(RegistrationStep.NAME)],
    ids=["menu", "name"],
)
def test_random_keys_never_raise(position, engine, database, clock, loop) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(key=keys)
    def check(key: str) -> None:
        resident = f"keys-{next(_serial)}"
        place_at(database, resident, position, {"mode": "register"}, clock.now)
        message = Incoming("console", resident, f"{resident}-1", kind=Kind.OPTION, option=key)
        replies = loop.run_until_complete(engine.handle(message))
        text = "\n".join(reply.text for reply in replies)
        assert replies and not any(error in text for error in ERROR_TEXTS), key

    check()


# -- shared locations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (-6.23, 106.91, True),
        (90, 180, True),
        (-90, -180, True),
        (math.inf, 0, False),
        (0, -math.inf, False),
        (math.nan, 0, False),
        (90.0001, 0, False),
        (0, 180.5, False),
        (None, 0, False),
        (1e308, 1e308, False),
    ],
)
def test_a_place_is_a_point_on_earth(latitude, longitude, expected) -> None:
    assert is_place(latitude, longitude) is expected


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(math.inf, 0), (0, math.nan), (-math.inf, math.inf), (91, 0), (0, -181), (1e308, 0)],
)
async def test_a_location_off_the_earth_is_refused_kindly(
    engine, database, clock, latitude, longitude
) -> None:
    with database.begin() as db:
        seed_distributions(db=db, today=clock.now.date(), now=clock.now)
    place_at(database, "traveller", sembako(SembakoStep.LOCATION), {}, clock.now)
    chat = Chat(engine, "traveller")
    await chat.send_kind(Kind.LOCATION, latitude=latitude, longitude=longitude)
    assert not any(error in chat.text for error in ERROR_TEXTS)
    assert "Lokasi itu tidak dapat dibaca" in chat.text
    await chat.send_kind(Kind.LOCATION, latitude=-6.23, longitude=106.91)  # still asked for
    assert "Tempat pengambilan terdekat:" in chat.text


# -- typed numbers ---------------------------------------------------------------------------

ODD_NUMBERS = ["²", "①", "٣", "１２", "9" * 400, "9" * 5000, "1" + "0" * 310, "-" + "9" * 5000]


@pytest.mark.parametrize("typed", ODD_NUMBERS)
def test_the_shared_number_parsers_read_only_ascii_digits_of_a_sane_size(typed: str) -> None:
    assert parse_amount(typed) is None
    assert parse_count(typed) is None
    assert whole_number(typed) is None
    assert rw_number(typed) is None
    assert match_option(options_of(("a", "A"), ("b", "B"), ("c", "C")), typed).key is None


def test_the_shared_number_parsers_still_read_what_people_type() -> None:
    assert parse_amount("Rp 3.000.000") == 3_000_000 and parse_amount("2,5 juta") == 2_500_000
    assert parse_count("5 orang") == 5 and whole_number("1.500") == 1500
    assert rw_number("RT 3 RW 05") == 5
    assert match_option(options_of(("a", "A"), ("b", "B")), "2").key == "b"


async def test_a_huge_amount_typed_in_a_capital_application_is_asked_again(chat: Chat) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(CAPITAL_EN[:4])  # the revenue question
    for typed in ("9" * 400, "1" + "0" * 310, "²"):
        await chat.send(typed)
        assert not any(error in chat.text for error in ERROR_TEXTS), typed
        assert "take in a month" in chat.text


def test_distances_hold_for_any_point_storage_is_given(database, clock) -> None:
    assert distance_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0, rel=1e-3)
    assert distance_km(90, 0, -90, 0) == pytest.approx(math.pi * 6371.0, rel=1e-3)
    with database.connect() as db:
        found = schedules.nearest(
            db=db, latitude=math.inf, longitude=0, now=clock.now, until=clock.now
        )
    assert found == []


@pytest.mark.parametrize("text", ["rw=klender:²", "rw=klender:٣", "rw=klender:" + "9" * 5000])
def test_a_segment_with_an_odd_rw_is_refused_on_the_command_line(database, text, capsys):
    with database.connect() as db:
        assert read_segment(db, text) is None
    assert "An RW segment is rw=KELURAHAN:NUMBER" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("cron", "shown"),
    [
        ("0 8 * * mon", "every Monday at 08.00"),
        ("30 7 15 * *", "on day 15 of every month at 07.30"),
        ("²0 8 * * *", "²0 8 * * *"),
        ("0 8 ① * *", None),
    ],
)
def test_a_recurring_siarans_time_is_read_with_ascii_digits_only(cron, shown, database, clock):
    with database.connect() as db:
        ctx = Context(db, PROFILE, None, {}, clock.now, EngineConfig(), HOME)
        assert schedule_text(ctx, cron) == (shown or cron)
