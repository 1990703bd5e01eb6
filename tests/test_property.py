"""Thousands of random inputs at every step of registration: always a reply, never an error."""

import asyncio
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.messages import Incoming, Kind
from handlers.positions import CONSENT, ENTRY, HOME, RegistrationStep, registration
from handlers.steps import StepRef
from tests.helpers import place_at
from tests.test_engine import ERROR_TEXTS

KLENDER = "31.75.07.1003"
STEPS = {
    "language": (ENTRY, {}, False),
    "consent": (CONSENT, {}, False),
    "name": (registration(RegistrationStep.NAME), {"mode": "register"}, True),
    "kelurahan": (
        registration(RegistrationStep.KELURAHAN),
        {"mode": "register", "name": "Ani"},
        True,
    ),
    "rw": (
        registration(RegistrationStep.RW),
        {"mode": "register", "name": "Ani", "kelurahan": KLENDER},
        True,
    ),
    "phone": (
        registration(RegistrationStep.PHONE),
        {"mode": "register", "name": "Ani", "kelurahan": KLENDER, "rw": 5},
        True,
    ),
    "menu": (HOME, {}, True),
}
KEYS = [
    "lang:id",
    "lang:en",
    "consent:yes",
    "consent:no",
    "consent:more",
    f"kel:{KLENDER}",
    "kel:99",
    "phone:skip",
    "phone:remove",
    "svc:profile",
    "svc:register",
    "svc:bansos",
    "erase:yes",
    "",
    "💥",
    "x" * 300,
]
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "250"))

texts = st.one_of(
    st.text(max_size=50),
    st.text(min_size=4097, max_size=6000),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(
        [
            "1",
            "2",
            "3",
            " 7 ",
            "0",
            "99",
            "-1",
            "1.5",
            "08123",
            "+62 812-3456-7890",
            "menu",
            "BATAL",
            "bahasa",
            "bantuan",
            "berhenti",
            "mulai",
            "hapus data",
            "/start",
            "/start@DurenSawitBot",
            "RW 5",
            "Klender",
            "😀",
            "\x00",
            "\u202e",
        ]
    ),
)
messages = st.one_of(
    st.builds(lambda text: {"text": text}, texts),
    st.builds(
        lambda key: {"kind": Kind.OPTION, "option": key},
        st.one_of(st.sampled_from(KEYS), st.text(max_size=80)),
    ),
    st.builds(lambda kind: {"kind": kind}, st.sampled_from(list(Kind))),
    st.builds(
        lambda phone, own: {"kind": Kind.CONTACT, "phone": phone, "contact_is_own": own},
        st.one_of(st.none(), texts),
        st.booleans(),
    ),
    st.builds(
        lambda lat, lon: {"kind": Kind.LOCATION, "latitude": lat, "longitude": lon},
        st.floats(allow_nan=True),
        st.floats(allow_infinity=True),
    ),
)
_serial = itertools.count()


@pytest.fixture
def loop():
    """An event loop the synchronous property test drives."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize("step", list(STEPS))
def test_random_input_at_every_step(step, engine, database, clock, loop) -> None:
    position, data, consent = STEPS[step]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=st.lists(messages, min_size=1, max_size=4))
    def check(batch: list[dict]) -> None:
        resident = f"prop-{step}-{next(_serial)}"
        place_at(
            database,
            resident,
            StepRef(position.flow, position.step),
            data,
            clock.now,
            consent=consent,
        )
        for number, fields in enumerate(batch):
            message = Incoming(
                channel="console",
                external_id=resident,
                message_id=f"{resident}-{number}",
                **fields,
            )
            replies = loop.run_until_complete(engine.handle(message))
            assert replies, f"no reply to {fields!r}"
            assert all(reply.text.strip() for reply in replies)
            text = "\n".join(reply.text for reply in replies)
            assert not any(error in text for error in ERROR_TEXTS), f"error on {fields!r}"

    check()
