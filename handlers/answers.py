"""Small pieces the service flows share: yes/no questions, a completed profile first."""

from handlers.messages import Option, Reply
from handlers.positions import RegistrationStep, registration
from handlers.start import REGISTER, consent_then
from handlers.steps import Context, Outcome, StepRef, options_of

# what residents type for yes and for no (held letters and shortenings are read too: 'iyaaa',
# 'okeee', 'tdk', 'blm'; see handlers/typed_words.py)
YES_WORDS = (
    "ya|iya|iyah|iye|iyo|y|yes|yup|yep|yeah|yess|benar|betul|bener|boleh|bisa|ok|oke|okey|okay|"
    "okeh|sip|siap|setuju|lanjut|lanjutkan|terus|gas|gaskan|jadi|tentu|pasti|pastinya|mantap|"
    "ya benar|ya betul|iya benar|iya betul|iya boleh|ya boleh|ok lanjut|oke lanjut|sure|correct|"
    "right|go|go ahead|of course|yes please|ok please"
)
NO_WORDS = (
    "tidak|tdk|gak|ga|gk|g|n|nggak|ngga|engga|enggak|ndak|nda|no|nope|nah|bukan|belum|blm|"
    "jangan|jgn|tidak jadi|gak jadi|ga jadi|nggak jadi|enggak jadi|ndak jadi|tidak mau|gak mau|"
    "ga mau|nggak mau|ogah|tidak usah|gak usah|ga usah|nggak usah|nanti saja|nanti aja|"
    "jangan dulu|tidak dulu|gak dulu|not now|no thanks|no thank you|not yet"
)


def yes_no(ctx: Context, prefix: str, yes: str, no: str) -> tuple[Option, ...]:
    """Return two options, `{prefix}:yes` and `{prefix}:no`, with the words people use."""
    return options_of((f"{prefix}:yes", yes, YES_WORDS), (f"{prefix}:no", no, NO_WORDS))


def resume_after(then: StepRef, data: dict | None = None) -> dict:
    """Return where to come back to, as kept in a position's data."""
    return {"flow": then.flow, "step": then.step, "data": data or {}}


def profile_first(ctx: Context, then: StepRef, data: dict | None = None) -> Outcome | None:
    """Send a resident without a completed profile to consent and registration, and back to
    `then` after; None when the profile is complete."""
    if ctx.resident.registered:
        return None
    return register_first(ctx, then, data)


def register_first(
    ctx: Context, then: StepRef, data: dict | None = None, text: str | None = None
) -> Outcome:
    """Send the resident to consent and registration, and back to `then` after (also when
    storage refused a booking or application for want of a complete profile); `text` says
    why, when the service has its own reason."""
    _ = ctx.gettext
    if text is None:
        text = _(
            "For this we need your name, kelurahan and RW, so the organiser knows who is "
            "coming. It takes a minute."
        )
    signup = {"mode": REGISTER, "then": resume_after(then, data)}
    name = registration(RegistrationStep.NAME)
    if ctx.resident.consent_at is None:
        return consent_then(ctx, text, name, signup)
    return Outcome([Reply(text)], goto=name, data=signup)


def page_of(ctx: Context, found: list, listed: int) -> tuple[list, bool]:
    """Return the page of a long list the resident is at (`page` in the data), and whether
    there is more than one page; a list of at most `listed` items is one page."""
    if len(found) <= listed:
        return found, False
    size = listed - 1  # one row goes to "More"
    start = ctx.data.get("page", 0) * size
    if start >= len(found):  # past the end: round again from the start
        start = 0
    return found[start : start + size], True


def cancel_options(ctx: Context, what: str) -> tuple[Option, ...]:
    """Return yes and no to cancelling something the resident holds, the `what` in the data
    (its id in the keys: the answer to cancelling another one is an old button)."""
    _ = ctx.gettext
    prefix = f"cancel:{what}:{ctx.data.get(what, 0)}"
    return yes_no(ctx, prefix, _("Yes, cancel it"), _("No, keep it"))


def own_item(found: list, item_id: int | None):
    """Return the item of the resident's own list with the id a button names, or None (an
    unknown, finished or someone else's id all give None, so they get the same answer)."""
    return next((item for item in found if item_id is not None and item.id == item_id), None)
