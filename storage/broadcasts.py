"""Broadcasts (siaran): an announcement to a segment of residents, queued in the outbound table
in one statement (100,000 residents in a few seconds), and its report from those rows.

Who gets it: residents who agreed to the privacy notice, in the segment, who did not say
"berhenti", on the chat they wrote from last that can be reached. Those who said "berhenti" are
counted as skipped. Staff limited to a kelurahan reach only residents of that kelurahan.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, Connection, Select, Text, and_, func, literal, select, update
from sqlmodel import Field, SQLModel

from storage.outbox import SURVEY_CLOSED, Outbound, OutboundKind, OutboundStatus
from storage.places import Kelurahan
from storage.registry import PROGRAM_SEPARATOR
from storage.residents import ChannelIdentity, Resident
from storage.training import Course, CourseBatch, Enrolment, EnrolmentStatus
from storage.types import UTCDateTime

REPEAT_WINDOW = timedelta(hours=24)  # the same text to the same people again asks twice
# an announcement held back (WhatsApp outside its window) is dropped after this
CURRENT_FOR = timedelta(days=7)


class SegmentKind(StrEnum):
    """Whom a broadcast reaches."""

    EVERYONE = "everyone"
    KELURAHAN = "kelurahan"  # value: the kelurahan's code
    RW = "rw"  # value: "<kelurahan code>:<rw>"
    PROGRAM = "program"  # value: a program code (PKH, BPNT…), from residents' status checks
    COURSE = "course"  # value: a course code: its confirmed enrolees, all batches
    BATCH = "batch"  # value: a batch code
    LANGUAGE = "language"  # value: id or en
    CHANNEL = "channel"  # value: telegram, whatsapp or console


@dataclass(frozen=True)
class Segment:
    """A segment: its kind and value."""

    kind: SegmentKind
    value: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "value": self.value}

    @classmethod
    def from_dict(cls, data: dict) -> "Segment":
        return cls(SegmentKind(data["kind"]), data.get("value", ""))


class BroadcastStatus(StrEnum):
    """Where a broadcast stands."""

    QUEUED = "queued"  # its messages are in the outbound table (maybe for a later time)
    DONE = "done"  # every message sent, failed or skipped; the report went to its sender
    RECURRING = "recurring"  # a plan: the clock queues a copy at each time of its schedule
    STOPPED = "stopped"  # a recurring plan ended by staff


class Broadcast(SQLModel, table=True):
    """One announcement to a segment, or a recurring plan of them."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    segment: dict = Field(sa_type=JSON)
    text: str = Field(sa_type=Text)
    text_hash: str = Field(max_length=64, index=True)
    status: str = Field(max_length=12, index=True)
    send_at: datetime = Field(sa_type=UTCDateTime)
    # a recurring plan: crontab fields (minute hour day month weekday), local time
    cron: str | None = Field(default=None, max_length=60)
    plan_id: int | None = Field(default=None, foreign_key="broadcasts.id")  # a plan's copy
    created_by: str = Field(max_length=40)  # the staff login
    kelurahan_limit: str | None = Field(default=None, max_length=16)  # the sender's limit
    # the chat to report progress to (the sender's, if they have one)
    report_channel: str | None = Field(default=None, max_length=16)
    report_external_id: str | None = Field(default=None, max_length=64)
    recipients: int = 0
    skipped_opted_out: int = 0
    reported_percent: int = 0  # progress last reported to the sender
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


_BROADCASTS = Broadcast.__table__
_OUTBOUND = Outbound.__table__
_RESIDENTS = Resident.__table__
_IDENTITIES = ChannelIdentity.__table__
_ENROLMENTS = Enrolment.__table__
_BATCHES = CourseBatch.__table__
_COURSES = Course.__table__
_KELURAHAN = Kelurahan.__table__


