"""Modal usaha: a business-capital application — business, months running, revenue, costs,
amount, purpose, women-led — with a transparent, indicative pre-screen from the data rules and
routing to a partner (women-led → Yayasan Pemberdayaan Perempuan)."""

import re
from zoneinfo import ZoneInfo

from handlers import rounds
from handlers.answers import register_first, yes_no
from handlers.application_rules import Check, rules, screen
from handlers.applications import submitted_text
from handlers.complaint_words import holds_nik, nik_refused
from handlers.durations import parse_months
from handlers.messages import Incoming, Option, Reply
from handlers.numbers import parse_amount
from handlers.positions import HOME, CapitalStep, FlowName, capital
from handlers.steps import Context, Expect, Flow, Outcome, Step, no_options, options_of
from storage import applications as filing
from storage import staff
from storage.applications import Kind
from storage.residents import ProfileIncomplete

MAX_MONTHS = 600  # fifty years; more is a typing slip
MAX_MONEY = 10_000_000_000  # a month's revenue or costs above this is a slip
PURPOSE_MIN, PURPOSE_MAX = 5, 300
_NEGATIVE = re.compile(r"^\s*(?:rp\.?\s*)?(?:-|−|minus\b)", re.IGNORECASE)


def type_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of business from the data."""
    return options_of(
        *(
            (f"type:{kind.code}", kind.label(ctx.language), kind.words, kind.short(ctx.language))
            for kind in rules().business_types
        )
    )


def ask_type(ctx: Context) -> Reply:
    """Asks what kind of business it is."""
    _ = ctx.gettext
    text = _(
        "Business capital application. It takes about eight short questions, and at the end "
        "you see an indicative check before you submit. What kind of business do you run?"
    )
    return Reply(text, type_options(ctx))


def take_type(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the business type and asks how long it has run."""
    ctx.data["type"] = (msg.option or "").removeprefix("type:")
    return Outcome(goto=capital(CapitalStep.MONTHS))


def ask_months(ctx: Context) -> Reply:
    """Asks how long the business has been running."""
    _ = ctx.gettext
    return Reply(_("How long has the business been running? For example: 8 months or 2 years."))


