"""The figures of the report evaluators and staff read in chat (`laporan`): residents registered
and reached, enrolments and attendance, average ratings per program and per kelurahan,
complaints by category and status with the median time to resolve them, questions to staff
(tanya petugas, counted apart from complaints) and the messages the bot did not understand
(of the whole kecamatan: nothing says who or where they came from). Queries only; the
words and the chart are in handlers/laporan.py and handlers/report_chart.py.

Everything counts what happened in the period [since, now): residents who consented, messages
sent, enrolments made, sessions held, ratings given and complaints filed in it (the time to
resolve is that of the complaints filed in the period and resolved by now). A kelurahan narrows
everything to its residents (a rating without its resident: the pickup's kelurahan; a
complaint: the kelurahan it is about).
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, distinct, func, select, true

from storage.complaints import Complaint, ComplaintKind
from storage.misses import Frequent, count_misses, frequent_misses
from storage.outbox import Outbound, OutboundStatus
from storage.places import Kelurahan
from storage.ratings import Rated, Rating
from storage.residents import Resident
from storage.schedules import Distribution
from storage.surveys import Survey, SurveyResponse
from storage.training import Attendance, BatchSession, Enrolment, EnrolmentStatus

PERIOD = timedelta(days=30)  # the period when none is given
# what a rating is about, as a program or service: a general one says it in `program`
SERVICES = {
    Rated.DISTRIBUTION: "sembako",
    Rated.BATCH: "pelatihan",
    Rated.SLOT: "kesehatan",
}
UNSAID = "lainnya"  # a general rating that named no program; a rater without a kelurahan

_RESIDENTS = Resident.__table__
_OUTBOUND = Outbound.__table__
_ENROLMENTS = Enrolment.__table__
_ATTENDANCE = Attendance.__table__
_SESSIONS = BatchSession.__table__
_RATINGS = Rating.__table__
_DISTRIBUTIONS = Distribution.__table__
_COMPLAINTS = Complaint.__table__
_KELURAHAN = Kelurahan.__table__


@dataclass(frozen=True)
class Average:
    """The ratings of one program or kelurahan: how many, and their average (1–5)."""

    name: str  # a program's code or service, or a kelurahan's name
    average: float
    count: int


@dataclass(frozen=True)
class SurveyFigures:
    """A survey's invitations in the period, and how many of them were answered or declined."""

    titles: dict[str, str]  # language → title
    invited: int
    completed: int
    declined: int


@dataclass(frozen=True)
class Summary:
    """The figures of one period, maybe of one kelurahan."""

    since: datetime
    until: datetime
    kelurahan_code: str | None
    registered: int  # residents who consented in the period
    registered_total: int  # residents who have consented, ever (until the end)
    reached: int  # distinct residents sent at least one message in the period
    confirmed: int  # enrolments made in the period, by their status now
    waitlisted: int
    cancelled: int
    attended: int  # attendance marked present, of sessions held in the period
    expected: int  # attendance marked (present or absent), of those sessions
    ratings: int  # ratings given in the period
    rating_average: float | None
    by_program: tuple[Average, ...]  # most rated first
    by_kelurahan: tuple[Average, ...]
    complaints: int  # complaints, proposals, disputes and suggestions filed in the period
    by_category: tuple[tuple[str, int], ...]  # a category's code, or the kind's ("USL")
    by_status: tuple[tuple[str, int], ...]
    resolved: int  # of those, answered or closed by now
    median_resolve: timedelta | None  # filed → closed (or answered when not closed)
    surveys: tuple[SurveyFigures, ...] = ()  # those with invitations in the period, newest first
    questions: int = 0  # questions to staff (tanya petugas) asked in the period
    questions_answered: int = 0  # of those, answered or closed by now
    misses: int = 0  # messages the bot did not understand in the period (whole kecamatan)
    frequent_misses: tuple[Frequent, ...] = ()  # the most frequent of them, grouped


def _in(column, since: datetime, until: datetime):
    return and_(column >= since, column < until)


def _counted(db: Connection, query) -> tuple[tuple[str, int], ...]:
    """Return (key, count) rows, the largest first, then by key."""
    rows = [(str(key), int(count)) for key, count in db.execute(query)]
    return tuple(sorted(rows, key=lambda row: (-row[1], row[0])))