def text_hash(text: str) -> str:
    """Return a fingerprint of a text, the same whatever its spacing and case."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


def _chats(channel: str | None) -> Select:
    """Each resident's chat to write to: reachable, the one they wrote from last first."""
    rank = (
        func.row_number()
        .over(
            partition_by=_IDENTITIES.c.resident_id,
            order_by=(
                _IDENTITIES.c.last_inbound_at.is_(None),
                _IDENTITIES.c.last_inbound_at.desc(),
                _IDENTITIES.c.id.desc(),
            ),
        )
        .label("rank")
    )
    query = select(_IDENTITIES.c.id, _IDENTITIES.c.resident_id, _IDENTITIES.c.channel, rank).where(
        _IDENTITIES.c.unreachable_at.is_(None)
    )
    if channel:
        query = query.where(_IDENTITIES.c.channel == channel)
    return query


def _filters(segment: Segment, kelurahan_limit: str | None) -> list:
    """Return the conditions on residents of a segment (and of the sender's kelurahan)."""
    where = [_RESIDENTS.c.consent_at.is_not(None)]
    if kelurahan_limit:
        where.append(_RESIDENTS.c.kelurahan_code == kelurahan_limit)
    kind, value = segment.kind, segment.value
    if kind == SegmentKind.KELURAHAN:
        where.append(_RESIDENTS.c.kelurahan_code == value)
    elif kind == SegmentKind.RW:
        code, _sep, rw = value.partition(":")
        where += [_RESIDENTS.c.kelurahan_code == code, _RESIDENTS.c.rw == int(rw or 0)]
    elif kind == SegmentKind.PROGRAM:
        separated = (
            literal(PROGRAM_SEPARATOR)
            + _RESIDENTS.c.registry_programs
            + literal(PROGRAM_SEPARATOR)
        )
        code = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{PROGRAM_SEPARATOR}{code}{PROGRAM_SEPARATOR}%"
        where.append(separated.like(pattern, escape="\\"))  # KJP_PLUS: "_" is a letter here
    elif kind in (SegmentKind.COURSE, SegmentKind.BATCH):
        enrolled = (
            select(_ENROLMENTS.c.resident_id)
            .join(_BATCHES, _BATCHES.c.id == _ENROLMENTS.c.batch_id)
            .join(_COURSES, _COURSES.c.id == _BATCHES.c.course_id)
            .where(_ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED)
        )
        column = _COURSES.c.code if kind == SegmentKind.COURSE else _BATCHES.c.code
        where.append(_RESIDENTS.c.id.in_(enrolled.where(column == value)))
    elif kind == SegmentKind.LANGUAGE:
        where.append(_RESIDENTS.c.language == value)
    return where


def recipients(segment: Segment, kelurahan_limit: str | None, *, opted_out: bool) -> Select:
    """Select (resident, identity, channel, language, kelurahan) of a segment's residents,
    opted out or not."""
    channel = segment.value if segment.kind == SegmentKind.CHANNEL else None
    chats = _chats(channel).subquery()
    return (
        select(
            _RESIDENTS.c.id.label("resident_id"),
            chats.c.id.label("identity_id"),
            chats.c.channel,
            _RESIDENTS.c.language,
            _RESIDENTS.c.kelurahan_code,
        )
        .join(chats, and_(chats.c.resident_id == _RESIDENTS.c.id, chats.c.rank == 1))
        .where(*_filters(segment, kelurahan_limit), _RESIDENTS.c.opted_out.is_(opted_out))
    )


@dataclass(frozen=True)
class Preview:
    """Who a broadcast would reach: how many, how many skipped (said "berhenti"), and how many
    of them got the same text in the last 24 hours."""

    recipients: int
    skipped_opted_out: int
    repeated: int


def preview(
    *, db: Connection, segment: Segment, text: str, kelurahan_limit: str | None, now: datetime
) -> Preview:
    """Count a broadcast's recipients before it is sent."""
    reach = recipients(segment, kelurahan_limit, opted_out=False).subquery()
    count = db.execute(select(func.count()).select_from(reach)).scalar_one()
    skipped = db.execute(
        select(func.count()).select_from(
            recipients(segment, kelurahan_limit, opted_out=True).subquery()
        )
    ).scalar_one()
    recent = select(_BROADCASTS.c.id).where(
        _BROADCASTS.c.text_hash == text_hash(text),
        _BROADCASTS.c.send_at >= now - REPEAT_WINDOW,  # sent, or to be sent, within a day
        _BROADCASTS.c.send_at <= now + REPEAT_WINDOW,
        _BROADCASTS.c.status.in_((BroadcastStatus.QUEUED, BroadcastStatus.DONE)),
    )
    repeated = db.execute(
        select(func.count(func.distinct(_OUTBOUND.c.resident_id))).where(
            _OUTBOUND.c.broadcast_id.in_(recent),
            _OUTBOUND.c.resident_id.in_(select(reach.c.resident_id)),
        )
    ).scalar_one()
    return Preview(count, skipped, repeated)


