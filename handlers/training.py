"""Pelatihan keterampilan: browse courses by category, see a batch, enrol (or join its
waitlist), see and cancel one's enrolments. A cancellation promotes the first on the
waitlist, who is told through the outbound queue.

```mermaid
flowchart LR
  category --> batches --> detail --> age --> priority --> confirm
  detail --> confirm
  category --> mine --> cancel --> mine
```
"""

from handlers.answers import page_of, profile_first, register_first, yes_no
from handlers.buttons import ID, NAME, button
from handlers.choice_words import choice_words
from handlers.enrolments import (
    CANCEL,
    ask_cancel,
    ask_mine,
    cancel_asked,
    confirm_cancel_options,
    enrolment_status,
    mine_options,
    take_cancel,
    take_mine,
)
from handlers.formatting import format_window
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, FlowName, TrainingStep, training
from handlers.steps import Context, Flow, Outcome, Step, options_of
from storage import places, reminders
from storage import training as courses
from storage.priorities import group_label, priority_groups
from storage.residents import ProfileIncomplete
from storage.training import Batch, EnrolmentStatus

CATEGORY = button("cat", name=NAME)  # a kind of course, by its name in the data
BATCH = button("batch", batch=ID)
ENROL = button("training:enrol", batch=ID)
SESSIONS_SHOWN = 12
# batches or categories offered at once: with the ways out, a WhatsApp list holds 10 rows
LISTED = 7


def open_training(ctx: Context) -> Outcome:
    """Opens skills training at the categories."""
    return Outcome(goto=training(TrainingStep.CATEGORY))


def way_out(ctx: Context) -> list[tuple[str, str, str]]:
    """Return the options every training screen ends with."""
    _ = ctx.gettext
    return [
        ("training:mine", _("My enrolments"), "pendaftaran saya|pendaftaran|my enrolments"),
        ("training:menu", _("Main menu"), "menu"),
    ]


def category_options(ctx: Context) -> tuple[Option, ...]:
    """Return the categories with open batches, then my enrolments and the menu."""
    found = courses.categories(db=ctx.db, now=ctx.now)
    choices = [
        (
            CATEGORY.encode(name=category.name),
            category.label(ctx.language),
            choice_words("training", category.name),
        )
        for category in found
    ]
    choices = choices[:LISTED]
    return options_of(*choices, *way_out(ctx))


def ask_category(ctx: Context) -> Reply:
    """Asks which kind of course the resident is looking for."""
    _ = ctx.gettext
    options = category_options(ctx)
    if len(options) == 2:  # only the ways out: nothing open
        text = _(
            "No course is open for enrolment right now. New batches are announced here; "
            "your kelurahan office can tell you more."
        )
        return Reply(text, options)
    text = _("Free skills training for residents of Duren Sawit. Which kind of course?")
    return Reply(text, options)


def take_category(ctx: Context, msg: Incoming) -> Outcome:
    """Shows the open batches of a category, or my enrolments."""
    key = msg.option or ""
    if key == "training:mine":
        return Outcome(goto=training(TrainingStep.MINE))
    if key == "training:menu":
        return Outcome(goto=HOME)
    chosen = CATEGORY.decode(key)
    if chosen is None:  # not a category of ours: ask again
        return Outcome()
    return Outcome(goto=training(TrainingStep.BATCHES), data={"category": chosen["name"]})


def batch_label(ctx: Context, batch: Batch) -> str:
    """Name a batch on a button: course and first day."""
    day = ctx.day(batch.starts_at).split(",")[-1].strip()
    return f"{batch.course_title(ctx.language)} · {day}"


def seats_text(ctx: Context, batch: Batch) -> str:
    """Say how many seats are left, or how long the waitlist is."""
    if batch.seats_left:
        return ctx.ngettext(
            "{count} place left of {quota}", "{count} places left of {quota}", batch.seats_left
        ).format(count=batch.seats_left, quota=batch.quota)
    return ctx.ngettext(
        "full; {count} person on the waiting list",
        "full; {count} people on the waiting list",
        batch.waitlisted,
    ).format(count=batch.waitlisted)


def batch_options(ctx: Context) -> tuple[Option, ...]:
    """Return the open batches of the chosen category, a page at a time."""
    _ = ctx.gettext
    found = courses.open_batches(db=ctx.db, now=ctx.now, category=ctx.data.get("category"))
    shown, more = page_of(ctx, found, LISTED)
    # the batch's code where its name does not fit a button (WhatsApp)
    choices = [
        (BATCH.encode(batch=batch.id), batch_label(ctx, batch), "", batch.code) for batch in shown
    ]
    if more:
        choices.append(("training:more", _("More batches"), "lagi|lainnya|berikutnya|more|next"))
    choices.append(("training:back", _("Other courses"), "kembali|back|lain"))
    return options_of(*choices, *way_out(ctx))


