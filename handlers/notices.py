"""Messages the bot sends on its own (a promotion from a waitlist, a status change), written
in the addressee's language and queued in the outbound table with their cause."""

from datetime import datetime

from sqlalchemy import Connection

from handlers.formatting import format_day, format_moment, format_window
from handlers.i18n import translations
from storage import outbox, registry, reminders, residents, schedules
from storage.applications import Filed, Kind, Status
from storage.health import Event, Slot
from storage.outbox import OutboundKind
from storage.reminders import Subject
from storage.rounds import Round
from storage.training import Batch

SESSIONS_SHOWN = 12  # sessions listed in a changed schedule


def status_label(status: Status, language: str) -> str:
    """Return an application status as residents read it."""
    t = translations(language)
    labels = {
        Status.SUBMITTED: t.pgettext("application status", "Submitted"),
        Status.VERIFIED: t.pgettext("application status", "Verified"),
        Status.APPROVED: t.pgettext("application status", "Approved"),
        Status.REJECTED: t.pgettext("application status", "Not approved"),
    }
    return labels[status]


def kind_label(kind: Kind, language: str) -> str:
    """Return what an application is for, as residents read it."""
    t = translations(language)
    if kind == Kind.SCHOLARSHIP:
        return t.pgettext("application kind", "Scholarship")
    return t.pgettext("application kind", "Business capital")


def round_name(kind: Kind, language: str) -> str:
    """Name what a round takes applications for."""
    _ = translations(language).gettext
    if kind == Kind.SCHOLARSHIP:
        return _("Scholarship applications")
    return _("Business-capital applications")


def status_text(filed: Filed, language: str) -> str:
    """Return the message that tells a resident their application's status changed."""
    _ = translations(language).gettext
    what = kind_label(filed.kind, language)
    status = status_label(filed.status, language)
    lines = [
        _("Update on your application {ref} ({what}): {status}.").format(
            ref=filed.ref, what=what, status=status
        )
    ]
    note = filed.history[-1].note if filed.history else None
    if note:
        lines.append(_("Note from the officer: {note}").format(note=note))
    if filed.status == Status.VERIFIED:
        lines.append(_("Your documents have been checked. We will tell you the decision here."))
    elif filed.status == Status.APPROVED:
        lines.append(
            _("The kelurahan office or the partner will contact you about the next steps.")
        )
    elif filed.status == Status.REJECTED:
        lines.append(
            _(
                "If you think this is a mistake, please come to your kelurahan office with "
                "this reference number."
            )
        )
    lines.append(
        _("All your applications: menu “Scholarships & capital” → “Status of my applications”.")
    )
    return "\n".join(lines)


def queue_status_change(*, db: Connection, filed: Filed, now: datetime) -> int | None:
    """Queue the status-change message for the applicant; return its outbound id."""
    language = residents.language_of(db=db, resident_id=filed.resident_id) or "id"
    return outbox.enqueue(
        db=db,
        resident_id=filed.resident_id,
        kind=OutboundKind.STATUS,
        text=status_text(filed, language),
        now=now,
    )


def promotion_text(batch: Batch, language: str, time_zone: str) -> str:
    """Return the message that tells a resident a seat came free for them."""
    _ = translations(language).gettext
    return _(
        "Good news: a place came free in “{course}” (batch {batch}) and it is now yours. "
        "Your enrolment is confirmed. The first session is on {start} at {place}.\n"
        "If you cannot come, please cancel in “Skills training” → “My enrolments”, so the "
        "next person can take the place."
    ).format(
        course=batch.course_title(language),
        batch=batch.code,
        start=format_moment(batch.starts_at, language, time_zone),
        place=batch.place,
    )


def queue_promotion(
    *, db: Connection, resident_id: int, batch: Batch, now: datetime, time_zone: str
) -> int | None:
    """Queue the promotion message for a resident moved up from a waitlist, and record the
    reminders of the sessions their seat now holds."""
    reminders.remind_sessions(
        db=db, resident_id=resident_id, batch_id=batch.id, now=now, zone=time_zone
    )
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    return outbox.enqueue(
        db=db,
        resident_id=resident_id,
        kind=OutboundKind.PROMOTION,
        text=promotion_text(batch, language, time_zone),
        now=now,
    )


def called_off_text(title: str, when: str, language: str) -> str:
    """Return the message that tells a resident a course batch or health event was called off."""
    _ = translations(language).gettext
    return _(
        "We are sorry: “{title}” ({when}) has been called off by the organiser, so your place "
        "is cancelled. Other dates are in the menu; your kelurahan office can tell you more."
    ).format(title=title, when=when)


def queue_called_off_batch(
    *, db: Connection, resident_id: int, batch: Batch, now: datetime, time_zone: str
) -> int | None:
    """Queue the message that a batch the resident was enrolled in was called off."""
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    when = format_moment(batch.starts_at, language, time_zone)
    return outbox.enqueue(
        db=db,
        resident_id=resident_id,
        kind=OutboundKind.CALLED_OFF,
        text=called_off_text(batch.course_title(language), when, language),
        now=now,
    )


