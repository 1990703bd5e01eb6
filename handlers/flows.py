"""All conversations wired together, with what each keyword does."""

from handlers import (
    applications,
    ask_staff,
    bansos,
    bookings,
    broadcast,
    broadcast_plans,
    capital,
    complaint_staff,
    complaints,
    eligibility,
    enrolments,
    faq,
    feedback,
    health,
    laporan,
    masukan,
    menu,
    positions,
    profile,
    registration,
    reminders,
    rounds,
    scholarship,
    sembako,
    start,
    survey,
    training,
)
from handlers.messages import Reply
from handlers.positions import CHOOSE_LANGUAGE, ENTRY, ERASE, HOME, RegistrationStep
from handlers.start import REGISTER
from handlers.steps import Context, Conversations, Outcome
from handlers.text import Keyword
from handlers.understanding import conversation as understanding


def go_home(ctx: Context) -> Outcome:
    """Shows the main menu."""
    return Outcome(goto=HOME)


# questions about cancelling something, where "batal" could mean either answer
ABOUT_CANCELLING = frozenset(
    {
        positions.training(positions.TrainingStep.CANCEL),
        positions.health(positions.HealthStep.CANCEL),
        positions.reminders(positions.ReminderStep.CANCEL_ALL),
    }
)


def cancel(ctx: Context) -> Outcome:
    """Drops the current task and shows the menu."""
    _ = ctx.gettext
    if ctx.position in ABOUT_CANCELLING:  # ask rather than guess which answer is meant
        text = _("Nothing has been cancelled yet. Please choose one of the two answers.")
        return Outcome([Reply(text)])
    if ctx.position == HOME:
        return Outcome([Reply(_("There is nothing to cancel."))], goto=HOME)
    if ctx.position.flow == positions.FlowName.SURVEY:  # answers are kept as they come
        return Outcome([Reply(survey.pause_text(ctx))], goto=HOME)
    return Outcome([Reply(_("Cancelled. Unfinished answers were not saved."))], goto=HOME)


def show_help(ctx: Context) -> Outcome:
    """Explains the service and asks the current question again."""
    return Outcome([Reply(menu.help_text(ctx))])


def choose_language(ctx: Context) -> Outcome:
    """Asks for the language, then returns to where the resident was."""
    if ctx.position in (CHOOSE_LANGUAGE, ENTRY):  # the question is already there
        return Outcome()
    return Outcome(goto=CHOOSE_LANGUAGE, remember=True)


def stop_announcements(ctx: Context) -> Outcome:
    """Stops announcements and asks the current question again."""
    return Outcome([Reply(profile.set_announcements(ctx, on=False))])


def restart(ctx: Context) -> Outcome:
    """Starts again: the menu for a registered resident, the welcome for anyone else."""
    _ = ctx.gettext
    replies = []
    if ctx.resident.opted_out:
        replies.append(Reply(profile.set_announcements(ctx, on=True)))
    if ctx.resident.registered:
        replies.append(Reply(_("Welcome back, {name}.").format(name=ctx.resident.name)))
        return Outcome(replies, goto=HOME)
    if ctx.resident.consent_at:  # agreed before: carry on with registration
        return Outcome(
            replies, goto=positions.registration(RegistrationStep.NAME), data={"mode": REGISTER}
        )
    return Outcome(replies, goto=ENTRY)


def erase(ctx: Context) -> Outcome:
    """Asks to confirm erasure of personal data."""
    return Outcome(goto=ERASE)


def build() -> Conversations:
    """Return every flow with the entry, the home and the keywords."""
    flows = (
        start.START,
        start.LANGUAGE,
        menu.MENU,
        registration.REGISTRATION,
        profile.PROFILE_FLOW,
        profile.ERASE_FLOW,
        bansos.BANSOS,
        eligibility.ELIGIBILITY,
        sembako.SEMBAKO,
        training.TRAINING,
        health.HEALTH,
        applications.APPLY,
        scholarship.SCHOLARSHIP,
        capital.CAPITAL,
        reminders.REMINDERS,
        feedback.FEEDBACK,
        masukan.MASUKAN,
        broadcast.BROADCAST,
        broadcast_plans.BROADCAST_PLAN,
        complaints.COMPLAINT,
        complaint_staff.COMPLAINT_STAFF,
        laporan.REPORT,
        survey.SURVEY,
        understanding.UNDERSTAND,
        faq.FAQ,
        ask_staff.ASK_STAFF,
    )
    return Conversations(
        flows={flow.name: flow for flow in flows},
        entry=ENTRY,
        home=HOME,
        anywhere={
            start.LANGUAGE_BUTTON: start.language_anywhere,
            start.CONSENT_BUTTON: start.consent_anywhere,
            sembako.REMIND: sembako.remind_anywhere,
            enrolments.CANCEL: enrolments.cancel_anywhere,
            bookings.CANCEL: bookings.cancel_anywhere,
            reminders.CANCEL: reminders.cancel_anywhere,
            feedback.RATE: feedback.rate_anywhere,
            rounds.REMIND: rounds.remind_anywhere,
            survey.INVITATION: survey.answer_invitation,
            survey.ANSWER: survey.answer_anywhere,
            faq.FAQ_BUTTON: faq.answer_anywhere,
        },
        keywords={
            Keyword.MENU: go_home,
            Keyword.CANCEL: cancel,
            Keyword.HELP: show_help,
            Keyword.LANGUAGE: choose_language,
            Keyword.STOP: stop_announcements,
            Keyword.START: restart,
            Keyword.ERASE: erase,
            Keyword.BROADCAST: broadcast.open_broadcast,
            Keyword.COMPLAINTS: complaint_staff.open_queue,
            Keyword.REPORT: laporan.open_report,
            Keyword.SURVEY: survey.open_survey,
        },
        staff_keywords={
            Keyword.BROADCAST: broadcast.may_broadcast,
            Keyword.COMPLAINTS: complaint_staff.may_handle,
            Keyword.REPORT: laporan.may_report,
        },
        understand=understanding.understand,
    )
