"""The main menu, help, and honest notes for services that are still coming."""

from collections.abc import Callable
from functools import cache

from handlers import (
    applications,
    bansos,
    complaints,
    eligibility,
    feedback,
    health,
    reminders,
    sembako,
    training,
)
from handlers.i18n import N_, translations
from handlers.messages import Incoming, Option, Reply
from handlers.positions import CONSENT, PROFILE, FlowName, MenuStep, RegistrationStep, registration
from handlers.start import REGISTER
from handlers.steps import Context, Flow, Outcome, Step, options_of

# services that work today, each opened by its module's entry
SERVICES: dict[str, tuple[str, Callable[[Context], Outcome]]] = {
    "svc:bansos": (N_("Check bansos status"), bansos.open_check),
    "svc:eligibility": (N_("Check eligibility"), eligibility.open_screening),
    "svc:sembako": (N_("Sembako schedule"), sembako.open_schedule),
    "svc:training": (N_("Skills training"), training.open_training),
    "svc:health": (N_("Free health checks"), health.open_health),
    "svc:apply": (N_("Scholarships & capital"), applications.open_applications),
    "svc:feedback": (N_("Feedback & complaints"), complaints.open_complaints),
}
# other words residents use for a service, in either language
ALIASES = {
    "svc:training": "pelatihan|kursus|training|course",
    "svc:health": "kesehatan|penyuluhan|puskesmas|health",
    "svc:apply": "beasiswa|modal usaha|modal|pengajuan|status pengajuan|scholarship|capital",
    "svc:feedback": "masukan|pengaduan|aduan|lapor|usul|sanggah|saran|feedback|complaint",
}
REMINDER_WORDS = "pengingat|pengingat saya|reminder|reminders"
# services that later issues build; until then the menu says so honestly
COMING: dict[str, str] = {}


def menu_options(ctx: Context) -> tuple[Option, ...]:
    """Return the services on the main menu."""
    resident = ctx.resident
    stage = "registered" if resident.registered else "agreed" if resident.consent_at else "new"
    return _menu(ctx.language, stage)


@cache
def _menu(language: str, stage: str) -> tuple[Option, ...]:
    """Build the menu for one language and registration stage (once: it is the same for all)."""
    _ = translations(language).gettext
    choices = []
    if stage != "registered":
        label = _("Continue sign-up") if stage == "agreed" else _("Register")
        choices.append(("svc:register", label))
    choices += [
        (key, _(label), ALIASES[key]) if key in ALIASES else (key, _(label))
        for key, (label, _open) in SERVICES.items()
    ]
    choices += [(key, _(label)) for key, label in COMING.items()]
    if stage == "registered":  # ten rows, as many as a WhatsApp list holds; others: in the profile
        choices.append(("svc:reminders", _("My reminders"), REMINDER_WORDS))
    choices += [("svc:profile", _("My profile")), ("svc:help", _("Help"))]
    return options_of(*choices)


def ask_menu(ctx: Context) -> Reply:
    """Shows the main menu."""
    _ = ctx.gettext
    if ctx.resident.registered:
        text = _("Main menu. How can we help you, {name}?").format(name=ctx.resident.name)
    else:
        text = _("Main menu. How can we help you?")
    return Reply(text, menu_options(ctx))


def help_text(ctx: Context) -> str:
    """Return what the service does and the words that work anywhere."""
    _ = ctx.gettext
    return _(
        "Layanan Warga Duren Sawit helps residents of Kecamatan Duren Sawit with social "
        "assistance (bansos), sembako schedules, training, health checks, scholarships, "
        "business capital and feedback.\n"
        "\n"
        "To choose, type the number of an option or tap its button. Words that work at any "
        "time:\n"
        "• menu: back to the main menu\n"
        "• batal: cancel what you are doing\n"
        "• bahasa: change the language\n"
        "• berhenti: no more announcements (mulai: receive them again)\n"
        "• hapus data: erase your personal data\n"
        "• survei: answer a survey you were invited to\n"
        "• bantuan: this help\n"
        "\n"
        "For urgent matters, please contact your kelurahan office or your RT/RW."
    )


def take_menu(ctx: Context, msg: Incoming) -> Outcome:
    """Opens the chosen service."""
    _ = ctx.gettext
    key = msg.option
    if key == "svc:register":
        if ctx.resident.consent_at is None:
            return Outcome(goto=CONSENT)
        return Outcome(goto=registration(RegistrationStep.NAME), data={"mode": REGISTER})
    if key == "svc:profile":
        return Outcome(goto=PROFILE)
    if key == "svc:help":
        return Outcome([Reply(help_text(ctx))])
    if key == "svc:reminders":
        return reminders.open_reminders(ctx)
    if key == "svc:feedback":  # an open rating first; it offers the complaints too
        opened = feedback.open_rating(ctx)
        if opened is not None:
            return opened
    if key in SERVICES:
        return SERVICES[key][1](ctx)
    if key not in COMING:
        return Outcome()
    service = _(COMING[key])
    text = _(
        "“{service}” is being prepared and will be available soon. Until then, please ask "
        "your kelurahan office or your RT/RW."
    ).format(service=service)
    return Outcome([Reply(text)])


MENU = Flow(FlowName.MENU, {MenuStep.MAIN: Step(ask_menu, take_menu)})
