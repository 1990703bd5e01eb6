"""Evaluator surveys in chat: the invitation (sent by `python -m bot survey send`, with a button
to start and one to decline), and the questions one by one, each answer stored as it comes.

    invitation ─▶ (start, or "survei") question 1 ─▶ … ─▶ last question ─▶ thanks, menu

A question is asked by the step of its kind: choice and rating take a button or a typed number
or label; number takes a whole number within the question's bounds; text takes a few words (no
NIK). An optional question has a "Skip" button. "batal" pauses the survey: what was answered
stays, and the start button or "survei" carries on at the first question not answered yet.
"""

import re
from dataclasses import replace
from datetime import timedelta

from handlers import hints
from handlers.buttons import ID, Either, Number, button, words
from handlers.complaint_words import holds_nik, nik_refused
from handlers.formatting import format_count, format_day
from handlers.i18n import translations
from handlers.messages import Incoming, Option, Reply
from handlers.numbers import COUNT_FILLER, parse_number, tokens, whole
from handlers.positions import HOME, FlowName, SurveyStep, survey
from handlers.steps import Context, Expect, Flow, Outcome, Step, options_of
from handlers.text import normalise
from storage import survey_responses as responses
from storage.survey_file import Question, QuestionKind
from storage.survey_responses import Response, Status
from storage.surveys import DECLINE, START, Kept

SKIP = "skip"
MAX_QUESTIONS = 999  # more than a survey file may hold
# the invitation's buttons: survey:<id>:start, survey:<id>:no
INVITATION = button("survey", survey=ID, action=words(START, DECLINE))
# an answer's button: sv:<survey id>:<question number>:<choice number, score or "skip">
ANSWER = button(
    "sv",
    survey=ID,
    question=Number(1, MAX_QUESTIONS),
    choice=Either(Number(1, MAX_QUESTIONS), words(SKIP)),
)
SKIP_WORDS = frozenset({"lewati", "skip", "lewat"})
STEPS = {
    QuestionKind.CHOICE: SurveyStep.CHOICE,
    QuestionKind.RATING: SurveyStep.RATING,
    QuestionKind.NUMBER: SurveyStep.NUMBER,
    QuestionKind.TEXT: SurveyStep.TEXT,
}
SECONDS_PER_QUESTION = 20  # to tell residents roughly how long it takes
MAX_TYPED = 100  # a number typed with its words ("3 orang") is never longer
MAX_DIGITS = 18  # more than any question's range; int() of thousands of digits raises
# a whole number as people type it: "3", "3 orang", "1.500", "-2"
_WHOLE = re.compile(r"^[^0-9]*?(-?[0-9]{1,3}(?:[.,][0-9]{3})+|-?[0-9]+)(?![0-9.,]*[0-9])[^0-9]*$")


# -- the invitation ------------------------------------------------------------------------------


def invitation(survey_: Kept, language: str, zone: str) -> tuple[str, list[dict[str, str]]]:
    """Return a survey's invitation in a language: its text and its two buttons."""
    _ = translations(language).gettext
    count = len(survey_.questions)
    minutes = max(1, round(count * SECONDS_PER_QUESTION / 60))
    lines = [_("📋 Survey: {title}").format(title=survey_.title(language))]
    if survey_.intro(language):
        lines.append(survey_.intro(language))
    ngettext = translations(language).ngettext
    lines.append(
        " ".join(
            (
                ngettext("{count} short question.", "{count} short questions.", count).format(
                    count=count
                ),
                ngettext(
                    "It takes about {minutes} minute.",
                    "It takes about {minutes} minutes.",
                    minutes,
                ).format(minutes=minutes),
                _("Your answers help the kelurahan improve its services. We never ask for a NIK."),
            )
        )
    )
    if survey_.closes_at is not None:
        last_day = survey_.closes_at - timedelta(seconds=1)
        lines.append(
            _("Tap “Start the survey”, or type SURVEI, until {day}.").format(
                day=format_day(last_day, language, zone)
            )
        )
    else:
        lines.append(_("Tap “Start the survey”, or type SURVEI at any time."))
    options = [
        {
            "key": INVITATION.encode(survey=survey_.id, action=START),
            "label": _("Start the survey"),
        },
        {"key": INVITATION.encode(survey=survey_.id, action=DECLINE), "label": _("No, thank you")},
    ]
    return "\n\n".join(lines), options


