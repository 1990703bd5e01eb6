"""Bantuan pendidikan dan modal usaha: choose what to apply for, and "Status pengajuan" with
each application's history."""

from handlers import rounds
from handlers.answers import profile_first
from handlers.messages import Incoming, Option, Reply
from handlers.notices import kind_label, status_label
from handlers.positions import (
    HOME,
    ApplyStep,
    CapitalStep,
    FlowName,
    ScholarshipStep,
    apply,
    capital,
    scholarship,
)
from handlers.steps import Context, Flow, Outcome, Step, options_of
from storage import applications as filing
from storage.applications import Filed, Kind


def open_applications(ctx: Context) -> Outcome:
    """Opens the applications menu."""
    return Outcome(goto=apply(ApplyStep.CHOOSE))


def status_option(ctx: Context) -> tuple[str, str, str, str]:
    """Return the option that shows the resident's applications."""
    _ = ctx.gettext
    return (
        "apply:status",
        _("Status of my applications"),
        "status|status pengajuan|pengajuan saya|my applications",
        ctx.pgettext("short label", "My applications"),
    )


def choose_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of support, a reminder before each open round closes, the status and
    the menu."""
    _ = ctx.gettext
    return options_of(
        ("apply:scholarship", _("Scholarship for a child"), "beasiswa|scholarship|sekolah"),
        ("apply:capital", _("Business capital"), "modal|modal usaha|usaha|umkm|capital"),
        *rounds.remind_choices(ctx),
        status_option(ctx),
        ("apply:menu", _("Main menu"), "menu"),
    )


def ask_choose(ctx: Context) -> Reply:
    """Explains the two kinds of support and asks which."""
    _ = ctx.gettext
    text = _(
        "Apply here for:\n"
        "• a scholarship (beasiswa) for a child at SD, SMP, SMA, SMK or university, from a "
        "family with low income;\n"
        "• business capital (modal usaha) for a small business in Duren Sawit.\n"
        "You get a reference number and can follow the status here."
    )
    shown = "\n".join([text, *rounds.deadline_lines(ctx), _("What would you like?")])
    return Reply(shown, choose_options(ctx))


def take_choose(ctx: Context, msg: Incoming) -> Outcome:
    """Starts the chosen application, or shows the status."""
    key = msg.option
    if key == "apply:status":
        return Outcome(goto=apply(ApplyStep.STATUS))
    if key == "apply:menu":
        return Outcome(goto=HOME)
    if rounds.REMIND.owns(key):
        return rounds.remind(ctx, key)
    kind = Kind.SCHOLARSHIP if key == "apply:scholarship" else Kind.CAPITAL
    shut = rounds.closed(ctx, kind)
    if shut is not None:
        return Outcome([shut])
    if key == "apply:capital":
        running = in_progress(ctx, Kind.CAPITAL)
        if running:  # one business-capital application at a time
            _ = ctx.gettext
            text = _(
                "You already have a business capital application in progress: {ref}. Please "
                "wait for its decision; you can follow it here."
            ).format(ref=running[0].ref)
            return Outcome([Reply(text)], goto=apply(ApplyStep.STATUS))
    target = (
        scholarship(ScholarshipStep.CHILD)
        if key == "apply:scholarship"
        else capital(CapitalStep.TYPE)
    )
    return profile_first(ctx, target) or Outcome(goto=target)


def in_progress(ctx: Context, kind: Kind) -> list[Filed]:
    """Return the resident's applications of a kind that await a decision."""
    final = (filing.Status.APPROVED, filing.Status.REJECTED)
    return [
        filed
        for filed in filing.of_resident(db=ctx.db, resident_id=ctx.resident.id)
        if filed.kind == kind and filed.status not in final
    ]


def subject(ctx: Context, filed: Filed) -> str:
    """Say in a few words what an application is about."""
    details = filed.details
    if filed.kind == Kind.SCHOLARSHIP:
        return f"{details.get('child', '-')}, {details.get('level', '-')}"
    return ctx.rupiah(int(details.get("amount", 0)))


def history_text(ctx: Context, filed: Filed) -> str:
    """Describe one application with its history."""
    _ = ctx.gettext
    head = f"{filed.ref} · {kind_label(filed.kind, ctx.language)} ({subject(ctx, filed)})"
    lines = [head]
    for event in filed.history:
        line = f"  {ctx.day(event.at)}: {status_label(event.status, ctx.language)}"
        if event.note:
            line += f" — {event.note}"
        lines.append(line)
    lines.append("  " + _("Now: {status}").format(status=status_label(filed.status, ctx.language)))
    return "\n".join(lines)


def status_options(ctx: Context) -> tuple[Option, ...]:
    """Return where to go from the status."""
    _ = ctx.gettext
    return options_of(
        ("apply:more", _("Apply for support"), "ajukan|daftar|apply"),
        ("apply:menu", _("Main menu"), "menu"),
    )


def ask_status(ctx: Context) -> Reply:
    """Shows the resident's applications with their history."""
    _ = ctx.gettext
    found = filing.of_resident(db=ctx.db, resident_id=ctx.resident.id)
    if not found:
        return Reply(_("You have not applied for anything yet."), status_options(ctx))
    blocks = [_("Your applications:")] + [history_text(ctx, filed) for filed in found]
    shown = "\n\n".join(blocks)
    return Reply(shown, status_options(ctx))


def take_status(ctx: Context, msg: Incoming) -> Outcome:
    """Goes back to the applications menu or home."""
    if msg.option == "apply:more":
        return Outcome(goto=apply(ApplyStep.CHOOSE))
    return Outcome(goto=HOME)


def submitted_text(ctx: Context, ref: str, partner: str | None) -> str:
    """Say that an application is in, with its reference and what happens next."""
    _ = ctx.gettext
    lines = [
        _("Your application has been submitted. Reference number: {ref}").format(ref=ref),
        _("Please keep this number. Status now: {status}.").format(
            status=status_label(filing.Status.SUBMITTED, ctx.language)
        ),
    ]
    if partner:
        lines.append(_("It will be handled by: {partner}.").format(partner=partner))
    lines.append(
        _(
            "An officer checks it and may ask you to bring the documents. Each change of status "
            "is sent to you here; you can also look in “Status of my applications”."
        )
    )
    return "\n".join(lines)


APPLY = Flow(
    FlowName.APPLY,
    {
        ApplyStep.CHOOSE: Step(ask_choose, take_choose, options=choose_options),
        ApplyStep.STATUS: Step(ask_status, take_status, options=status_options),
    },
)
