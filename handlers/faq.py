"""Answers to frequent questions, from data: the answer in the resident's language, facts
filled in from the programs and offices data, and buttons to the services it leads on to.

The understanding layer calls `answer_faq(ctx, label, text)` for a message it reads as a
frequent question; a button `faq:<name>` (FAQ_BUTTON) opens an answer wherever it is tapped.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from handlers import application_rules, faq_data, menu
from handlers.buttons import button
from handlers.faq_data import PREFIX, Entry, labels, phrasings
from handlers.i18n import N_
from handlers.messages import Incoming, Option, Reply
from handlers.positions import FAQ_ANSWER, HOME, FaqStep, FlowName
from handlers.steps import BACK, Context, Flow, Outcome, Step, options_of
from handlers.text import normalise
from storage import offices, registry
from storage.offices import Fact, Office

__all__ = ["FAQ", "FAQ_BUTTON", "answer_anywhere", "answer_faq", "entries", "labels", "phrasings"]


@dataclass(frozen=True)
class QuestionName:
    """The name of a frequent question in a key ("office_hours"): ASCII a-z, digits and "_"."""

    def read(self, text: str) -> str | None:
        """Return the name, or None."""
        return text if faq_data.NAME.fullmatch(text) else None

    def write(self, value: int | str) -> str:
        """Return the name."""
        if not isinstance(value, str) or self.read(value) is None:
            raise ValueError(f"not a question's name: {value!r}")
        return value


FAQ_BUTTON = button("faq", entry=QuestionName())  # "faq:office_hours": the same as the label
MENU_KEY = "fq:menu"
BACK_KEY = "fq:back"
RETURN = "_return"  # in the step's data: where the resident was (as the engine's BACK reads it)
# the keys a FAQ may lead on to that are not in menu.SERVICES, with their labels
OTHER_SERVICES = {
    "svc:register": N_("Register"),
    "svc:profile": N_("My profile"),
    "svc:help": N_("Help"),
    "svc:reminders": N_("My reminders"),
}


def service_keys() -> frozenset[str]:
    """Return every key an entry's services may name."""
    return frozenset(menu.SERVICES) | frozenset(OTHER_SERVICES)


@cache
def entries() -> tuple[Entry, ...]:
    """Return the frequent questions, each with its answers, source, services and phrasings,
    checked once; raise FaqProblem when an entry names a service the menu does not have."""
    known = service_keys()
    for entry in faq_data.entries():
        unknown = set(entry.services) - known
        if unknown:
            raise faq_data.FaqProblem(f"{entry.id}: unknown services {sorted(unknown)}")
    return faq_data.entries()


def _entry(ctx: Context) -> Entry | None:
    faq_id = ctx.data.get("faq")
    return faq_data.entry(faq_id) if isinstance(faq_id, str) else None


def answer_faq(ctx: Context, faq_id: str, text: str = "") -> Outcome:
    """Answers a frequent question (`faq_id` is its label, "faq:dtsen") and offers the
    services it leads on to; `text` is the resident's message (it may name a program).

    Asked in the middle of another flow, the answer also offers to carry on there.
    Raise ValueError for an unknown label."""
    entries()  # checked once
    entry = faq_data.entry(faq_id)
    if entry is None:
        raise ValueError(f"no frequent question {faq_id!r}")
    data: dict = {"faq": entry.id}
    if entry.fill == "payment_schedule":
        data["programs"] = named_programs(ctx, text)
    if ctx.position.flow == FlowName.FAQ:  # one answer after another: keep where to go back
        if RETURN in ctx.data:
            data[RETURN] = ctx.data[RETURN]
    elif ctx.position != HOME:
        data[RETURN] = {"flow": ctx.position.flow, "step": ctx.position.step, "data": ctx.data}
    return Outcome(goto=FAQ_ANSWER, data=data)


def answer_anywhere(ctx: Context, msg: Incoming) -> Outcome | None:
    """Opens the answer of a `faq:<name>` button; None (a stale button) for an unknown one."""
    values = FAQ_BUTTON.decode(msg.option)
    faq_id = f"{PREFIX}{values['entry']}" if values else ""
    if faq_data.entry(faq_id) is None:
        return None
    return answer_faq(ctx, faq_id)


def button_key(faq_id: str) -> str:
    """Return the key of a button that opens a question's answer anywhere ("faq:dtsen")."""
    return FAQ_BUTTON.encode(entry=faq_id.removeprefix(PREFIX))


# -- what the answer says ---------------------------------------------------------------------


def fact(ctx: Context, value: Fact) -> str:
    """Return a value about an office, marked when it was invented for the demo."""
    if not value.demo:
        return value.text
    return ctx.gettext("{value} (example data)").format(value=value.text)


def named_programs(ctx: Context, text: str) -> list[str]:
    """Return the codes of the programs a message names ("PKH cair kapan" → ["PKH"]), in the
    order they are written; none when it names none."""
    typed = f" {normalise(text)} "
    if not typed.strip():
        return []
    hits: list[tuple[int, int, str]] = []  # start, length, code
    for written, code in registry.program_codes(db=ctx.db).items():
        word = normalise(written.replace("_", " "))
        found = re.search(rf"(?<= ){re.escape(word)}(?= )", typed) if word else None
        if found:
            hits.append((found.start(), len(word), code))
    chosen: list[tuple[int, int, str]] = []
    for start, length, code in sorted(hits, key=lambda hit: -hit[1]):  # longest first
        if all(start + length <= s or s + n <= start for s, n, _c in chosen):
            chosen.append((start, length, code))
    return list(dict.fromkeys(code for _s, _n, code in sorted(chosen)))


