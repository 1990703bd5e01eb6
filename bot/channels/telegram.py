"""Telegram on python-telegram-bot: updates become Incoming values, Replies become messages.

Long polling by default; with TELEGRAM_WEBHOOK_URL the program's HTTP server hands webhook
updates in (bot/http.py). Nothing here knows what a step or a service is.
"""

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine as Database
from telegram import (
    Bot,
    BotCommand,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.media import MAX_PHOTO_BYTES, Media, split_ref
from bot.channels.parts import split_text
from bot.channels.telegram_reading import ReadableUpdatesRequest, read_update
from bot.inbox import Inbox
from bot.outbound import RetryLater, SendFailed, Unavailable, Unknown, Unreachable
from bot.pacing import Budget, Pacer, Priority
from bot.replying import FastPath
from handlers import hints
from handlers.engine import Engine
from handlers.i18n import LANGUAGES, normalise_language, translations
from handlers.locks import KeyedLocks
from handlers.messages import Incoming, Kind, Option, Reply, Request
from handlers.reply_data import reply_of
from storage import residents
from storage.inbox import Stored
from storage.types import utcnow

log = logging.getLogger(__name__)

# durations as timedelta (python-telegram-bot 22 warns about the old int seconds otherwise)
os.environ.setdefault("PTB_TIMEDELTA", "1")

CHANNEL = "telegram"
TEXT_LIMIT = 4096  # characters of one message
CAPTION_LIMIT = 1024  # characters of a photo caption
CALLBACK_LIMIT = 64  # bytes of a button's callback_data
SEND_ATTEMPTS = 3  # tries of one request on a network error or a 429
WAIT_OUT = 5.0  # seconds of a 429 a reply waits out itself; a longer one goes to the queue
# my_chat_member: a resident blocking the bot (kicked) or unblocking it (member)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
CONNECTIONS = 32  # HTTP connections to the Bot API for sending
CONCURRENT_UPDATES = 1024  # updates in hand at once, across all chats
POLL_TIMEOUT = timedelta(seconds=10)  # how long one getUpdates waits for news
POLL_BACKOFF_CAP = 30.0  # seconds between getUpdates tries while Telegram cannot be reached
# API calls of the reply being sent that succeeded: after the first, a retry would repeat it
PARTS_SENT: ContextVar[int] = ContextVar("parts_sent", default=0)
OUTBOUND_CONNECTIONS = 32  # HTTP connections for the queue's sends (OUTBOUND_IN_FLIGHT at most)
# what Telegram says of an account that is gone for good (it never gets a message again)
GONE = ("chat not found", "user is deactivated", "user not found")


def to_incoming(update: Update) -> Incoming | None:
    """Turn an update into an incoming message; None for what we ignore (edits and others)."""
    query = update.callback_query
    if query is not None:
        return Incoming(
            CHANNEL,
            str(query.from_user.id),
            f"c{query.id}",
            kind=Kind.OPTION,
            option=query.data or "",
            language_hint=query.from_user.language_code,
        )
    message = update.message  # edited messages are update.edited_message: never a new answer
    if message is None or message.from_user is None:
        return None
    sender = message.from_user
    base = {
        "channel": CHANNEL,
        "external_id": str(sender.id),
        "message_id": f"m{message.chat.id}:{message.message_id}",
        "language_hint": sender.language_code,
    }
    if message.text is not None:
        return Incoming(**base, text=message.text)
    if message.contact is not None:
        own = message.contact.user_id == sender.id  # someone else's card is no phone of theirs
        return Incoming(
            **base, kind=Kind.CONTACT, phone=message.contact.phone_number, contact_is_own=own
        )
    if message.location is not None:
        location = message.location
        return Incoming(
            **base, kind=Kind.LOCATION, latitude=location.latitude, longitude=location.longitude
        )
    if message.photo:  # the sizes come smallest first: keep the largest
        return Incoming(**base, kind=Kind.PHOTO, media_id=message.photo[-1].file_id)
    return Incoming(**base, kind=media_kind(message))


def media_kind(message: Message) -> Kind:
    """Name what kind of non-text message this is."""
    if message.sticker:
        return Kind.STICKER
    if message.photo:
        return Kind.PHOTO
    if message.voice or message.audio or message.video_note:
        return Kind.VOICE
    if message.video or message.animation:
        return Kind.VIDEO
    if message.document:
        return Kind.DOCUMENT
    return Kind.OTHER  # polls, dice, games, stories...


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Render options as inline buttons, one a row; None when there are none or a key is too
    long for callback_data (the numbered text then stands in)."""
    if not reply.options or any(len(o.key.encode()) > CALLBACK_LIMIT for o in reply.options):
        return None
    rows = [
        [InlineKeyboardButton(option.label, callback_data=option.key)] for option in reply.options
    ]
    return InlineKeyboardMarkup(rows)


def request_keyboard(reply: Reply) -> ReplyKeyboardMarkup:
    """Render a request for the phone number or location, with the options as plain buttons."""
    share = KeyboardButton(
        reply.request_label or "📱",
        request_contact=reply.request == Request.PHONE or None,
        request_location=reply.request == Request.LOCATION or None,
    )
    rows = [[share], *([KeyboardButton(option.label)] for option in reply.options)]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


@dataclass
class Settings:
    """What the Telegram channel needs from the program's settings."""

    token: str
    base_url: str | None = None
    # where files are downloaded from; by default the base_url's server (…/file/bot)
    base_file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    default_language: str = "id"
    rate: float = 25  # messages a second to Telegram, all chats (its documented limit: 30)
    chat_rate: float = 1  # messages a second to one chat, after a short burst
    chat_burst: float = 3
    group_rate: float = 20 / 60  # messages a second to one group (20 a minute)


def chat_budget(settings: Settings):
    """Return the (rate, burst) of one chat: a group's 20 a minute (its id is negative), a
    private chat's about one a second."""

    def of(chat: str) -> tuple[float, float]:
        if chat.startswith("-"):
            return settings.group_rate, 1.0
        return settings.chat_rate, settings.chat_burst

    return of


def file_url_of(base_url: str | None) -> str | None:
    """Return where a Bot API server at `base_url` (…/bot, or …/bot{token}) serves files
    (…/file/bot, …/file/bot{token})."""
    base = (base_url or "").rstrip("/")
    for tail in ("/bot", "/bot{token}"):
        if base.endswith(tail):
            return base.removesuffix(tail) + "/file" + tail
    return None


class TelegramChannel:
    """One bot: receives updates, asks the engine, sends the replies; and the outbound
    queue's sender for Telegram (`deliver`)."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        database: Database,
        *,
        reply_claim: str = "reply:local",
        clock=utcnow,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.database = database
        self._reply_keyboards: set[int] = set()  # chats that show a request keyboard now
        self._chats = KeyedLocks()  # one update of a chat at a time, replies in order
        self._told_groups: set[int] = set()  # groups already asked to write privately
        self._side_jobs: set[asyncio.Task] = set()
        self.inbox = Inbox(database, CHANNEL, self._take_stored, clock=clock)
        self._stored: dict[int, int] = {}  # update_id → its row in the inbox, while in hand
        self._polling: asyncio.Task | None = None
        self._offset: int | None = None  # the next getUpdates confirms everything below it
        builder = (
            Application.builder()
            .token(settings.token)
            # many at once, since an update waiting for its chat's turn holds one of these
            .concurrent_updates(CONCURRENT_UPDATES)
            .connection_pool_size(CONNECTIONS)  # replies to many residents go out side by side
            .pool_timeout(30)
            # an update the library cannot read is skipped, not fetched again and again
            .get_updates_request(ReadableUpdatesRequest(connection_pool_size=1))
        )
        file_url = settings.base_file_url or file_url_of(settings.base_url)
        if settings.base_url:
            builder = builder.base_url(settings.base_url)
        if file_url:
            builder = builder.base_file_url(file_url)
        # no python-telegram-bot Updater: it confirms updates to Telegram (the next
        # getUpdates) before they are handled; here each is stored first (bot/inbox.py)
        builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        # One budget for everything sent (bot/pacing.py): direct replies first, then the
        # queue's rows by kind. No python-telegram-bot AIORateLimiter beside it: that one
        # sleeps out a 429 and tries again on its own, with a rate of its own, hiding the 429
        # from the pacer and the queue. Here a 429 pauses the pacer and lowers its rate; the
        # queue puts its row back until retry_after without counting a try. The queue's sends
        # go through a bot of their own (their own connections).
        self.pacer = pacer or Pacer(
            Budget(settings.rate, chat_rate=settings.chat_rate, chat_burst=settings.chat_burst),
            name=CHANNEL,
            chat_budget=chat_budget(settings),
        )
        where = {"base_url": settings.base_url} if settings.base_url else {}
        if file_url:
            where["base_file_url"] = file_url
        # photos sent on another platform, for staff who work here (bot/channels/media.py)
        self.media: Media | None = None
        self.outbound_bot = Bot(
            settings.token,
            request=HTTPXRequest(connection_pool_size=OUTBOUND_CONNECTIONS, pool_timeout=30),
            **where,
        )
        self.replies = FastPath(database, reply_claim, clock)

    @property
    def bot(self):
        """Return python-telegram-bot's Bot."""
        return self.application.bot

    async def start(self) -> None:
        """Connect, register the commands, and start polling or set the webhook."""
        await self.application.initialize()
        await self.outbound_bot.initialize()
        await self.register_commands()
        if self.settings.webhook_url:
            await self.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.bot.delete_webhook()
        await self.application.start()
        await self.inbox.start()  # what an earlier process stored and did not handle
        if not self.settings.webhook_url:
            self._polling = asyncio.create_task(self._poll())
        log.info(
            "Telegram channel started (%s)", "webhook" if self.settings.webhook_url else "polling"
        )

    async def stop(self) -> None:
        """Stop taking updates, finish those in hand, and close."""
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            await self._confirm()
        await self.inbox.stop()
        if self.application.running:
            await self.application.stop()
        if self._side_jobs:  # buttons being answered
            await asyncio.gather(*self._side_jobs, return_exceptions=True)
        await self.application.shutdown()
        await self.outbound_bot.shutdown()

    async def register_commands(self) -> None:
        """List the commands in Telegram's menu, in Indonesian (default) and English."""
        for language in LANGUAGES:
            _ = translations(language).gettext
            commands = [BotCommand(name, text) for name, text in hints.commands(language, _)]
            code = None if language == self.settings.default_language else language
            try:
                await self.bot.set_my_commands(commands, language_code=code)
            except TelegramError as error:  # a convenience: the bot works without it
                log.warning("could not register the commands: %s", error)

    async def feed(self, data: dict) -> bool:
        """Store one update that came by webhook and hand it over; return False when it could
        not be stored (Telegram is answered 503 and sends it again)."""
        try:
            stored = await self.inbox.keep([(str(data["update_id"]), data)])
        except Exception:
            log.warning("a Telegram update could not be stored; Telegram sends it again")
            return False
        for entry in stored:  # none when it is stored already, and in hand
            self._take_stored(entry)
        return True

    async def _poll(self) -> None:
        """Long-poll getUpdates: store each batch, then ask for the next one, which is what
        tells Telegram the batch arrived; a batch that cannot be stored is fetched again."""
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=self._offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                )
                stored = await self.inbox.keep(
                    [(str(update.update_id), update.to_dict()) for update in updates]
                )
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("Telegram refuses the token; no more updates are fetched")
                return
            except Exception as error:  # Telegram or the database away: the same batch again
                failures += 1
                log.warning("fetching Telegram updates failed (%s)", type(error).__name__)
                await asyncio.sleep(min(POLL_BACKOFF_CAP, 0.5 * 2**failures))
                continue
            failures = 0
            if updates:
                self._offset = updates[-1].update_id + 1
            for entry in stored:
                self._take_stored(entry)

    async def _confirm(self) -> None:
        """Tell Telegram, at a stop, that the updates fetched so far arrived (all are stored)."""
        if self._offset is None:
            return
        try:
            await self.bot.get_updates(offset=self._offset, timeout=timedelta(0), limit=1)
        except TelegramError as error:  # they come again after the start, and are ignored
            log.info("could not confirm the last Telegram updates: %s", type(error).__name__)

    def _take_stored(self, stored: Stored) -> None:
        """Hand a stored update to the application; one the library cannot read is dropped."""
        update = read_update(stored.payload, self.bot)
        if update is None:
            self._spawn(self.inbox.done(stored.id))
            return
        self._stored[update.update_id] = stored.id
        self.application.update_queue.put_nowait(update)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        stored = self._stored.pop(update.update_id, None)
        taken = False  # whether the engine drops the stored update with its step
        try:
            taken = await self._on_stored(update, stored)
        finally:
            if stored is not None and not taken:
                await self.inbox.done(stored)

    async def _on_stored(self, update: Update, stored: int | None) -> bool:
        """Handle one update; return whether the engine took its stored row over."""
        chat = update.effective_chat
        if chat is None or update.effective_user is None:
            return False
        if update.callback_query is not None:  # stop the spinner now, not after earlier work
            self._spawn(self._answer_callback(update))
        # taken before anything is awaited: updates of a chat are handled, and their replies
        # sent, in the order they arrived (an apology too)
        async with self._chats.hold(chat.id):
            try:
                return await self._handle(update, chat.id, chat.type, stored)
            except Exception as error:
                log.error("Telegram update failed: %s", type(error).__name__, exc_info=error)
                if chat.type == ChatType.PRIVATE:
                    await self._apologise(update)
                return False

    def _spawn(self, coroutine) -> None:
        """Run a small side job (answering a button) without waiting for it."""
        task = asyncio.create_task(coroutine)
        self._side_jobs.add(task)
        task.add_done_callback(self._side_jobs.discard)

    async def _handle(
        self, update: Update, chat_id: int, chat_type: str, stored: int | None
    ) -> bool:
        """Handle an update of a chat; return whether the engine took its stored row."""
        if update.my_chat_member is not None:
            if chat_type == ChatType.PRIVATE:
                await self._membership_changed(update)
            return False
        if chat_type != ChatType.PRIVATE:
            if update.message is not None and chat_id not in self._told_groups:
                self._told_groups.add(chat_id)  # say it once, then stay quiet in the group
                await self._tell_group(update, chat_id)
            return False
        message = to_incoming(update)
        if message is None:
            return False
        replies = await self.engine.handle(replace(message, inbox_id=stored))
        await self.send(chat_id, str(update.effective_user.id), replies)
        return True

    async def _membership_changed(self, update: Update) -> None:
        """Mark a resident unreachable the moment they block the bot, reachable on unblocking."""
        status = update.my_chat_member.new_chat_member.status
        if status not in (ChatMember.BANNED, ChatMember.MEMBER):
            return
        blocked = status == ChatMember.BANNED  # "kicked"
        log.info("a Telegram resident %s the bot", "blocked" if blocked else "unblocked")
        with self.database.begin() as db:
            residents.set_unreachable(
                db=db,
                channel=CHANNEL,
                external_id=str(update.effective_user.id),
                at=utcnow() if blocked else None,
            )

    async def _tell_group(self, update: Update, chat_id: int) -> None:
        """Ask a group to write privately; in a forum, in the topic it was written in."""
        _ = translations(self._language(update)).gettext
        message = update.message
        topic = message.message_thread_id if message.is_topic_message else None
        try:
            await self._call(
                self.bot.send_message,
                chat_id,
                hints.private_chat_hint(_),
                message_thread_id=topic,
            )
        except ChatMigrated:  # became a supergroup: its next message comes from the new id
            log.info("a Telegram group moved to a supergroup; not answered")
            self._told_groups.discard(chat_id)

    async def _answer_callback(self, update: Update) -> None:
        """Stop the button's spinner at once, and take the buttons off the pressed message."""
        query = update.callback_query
        try:
            await query.answer()
            if query.message is not None and getattr(query.message, "reply_markup", None):
                await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError as error:  # an old query or message: nothing to tidy
            log.debug("callback tidy-up failed: %s", type(error).__name__)

    def _language(self, update: Update) -> str:
        user = update.effective_user
        code = normalise_language(user.language_code if user else None)
        return code or self.settings.default_language

    async def send(self, chat_id: int, external_id: str, replies: list[Reply]) -> None:
        """Send the replies in order (those queued with their step under this process's
        claim, recorded as sent; one that cannot go now is left to the queue); stop when
        Telegram says the resident cannot be reached."""

        async def send_one(reply: Reply) -> None:
            try:
                await self._send_whole(chat_id, reply)
            except Unreachable:
                log.info("a Telegram resident blocked the bot or left; marked unreachable")
                await asyncio.to_thread(self._mark_unreachable, external_id)
                raise

        await self.replies.send(replies, send_one)

    async def _send_whole(self, chat_id: int, reply: Reply) -> None:
        """Send one reply, its parts in order; Telegram's errors become the queue's (after
        the first part, a failure is final: sending the reply again would repeat it)."""
        parts = PARTS_SENT.set(0)
        try:
            await self._send_reply(chat_id, reply)
        except TelegramError as error:
            failure = queue_error(error)
            done = PARTS_SENT.get()
            if done and not isinstance(failure, Unreachable):
                reason = f"{done} parts sent; then {error.message}"
                raise SendFailed(reason[:200], transient=False) from error
            raise failure from error
        finally:
            PARTS_SENT.reset(parts)

    def _mark_unreachable(self, external_id: str) -> None:
        with self.database.begin() as db:
            residents.set_unreachable(db=db, channel=CHANNEL, external_id=external_id, at=utcnow())

    async def download(self, file_id: str) -> bytes | None:
        """Return the bytes of a file a resident sent here (a complaint's photo)."""
        found = await self.bot.get_file(file_id)
        if found.file_size and found.file_size > MAX_PHOTO_BYTES:
            return None
        return bytes(await found.download_as_bytearray())

    async def _send_picture(self, chat_id: int, ref: str) -> None:
        """Show staff a resident's photo: by its file id when it was sent here, else fetched
        from its platform; a photo that cannot be had is left out (the text says there is
        one)."""
        source = split_ref(ref)
        if source is None:
            return
        channel, file_id = source
        photo = file_id if channel == CHANNEL else None
        if photo is None and self.media is not None:
            photo = await self.media.fetch(ref)
        if photo is None:
            return
        try:
            await self._call(self.bot.send_photo, chat_id, photo=photo)
        except Forbidden:
            raise  # the chat is gone: nothing else can be sent either
        except TelegramError as error:  # gone from Telegram, not a picture, a timeout…
            log.info("a resident's photo could not be shown: %s", error.message)

    async def _send_reply(self, chat_id: int, reply: Reply) -> None:
        inline = inline_keyboard(reply)
        if reply.photo:
            await self._send_picture(chat_id, reply.photo)
        if reply.image is not None:
            fits = len(reply.text) <= CAPTION_LIMIT and not reply.request
            caption, markup = (reply.text, inline) if fits else (None, None)
            await self._call(
                self.bot.send_photo,
                chat_id,
                photo=reply.image,
                caption=caption,
                reply_markup=markup,
            )
            if fits and (inline or not reply.options):
                return
        text = reply.text if inline or not reply.options or reply.request else reply.numbered()
        chunks = split_text(text, TEXT_LIMIT)
        for number, chunk in enumerate(chunks, 1):
            last = number == len(chunks)
            if last and reply.request:
                await self._send_text(chat_id, chunk, request_keyboard(reply))
                self._reply_keyboards.add(chat_id)
            elif chat_id in self._reply_keyboards:
                # take the request keyboard away; inline buttons follow by an edit
                sent = await self._send_text(chat_id, chunk, ReplyKeyboardRemove())
                self._reply_keyboards.discard(chat_id)
                if last and inline is not None:
                    await self._add_buttons(chat_id, sent.message_id, reply, inline)
            else:
                await self._send_text(chat_id, chunk, inline if last else None)
        if reply.place is not None:  # name and address belong in the reply's text
            await self._call(
                self.bot.send_location,
                chat_id,
                latitude=reply.place.latitude,
                longitude=reply.place.longitude,
            )

    async def _add_buttons(
        self, chat_id: int, message_id: int, reply: Reply, inline: InlineKeyboardMarkup
    ) -> None:
        """Put inline buttons on a sent message; if Telegram refuses, send them on their own."""
        try:
            await self._call(
                self.bot.edit_message_reply_markup,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=inline,
                idempotent=True,
            )
        except TelegramError as error:
            log.info("adding buttons by edit failed (%s); sending them", type(error).__name__)
            choices = "\n".join(f"{n}. {o.label}" for n, o in enumerate(reply.options, 1))
            await self._send_text(chat_id, choices, inline)

    async def _send_text(self, chat_id: int, text: str, markup=None) -> Message:
        return await self._call(self.bot.send_message, chat_id, text, reply_markup=markup)

    async def _call(self, method, *args, idempotent: bool = False, **kwargs):
        """Make one Bot API call in its turn (bot/pacing.py), again after a network error that
        cannot have delivered it (an edit or an answer may always be repeated; a new message
        only if it never left); a 429 slows the pacer down and a short one is waited out, in
        the pacer's next slot after the pause."""
        chat = kwargs.get("chat_id", args[0] if args else None)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            await self.pacer.turn(Priority.REPLY, None if chat is None else str(chat))
            try:
                answer = await method(*args, **kwargs)
                PARTS_SENT.set(PARTS_SENT.get() + 1)
                return answer
            except RetryAfter as error:
                seconds = seconds_of(error)
                self.pacer.slow_down(seconds)
                if attempt == SEND_ATTEMPTS or seconds > WAIT_OUT:
                    raise  # a reply goes to the queue then; a later part is given up
                log.info("Telegram asked to wait %g s; then trying again (%d)", seconds, attempt)
                continue  # in the pacer's next slot, after the pause
            except (Forbidden, BadRequest):
                raise
            except NetworkError as error:
                if attempt == SEND_ATTEMPTS or not (idempotent or never_arrived(error)):
                    raise
                log.info("Telegram network error; trying again (%d)", attempt)
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    async def deliver(
        self,
        external_id: str,
        text: str,
        options: Sequence[dict[str, str]] | None = None,
        *,
        kind: str = "",
        last_inbound_at: datetime | None = None,
        language: str = "",
        reply: dict | None = None,
    ) -> str | None:
        """Send one message of the outbound queue, its options as buttons (a direct reply
        left to the queue as the reply it is); Telegram's errors become the queue's."""
        chat_id = int(external_id)  # a resident's private chat has their user id
        if reply is not None:
            async with self._chats.hold(chat_id):
                await self._send_whole(chat_id, reply_of(reply))
            return None
        reply = Reply(text, tuple(Option(o["key"], o["label"]) for o in options or ()))
        inline = inline_keyboard(reply)
        chunks = split_text(
            reply.text if inline or not reply.options else reply.numbered(), TEXT_LIMIT
        )
        markups = [None] * (len(chunks) - 1) + [inline]
        # after the chat's update in hand and its replies, never in the middle of them
        async with self._chats.hold(chat_id):
            await self.pacer.turn(Priority.REPLY, str(chat_id))  # the drain's turn, paid
            try:
                first = await self.outbound_bot.send_message(
                    chat_id, chunks[0], reply_markup=markups[0]
                )
            except TelegramError as error:
                if isinstance(error, RetryAfter):
                    self.pacer.slow_down(seconds_of(error))
                raise queue_error(error) from error
            return await self._send_rest(chat_id, chunks, markups, first)

    async def _send_rest(self, chat_id: int, chunks: list[str], markups: list, first) -> str:
        """Send the parts of a queued message after its first; return the first's id."""
        for number, chunk in enumerate(chunks[1:], 2):
            # the first part is out: the rest goes like a reply (429s waited out, network
            # errors retried when safe), since a retry of the row would repeat the first
            try:
                await self._call(
                    self.bot.send_message, chat_id, chunk, reply_markup=markups[number - 1]
                )
            except TelegramError as error:
                failure = queue_error(error)
                if isinstance(failure, Unreachable):
                    raise failure from error
                reason = f"parts 1-{number - 1} of {len(chunks)} sent; then {error.message}"
                raise SendFailed(reason, transient=False) from error
        return str(first.message_id)

    async def _apologise(self, update: Update) -> None:
        """Tell a resident that something went wrong on our side, and what to do."""
        _ = translations(self._language(update)).gettext
        try:
            await self._call(self.bot.send_message, update.effective_chat.id, hints.error_hint(_))
        except TelegramError:
            log.warning("could not tell a resident about the failure")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what failed outside a handled update (never who or what they wrote)."""
        error = context.error
        log.error("Telegram error: %s", type(error).__name__, exc_info=error)
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is not None and chat.type == ChatType.PRIVATE:
            await self._apologise(update)


def never_arrived(error: NetworkError) -> bool:
    """Tell whether a failed request surely never reached Telegram, so resending is safe."""
    cause = error.__cause__
    if cause is None:  # Telegram itself answered with a server error (502, 504...)
        return not isinstance(error, TimedOut)
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def seconds_of(error: RetryAfter) -> float:
    """Return how long Telegram asked to wait."""
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def queue_error(error: TelegramError) -> Exception:
    """Turn a failed send into what the outbound queue does next."""
    if isinstance(error, RetryAfter):
        return RetryLater(seconds_of(error))
    if isinstance(error, Forbidden):  # blocked by the user, or kicked out
        return Unreachable(error.message)
    if isinstance(error, BadRequest):  # before NetworkError: BadRequest is one
        if any(words in error.message.lower() for words in GONE):
            return Unreachable(error.message)
        return SendFailed(error.message, transient=False)  # the same request fails again
    if isinstance(error, NetworkError):  # TimedOut is one too
        cause = error.__cause__
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            # refused, no DNS answer, no connection in time: it never left, Telegram is away
            return Unavailable(f"no connection ({type(cause).__name__})")
        if isinstance(cause, httpx.HTTPError) or isinstance(error, TimedOut):
            # it left and no answer came: it may have arrived, and goes again (a copy is the
            # lesser harm than a message missed)
            return Unknown(f"no answer, it may have arrived ({type(cause or error).__name__})")
        # Telegram (or a proxy before it) answered with a server error (502, 504...)
        return SendFailed(error.message, transient=True, server_error=True)
    return SendFailed(error.message, transient=True)  # another answer, retried
