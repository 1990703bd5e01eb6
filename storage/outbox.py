"""The outbound queue: what the bot sends on its own, written in the same transaction as its
cause (a waitlist promotion, a status change, a reminder falling due). bot/outbound.py drains it.

A row goes pending → sending (committed before the platform is called, with the `claim` of
whoever sends it) → sent, or back to pending with a later `not_before` (a retry), or failed
with the reason, or expired when it could not go within its useful life. Each outcome is
recorded only by the claim that sent it. A row left `sending` by another claim for longer than
a lease term was abandoned (its sender died or froze): the drain puts it back with one more
doubt, as it may have arrived; the old claim may still record it as sent until it is claimed
again, so a sender that merely froze saves it from going twice. A row recorded as sent is
never sent again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Connection,
    Index,
    Text,
    and_,
    bindparam,
    case,
    literal_column,
    or_,
    select,
    update,
)
from sqlmodel import Field, SQLModel

from storage.residents import ChannelIdentity, Resident
from storage.types import UTCDateTime


class OutboundKind(StrEnum):
    """Why a message is sent; quiet hours and opt-outs depend on it."""

    PROMOTION = "promotion"  # a seat came free for someone on a waitlist
    STATUS = "status"  # an application's status changed
    CALLED_OFF = "called_off"  # a course batch or health event the resident held was called off
    REMINDER = "reminder"  # a reminder, or word that what it reminds of moved
    ANNOUNCEMENT = "announcement"
    SURVEY = "survey"
    FEEDBACK = "feedback"  # the invitation to rate a pickup, a course or a health check
    REPLY = "reply"  # a direct answer to what the resident wrote, written with its step


# what quiet hours hold back, and what a resident who said "berhenti" does not get; everything
# else answers something the resident did or asked for
UNASKED = frozenset({OutboundKind.ANNOUNCEMENT, OutboundKind.SURVEY, OutboundKind.FEEDBACK})


# how long a message of a kind stays worth sending when nothing else says (a reminder carries
# its event's start): an announcement or a survey invitation held up for a week by an outage
# is old news, an invitation to rate a visit three days later is not answered any more. What
# answers a resident's own affairs (a status change, a seat, a called-off event) stays true and
# goes however late.
USEFUL_LIFE = {
    OutboundKind.ANNOUNCEMENT: timedelta(days=7),
    OutboundKind.SURVEY: timedelta(days=7),
    OutboundKind.FEEDBACK: timedelta(days=3),
    # an answer not out a day later answers nothing any more (WhatsApp's window is shut too)
    OutboundKind.REPLY: timedelta(hours=24),
}

OPTED_OUT = "opted out: the resident said berhenti"  # last_error of what they no longer get
# last_error of an expired row
TOO_LATE = "too late: its event has begun, or it is no longer current"
# last_error of a row put back because its sender was gone while it was being sent
ABANDONED = "no answer recorded: its sender stopped, it may have arrived"
SURVEY_CLOSED = "cancelled: the survey was closed"  # its invitations not sent by then
REPLY_PRIORITY = 0  # a direct reply goes before everything else of the queue


class OutboundStatus(StrEnum):
    """Where an outbound message stands."""

    PENDING = "pending"
    SENDING = "sending"  # handed to the platform; not yet recorded as sent
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # kept back with the reason in last_error (WhatsApp: outside the 24-hour window with no
    # template for its kind); goes back to pending when the resident writes again
    HELD = "held"
    EXPIRED = "expired"  # not sent within its useful life (expires_at): dropped, TOO_LATE


class Delivery(StrEnum):
    """What the platform later reports of a sent message (WhatsApp's statuses)."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# a later report never takes a message back: "delivered" arriving after "read" changes nothing
DELIVERY_ORDER = {Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3, Delivery.FAILED: 4}


class Outbound(SQLModel, table=True):
    """One message to send to a resident on one of their channels."""

    __tablename__ = "outbound"
    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    identity_id: int = Field(foreign_key="channel_identities.id", ondelete="CASCADE")
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    text: str = Field(sa_type=Text)  # finished, in the resident's language
    # buttons to show with the text: [{"key": …, "label": …}], labels in the resident's language
    options: list | None = Field(default=None, sa_type=JSON)
    not_before: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=OutboundStatus.PENDING, max_length=12, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    # what a reminder is about (reminders.Subject and its row's id), so that cancelling the
    # enrolment or booking, or moving the event, also withdraws a reminder not yet sent
    subject: str | None = Field(default=None, max_length=16)
    subject_id: int | None = None
    # a reminder is pointless once its event began: not sent after this (None: always sent)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sending_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the broadcast (siaran) it belongs to, for its progress and report
    broadcast_id: int | None = Field(default=None, index=True)
    # the platform's id of the sent message, and what it later reported (Delivery)
    platform_id: str | None = Field(default=None, max_length=128, index=True)
    delivery: str | None = Field(default=None, max_length=12)
    delivery_error: str | None = Field(default=None, max_length=200)
    delivery_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # lower goes first: a direct reply (REPLY_PRIORITY) before anything the bot sends alone
    priority: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # who holds a `sending` row: the drain's lease and its fencing token, or a process's fast
    # path; an outcome is recorded only by the claim that sent it
    claim: str | None = Field(default=None, max_length=120)
    # a direct reply in full (its picture, place, request button…), for the channel to render
    reply: dict | None = Field(default=None, sa_type=JSON)
    # sends of it whose outcome was unknown (no answer, the sender gone) and which went again:
    # it may have arrived that many times more
    doubts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(sa_type=UTCDateTime)


_OUTBOUND = Outbound.__table__
_IDENTITIES = ChannelIdentity.__table__
_RESIDENTS = Resident.__table__

# what each step asks of the queue (storage/conversations.py's load): is anything held for the
# resident, do earlier replies to the chat wait. The values are written out, not bound, so that
# the planners use the partial indexes that hold those few rows.
IS_HELD = _OUTBOUND.c.status == literal_column(f"'{OutboundStatus.HELD}'")
IS_UNSENT_REPLY = and_(
    _OUTBOUND.c.status == literal_column(f"'{OutboundStatus.PENDING}'"),
    _OUTBOUND.c.kind == literal_column(f"'{OutboundKind.REPLY}'"),
)
Index(
    "ix_outbound_held_by_resident",
    _OUTBOUND.c.resident_id,
    sqlite_where=IS_HELD,
    postgresql_where=IS_HELD,
)
Index(
    "ix_outbound_unsent_replies",
    _OUTBOUND.c.identity_id,
    sqlite_where=IS_UNSENT_REPLY,
    postgresql_where=IS_UNSENT_REPLY,
)


def reach(*, db: Connection, resident_id: int) -> tuple[int, str] | None:
    """Return the identity and channel to write to: of those that can be reached, the one the
    resident wrote from last (else the newest)."""
    row = db.execute(
        select(_IDENTITIES.c.id, _IDENTITIES.c.channel)
        .where(_IDENTITIES.c.resident_id == resident_id, _IDENTITIES.c.unreachable_at.is_(None))
        .order_by(
            _IDENTITIES.c.last_inbound_at.is_(None),  # the chat they wrote from last, first
            _IDENTITIES.c.last_inbound_at.desc(),
            _IDENTITIES.c.id.desc(),
        )
        .limit(1)
    ).first()
    return (row.id, row.channel) if row else None


def enqueue(
    *,
    db: Connection,
    resident_id: int,
    kind: OutboundKind,
    text: str,
    now: datetime,
    not_before: datetime | None = None,
    options: list[dict[str, str]] | None = None,
    expires_at: datetime | None = None,
    about: tuple[str, int] | None = None,
) -> int | None:
    """Queue a message for a resident, with buttons (`options`: key and label) if it has any,
    not to be sent after `expires_at` (by default its kind's USEFUL_LIFE after it is due),
    `about` a reminder's subject and id; return its id, or None when they cannot be reached."""
    target = reach(db=db, resident_id=resident_id)
    if target is None:
        return None
    identity_id, channel = target
    if expires_at is None and kind in USEFUL_LIFE:
        expires_at = (not_before or now) + USEFUL_LIFE[OutboundKind(kind)]
    created = db.execute(
        _OUTBOUND.insert().values(
            resident_id=resident_id,
            identity_id=identity_id,
            channel=channel,
            kind=kind,
            text=text,
            options=options,
            expires_at=expires_at,
            subject=about[0] if about else None,
            subject_id=about[1] if about else None,
            not_before=not_before or now,
            status=OutboundStatus.PENDING,
            attempts=0,
            created_at=now,
        )
    )
    return created.inserted_primary_key[0]


@dataclass(frozen=True)
class QueuedReply:
    """A direct reply written to the queue, claimed for the fast path of its process."""

    id: int
    reply: dict


_CLAIM_UNSENT = (
    update(_OUTBOUND)
    .where(_OUTBOUND.c.identity_id == bindparam("b_identity_id"), IS_UNSENT_REPLY)
    .values(
        status=OutboundStatus.SENDING, claim=bindparam("b_claim"), sending_at=bindparam("b_now")
    )
    .returning(_OUTBOUND.c.id, _OUTBOUND.c.reply)
)


def queue_replies(
    *,
    db: Connection,
    resident_id: int,
    identity_id: int,
    channel: str,
    replies: list[dict],
    now: datetime,
    claim: str,
    unsent: bool = True,
) -> list[QueuedReply]:
    """Write the replies of a step (as data, handlers/reply_data.py) in its transaction,
    claimed as `sending` by `claim` so that this process sends them at once; replies of the
    chat still waiting from before (their fast path failed; `unsent` says whether there may
    be any, as loaded with the update) are claimed with them and come first, so a chat gets
    its answers in order. Should the process die before they are out, the queue sends them
    once their claim is abandoned (storage/outbox.py's sweep)."""
    queued = []
    if unsent:
        params = {"b_identity_id": identity_id, "b_claim": claim, "b_now": now}
        earlier = db.execute(_CLAIM_UNSENT, params).all()
        queued = sorted((QueuedReply(row.id, row.reply) for row in earlier), key=lambda q: q.id)
    if not replies:
        return queued
    rows = [
        {
            "resident_id": resident_id,
            "identity_id": identity_id,
            "channel": channel,
            "kind": OutboundKind.REPLY,
            "text": reply.get("text", ""),
            "options": reply.get("options"),
            "reply": reply,
            "not_before": now,
            "expires_at": now + USEFUL_LIFE[OutboundKind.REPLY],
            "status": OutboundStatus.SENDING,
            "claim": claim,
            "sending_at": now,
            "priority": REPLY_PRIORITY,
            "attempts": 0,
            "doubts": 0,
            "created_at": now,
        }
        for reply in replies
    ]
    created = db.execute(
        _OUTBOUND.insert().returning(_OUTBOUND.c.id, sort_by_parameter_order=True), rows
    ).all()
    fresh = zip(created, replies, strict=True)
    return queued + [QueuedReply(row.id, reply) for row, reply in fresh]


def withdraw(
    *,
    db: Connection,
    subject: str,
    subject_ids: list[int],
    reason: str,
    resident_id: int | None = None,
) -> int:
    """Cancel the reminders about some events still waiting to be sent (of one resident, or of
    all), with the reason; return how many. One already handed to the platform goes."""
    if not subject_ids:
        return 0
    where = [
        _OUTBOUND.c.kind == OutboundKind.REMINDER,
        _OUTBOUND.c.status.in_((OutboundStatus.PENDING, OutboundStatus.HELD)),
        _OUTBOUND.c.subject == subject,
        _OUTBOUND.c.subject_id.in_(subject_ids),
    ]
    if resident_id is not None:
        where.append(_OUTBOUND.c.resident_id == resident_id)
    done = db.execute(
        update(_OUTBOUND)
        .where(*where)
        .values(status=OutboundStatus.CANCELLED, last_error=reason[:200])
    )
    return done.rowcount


def pending_for(*, db: Connection, resident_id: int) -> list[Outbound]:
    """Return the messages waiting for one resident, oldest first."""
    rows = db.execute(
        select(_OUTBOUND)
        .where(
            _OUTBOUND.c.resident_id == resident_id,
            _OUTBOUND.c.status == OutboundStatus.PENDING,
        )
        .order_by(_OUTBOUND.c.id)
    ).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


@dataclass(frozen=True)
class Due:
    """A message to send now: where to, and what."""

    id: int
    resident_id: int
    identity_id: int
    external_id: str
    kind: str
    text: str
    attempts: int
    options: list | None = None  # [{"key", "label"}]: buttons to send with the text
    last_inbound_at: datetime | None = None  # when the resident last wrote on this chat
    language: str = "id"  # the resident's, for a platform template in their language
    reply: dict | None = None  # a direct reply in full (handlers.messages.Reply, as data)
    claim: str | None = None  # who holds it while it is being sent
    doubts: int = 0  # earlier sends of it whose outcome was unknown


# The claim's questions, each answered from a partial index of the rows it is about, so that
# a claim costs the same whatever the queue holds (the values are written out, not bound, so
# that the planners use those indexes):
# - the head of a channel's queue in the order written (priority, then id), not_before in the
#   index so that due-ness is read there; in quiet hours only what residents asked for;
# - the rows due longest (not_before), for when the head is taken up by rows not due yet (a
#   broadcast scheduled for later, rows waiting to be tried again);
# - what has outlived its expiry.
IS_PENDING = _OUTBOUND.c.status == literal_column(f"'{OutboundStatus.PENDING}'")
IS_ASKED = _OUTBOUND.c.kind.not_in([literal_column(f"'{kind}'") for kind in sorted(UNASKED)])
IS_PENDING_ASKED = and_(IS_PENDING, IS_ASKED)
IS_WAITING = _OUTBOUND.c.status.in_(
    [literal_column(f"'{status}'") for status in (OutboundStatus.PENDING, OutboundStatus.HELD)]
)
_CLAIM_ORDER = (_OUTBOUND.c.channel, _OUTBOUND.c.priority, _OUTBOUND.c.id, _OUTBOUND.c.not_before)
_DUE_ORDER = (_OUTBOUND.c.channel, _OUTBOUND.c.not_before, _OUTBOUND.c.id)
for _name, _columns, _where in (
    ("ix_outbound_claim", _CLAIM_ORDER, IS_PENDING),
    ("ix_outbound_claim_asked", _CLAIM_ORDER, IS_PENDING_ASKED),
    ("ix_outbound_due", _DUE_ORDER, IS_PENDING),
    ("ix_outbound_due_asked", _DUE_ORDER, IS_PENDING_ASKED),
    ("ix_outbound_expiry", (_OUTBOUND.c.channel, _OUTBOUND.c.expires_at), IS_WAITING),
):
    Index(_name, *_columns, sqlite_where=_where, postgresql_where=_where)

# how far down the head of the queue a claim looks for due rows before it takes the rows due
# longest instead: a bound on the rows not due yet that one claim walks past
LOOKAHEAD = 1024
# last_error of a row whose chat was marked unreachable after it was queued
UNREACHABLE = "the chat cannot be reached: it blocked the bot, or the account is gone"
# rounds of one claim when everything it took was dropped (opted out, unreachable)
CLAIM_ROUNDS = 8


def _head(pending, channel: str, now: datetime, limit: int):
    """Return the query of the first due rows in the order written among the first LOOKAHEAD
    of the channel's queue (`pending` the condition of which rows)."""
    window = (
        select(_OUTBOUND.c.id, _OUTBOUND.c.priority, _OUTBOUND.c.not_before)
        .where(_OUTBOUND.c.channel == channel, pending)
        .order_by(_OUTBOUND.c.priority, _OUTBOUND.c.id)
        .limit(LOOKAHEAD)
        .subquery("head")
    )
    # in the window's order, as both planners stream it (an ORDER BY here would make SQLite
    # sort the whole window); the claim sorts what it takes
    return select(window.c.id, window.c.priority).where(window.c.not_before <= now).limit(limit)


def _longest_due(pending, channel: str, now: datetime, limit: int):
    """Return the query of the rows of the channel due longest."""
    return (
        select(_OUTBOUND.c.id, _OUTBOUND.c.priority)
        .where(_OUTBOUND.c.channel == channel, pending, _OUTBOUND.c.not_before <= now)
        .order_by(_OUTBOUND.c.not_before, _OUTBOUND.c.id)
        .limit(limit)
    )


def claim_candidates(
    *, db: Connection, channel: str, now: datetime, quiet: bool, limit: int
) -> list[int]:
    """Return the ids of up to `limit` due rows of a channel to claim, in the order written
    (priority, then id) among the head of the queue; when fewer are due there, the rows due
    longest make up the number (in quiet hours only what residents asked for)."""
    pending = IS_PENDING_ASKED if quiet else IS_PENDING
    found = db.execute(_head(pending, channel, now, limit)).all()
    if len(found) < limit:
        seen = {row.id for row in found}
        later = db.execute(_longest_due(pending, channel, now, limit)).all()
        found += [row for row in later if row.id not in seen]
    found.sort(key=lambda row: (row.priority, row.id))
    return [row.id for row in found[:limit]]


def _lock(*, db: Connection, ids: list[int], now: datetime) -> list[int]:
    """Return those of the rows `ids` still pending and due, locked for this transaction (on
    PostgreSQL skipping rows another transaction holds; SQLite's write transaction holds the
    whole file). Read by their ids alone, so that no planner walks an index of all pending
    rows for them."""
    rows = db.execute(
        select(_OUTBOUND.c.id, _OUTBOUND.c.status, _OUTBOUND.c.not_before)
        .where(_OUTBOUND.c.id.in_(ids))
        .with_for_update(skip_locked=True)
    ).all()
    pending = [row for row in rows if row.status == OutboundStatus.PENDING]
    return [row.id for row in pending if row.not_before <= now]


def _take(ids: list[int], now: datetime, claim: str | None):
    """Return the statement that marks the locked rows `ids` `sending` under `claim`,
    returning them."""
    return (
        update(_OUTBOUND)
        .where(_OUTBOUND.c.id.in_(ids))
        .values(status=OutboundStatus.SENDING, sending_at=now, claim=claim)
        .returning(
            _OUTBOUND.c.id,
            _OUTBOUND.c.priority,
            _OUTBOUND.c.resident_id,
            _OUTBOUND.c.identity_id,
            _OUTBOUND.c.kind,
            _OUTBOUND.c.text,
            _OUTBOUND.c.attempts,
            _OUTBOUND.c.options,
            _OUTBOUND.c.reply,
            _OUTBOUND.c.doubts,
        )
    )


def _chats(*, db: Connection, taken: list) -> tuple[dict[int, object], dict[int, object]]:
    """Return the chats and the residents of the rows taken, as they are now, by their ids
    (each read by its primary key, whatever the tables hold)."""
    chats = db.execute(
        select(
            _IDENTITIES.c.id,
            _IDENTITIES.c.external_id,
            _IDENTITIES.c.last_inbound_at,
            _IDENTITIES.c.unreachable_at,
        ).where(_IDENTITIES.c.id.in_({row.identity_id for row in taken}))
    ).all()
    people = db.execute(
        select(
            _RESIDENTS.c.id, _RESIDENTS.c.language, _RESIDENTS.c.opted_out, _RESIDENTS.c.consent_at
        ).where(_RESIDENTS.c.id.in_({row.resident_id for row in taken}))
    ).all()
    return {row.id: row for row in chats}, {row.id: row for row in people}


def _sort_out(*, db: Connection, taken: list, claim: str | None) -> tuple[list[Due], list, list]:
    """Split the rows taken into those to send, those residents did not ask for to someone
    who said "berhenti" (or withdrew their consent) since, and those to a chat marked
    unreachable since."""
    chats, people = _chats(db=db, taken=taken)
    due, opted_out, unreachable = [], [], []
    for row in taken:
        chat, person = chats[row.identity_id], people[row.resident_id]
        if chat.unreachable_at is not None:
            unreachable.append(row.id)
        elif row.kind in UNASKED and (person.opted_out or person.consent_at is None):
            opted_out.append(row.id)
        else:
            fields = row._asdict()
            del fields["priority"]
            fields.update(external_id=chat.external_id, last_inbound_at=chat.last_inbound_at)
            due.append(Due(**fields, language=person.language, claim=claim))
    return due, opted_out, unreachable


def expire(*, db: Connection, channel: str, now: datetime) -> int:
    """Mark what of a channel waits past its expiry (a reminder whose event began) `expired`,
    never to be sent; return how many."""
    done = db.execute(
        update(_OUTBOUND)
        .where(_OUTBOUND.c.channel == channel, IS_WAITING, _OUTBOUND.c.expires_at <= now)
        .values(status=OutboundStatus.EXPIRED, last_error=TOO_LATE)
    )
    return done.rowcount


def claim(
    *,
    db: Connection,
    channel: str,
    now: datetime,
    quiet: bool,
    limit: int = 50,
    claim: str | None = None,
) -> list[Due]:
    """Take the due messages of a channel, first by priority then oldest, and mark them
    `sending` under `claim` (who sends them); commit before sending them. In quiet hours what
    residents did not ask for (announcements, surveys, feedback invitations) waits. What is
    past its expiry becomes `expired`. Of the rows taken, one residents did not ask for to
    someone who said "berhenti" (or withdrew their consent) since it was written is cancelled
    with the reason, and one to a chat marked unreachable since is failed; neither is returned.
    The work is the same whatever the queue holds: each question is read from its index, and
    the chats and residents are read for the rows taken only."""
    expire(db=db, channel=channel, now=now)
    for _round in range(CLAIM_ROUNDS):
        ids = claim_candidates(db=db, channel=channel, now=now, quiet=quiet, limit=limit)
        ids = _lock(db=db, ids=ids, now=now) if ids else []
        if not ids:
            return []
        taken = sorted(db.execute(_take(ids, now, claim)).all(), key=lambda r: (r.priority, r.id))
        due, opted_out, unreachable = _sort_out(db=db, taken=taken, claim=claim)
        for dropped, status, reason in (
            (opted_out, OutboundStatus.CANCELLED, OPTED_OUT),
            (unreachable, OutboundStatus.FAILED, UNREACHABLE),
        ):
            if dropped:
                db.execute(
                    update(_OUTBOUND)
                    .where(_OUTBOUND.c.id.in_(dropped))
                    .values(status=status, last_error=reason)
                )
        if due or not (opted_out or unreachable):
            return due
    return []


def mark_sent(
    *,
    db: Connection,
    outbound_id: int,
    now: datetime,
    platform_id: str | None = None,
    claim: str | None = None,
) -> bool:
    """Record that a message was handed over, with the platform's id for it if it gave one;
    return whether it was recorded. Given a `claim`, only while that claim holds it: still
    `sending` under it, or put back pending as abandoned and not claimed again since (a
    sender that froze and woke: the doubt the sweep added is settled, as it went once)."""
    where = [_OUTBOUND.c.id == outbound_id, _OUTBOUND.c.status == OutboundStatus.SENDING]
    doubts = _OUTBOUND.c.doubts
    if claim is not None:
        where = [
            _OUTBOUND.c.id == outbound_id,
            _OUTBOUND.c.claim == claim,
            _OUTBOUND.c.status.in_((OutboundStatus.SENDING, OutboundStatus.PENDING)),
        ]
        swept = and_(
            _OUTBOUND.c.status == OutboundStatus.PENDING,
            _OUTBOUND.c.last_error == ABANDONED,
            _OUTBOUND.c.doubts > 0,
        )
        doubts = case((swept, _OUTBOUND.c.doubts - 1), else_=_OUTBOUND.c.doubts)
    done = db.execute(
        update(_OUTBOUND)
        .where(*where)
        .values(
            status=OutboundStatus.SENT,
            sent_at=now,
            attempts=_OUTBOUND.c.attempts + 1,
            platform_id=platform_id,
            doubts=doubts,
        )
    )
    return done.rowcount == 1


def _being_sent(outbound_id: int, claim: str | None) -> list:
    """Return the conditions of a row still `sending`, under `claim` when one is given: the
    only row whose outcome a sender may record."""
    where = [_OUTBOUND.c.id == outbound_id, _OUTBOUND.c.status == OutboundStatus.SENDING]
    if claim is not None:
        where.append(_OUTBOUND.c.claim == claim)
    return where


def hold(*, db: Connection, outbound_id: int, reason: str, claim: str | None = None) -> None:
    """Keep a message back, with the reason, until the resident writes again (given a
    `claim`, only while it holds the row)."""
    db.execute(
        update(_OUTBOUND)
        .where(*_being_sent(outbound_id, claim))
        .values(status=OutboundStatus.HELD, last_error=reason[:200])
    )


def release_held(
    *, db: Connection, resident_id: int, identity_id: int, channel: str, now: datetime
) -> int:
    """Put the messages held for a resident back in the queue, to the chat they just wrote
    from (where they can be written to now); return how many."""
    done = db.execute(
        update(_OUTBOUND)
        .where(_OUTBOUND.c.resident_id == resident_id, _OUTBOUND.c.status == OutboundStatus.HELD)
        .values(
            status=OutboundStatus.PENDING, not_before=now, identity_id=identity_id, channel=channel
        )
    )
    return done.rowcount


@dataclass(frozen=True)
class Reported:
    """A sent message the platform reported on: which row, to whom."""

    id: int
    resident_id: int
    identity_id: int
    kind: str
    status: str
    sent_at: datetime | None


def record_delivery(
    *,
    db: Connection,
    platform_id: str,
    delivery: Delivery,
    at: datetime,
    error: str | None = None,
) -> Reported | None:
    """Record what the platform reported of a sent message, never moving it back (delivered
    after read); return the row, or None when no sent row has that id."""
    row = db.execute(
        select(
            _OUTBOUND.c.id,
            _OUTBOUND.c.resident_id,
            _OUTBOUND.c.identity_id,
            _OUTBOUND.c.kind,
            _OUTBOUND.c.status,
            _OUTBOUND.c.delivery,
            _OUTBOUND.c.sent_at,
        ).where(_OUTBOUND.c.platform_id == platform_id)
    ).first()
    if row is None:
        return None
    before = DELIVERY_ORDER.get(row.delivery, 0)
    if DELIVERY_ORDER[delivery] > before:
        db.execute(
            update(_OUTBOUND)
            .where(_OUTBOUND.c.id == row.id)
            .values(
                delivery=delivery,
                delivery_at=at,
                delivery_error=error[:200] if error else None,
            )
        )
    return Reported(row.id, row.resident_id, row.identity_id, row.kind, row.status, row.sent_at)


def send_again(*, db: Connection, outbound_id: int, now: datetime, reason: str) -> bool:
    """Put a message the platform accepted but then could not deliver back in the queue (e.g.
    WhatsApp's window had closed: it goes again as a template); return whether it was."""
    done = db.execute(
        update(_OUTBOUND)
        .where(_OUTBOUND.c.id == outbound_id, _OUTBOUND.c.status == OutboundStatus.SENT)
        .values(
            status=OutboundStatus.PENDING,
            not_before=now,
            platform_id=None,
            delivery=None,  # the next send's reports start afresh
            delivery_error=None,
            delivery_at=None,
            last_error=reason[:200],
        )
    )
    return done.rowcount == 1


def retry_later(
    *,
    db: Connection,
    outbound_id: int,
    at: datetime,
    error: str,
    counts: bool = True,
    doubtful: bool = False,
    claim: str | None = None,
) -> bool:
    """Put a message back in the queue until `at`; return whether it was. `counts` adds the
    try to its attempts (a platform asking us to slow down, or out of reach, is no failed try);
    `doubtful` adds one to its doubts instead (no answer came: it may have arrived). Given a
    `claim`, only while that claim holds the row."""
    values = {"status": OutboundStatus.PENDING, "not_before": at, "last_error": error[:200]}
    if doubtful:
        values["doubts"] = _OUTBOUND.c.doubts + 1
    elif counts:
        values["attempts"] = _OUTBOUND.c.attempts + 1
    done = db.execute(
        # only a row this sender still holds: one another took over stays as it has it
        update(_OUTBOUND).where(*_being_sent(outbound_id, claim)).values(**values)
    )
    return done.rowcount == 1


def hand_back(*, db: Connection, outbound_id: int, at: datetime, error: str, claim: str) -> None:
    """Put back a message claimed under `claim` and never handed to the platform (the queue
    paused, its chat's turn, the platform out of reach) until `at`, keeping its tries. One swept
    back meanwhile as abandoned under that claim loses the doubt the sweep gave it, and the
    wait: it did not leave, so nothing of it can still be on its way."""
    if retry_later(db=db, outbound_id=outbound_id, at=at, error=error, counts=False, claim=claim):
        return
    db.execute(
        update(_OUTBOUND)
        .where(
            _OUTBOUND.c.id == outbound_id,
            _OUTBOUND.c.claim == claim,
            _OUTBOUND.c.status == OutboundStatus.PENDING,
            _OUTBOUND.c.last_error == ABANDONED,
            _OUTBOUND.c.doubts > 0,
        )
        .values(doubts=_OUTBOUND.c.doubts - 1, last_error=error[:200], not_before=at)
    )


def mark_failed(*, db: Connection, outbound_id: int, error: str, claim: str | None = None) -> None:
    """Give a message up, with the reason (given a `claim`, only while it holds the row)."""
    db.execute(
        update(_OUTBOUND)
        .where(*_being_sent(outbound_id, claim))
        .values(
            status=OutboundStatus.FAILED,
            last_error=error[:200],
            attempts=_OUTBOUND.c.attempts + 1,
        )
    )


def fail_unreachable(*, db: Connection, identity_id: int, error: str) -> int:
    """Give up every waiting message to a chat identity that cannot be reached; return how many."""
    done = db.execute(
        update(_OUTBOUND)
        .where(
            _OUTBOUND.c.identity_id == identity_id,
            _OUTBOUND.c.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING)),
        )
        .values(status=OutboundStatus.FAILED, last_error=error[:200])
    )
    return done.rowcount


