"""Kesehatan: health talks (penyuluhan) and free health checks. Browse by topic, book a
place or a time slot, see what to bring, see and cancel one's bookings."""

from handlers.answers import page_of, profile_first, register_first, yes_no
from handlers.bookings import (
    ask_cancel,
    ask_mine,
    confirm_cancel_options,
    mine_options,
    take_cancel,
    take_mine,
)
from handlers.buttons import ID, button
from handlers.formatting import format_short_slot, format_window
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, FlowName, HealthStep, health
from handlers.steps import Context, Flow, Outcome, Step, options_of
from storage import health as clinics
from storage import reminders
from storage.health import BookResult, Event, EventKind, Slot
from storage.residents import ProfileIncomplete

# slots, topics or places offered at once: with the ways out, a WhatsApp list holds 10 rows
SLOTS_OFFERED = 7
EVENT = button("event", event=ID)
SLOT = button("slot", slot=ID)


def open_health(ctx: Context) -> Outcome:
    """Opens health talks and checks."""
    return Outcome(goto=health(HealthStep.KIND))


def way_out(ctx: Context) -> list[tuple[str, str, str]]:
    """Return the options every health screen ends with."""
    _ = ctx.gettext
    return [
        ("health:mine", _("My bookings"), "booking saya|jadwal saya|my bookings"),
        ("health:menu", _("Main menu"), "menu"),
    ]


def kind_options(ctx: Context) -> tuple[Option, ...]:
    """Return talks, checks, my bookings and the menu."""
    _ = ctx.gettext
    return options_of(
        (
            "kind:talk",
            _("Health talks"),
            "penyuluhan|penyuluhan kesehatan|seminar|edukasi|sosialisasi|ceramah|kelas|"
            "kelas kesehatan|talks|talk|health talk|seminar",
        ),
        (
            "kind:check",
            _("Free health checks"),
            "cek|cek kesehatan|check|checks|periksa|periksa kesehatan|pemeriksaan|cek gratis|"
            "cek gula|cek gula darah|cek darah|cek tensi|tensi|cek kolesterol|cek mata|"
            "posyandu|posyandu lansia|skrining|screening|check up|checkup|medical check",
        ),
        *way_out(ctx),
    )


def ask_kind(ctx: Context) -> Reply:
    """Asks whether the resident looks for a talk or a check."""
    _ = ctx.gettext
    text = _(
        "Free health services with the puskesmas and clinics of Duren Sawit:\n"
        "• Health talks (penyuluhan): nutrition, stunting, high blood pressure and more.\n"
        "• Free health checks: book a time slot at a puskesmas or clinic.\n"
        "What are you looking for?"
    )
    return Reply(text, kind_options(ctx))


def take_kind(ctx: Context, msg: Incoming) -> Outcome:
    """Shows the topics of talks or of checks."""
    key = msg.option or ""
    if key == "health:mine":
        return Outcome(goto=health(HealthStep.MINE))
    if key == "health:menu":
        return Outcome(goto=HOME)
    return Outcome(goto=health(HealthStep.TOPIC), data={"kind": key.removeprefix("kind:")})


def chosen_kind(ctx: Context) -> EventKind:
    """Return the kind of event in the conversation."""
    return EventKind.CHECK if ctx.data.get("kind") == EventKind.CHECK else EventKind.TALK


def topic_codes(ctx: Context) -> dict[str, str]:
    """Return the code of each topic's event, for topics with one event ahead: a short form
    of the topic where its name does not fit a button (WhatsApp)."""
    events: dict[str, list[str]] = {}
    for event, _first in clinics.upcoming_events(db=ctx.db, kind=chosen_kind(ctx), now=ctx.now):
        events.setdefault(event.topic, []).append(event.code)
    return {topic: codes[0] for topic, codes in events.items() if len(codes) == 1}


