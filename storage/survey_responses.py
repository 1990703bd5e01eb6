"""A resident's response to a survey, answered in chat (handlers/survey.py): where it stands,
the answers given so far (one per question, stored as they come), the newest survey they may
still answer, and starting, declining and finishing it."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, func, select, update

from storage.redaction import redact
from storage.survey_file import Question
from storage.surveys import Kept, SurveyAnswer, SurveyResponse, get

_RESPONSES = SurveyResponse.__table__
_ANSWERS = SurveyAnswer.__table__


class Status(StrEnum):
    """Where a response stands."""

    INVITED = "invited"
    STARTED = "started"
    COMPLETED = "completed"
    DECLINED = "declined"


@dataclass(frozen=True)
class Response:
    """A resident's response to a survey, with the answers given so far (question → answer)."""

    id: int
    survey: Kept
    status: Status
    answers: dict[str, tuple[str | None, int | None]]

    def next_question(self) -> Question | None:
        """Return the first question not answered yet; None when all are."""
        return next((q for q in self.survey.questions if q.key not in self.answers), None)

    def number_of(self, question: Question) -> int:
        """Return a question's place in the survey, from 1."""
        return self.survey.questions.index(question) + 1


def _status(row) -> Status:
    if row.completed_at is not None:
        return Status.COMPLETED
    if row.declined_at is not None:
        return Status.DECLINED
    if row.started_at is not None:
        return Status.STARTED
    return Status.INVITED


def response_of(*, db: Connection, survey_id: int, resident_id: int) -> Response | None:
    """Return a resident's response to a survey; None when they were not invited."""
    row = db.execute(
        select(_RESPONSES).where(
            _RESPONSES.c.survey_id == survey_id, _RESPONSES.c.resident_id == resident_id
        )
    ).first()
    survey = get(db=db, survey_id=survey_id) if row else None
    if row is None or survey is None:
        return None
    answers = {
        answer.question: (answer.value, answer.number)
        for answer in db.execute(
            select(_ANSWERS.c.question, _ANSWERS.c.value, _ANSWERS.c.number).where(
                _ANSWERS.c.response_id == row.id
            )
        ).all()
    }
    return Response(row.id, survey, _status(row), answers)


def latest_open(*, db: Connection, resident_id: int, now: datetime) -> Response | None:
    """Return the newest survey the resident was invited to and has not finished, while it is
    still open; None when there is none."""
    rows = (
        db.execute(
            select(_RESPONSES.c.survey_id)
            .where(
                _RESPONSES.c.resident_id == resident_id,
                _RESPONSES.c.completed_at.is_(None),
                _RESPONSES.c.invited_at <= now,  # a later sending: not invited yet
            )
            .order_by(_RESPONSES.c.invited_at.desc(), _RESPONSES.c.id.desc())
        )
        .scalars()
        .all()
    )
    for survey_id in rows:
        found = response_of(db=db, survey_id=survey_id, resident_id=resident_id)
        if found is not None and found.survey.is_open(now):
            return found
    return None


def start(*, db: Connection, response_id: int, now: datetime) -> None:
    """Record that a resident began (or took up again) a survey they had declined."""
    db.execute(
        update(_RESPONSES)
        .where(_RESPONSES.c.id == response_id)
        .values(started_at=func.coalesce(_RESPONSES.c.started_at, now), declined_at=None)
    )


def decline(*, db: Connection, response_id: int, now: datetime) -> None:
    """Record that a resident would rather not take part (the first time they said so)."""
    db.execute(
        update(_RESPONSES)
        .where(
            _RESPONSES.c.id == response_id,
            _RESPONSES.c.completed_at.is_(None),
            _RESPONSES.c.declined_at.is_(None),
        )
        .values(declined_at=now)
    )


def answer(
    *,
    db: Connection,
    response_id: int,
    question: str,
    value: str | None,
    number: int | None,
    now: datetime,
) -> None:
    """Store the answer to a question, replacing an earlier one: one answer per question.
    A typed answer is kept without any NIK or phone number in it."""
    value = redact(value)
    replaced = db.execute(
        update(_ANSWERS)
        .where(_ANSWERS.c.response_id == response_id, _ANSWERS.c.question == question)
        .values(value=value, number=number, answered_at=now)
    )
    if replaced.rowcount == 0:
        db.execute(
            _ANSWERS.insert().values(
                response_id=response_id,
                question=question,
                value=value,
                number=number,
                answered_at=now,
            )
        )


def complete(*, db: Connection, response_id: int, now: datetime) -> None:
    """Record that every question of a response is answered."""
    db.execute(
        update(_RESPONSES)
        .where(_RESPONSES.c.id == response_id, _RESPONSES.c.completed_at.is_(None))
        .values(completed_at=now)
    )
