"""Greeting, language choice and the privacy notice with consent (UU PDP 27/2022)."""

from handlers.buttons import button, words
from handlers.i18n import LANGUAGES, N_, translations
from handlers.messages import Incoming, Option, Reply
from handlers.positions import (
    CONSENT,
    ENTRY,
    ERASE,
    HOME,
    FlowName,
    LanguageStep,
    RegistrationStep,
    StartStep,
    registration,
)
from handlers.steps import BACK, Context, Flow, Outcome, Step, StepRef, options_of
from storage import residents

LANGUAGE_BUTTON = button("lang", code=words(*LANGUAGES))  # honoured anywhere: a setting
# the privacy question's answers; only "no" (withdrawing consent) counts from an old message
CONSENT_BUTTON = button("consent", answer=words("yes", "no", "more"))
YES, NO, MORE = (CONSENT_BUTTON.encode(answer=answer) for answer in ("yes", "no", "more"))
# each language is offered in its own name, so anyone finds theirs: not translated
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
LANGUAGE_OPTIONS = options_of(
    (
        LANGUAGE_BUTTON.encode(code="id"),
        LANGUAGE_NAMES["id"],
        "indonesia|indo|bahasa indonesia|id|indonesian",
    ),
    (
        LANGUAGE_BUTTON.encode(code="en"),
        LANGUAGE_NAMES["en"],
        "inggris|bahasa inggris|en|eng|english",
    ),
)
REGISTER = "register"  # registration mode; the profile uses "edit"
# the version of the privacy notice below; change it with the notice's text
NOTICE_VERSION = "2026-11"

CHOOSE_LANGUAGE = N_("Please choose your language:")


def choose_language_text() -> str:
    """Return the language question in every language, so anyone can read it."""
    return "\n".join(translations(code).gettext(CHOOSE_LANGUAGE) for code in LANGUAGES)


def store_language(ctx: Context, msg: Incoming) -> None:
    """Store the language a resident picked."""
    chosen = LANGUAGE_BUTTON.decode(msg.option)
    if chosen is not None:
        residents.update_profile(
            db=ctx.db, profile=ctx.resident, now=ctx.now, language=str(chosen["code"])
        )


def ask_welcome(ctx: Context) -> Reply:
    """Greets a new resident and asks for their language."""
    _ = ctx.gettext
    welcome = _(
        "Welcome to Layanan Warga Duren Sawit, the chat service of Kecamatan Duren Sawit for "
        "social assistance (bansos), schedules, training, health checks and feedback."
    )
    text = f"{welcome}\n\n{choose_language_text()}"  # both parts come from the catalogs
    return Reply(text, LANGUAGE_OPTIONS)


def ask_language(ctx: Context) -> Reply:
    """Asks which language to use."""
    return Reply(choose_language_text(), LANGUAGE_OPTIONS)


def take_first_language(ctx: Context, msg: Incoming) -> Outcome:
    """Stores the language and shows the privacy notice."""
    store_language(ctx, msg)
    return Outcome(goto=CONSENT)


def consent_options(ctx: Context) -> tuple[Option, ...]:
    """Return the answers to the privacy question, with the words people use for them."""
    _ = ctx.gettext
    return options_of(
        (YES, _("I agree"), "ya|iya|y|setuju|boleh|ok|oke|yes|agree"),
        (
            NO,
            _("I do not agree"),
            "tidak|tdk|gak|nggak|enggak|ga|tidak setuju|no|disagree",
        ),
        (MORE, _("Tell me more"), "info|penjelasan|jelaskan|more|why|kenapa"),
    )


def ask_consent(ctx: Context) -> Reply:
    """Shows the privacy notice and asks for consent."""
    _ = ctx.gettext
    text = _(
        "Before we continue, please read how we use your data.\n"
        "• Who: Kecamatan Duren Sawit and its kelurahan offices run this service and are "
        "responsible for your data.\n"
        "• What we keep: your name, kelurahan, RW, phone number (if you give it), your chat "
        "ID (on WhatsApp this is your number), your language and your answers here.\n"
        "• Why: to give you information on social assistance, schedules and services for "
        "where you live.\n"
        "• How long: while you use the service; we erase it when you ask, or after {years} "
        "years without any message from you.\n"
        "• Your rights: see your data in “My profile” and erase it at any time by typing "
        "hapus data (Law 27/2022 on Personal Data Protection). Questions: your kelurahan "
        "office.\n"
        "We do not share your data outside the kelurahan and kecamatan offices without a legal "
        "basis.\n"
        "\n"
        "Do you agree?"
    ).format(years=round(ctx.config.retention.days / 365))
    return Reply(text, consent_options(ctx))


