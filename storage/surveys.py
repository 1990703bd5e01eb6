"""Evaluator surveys: a survey (its questions kept as the file gave them), one response per
resident invited, and one answer per question of a response.

An invitation is a broadcast (storage/broadcasts.py) of kind "survey", with a button to start
and one to decline, so the sender hears its progress and its report like any announcement.
Sending the same survey to another segment invites only those not invited yet. Answers are
stored one by one as they come, so a resident who stops halfway carries on where they were.
When a resident erases their data their answers stay for the figures, without the person, and
their text answers (free text that may name them) go.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Connection,
    Text,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlmodel import Field, SQLModel

from storage import broadcasts
from storage.broadcasts import CURRENT_FOR, BroadcastStatus, Segment
from storage.outbox import SURVEY_CLOSED, Outbound, OutboundKind, OutboundStatus
from storage.survey_file import Question, QuestionKind, SurveyFile, Texts, questions_from_data
from storage.types import UTCDateTime

START = "start"  # the invitation's buttons: survey:<id>:start and survey:<id>:no
DECLINE = "no"


class Survey(SQLModel, table=True):
    """A survey as sent: its code from the file, texts in both languages and questions."""

    __tablename__ = "surveys"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    title: dict = Field(sa_type=JSON)  # language → text
    intro: dict = Field(sa_type=JSON)
    questions: list = Field(sa_type=JSON)  # SurveyFile.questions_as_data()
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # answers end
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # closed by staff
    created_by: str = Field(max_length=40)
    kelurahan_limit: str | None = Field(default=None, max_length=16)  # the sender's limit
    created_at: datetime = Field(sa_type=UTCDateTime)


class SurveyResponse(SQLModel, table=True):
    """A resident invited to a survey, and how far they got."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "resident_id"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    # kept without the person when they erase their data, so the figures stay
    resident_id: int | None = Field(
        default=None, foreign_key="residents.id", index=True, ondelete="SET NULL"
    )
    kelurahan_code: str | None = Field(default=None, max_length=16)  # when invited
    language: str = Field(max_length=5)
    channel: str = Field(max_length=16)
    # the sending that invited them (its progress and report go to the sender)
    broadcast_id: int = Field(foreign_key="broadcasts.id", index=True)
    invited_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyAnswer(SQLModel, table=True):
    """The answer to one question: a choice's key or a text, or a number (rating, number);
    both empty when an optional question was skipped."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "question"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="survey_responses.id", ondelete="CASCADE")
    question: str = Field(max_length=30)
    value: str | None = Field(default=None, sa_type=Text)
    number: int | None = None
    answered_at: datetime = Field(sa_type=UTCDateTime)


_SURVEYS = Survey.__table__
_RESPONSES = SurveyResponse.__table__
_ANSWERS = SurveyAnswer.__table__
_OUTBOUND = Outbound.__table__


@dataclass(frozen=True)
class Kept(Texts):
    """A survey as kept in the database."""

    id: int
    code: str
    titles: dict[str, str]
    intros: dict[str, str]
    questions: tuple[Question, ...]
    closes_at: datetime | None
    closed_at: datetime | None
    kelurahan_limit: str | None
    created_by: str

    def is_open(self, now: datetime) -> bool:
        """Tell whether answers are still taken."""
        ended = self.closed_at is not None or (
            self.closes_at is not None and now >= self.closes_at
        )
        return not ended


def _kept(row) -> Kept:
    return Kept(
        row.id,
        row.code,
        row.title,
        row.intro,
        questions_from_data(row.questions),
        row.closes_at,
        row.closed_at,
        row.kelurahan_limit,
        row.created_by,
    )


def get(*, db: Connection, survey_id: int) -> Kept | None:
    """Return a survey."""
    row = db.execute(select(_SURVEYS).where(_SURVEYS.c.id == survey_id)).first()
    return _kept(row) if row else None


def closing_moment(day: date | None, zone: str) -> datetime | None:
    """Return the end of a survey's last day (local midnight after it), in UTC."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(
        UTC
    )


class SurveyProblem(Exception):
    """A survey cannot be sent as asked; the message says why (for the command line)."""