def payment_schedule(ctx: Context) -> str:
    """Say when each program named (else every program) pays, from the programs data."""
    codes = ctx.data.get("programs") or None
    found = registry.programs(db=ctx.db, codes=tuple(codes) if codes else None)
    if not found:  # named programs gone from the data: all of them
        found = registry.programs(db=ctx.db)
    lines = []
    for program in found:
        when = program.text("schedule", ctx.language) or program.text("payment", ctx.language)
        lines.append(f"• {program.name} ({program.code}): {when}")
    return "\n".join(lines)


def _offices_to_show(ctx: Context) -> tuple[Office | None, tuple[Office, ...]]:
    """Return the resident's own kantor kelurahan (None when not known) and the others."""
    own = offices.of_kelurahan(ctx.resident.kelurahan_code)
    if own is not None:
        return own, (offices.kecamatan(),)
    return None, offices.offices()


def office_hours(ctx: Context) -> str:
    """Give the hours of the resident's kantor kelurahan and the kecamatan, else of all."""
    own, others = _offices_to_show(ctx)
    lines = [f"• {office.name}: {fact(ctx, office.hours_in(ctx.language))}" for office in others]
    if own is not None:
        lines.insert(0, f"• {own.name}: {fact(ctx, own.hours_in(ctx.language))}")
    return "\n".join(lines)


def office_contact(ctx: Context) -> str:
    """Give the address and phone of the resident's kantor kelurahan and the kecamatan, else
    of every office."""
    _ = ctx.gettext
    own, others = _offices_to_show(ctx)
    lines = []
    for office in ((own,) if own else ()) + others:
        lines.append(f"• {office.name}")
        lines.append(_("  Address: {address}").format(address=fact(ctx, office.address)))
        lines.append(_("  Phone: {phone}").format(phone=fact(ctx, office.phone)))
        if office is own:
            hours = fact(ctx, office.hours_in(ctx.language))
            lines.append(_("  Office hours: {hours}").format(hours=hours))
    if own is None:
        lines.append(_("Tell us your kelurahan in your profile to see your own office first."))
    return "\n".join(lines)


def capital_limits(ctx: Context) -> str:
    """Say how much capital may be asked for and how long the business must have run."""
    rules = application_rules.rules()
    text = ctx.gettext(
        "Amount: {low} to {high}. The business has run for at least {months} months."
    ).format(
        low=ctx.rupiah(rules.min_amount),
        high=ctx.rupiah(rules.max_amount),
        months=rules.min_months,
    )
    return ctx.gettext("{value} (example data)").format(value=text)  # demo rules in the file


FILLS: dict[str, Callable[[Context], str]] = {
    "payment_schedule": payment_schedule,
    "office_hours": office_hours,
    "office_contact": office_contact,
    "capital_limits": capital_limits,
}
FACTS_FIRST = frozenset({"payment_schedule"})  # the list is the answer; the text a note below
assert set(FILLS) == faq_data.FILLS  # every fill the data may name has its code


def answer_text(ctx: Context, entry: Entry) -> str:
    """Return the whole answer: the text, facts from other data, and the source."""
    _ = ctx.gettext
    parts = [entry.answer(ctx.language)]
    if entry.fill in FACTS_FIRST:
        parts.insert(0, FILLS[entry.fill](ctx))
    elif entry.fill:
        parts.append(FILLS[entry.fill](ctx))
    if entry.demo:
        parts.append(_("Source: example data (demo)"))
    elif entry.cite:
        parts.append(_("Source: {source}").format(source=entry.cite))
    return "\n\n".join(part for part in parts if part)


# -- the step ---------------------------------------------------------------------------------


def faq_options(ctx: Context) -> tuple[Option, ...]:
    """Return buttons to the entry's services, back to where the resident was, and the menu."""
    _ = ctx.gettext
    entry = _entry(ctx)
    choices: list[tuple[str, str] | tuple[str, str, str]] = []
    for key in entry.services if entry else ():
        label = menu.SERVICES[key][0] if key in menu.SERVICES else OTHER_SERVICES[key]
        choices.append((key, _(label)))
    if ctx.data.get(RETURN):
        choices.append((BACK_KEY, _("Continue where I was"), "lanjut|lanjutkan|continue"))
    choices.append((MENU_KEY, _("Main menu"), "menu"))
    return options_of(*choices)


def ask_answer(ctx: Context) -> Reply:
    """Gives the answer and the ways to go on."""
    entry = _entry(ctx)
    if entry is None:  # an answer taken out of the data meanwhile
        return Reply(ctx.gettext("What would you like to do next?"), faq_options(ctx))
    return Reply(answer_text(ctx, entry), faq_options(ctx))


def remind_answer(ctx: Context) -> Reply:
    """Asks again for the way to go on, without the whole answer."""
    return Reply(ctx.gettext("What would you like to do next?"), faq_options(ctx))


def take_answer(ctx: Context, msg: Incoming) -> Outcome:
    """Opens the chosen service, goes back to where the resident was, or to the menu."""
    if msg.option == MENU_KEY:
        return Outcome(goto=HOME)
    if msg.option == BACK_KEY:
        return Outcome(goto=BACK)  # the engine restores the position kept under RETURN
    opened = menu.take_menu(ctx, msg)  # a service key, opened as the main menu does
    if opened.goto is None:  # help, or a service still coming: then the menu
        opened.goto = HOME
    return opened


FAQ = Flow(
    FlowName.FAQ,
    {
        FaqStep.ANSWER: Step(ask_answer, take_answer, options=faq_options, remind=remind_answer),
    },
)