def topic_options(ctx: Context) -> tuple[Option, ...]:
    """Return the topics with something ahead."""
    _ = ctx.gettext
    found = clinics.topics(db=ctx.db, kind=chosen_kind(ctx), now=ctx.now)
    language = ctx.language
    codes = topic_codes(ctx)
    choices = [
        (f"tp:{topic}", (topic_en if language == "en" else "") or topic, "", codes.get(topic, ""))
        for topic, topic_en in found[:SLOTS_OFFERED]
    ]
    choices.append(("health:back", _("Back"), "kembali|back"))
    return options_of(*choices, *way_out(ctx))


def ask_topic(ctx: Context) -> Reply:
    """Asks for a topic."""
    _ = ctx.gettext
    options = topic_options(ctx)
    if len(options) == 3:  # only the ways out
        if chosen_kind(ctx) == EventKind.TALK:
            text = _("No health talk is planned right now. Please look again later.")
        else:
            text = _("No free health check is planned right now. Please look again later.")
        return Reply(text, options)
    if chosen_kind(ctx) == EventKind.TALK:
        return Reply(_("Which topic interests you?"), options)
    return Reply(_("Which health check?"), options)


def take_topic(ctx: Context, msg: Incoming) -> Outcome:
    """Lists the events of a topic."""
    key = msg.option or ""
    if key == "health:back":
        return Outcome(goto=health(HealthStep.KIND), data={})
    if key == "health:mine":
        return Outcome(goto=health(HealthStep.MINE), data={})
    if key == "health:menu":
        return Outcome(goto=HOME)
    topic = key.removeprefix("tp:")
    events = clinics.upcoming_events(db=ctx.db, kind=chosen_kind(ctx), now=ctx.now, topic=topic)
    data = {"kind": chosen_kind(ctx).value, "topic": topic}
    if len(events) == 1:  # one event: straight to its details
        return Outcome(goto=health(HealthStep.SLOTS), data={**data, "event": events[0][0].id})
    return Outcome(goto=health(HealthStep.EVENTS), data=data)


def events_found(ctx: Context) -> list[tuple[Event, object]]:
    """Return the events of the topic in the conversation."""
    return clinics.upcoming_events(
        db=ctx.db, kind=chosen_kind(ctx), now=ctx.now, topic=ctx.data.get("topic")
    )


def event_options(ctx: Context) -> tuple[Option, ...]:
    """Return the events of the topic."""
    _ = ctx.gettext
    choices = [
        (
            EVENT.encode(event=event.id),
            f"{event.place} · {format_short_slot(first, ctx.language)}",
            "",
            event.code,  # where place and day do not fit a button (WhatsApp)
        )
        for event, first in events_found(ctx)[:SLOTS_OFFERED]
    ]
    choices.append(("health:back", _("Back"), "kembali|back"))
    return options_of(*choices, *way_out(ctx))


def ask_events(ctx: Context) -> Reply:
    """Lists the events of a topic."""
    _ = ctx.gettext
    found = events_found(ctx)
    if not found:
        return Reply(_("Nothing is planned on this topic any more."), event_options(ctx))
    lines = [_("Where and when:")]
    for number, (event, first) in enumerate(found[:SLOTS_OFFERED], 1):
        lines.append(
            _("{number}. {title}: {place}, from {day}").format(
                number=number,
                title=event.text("title", ctx.language),
                place=event.place,
                day=ctx.day(first),
            )
        )
    shown = "\n".join(lines)
    return Reply(shown, event_options(ctx))


def take_events(ctx: Context, msg: Incoming) -> Outcome:
    """Shows an event and its times."""
    key = msg.option or ""
    if key == "health:back":
        return Outcome(goto=health(HealthStep.TOPIC), data={"kind": chosen_kind(ctx).value})
    if key == "health:mine":
        return Outcome(goto=health(HealthStep.MINE), data={})
    if key == "health:menu":
        return Outcome(goto=HOME)
    chosen = EVENT.decode(key)
    if chosen is None:
        return Outcome()
    return Outcome(goto=health(HealthStep.SLOTS), data={**ctx.data, **chosen})