def prune_replies(*, db: Connection, older_than: datetime) -> int:
    """Delete the rows of direct replies written before `older_than` that are done with (sent,
    failed, expired or cancelled); return how many."""
    done = db.execute(
        _OUTBOUND.delete().where(
            _OUTBOUND.c.kind == OutboundKind.REPLY,
            _OUTBOUND.c.created_at < older_than,
            _OUTBOUND.c.status.not_in(
                (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.HELD)
            ),
        )
    )
    return done.rowcount


def sending_claims(*, db: Connection, channel: str) -> list[str]:
    """Return the claims under which messages of a channel are being sent now."""
    rows = db.execute(
        select(_OUTBOUND.c.claim)
        .where(_OUTBOUND.c.channel == channel, _OUTBOUND.c.status == OutboundStatus.SENDING)
        .distinct()
    ).all()
    return [row.claim for row in rows if row.claim]


def recover_claims(*, db: Connection, channel: str, claims: list[str], now: datetime) -> int:
    """Put back at once the messages left `sending` under claims whose sender is known to be
    gone; each gets a doubt, as it may have arrived. Return how many."""
    if not claims:
        return 0
    done = db.execute(
        update(_OUTBOUND)
        .where(
            _OUTBOUND.c.channel == channel,
            _OUTBOUND.c.status == OutboundStatus.SENDING,
            _OUTBOUND.c.claim.in_(claims),
        )
        .values(
            status=OutboundStatus.PENDING,
            not_before=now,
            doubts=_OUTBOUND.c.doubts + 1,
            last_error=ABANDONED,
        )
    )
    return done.rowcount


def recover_abandoned(
    *,
    db: Connection,
    channel: str,
    now: datetime,
    older_than: timedelta,
    keep: str | None = None,
    wait: timedelta = timedelta(0),
) -> int:
    """Put back in the queue, due `wait` from now, the messages of a channel left `sending`
    for longer than `older_than` (a lease term) by a claim other than `keep` (the drain's
    own): their sender died or froze while it had them in hand. Each gets one more doubt, as it
    may have arrived, and keeps its old claim, under which it may still be recorded as sent
    until it is claimed again (a frozen sender that wakes within `wait`). Return how many."""
    others = _OUTBOUND.c.claim.is_(None)
    if keep is not None:
        others = or_(others, _OUTBOUND.c.claim != keep)
    done = db.execute(
        update(_OUTBOUND)
        .where(
            _OUTBOUND.c.channel == channel,
            _OUTBOUND.c.status == OutboundStatus.SENDING,
            or_(_OUTBOUND.c.sending_at.is_(None), _OUTBOUND.c.sending_at <= now - older_than),
            others,
        )
        .values(
            status=OutboundStatus.PENDING,
            not_before=now + wait,
            doubts=_OUTBOUND.c.doubts + 1,
            last_error=ABANDONED,
        )
    )
    return done.rowcount