def record(
    *,
    db: Connection,
    segment: Segment,
    text: str,
    status: BroadcastStatus,
    send_at: datetime,
    created_by: str,
    kelurahan_limit: str | None,
    report_to: tuple[str, str] | None,
    now: datetime,
    plan_id: int | None = None,
    cron: str | None = None,
) -> int:
    """Write a broadcast's row (a one-off, a recurring plan or a plan's copy); return its id."""
    created = db.execute(
        _BROADCASTS.insert().values(
            segment=segment.as_dict(),
            text=text,
            text_hash=text_hash(text),
            status=status,
            send_at=send_at,
            cron=cron,
            plan_id=plan_id,
            created_by=created_by,
            kelurahan_limit=kelurahan_limit,
            report_channel=report_to[0] if report_to else None,
            report_external_id=report_to[1] if report_to else None,
            created_at=now,
        )
    )
    return created.inserted_primary_key[0]


def queue(
    *,
    db: Connection,
    segment: Segment,
    text: str,
    created_by: str,
    now: datetime,
    send_at: datetime | None = None,
    kelurahan_limit: str | None = None,
    report_to: tuple[str, str] | None = None,
    plan_id: int | None = None,
) -> tuple[int, int, int]:
    """Record a broadcast and queue its messages, in one transaction; return its id, how many
    were queued and how many skipped for having said "berhenti"."""
    at = send_at or now
    broadcast_id = record(
        db=db,
        segment=segment,
        text=text,
        status=BroadcastStatus.QUEUED,
        send_at=at,
        created_by=created_by,
        kelurahan_limit=kelurahan_limit,
        report_to=report_to,
        now=now,
        plan_id=plan_id,
    )
    reach = recipients(segment, kelurahan_limit, opted_out=False).subquery()
    add_messages(
        db=db,
        broadcast_id=broadcast_id,
        reach=select(reach.c.resident_id, reach.c.identity_id, reach.c.channel),
        kind=OutboundKind.ANNOUNCEMENT,
        text=text,
        at=at,
        now=now,
    )
    queued, skipped = count_reach(
        db=db, broadcast_id=broadcast_id, segment=segment, kelurahan_limit=kelurahan_limit
    )
    return broadcast_id, queued, skipped


