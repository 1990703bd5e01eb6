"""The claim of the outbound queue costs the same whatever the queue holds: the planners'
own plans (PostgreSQL's EXPLAIN, SQLite's EXPLAIN QUERY PLAN) of the statements the real
`outbox.claim` sends, after ANALYZE over a few thousand pending rows, read the partial indexes
and sort nothing; and what it takes is what the order promises, also when the head of the queue
is a broadcast scheduled for tomorrow."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from storage import outbox
from storage.outbox import LOOKAHEAD, Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity, Resident

PEOPLE = 3_000
SCHEDULED = 2 * LOOKAHEAD  # a broadcast for tomorrow, written first: the head of the queue
DUE_NEWS = 1_000  # an announcement due now, after it
DUE_REMINDERS = 2_000  # reminders due now, written last
SENT = 6_000  # history: rows sent long ago


def fill(database, clock) -> dict[str, list[int]]:
    """Write the residents, their Telegram chats and the queue; return the ids per group."""
    now = clock()
    people = [
        {"language": "id", "opted_out": False, "consent_at": now}
        | {"created_at": now, "updated_at": now}
        for _ in range(PEOPLE)
    ]
    ids: dict[str, list[int]] = {}
    with database.begin() as db:
        residents = Resident.__table__
        made = db.execute(
            residents.insert().returning(residents.c.id, sort_by_parameter_order=True), people
        )
        resident_ids = [row.id for row in made]
        identities = ChannelIdentity.__table__
        chats = [
            {"resident_id": rid, "channel": "telegram", "external_id": str(800_000 + rid)}
            | {"created_at": now}
            for rid in resident_ids
        ]
        made = db.execute(
            identities.insert().returning(identities.c.id, sort_by_parameter_order=True), chats
        )
        to = list(zip(resident_ids, [row.id for row in made], strict=True))
        table = Outbound.__table__

        def queue(group: str, count: int, kind: OutboundKind, **values) -> None:
            rows = [
                {
                    "resident_id": to[n % PEOPLE][0],
                    "identity_id": to[n % PEOPLE][1],
                    "channel": "telegram",
                    "kind": kind,
                    "text": f"{group} {n}",
                    "not_before": now,
                    "expires_at": now + timedelta(days=8),
                    "status": OutboundStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
                | values
                for n in range(count)
            ]
            made = db.execute(
                table.insert().returning(table.c.id, sort_by_parameter_order=True), rows
            )
            ids[group] = [row.id for row in made]

        queue(
            "sent",
            SENT,
            OutboundKind.REMINDER,
            status=OutboundStatus.SENT,
            not_before=now - timedelta(days=30),
        )
        queue(
            "scheduled", SCHEDULED, OutboundKind.ANNOUNCEMENT, not_before=now + timedelta(days=1)
        )
        queue("news", DUE_NEWS, OutboundKind.ANNOUNCEMENT, not_before=now - timedelta(minutes=2))
        queue(
            "reminders",
            DUE_REMINDERS,
            OutboundKind.REMINDER,
            not_before=now - timedelta(minutes=1),
        )
    with database.connect() as db:
        db.exec_driver_sql("ANALYZE")
        db.commit()
    return ids


class Statements:
    """The statements sent to the database, with their parameters, while it listens."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def __call__(self, _conn, _cursor, statement: str, parameters, _context, _many) -> None:
        if not statement.startswith("BEGIN"):
            self.sent.append((statement, parameters))


@contextmanager
def recording(database) -> Iterator[Statements]:
    statements = Statements()
    event.listen(database, "before_cursor_execute", statements)
    try:
        yield statements
    finally:
        event.remove(database, "before_cursor_execute", statements)


def plan(database, statement: str, parameters) -> str:
    """Return the planner's plan of a statement, one line a node."""
    with database.connect() as db:
        if db.dialect.name == "sqlite":
            rows = db.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(row[3] for row in rows)
        rows = db.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(row[0] for row in rows)


def claimed_with_plans(database, clock, *, quiet: bool) -> tuple[list, dict[str, str]]:
    """Claim a batch (rolled back), and return it with the plan of each statement it sent,
    by the statement's first words."""
    with recording(database) as statements, database.connect() as db:
        transaction = db.begin()
        due = outbox.claim(db=db, channel="telegram", now=clock(), quiet=quiet, limit=64)
        transaction.rollback()
    plans = {}
    for statement, parameters in statements.sent:
        words = " ".join(statement.split())
        plans[words[:60]] = words + "\n" + plan(database, statement, parameters)
    return due, plans


def only(plans: dict[str, str], needle: str) -> str:
    found = [text for text in plans.values() if needle in text.split("\n", 1)[0]]
    assert len(found) == 1, list(plans)
    return found[0]


def no_sort_no_scan(text: str) -> None:
    """Fail when a plan sorts, or reads the queue from end to end."""
    lines = text.split("\n")[1:]
    assert not [line for line in lines if "Sort" in line or "TEMP B-TREE" in line], text
    assert not [line for line in lines if "Seq Scan on outbound" in line], text
    assert not [line for line in lines if line.strip() == "SCAN outbound"], text


@pytest.mark.parametrize("quiet", [False, True], ids=["day", "quiet hours"])
def test_the_claim_reads_its_indexes_and_sorts_nothing(database, clock, quiet: bool) -> None:
    ids = fill(database, clock)
    due, plans = claimed_with_plans(database, clock, quiet=quiet)
    suffix = "_asked" if quiet else ""
    # the head of the queue in the order written: tomorrow's broadcast, then due rows
    head = only(plans, "FROM (SELECT outbound.id")
    assert f"ix_outbound_claim{suffix}" in head, head
    # in quiet hours the head is the reminders, due; by day it is tomorrow's broadcast, longer
    # than the claim looks ahead, so the rows due longest make up the batch
    if not quiet:
        longest = only(plans, "outbound.not_before <=")
        assert "ix_outbound_due" in longest and "ix_outbound_due_asked" not in longest, longest
        no_sort_no_scan(longest)
    assert "ix_outbound_expiry" in only(plans, "last_error="), plans
    for text in plans.values():
        no_sort_no_scan(text)
    # what was taken: by day the announcement due longest (before the reminders); in quiet
    # hours the reminders only, in the order written; tomorrow's broadcast never
    expected = ids["reminders"][:64] if quiet else ids["news"][:64]
    assert [row.id for row in due] == expected


def test_a_claim_fails_what_goes_to_a_chat_marked_unreachable_since(database, clock) -> None:
    ids = fill(database, clock)
    first = ids["news"][0]
    table, identities = Outbound.__table__, ChannelIdentity.__table__
    with database.begin() as db:
        identity_id = db.execute(
            table.select().with_only_columns(table.c.identity_id).where(table.c.id == first)
        ).scalar_one()
        db.execute(
            update(identities).where(identities.c.id == identity_id).values(unreachable_at=clock())
        )
    with database.begin() as db:
        due = outbox.claim(db=db, channel="telegram", now=clock(), quiet=False, limit=64)
    assert [row.id for row in due] == ids["news"][1:64]  # the rest of the batch goes
    with database.connect() as db:
        row = db.execute(table.select().where(table.c.id == first)).one()
    assert (row.status, row.last_error) == (OutboundStatus.FAILED, outbox.UNREACHABLE)
