"""Laporan: staff and evaluators read the figures of the last 30 (or 7) days in chat, with a
chart of the average rating per program (the `laporan`, `/laporan` or `report` keyword).

    show ─▶ (another period) show | menu

Admin, staff and evaluator accounts may; anyone else's "laporan" is plain text. The step asks
storage.staff anew whether the chat still belongs to such an account; a kelurahan-limited
account sees only its kelurahan (but the messages the bot did not understand, which say
nothing of who or where, are of the whole kecamatan). Every view is written to the audit log
(`report.view`).
"""

from datetime import timedelta

from handlers.buttons import Number, button
from handlers.complaint_words import category_label, kind_label, status_label
from handlers.formatting import format_count as number
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, FlowName, ReportStep, report
from handlers.report_chart import format_average, program_name, rating_chart
from handlers.staff_steps import StaffGate
from handlers.steps import Context, Flow, Outcome, options_of
from storage import places
from storage import report_figures as figures
from storage.complaints import ComplaintKind, ComplaintStatus
from storage.report_figures import Average, Summary
from storage.staff import Member

PERIODS = (7, 30)  # days a report may cover
DEFAULT_DAYS = 30
LISTED = 8  # programs, kelurahan or categories named in the text; the chart has its own
PERIOD = button("lp", days=Number(1, 366))  # the figures of the last so many days
MISS_SHOWN = 80  # characters of a miss named in the report (the export has them whole)


# -- who may -------------------------------------------------------------------------------------


def gone_text(ctx: Context) -> str:
    """Say that this chat may no longer read the reports."""
    _ = ctx.gettext
    return _("This account can no longer see the reports.")


GATE = StaffGate("report.read", gone_text)
member_of = GATE.member_of
may_report = GATE.may


def open_report(ctx: Context) -> Outcome:
    """Shows the report of the last 30 days (the `laporan` keyword, for staff only)."""
    return Outcome(goto=report(ReportStep.SHOW), data={"days": DEFAULT_DAYS})


# -- the words -----------------------------------------------------------------------------------


def days_of(ctx: Context) -> int:
    """Return the days the report covers."""
    days = ctx.data.get("days", DEFAULT_DAYS)
    return days if days in PERIODS else DEFAULT_DAYS


def duration_text(ctx: Context, value: timedelta) -> str:
    """Name a time to resolve: in hours below two days, else in days, with one decimal."""
    _ = ctx.gettext
    hours = value.total_seconds() / 3600
    if hours < 48:
        return _("{value} hours").format(value=format_average(hours, ctx.language))
    return _("{value} days").format(value=format_average(hours / 24, ctx.language))


def averages_lines(ctx: Context, found: tuple[Average, ...], name) -> list[str]:
    """List averages as '• Sembako pickup: 4,5 (12)'."""
    return [
        f"• {name(item.name)}: {format_average(item.average, ctx.language)} "
        f"({number(item.count, ctx.language)})"
        for item in found[:LISTED]
    ]


def category_name(ctx: Context, key: str) -> str:
    """Name a pengaduan's category, or the kind of another report (usul, sanggah, saran)."""
    if key in ComplaintKind.__members__.values():
        return kind_label(ComplaintKind(key), ctx.language)
    return category_label(key, ctx.language)


def status_name(ctx: Context, key: str) -> str:
    """Name a complaint's status."""
    if key in ComplaintStatus.__members__.values():
        return status_label(ComplaintStatus(key), ctx.language)
    return key