def free_slots(ctx: Context) -> list[Slot]:
    """Return the slots of the event in the conversation that still have room."""
    found = clinics.open_slots(db=ctx.db, event_id=ctx.data.get("event", 0), now=ctx.now)
    return [slot for slot in found if slot.left]


def slot_label(ctx: Context, slot: Slot) -> str:
    """Name a slot on a button: its day and time, and the room left."""
    left = ctx.ngettext("{count} left", "{count} left", slot.left).format(count=slot.left)
    return f"{format_short_slot(slot.starts_at, ctx.language)} ({left})"


def slot_options(ctx: Context) -> tuple[Option, ...]:
    """Return the free slots, then the ways back."""
    _ = ctx.gettext
    shown, more = page_of(ctx, free_slots(ctx), SLOTS_OFFERED)
    # the day and time alone where the room left does not fit a button (WhatsApp)
    choices = [
        (
            SLOT.encode(slot=slot.id),
            slot_label(ctx, slot),
            "",
            format_short_slot(slot.starts_at, ctx.language),
        )
        for slot in shown
    ]
    if more:
        choices.append(("health:more", _("Other times"), "lagi|jam lain|more|next|later"))
    choices.append(("health:back", _("Back"), "kembali|back"))
    return options_of(*choices, *way_out(ctx))


def event_text(ctx: Context, event: Event) -> str:
    """Describe an event: what, who, where, what to bring."""
    _ = ctx.gettext
    lines = [
        event.text("title", ctx.language),
        _("Organiser: {organiser}").format(organiser=event.organiser),
        _("Place: {place}, {address}").format(place=event.place, address=event.address),
        _("Cost: free of charge"),
    ]
    bring = event.text("bring", ctx.language)
    if bring:
        lines.append(_("Bring: {bring}").format(bring=bring))
    return "\n".join(lines)


def ask_slots(ctx: Context) -> Reply:
    """Shows an event and asks for a time."""
    _ = ctx.gettext
    event = clinics.get_event(db=ctx.db, event_id=ctx.data.get("event", 0))
    if event is None:
        return Reply(_("Nothing is planned on this topic any more."), slot_options(ctx))
    slots = free_slots(ctx)
    if not slots:
        text = _("All places are taken. Please choose another day or place.")
        shown = f"{event_text(ctx, event)}\n\n{text}"
        return Reply(shown, slot_options(ctx))
    if event.kind == EventKind.TALK and len(slots) == 1:
        slot = slots[0]
        when = format_window(slot.starts_at, slot.ends_at, ctx.language, ctx.config.time_zone)
        text = _("When: {when}. Choose the time below to book a place.").format(when=when)
    else:
        text = _("Choose a time to book:")
    shown = f"{event_text(ctx, event)}\n\n{text}"
    return Reply(shown, slot_options(ctx))


def take_slots(ctx: Context, msg: Incoming) -> Outcome:
    """Asks to confirm the chosen time, after the profile where it is missing."""
    key = msg.option or ""
    if key == "health:more":
        return Outcome(data={**ctx.data, "page": ctx.data.get("page", 0) + 1})
    if key == "health:back":
        back = {"kind": chosen_kind(ctx).value, "topic": ctx.data.get("topic")}
        if len(events_found(ctx)) > 1:
            return Outcome(goto=health(HealthStep.EVENTS), data=back)
        return Outcome(goto=health(HealthStep.TOPIC), data={"kind": back["kind"]})
    if key == "health:mine":
        return Outcome(goto=health(HealthStep.MINE), data={})
    if key == "health:menu":
        return Outcome(goto=HOME)
    chosen = SLOT.decode(key)
    if chosen is None:
        return Outcome()
    data = {**ctx.data, **chosen}
    signup = profile_first(ctx, health(HealthStep.CONFIRM), data)
    if signup is not None:
        return signup
    return Outcome(goto=health(HealthStep.CONFIRM), data=data)


