"""Where a typed sentence leads in the conversation: the service it means, the likeliest few
as buttons when it is not clear ("Did you mean ...?"), or, when nothing fits, a one-line
answer that says so with "Tanya petugas" (the message is kept for staff, without its author).

A NIK typed at the menu is not kept: the resident is asked whether to check bansos, and types
it again at that question.
"""

from handlers import faq_data
from handlers.ask_staff import kept, offer_staff
from handlers.buttons import Number, button
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, SUGGEST, FlowName, UnderstandStep
from handlers.steps import Context, Flow, Outcome, Step, Understood, options_of
from handlers.understanding.reading import CHATTER, NOTHING, SURE_AT_A_QUESTION, Meaning, read
from handlers.understanding.routes import TITLES, leads_into, route
from storage import misses
from storage.redaction import holds_nik

MEANT = button("meant", choice=Number(0, 9))  # the number of a suggestion at the step


def understand(
    ctx: Context, text: str, at_home: bool, choice: bool = False
) -> Understood | Outcome | None:
    """Return where a typed text leads. At the menu it always leads somewhere; at another
    question only when it clearly means a service (else the question's own hint stays).
    Text that means nothing is kept for staff where buttons were offered (`choice`), never
    at a free-text question, whose answers are the resident's own."""
    if not at_home and holds_nik(text):
        return None  # the question's own answer to a NIK (refused, or taken) stays
    reading = read(text)
    if not at_home and reading.value:
        return None  # 'rw 20', '4-5 orang': a value for this question, however it fits
    if reading.nik:
        if not at_home:
            return None
        return suggest(ctx, (Meaning("bansos"),), nik=True)
    meaning = reading.meaning
    if meaning is not None and meaning.label != NOTHING:
        if not at_home and (
            meaning.label == CHATTER
            or meaning.score < SURE_AT_A_QUESTION
            or leads_into(meaning.label, ctx.position.flow)
        ):
            return None  # an answer that did not fit this service's question: its hint stays
        routed = route(ctx, meaning, text)
        if routed is not None:
            return routed
    if not at_home:
        if choice and not reading.likely and (meaning is None or meaning.label == NOTHING):
            keep_miss(ctx, text)
        return None
    if reading.likely:
        return suggest(ctx, reading.likely, text=text)
    return not_understood(ctx, text)


def not_understood(ctx: Context, text: str) -> Outcome:
    """Keep the message, without who wrote it, for staff to learn from; say in one line that
    it was not understood and offer to pass it to an officer."""
    keep_miss(ctx, text)
    return offer_staff(ctx, text)


def keep_miss(ctx: Context, text: str) -> None:
    """Keep a message the bot did not understand, with where it was typed."""
    where = f"{ctx.position.flow}.{ctx.position.step}"
    misses.record_miss(db=ctx.db, text=text, language=ctx.language, where=where, now=ctx.now)


def suggest(
    ctx: Context, likely: tuple[Meaning, ...], *, nik: bool = False, text: str = ""
) -> Outcome:
    """Offer the likeliest meanings as buttons (after a NIK: only the bansos check, and the
    text is not kept). The text, redacted, goes on with the one chosen ("Tanya petugas")."""
    chosen = [[meaning.label, meaning.detail] for meaning in likely]
    data = {"likely": chosen, "nik": nik, "text": "" if nik else kept(text)}
    return Outcome(goto=SUGGEST, data=data)


def title(ctx: Context, label: str) -> str:
    """Name a meaning on a button (a frequent question by its first phrasing)."""
    if label in TITLES:
        return ctx.gettext(TITLES[label])
    entry = faq_data.entry(label)
    if entry is None:
        return label
    asked = (entry.phrasings.get(ctx.language) or entry.phrasings["id"])[0]
    return f"{asked[:1].upper()}{asked[1:]}?"


def suggest_options(ctx: Context) -> tuple[Option, ...]:
    """Return the suggested meanings, then the menu."""
    _ = ctx.gettext
    likely = ctx.data.get("likely", [])
    return options_of(
        *(
            (MEANT.encode(choice=number), title(ctx, label))
            for number, (label, _detail) in enumerate(likely[:9])
        ),
        ("meant:menu", _("Main menu"), "menu"),
    )


def ask_suggest(ctx: Context) -> Reply:
    """Asks which of the suggestions was meant."""
    _ = ctx.gettext
    if ctx.data.get("nik"):
        return Reply(_("This looks like a NIK. Check bansos status?"), suggest_options(ctx))
    return Reply(_("Did you mean one of these?"), suggest_options(ctx))


def take_suggest(ctx: Context, msg: Incoming) -> Understood | Outcome:
    """Opens the suggestion chosen."""
    chosen = MEANT.decode(msg.option)
    likely = ctx.data.get("likely", [])
    if chosen is None or chosen["choice"] >= len(likely):
        return Outcome(goto=HOME, data={})
    label, detail = likely[int(chosen["choice"])]
    text = ctx.data.get("text", "")
    return route(ctx, Meaning(label, detail), text) or Outcome(goto=HOME, data={})


UNDERSTAND = Flow(
    FlowName.UNDERSTAND,
    {UnderstandStep.SUGGEST: Step(ask_suggest, take_suggest, options=suggest_options)},
)
