"""How programs read in a chat: amounts with their period, payment and what to do next."""

from handlers.i18n import N_
from handlers.steps import Context
from storage.registry import ProgramInfo

PERIODS = {
    "month": N_("{amount} a month"),
    "year": N_("{amount} a year"),
    "semester": N_("{amount} a semester"),
    "stage": N_("{amount} per stage"),
}


def amount_text(ctx: Context, program: ProgramInfo) -> str:
    """Say what a program pays (or costs): 'Rp600.000 a month', 'SD: Rp450.000 a year, …'."""
    parts = []
    for entry in program.amounts:
        amount = ctx.rupiah(entry["amount"])
        if program.amount_kind == "aid" and program.period in PERIODS:
            amount = ctx.gettext(PERIODS[program.period]).format(amount=amount)
        label = entry.get("label") or {}
        name = label.get(ctx.language) or label.get("id")
        parts.append(f"{name}: {amount}" if name else amount)
    return "; ".join(parts)


def program_block(ctx: Context, program: ProgramInfo, *, next_step: bool = True) -> str:
    """Describe one program in a few lines: name, amount, how it is paid, what to do next."""
    _ = ctx.gettext
    lines = [f"• {program.name} ({program.code})"]
    amount = amount_text(ctx, program)
    if amount:
        if program.amount_kind == "price":
            lines.append(_("  Price: {amount}").format(amount=amount))
        else:
            lines.append(_("  Amount: {amount}").format(amount=amount))
    payment = program.text("payment", ctx.language)
    if payment:
        lines.append(_("  How it is paid: {payment}").format(payment=payment))
    step = program.text("next_step", ctx.language)
    if next_step and step:
        lines.append(_("  What to do: {step}").format(step=step))
    return "\n".join(lines)
