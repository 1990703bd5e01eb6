"""Jadwal sembako: the next pickups for the resident's RW, the nearest places, reminders."""

from datetime import datetime, timedelta

from handlers.buttons import ID, button
from handlers.formatting import format_distance, format_window
from handlers.messages import Incoming, Kind, Option, Reply, Request
from handlers.places_typed import rw_number
from handlers.positions import HOME, FlowName, SembakoStep, sembako
from handlers.start import consent_then
from handlers.steps import Context, Expect, Flow, Outcome, Step, no_options, options_of
from storage import places, registry, reminders, schedules
from storage.reminders import Subject
from storage.schedules import Pickup

SHOWN = 3  # pickups listed for an RW
NEAR = frozenset({Kind.LOCATION})  # steps offering "Nearest location" take a location too
NEAR_HORIZON = timedelta(days=60)  # how far ahead "nearest places" looks
REMIND = button("sembako:remind", distribution=ID)  # works from any old message
MAP_LINK = "https://www.google.com/maps/search/?api=1&query={latitude:.6f},{longitude:.6f}"


def open_schedule(ctx: Context) -> Outcome:
    """Shows the registered resident's RW at once; asks anyone else where they live."""
    resident = ctx.resident
    if resident.registered and resident.kelurahan_code and resident.rw:
        data = {"kelurahan": resident.kelurahan_code, "rw": resident.rw}
        return Outcome(goto=sembako(SembakoStep.LIST), data=data)
    return Outcome(goto=sembako(SembakoStep.KELURAHAN))


def kelurahan_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kelurahan, and the nearest-place search."""
    _ = ctx.gettext
    found = places.list_kelurahan(db=ctx.db)
    choices = [(f"kel:{place.code}", place.name) for place in found]
    choices.append(("sembako:near", _("Nearest location"), "terdekat|lokasi|dekat|nearest"))
    return options_of(*choices)


def ask_kelurahan(ctx: Context) -> Reply:
    """Asks which kelurahan's schedule to show."""
    _ = ctx.gettext
    text = _(
        "Which kelurahan do you live in? Or choose “Nearest location” and share your location."
    )
    return Reply(text, kelurahan_options(ctx))