def remind_consent(ctx: Context) -> Reply:
    """Asks for consent again, briefly."""
    _ = ctx.gettext
    return Reply(_("Do you agree to the privacy notice above?"), consent_options(ctx))


def take_consent(ctx: Context, msg: Incoming) -> Outcome:
    """Records consent and starts registration, or withdraws it and goes to the menu."""
    _ = ctx.gettext
    if msg.option == YES:
        residents.update_profile(
            db=ctx.db,
            profile=ctx.resident,
            now=ctx.now,
            consent_at=ctx.now,
            consent_version=NOTICE_VERSION,
        )
        then = ctx.data.get("then")
        if then and not ctx.resident.registered:  # asked for by a service: back to it
            target = StepRef(then["flow"], then["step"])
            return Outcome([Reply(_("Thank you."))], goto=target, data=then.get("data", {}))
        thanks = _("Thank you. Now a few short questions, so we can serve you better.")
        return Outcome(
            [Reply(thanks)], goto=registration(RegistrationStep.NAME), data={"mode": REGISTER}
        )
    if msg.option == NO:
        resident = ctx.resident
        if resident.name or resident.kelurahan_code or resident.phone:
            # withdrawing consent means erasing what was given under it
            return Outcome(goto=ERASE)
        if resident.consent_at is not None:
            residents.update_profile(
                db=ctx.db,
                profile=resident,
                now=ctx.now,
                consent_at=None,
                consent_version=None,
                registry_programs="",  # kept under the consent: gone with it
            )
        text = _(
            "That is fine. You can still read general information. We keep only your chat ID "
            "and your language, so we can answer you. You can agree later from the menu."
        )
        return Outcome([Reply(text)], goto=HOME)
    more = _(
        "Your data is processed by the kelurahan offices of Kecamatan Duren Sawit to run this "
        "service, with your consent and for this purpose only, as the law on personal data "
        "protection (UU PDP No. 27/2022) requires. Without consent you can still read general "
        "information, and we keep only your chat ID and language. You can withdraw consent "
        "and erase everything at any time by typing hapus data."
    )
    return Outcome([Reply(more)])


def take_language(ctx: Context, msg: Incoming) -> Outcome:
    """Stores the chosen language and returns to where the resident was."""
    store_language(ctx, msg)
    # TRANSLATORS: said in the language just chosen; each catalog names its own language
    return Outcome([Reply(ctx.gettext("From now on we will write in English."))], goto=BACK)


def language_anywhere(ctx: Context, msg: Incoming) -> Outcome:
    """Takes a language button from an old message: change, then ask the current question."""
    store_language(ctx, msg)
    return Outcome([Reply(ctx.gettext("From now on we will write in English."))])


def consent_anywhere(ctx: Context, msg: Incoming) -> Outcome | None:
    """Takes "I do not agree" from an old privacy notice: consent may be withdrawn at any
    time. "I agree" counts only at the question (None: a stale button), or an old one would
    carry a resident past registration straight into a booking."""
    if msg.option != NO:
        return None
    if ctx.position == ENTRY:  # not even a language yet: start at the beginning
        return Outcome()
    return take_consent(ctx, msg)


START = Flow(
    FlowName.START,
    {
        StartStep.LANGUAGE: Step(
            ask_welcome,
            take_first_language,
            options=lambda ctx: LANGUAGE_OPTIONS,
            remind=ask_language,
        ),
        StartStep.CONSENT: Step(
            ask_consent, take_consent, options=consent_options, remind=remind_consent
        ),
    },
)

LANGUAGE = Flow(
    FlowName.LANGUAGE,
    {LanguageStep.CHOOSE: Step(ask_language, take_language, options=lambda ctx: LANGUAGE_OPTIONS)},
)


def consent_then(ctx: Context, text: str, then: StepRef, data: dict | None = None) -> Outcome:
    """Shows the privacy notice for a service that needs consent, and returns to it after."""
    resume = {"flow": then.flow, "step": then.step, "data": data or {}}
    return Outcome([Reply(text)], goto=CONSENT, data={"then": resume})
