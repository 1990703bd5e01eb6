"""Steps only staff may take: every question, its options and every answer ask storage.staff
anew whether the chat still belongs to an account with the role (a role taken away mid-way
sends it to the menu, and nothing is done); anyone else sees the menu."""

from collections.abc import Callable

from handlers import menu
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME
from handlers.steps import Context, Expect, Outcome, Step
from storage import staff
from storage.staff import Member


class StaffGate:
    """Who may take some staff steps (`allowed`), and what one who no longer may is told."""

    def __init__(
        self, allowed: Callable[[Member], bool], gone_text: Callable[[Context], str]
    ) -> None:
        self.allowed = allowed
        self.gone_text = gone_text

    def member_of(self, ctx: Context) -> Member | None:
        """Return the staff account of this chat if it may, else None."""
        found = staff.of_chat(
            db=ctx.db, channel=ctx.identity.channel, external_id=ctx.identity.external_id
        )
        return found if found is not None and self.allowed(found) else None

    def may(self, ctx: Context) -> bool:
        """Tell whether this chat may (for its keyword)."""
        return self.member_of(ctx) is not None

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
