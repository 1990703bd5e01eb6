"""Beri masukan: a rating 1–5 of a program or service, given at any time from "Masukan &
pengaduan", with an optional comment; and the comment offered after an invitation's score.

    any time:          program ─▶ score ─▶ comment (or skip) ─▶ thanks ─▶ menu
    after invitation:  (score tapped) ─▶ add a comment? ─▶ comment ─▶ thanks ─▶ where they were

A comment holding a NIK is refused, as in a complaint.
"""

from handlers.answers import NO_WORDS, YES_WORDS
from handlers.buttons import Number, button
from handlers.complaint_words import holds_nik, nik_refused
from handlers.i18n import N_
from handlers.messages import Incoming, Option, Reply
from handlers.numbers import score_aliases
from handlers.positions import HOME, FlowName, MasukanStep, masukan
from handlers.registration import SKIP_WORDS
from handlers.start import consent_then
from handlers.steps import BACK, Context, Expect, Flow, Outcome, Step, options_of
from storage import ratings, registry
from storage.ratings import MAX_COMMENT, SCORES

PROGRAM_PREFIX = "mp:"
SCORE = button("ms", score=Number(min(SCORES), max(SCORES)))
OTHER = "other"
# the services, by the word stored as the rating's program, with their label and typed words
SERVICE_CHOICES = {
    "sembako": (N_("Sembako pickup"), "sembako|pengambilan sembako"),
    "pelatihan": (N_("Skills training"), "pelatihan|kursus|training|course"),
    "kesehatan": (N_("Health checks & talks"), "kesehatan|cek kesehatan|penyuluhan|health"),
    "beasiswa": (N_("Scholarship"), "beasiswa|scholarship"),
    "modal": (N_("Business capital"), "modal|modal usaha|capital"),
}
BOT = "layanan bot"
# registry programs offered as buttons, by code, with their short name (the same in either
# language); any other program's code or alias may be typed
FEATURED = {"PKH": "PKH", "BPNT": "BPNT", "KJP_PLUS": "KJP Plus"}


def open_masukan(ctx: Context) -> Outcome:
    """Starts feedback at any time, after the privacy consent where it is missing."""
    first = masukan(MasukanStep.PROGRAM)
    if ctx.resident.consent_at is None:
        _ = ctx.gettext
        text = _("Before you write, please read and agree to how we keep your data.")
        return consent_then(ctx, text, first, {})
    return Outcome(goto=first, data={})


def thanks_for(ctx: Context) -> str:
    """Thank the resident for a comment."""
    _ = ctx.gettext
    return _("Thank you for your feedback. It helps the kelurahan improve its services.")


def after(ctx: Context) -> Outcome:
    """Return to where the resident was before the rating's comment, or to the menu."""
    return Outcome([Reply(thanks_for(ctx))], goto=BACK if ctx.data.get("_return") else HOME)


# -- program -------------------------------------------------------------------------------------


def program_options(ctx: Context) -> tuple[Option, ...]:
    """Return the services, the featured programs, this chat service and other."""
    _ = ctx.gettext
    known = set(registry.program_codes(db=ctx.db).values())
    return options_of(
        *(
            (f"{PROGRAM_PREFIX}{word}", _(label), aliases)
            for word, (label, aliases) in SERVICE_CHOICES.items()
        ),
        *((f"{PROGRAM_PREFIX}{code}", name) for code, name in FEATURED.items() if code in known),
        (
            f"{PROGRAM_PREFIX}{BOT}",
            _("This chat service"),
            "chatbot|bot|layanan bot|chat|this chatbot|chatbot ini|layanan chatbot",
        ),
        (f"{PROGRAM_PREFIX}{OTHER}", _("Something else"), "lainnya|lain|other"),
    )


def program_label(ctx: Context, program: str | None) -> str:
    """Name what the feedback is about."""
    _ = ctx.gettext
    if program in SERVICE_CHOICES:  # inside a sentence
        label = _(SERVICE_CHOICES[program][0])
        return label[:1].lower() + label[1:]
    if program == BOT:
        return _("this chat service")
    found = registry.programs(db=ctx.db, codes=(program,)) if program else []
    return found[0].name if found else _("the kelurahan's services")


def ask_program(ctx: Context) -> Reply:
    """Asks which program or service the feedback is about."""
    _ = ctx.gettext
    text = _(
        "Which program or service would you like to give feedback on? Choose one, or type "
        "the name of another program (for example KLJ or PIP)."
    )
    return Reply(text, program_options(ctx))


