"""Steps only staff may take, behind the one staff gate (storage.gate): every question, its
options and every answer ask anew whether the chat still belongs to an account the action's
rule lets in (a role taken away mid-way sends it to the menu, and nothing is done); anyone else
sees the menu. A staff account the rule does not let in is refused, and the refusal audited."""

from collections.abc import Callable

from handlers import menu
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME
from handlers.steps import Context, Expect, Outcome, Step
from storage import gate, staff
from storage.gate import Origin, Pass, Refused
from storage.staff import Member


class StaffGate:
    """The staff steps of one action (a rule of storage.gate), and what one who no longer
    may is told."""

    def __init__(self, action: str, gone_text: Callable[[Context], str]) -> None:
        self.action = action
        self.rule = gate.rule_of(action)
        self.gone_text = gone_text

    def _account(self, ctx: Context) -> Member | None:
        return staff.of_chat(
            db=ctx.db, channel=ctx.identity.channel, external_id=ctx.identity.external_id
        )

    def _lets_in(self, member: Member) -> bool:
        return member.role in self.rule.roles and not (
            self.rule.whole_kecamatan and member.kelurahan_code is not None
        )

    def member_of(self, ctx: Context) -> Member | None:
        """Return the staff account of this chat if it may, else None."""
        found = self._account(ctx)
        return found if found is not None and self._lets_in(found) else None

    def may(self, ctx: Context) -> bool:
        """Tell whether this chat may (for its keyword); a staff account that may not is
        refused in the audit log (a resident is no staff, and simply gets the menu)."""
        found = self._account(ctx)
        if found is None:
            return False
        if self._lets_in(found):
            return True
        refusal = Refused("", action=self.action, why="role", actor=found.login, role=found.role)
        gate.record_refusal(ctx.db, refusal, chat_origin(ctx), ctx.now)
        return False

    def permit(self, ctx: Context, member: Member) -> Pass:
        """Return the pass of an account let in, to check its kelurahan and record actions."""
        return Pass(member, self.action, chat_origin(ctx), ctx.now)

    def refuse(self, ctx: Context, member: Member, target: str) -> None:
        """Record that an account reached for something outside its kelurahan."""
        refusal = Refused(
            "",
            action=self.action,
            why="kelurahan",
            actor=member.login,
            role=member.role,
            target=target,
        )
        gate.record_refusal(ctx.db, refusal, chat_origin(ctx), ctx.now)

    def step(
        self,
        ask: Callable[[Context, Member], Reply],
        answer: Callable[[Context, Incoming, Member], Outcome],
        options: Callable[[Context, Member], tuple[Option, ...]] | None = None,
        expects: Expect = Expect.CHOICE,
    ) -> Step:
        """Build a step whose question, options and answer each check the role anew."""

        def checked_ask(ctx: Context) -> Reply:
            member = self.member_of(ctx)
            if member is None:
                shown = menu.ask_menu(ctx)
                text = f"{self.gone_text(ctx)}\n\n{shown.text}"
                return Reply(text, shown.options)
            return ask(ctx, member)

        def checked_answer(ctx: Context, msg: Incoming) -> Outcome:
            member = self.member_of(ctx)
            if member is None:
                return Outcome([Reply(self.gone_text(ctx))], goto=HOME, data={})
            return answer(ctx, msg, member)

        def checked_options(ctx: Context) -> tuple[Option, ...]:
            member = self.member_of(ctx)
            if member is None:
                return menu.menu_options(ctx)
            return options(ctx, member) if options is not None else ()

        return Step(checked_ask, checked_answer, expects=expects, options=checked_options)


def chat_origin(ctx: Context) -> Origin:
    """Return the platform a staff action came from."""
    return Origin(ctx.identity.channel)