def add_messages(
    *,
    db: Connection,
    broadcast_id: int,
    reach: Select,
    kind: OutboundKind,
    text: str,
    at: datetime,
    now: datetime,
    options: list[dict[str, str]] | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Queue a broadcast's message, with its buttons if any, for each row of `reach`
    (resident_id, identity_id, channel), in one INSERT … SELECT; not sent after
    `expires_at` (by default CURRENT_FOR after `at`)."""
    values = {
        "resident_id": reach.selected_columns[0],
        "identity_id": reach.selected_columns[1],
        "channel": reach.selected_columns[2],
        "kind": literal(kind.value),
        "text": literal(text),
        "not_before": literal(at, UTCDateTime),
        "expires_at": literal(expires_at or at + CURRENT_FOR, UTCDateTime),
        "status": literal(OutboundStatus.PENDING.value),
        "attempts": literal(0),
        "created_at": literal(now, UTCDateTime),
        "broadcast_id": literal(broadcast_id),
    }
    if options is not None:
        values["options"] = literal(options, _OUTBOUND.c.options.type)
    rows = reach.with_only_columns(*values.values())
    db.execute(_OUTBOUND.insert().from_select(list(values), rows))


def count_reach(
    *, db: Connection, broadcast_id: int, segment: Segment, kelurahan_limit: str | None
) -> tuple[int, int]:
    """Record and return how many messages a broadcast queued and how many residents of its
    segment were skipped for having said "berhenti"."""
    # counted, not taken from the driver's rowcount (PostgreSQL's is -1 for INSERT … SELECT)
    queued = db.execute(
        select(func.count()).where(_OUTBOUND.c.broadcast_id == broadcast_id)
    ).scalar_one()
    skipped = db.execute(
        select(func.count()).select_from(
            recipients(segment, kelurahan_limit, opted_out=True).subquery()
        )
    ).scalar_one()
    db.execute(
        update(_BROADCASTS)
        .where(_BROADCASTS.c.id == broadcast_id)
        .values(recipients=queued, skipped_opted_out=skipped)
    )
    return queued, skipped


@dataclass(frozen=True)
class Report:
    """How a broadcast went: its messages by outcome."""

    broadcast_id: int
    recipients: int
    sent: int
    failed: int
    blocked: int  # the account blocked the bot or is gone
    skipped_opted_out: int  # said "berhenti", before or after it was queued
    held: int  # WhatsApp: outside the 24-hour window with no template
    waiting: int  # not sent yet
    erased: int = 0  # residents who erased their data since: their messages are gone
    withdrawn: int = 0  # a survey's invitations not sent when it was closed
    expired: int = 0  # not sent within their useful life (an outage, a long pause): dropped
    maybe_doubled: int = 0  # of the sent, those sent again after no answer: maybe twice

    @property
    def finished(self) -> bool:
        """Tell whether nothing of it waits any more."""
        return self.waiting == 0


def report(*, db: Connection, broadcast_id: int) -> Report | None:
    """Count a broadcast's messages by outcome."""
    found = db.execute(
        select(_BROADCASTS.c.recipients, _BROADCASTS.c.skipped_opted_out).where(
            _BROADCASTS.c.id == broadcast_id
        )
    ).first()
    if found is None:
        return None
    rows = db.execute(
        select(
            _OUTBOUND.c.status,
            _IDENTITIES.c.unreachable_at.is_not(None).label("blocked"),
            (_OUTBOUND.c.last_error == SURVEY_CLOSED).label("withdrawn"),
            (_OUTBOUND.c.doubts > 0).label("doubted"),
            func.count(),
        )
        .join(_IDENTITIES, _IDENTITIES.c.id == _OUTBOUND.c.identity_id)
        .where(_OUTBOUND.c.broadcast_id == broadcast_id)
        .group_by(_OUTBOUND.c.status, "blocked", "withdrawn", "doubted")
    ).all()
    names = ("sent", "failed", "blocked", "cancelled", "withdrawn", "held", "expired", "doubled")
    counts = dict.fromkeys(names, 0)
    counts["waiting"] = 0
    for status, blocked, withdrawn, doubted, count in rows:
        if status == OutboundStatus.SENT:
            counts["sent"] += count
            counts["doubled"] += count if doubted else 0
        elif status == OutboundStatus.EXPIRED:
            counts["expired"] += count
        elif status == OutboundStatus.FAILED:
            counts["blocked" if blocked else "failed"] += count
        elif status == OutboundStatus.CANCELLED:
            counts["withdrawn" if withdrawn else "cancelled"] += count
        elif status == OutboundStatus.HELD:
            counts["held"] += count
        else:
            counts["waiting"] += count
    return Report(
        broadcast_id,
        found.recipients,
        counts["sent"],
        counts["failed"],
        counts["blocked"],
        found.skipped_opted_out + counts["cancelled"],
        counts["held"],
        counts["waiting"],
        max(0, found.recipients - sum(row[-1] for row in rows)),
        counts["withdrawn"],
        counts["expired"],
        counts["doubled"],
    )


def get(*, db: Connection, broadcast_id: int) -> Broadcast | None:
    """Return a broadcast."""
    row = db.execute(select(_BROADCASTS).where(_BROADCASTS.c.id == broadcast_id)).first()
    return Broadcast.model_validate(row._asdict()) if row else None


def in_progress(*, db: Connection) -> list[Broadcast]:
    """Return the queued broadcasts not yet reported done."""
    rows = db.execute(
        select(_BROADCASTS).where(_BROADCASTS.c.status == BroadcastStatus.QUEUED)
    ).all()
    return [Broadcast.model_validate(row._asdict()) for row in rows]


def mark_progress(*, db: Connection, broadcast_id: int, percent: int) -> bool:
    """Record the progress reported to the sender; return whether it is news (once only,
    whichever process gets there first)."""
    done = db.execute(
        update(_BROADCASTS)
        .where(_BROADCASTS.c.id == broadcast_id, _BROADCASTS.c.reported_percent < percent)
        .values(reported_percent=percent)
    )
    return done.rowcount == 1


def mark_done(*, db: Connection, broadcast_id: int, now: datetime) -> bool:
    """Record that a broadcast finished (once); return whether this call did."""
    done = db.execute(
        update(_BROADCASTS)
        .where(_BROADCASTS.c.id == broadcast_id, _BROADCASTS.c.status == BroadcastStatus.QUEUED)
        .values(status=BroadcastStatus.DONE, done_at=now)
    )
    return done.rowcount == 1


def plan(
    *,
    db: Connection,
    segment: Segment,
    text: str,
    cron: str,
    next_at: datetime,
    created_by: str,
    now: datetime,
    kelurahan_limit: str | None = None,
    report_to: tuple[str, str] | None = None,
) -> int:
    """Record a recurring broadcast; the clock queues a copy at each of its times (`cron`:
    minute hour day month weekday, local time; checked by the caller with `valid_cron`)."""
    return record(
        db=db,
        segment=segment,
        text=text,
        status=BroadcastStatus.RECURRING,
        send_at=next_at,
        created_by=created_by,
        kelurahan_limit=kelurahan_limit,
        report_to=report_to,
        now=now,
        cron=cron,
    )


def plans_due(*, db: Connection, now: datetime) -> list[Broadcast]:
    """Return the recurring plans whose next time has come, locked against another clock."""
    rows = db.execute(
        select(_BROADCASTS)
        .where(_BROADCASTS.c.status == BroadcastStatus.RECURRING, _BROADCASTS.c.send_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    return [Broadcast.model_validate(row._asdict()) for row in rows]


def due_plan(*, db: Connection, plan_id: int, now: datetime) -> Broadcast | None:
    """Return a recurring plan if its time has come, locked against another clock; None when
    it is not due (any more)."""
    row = db.execute(
        select(_BROADCASTS)
        .where(
            _BROADCASTS.c.id == plan_id,
            _BROADCASTS.c.status == BroadcastStatus.RECURRING,
            _BROADCASTS.c.send_at <= now,
        )
        .with_for_update(skip_locked=True)
    ).first()
    return Broadcast.model_validate(row._asdict()) if row else None


def next_time(*, db: Connection, plan_id: int, at: datetime) -> None:
    """Move a recurring plan to its next time."""
    db.execute(update(_BROADCASTS).where(_BROADCASTS.c.id == plan_id).values(send_at=at))


def running_plans(*, db: Connection, kelurahan_limit: str | None) -> list[Broadcast]:
    """Return the recurring plans running (those of a kelurahan, for a limited account),
    newest first."""
    query = select(_BROADCASTS).where(_BROADCASTS.c.status == BroadcastStatus.RECURRING)
    if kelurahan_limit:
        query = query.where(_BROADCASTS.c.kelurahan_limit == kelurahan_limit)
    rows = db.execute(query.order_by(_BROADCASTS.c.id.desc())).all()
    return [Broadcast.model_validate(row._asdict()) for row in rows]


def stop_plan(*, db: Connection, plan_id: int) -> bool:
    """End a recurring plan; return whether there was one running."""
    done = db.execute(
        update(_BROADCASTS)
        .where(_BROADCASTS.c.id == plan_id, _BROADCASTS.c.status == BroadcastStatus.RECURRING)
        .values(status=BroadcastStatus.STOPPED)
    )
    return done.rowcount == 1


def kelurahan_code(*, db: Connection, word: str) -> str | None:
    """Return a kelurahan's code from its code or name ("klender", "Pondok Bambu")."""
    wanted = " ".join(word.lower().replace("kelurahan", "").split())
    for code, name in db.execute(select(_KELURAHAN.c.code, _KELURAHAN.c.name)).all():
        if wanted in (code.lower(), " ".join(name.lower().split())):
            return code
    return None
