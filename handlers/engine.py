"""The conversation engine: one update in, replies out, state kept in the database.

Each update is one unit of work: load and lock the resident's conversation, ignore a message id
seen before, run one step, record the message and the new position, commit. That work is
synchronous database code, so it runs in worker threads (handlers/workers.py) and never blocks
the event loop; updates waiting together share one commit. Updates of one resident wait their
turn on a lock here, and on a row lock (BEGIN IMMEDIATE on SQLite) across processes.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection, Transaction
from sqlalchemy import Engine as Database
from sqlalchemy.exc import IntegrityError

from handlers import hints
from handlers.i18n import normalise_language, translations
from handlers.locks import KeyedLocks
from handlers.messages import MEDIA_KINDS, Incoming, Kind, Option, Reply, is_place
from handlers.reply_data import reply_data, reply_of
from handlers.steps import (
    BACK,
    EXPIRED,
    Context,
    Conversations,
    EngineConfig,
    Expect,
    Outcome,
    Step,
    StepRef,
    Understood,
)
from handlers.text import is_chatter, keyword_of, match_option, normalise
from handlers.workers import BATCH, Workers, lost_connection
from storage import conversations, inbox, outbox, residents
from storage.conversations import IdentityRef
from storage.types import utcnow

log = logging.getLogger(__name__)


class Engine:
    """Turns incoming messages into replies, one update per resident at a time."""

    def __init__(
        self,
        database: Database,
        conversations_: Conversations,
        config: EngineConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.conversations = conversations_
        self.config = config or EngineConfig()
        self.clock = clock
        self._workers = Workers(database, self.config.workers, self.process_batch)
        self._locks = KeyedLocks()
        # a burst beyond what the database can do waits here, not in the workers' queue
        # under a deadline: thousands in the queue would all run out of time together
        in_hand = self.config.in_hand or self.config.workers * BATCH
        self._in_hand = asyncio.Semaphore(in_hand)

    async def handle(self, message: Incoming) -> list[Reply]:
        """Handle one message after any earlier one of the same resident; return the replies.
        Past `answer_within` from the moment it is taken in hand the resident gets the apology
        (the worker finishes later); in a burst it first waits for its turn (`in_hand`)."""
        limit = self.config.answer_within
        async with self._in_hand:
            try:
                async with asyncio.timeout(limit.total_seconds() if limit else None):
                    async with self._locks.hold((message.channel, message.external_id)):
                        return await self._workers.run(message)
            except TimeoutError:  # a stalled or frozen database
                log.warning("no answer from the database in time in channel %s", message.channel)
            except Exception:  # the worker could not even reach the database
                log.exception("update not handled in channel %s", message.channel)
        return [Reply(hints.error_hint(translations(self.config.default_language).gettext))]

    def close(self) -> None:
        """Stop the worker threads."""
        self._workers.close()

    def process_batch(self, db: Connection, messages: list[Incoming]) -> list[list[Reply]]:
        """Handle messages of different residents, committing once for all when none fails."""
        if len(messages) > 1:
            transaction = db.begin()
            try:
                record = Record()
                results = [self._update(db, message, record) for message in messages]
                self._record(db, record)
                transaction.commit()
                return results
            except Exception as error:
                rollback(transaction)
                if lost_connection(error, db):  # the worker connects again and retries
                    raise
                log.info("a batch of %d updates failed; handling them one by one", len(messages))
        return [self.process(db, message) for message in messages]

    def process(self, db: Connection, message: Incoming) -> list[Reply]:
        """Handle one message in its own transaction; raise only when the connection was lost
        (the worker connects again and retries), else apologise on failure (blocking code)."""
        record = Record()
        for attempt in (1, 2):
            transaction = db.begin()
            try:
                replies = self._update(db, message, record)
                self._record(db, record)
                transaction.commit()
                return replies
            except IntegrityError:
                rollback(transaction)
                record.handled.clear()
                record.inbox.clear()
                if attempt == 2:
                    log.exception("update failed twice in channel %s", message.channel)
                # else another process created the same identity at the same moment: again
            except Exception as error:
                rollback(transaction)
                if lost_connection(error, db):
                    raise
                log.exception("update failed in channel %s", message.channel)
                break
        if message.inbox_id is not None:  # the resident hears of it; it is not tried again
            forget_failed(db, message.inbox_id)
        language = record.language or self.config.default_language
        return [Reply(hints.error_hint(translations(language).gettext))]

    @staticmethod
    def _record(db: Connection, record: "Record") -> None:
        """Write what the updates left to write: which messages were handled, and that their
        stored deliveries are done with."""
        conversations.record(db=db, handled=record.handled)
        inbox.forget(db=db, ids=record.inbox)

    def _update(self, db: Connection, message: Incoming, record: "Record") -> list[Reply]:
        """Run one update inside the caller's transaction; note in `record` what to write."""
        now = self.clock()
        if message.inbox_id is not None:
            record.inbox.append(message.inbox_id)
        loaded = conversations.load_for_update(
            db=db,
            channel=message.channel,
            external_id=message.external_id,
            message_id=message.message_id,
        )
        if loaded is not None and loaded.seen:
            log.debug("message already handled; ignored")
            return []
        if loaded is None and message.sender_phone:  # known on another platform by the number
            linked = residents.link_by_phone(
                db=db,
                phone=message.sender_phone,
                channel=message.channel,
                external_id=message.external_id,
                now=now,
            )
            if linked is not None:
                log.info("a resident now also writes on %s", message.channel)
                loaded = conversations.load_for_update(
                    db=db,
                    channel=message.channel,
                    external_id=message.external_id,
                    message_id=message.message_id,
                )
        is_new = loaded is None
        if loaded is None:
            loaded = self._create_resident(db, message, now)
        resident, saved = loaded.profile, loaded.position
        record.language = resident.language
        if loaded.identity.unreachable:  # they write again, so they can be reached again
            residents.set_unreachable(
                db=db, channel=message.channel, external_id=message.external_id, at=None
            )
        # they wrote: WhatsApp's window for writing freely opens again, and what was held
        # back because it had closed goes out
        written = min(now, message.sent_at or now)  # a redelivery of old news opens nothing
        residents.seen_inbound(
            db=db, identity_id=loaded.identity.id, at=written, known=loaded.last_inbound_at
        )
        if loaded.held:
            outbox.release_held(
                db=db,
                resident_id=resident.id,
                identity_id=loaded.identity.id,
                channel=message.channel,
                now=now,
            )
        position = StepRef(saved.flow, saved.step)
        ctx = Context(db, resident, loaded.identity, saved.data, now, self.config, position)
        idle = now - saved.updated_at > self.config.idle_timeout or bool(saved.data.get(EXPIRED))
        replies, position = self._dispatch(ctx, message, position, is_new, idle)
        if not ctx.erased:  # after erasure nothing of the resident may be written
            record.handled.append(
                conversations.Handled(
                    loaded.identity.id,
                    message.message_id,
                    resident.id,
                    position.flow,
                    position.step,
                    ctx.data,
                    now,
                )
            )
        replies = merge_texts(replies)
        if message.channel in self.config.queued_replies and not ctx.erased:
            return self._queue(db, loaded, replies, now)
        return replies

    def _queue(
        self, db: Connection, loaded: conversations.Loaded, replies: list[Reply], now
    ) -> list[Reply]:
        """Write the replies to the outbound queue with the step, claimed for this process to
        send at once; return them (after any of the chat's earlier ones still unsent), each
        with its row."""
        queued = outbox.queue_replies(
            db=db,
            resident_id=loaded.profile.id,
            identity_id=loaded.identity.id,
            channel=loaded.identity.channel,
            replies=[reply_data(reply) for reply in replies],
            now=now,
            claim=self.config.reply_claim,
            unsent=loaded.unsent,
        )
        earlier = queued[: len(queued) - len(replies)]
        return [
            *(replace(reply_of(row.reply), queued=row.id) for row in earlier),
            *(
                replace(reply, queued=row.id)
                for reply, row in zip(replies, queued[len(earlier) :], strict=True)
            ),
        ]

    def _create_resident(
        self, db: Connection, message: Incoming, now: datetime
    ) -> conversations.Loaded:
        language = normalise_language(message.language_hint) or self.config.default_language
        profile, identity_id = residents.create_resident(
            db=db,
            channel=message.channel,
            external_id=message.external_id,
            language=language,
            now=now,
        )
        entry = self.conversations.entry
        position = conversations.start_conversation(
            db=db, resident_id=profile.id, flow=entry.flow, step=entry.step, now=now
        )
        log.info("new resident %s on %s", profile.id, message.channel)
        identity = IdentityRef(identity_id, message.channel, message.external_id)
        return conversations.Loaded(identity, profile, position, seen=False)

    def _step(self, position: StepRef) -> Step | None:
        flow = self.conversations.flows.get(position.flow)
        return flow.steps.get(position.step) if flow else None

    def _dispatch(
        self, ctx: Context, message: Incoming, position: StepRef, is_new: bool, idle: bool
    ) -> tuple[list[Reply], StepRef]:
        """Decide what the message means at the current position and run it."""
        _ = ctx.gettext
        home = self.conversations.home
        step = self._step(position)
        if step is None:  # a position from an older version of the program
            position, step, ctx.data = home, self._step(home), {}
            ctx.position = position
        keyword = keyword_of(message.text) if message.kind == Kind.TEXT else None
        allowed = self.conversations.staff_keywords.get(keyword) if keyword else None
        if allowed is not None and not allowed(ctx):  # not theirs: read it as any other text
            keyword = None
        if keyword is not None:
            ctx.data.pop(EXPIRED, None)
            return self._apply(ctx, position, self.conversations.keywords[keyword](ctx))
        if is_new:
            return [step.ask(ctx)], position

        notice: list[Reply] = []
        if idle and (position != home or ctx.data):
            notice = [Reply(hints.idle_hint(_))]
            position, step, ctx.data = home, self._step(home), {}
            ctx.position = position
            if message.kind != Kind.OPTION:  # an answer to a step that is gone: show the menu
                return [*notice, step.ask(ctx)], position

        def again(*hint: str) -> tuple[list[Reply], StepRef]:
            """Give the hints and ask again, in the short form where the step has one."""
            question = (step.remind or step.ask)(ctx)
            return [*notice, *(Reply(text) for text in hint), question], position

        options = self._options(ctx, step)
        if message.kind == Kind.OPTION:
            if message.option in {option.key for option in options}:
                return self._answer(ctx, position, step, message, notice)
            if position != home and message.option in self._home_keys(ctx):
                ctx.data, ctx.position = {}, home
                return self._answer(ctx, home, self._step(home), message, notice)
            # a button that means something wherever it is tapped, if the codec can read it;
            # any other key (another step's, a forged one) is a stale button
            for kind, take in self.conversations.anywhere.items():
                if kind.owns(message.option):
                    taken = take(ctx, message) if kind.decode(message.option) else None
                    if taken is None:
                        break
                    replies, position = self._apply(ctx, position, taken)
                    return [*notice, *replies], position
            return again(hints.stale_hint(_))
        if message.kind == Kind.LOCATION and not is_place(message.latitude, message.longitude):
            return again(hints.place_hint(_))
        if message.kind in MEDIA_KINDS and message.kind not in step.accepts:
            return again(hints.media_hint(message.kind, _))
        if message.kind == Kind.CONTACT and step.expects != Expect.PHONE:
            return again(hints.media_hint(message.kind, _))
        if (
            message.kind == Kind.LOCATION
            and step.expects != Expect.LOCATION
            and Kind.LOCATION not in step.accepts
        ):
            return again(hints.media_hint(message.kind, _))
        if message.kind == Kind.TEXT:
            if not message.text.strip():
                return again(hints.empty_hint(_))
            # at the menu a sentence is read by the understanding rather than by the start of
            # a label ("status" is three services there, not the first that holds the word)
            loose = step.expects == Expect.CHOICE and position != home
            match = match_option(options, message.text, loose=loose)
            skip_home = match.key or position == home or step.expects == Expect.ANSWER
            home_key = None if skip_home else self._home_label(ctx, message)
            if match.key is not None:
                message = replace(message, kind=Kind.OPTION, option=match.key)
            elif home_key is not None:  # a menu entry typed in full: the resident moves on
                ctx.data, ctx.position = {}, home
                chosen = replace(message, kind=Kind.OPTION, option=home_key)
                return self._answer(ctx, home, self._step(home), chosen, notice)
            elif is_chatter(message.text) and step.expects in (Expect.CHOICE, Expect.TEXT):
                return again()  # "halo", "ok": no answer, so just ask again
            elif step.expects == Expect.CHOICE:
                # no option fits: a sentence may say what the resident wants instead
                meant = self._understand(ctx, message.text, position == home, choice=True)
                if meant is not None:
                    replies, position = self._apply(ctx, position, meant)
                    return [*notice, *replies], position
                if match.candidates:
                    labels = [option.label for option in match.candidates]
                    return again(hints.which_hint(labels, _))
                return again(hints.choose_hint(len(options), _)) if options else again()
            elif step.expects != Expect.ANSWER:
                return self._answer_or_understand(ctx, position, step, message, notice)
        return self._answer(ctx, position, step, message, notice)

    def _answer_or_understand(
        self, ctx: Context, position: StepRef, step: Step, message: Incoming, notice: list[Reply]
    ) -> tuple[list[Reply], StepRef]:
        """Let a free-text step take the text; when it does not (it asks again), read the text
        as a sentence that may say what the resident wants instead. An answer that fits the
        question always wins: a name at the name step is a name."""
        data = dict(ctx.data)
        outcome = step.answer(ctx, message)
        taken = not isinstance(outcome, Outcome) or outcome.goto is not None or not outcome.ask
        if not taken:
            meant = self._understand(ctx, message.text, False)
            if meant is not None:
                ctx.data = data
                outcome = meant
        replies, position = self._apply(ctx, position, outcome)
        return [*notice, *replies], position

    def _understand(
        self, ctx: Context, text: str, at_home: bool, *, choice: bool = False
    ) -> Understood | Outcome | None:
        """Return what a typed text means where it answers nothing, if that is clear (`choice`:
        it was typed where buttons were offered, so it holds no answer of the resident's)."""
        understand = self.conversations.understand
        return None if understand is None else understand(ctx, text, at_home, choice)

    def _options(self, ctx: Context, step: Step) -> tuple[Option, ...]:
        """Return the options of a step, without asking its whole question where it can."""
        return step.options(ctx) if step.options else step.ask(ctx).options

    def _home_label(self, ctx: Context, message: Incoming) -> str | None:
        """Return the key of the menu entry whose whole label was typed, if one was."""
        if len(message.text) > 100:
            return None
        typed = normalise(message.text)
        options = self._options(ctx, self._step(self.conversations.home))
        return next((option.key for option in options if normalise(option.label) == typed), None)

    def _home_keys(self, ctx: Context) -> set[str]:
        return {option.key for option in self._options(ctx, self._step(self.conversations.home))}

    def _answer(
        self, ctx: Context, position: StepRef, step: Step, message: Incoming, notice: list[Reply]
    ) -> tuple[list[Reply], StepRef]:
        replies, position = self._apply(ctx, position, step.answer(ctx, message))
        return [*notice, *replies], position

    def _apply(
        self, ctx: Context, position: StepRef, outcome: Outcome | Understood
    ) -> tuple[list[Reply], StepRef]:
        """Move to where the outcome says and ask that step's question."""
        if isinstance(outcome, Understood):
            return self._follow(ctx, position, outcome)
        replies = list(outcome.replies)
        if ctx.erased:
            return replies, position
        target = outcome.goto or position
        if outcome.goto == BACK:
            saved = ctx.data.get("_return")
            if saved:
                target, ctx.data = StepRef(saved["flow"], saved["step"]), saved["data"]
            else:
                target, ctx.data = self.conversations.home, {}
        elif outcome.remember:
            saved = {"flow": position.flow, "step": position.step, "data": ctx.data}
            ctx.data = {"_return": saved}
        elif target.flow != position.flow:
            ctx.data = {}  # a new flow starts with no answers
        if outcome.data is not None:
            ctx.data = dict(outcome.data)
        step = self._step(target)
        if step is None:
            log.error("no step %s.%s; going home", target.flow, target.step)
            target, step, ctx.data = (
                self.conversations.home,
                self._step(self.conversations.home),
                {},
            )
        ctx.position = target
        if outcome.ask:
            replies.append(step.ask(ctx))
        return replies, target

    def _follow(
        self, ctx: Context, position: StepRef, meant: Understood
    ) -> tuple[list[Reply], StepRef]:
        """Go where a typed sentence meant, the way the resident would have gone: through the
        main menu and the buttons, so every check on the way (consent, registration, what is
        open) applies; the replies are those of the step the way ends at."""
        if meant.keyword is not None:
            allowed = self.conversations.staff_keywords.get(meant.keyword)
            if allowed is not None and not allowed(ctx):
                return self._apply(ctx, position, Outcome())
            return self._apply(ctx, position, self.conversations.keywords[meant.keyword](ctx))
        if meant.anywhere:
            tap = self._tap(ctx, meant.anywhere)
            for kind, take in self.conversations.anywhere.items():
                taken = (
                    take(ctx, tap) if kind.owns(tap.option) and kind.decode(tap.option) else None
                )
                if taken is not None:
                    return self._apply(ctx, position, taken)
            return self._apply(ctx, position, Outcome())
        home = self.conversations.home
        ctx.data, ctx.position = {}, home
        replies, position = self._apply(ctx, home, meant.start or Outcome())
        for key in meant.taps:
            step = self._step(position)
            if key not in {option.key for option in self._options(ctx, step)}:
                break  # the way there turned (registration first, nothing open): stay
            replies, position = self._apply(ctx, position, step.answer(ctx, self._tap(ctx, key)))
        if meant.typed:
            step = self._step(position)
            if step.expects != Expect.CHOICE:
                typed = replace(self._tap(ctx, ""), kind=Kind.TEXT, option=None, text=meant.typed)
                replies, position = self._apply(ctx, position, step.answer(ctx, typed))
        return replies, position

    @staticmethod
    def _tap(ctx: Context, key: str) -> Incoming:
        """Build the tap of a button by the resident of the context."""
        return Incoming(
            channel=ctx.identity.channel,
            external_id=ctx.identity.external_id,
            message_id="",
            kind=Kind.OPTION,
            option=key,
        )