def ask_batches(ctx: Context) -> Reply:
    """Lists the open batches of a category, briefly."""
    _ = ctx.gettext
    found = courses.open_batches(db=ctx.db, now=ctx.now, category=ctx.data.get("category"))
    if not found:
        text = _("There is no open batch in this category any more. Please choose another.")
        return Reply(text, batch_options(ctx))
    shown, more = page_of(ctx, found, LISTED)
    lines = [_("Open batches:")]
    if more:
        lines = [_("Open batches ({count} in all):").format(count=len(found))]
    for number, batch in enumerate(shown, 1):
        lines.append(
            _("{number}. {course}: from {day}, at {place} ({seats})").format(
                number=number,
                course=batch.course_title(ctx.language),
                day=ctx.day(batch.starts_at),
                place=batch.place,
                seats=seats_text(ctx, batch),
            )
        )
    lines.append(_("Choose one to see the details and enrol."))
    shown = "\n".join(lines)
    return Reply(shown, batch_options(ctx))


def take_batches(ctx: Context, msg: Incoming) -> Outcome:
    """Shows the chosen batch."""
    key = msg.option or ""
    if key == "training:more":
        return Outcome(data={**ctx.data, "page": ctx.data.get("page", 0) + 1})
    if key == "training:back":
        return Outcome(goto=training(TrainingStep.CATEGORY), data={})
    if key == "training:mine":
        return Outcome(goto=training(TrainingStep.MINE), data={})
    if key == "training:menu":
        return Outcome(goto=HOME)
    chosen = BATCH.decode(key)
    if chosen is None:
        return Outcome()
    return Outcome(goto=training(TrainingStep.DETAIL), data={**ctx.data, **chosen})


def open_batch(ctx: Context) -> Batch | None:
    """Return the batch in the conversation while it is open for enrolment."""
    batch = courses.get_batch(db=ctx.db, batch_id=ctx.data.get("batch", 0))
    if batch is None or batch.cancelled or batch.starts_at <= ctx.now:
        return None
    return batch


def current(ctx: Context, batch: Batch) -> courses.MyEnrolment | None:
    """Return the resident's active enrolment in a batch, if any."""
    mine = courses.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    return next((item for item in mine if item.batch.id == batch.id), None)


def detail_text(ctx: Context, batch: Batch) -> str:
    """Describe a batch in full: course, organiser, place, sessions, who may join."""
    _ = ctx.gettext
    zone = ctx.config.time_zone
    lines = [f"{batch.course_title(ctx.language)} ({batch.code})"]
    description = batch.course_description(ctx.language)
    if description:
        lines.append(description)
    lines += [
        _("Organiser: {organiser}").format(organiser=batch.organiser),
        _("Place: {place}, {address}").format(place=batch.place, address=batch.address),
        _("Places: {seats}").format(seats=seats_text(ctx, batch)),
        _("Cost: free of charge"),
    ]
    sessions = batch.sessions[:SESSIONS_SHOWN]
    lines.append(
        ctx.ngettext("{count} session:", "{count} sessions:", len(batch.sessions)).format(
            count=len(batch.sessions)
        )
    )
    for session in sessions:
        window = format_window(session.starts_at, session.ends_at, ctx.language, zone)
        lines.append(f"  {session.number}. {window}")
    if len(batch.sessions) > SESSIONS_SHOWN:
        lines.append("  …")
    who = [_("residents of Kecamatan Duren Sawit")] if batch.residents_only else []
    if batch.min_age:
        who.append(_("aged {age} or over").format(age=batch.min_age))
    if who:
        lines.append(_("For: {who}").format(who=", ".join(who)))
    if batch.priority_groups:
        groups = ", ".join(group_label(code, ctx.language) for code in batch.priority_groups)
        lines.append(_("Priority for: {groups}").format(groups=groups))
    return "\n".join(lines)