def take_program(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the program or service and asks for a score."""
    _ = ctx.gettext
    if msg.option:
        chosen = msg.option.removeprefix(PROGRAM_PREFIX)
        program = None if chosen == OTHER else chosen
    else:
        program = registry.resolve_program(registry.program_codes(db=ctx.db), msg.text)
        if program is None:
            text = _("Please choose one of the options, or type the name of a program.")
            return Outcome([Reply(text)])
    return Outcome(goto=masukan(MasukanStep.SCORE), data={"program": program})


# -- score ---------------------------------------------------------------------------------------


def score_options(ctx: Context) -> tuple[Option, ...]:
    """Return a button per score, 1 to 5."""
    return options_of(
        *((SCORE.encode(score=score), "⭐" * score, score_aliases(score)) for score in SCORES)
    )


def ask_score(ctx: Context) -> Reply:
    """Asks for a score from 1 to 5."""
    _ = ctx.gettext
    text = _(
        "How would you rate {what}? Type a number from 1 (very poor) to 5 (very good), or tap "
        "a button."
    ).format(what=program_label(ctx, ctx.data.get("program")))
    return Reply(text, score_options(ctx))


def take_score(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the score, or says kindly what is expected."""
    _ = ctx.gettext
    chosen = SCORE.decode(msg.option)
    score = int(chosen["score"]) if chosen else None
    stars = msg.text.replace("\ufe0f", "").replace(" ", "")
    if not msg.option and stars and set(stars) == {"⭐"}:  # stars typed, or copied
        score = len(stars)
    if score not in SCORES:
        text = _("Please answer with a number from 1 to 5: 1 is very poor, 5 is very good.")
        return Outcome([Reply(text)])
    ctx.data["score"] = score
    return Outcome(goto=masukan(MasukanStep.COMMENT))


# -- comment -------------------------------------------------------------------------------------


def comment_options(ctx: Context) -> tuple[Option, ...]:
    """Return skip."""
    _ = ctx.gettext
    return options_of(("mc:skip", _("Skip"), SKIP_WORDS))


def ask_comment(ctx: Context) -> Reply:
    """Asks for an optional comment."""
    _ = ctx.gettext
    text = _(
        "Would you like to add a comment: what went well, what could be better? Please write "
        "at most {limit} characters, or tap “Skip”."
    ).format(limit=MAX_COMMENT)
    return Reply(text, comment_options(ctx))


def take_comment(ctx: Context, msg: Incoming) -> Outcome:
    """Stores the rating with the comment, or without it when skipped, and thanks."""
    comment = None
    if msg.option != "mc:skip":
        checked = checked_comment(ctx, msg.text)
        if isinstance(checked, Outcome):
            return checked
        comment = checked
    if "rating" in ctx.data:  # the comment on an invitation's rating
        if comment is not None:
            ratings.add_comment(
                db=ctx.db,
                rating_id=ctx.data["rating"],
                resident_id=ctx.resident.id,
                comment=comment,
            )
        return after(ctx)
    if ctx.data.get("score") not in SCORES:  # answers lost: start again
        return Outcome(goto=masukan(MasukanStep.PROGRAM), data={})
    ratings.give(
        db=ctx.db,
        resident_id=ctx.resident.id,
        score=ctx.data["score"],
        now=ctx.now,
        program=ctx.data.get("program"),
        comment=comment,
    )
    return after(ctx)


def checked_comment(ctx: Context, typed: str) -> str | Outcome:
    """Return a comment fit to keep, or the outcome that refuses it."""
    _ = ctx.gettext
    text = typed.strip()
    if len(text) > MAX_COMMENT:
        reply = _(
            "Your message has {count} characters; at most {limit} fit. Please shorten it."
        ).format(count=len(text), limit=MAX_COMMENT)
        return Outcome([Reply(reply)], ask=False)
    if holds_nik(text):
        return nik_refused(ctx)
    return text


# -- offer (after an invitation's score) ---------------------------------------------------------


def offer_comment(ctx: Context, rating_id: int, replies: list[Reply]) -> Outcome:
    """After a rating's score, offers a comment; the resident then returns where they were."""
    data: dict = {"rating": rating_id}
    if ctx.position.flow == FlowName.MASUKAN:  # a second score while the offer is open
        if ctx.data.get("_return"):
            data["_return"] = ctx.data["_return"]
    elif ctx.position.flow != FlowName.FEEDBACK:  # tapped elsewhere: come back there after
        # the engine's own form of a remembered position (Outcome.remember), here with data
        position = ctx.position
        data["_return"] = {"flow": position.flow, "step": position.step, "data": ctx.data}
    return Outcome(replies, goto=masukan(MasukanStep.OFFER), data=data)


def offer_options(ctx: Context) -> tuple[Option, ...]:
    """Return add a comment and no, thank you."""
    _ = ctx.gettext
    return options_of(
        ("mo:yes", _("Add a comment"), f"komentar|comment|{YES_WORDS}"),
        ("mo:no", _("No, thank you"), f"{NO_WORDS}|no thanks|tidak terima kasih"),
    )


def ask_offer(ctx: Context) -> Reply:
    """Asks whether to add a comment to the score."""
    _ = ctx.gettext
    text = _("Would you like to add a comment to your score? You may also just type it.")
    return Reply(text, offer_options(ctx))


def take_offer(ctx: Context, msg: Incoming) -> Outcome:
    """Asks for the comment, takes one typed straight away, or goes back."""
    if msg.option == "mo:yes":
        return Outcome(goto=masukan(MasukanStep.COMMENT))
    if msg.option == "mo:no":
        return Outcome(goto=BACK if ctx.data.get("_return") else HOME)
    return take_comment(ctx, msg)


MASUKAN = Flow(
    FlowName.MASUKAN,
    {
        MasukanStep.PROGRAM: Step(ask_program, take_program, Expect.TEXT, options=program_options),
        MasukanStep.SCORE: Step(ask_score, take_score, Expect.TEXT, options=score_options),
        MasukanStep.COMMENT: Step(ask_comment, take_comment, Expect.TEXT, options=comment_options),
        MasukanStep.OFFER: Step(ask_offer, take_offer, Expect.TEXT, options=offer_options),
    },
)
