"""The rows of the exports (`python -m bot export`): feedback, complaints (with questions to
staff) and enrolments as a role may see them, and the messages the bot did not understand.
Admin and staff get the resident's name and phone (its last four digits);
an evaluator gets no name and no phone, only kelurahan and RW. An anonymous complaint never
says who sent it, to anyone. A kelurahan-limited account gets only its kelurahan. Never a NIK:
none is stored in these tables, and any run of 16 digits in a text is blanked all the same."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, literal, select
from sqlalchemy.orm import aliased

from storage.complaints import Complaint, ComplaintKind, ComplaintStatus
from storage.health import HealthEvent, HealthSlot
from storage.misses import misses_between
from storage.places import Kelurahan
from storage.ratings import Rated, Rating
from storage.redaction import redact
from storage.residents import Resident
from storage.schedules import Distribution
from storage.staff import Member, Role
from storage.training import (
    Attendance,
    BatchSession,
    Course,
    CourseBatch,
    Enrolment,
    EnrolmentStatus,
)

WHAT = ("feedback", "complaints", "enrolments", "misses")
SEES_PEOPLE = frozenset({Role.ADMIN, Role.STAFF})  # names and phones; evaluators do not
ANONYMOUS = "anonim"
NOBODY = "-"
# 16 digits or more, maybe grouped by spaces, dots or dashes: what could be a NIK
_LONG_NUMBER = re.compile(r"(?<!\d)(?:\d[\s.\-]?){15,}\d(?!\d)")
_REMOVED = "[nomor dihapus]"
# control characters an XLSX file cannot hold (tab, newline and carriage return it can)
SUBJECTS = {
    Rated.DISTRIBUTION: "sembako",
    Rated.BATCH: "course",
    Rated.SLOT: "health",
    Rated.GENERAL: "general",  # "Beri masukan", at any time; its program says about what
}
KINDS = {
    ComplaintKind.COMPLAINT: "pengaduan",
    ComplaintKind.PROPOSAL: "usul",
    ComplaintKind.DISPUTE: "sanggah",
    ComplaintKind.SUGGESTION: "saran",
    ComplaintKind.QUESTION: "pertanyaan",
}
_RATINGS = Rating.__table__
_RESIDENTS = Resident.__table__
_KELURAHAN = Kelurahan.__table__
_DISTRIBUTIONS = Distribution.__table__
_BATCHES = CourseBatch.__table__
_COURSES = Course.__table__
_SESSIONS = BatchSession.__table__
_ENROLMENTS = Enrolment.__table__
_ATTENDANCE = Attendance.__table__
_SLOTS = HealthSlot.__table__
_EVENTS = HealthEvent.__table__
_COMPLAINTS = Complaint.__table__

Cell = str | int | float | datetime | None


@dataclass(frozen=True)
class Span:
    """The moments an export covers: [start, end), either open."""

    start: datetime | None
    end: datetime | None

    def where(self, column):
        """Return the condition that a column falls in the span."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return and_(literal(True), *conditions)


@dataclass(frozen=True)
class Table:
    """What an export writes: the header and the rows."""

    columns: tuple[str, ...]
    rows: list[list[Cell]]


def no_long_numbers(text: str) -> str:
    """Blank any run of 16 digits or more (maybe grouped), and whatever reads as a NIK or a
    phone number (storage.redaction): never anything like either in an export."""
    return redact(_LONG_NUMBER.sub(_REMOVED, text))


def sees_people(member: Member) -> bool:
    """Tell whether an account may see residents' names and phones."""
    return member.role in SEES_PEOPLE