def detail_options(ctx: Context) -> tuple[Option, ...]:
    """Return what can be done with the batch shown."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    choices = []
    if batch is not None:
        mine = current(ctx, batch)
        if mine is not None:
            choices.append(
                (CANCEL.encode(enrolment=mine.id), _("Cancel my enrolment"), "batalkan")
            )
        elif batch.seats_left:
            choices.append(
                (ENROL.encode(batch=batch.id), _("Enrol"), "daftar|ikut|enrol|enroll|register")
            )
        else:
            choices.append(
                (
                    ENROL.encode(batch=batch.id),
                    _("Join the waiting list"),
                    "daftar|antri|tunggu|waitlist",
                )
            )
    choices.append(("training:back", _("Other courses"), "kembali|back|lain"))
    return options_of(*choices, *way_out(ctx))


def ask_detail(ctx: Context) -> Reply:
    """Shows a batch with everything a resident needs to decide."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    if batch is None:
        text = _("This batch is no longer open for enrolment. Please choose another.")
        return Reply(text, detail_options(ctx))
    lines = [detail_text(ctx, batch)]
    mine = current(ctx, batch)
    if mine is not None:
        lines.append(enrolment_status(ctx, mine.status, mine.position))
    elif not batch.seats_left:
        lines.append(
            _(
                "This batch is full. You can join the waiting list: when a place comes free, the "
                "first on the list gets it and is told here."
            )
        )
    shown = "\n\n".join(lines)
    return Reply(shown, detail_options(ctx))


def take_detail(ctx: Context, msg: Incoming) -> Outcome:
    """Starts the enrolment, or goes back."""
    key = msg.option or ""
    if key == "training:back":
        return Outcome(
            goto=training(TrainingStep.BATCHES), data={"category": ctx.data.get("category")}
        )
    if key == "training:mine":
        return Outcome(goto=training(TrainingStep.MINE), data={})
    if key == "training:menu":
        return Outcome(goto=HOME)
    if CANCEL.owns(key):
        return cancel_asked(ctx, key)
    return start_enrolment(ctx)


def start_enrolment(ctx: Context) -> Outcome:
    """Checks the profile and who may join, then asks what is still needed."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    if batch is None:
        return Outcome(goto=training(TrainingStep.DETAIL))
    signup = profile_first(ctx, training(TrainingStep.DETAIL), dict(ctx.data))
    if signup is not None:
        return signup
    mine = current(ctx, batch)
    if mine is not None:  # an old enrol button, or enrolled from another phone meanwhile
        text = _("You are already on this batch's list. {status}").format(
            status=enrolment_status(ctx, mine.status, mine.position)
        )
        return Outcome([Reply(text)], goto=training(TrainingStep.MINE), data={})
    if (
        batch.residents_only
        and places.get_kelurahan(db=ctx.db, code=ctx.resident.kelurahan_code) is None
    ):
        text = _("This course is only for residents of Kecamatan Duren Sawit.")
        return Outcome([Reply(text)], goto=training(TrainingStep.CATEGORY), data={})
    if batch.min_age:
        return Outcome(goto=training(TrainingStep.AGE))
    return after_age(ctx, batch)


def after_age(ctx: Context, batch: Batch) -> Outcome:
    """Asks about priority groups where the batch has them, else asks to confirm."""
    if batch.priority_groups:
        return Outcome(goto=training(TrainingStep.PRIORITY))
    return Outcome(goto=training(TrainingStep.CONFIRM))


def age_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to the age question."""
    _ = ctx.gettext
    return yes_no(ctx, "age", _("Yes"), _("No"))


def ask_age(ctx: Context) -> Reply:
    """Asks whether the resident is old enough."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    age = batch.min_age if batch else 0
    text = _("This course is for people aged {age} or over. Are you {age} or older?").format(
        age=age
    )
    return Reply(text, age_options(ctx))


def take_age(ctx: Context, msg: Incoming) -> Outcome:
    """Goes on for an old enough resident; explains otherwise."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    if batch is None:
        return Outcome(goto=training(TrainingStep.DETAIL))
    if msg.option == "age:no":
        text = _(
            "Sorry, this course is for people aged {age} or over. Other courses may suit you."
        ).format(age=batch.min_age)
        return Outcome([Reply(text)], goto=training(TrainingStep.CATEGORY), data={})
    return after_age(ctx, batch)


def group_short(code: str, language: str) -> str:
    """Return a group's short name for buttons (`id_short`, `en_short` in the data), in the
    language its name is shown in; "" when there is none."""
    entry = priority_groups().get(code, {})
    shown = language if entry.get(language) else "id"
    return entry.get(f"{shown}_short", "")


def priority_options(ctx: Context) -> tuple[Option, ...]:
    """Return the batch's priority groups and "none of these"."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    codes = batch.priority_groups if batch else ()
    choices = [
        (f"prio:{code}", group_label(code, ctx.language), "", group_short(code, ctx.language))
        for code in codes
    ]
    choices.append(("prio:none", _("None of these"), "tidak ada|tidak|bukan|none|no"))
    return options_of(*choices)


def ask_priority(ctx: Context) -> Reply:
    """Asks whether the resident belongs to a group the organiser gives priority to."""
    _ = ctx.gettext
    text = _(
        "The organiser gives priority to these groups. Do you belong to one of them? "
        "Choose the one that fits, or “None of these”; it does not stop you from enrolling."
    )
    return Reply(text, priority_options(ctx))


def take_priority(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the group and asks to confirm."""
    code = (msg.option or "").removeprefix("prio:")
    ctx.data["priority"] = None if code == "none" else code
    return Outcome(goto=training(TrainingStep.CONFIRM))


