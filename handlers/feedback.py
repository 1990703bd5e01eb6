"""Ratings 1–5 after a sembako pickup, a course or a health talk or check: the invitation the
clock queues (a button per score), and the answer, tapped on the invitation or typed at the
rating question ("Feedback & complaints" in the menu opens it while a rating is open); then a
comment is offered (handlers/masukan.py)."""

from datetime import datetime, timedelta

from sqlalchemy import Connection

from handlers import complaints, masukan
from handlers.buttons import ID, Number, button
from handlers.formatting import format_day
from handlers.i18n import translations
from handlers.messages import Incoming, Option, Reply
from handlers.numbers import score_aliases
from handlers.positions import HOME, FeedbackStep, FlowName, feedback
from handlers.steps import Context, Expect, Flow, Outcome, Step, options_of
from handlers.text import normalise
from storage import health, ratings, residents, schedules, training
from storage.outbox import OutboundKind, enqueue
from storage.ratings import SCORES, Invitee, Rated

# typed at the rating question: the resident came to "Feedback & complaints" to report
# something, not to rate (a sixth button would take the number 6, which means a wrong score)
REPORT_WORDS = frozenset(
    {"lapor", "pengaduan", "aduan", "usul", "sanggah", "saran", "report", "complaint", "other"}
)
RATE = button("rate", rating=ID, score=Number(min(SCORES), max(SCORES)))  # from any old message
OPEN_FOR = timedelta(days=30)  # how long "Feedback & complaints" still offers an open rating


def about(db: Connection, subject: str, subject_id: int, language: str, zone: str) -> str | None:
    """Name what is rated, or None when it is gone."""
    _ = translations(language).gettext
    if subject == Rated.DISTRIBUTION:
        pickup = schedules.get(db=db, distribution_id=subject_id)
        if pickup is None:
            return None
        return _("the sembako pickup on {day} at {place}").format(
            day=format_day(pickup.starts_at, language, zone), place=pickup.place
        )
    if subject == Rated.BATCH:
        batch = training.get_batch(db=db, batch_id=subject_id)
        if batch is None:
            return None
        return _("the course “{course}” ({batch})").format(
            course=batch.course_title(language), batch=batch.code
        )
    if subject == Rated.SLOT:
        slot = health.get_slot(db=db, slot_id=subject_id)
        if slot is None:
            return None
        return _("“{title}” on {day}").format(
            title=slot.event.text("title", language),
            day=format_day(slot.starts_at, language, zone),
        )
    return None


def stars(score: int) -> str:
    """Show a score as stars."""
    return "⭐" * score


def score_choices(rating_id: int) -> list[tuple[str, str]]:
    """Return a (key, label) per score, 1 to 5."""
    return [(RATE.encode(rating=rating_id, score=score), stars(score)) for score in SCORES]


def invitation_text(what: str, language: str) -> str:
    """Return the invitation to rate something the resident took part in."""
    _ = translations(language).gettext
    return _(
        "Thank you for taking part in {what}. How was it? Please give a score from 1 (very "
        "poor) to 5 (very good) with the buttons below. Your answer helps the kelurahan "
        "improve its services."
    ).format(what=what)


def queue_invitation(*, db: Connection, invitee: Invitee, now: datetime, time_zone: str) -> bool:
    """Record and queue a feedback invitation with a button per score; return whether queued."""
    rating_id = ratings.invite(db=db, invitee=invitee, now=now)
    language = residents.language_of(db=db, resident_id=invitee.resident_id) or "id"
    what = about(db, invitee.subject, invitee.subject_id, language, time_zone)
    if what is None:
        return False
    options = [{"key": key, "label": label} for key, label in score_choices(rating_id)]
    queued = enqueue(
        db=db,
        resident_id=invitee.resident_id,
        kind=OutboundKind.FEEDBACK,
        text=invitation_text(what, language),
        now=now,
        options=options,
    )
    return queued is not None


def open_rating(ctx: Context) -> Outcome | None:
    """Opens the newest rating the resident has not given yet; None when there is none."""
    found = ratings.latest_open(db=ctx.db, resident_id=ctx.resident.id)
    if found is None or found.invited_at < ctx.now - OPEN_FOR:
        return None
    return Outcome(goto=feedback(FeedbackStep.RATE), data={"rating": found.id})


def rate_options(ctx: Context) -> tuple[Option, ...]:
    """Return a button per score for the rating in the conversation."""
    choices = score_choices(ctx.data.get("rating", 0))
    return options_of(
        *(
            (key, label, score_aliases(score))
            for score, (key, label) in zip(SCORES, choices, strict=True)
        )
    )


def ask_rate(ctx: Context) -> Reply:
    """Asks for a score from 1 to 5."""
    _ = ctx.gettext
    found = ratings.get(
        db=ctx.db, rating_id=ctx.data.get("rating", 0), resident_id=ctx.resident.id
    )
    what = found and about(
        ctx.db, found.subject, found.subject_id, ctx.language, ctx.config.time_zone
    )
    text = _(
        "How was {what}? Type a number from 1 (very poor) to 5 (very good), or tap a button."
    ).format(what=what or "-")
    other = _("To send a complaint, a proposal or an idea instead, type “lapor”.")
    text = f"{text}\n{other}"
    return Reply(text, rate_options(ctx))


def take_rate(ctx: Context, msg: Incoming) -> Outcome:
    """Stores the score, or says kindly what is expected."""
    _ = ctx.gettext
    if RATE.owns(msg.option):
        return rate(ctx, msg.option)
    if normalise(msg.text) in REPORT_WORDS:
        return complaints.open_complaints(ctx)
    text = _("Please answer with a number from 1 to 5: 1 is very poor, 5 is very good.")
    return Outcome([Reply(text)])


def rate(ctx: Context, key: str) -> Outcome:
    """Stores a score from a button's key (`rate:{rating}:{score}`), wherever it was tapped."""
    _ = ctx.gettext
    chosen = RATE.decode(key)
    # from the rating question back to the menu; from anywhere else, where the resident was
    # (after the comment offered: see masukan.offer_comment)
    after = HOME if ctx.position.flow == FlowName.FEEDBACK else None
    found = None
    if chosen is not None:
        found = ratings.get(
            db=ctx.db, rating_id=int(chosen["rating"]), resident_id=ctx.resident.id
        )
    if found is None:  # not theirs, erased, or no key we made: the same answer for all
        return Outcome([Reply(_("That question is no longer open."))], goto=after)
    score = int(chosen["score"])
    ratings.rate(
        db=ctx.db, rating_id=found.id, resident_id=ctx.resident.id, score=score, now=ctx.now
    )
    if found.score is None:
        text = _("Thank you for your score: {stars} ({score} of 5).")
    else:
        text = _("Thank you, your score is now {stars} ({score} of 5).")
    shown = text.format(stars=stars(score), score=score)
    return masukan.offer_comment(ctx, found.id, [Reply(shown)])


def rate_anywhere(ctx: Context, msg: Incoming) -> Outcome:
    """Takes a score button from an invitation, wherever the resident is (the engine has read
    the key: it is one we could have made)."""
    return rate(ctx, msg.option or "")


FEEDBACK = Flow(
    FlowName.FEEDBACK,
    {FeedbackStep.RATE: Step(ask_rate, take_rate, Expect.TEXT, options=rate_options)},
)
