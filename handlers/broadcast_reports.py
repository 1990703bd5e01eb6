"""What the clock tells a staff member about their broadcast: progress, and the final report
with its messages by outcome, in their language."""

from handlers.formatting import format_count as number
from handlers.i18n import translations
from storage.broadcasts import Report


def progress_text(found: Report, language: str) -> str:
    """Return a progress report: 'Siaran #12: 600 of 1.200 sent so far.'."""
    _ = translations(language).gettext
    return _("Siaran #{id}: {sent} of {total} sent so far.").format(
        id=found.broadcast_id,
        sent=number(found.sent, language),
        total=number(found.recipients, language),
    )


def report_text(found: Report, language: str) -> str:
    """Return the final report of a broadcast: its messages by outcome."""
    _ = translations(language).gettext
    lines = [
        _("Siaran #{id} is finished ({total} recipients):").format(
            id=found.broadcast_id, total=number(found.recipients, language)
        ),
        _("• sent: {count}").format(count=number(found.sent, language)),
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
    if found.erased:
        lines.append(
            _("• erased their data since: {count}").format(count=number(found.erased, language))
        )
    if found.waiting:
        lines.append(_("• still waiting: {count}").format(count=number(found.waiting, language)))
    return "\n".join(lines)