def confirm_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to the enrolment."""
    _ = ctx.gettext
    # the batch's id in the keys: a button of another batch's question is an old one
    return yes_no(ctx, f"enrol:{ctx.data.get('batch', 0)}", _("Yes, enrol me"), _("No"))


def ask_confirm(ctx: Context) -> Reply:
    """Asks to confirm the enrolment."""
    _ = ctx.gettext
    batch = open_batch(ctx)
    if batch is None:
        return Reply(_("This batch is no longer open for enrolment."), confirm_options(ctx))
    when = format_window(
        batch.starts_at,
        batch.sessions[0].ends_at if batch.sessions else batch.ends_at,
        ctx.language,
        ctx.config.time_zone,
    )
    if batch.seats_left:
        text = _("Enrol {name} in “{course}” ({code})? The first session is {when}.")
    else:
        text = _(
            "The batch is full. Put {name} on the waiting list of “{course}” ({code})? "
            "The first session is {when}."
        )
    return Reply(
        text.format(
            name=ctx.resident.name,
            course=batch.course_title(ctx.language),
            code=batch.code,
            when=when,
        ),
        confirm_options(ctx),
    )


def take_confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Enrols, or puts on the waitlist, and says which."""
    _ = ctx.gettext
    if (msg.option or "").endswith(":no"):
        return Outcome([Reply(_("Not enrolled."))], goto=training(TrainingStep.DETAIL))
    batch = open_batch(ctx)
    if batch is None:
        text = _("Sorry, this batch is no longer open for enrolment.")
        return Outcome([Reply(text)], goto=training(TrainingStep.CATEGORY), data={})
    try:
        enrolled = courses.enrol(
            db=ctx.db,
            batch_id=batch.id,
            resident_id=ctx.resident.id,
            now=ctx.now,
            priority_group=ctx.data.get("priority"),
        )
    except ProfileIncomplete:  # however the resident got here: register first, then back
        return register_first(ctx, training(TrainingStep.CONFIRM), dict(ctx.data))
    if enrolled is None:  # called off or begun while the resident was deciding
        text = _("Sorry, this batch is no longer open for enrolment.")
        return Outcome([Reply(text)], goto=training(TrainingStep.CATEGORY), data={})
    course = batch.course_title(ctx.language)
    if enrolled.existing:
        text = _("You are already on this batch's list. {status}").format(
            status=enrolment_status(ctx, enrolled.status, enrolled.position)
        )
    elif enrolled.status == EnrolmentStatus.CONFIRMED:
        text = _(
            "Done: you are enrolled in “{course}” ({code}). Please come on time to the first "
            "session, {start}, at {place}, and bring your KTP. If you cannot come, cancel in "
            "“My enrolments” so someone else can take your place."
        ).format(
            course=course, code=batch.code, start=ctx.moment(batch.starts_at), place=batch.place
        )
        made = reminders.remind_sessions(
            db=ctx.db,
            resident_id=ctx.resident.id,
            batch_id=batch.id,
            now=ctx.now,
            zone=ctx.config.time_zone,
        )
        if made:
            text += "\n" + _("We will remind you here the evening before each session.")
    else:
        text = _(
            "The batch is full, so you are on the waiting list of “{course}” as number "
            "{position}. When a place comes free, the first on the list gets it and we tell "
            "you here."
        ).format(course=course, position=enrolled.position)
    return Outcome([Reply(text)], goto=training(TrainingStep.MINE), data={})


TRAINING = Flow(
    FlowName.TRAINING,
    {
        TrainingStep.CATEGORY: Step(ask_category, take_category, options=category_options),
        TrainingStep.BATCHES: Step(ask_batches, take_batches, options=batch_options),
        TrainingStep.DETAIL: Step(ask_detail, take_detail, options=detail_options),
        TrainingStep.AGE: Step(ask_age, take_age, options=age_options),
        TrainingStep.PRIORITY: Step(ask_priority, take_priority, options=priority_options),
        TrainingStep.CONFIRM: Step(ask_confirm, take_confirm, options=confirm_options),
        TrainingStep.MINE: Step(ask_mine, take_mine, options=mine_options),
        TrainingStep.CANCEL: Step(ask_cancel, take_cancel, options=confirm_cancel_options),
    },
)
