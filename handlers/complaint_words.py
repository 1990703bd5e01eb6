"""The words of Masukan & pengaduan (and of questions to staff) shared by the residents' and the
staff's side: the names of kinds, statuses and categories, and the refusal of a text holding a
NIK."""

from handlers.i18n import N_, translations
from handlers.messages import Reply
from handlers.steps import Context, Outcome
from storage import complaints as stored
from storage import redaction
from storage.complaints import ComplaintKind, ComplaintStatus

KIND_LABELS = {
    ComplaintKind.COMPLAINT: N_("Complaint"),
    ComplaintKind.PROPOSAL: N_("Recipient proposal"),
    ComplaintKind.DISPUTE: N_("Recipient dispute"),
    ComplaintKind.SUGGESTION: N_("Program suggestion"),
    ComplaintKind.QUESTION: N_("Question"),
}
STATUS_LABELS = {
    ComplaintStatus.NEW: N_("received, awaiting verification"),
    ComplaintStatus.IN_PROGRESS: N_("being handled"),
    ComplaintStatus.ANSWERED: N_("answered"),
    ComplaintStatus.CLOSED: N_("closed"),
}


def kind_label(kind: ComplaintKind, language: str) -> str:
    """Name a kind of report in a language."""
    return translations(language).gettext(KIND_LABELS[kind])


def status_label(status: ComplaintStatus, language: str) -> str:
    """Name a report's status in a language."""
    return translations(language).gettext(STATUS_LABELS[status])


def category_label(code: str | None, language: str) -> str:
    """Name a pengaduan's category, or a dash."""
    found = stored.category(code)
    return found.label(language) if found else "-"


def holds_nik(text: str) -> bool:
    """Tell whether a text holds something that reads as a NIK, however it is written."""
    return redaction.holds_nik(text)


def nik_refused(ctx: Context) -> Outcome:
    """Refuse a text with a NIK in it, and ask again."""
    _ = ctx.gettext
    text = _(
        "Please do not write a NIK (16 digits) here, yours or anyone else's: we do not need it "
        "and do not keep it. Please write it again without the number."
    )
    return Outcome([Reply(text)])


def kind_of(ctx: Context) -> ComplaintKind:
    """Return the kind of report being written."""
    return ComplaintKind(ctx.data.get("kind", ComplaintKind.COMPLAINT))