def queue_called_off_event(
    *, db: Connection, resident_id: int, event: Event, now: datetime, time_zone: str
) -> int | None:
    """Queue the message that a health event the resident booked was called off."""
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    title = event.text("title", language)
    return outbox.enqueue(
        db=db,
        resident_id=resident_id,
        kind=OutboundKind.CALLED_OFF,
        text=called_off_text(title, event.place, language),
        now=now,
    )


def program_name(db: Connection, code: str) -> str:
    """Return a program's name by its code."""
    found = registry.programs(db=db, codes=(code,))
    return found[0].name if found else code


def queue_distribution_moved(
    *, db: Connection, resident_id: int, distribution_id: int, now: datetime, time_zone: str
) -> int | None:
    """Queue the message that a pickup the resident asked to be reminded of changed time or
    place, with its new time and place."""
    pickup = schedules.get(db=db, distribution_id=distribution_id)
    if pickup is None:
        return None
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    _ = translations(language).gettext
    lines = [
        _(
            "Change of schedule: the sembako pickup ({program}) you asked to be reminded of is "
            "now on {when} at {place}, {address}."
        ).format(
            program=program_name(db, pickup.program_code),
            when=format_window(pickup.starts_at, pickup.ends_at, language, time_zone),
            place=pickup.place,
            address=pickup.address,
        )
    ]
    mine = reminders.pending_of(db=db, resident_id=resident_id)
    if any(item.subject == Subject.DISTRIBUTION and item.subject_id == pickup.id for item in mine):
        lines.append(_("Your reminders follow the new time (menu → “My reminders”)."))
    return outbox.enqueue(
        db=db, resident_id=resident_id, kind=OutboundKind.REMINDER, text="\n".join(lines), now=now
    )


def queue_round_moved(
    *, db: Connection, resident_id: int, found: Round, now: datetime, time_zone: str
) -> int | None:
    """Queue the message that a round of applications the resident asked to be reminded of
    now closes on another day."""
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    _ = translations(language).gettext
    text = _(
        "Change: {what} are now taken until {day}. Your reminders follow the new date (menu → "
        "“My reminders”)."
    ).format(
        what=round_name(found.kind, language),
        day=format_day(found.last_day(time_zone), language, time_zone),
    )
    return outbox.enqueue(
        db=db, resident_id=resident_id, kind=OutboundKind.REMINDER, text=text, now=now
    )


def queue_distribution_called_off(
    *,
    db: Connection,
    resident_id: int,
    program_code: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    now: datetime,
    time_zone: str,
) -> int | None:
    """Queue the message that a pickup the resident asked to be reminded of was called off."""
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    _ = translations(language).gettext
    text = _(
        "We are sorry: the sembako pickup ({program}) on {when} at {place} has been called "
        "off, so its reminders are cancelled. The new date will be in “Sembako schedule”; your "
        "RT/RW can tell you more."
    ).format(
        program=program_name(db, program_code),
        when=format_window(starts_at, ends_at, language, time_zone),
        place=place,
    )
    return outbox.enqueue(
        db=db, resident_id=resident_id, kind=OutboundKind.CALLED_OFF, text=text, now=now
    )


def rescheduled_text(batch: Batch, language: str, time_zone: str) -> str:
    """Return the message that a course batch's sessions or place changed: all of it anew."""
    _ = translations(language).gettext
    lines = [
        _("The schedule of “{course}” ({batch}) has changed. The sessions are now:").format(
            course=batch.course_title(language), batch=batch.code
        )
    ]
    for session in batch.sessions[:SESSIONS_SHOWN]:
        window = format_window(session.starts_at, session.ends_at, language, time_zone)
        lines.append(f"  {session.number}. {window}")
    if len(batch.sessions) > SESSIONS_SHOWN:
        lines.append("  …")
    lines.append(_("Place: {place}, {address}").format(place=batch.place, address=batch.address))
    lines.append(_("Your reminders follow the new times."))
    return "\n".join(lines)


def queue_batch_rescheduled(
    *, db: Connection, resident_id: int, batch: Batch, now: datetime, time_zone: str
) -> int | None:
    """Queue the message that a batch the resident is enrolled in has a new schedule."""
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    return outbox.enqueue(
        db=db,
        resident_id=resident_id,
        kind=OutboundKind.REMINDER,
        text=rescheduled_text(batch, language, time_zone),
        now=now,
    )


def queue_event_moved(
    *, db: Connection, resident_id: int, slot: Slot, now: datetime, time_zone: str
) -> int | None:
    """Queue the message that a health talk or check the resident booked changed its place."""
    language = residents.language_of(db=db, resident_id=resident_id) or "id"
    _ = translations(language).gettext
    event = slot.event
    text = _("Change for your booking: “{title}” on {when} is now at {place}, {address}.").format(
        title=event.text("title", language),
        when=format_window(slot.starts_at, slot.ends_at, language, time_zone),
        place=event.place,
        address=event.address,
    )
    return outbox.enqueue(
        db=db, resident_id=resident_id, kind=OutboundKind.REMINDER, text=text, now=now
    )