def take_months(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the months and asks for the revenue."""
    _ = ctx.gettext
    months = parse_months(msg.text[:50])
    if months is None or months > MAX_MONTHS:
        text = _("Please type a number of months or years, for example 8 bulan or 2 tahun.")
        return Outcome([Reply(text)])
    ctx.data["months"] = months
    return Outcome(goto=capital(CapitalStep.REVENUE))


def read_money(ctx: Context, text: str) -> int | str:
    """Read an amount of Rupiah, or return what to tell the resident."""
    _ = ctx.gettext
    if _NEGATIVE.match(text):
        return _("The amount cannot be negative. If there is none, type 0.")
    amount = parse_amount(text[:60])
    if amount is None:
        return _("Please type an amount in Rupiah, for example 3 juta, 750rb or tiga juta.")
    if amount > MAX_MONEY:
        return _("That amount looks too large. Please check it and type it again.")
    return amount


def ask_revenue(ctx: Context) -> Reply:
    """Asks for the monthly revenue."""
    _ = ctx.gettext
    return Reply(
        _(
            "About how much does the business take in a month (omzet, before costs)? "
            "For example: 4 juta."
        )
    )


def take_revenue(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the revenue and asks for the costs."""
    amount = read_money(ctx, msg.text)
    if isinstance(amount, str):
        return Outcome([Reply(amount)])
    ctx.data["revenue"] = amount
    return Outcome(goto=capital(CapitalStep.COSTS))


def ask_costs(ctx: Context) -> Reply:
    """Asks for the monthly costs."""
    _ = ctx.gettext
    return Reply(
        _(
            "And about how much does it cost in a month (goods, rent, wages, transport)? "
            "For example: 2,5 juta."
        )
    )


def take_costs(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the costs and asks for the amount."""
    amount = read_money(ctx, msg.text)
    if isinstance(amount, str):
        return Outcome([Reply(amount)])
    ctx.data["costs"] = amount
    return Outcome(goto=capital(CapitalStep.AMOUNT))


def ask_amount(ctx: Context) -> Reply:
    """Asks for the amount, naming the program's limits."""
    _ = ctx.gettext
    text = _("How much capital do you ask for? Between {least} and {most}.").format(
        least=ctx.rupiah(rules().min_amount), most=ctx.rupiah(rules().max_amount)
    )
    return Reply(text)


def take_amount(ctx: Context, msg: Incoming) -> Outcome:
    """Checks the amount against the limits and asks for the purpose."""
    _ = ctx.gettext
    amount = read_money(ctx, msg.text)
    if isinstance(amount, str):
        return Outcome([Reply(amount)])
    least, most = rules().min_amount, rules().max_amount
    if not least <= amount <= most:
        text = _(
            "This program gives between {least} and {most}. Please type an amount in that range."
        ).format(least=ctx.rupiah(least), most=ctx.rupiah(most))
        return Outcome([Reply(text)])
    ctx.data["amount"] = amount
    return Outcome(goto=capital(CapitalStep.PURPOSE))


def ask_purpose(ctx: Context) -> Reply:
    """Asks what the capital is for."""
    _ = ctx.gettext
    return Reply(
        _("What will you use it for? For example: a second sewing machine and fabric stock.")
    )


def take_purpose(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the purpose and asks whether the business is women-led."""
    _ = ctx.gettext
    purpose = " ".join(msg.text.split())
    if len(purpose) > PURPOSE_MAX:
        text = _("That is too long. Please write at most {count} characters.").format(
            count=PURPOSE_MAX
        )
        return Outcome([Reply(text)])
    if holds_nik(purpose):
        return nik_refused(ctx)
    if len(purpose) < PURPOSE_MIN or sum(char.isalpha() for char in purpose) < 3:
        return Outcome([Reply(_("Please describe in a few words what the capital is for."))])
    ctx.data["purpose"] = purpose
    return Outcome(goto=capital(CapitalStep.WOMEN_LED))


def women_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to the women-led question."""
    _ = ctx.gettext
    return yes_no(ctx, "women", _("Yes"), _("No"))


def ask_women_led(ctx: Context) -> Reply:
    """Asks whether a woman owns or runs the business."""
    _ = ctx.gettext
    return Reply(_("Is the business owned or run by a woman?"), women_options(ctx))


def take_women_led(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the answer and shows the summary with the pre-screen."""
    ctx.data["women_led"] = msg.option == "women:yes"
    return Outcome(goto=capital(CapitalStep.CONFIRM))


def checks(ctx: Context) -> tuple[Check, ...]:
    """Run the indicative pre-screen on the answers."""
    data = ctx.data
    return screen(
        rules(),
        months=int(data.get("months", 0)),
        revenue=int(data.get("revenue", 0)),
        costs=int(data.get("costs", 0)),
        amount=int(data.get("amount", 0)),
    )


def check_text(ctx: Context, check: Check) -> str:
    """Explain one rule of the pre-screen and how the answers fare."""
    _ = ctx.gettext
    figures = check.figures
    if check.rule == "months":
        if check.passed:
            text = _("✓ Running for {months} months (at least {minimum} needed).")
        else:
            text = _("✗ Running for {months} months; at least {minimum} months are needed.")
        return text.format(**figures)
    if check.rule == "margin":
        profit = ctx.rupiah(figures["profit"])
        if check.passed:
            return _("✓ Revenue is above costs: about {profit} profit a month.").format(
                profit=profit
            )
        return _("✗ Revenue is not above costs (profit {profit} a month).").format(profit=profit)
    limit, amount = ctx.rupiah(figures["limit"]), ctx.rupiah(figures["amount"])
    if check.passed:
        text = _("✓ {amount} is within {multiple} months of profit ({limit}).")
    else:
        text = _("✗ {amount} is more than {multiple} months of profit ({limit}).")
    return text.format(amount=amount, multiple=figures["multiple"], limit=limit)


def partner_name(ctx: Context) -> str | None:
    """Return the partner the application would go to."""
    code = rules().route(women_led=bool(ctx.data.get("women_led")))
    return staff.partners(db=ctx.db).get(code, code) if code else None


def confirm_options(ctx: Context) -> tuple[Option, ...]:
    """Return submit and cancel."""
    _ = ctx.gettext
    return yes_no(ctx, "capital:submit", _("Submit"), _("Cancel"))


def ask_confirm(ctx: Context) -> Reply:
    """Shows the answers, the indicative pre-screen with reasons, and asks to submit."""
    _ = ctx.gettext
    data = ctx.data
    kind = rules().business_type(data.get("type", ""))
    lines = [
        _("Please check:"),
        _("Business: {type}, running {months} months").format(
            type=kind.label(ctx.language) if kind else "-", months=data.get("months", 0)
        ),
        _("Revenue {revenue} and costs {costs} a month").format(
            revenue=ctx.rupiah(data.get("revenue", 0)), costs=ctx.rupiah(data.get("costs", 0))
        ),
        _("Asked for: {amount}, for: {purpose}").format(
            amount=ctx.rupiah(data.get("amount", 0)), purpose=data.get("purpose", "-")
        ),
        _("Women-led: {answer}").format(answer=_("yes") if data.get("women_led") else _("no")),
        "",
        _("Indicative check:"),
        *(check_text(ctx, check) for check in checks(ctx)),
    ]
    if all(check.passed for check in checks(ctx)):
        lines.append(_("Your answers meet the program's basic rules."))
    else:
        lines.append(_("Your answers do not meet every basic rule; you may still submit."))
    lines.append(
        _(
            "This is only an estimate: an officer decides after checking the business and the "
            "documents."
        )
    )
    partner = partner_name(ctx)
    if partner:
        lines.append(_("Your application would go to: {partner}.").format(partner=partner))
    lines += ["", _("Submit the application?")]
    shown = "\n".join(lines)
    return Reply(shown, confirm_options(ctx))


def take_confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Files the application with its pre-screen and partner, or drops it."""
    _ = ctx.gettext
    if msg.option == "capital:submit:no":
        return Outcome([Reply(_("Not submitted. Nothing was saved."))], goto=HOME)
    data = ctx.data
    needed = ("type", "months", "revenue", "costs", "amount", "purpose", "women_led")
    if not all(key in data for key in needed):
        return Outcome(goto=capital(CapitalStep.TYPE), data={})
    details = {key: data[key] for key in needed}
    results = checks(ctx)
    screening = {
        "passed": all(check.passed for check in results),
        "checks": [
            {"rule": check.rule, "passed": check.passed, **check.figures} for check in results
        ],
    }
    partner = rules().route(women_led=bool(data["women_led"]))
    shut = rounds.closed(ctx, Kind.CAPITAL)  # closed while the form was being filled in
    if shut is not None:
        return Outcome([shut], goto=HOME)
    try:
        ref = filing.submit(
            db=ctx.db,
            kind=Kind.CAPITAL,
            resident_id=ctx.resident.id,
            details=details,
            screening=screening,
            partner_code=partner,
            year=ctx.now.astimezone(ZoneInfo(ctx.config.time_zone)).year,
            now=ctx.now,
        )
    except ProfileIncomplete:  # however the resident got here: register first, then back
        return register_first(ctx, capital(CapitalStep.CONFIRM), dict(ctx.data))
    return Outcome([Reply(submitted_text(ctx, ref, partner_name(ctx)))], goto=HOME)


CAPITAL = Flow(
    FlowName.CAPITAL,
    {
        CapitalStep.TYPE: Step(ask_type, take_type, options=type_options),
        CapitalStep.MONTHS: Step(ask_months, take_months, Expect.TEXT, options=no_options),
        CapitalStep.REVENUE: Step(ask_revenue, take_revenue, Expect.TEXT, options=no_options),
        CapitalStep.COSTS: Step(ask_costs, take_costs, Expect.TEXT, options=no_options),
        CapitalStep.AMOUNT: Step(ask_amount, take_amount, Expect.TEXT, options=no_options),
        CapitalStep.PURPOSE: Step(ask_purpose, take_purpose, Expect.TEXT, options=no_options),
        CapitalStep.WOMEN_LED: Step(ask_women_led, take_women_led, options=women_options),
        CapitalStep.CONFIRM: Step(ask_confirm, take_confirm, options=confirm_options),
    },
)