def check(*, db: Connection, survey: SurveyFile, kelurahan_limit: str | None) -> int | None:
    """Check that a survey may be sent by an account (of `kelurahan_limit`); return the id it
    was sent with before, if it was. SurveyProblem says why not: its questions changed since
    (earlier answers would no longer fit), it was closed, or it is another kelurahan's."""
    found = db.execute(select(_SURVEYS).where(_SURVEYS.c.code == survey.code)).first()
    if found is None:
        return None
    if found.questions != survey.questions_as_data():
        raise SurveyProblem(
            f"Survey {survey.code!r} (#{found.id}) was sent before with other questions; "
            "give the changed survey a new code."
        )
    if found.closed_at is not None:
        raise SurveyProblem(
            f"Survey {survey.code!r} (#{found.id}) is closed; give a new round a new code."
        )
    if kelurahan_limit and found.kelurahan_limit not in (None, kelurahan_limit):
        raise SurveyProblem(f"Survey {survey.code!r} belongs to another kelurahan.")
    return found.id


def keep(
    *,
    db: Connection,
    survey: SurveyFile,
    created_by: str,
    kelurahan_limit: str | None,
    zone: str,
    now: datetime,
) -> Kept:
    """Record a survey from its file, or return the one sent before with the same code (after
    `check`); its title, introduction and last day are updated from the file only by an
    account of the survey's whole scope, never by one of a single kelurahan for everyone."""
    closes_at = closing_moment(survey.closes, zone)
    before = check(db=db, survey=survey, kelurahan_limit=kelurahan_limit)
    if before is not None:
        owner = db.execute(
            select(_SURVEYS.c.kelurahan_limit).where(_SURVEYS.c.id == before)
        ).scalar()
        if kelurahan_limit is None or kelurahan_limit == owner:
            db.execute(
                update(_SURVEYS)
                .where(_SURVEYS.c.id == before)
                .values(title=survey.titles, intro=survey.intros, closes_at=closes_at)
            )
        return get(db=db, survey_id=before)
    created = db.execute(
        _SURVEYS.insert().values(
            code=survey.code,
            title=survey.titles,
            intro=survey.intros,
            questions=survey.questions_as_data(),
            closes_at=closes_at,
            created_by=created_by,
            kelurahan_limit=kelurahan_limit,
            created_at=now,
        )
    )
    return get(db=db, survey_id=created.inserted_primary_key[0])


def _not_invited(survey_id: int, reach):
    """The condition that a resident of `reach` is not invited to the survey yet."""
    return ~exists().where(
        _RESPONSES.c.survey_id == survey_id, _RESPONSES.c.resident_id == reach.c.resident_id
    )


@dataclass(frozen=True)
class Reach:
    """Who a sending of a survey would invite."""

    new: int  # not invited yet
    invited_before: int  # in the segment, invited by an earlier sending
    skipped_opted_out: int  # said "berhenti"


def preview(
    *, db: Connection, survey_id: int | None, segment: Segment, kelurahan_limit: str | None
) -> Reach:
    """Count whom sending a survey to a segment would invite."""
    reach = broadcasts.recipients(segment, kelurahan_limit, opted_out=False).subquery()
    total = db.execute(select(func.count()).select_from(reach)).scalar_one()
    new = total
    if survey_id is not None:
        new = db.execute(
            select(func.count()).select_from(reach).where(_not_invited(survey_id, reach))
        ).scalar_one()
    skipped = db.execute(
        select(func.count()).select_from(
            broadcasts.recipients(segment, kelurahan_limit, opted_out=True).subquery()
        )
    ).scalar_one()
    return Reach(new, total - new, skipped)