def masked_phone(phone: str | None) -> str:
    """Show a phone by its last four digits only: …7890."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return "…" + digits[-4:] if digits else ""


def feedback(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """The ratings given (scored), oldest first."""
    kelurahan_code = func.coalesce(_RESIDENTS.c.kelurahan_code, _DISTRIBUTIONS.c.kelurahan_code)
    what = func.coalesce(_DISTRIBUTIONS.c.place, _BATCHES.c.code, _EVENTS.c.code)
    query = (
        select(
            _RATINGS.c.rated_at,
            _RATINGS.c.subject,
            what.label("what"),
            _KELURAHAN.c.name.label("kelurahan"),
            _RESIDENTS.c.rw,
            _RATINGS.c.score,
            _RATINGS.c.program,
            _RATINGS.c.comment,
            _RESIDENTS.c.name,
            _RESIDENTS.c.phone,
        )
        .select_from(_RATINGS)
        .outerjoin(_RESIDENTS, _RESIDENTS.c.id == _RATINGS.c.resident_id)
        .outerjoin(
            _DISTRIBUTIONS,
            and_(
                _RATINGS.c.subject == Rated.DISTRIBUTION,
                _DISTRIBUTIONS.c.id == _RATINGS.c.subject_id,
            ),
        )
        .outerjoin(
            _BATCHES,
            and_(_RATINGS.c.subject == Rated.BATCH, _BATCHES.c.id == _RATINGS.c.subject_id),
        )
        .outerjoin(
            _SLOTS, and_(_RATINGS.c.subject == Rated.SLOT, _SLOTS.c.id == _RATINGS.c.subject_id)
        )
        .outerjoin(_EVENTS, _EVENTS.c.id == _SLOTS.c.event_id)
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == kelurahan_code)
        .where(
            _RATINGS.c.score.is_not(None),
            _RATINGS.c.rated_at.is_not(None),
            span.where(_RATINGS.c.rated_at),
        )
        .order_by(_RATINGS.c.rated_at, _RATINGS.c.id)
    )
    if member.kelurahan_code is not None:
        query = query.where(kelurahan_code == member.kelurahan_code)
    people = sees_people(member)
    columns = ("rated_at", "subject", "what", "kelurahan", "rw", "score", "program", "comment")
    rows = []
    for row in db.execute(query):
        cells: list[Cell] = [
            row.rated_at,
            SUBJECTS.get(row.subject, row.subject),
            row.what,
            row.kelurahan,
            row.rw,
            row.score,
            row.program,
            no_long_numbers(row.comment) if row.comment else None,
        ]
        if people:
            cells += [row.name, masked_phone(row.phone)]
        rows.append(cells)
    return Table(columns + (("resident", "phone") if people else ()), rows)


def complaints(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """Complaints, proposals, disputes and suggestions, oldest first."""
    # the name only of one who did not ask to stay anonymous, whatever the code below does
    name = case((_COMPLAINTS.c.anonymous.is_(True), None), else_=_RESIDENTS.c.name)
    query = (
        select(
            _COMPLAINTS.c.ref,
            _COMPLAINTS.c.kind,
            _COMPLAINTS.c.category,
            _COMPLAINTS.c.status,
            _KELURAHAN.c.name.label("kelurahan"),
            _COMPLAINTS.c.created_at,
            _COMPLAINTS.c.due_at,
            _COMPLAINTS.c.answered_at,
            _COMPLAINTS.c.closed_at,
            _COMPLAINTS.c.text,
            _COMPLAINTS.c.anonymous,
            name.label("name"),
        )
        .select_from(_COMPLAINTS)
        .outerjoin(_RESIDENTS, _RESIDENTS.c.id == _COMPLAINTS.c.resident_id)
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == _COMPLAINTS.c.kelurahan_code)
        .where(span.where(_COMPLAINTS.c.created_at))
        .order_by(_COMPLAINTS.c.created_at, _COMPLAINTS.c.id)
    )
    if member.kelurahan_code is not None:
        query = query.where(_COMPLAINTS.c.kelurahan_code == member.kelurahan_code)
    people = sees_people(member)
    rows = []
    for row in db.execute(query):
        if row.anonymous:
            sender = ANONYMOUS
        elif people and row.name:
            sender = row.name
        else:
            sender = NOBODY
        rows.append(
            [
                row.ref,
                KINDS.get(row.kind, row.kind),
                row.category,
                row.status,
                row.kelurahan,
                row.created_at,
                row.due_at,
                row.answered_at,
                row.closed_at,
                "yes" if overdue(row, now) else "no",
                days_to_answer(row.created_at, row.answered_at),
                row.text,
                sender,
            ]
        )
    columns = (
        "ref",
        "kind",
        "category",
        "status",
        "kelurahan",
        "created_at",
        "due_at",
        "answered_at",
        "closed_at",
        "overdue",
        "days_to_answer",
        "text",
        "from",
    )
    return Table(columns, rows)


def overdue(row, now: datetime) -> bool:
    """Tell whether a complaint missed its response time: answered (or closed unanswered)
    after it, or still waiting past it."""
    responded = row.answered_at
    if responded is None and row.status == ComplaintStatus.CLOSED:
        responded = row.closed_at
    return (responded or now) > row.due_at


def days_to_answer(created: datetime, answered: datetime | None) -> float | None:
    """Return the days from filing to the first answer, to a tenth; None before it."""
    if answered is None:
        return None
    return round((answered - created).total_seconds() / 86400, 1)


def enrolments(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """Course enrolments (confirmed, waitlisted and cancelled), oldest first."""
    ahead = aliased(_ENROLMENTS)
    waitlist_position = (
        select(func.count())
        .where(
            ahead.c.batch_id == _ENROLMENTS.c.batch_id,
            ahead.c.status == EnrolmentStatus.WAITLISTED,
            ahead.c.id <= _ENROLMENTS.c.id,
        )
        .correlate(_ENROLMENTS)
        .scalar_subquery()
    )
    attended = (
        select(func.count())
        .where(_ATTENDANCE.c.enrolment_id == _ENROLMENTS.c.id, _ATTENDANCE.c.present.is_(True))
        .correlate(_ENROLMENTS)
        .scalar_subquery()
    )
    sessions = (
        select(func.count())
        .where(_SESSIONS.c.batch_id == _BATCHES.c.id)
        .correlate(_BATCHES)
        .scalar_subquery()
    )
    query = (
        select(
            _BATCHES.c.code.label("batch"),
            _COURSES.c.code.label("course"),
            _ENROLMENTS.c.status,
            case(
                (_ENROLMENTS.c.status == EnrolmentStatus.WAITLISTED, waitlist_position),
                else_=None,
            ).label("waitlist_position"),
            _KELURAHAN.c.name.label("kelurahan"),
            _RESIDENTS.c.rw,
            _ENROLMENTS.c.created_at,
            attended.label("attended"),
            sessions.label("sessions"),
            _RESIDENTS.c.name,
            _RESIDENTS.c.phone,
        )
        .select_from(_ENROLMENTS)
        .join(_BATCHES, _BATCHES.c.id == _ENROLMENTS.c.batch_id)
        .join(_COURSES, _COURSES.c.id == _BATCHES.c.course_id)
        .join(_RESIDENTS, _RESIDENTS.c.id == _ENROLMENTS.c.resident_id)
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == _RESIDENTS.c.kelurahan_code)
        .where(span.where(_ENROLMENTS.c.created_at))
        .order_by(_ENROLMENTS.c.created_at, _ENROLMENTS.c.id)
    )
    if member.kelurahan_code is not None:
        query = query.where(_RESIDENTS.c.kelurahan_code == member.kelurahan_code)
    people = sees_people(member)
    columns = (
        "batch",
        "course",
        "status",
        "waitlist_position",
        "kelurahan",
        "rw",
        "enrolled_at",
        "sessions_attended",
        "sessions_total",
    )
    rows = []
    for row in db.execute(query):
        cells: list[Cell] = [
            row.batch,
            row.course,
            row.status,
            row.waitlist_position,
            row.kelurahan,
            row.rw,
            row.created_at,
            row.attended,
            row.sessions,
        ]
        if people:
            cells += [row.name, masked_phone(row.phone)]
        rows.append(cells)
    return Table(columns + (("resident", "phone") if people else ()), rows)


def misses(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """The messages the bot did not understand, oldest first: redacted when kept, and again
    here; nothing says who wrote them, so every reader gets the same rows."""
    rows: list[list[Cell]] = [
        [found.created_at, found.language, found.where, no_long_numbers(found.text), found.key]
        for found in misses_between(db=db, since=span.start, until=span.end)
    ]
    return Table(("created_at", "language", "where", "text", "grouped_as"), rows)


READERS: dict[str, Callable[[Connection, Member, Span, datetime], Table]] = {
    "feedback": feedback,
    "complaints": complaints,
    "enrolments": enrolments,
    "misses": misses,
}
# the gate's rule of each export; what is not named is "export"
ACTIONS = {"misses": "misses.read"}