@dataclass
class Record:
    """What updates leave to be written at commit, and the language to apologise in."""

    handled: list[conversations.Handled] = field(default_factory=list)
    inbox: list[int] = field(default_factory=list)  # stored deliveries handled
    language: str | None = None


def rollback(transaction: Transaction) -> None:
    """Roll back, even when the connection is already broken."""
    try:
        if transaction.is_active:
            transaction.rollback()
    except Exception:  # the connection is gone; the database rolls back by itself
        log.warning("rollback failed", exc_info=True)


def forget_failed(db: Connection, inbox_id: int) -> None:
    """Drop the stored delivery of an update that failed and was apologised for; when the
    database cannot even do that, it stays and is handled again later."""
    try:
        with db.begin():
            inbox.forget(db=db, ids=[inbox_id])
    except Exception:
        log.warning("a failed update's delivery stays stored", exc_info=True)


def merge_texts(replies: list[Reply]) -> list[Reply]:
    """Join plain text replies into the next reply, so the resident gets fewer messages."""
    merged: list[Reply] = []
    for reply in replies:
        previous = merged[-1] if merged else None
        plain = previous is not None and not (
            previous.options
            or previous.request
            or previous.image
            or previous.place
            or previous.photo
        )
        if plain and not reply.image and not reply.place and not reply.photo:
            merged[-1] = replace(reply, text=f"{previous.text}\n\n{reply.text}")
        else:
            merged.append(reply)
    return merged
