"""A survey's figures: how many were invited, began, finished and declined (`survey list`),
and the rows of `export survey ID`: one row per resident invited, with how far they got and
their answer to each question in a column of its own (q1_<key>, q2_<key>…).

Nobody is named, whatever the role: a row is a respondent's number, kelurahan, language and
channel. A choice is given by its Indonesian label, a rating or number as a number, a text as
written (any run of 16 digits blanked by the writer); a skipped question is empty. The span
(--from/--to) is on the time of invitation. A kelurahan-limited account gets only residents
of its kelurahan."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from storage.figures import Cell, Span, Table
from storage.places import Kelurahan
from storage.staff import Member
from storage.survey_file import QuestionKind
from storage.surveys import Kept, Survey, SurveyAnswer, SurveyResponse, get

_RESPONSES = SurveyResponse.__table__
_ANSWERS = SurveyAnswer.__table__
_SURVEYS = Survey.__table__
_KELURAHAN = Kelurahan.__table__
FIXED = (
    "respondent",
    "status",
    "kelurahan",
    "language",
    "channel",
    "invited_at",
    "started_at",
    "completed_at",
)


def status_of(row) -> str:
    """Name how far a respondent got."""
    if row.completed_at is not None:
        return "completed"
    if row.declined_at is not None:
        return "declined"
    if row.started_at is not None:
        return "started"
    return "invited"


def answer_cell(survey: Kept, question_key: str, value: str | None, number: int | None) -> Cell:
    """Show an answer: a choice by its Indonesian label, numbers as numbers, text as written."""
    question = survey.question(question_key)
    if question is None:
        return value if value is not None else number
    if question.kind in (QuestionKind.RATING, QuestionKind.NUMBER):
        return number
    if question.kind == QuestionKind.CHOICE and value is not None:
        choice = question.choice(value)
        return choice.label("id") if choice else value
    return value


def survey_answers(db: Connection, member: Member, span: Span, survey_id: int) -> Table | None:
    """Return a survey's respondents and answers as the account may see them; None when there
    is no such survey (or it belongs to another kelurahan)."""
    survey = get(db=db, survey_id=survey_id)
    limit = member.kelurahan_code
    if survey is None or (limit and survey.kelurahan_limit not in (None, limit)):
        return None
    query = (
        select(_RESPONSES, _KELURAHAN.c.name.label("kelurahan"))
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == _RESPONSES.c.kelurahan_code)
        .where(_RESPONSES.c.survey_id == survey_id, span.where(_RESPONSES.c.invited_at))
        .order_by(_RESPONSES.c.id)
    )
    if limit:
        query = query.where(_RESPONSES.c.kelurahan_code == limit)
    responses = db.execute(query).all()
    answers: dict[int, dict[str, Cell]] = {}
    chosen = select(_RESPONSES.c.id).where(_RESPONSES.c.survey_id == survey_id)
    for row in db.execute(
        select(
            _ANSWERS.c.response_id, _ANSWERS.c.question, _ANSWERS.c.value, _ANSWERS.c.number
        ).where(_ANSWERS.c.response_id.in_(chosen))
    ).all():
        answers.setdefault(row.response_id, {})[row.question] = answer_cell(
            survey, row.question, row.value, row.number
        )
    keys = [question.key for question in survey.questions]
    rows = []
    for number, row in enumerate(responses, start=1):
        given = answers.get(row.id, {})
        rows.append(
            [
                number,
                status_of(row),
                row.kelurahan or "",
                row.language,
                row.channel,
                row.invited_at,
                row.started_at,
                row.completed_at,
                *(given.get(key) for key in keys),
            ]
        )
    columns = [f"q{number}_{key}" for number, key in enumerate(keys, start=1)]
    return Table((*FIXED, *columns), rows)


@dataclass(frozen=True)
class Listed:
    """A survey with its figures, for `survey list`."""

    id: int
    code: str
    title: str
    invited: int
    started: int
    completed: int
    declined: int
    closes_at: datetime | None
    closed: bool


def listing(*, db: Connection, kelurahan_limit: str | None) -> list[Listed]:
    """Return the surveys (of the kelurahan, for a limited account), newest first, with how
    many residents (of it) were invited, began, finished and declined."""
    counted = select(
        _RESPONSES.c.survey_id,
        func.count().label("invited"),
        func.count(_RESPONSES.c.started_at).label("started"),
        func.count(_RESPONSES.c.completed_at).label("completed"),
        func.count(_RESPONSES.c.declined_at).label("declined"),
    ).group_by(_RESPONSES.c.survey_id)
    if kelurahan_limit:
        counted = counted.where(_RESPONSES.c.kelurahan_code == kelurahan_limit)
    counts = counted.subquery()
    rows = db.execute(
        select(_SURVEYS, counts.c.invited, counts.c.started, counts.c.completed, counts.c.declined)
        .outerjoin(counts, counts.c.survey_id == _SURVEYS.c.id)
        .order_by(_SURVEYS.c.id.desc())
    ).all()
    return [
        Listed(
            row.id,
            row.code,
            row.title.get("id", ""),
            row.invited or 0,
            row.started or 0,
            row.completed or 0,
            row.declined or 0,
            row.closes_at,
            row.closed_at is not None,
        )
        for row in rows
        if not kelurahan_limit or row.kelurahan_limit in (None, kelurahan_limit)
    ]
