"""From what a sentence means to the service's step, as deep as its words say.

Each label names where the resident would have gone with the buttons: the service's entry,
then the buttons they would have tapped ('kursus jahit': training, then the sewing category).
The engine follows the way, so every check on it (consent, registration, what is open) holds.
A guess only opens a first step or answers a question: erasure, cancelling and sending still
ask for their confirmation.
"""

from collections.abc import Callable

from handlers import (
    applications,
    ask_staff,
    bansos,
    complaints,
    eligibility,
    faq,
    faq_data,
    health,
    masukan,
    profile,
    reminders,
    sembako,
    training,
)
from handlers.i18n import N_
from handlers.messages import Reply
from handlers.positions import PROFILE, FlowName
from handlers.start import LANGUAGE_BUTTON
from handlers.steps import Context, Outcome, Understood
from handlers.text import Keyword
from handlers.understanding.reading import Meaning
from storage import training as courses

Route = Callable[[Context, Meaning, str], Understood | Outcome]

# what a suggestion's button says, by label
TITLES = {
    "bansos": N_("Check bansos status"),
    "eligibility": N_("Check eligibility"),
    "sembako": N_("Sembako schedule"),
    "training": N_("Skills training"),
    "my_enrolments": N_("My enrolments"),
    "health": N_("Free health checks"),
    "scholarship": N_("Scholarship for a child"),
    "capital": N_("Business capital"),
    "application_status": N_("Status of my applications"),
    "complaint": N_("Send a complaint or suggestion"),
    "complaint_status": N_("Check report status"),
    "feedback": N_("Give feedback"),
    "reminders": N_("My reminders"),
    "profile": N_("My profile"),
    "register": N_("Register"),
    "help": N_("Help"),
    "language": N_("Change language"),
    "erase": N_("Erase my data"),
    "stop": N_("Stop announcements"),
    "resume": N_("Receive announcements again"),
    "survey": N_("Answer a survey"),
    "menu": N_("Main menu"),
    "cancel": N_("Cancel"),
    "ask_staff": N_("Ask an officer"),
}
# the flows a label leads into: a sentence at one of their own questions is an answer that
# did not fit, not a wish to start again (and lose the answers given)
FLOWS = {
    "bansos": {FlowName.BANSOS},
    "eligibility": {FlowName.ELIGIBILITY},
    "sembako": {FlowName.SEMBAKO},
    "training": {FlowName.TRAINING},
    "my_enrolments": {FlowName.TRAINING, FlowName.HEALTH},
    "health": {FlowName.HEALTH},
    "scholarship": {FlowName.APPLY, FlowName.SCHOLARSHIP},
    "capital": {FlowName.APPLY, FlowName.CAPITAL},
    "application_status": {FlowName.APPLY, FlowName.SCHOLARSHIP, FlowName.CAPITAL},
    "complaint": {FlowName.COMPLAINT, FlowName.MASUKAN},
    "complaint_status": {FlowName.COMPLAINT},
    "feedback": {FlowName.MASUKAN, FlowName.FEEDBACK, FlowName.COMPLAINT},
    "reminders": {FlowName.REMINDERS},
    "profile": {FlowName.PROFILE, FlowName.REGISTRATION},
    "register": {FlowName.START, FlowName.REGISTRATION},
    "language": {FlowName.LANGUAGE, FlowName.START},
    "erase": {FlowName.ERASE},
    "survey": {FlowName.SURVEY},
    "ask_staff": {FlowName.ASK_STAFF},
}
PROFILE_FIELDS = {"phone": "profile:phone", "name": "profile:name", "address": "profile:kelurahan"}
APPLICATIONS = {
    "scholarship": "apply:scholarship",
    "capital": "apply:capital",
    "application_status": "apply:status",
}
KEYWORDS = {
    "help": Keyword.HELP,
    "erase": Keyword.ERASE,
    "stop": Keyword.STOP,
    "survey": Keyword.SURVEY,
    "menu": Keyword.MENU,
    "cancel": Keyword.CANCEL,
}