def invitations(survey_: Kept, zone: str) -> dict[str, tuple[str, list[dict[str, str]]]]:
    """Return the invitation in each language, "id" first."""
    return {language: invitation(survey_, language, zone) for language in ("id", "en")}


# -- starting, declining -------------------------------------------------------------------------


def closed_text(ctx: Context) -> str:
    """Say that a survey takes no more answers."""
    _ = ctx.gettext
    return _("This survey is closed. Thank you for your interest.")


def not_open(ctx: Context, found: Response | None) -> Outcome | None:
    """Say why a survey cannot be answered, or None when it can."""
    _ = ctx.gettext
    if found is None:
        return Outcome([Reply(_("This survey is not open to you."))])
    if not found.survey.is_open(ctx.now):
        return Outcome([Reply(closed_text(ctx))])
    if found.status == Status.COMPLETED:
        return Outcome([Reply(_("You have already answered this survey. Thank you!"))])
    return None


def begin(ctx: Context, found: Response) -> Outcome:
    """Start or carry on a survey at its first question not answered yet."""
    _ = ctx.gettext
    responses.start(db=ctx.db, response_id=found.id, now=ctx.now)
    question = found.next_question()
    if question is None:  # every question answered before it was closed off
        return finish(ctx, found, [])
    title = found.survey.title(ctx.language)
    if found.answers:
        text = _("Let us carry on with the survey “{title}”.").format(title=title)
    else:
        text = _(
            "Thank you! The survey “{title}”. To pause, type “batal”: your answers so far are "
            "kept."
        ).format(title=title)
    return at_question(found, question, [Reply(text)])


def at_question(found: Response, question: Question, replies: list[Reply]) -> Outcome:
    """Go to the step that asks a question."""
    return Outcome(
        replies,
        goto=survey(STEPS[question.kind]),
        data={"survey": found.survey.id, "question": question.key},
    )


def response_in(ctx: Context, survey_id: int) -> Response | None:
    """Return the resident's response to the survey a button names, if they were invited."""
    return responses.response_of(db=ctx.db, survey_id=survey_id, resident_id=ctx.resident.id)


def answer_invitation(ctx: Context, msg: Incoming) -> Outcome | None:
    """Takes an invitation's button (start or decline), wherever the resident is."""
    _ = ctx.gettext
    chosen = INVITATION.decode(msg.option)
    if chosen is None:  # not a key we made: a stale button
        return None
    found = response_in(ctx, int(chosen["survey"]))
    refused = not_open(ctx, found)
    if refused is not None:
        return refused
    if chosen["action"] == START:
        return begin(ctx, found)
    if found.answers:  # they began: nothing is thrown away, they may carry on
        text = _("All right. Your answers so far are kept; type SURVEI to carry on.")
    else:
        responses.decline(db=ctx.db, response_id=found.id, now=ctx.now)
        text = _("All right, thank you. If you change your mind, type SURVEI while it is open.")
    # out of this survey's questions back to the menu; from anywhere else, where they were
    in_it = ctx.position.flow == FlowName.SURVEY and ctx.data.get("survey") == found.survey.id
    return Outcome([Reply(text)], goto=HOME if in_it else None)


