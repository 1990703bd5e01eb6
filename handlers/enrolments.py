"""Pendaftaran saya: a resident's enrolments in skills training, and cancelling one, which
moves the first on the waiting list up and tells them through the outbound queue."""

from handlers.answers import cancel_options, own_item
from handlers.buttons import ID, button
from handlers.messages import Incoming, Option, Reply
from handlers.notices import queue_promotion
from handlers.positions import HOME, TrainingStep, training
from handlers.steps import Context, Outcome, options_of
from storage import reminders
from storage import training as courses
from storage.training import EnrolmentStatus

CANCEL = button("training:cancel", enrolment=ID)  # works from any old message


def enrolment_status(ctx: Context, status: EnrolmentStatus, position: int) -> str:
    """Say where the resident stands in a batch."""
    _ = ctx.gettext
    if status == EnrolmentStatus.CONFIRMED:
        return _("You are enrolled in this batch.")
    return _("You are number {position} on the waiting list.").format(position=position)


def mine_options(ctx: Context) -> tuple[Option, ...]:
    """Return a cancel option per enrolment, then browsing and the menu."""
    _ = ctx.gettext
    found = courses.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    choices = [
        (
            CANCEL.encode(enrolment=item.id),
            _("Cancel: {course}").format(course=item.batch.course_title(ctx.language)),
            "",
            _("Cancel {code}").format(code=item.batch.code),  # where the name does not fit
        )
        for item in found
    ]
    choices += [
        ("training:browse", _("Browse courses"), "kursus|pelatihan|courses|browse"),
        ("training:menu", _("Main menu"), "menu"),
    ]
    return options_of(*choices)


def ask_mine(ctx: Context) -> Reply:
    """Lists the resident's enrolments."""
    _ = ctx.gettext
    found = courses.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    if not found:
        return Reply(_("You are not enrolled in any course."), mine_options(ctx))
    lines = [_("Your enrolments:")]
    for item in found:
        batch = item.batch
        lines.append(
            f"• {batch.course_title(ctx.language)} ({batch.code})\n  "
            + _("From {day} at {place}").format(day=ctx.day(batch.starts_at), place=batch.place)
            + "\n  "
            + (
                _("The batch has begun, so its waiting list is closed.")
                if item.status == EnrolmentStatus.WAITLISTED and batch.starts_at <= ctx.now
                else enrolment_status(ctx, item.status, item.position)
            )
        )
    shown = "\n".join(lines)
    return Reply(shown, mine_options(ctx))


def take_mine(ctx: Context, msg: Incoming) -> Outcome:
    """Asks to confirm a cancellation, or browses."""
    key = msg.option or ""
    if CANCEL.owns(key):
        return cancel_asked(ctx, key)
    if key == "training:browse":
        return Outcome(goto=training(TrainingStep.CATEGORY), data={})
    return Outcome(goto=HOME)


def cancel_asked(ctx: Context, key: str) -> Outcome:
    """Asks to confirm cancelling one of the resident's own enrolments."""
    _ = ctx.gettext
    found = courses.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    chosen = CANCEL.decode(key)
    mine = own_item(found, chosen["enrolment"] if chosen else None)
    if mine is None:  # cancelled already, over, or not theirs: the same answer for all
        text = _("That enrolment is not (or no longer) on your list.")
        return Outcome([Reply(text)], goto=training(TrainingStep.MINE), data={})
    return Outcome(goto=training(TrainingStep.CANCEL), data={"enrolment": mine.id})


def cancel_anywhere(ctx: Context, msg: Incoming) -> Outcome:
    """Takes a cancel button from an older message, wherever the resident is."""
    return cancel_asked(ctx, msg.option or "")


def confirm_cancel_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to cancelling the enrolment in the conversation."""
    return cancel_options(ctx, "enrolment")


def ask_cancel(ctx: Context) -> Reply:
    """Asks to confirm the cancellation."""
    _ = ctx.gettext
    found = courses.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    mine = next((item for item in found if item.id == ctx.data.get("enrolment")), None)
    course = mine.batch.course_title(ctx.language) if mine else "-"
    text = _(
        "Cancel your enrolment in “{course}”? Your place goes to the next person on the "
        "waiting list."
    ).format(course=course)
    return Reply(text, cancel_options(ctx, "enrolment"))


def take_cancel(ctx: Context, msg: Incoming) -> Outcome:
    """Cancels the enrolment and tells whoever moves up."""
    _ = ctx.gettext
    if (msg.option or "").endswith(":no"):
        return Outcome([Reply(_("Your enrolment is kept."))], goto=training(TrainingStep.MINE))
    done = courses.cancel(
        db=ctx.db,
        enrolment_id=ctx.data.get("enrolment", 0),
        resident_id=ctx.resident.id,
        now=ctx.now,
    )
    if done is None:
        text = _("That enrolment is not (or no longer) on your list.")
        return Outcome([Reply(text)], goto=training(TrainingStep.MINE), data={})
    reminders.cancel_batch(db=ctx.db, batch_id=done.batch.id, resident_id=ctx.resident.id)
    # the first on the waiting list takes the seat; their reminders come with the notice
    for moved in done.promoted:
        queue_promotion(
            db=ctx.db,
            resident_id=moved,
            batch=done.batch,
            now=ctx.now,
            time_zone=ctx.config.time_zone,
        )
    text = _("Your enrolment in “{course}” is cancelled.").format(
        course=done.batch.course_title(ctx.language)
    )
    return Outcome([Reply(text)], goto=training(TrainingStep.MINE), data={})