def to_training(ctx: Context, meaning: Meaning, text: str) -> Understood:
    """Opens training, at the category named when one of its batches is open."""
    named = meaning.detail.casefold()
    found = [
        category
        for category in courses.categories(db=ctx.db, now=ctx.now)
        if named and category.name.casefold() == named
    ]
    taps = tuple(training.CATEGORY.encode(name=category.name) for category in found[:1])
    return Understood(training.open_training(ctx), taps)


def to_complaint(ctx: Context, meaning: Meaning, text: str) -> Understood:
    """Opens the reports, at the kind named (a complaint, a proposal, a dispute, an idea)."""
    taps = (f"cp:{meaning.detail}",) if meaning.detail else ()
    return Understood(complaints.open_complaints(ctx), taps)


def to_complaint_status(ctx: Context, meaning: Meaning, text: str) -> Understood:
    """Opens the status of reports, with the tracking number typed when there is one."""
    return Understood(complaints.open_complaints(ctx), ("cp:status",), typed=meaning.detail)


def to_profile(ctx: Context, meaning: Meaning, text: str) -> Understood:
    """Opens the profile, at the change of the field named."""
    taps = (PROFILE_FIELDS[meaning.detail],) if meaning.detail in PROFILE_FIELDS else ()
    return Understood(Outcome(goto=PROFILE), taps)


def to_applications(ctx: Context, meaning: Meaning, text: str) -> Understood:
    """Opens the applications at a scholarship, capital or their status."""
    return Understood(applications.open_applications(ctx), (APPLICATIONS[meaning.label],))


def to_language(ctx: Context, meaning: Meaning, text: str) -> Understood:
    """Changes to the language named, or asks which."""
    if meaning.detail:
        return Understood(anywhere=LANGUAGE_BUTTON.encode(code=meaning.detail))
    return Understood(keyword=Keyword.LANGUAGE)


def to_announcements(ctx: Context, meaning: Meaning, text: str) -> Outcome:
    """Receives announcements again."""
    return Outcome([Reply(profile.set_announcements(ctx, on=True))])


def entry(open_service: Callable[[Context], Outcome]) -> Route:
    """Return the route to a service's first step."""
    return lambda ctx, meaning, text: Understood(open_service(ctx))


def by_keyword(keyword: Keyword) -> Route:
    """Return the route that does what a keyword does."""
    return lambda ctx, meaning, text: Understood(keyword=keyword)


ROUTES: dict[str, Route] = {
    "bansos": entry(bansos.open_check),
    "eligibility": entry(eligibility.open_screening),
    "sembako": entry(sembako.open_schedule),
    "training": to_training,
    "my_enrolments": lambda ctx, meaning, text: Understood(
        training.open_training(ctx), ("training:mine",)
    ),
    "health": entry(health.open_health),
    "scholarship": to_applications,
    "capital": to_applications,
    "application_status": to_applications,
    "complaint": to_complaint,
    "complaint_status": to_complaint_status,
    "feedback": entry(masukan.open_masukan),
    "reminders": entry(reminders.open_reminders),
    "profile": to_profile,
    "register": lambda ctx, meaning, text: Understood(taps=("svc:register",)),
    "language": to_language,
    "resume": to_announcements,
    "chatter": lambda ctx, meaning, text: Outcome(),
    "ask_staff": lambda ctx, meaning, text: ask_staff.ask_staff_now(ctx, text),
    **{label: by_keyword(keyword) for label, keyword in KEYWORDS.items()},
}


def leads_into(label: str, flow: str) -> bool:
    """Tell whether a label leads into a flow (so it would start it again)."""
    if label.startswith(faq_data.PREFIX):
        return flow == FlowName.FAQ
    return flow in FLOWS.get(label, ())


def route(ctx: Context, meaning: Meaning, text: str) -> Understood | Outcome | None:
    """Return where a meaning leads, or None for a label without a route."""
    if meaning.label.startswith(faq_data.PREFIX) and faq_data.entry(meaning.label):
        return faq.answer_faq(ctx, meaning.label, text)
    found = ROUTES.get(meaning.label)
    return None if found is None else found(ctx, meaning, text)