def _averages(db: Connection, query) -> tuple[Average, ...]:
    """Return an Average per (name, average, count) row, most rated first."""
    found = [
        Average(str(name), round(float(average), 2), int(count))
        for name, average, count in db.execute(query)
    ]
    return tuple(sorted(found, key=lambda item: (-item.count, item.name)))


def summary(
    db: Connection,
    now: datetime,
    kelurahan_code: str | None = None,
    since: datetime | None = None,
) -> Summary:
    """Count the figures of [since, now) (the last 30 days when not given), of one kelurahan
    when given."""
    since = since if since is not None else now - PERIOD
    limited = kelurahan_code is not None

    def of_kelurahan(column):
        return column == kelurahan_code if limited else true()

    consented = select(func.count()).where(
        _RESIDENTS.c.consent_at.is_not(None), of_kelurahan(_RESIDENTS.c.kelurahan_code)
    )
    registered = db.execute(consented.where(_in(_RESIDENTS.c.consent_at, since, now))).scalar()
    registered_total = db.execute(consented.where(_RESIDENTS.c.consent_at < now)).scalar()

    reached = db.execute(
        select(func.count(distinct(_OUTBOUND.c.resident_id)))
        .select_from(_OUTBOUND)
        .join(_RESIDENTS, _RESIDENTS.c.id == _OUTBOUND.c.resident_id)
        .where(
            _OUTBOUND.c.status == OutboundStatus.SENT,
            _in(_OUTBOUND.c.sent_at, since, now),
            of_kelurahan(_RESIDENTS.c.kelurahan_code),
        )
    ).scalar()

    statuses = dict(
        db.execute(
            select(_ENROLMENTS.c.status, func.count())
            .select_from(_ENROLMENTS)
            .join(_RESIDENTS, _RESIDENTS.c.id == _ENROLMENTS.c.resident_id)
            .where(
                _in(_ENROLMENTS.c.created_at, since, now),
                of_kelurahan(_RESIDENTS.c.kelurahan_code),
            )
            .group_by(_ENROLMENTS.c.status)
        ).all()
    )

    present = func.coalesce(func.sum(case((_ATTENDANCE.c.present.is_(True), 1), else_=0)), 0)
    expected, attended = db.execute(
        select(func.count(), present)
        .select_from(_ATTENDANCE)
        .join(_SESSIONS, _SESSIONS.c.id == _ATTENDANCE.c.session_id)
        .join(_ENROLMENTS, _ENROLMENTS.c.id == _ATTENDANCE.c.enrolment_id)
        .join(_RESIDENTS, _RESIDENTS.c.id == _ENROLMENTS.c.resident_id)
        .where(
            _in(_SESSIONS.c.starts_at, since, now),
            of_kelurahan(_RESIDENTS.c.kelurahan_code),
        )
    ).one()

    # ratings: the rater's kelurahan (a pickup's when the rater erased their data)
    rater_kelurahan = func.coalesce(_RESIDENTS.c.kelurahan_code, _DISTRIBUTIONS.c.kelurahan_code)
    program = case(
        *((_RATINGS.c.subject == subject, name) for subject, name in SERVICES.items()),
        else_=func.coalesce(_RATINGS.c.program, UNSAID),
    )
    place = func.coalesce(_KELURAHAN.c.name, UNSAID)
    average = func.avg(_RATINGS.c.score)
    scored = (
        select(func.count(), average)
        .select_from(_RATINGS)
        .outerjoin(_RESIDENTS, _RESIDENTS.c.id == _RATINGS.c.resident_id)
        .outerjoin(
            _DISTRIBUTIONS,
            and_(
                _RATINGS.c.subject == Rated.DISTRIBUTION,
                _DISTRIBUTIONS.c.id == _RATINGS.c.subject_id,
            ),
        )
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == rater_kelurahan)
        .where(_RATINGS.c.score.is_not(None), _in(_RATINGS.c.rated_at, since, now))
    )
    if limited:
        scored = scored.where(rater_kelurahan == kelurahan_code)
    ratings, overall = db.execute(scored).one()
    by_program = _averages(
        db, scored.with_only_columns(program, average, func.count()).group_by(program)
    )
    by_kelurahan = _averages(
        db, scored.with_only_columns(place, average, func.count()).group_by(place)
    )

    filed = (
        select(func.count())
        .select_from(_COMPLAINTS)
        .where(
            _in(_COMPLAINTS.c.created_at, since, now),
            of_kelurahan(_COMPLAINTS.c.kelurahan_code),
        )
    )
    # questions to staff are counted on their own, not as complaints
    asked = filed.where(_COMPLAINTS.c.kind == ComplaintKind.QUESTION)
    questions = db.execute(asked).scalar()
    questions_answered = db.execute(
        asked.where(
            func.coalesce(_COMPLAINTS.c.answered_at, _COMPLAINTS.c.closed_at).is_not(None),
            func.coalesce(_COMPLAINTS.c.answered_at, _COMPLAINTS.c.closed_at) <= now,
        )
    ).scalar()
    filed = filed.where(_COMPLAINTS.c.kind != ComplaintKind.QUESTION)
    complaints = db.execute(filed).scalar()
    category = func.coalesce(_COMPLAINTS.c.category, _COMPLAINTS.c.kind)
    by_category = _counted(db, filed.with_only_columns(category, func.count()).group_by(category))
    by_status = _counted(
        db,
        filed.with_only_columns(_COMPLAINTS.c.status, func.count()).group_by(_COMPLAINTS.c.status),
    )
    resolved_at = func.coalesce(_COMPLAINTS.c.closed_at, _COMPLAINTS.c.answered_at)
    durations = [
        (row.closed_at or row.answered_at) - row.created_at
        for row in db.execute(
            filed.with_only_columns(
                _COMPLAINTS.c.created_at, _COMPLAINTS.c.answered_at, _COMPLAINTS.c.closed_at
            ).where(resolved_at.is_not(None), resolved_at <= now)
        )
    ]
    return Summary(
        since=since,
        until=now,
        kelurahan_code=kelurahan_code,
        registered=int(registered or 0),
        registered_total=int(registered_total or 0),
        reached=int(reached or 0),
        confirmed=int(statuses.get(EnrolmentStatus.CONFIRMED, 0)),
        waitlisted=int(statuses.get(EnrolmentStatus.WAITLISTED, 0)),
        cancelled=int(statuses.get(EnrolmentStatus.CANCELLED, 0)),
        attended=int(attended or 0),
        expected=int(expected or 0),
        ratings=int(ratings or 0),
        rating_average=round(float(overall), 2) if overall is not None else None,
        by_program=by_program,
        by_kelurahan=by_kelurahan,
        complaints=int(complaints or 0),
        by_category=by_category,
        by_status=by_status,
        resolved=len(durations),
        median_resolve=statistics.median(durations) if durations else None,
        surveys=survey_figures(db, since, now, kelurahan_code),
        questions=int(questions or 0),
        questions_answered=int(questions_answered or 0),
        misses=count_misses(db=db, since=since, until=now),
        frequent_misses=tuple(frequent_misses(db=db, since=since, until=now)),
    )


def survey_figures(
    db: Connection, since: datetime, until: datetime, kelurahan_code: str | None
) -> tuple[SurveyFigures, ...]:
    """Count each survey's invitations of [since, until) (of one kelurahan, when given)."""
    responses = SurveyResponse.__table__
    surveys = Survey.__table__
    query = (
        select(
            responses.c.survey_id,
            func.count(),
            func.count(responses.c.completed_at),
            func.count(responses.c.declined_at),
        )
        .where(_in(responses.c.invited_at, since, until))
        .group_by(responses.c.survey_id)
        .order_by(responses.c.survey_id.desc())
    )
    if kelurahan_code is not None:
        query = query.where(responses.c.kelurahan_code == kelurahan_code)
    counted = db.execute(query).all()
    titles = dict(
        db.execute(
            select(surveys.c.id, surveys.c.title).where(
                surveys.c.id.in_([row[0] for row in counted])
            )
        ).all()
    )
    return tuple(
        SurveyFigures(titles.get(survey_id, {}), invited, completed, declined)
        for survey_id, invited, completed, declined in counted
    )