def invite(
    *,
    db: Connection,
    survey: Kept,
    segment: Segment,
    invitations: dict[str, tuple[str, list[dict[str, str]]]],
    created_by: str,
    kelurahan_limit: str | None,
    report_to: tuple[str, str] | None,
    now: datetime,
    send_at: datetime | None = None,
) -> tuple[int, int]:
    """Invite the residents of a segment not invited yet: a response row each, and the
    invitation (text and buttons, by language; "id" for any other language) queued as a
    broadcast, in one transaction; return the broadcast's id and how many were invited. An
    invitation not sent by the survey's last day (or within CURRENT_FOR) is not sent."""
    at = send_at or now
    broadcast_id = broadcasts.record(
        db=db,
        segment=segment,
        text=invitations["id"][0],
        status=BroadcastStatus.QUEUED,
        send_at=at,
        created_by=created_by,
        kelurahan_limit=kelurahan_limit,
        report_to=report_to,
        now=now,
    )
    reach = broadcasts.recipients(segment, kelurahan_limit, opted_out=False).subquery()
    fresh = select(
        literal(survey.id),
        reach.c.resident_id,
        reach.c.kelurahan_code,
        reach.c.language,
        reach.c.channel,
        literal(broadcast_id),
        literal(at, UTCDateTime),
    ).where(_not_invited(survey.id, reach))
    columns = [
        "survey_id",
        "resident_id",
        "kelurahan_code",
        "language",
        "channel",
        "broadcast_id",
        "invited_at",
    ]
    db.execute(_RESPONSES.insert().from_select(columns, fresh))
    invited = (
        select(reach.c.resident_id, reach.c.identity_id, reach.c.channel)
        .join(_RESPONSES, _RESPONSES.c.resident_id == reach.c.resident_id)
        .where(_RESPONSES.c.broadcast_id == broadcast_id)
    )
    others = [language for language in invitations if language != "id"]
    for language, (text, options) in invitations.items():
        if language == "id":
            rows = invited.where(reach.c.language.not_in(others)) if others else invited
        else:
            rows = invited.where(reach.c.language == language)
        broadcasts.add_messages(
            db=db,
            broadcast_id=broadcast_id,
            reach=rows,
            kind=OutboundKind.SURVEY,
            text=text,
            at=at,
            now=now,
            options=options,
            expires_at=min(at + CURRENT_FOR, survey.closes_at or at + CURRENT_FOR),
        )
    queued, _skipped = broadcasts.count_reach(
        db=db, broadcast_id=broadcast_id, segment=segment, kelurahan_limit=kelurahan_limit
    )
    return broadcast_id, queued


def of_broadcast(*, db: Connection, broadcast_id: int) -> Kept | None:
    """Return the survey a broadcast invited to, if it is a survey's invitation."""
    survey_id = db.execute(
        select(_RESPONSES.c.survey_id).where(_RESPONSES.c.broadcast_id == broadcast_id).limit(1)
    ).scalar()
    return get(db=db, survey_id=survey_id) if survey_id is not None else None


# -- the command line and the figures -----------------------------------------------------------


CLOSED = SURVEY_CLOSED  # last_error of invitations not sent by then


def close(*, db: Connection, survey_id: int, now: datetime) -> bool:
    """Stop taking answers, and withdraw the invitations not sent yet (waiting, or held for
    WhatsApp's window); return whether the survey was open."""
    done = db.execute(
        update(_SURVEYS)
        .where(_SURVEYS.c.id == survey_id, _SURVEYS.c.closed_at.is_(None))
        .values(closed_at=now)
    )
    sendings = select(_RESPONSES.c.broadcast_id).where(_RESPONSES.c.survey_id == survey_id)
    db.execute(
        update(_OUTBOUND)
        .where(
            _OUTBOUND.c.broadcast_id.in_(sendings),
            _OUTBOUND.c.status.in_((OutboundStatus.PENDING, OutboundStatus.HELD)),
        )
        .values(status=OutboundStatus.CANCELLED, last_error=CLOSED)
    )
    return done.rowcount == 1


def erase(*, db: Connection, resident_id: int) -> None:
    """Keep a resident's answers for the figures without the person; their text answers go."""
    texts = [
        (row.survey_id, row.id)
        for row in db.execute(
            select(_RESPONSES.c.survey_id, _RESPONSES.c.id).where(
                _RESPONSES.c.resident_id == resident_id
            )
        ).all()
    ]
    for survey_id, response_id in texts:
        survey = get(db=db, survey_id=survey_id)
        free = [q.key for q in survey.questions if q.kind == QuestionKind.TEXT] if survey else []
        if free:
            db.execute(
                delete(_ANSWERS).where(
                    and_(_ANSWERS.c.response_id == response_id, _ANSWERS.c.question.in_(free))
                )
            )
    db.execute(
        update(_RESPONSES).where(_RESPONSES.c.resident_id == resident_id).values(resident_id=None)
    )