def confirm_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to the booking."""
    _ = ctx.gettext
    # the slot's id in the keys: a button of another slot's question is an old one
    return yes_no(ctx, f"book:{ctx.data.get('slot', 0)}", _("Yes, book it"), _("No"))


def ask_confirm(ctx: Context) -> Reply:
    """Asks to confirm the booking."""
    _ = ctx.gettext
    slot = clinics.get_slot(db=ctx.db, slot_id=ctx.data.get("slot", 0))
    if slot is None:
        return Reply(_("That time is no longer available."), confirm_options(ctx))
    when = format_window(slot.starts_at, slot.ends_at, ctx.language, ctx.config.time_zone)
    text = _("Book “{title}” for {name} on {when} at {place}?").format(
        title=slot.event.text("title", ctx.language),
        name=ctx.resident.name,
        when=when,
        place=slot.event.place,
    )
    return Reply(text, confirm_options(ctx))


def take_confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Books the slot and says what to bring, or why it could not."""
    _ = ctx.gettext
    back = {key: ctx.data[key] for key in ("kind", "topic", "event") if key in ctx.data}
    if (msg.option or "").endswith(":no"):
        return Outcome([Reply(_("Not booked."))], goto=health(HealthStep.SLOTS), data=back)
    try:
        booked = clinics.book(
            db=ctx.db, slot_id=ctx.data.get("slot", 0), resident_id=ctx.resident.id, now=ctx.now
        )
    except ProfileIncomplete:  # however the resident got here: register first, then back
        return register_first(ctx, health(HealthStep.CONFIRM), dict(ctx.data))
    if booked.result == BookResult.FULL:
        text = _("Sorry, that time has just been taken. Please choose another.")
        return Outcome([Reply(text)], goto=health(HealthStep.SLOTS), data=back)
    if booked.result == BookResult.GONE:
        text = _("Sorry, that time is no longer available.")
        return Outcome([Reply(text)], goto=health(HealthStep.KIND), data={})
    slot = booked.slot
    when = format_window(slot.starts_at, slot.ends_at, ctx.language, ctx.config.time_zone)
    if booked.result == BookResult.ALREADY:
        text = _(
            "You already have a booking for this: {when}. To change the time, cancel it in "
            "“My bookings” and book again."
        ).format(when=when)
        return Outcome([Reply(text)], goto=health(HealthStep.MINE), data={})
    lines = [
        _("Booked: “{title}”, {when}, at {place}, {address}.").format(
            title=slot.event.text("title", ctx.language),
            when=when,
            place=slot.event.place,
            address=slot.event.address,
        )
    ]
    bring = slot.event.text("bring", ctx.language)
    if bring:
        lines.append(_("Bring: {bring}").format(bring=bring))
    lines.append(_("Please come 10 minutes early. If you cannot come, cancel in “My bookings”."))
    made = reminders.remind_slot(
        db=ctx.db,
        resident_id=ctx.resident.id,
        slot_id=slot.id,
        starts_at=slot.starts_at,
        now=ctx.now,
        zone=ctx.config.time_zone,
    )
    if made:
        moments = _(" and ").join(ctx.moment(at) for at in made)
        lines.append(_("We will remind you here on {moments}.").format(moments=moments))
    shown = "\n".join(lines)
    return Outcome([Reply(shown)], goto=health(HealthStep.MINE), data={})


HEALTH = Flow(
    FlowName.HEALTH,
    {
        HealthStep.KIND: Step(ask_kind, take_kind, options=kind_options),
        HealthStep.TOPIC: Step(ask_topic, take_topic, options=topic_options),
        HealthStep.EVENTS: Step(ask_events, take_events, options=event_options),
        HealthStep.SLOTS: Step(ask_slots, take_slots, options=slot_options),
        HealthStep.CONFIRM: Step(ask_confirm, take_confirm, options=confirm_options),
        HealthStep.MINE: Step(ask_mine, take_mine, options=mine_options),
        HealthStep.CANCEL: Step(ask_cancel, take_cancel, options=confirm_cancel_options),
    },
)
