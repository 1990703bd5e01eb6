"""Rounds of applications as residents meet them: until when scholarship and business-capital
applications are taken, a reminder before the last day on request ("Ingatkan saya"), and a
kind answer once a round has closed — at the start and again at submission, for a round that
closed while the resident was filling the form in."""

from handlers.buttons import ID, button
from handlers.formatting import format_day
from handlers.messages import Incoming, Reply
from handlers.notices import round_name
from handlers.positions import ApplyStep, apply
from handlers.start import consent_then
from handlers.steps import Context, Outcome
from storage import reminders, rounds
from storage.applications import Kind
from storage.reminders import Subject
from storage.rounds import Round

REMIND = button("apply:remind", round=ID)  # works from any old message


def last_day(ctx: Context, found: Round) -> str:
    """Return a round's last day, for the resident."""
    zone = ctx.config.time_zone
    return format_day(found.last_day(zone), ctx.language, zone)


def open_rounds(ctx: Context) -> list[Round]:
    """Return the rounds now open, scholarship first."""
    found = [rounds.current(db=ctx.db, kind=kind) for kind in (Kind.SCHOLARSHIP, Kind.CAPITAL)]
    return [item for item in found if item is not None and item.is_open(ctx.now)]


def deadline_lines(ctx: Context) -> list[str]:
    """Say until when each kind of application is taken, where a round is set."""
    _ = ctx.gettext
    return [
        _("{what} are taken until {day}.").format(
            what=round_name(found.kind, ctx.language), day=last_day(ctx, found)
        )
        for found in open_rounds(ctx)
    ]


def remind_choices(ctx: Context) -> list[tuple[str, str, str]]:
    """Return a "remind me" option per open round with a reminder time still ahead."""
    _ = ctx.gettext
    labels = {
        Kind.SCHOLARSHIP: (_("Remind me: scholarship"), "ingatkan beasiswa|remind scholarship"),
        Kind.CAPITAL: (_("Remind me: capital"), "ingatkan modal|remind capital"),
    }
    return [
        (REMIND.encode(round=found.id), *labels[found.kind])
        for found in open_rounds(ctx)
        if times_ahead(ctx, found)
    ]


def times_ahead(ctx: Context, found: Round) -> list:
    """Return the reminder times of a round still ahead."""
    return reminders.times_ahead(Subject.ROUND, found.closes_at, ctx.config.time_zone, ctx.now)


def closed(ctx: Context, kind: Kind) -> Reply | None:
    """Say so when the current round of a kind has closed; None when applications are taken."""
    found = rounds.current(db=ctx.db, kind=kind)
    if found is None or found.is_open(ctx.now):
        return None
    _ = ctx.gettext
    text = _(
        "{what} closed after {day}. The kelurahan announces the next round here; you can "
        "still follow the applications you sent in “Status of my applications”."
    ).format(what=round_name(kind, ctx.language), day=last_day(ctx, found))
    return Reply(text)


def remind(ctx: Context, key: str, here: bool = True) -> Outcome:
    """Records the reminders before a round closes, from a button in the applications menu
    (`here`: back to it after) or on an old message (the resident stays where they are)."""
    _ = ctx.gettext
    chosen = REMIND.decode(key)
    found = rounds.get(db=ctx.db, round_id=int(chosen["round"])) if chosen else None
    then = apply(ApplyStep.CHOOSE) if here else None
    if found is None or not found.is_open(ctx.now):
        text = _("That round of applications has closed.")
        return Outcome([Reply(text)], goto=then)
    if ctx.resident.consent_at is None:
        text = _("To keep a reminder for you we need your agreement to how we use data.")
        return consent_then(ctx, text, apply(ApplyStep.CHOOSE))
    times = times_ahead(ctx, found)
    if not times:
        text = _("Applications close very soon, so there is no time left for a reminder.")
        return Outcome([Reply(text)], goto=then)
    new = reminders.request(
        db=ctx.db,
        resident_id=ctx.resident.id,
        subject=Subject.ROUND,
        subject_id=found.id,
        times=times,
        now=ctx.now,
    )
    moments = _(" and ").join(ctx.moment(at) for at in times)
    if not new:
        text = _("You already asked for this reminder: {moments}.").format(moments=moments)
    else:
        text = "\n".join(
            [
                _("Noted. We will remind you on {moments}.").format(moments=moments),
                _("You can see or cancel your reminders in “My reminders” in the menu."),
            ]
        )
    return Outcome([Reply(text)], goto=then)


def remind_anywhere(ctx: Context, msg: Incoming) -> Outcome:
    """Takes a "remind me" button of a round from an older message, wherever the resident is."""
    return remind(ctx, msg.option or "", here=False)