def take_kelurahan(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the kelurahan and asks for the RW."""
    if msg.kind == Kind.LOCATION:  # shared without being asked: the nearest places it is
        return take_location(ctx, msg)
    if msg.option == "sembako:near":
        return Outcome(goto=sembako(SembakoStep.LOCATION))
    code = (msg.option or "").removeprefix("kel:")
    if places.get_kelurahan(db=ctx.db, code=code) is None:
        return Outcome()
    return Outcome(goto=sembako(SembakoStep.RW), data={"kelurahan": code})


def ask_rw(ctx: Context) -> Reply:
    """Asks for the RW."""
    _ = ctx.gettext
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=ctx.data.get("kelurahan", ""))
    if not numbers:
        return Reply(_("Which RW do you live in? Type the number, for example 5."))
    return Reply(
        _("Which RW do you live in? Type a number from {first} to {last}.").format(
            first=f"{numbers[0]:03d}", last=f"{numbers[-1]:03d}"
        )
    )


def take_rw(ctx: Context, msg: Incoming) -> Outcome:
    """Checks the RW and shows its schedule."""
    _ = ctx.gettext
    code = ctx.data.get("kelurahan", "")
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code)
    if not numbers:
        return Outcome(goto=sembako(SembakoStep.KELURAHAN))
    number = rw_number(msg.text)
    if number is None or number not in numbers:
        text = _("Please type an RW number from {first} to {last}, for example {example}.")
        example = numbers[min(4, len(numbers) - 1)]
        first, last = f"{numbers[0]:03d}", f"{numbers[-1]:03d}"
        return Outcome([Reply(text.format(first=first, last=last, example=example))])
    return Outcome(goto=sembako(SembakoStep.LIST), data={"kelurahan": code, "rw": number})


def pickup_text(ctx: Context, pickup: Pickup, program_names: dict[str, str]) -> str:
    """Describe one pickup: what, when, where (with a map link), and what to bring."""
    _ = ctx.gettext
    when = format_window(pickup.starts_at, pickup.ends_at, ctx.language, ctx.config.time_zone)
    link = MAP_LINK.format(latitude=pickup.latitude, longitude=pickup.longitude)
    lines = [
        f"• {program_names.get(pickup.program_code, pickup.program_code)}",
        _("  When: {when}").format(when=when),
        _("  Where: {place}, {address}").format(place=pickup.place, address=pickup.address),
        _("  Map: {link}").format(link=link),
    ]
    if pickup.items:
        lines.append(_("  Package: {items}").format(items=pickup.text("items", ctx.language)))
    if pickup.bring:
        lines.append(_("  Bring: {bring}").format(bring=pickup.text("bring", ctx.language)))
    return "\n".join(lines)


def upcoming(ctx: Context) -> list[Pickup]:
    """Return the next pickups of the RW in the conversation."""
    return schedules.next_for_rw(
        db=ctx.db,
        kelurahan_code=ctx.data.get("kelurahan", ""),
        rw=ctx.data.get("rw", 0),
        now=ctx.now,
        limit=SHOWN,
    )


def program_names(ctx: Context) -> dict[str, str]:
    """Return program names by code."""
    return {program.code: program.name for program in registry.programs(db=ctx.db)}


def reminder_target(ctx: Context, found: list[Pickup]) -> Pickup | None:
    """Return the pickup a reminder would be for: the next one that has not started."""
    return next((pickup for pickup in found if pickup.starts_at > ctx.now), None)


def list_options(ctx: Context, found: list[Pickup] | None = None) -> tuple[Option, ...]:
    """Return what can be done from the schedule."""
    _ = ctx.gettext
    found = upcoming(ctx) if found is None else found
    choices = []
    target = reminder_target(ctx, found)
    if target is not None:
        choices.append((REMIND.encode(distribution=target.id), _("Remind me"), "ingatkan|remind"))
    choices += [
        ("sembako:near", _("Nearest location"), "terdekat|lokasi|dekat|nearest"),
        ("sembako:other", _("Another RW"), "rw lain|kelurahan lain|other"),
        ("sembako:menu", _("Main menu"), "menu"),
    ]
    return options_of(*choices)


def ask_list(ctx: Context) -> Reply:
    """Shows the next pickups for the RW."""
    _ = ctx.gettext
    found = upcoming(ctx)
    kelurahan = places.get_kelurahan(db=ctx.db, code=ctx.data.get("kelurahan"))
    where = _("Kelurahan {kelurahan}, RW {rw}").format(
        kelurahan=kelurahan.name if kelurahan else "-", rw=f"{ctx.data.get('rw', 0):03d}"
    )
    if not found:
        text = _(
            "No sembako distribution is scheduled yet for {where}. It will be announced here "
            "when it is set; your RT/RW can also tell you."
        ).format(where=where)
        return Reply(text, list_options(ctx, found))
    names = program_names(ctx)
    blocks = "\n\n".join(pickup_text(ctx, pickup, names) for pickup in found)
    head = _("Next sembako distributions for {where}:").format(where=where)
    note = _("Come in person with the documents; collecting is free of charge.")
    text = "\n\n".join((head, blocks, note))
    return Reply(text, list_options(ctx, found))


def remind_list(ctx: Context) -> Reply:
    """Asks briefly what to do next, without the whole schedule."""
    _ = ctx.gettext
    return Reply(_("What would you like to do next?"), list_options(ctx))


def reminder_times(ctx: Context, pickup: Pickup) -> list[datetime]:
    """Return when to remind (the evening before and the morning of), those still ahead."""
    zone = ctx.config.time_zone
    return reminders.times_ahead(Subject.DISTRIBUTION, pickup.starts_at, zone, ctx.now)


def remind(ctx: Context, distribution_id: int) -> Reply | Outcome:
    """Records reminders for a pickup; returns the confirmation, or where to go instead."""
    _ = ctx.gettext
    if ctx.resident.consent_at is None:
        text = _("To keep a reminder for you we need your agreement to how we use data.")
        where = {key: ctx.data[key] for key in ("kelurahan", "rw") if key in ctx.data}
        if len(where) < 2:  # from an old button elsewhere: back to the schedule's start
            return consent_then(ctx, text, sembako(SembakoStep.KELURAHAN))
        return consent_then(ctx, text, sembako(SembakoStep.LIST), where)
    pickup = schedules.get(db=ctx.db, distribution_id=distribution_id)
    if pickup is None or pickup.starts_at <= ctx.now:  # gone, or already begun
        return Reply(_("That distribution is no longer on the schedule."))
    times = reminder_times(ctx, pickup)
    if not times:
        text = _("It starts very soon, so there is no time left for a reminder. See you there!")
        return Reply(text)
    new = reminders.request(
        db=ctx.db,
        resident_id=ctx.resident.id,
        subject=Subject.DISTRIBUTION,
        subject_id=pickup.id,
        times=times,
        now=ctx.now,
    )
    moments = _(" and ").join(ctx.moment(at) for at in times)
    if not new:
        return Reply(_("You already asked for this reminder: {moments}.").format(moments=moments))
    text = _("Noted. We will remind you on {moments}.").format(moments=moments)
    where = _("You can see or cancel your reminders in “My reminders” in the menu.")
    shown = f"{text}\n{where}"
    return Reply(shown)


def remind_from_list(ctx: Context, distribution_id: int) -> Outcome:
    """Records reminders and keeps the schedule's options at hand."""
    answer = remind(ctx, distribution_id)
    if isinstance(answer, Outcome):
        return answer
    return Outcome([Reply(answer.text, list_options(ctx))], ask=False)


def remind_anywhere(ctx: Context, msg: Incoming) -> Outcome | None:
    """Takes a reminder button from an older schedule message, wherever the resident is."""
    chosen = REMIND.decode(msg.option)
    if chosen is None:
        return None
    answer = remind(ctx, int(chosen["distribution"]))
    return answer if isinstance(answer, Outcome) else Outcome([answer])


def take_list(ctx: Context, msg: Incoming) -> Outcome:
    """Acts on the schedule's options."""
    if msg.kind == Kind.LOCATION:
        return take_location(ctx, msg)
    key = msg.option or ""
    chosen = REMIND.decode(key)
    if chosen is not None:
        return remind_from_list(ctx, int(chosen["distribution"]))
    if key == "sembako:near":
        return Outcome(goto=sembako(SembakoStep.LOCATION), data=dict(ctx.data))
    if key == "sembako:other":
        return Outcome(goto=sembako(SembakoStep.KELURAHAN), data={})
    return Outcome(goto=HOME)


def location_options(ctx: Context) -> tuple[Option, ...]:
    """Return the ways out of the location question."""
    _ = ctx.gettext
    return options_of(("sembako:menu", _("Main menu"), "menu"))


def ask_location(ctx: Context) -> Reply:
    """Asks for the resident's location."""
    _ = ctx.gettext
    text = _(
        "Please share your location (tap the button, or use the attachment icon 📎 and "
        "choose Location). We use it only to find the nearest places and do not store it."
    )
    return Reply(
        text,
        location_options(ctx),
        request=Request.LOCATION,
        request_label=_("Share my location"),
    )


def take_location(ctx: Context, msg: Incoming) -> Outcome:
    """Lists the nearest pickup places with their next distribution."""
    _ = ctx.gettext
    if msg.option == "sembako:menu":
        return Outcome(goto=HOME)
    if msg.kind != Kind.LOCATION or msg.latitude is None or msg.longitude is None:
        text = _(
            "Please share your location with the button or the attachment icon 📎. Typing an "
            "address does not work here."
        )
        return Outcome([Reply(text)])
    found = schedules.nearest(
        db=ctx.db,
        latitude=msg.latitude,
        longitude=msg.longitude,
        now=ctx.now,
        until=ctx.now + NEAR_HORIZON,
    )
    if not found:
        text = _("No sembako distribution is scheduled in the coming weeks.")
        return Outcome([Reply(text)], goto=HOME)
    names = program_names(ctx)
    blocks = []
    for near in found:  # one block per place and group of RWs it serves
        pickup = near.pickup
        kelurahan = places.get_kelurahan(db=ctx.db, code=pickup.kelurahan_code)
        served = rw_list(ctx, pickup)
        distance = format_distance(near.distance_km, ctx.language)
        head = _("{distance} away, for Kelurahan {kelurahan} {rws}:").format(
            distance=distance, kelurahan=kelurahan.name if kelurahan else "-", rws=served
        )
        blocks.append(f"{head}\n{pickup_text(ctx, pickup, names)}")
    intro = _("The nearest pickup places:")
    note = _("Each place serves only the RWs named. Your own RW's place is in “Sembako schedule”.")
    text = f"{intro}\n\n" + "\n\n".join(blocks) + f"\n\n{note}"
    return Outcome([Reply(text)], goto=HOME)


def rw_list(ctx: Context, pickup: Pickup) -> str:
    """Name the RWs a pickup serves: 'RW 001–005' or 'all RWs'."""
    _ = ctx.gettext
    if not pickup.rws:
        return _("(all RWs)")
    numbers = list(pickup.rws)
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"(RW {numbers[0]:03d}–{numbers[-1]:03d})"
    return "(RW " + ", ".join(f"{rw:03d}" for rw in numbers) + ")"


SEMBAKO = Flow(
    FlowName.SEMBAKO,
    {
        SembakoStep.KELURAHAN: Step(
            ask_kelurahan, take_kelurahan, options=kelurahan_options, accepts=NEAR
        ),
        SembakoStep.RW: Step(ask_rw, take_rw, Expect.TEXT, options=no_options),
        SembakoStep.LIST: Step(
            ask_list, take_list, options=list_options, remind=remind_list, accepts=NEAR
        ),
        SembakoStep.LOCATION: Step(
            ask_location,
            take_location,
            Expect.LOCATION,
            options=location_options,
        ),
    },
)