def open_survey(ctx: Context) -> Outcome:
    """The `survei` keyword: carry on the newest open survey the resident was invited to."""
    _ = ctx.gettext
    found = responses.latest_open(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    if found is None:
        return Outcome([Reply(_("There is no survey open to you at the moment."))])
    return begin(ctx, found)


def pause_text(ctx: Context) -> str:
    """Say that the survey is paused ("batal" in a survey)."""
    _ = ctx.gettext
    return _("The survey is paused. Your answers so far are kept; type SURVEI to carry on.")


# -- asking --------------------------------------------------------------------------------------


def current(ctx: Context) -> tuple[Response, Question] | None:
    """Return the response and the question being asked; None when either is gone."""
    found = responses.response_of(
        db=ctx.db, survey_id=ctx.data.get("survey", 0), resident_id=ctx.resident.id
    )
    question = found.survey.question(ctx.data.get("question", "")) if found else None
    return (found, question) if question is not None else None


def stars(score: int) -> str:
    """Show a score as stars."""
    return "⭐" * score


def answer_key(found: Response, question: Question, choice: int | str) -> str:
    """Return the key of one of a question's buttons."""
    return ANSWER.encode(survey=found.survey.id, question=found.number_of(question), choice=choice)


def chosen_here(found: Response, question: Question, key: str | None) -> str | None:
    """Return what a button of this question chose (a number's digits, or "skip"); None for
    any other key."""
    chosen = ANSWER.decode(key)
    if chosen is None or chosen["survey"] != found.survey.id:
        return None
    return str(chosen["choice"]) if chosen["question"] == found.number_of(question) else None


def question_options(ctx: Context) -> tuple[Option, ...]:
    """Return the buttons of the question being asked."""
    _ = ctx.gettext
    asked = current(ctx)
    if asked is None:
        return ()
    found, question = asked
    choices: list[tuple[str, ...]] = []
    if question.kind == QuestionKind.CHOICE:
        choices = [
            (
                answer_key(found, question, number),
                choice.label(ctx.language),
                "",
                choice.short(ctx.language),
            )
            for number, choice in enumerate(question.choices, start=1)
        ]
    elif question.kind == QuestionKind.RATING:
        choices = [(answer_key(found, question, score), stars(score)) for score in range(1, 6)]
    if not question.required:
        choices.append((answer_key(found, question, SKIP), _("Skip"), "|".join(SKIP_WORDS)))
    return options_of(*choices)


def ask_question(ctx: Context) -> Reply:
    """Asks the question: its number, its text and how to answer."""
    _ = ctx.gettext
    asked = current(ctx)
    if asked is None:
        return Reply(closed_text(ctx))
    found, question = asked
    count = len(found.survey.questions)
    lines = [
        _("Question {number} of {count}").format(number=found.number_of(question), count=count),
        question.text(ctx.language),
    ]
    if question.kind == QuestionKind.CHOICE:
        lines.append(_("Tap an answer, or type its number."))
    elif question.kind == QuestionKind.RATING:
        lines.append(_("Type a number from 1 (very poor) to 5 (very good), or tap a button."))
    elif question.kind == QuestionKind.NUMBER:
        lines.append(range_text(ctx, question))
    else:
        lines.append(
            _("Please write your answer (at most {count} characters).").format(
                count=format_count(question.max_length, ctx.language)
            )
        )
    if not question.required:
        lines.append(_("Tap “Skip” if you would rather not answer."))
    text = "\n".join(lines)
    return Reply(text, question_options(ctx))


def range_text(ctx: Context, question: Question) -> str:
    """Say which numbers a number question takes."""
    _ = ctx.gettext
    return _("Please type a whole number from {low} to {high}.").format(
        low=format_count(question.minimum, ctx.language),
        high=format_count(question.maximum, ctx.language),
    )


# -- answering -----------------------------------------------------------------------------------


def take_answer(ctx: Context, msg: Incoming) -> Outcome:
    """Stores the answer to the question being asked, then asks the next one."""
    _ = ctx.gettext
    asked = current(ctx)
    if asked is None:
        return Outcome([Reply(_("This survey is not open to you."))], goto=HOME)
    found, question = asked
    if not found.survey.is_open(ctx.now):
        text = _("This survey has closed. The answers you gave are kept. Thank you!")
        return Outcome([Reply(text)], goto=HOME)
    chosen = chosen_here(found, question, msg.option)
    typed = msg.text.strip()
    free = question.kind in (QuestionKind.NUMBER, QuestionKind.TEXT)
    if free and chosen == SKIP and typed and normalise(typed) not in skip_words(ctx):
        chosen = None  # "1" typed at a number question is the number, not the "Skip" button
    if chosen == SKIP and not question.required:
        value, number = None, None
    elif question.kind == QuestionKind.CHOICE and chosen in choice_numbers(question):
        value, number = question.choices[int(chosen) - 1].key, None
    elif question.kind == QuestionKind.RATING and chosen in {"1", "2", "3", "4", "5"}:
        value, number = None, int(chosen)
    elif question.kind == QuestionKind.NUMBER:
        number = whole_number(typed)
        if number is None:
            return Outcome(
                [Reply(_("Please write the answer as a number, for example 3 or tiga."))]
            )
        if not question.minimum <= number <= question.maximum:
            text = _("{number} is outside what this question allows.").format(
                number=format_count(number, ctx.language)
            )
            return Outcome([Reply(text)])
        value = None
    elif question.kind == QuestionKind.TEXT and typed:
        if len(typed) > question.max_length:
            text = _(
                "Your answer has {length} characters; please shorten it to at most {count}."
            ).format(
                length=format_count(len(typed), ctx.language),
                count=format_count(question.max_length, ctx.language),
            )
            return Outcome([Reply(text)])
        if holds_nik(typed):
            return nik_refused(ctx)
        value, number = typed, None
    else:  # a button of another question, or nothing that answers this one
        return Outcome([Reply(_("Please answer with one of the buttons."))])
    responses.answer(
        db=ctx.db,
        response_id=found.id,
        question=question.key,
        value=value,
        number=number,
        now=ctx.now,
    )
    answered = responses.response_of(
        db=ctx.db, survey_id=found.survey.id, resident_id=ctx.resident.id
    )
    following = answered.next_question()
    if following is None:
        return finish(ctx, answered, [])
    return at_question(answered, following, [])


def choice_numbers(question: Question) -> set[str]:
    """Return the numbers of a choice question's buttons, as their keys end."""
    return {str(number) for number in range(1, len(question.choices) + 1)}


def answer_anywhere(ctx: Context, msg: Incoming) -> Outcome | None:
    """Takes an answer's button from outside its question: the answer to the question the
    survey is at (tapped after the conversation went back to the menu), or an answered
    question's button (the survey goes on where it is)."""
    _ = ctx.gettext
    chosen = ANSWER.decode(msg.option)
    if chosen is None:  # not a key we made: a stale button
        return None
    found = response_in(ctx, int(chosen["survey"]))
    refused = not_open(ctx, found)
    if refused is not None:
        return refused
    question = found.next_question()
    if question is None:  # every question answered before it was closed off
        return finish(ctx, found, [])
    asked = at_question(found, question, [Reply(hints.stale_hint(_))])
    if chosen["question"] != found.number_of(question):
        return asked
    ctx.data = dict(asked.data)
    taken = take_answer(ctx, msg)
    return taken if taken.goto is not None else replace(asked, replies=taken.replies)


def skip_words(ctx: Context) -> frozenset[str]:
    """Return what typed means "Skip", in either language."""
    _ = ctx.gettext
    return SKIP_WORDS | {normalise(_("Skip"))}


def whole_number(text: str) -> int | None:
    """Read a whole number as people type it ("3", "3 orang", "1.500", "lima", "dua belas
    orang"); None when there is none or more than one."""
    if tokens(text[:MAX_TYPED]) is None:  # a digit that is not ASCII ('１２', '²')
        return None
    found = _WHOLE.match(text[:MAX_TYPED])
    if found is None:  # 'lima', 'dua belas orang'
        return whole(parse_number(COUNT_FILLER.sub(" ", text[:MAX_TYPED].lower())))
    digits = found.group(1).replace(".", "").replace(",", "")
    return int(digits) if len(digits) <= MAX_DIGITS else None  # ten pages of nines: no answer


def finish(ctx: Context, found: Response, replies: list[Reply]) -> Outcome:
    """Record the survey as done and thank the resident."""
    _ = ctx.gettext
    responses.complete(db=ctx.db, response_id=found.id, now=ctx.now)
    text = _("Thank you! Your answers to “{title}” have been received.").format(
        title=found.survey.title(ctx.language)
    )
    return Outcome([*replies, Reply(text)], goto=HOME)


def _step(expects: Expect) -> Step:
    return Step(ask_question, take_answer, expects, options=question_options)


SURVEY = Flow(
    FlowName.SURVEY,
    {
        SurveyStep.CHOICE: _step(Expect.CHOICE),
        SurveyStep.RATING: _step(Expect.CHOICE),
        SurveyStep.NUMBER: _step(Expect.TEXT),
        SurveyStep.TEXT: _step(Expect.ANSWER),
    },
)