def report_text(ctx: Context, found: Summary, days: int) -> str:
    """Write the figures as a short text in the reader's language."""
    _ = ctx.gettext
    language = ctx.language
    lines = [
        _("Report of the last {days} days ({start} to {end})").format(
            days=number(days, language), start=ctx.day(found.since), end=ctx.day(found.until)
        )
    ]
    if found.kelurahan_code:
        place = places.get_kelurahan(db=ctx.db, code=found.kelurahan_code)
        name = place.name if place else found.kelurahan_code
        lines.append(_("Kelurahan {name} only.").format(name=name))
    lines += [
        "",
        _("Residents registered: {count} new ({total} in all)").format(
            count=number(found.registered, language),
            total=number(found.registered_total, language),
        ),
        _("Residents reached by messages: {count}").format(count=number(found.reached, language)),
        _(
            "Enrolments: {confirmed} confirmed, {waitlisted} waitlisted, {cancelled} cancelled"
        ).format(
            confirmed=number(found.confirmed, language),
            waitlisted=number(found.waitlisted, language),
            cancelled=number(found.cancelled, language),
        ),
        _("Attendance: present {attended} of {expected} times marked").format(
            attended=number(found.attended, language), expected=number(found.expected, language)
        ),
        "",
    ]
    if found.rating_average is None:
        lines.append(_("Ratings: none in this period"))
    else:
        lines.append(
            _("Ratings: {count}, average {average} of 5").format(
                count=number(found.ratings, language),
                average=format_average(found.rating_average, language),
            )
        )
        lines.append(_("Per program:"))
        lines += averages_lines(ctx, found.by_program, lambda name: program_name(name, language))
        lines.append(_("Per kelurahan:"))
        lines += averages_lines(
            ctx,
            found.by_kelurahan,
            lambda name: program_name(name, language) if name == figures.UNSAID else name,
        )
    lines += ["", _("Complaints filed: {count}").format(count=number(found.complaints, language))]
    if found.complaints:
        lines.append(_("By category:"))
        lines += [
            f"• {category_name(ctx, key)}: {number(count, language)}"
            for key, count in found.by_category[:LISTED]
        ]
        lines.append(_("By status:"))
        lines += [
            f"• {status_name(ctx, key)}: {number(count, language)}"
            for key, count in found.by_status
        ]
    if found.median_resolve is None:
        lines.append(_("Median time to resolve: none resolved yet"))
    else:
        lines.append(
            _("Median time to resolve: {time} ({count} resolved)").format(
                time=duration_text(ctx, found.median_resolve),
                count=number(found.resolved, language),
            )
        )
    lines.append(
        _("Questions to officers: {count} ({answered} answered)").format(
            count=number(found.questions, language),
            answered=number(found.questions_answered, language),
        )
    )
    lines += ["", *misses_lines(ctx, found)]
    if found.surveys:
        lines += ["", _("Surveys (invited in the period):")]
        lines += [
            _(
                "• “{title}”: {invited} invited, {completed} answered in full, {declined} declined"
            ).format(
                title=item.titles.get(language) or item.titles.get("id", "-"),
                invited=number(item.invited, language),
                completed=number(item.completed, language),
                declined=number(item.declined, language),
            )
            for item in found.surveys[:LISTED]
        ]
    lines += ["", _("The chart shows the average rating per program. Another period?")]
    return "\n".join(lines)


def misses_lines(ctx: Context, found: Summary) -> list[str]:
    """List how many messages the bot did not understand, and the most frequent ones."""
    _ = ctx.gettext
    language = ctx.language
    lines = [
        _("Messages the bot did not understand (whole kecamatan): {count}").format(
            count=number(found.misses, language)
        )
    ]
    if found.frequent_misses:
        lines.append(_("Most frequent (add them as phrasings or frequent questions):"))
        lines += [
            f"• “{shown(item.text)}” ({number(item.count, language)}×)"
            for item in found.frequent_misses
        ]
    return lines


def shown(text: str, limit: int = MISS_SHOWN) -> str:
    """Cut a long miss for the report."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- the step ------------------------------------------------------------------------------------


def report_options(ctx: Context, member: Member | None = None) -> tuple[Option, ...]:
    """Return the periods and the menu."""
    _ = ctx.gettext
    return options_of(
        (PERIOD.encode(days=7), _("Last 7 days"), "7 hari|periode 7 hari|7 days|seminggu|week"),
        (
            PERIOD.encode(days=30),
            _("Last 30 days"),
            "30 hari|periode 30 hari|30 days|sebulan|month",
        ),
        ("lp:menu", _("Main menu"), "menu|menu utama|main menu"),
    )


def ask_report(ctx: Context, member: Member) -> Reply:
    """Shows the figures of the period with the chart, and records that they were seen."""
    days = days_of(ctx)
    found = figures.summary(
        ctx.db, ctx.now, kelurahan_code=member.kelurahan_code, since=ctx.now - timedelta(days=days)
    )
    details: dict = {"days": days}
    if member.kelurahan_code:
        details["kelurahan_limit"] = member.kelurahan_code
    GATE.permit(ctx, member).record(
        ctx.db,
        action="report.view",
        target=f"laporan {days} hari",
        details=details,
    )
    return Reply(
        report_text(ctx, found, days),
        report_options(ctx),
        image=rating_chart(found, ctx.language),
    )


def take_report(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Shows the report of another period, or goes to the menu."""
    chosen = PERIOD.decode(msg.option)
    if chosen is not None and chosen["days"] in PERIODS:
        return Outcome(goto=report(ReportStep.SHOW), data={"days": chosen["days"]})
    return Outcome(goto=HOME, data={})


REPORT = Flow(
    FlowName.REPORT,
    {ReportStep.SHOW: GATE.step(ask_report, take_report, report_options)},
)
