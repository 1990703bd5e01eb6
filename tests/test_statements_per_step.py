"""How many SQL statements the common steps cost, counted: the engine's speed rests on it
(bench/engine.py), and a statement added to every step shows here before it shows there. A
step that needs more on purpose raises its budget here, in the same change, with the reason."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, update

from storage.conversations import _LOAD
from storage.outbox import Outbound, OutboundStatus
from tests.helpers import Chat
from tests.test_outbox_claim_plan import fill

# a resident on Telegram registers (the replies are rows of the outbound queue, as in the
# program), then does what residents do most
REGISTER = ["halo", "1", "1", "Siti Aminah", "3", "5", "Lewati"]
# statements of one update, its transaction included: BEGIN, loading the resident with their
# position and what waits for them (one statement), what the step itself reads and writes, the
# replies' rows, the message marked as handled and the position saved. In the order sent.
STEPS = [
    ("the menu", "menu", 5),
    ("a service's first step (bansos: the limits checked, the NIK asked)", "1", 7),
    ("back to the menu", "menu", 5),
    ("the profile (with the kelurahan's name)", "9", 6),
    ("a profile edit: which field", "1", 6),
    ("a profile edit: the new name saved", "Siti Nurhaliza", 7),
    ("the menu again (a minute on: when the chat last wrote)", "menu", 6),
    ("the sembako schedule", "3", 7),
]


class Statements:
    """Counts the statements sent to the database while it is on."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.on = False

    def __call__(self, _conn, _cursor, statement: str, *_args) -> None:
        if self.on:
            self.texts.append(" ".join(statement.split())[:100])


@contextmanager
def counting(database) -> Iterator[Statements]:
    statements = Statements()
    event.listen(database, "before_cursor_execute", statements)
    try:
        yield statements
    finally:
        event.remove(database, "before_cursor_execute", statements)


@pytest.fixture
async def resident(engine, clock) -> Chat:
    chat = Chat(engine, external_id="5550001", channel="telegram")
    for text in REGISTER:
        await chat.send(text)
        clock.advance(seconds=5)
    assert "Menu" in chat.text or "menu" in chat.text.lower()
    return chat


async def test_the_common_steps_keep_to_their_statements(resident: Chat, database, clock) -> None:
    counted = {}
    with counting(database) as statements:
        for name, text, _budget in STEPS:
            statements.texts.clear()
            statements.on = True
            replies = await resident.send(text)
            statements.on = False
            assert replies, name
            if text == "Siti Nurhaliza":
                assert "Nama sudah diubah" in resident.text  # the edit was saved
            counted[name] = list(statements.texts)
            clock.advance(seconds=5)
    over = [
        f"{name}: {len(counted[name])} statements (budget {budget}):\n  "
        + "\n  ".join(counted[name])
        for name, _text, budget in STEPS
        if len(counted[name]) > budget
    ]
    assert not over, "\n".join(over)
    saved = counted["a profile edit: the new name saved"]
    assert any(text.startswith("UPDATE residents SET name") for text in saved)


async def test_writing_again_within_the_minute_writes_no_window_and_releases_nothing(
    resident: Chat, database, clock
) -> None:
    with counting(database) as statements:
        statements.on = True
        await resident.send("menu")
        clock.advance(seconds=20)
        await resident.send("menu")
    texts = " | ".join(statements.texts)
    assert "last_inbound_at=" not in texts  # the window was opened 5 s before: kept
    assert "UPDATE outbound SET identity_id" not in texts  # nothing held for them
    clock.advance(minutes=2)
    with counting(database) as statements:
        statements.on = True
        await resident.send("menu")
    assert any("SET last_inbound_at" in text for text in statements.texts)


def test_the_load_of_each_step_asks_the_queue_through_its_small_indexes(database, clock) -> None:
    """The load's questions to the outbound queue (anything held for the resident, any earlier
    reply unsent) use the partial indexes that hold those few rows, not the resident's whole
    history of messages: whatever the queue holds, a step costs the same. The planners decide
    on the queue's figures: a queue of thousands of rows, some held for many residents."""
    ids = fill(database, clock)
    with database.begin() as db:
        held = ids["sent"][: len(ids["sent"]) // 4]
        db.execute(
            update(Outbound).where(Outbound.id.in_(held)).values(status=OutboundStatus.HELD)
        )
        db.exec_driver_sql("ANALYZE")
    with database.connect() as db:
        compiled = _LOAD.compile(dialect=db.dialect)
        if db.dialect.name == "sqlite":
            positional = [compiled.params[name] for name in compiled.positiontup]
            rows = db.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(positional))
            plan = "\n".join(row[3] for row in rows)
        else:
            rows = db.exec_driver_sql(f"EXPLAIN {compiled}", dict(compiled.params))
            plan = "\n".join(row[0] for row in rows)
    assert "ix_outbound_held_by_resident" in plan, plan
    assert "ix_outbound_unsent_replies" in plan, plan
