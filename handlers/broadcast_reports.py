"""What the clock tells a staff member about their broadcast: progress, and the final report
with its messages by outcome, in their language."""

from handlers.formatting import format_count as number
from handlers.i18n import translations
from storage.broadcasts import Report


def progress_text(found: Report, language: str, survey: str | None = None) -> str:
    """Return a progress report: 'Siaran #12: 600 of 1.200 sent so far.'; for a survey's
    invitations, named by the survey's title."""
    _ = translations(language).gettext
    if survey is not None:
        return _(
            "Survey “{title}” (siaran #{id}): {sent} of {total} invitations sent so far."
        ).format(
            title=survey,
            id=found.broadcast_id,
            sent=number(found.sent, language),
            total=number(found.recipients, language),
        )
    return _("Siaran #{id}: {sent} of {total} sent so far.").format(
        id=found.broadcast_id,
        sent=number(found.sent, language),
        total=number(found.recipients, language),
    )


def report_text(found: Report, language: str, survey: str | None = None) -> str:
    """Return the final report of a broadcast (or of a survey's invitations, named by the
    survey's title): its messages by outcome."""
    _ = translations(language).gettext
    if survey is not None:
        heading = _(
            "Survey “{title}” (siaran #{id}): the invitations are out ({total} recipients):"
        )
    else:
        heading = _("Siaran #{id} is finished ({total} recipients):")
    lines = [
        heading.format(
            title=survey, id=found.broadcast_id, total=number(found.recipients, language)
        ),
        _("• sent: {count}").format(count=number(found.sent, language)),
    ]
    if found.maybe_doubled:
        lines.append(
            _("• of those, sent again after no answer (may have arrived twice): {count}").format(
                count=number(found.maybe_doubled, language)
            )
        )
    lines += [
        _("• failed: {count}").format(count=number(found.failed, language)),
        _("• blocked the bot or account gone: {count}").format(
            count=number(found.blocked, language)
        ),
        _("• skipped, said “berhenti”: {count}").format(
            count=number(found.skipped_opted_out, language)
        ),
        _("• held, WhatsApp's 24-hour window closed and no template: {count}").format(
            count=number(found.held, language)
        ),
    ]
    if found.withdrawn:
        lines.append(
            _("• withdrawn, the survey was closed: {count}").format(
                count=number(found.withdrawn, language)
            )
        )
    if found.expired:
        lines.append(
            _("• expired, no longer current when it could go: {count}").format(
                count=number(found.expired, language)
            )
        )
    if found.erased:
        lines.append(
            _("• erased their data since: {count}").format(count=number(found.erased, language))
        )
    if found.waiting:
        lines.append(_("• still waiting: {count}").format(count=number(found.waiting, language)))
    return "\n".join(lines)
