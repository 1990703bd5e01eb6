"""WhatsApp on the Cloud API: a thin adapter between Meta's webhook and Graph API and the
engine. It reads the webhook (signed with the app secret), hands each message to the engine,
sends the replies, records the delivery reports on the outbound rows, and is the outbound
queue's sender for WhatsApp, free-form inside the 24-hour window and as an approved template
outside it (or held back with the reason when no template is configured).

httpx directly rather than a client library: what is needed is one POST with a few body shapes
and one error shape, and WHATSAPP_API_BASE_URL must point it at another Graph API host (pywa,
the candidate, sets the host itself).
"""

import asyncio
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine as Database

from bot.channels.media import MAX_PHOTO_BYTES, Media
from bot.channels.whatsapp_payloads import (
    BSUID,
    CHANNEL,
    TEMPLATE_OF_KIND,
    StatusReport,
    Template,
    image_body,
    read_webhook,
    render,
    signature_ok,
    template_body,
    text_body,
)
from bot.channels.whatsapp_shapes import misshapen
from bot.inbox import Inbox
from bot.json_bodies import read_json
from bot.outbound import Held, RetryLater, SendFailed, Unavailable, Unknown, Unreachable
from bot.pacing import Budget, Pacer, Priority
from bot.replying import FastPath
from handlers import hints
from handlers.engine import Engine
from handlers.i18n import translations
from handlers.locks import KeyedLocks
from handlers.messages import Incoming, Option, Reply
from handlers.reply_data import incoming_data, incoming_of, reply_of
from storage import outbox, residents
from storage.inbox import Stored
from storage.outbox import Delivery as Reported
from storage.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
WINDOW = timedelta(hours=24)  # after the resident's last message, free-form messages may go
WINDOW_MARGIN = timedelta(minutes=10)  # a send taking long, clocks apart: the template then
THROTTLED = {130429}  # the number's throughput: the whole queue waits
PAIR_LIMITED = {131056}  # too many to one resident: that message waits
WINDOW_CLOSED = {131047}
UNDELIVERABLE = {131026}  # not on WhatsApp, blocked us, terms not accepted
ACCOUNT = {190, 368, 131048}  # token, policy or quality: nothing goes until someone acts
TRANSIENT = {1, 2, 131000}
THROTTLE_WAIT = 10.0  # seconds the queue waits after a throughput refusal
THROTTLE_PAUSE = 1.0  # seconds every send waits after one (the pacer lowers its rate too)
PAIR_WAIT = 6.0  # seconds one resident's next message waits after a pair-rate refusal
ACCOUNT_WAIT = 300.0
REPLY_TRIES = 4  # a direct answer refused for throughput is tried again this often
# failures of a request that surely never reached the Graph API: repeating it is safe
NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
PNG = b"\x89PNG"  # how a PNG file starts; other pictures go as JPEG
IMAGE_LIMIT = 5 * 1024 * 1024  # the largest picture WhatsApp takes
REPORT_RETRIES = (0.5, 1.0, 2.0, 4.0)  # seconds between tries to match a failure report


@dataclass(frozen=True)
class Settings:
    """What the WhatsApp channel needs from the program's settings."""

    token: str
    phone_number_id: str
    app_secret: str
    verify_token: str
    base_url: str = DEFAULT_BASE_URL
    api_version: str = "v23.0"
    rate: float = 80  # messages a second from the business number (Meta's default)
    # Meta's pair rate: about one message every 6 s to one resident, after a burst (45 in 6 s)
    chat_rate: float = 1 / 6
    chat_burst: float = 45
    templates: dict[tuple[str, str], Template] = field(default_factory=dict)
    default_language: str = "id"


class GraphError(Exception):
    """The Graph API refused a request; `code` is what to act on."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"{code} {message}".strip())
        self.status = status
        self.code = code
        self.message = message


class WhatsAppChannel:
    """One business number: the webhook's messages to the engine and the answers back, and
    the outbound queue's sender for WhatsApp (`deliver`)."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        database: Database,
        *,
        clock=utcnow,
        reply_claim: str = "reply:local",
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.database = database
        self.clock = clock
        # the number's one budget: direct answers first, then the queue (bot/pacing.py)
        self.pacer = pacer or Pacer(
            Budget(settings.rate, chat_rate=settings.chat_rate, chat_burst=settings.chat_burst),
            name=CHANNEL,
        )
        self._chats = KeyedLocks()  # one message of a resident at a time, answers in order
        self._jobs: set[asyncio.Task] = set()
        self._told_groups: set[str] = set()  # groups already asked to write privately
        self._client: httpx.AsyncClient | None = None
        self.accepting = False
        self.inbox = Inbox(database, CHANNEL, self._take_stored, clock=clock)
        self.replies = FastPath(database, reply_claim, clock)
        # photos sent on another platform, for staff who work here (bot/channels/media.py)
        self.media: Media | None = None

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the connection pool; the webhook takes deliveries from now on."""
        self._client = httpx.AsyncClient(
            base_url=self.settings.base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {self.settings.token}"},
            timeout=httpx.Timeout(20, connect=5),
            limits=httpx.Limits(max_connections=32),
        )
        self.accepting = True
        await self.inbox.start()  # what an earlier process stored and did not handle
        log.info("WhatsApp channel started (webhook)")

    async def stop(self) -> None:
        """Refuse new deliveries (Meta sends them again), finish those in hand, and close."""
        self.accepting = False
        await self.inbox.stop()
        if self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    # --- the webhook ----------------------------------------------------------------------

    def verify(self, mode: str | None, token: str | None, challenge: str | None) -> str | None:
        """Answer Meta's subscription check: the challenge when the verify token matches."""
        expected = self.settings.verify_token
        if mode != "subscribe" or not token or not challenge or not expected:
            return None
        return challenge if hmac.compare_digest(token.encode(), expected.encode()) else None

    async def receive(self, body: bytes, signature: str | None) -> int:
        """Take one webhook delivery: check its signature, store its messages, then handle
        them in the background. Return the HTTP status to answer: 200 once the messages are
        stored, 503 when they could not be (Meta delivers them again)."""
        if not signature:
            return 401
        if not signature_ok(body, signature, self.settings.app_secret):
            return 403
        payload = read_json(body)  # None: not JSON, or nested past any of Meta's
        if payload is None:
            return 400
        where = misshapen(payload)
        if where is not None:
            log.warning("a WhatsApp delivery refused: the wrong type of value at %s", where)
            return 400
        if not self.accepting:
            return 503  # stopping: Meta delivers it again, to us or to the next process
        try:
            delivery = read_webhook(payload, self.settings.phone_number_id)
        except Exception as error:  # the outline held, and still: a shape not foreseen
            log.warning("a WhatsApp delivery could not be read (%s)", type(error).__name__)
            return 400
        aliases = dict(delivery.aliases)
        entries = [
            (
                message.message_id,
                {"message": incoming_data(message), "alias": aliases.get(message.external_id)},
            )
            for message in delivery.messages
        ]
        try:
            stored = await self.inbox.keep(entries)
        except Exception:
            log.warning("a WhatsApp delivery could not be stored; Meta delivers it again")
            return 503
        for entry in stored:  # started in arrival order: answered in it too
            self._take_stored(entry)
        for report in delivery.statuses:
            self._spawn(self._report(report))
        for group in dict.fromkeys(delivery.groups):
            if group not in self._told_groups:
                self._told_groups.add(group)  # say it once, then stay quiet in the group
                self._spawn(self._tell_group(group))
        return 200

    async def _tell_group(self, group: str) -> None:
        """Ask a group to write privately, as Telegram groups are asked."""
        _ = translations(self.settings.default_language).gettext
        try:
            await self._post(group, text_body(hints.private_chat_hint(_)))
        except (GraphError, httpx.HTTPError) as error:
            log.info("could not answer a WhatsApp group: %s", type(error).__name__)

    def _take_stored(self, stored: Stored) -> None:
        """Handle a stored message in the background; the engine drops it with its step."""
        message = incoming_of(stored.payload["message"], stored.id)
        self._spawn(self._handle(message, stored.payload.get("alias")))

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _handle(self, message: Incoming, alias: str | None = None) -> None:
        async with self._chats.hold(message.external_id):
            try:
                replies = await self.engine.handle(message)
                if alias is not None:  # known by the number now: by the business id as well
                    await asyncio.to_thread(self._add_alias, message.external_id, alias)
                if replies:
                    language = await asyncio.to_thread(self._language, message.external_id)
                    await self.send(message.external_id, replies, language)
            except Exception as error:
                log.error("WhatsApp message failed: %s", type(error).__name__, exc_info=error)
                await self._apologise(message.external_id)

    def _add_alias(self, external_id: str, alias: str) -> None:
        with self.database.begin() as db:
            residents.add_alias(
                db=db, channel=CHANNEL, external_id=external_id, alias=alias, now=self.clock()
            )

    def _language(self, external_id: str) -> str:
        with self.database.connect() as db:
            found = residents.language_of_identity(db=db, channel=CHANNEL, external_id=external_id)
        return found or self.settings.default_language

    async def _apologise(self, wa_id: str) -> None:
        _ = translations(self.settings.default_language).gettext
        try:
            await self._post(wa_id, {"type": "text", "text": {"body": hints.error_hint(_)}})
        except (GraphError, httpx.HTTPError):
            log.warning("could not tell a resident about the failure")

    async def _report(self, report: StatusReport) -> None:
        """Record one delivery report. A failure can be reported before the drain has written
        the message's id (it records outcomes one after another): such a report is tried
        again a few times."""
        for wait in (*REPORT_RETRIES, None):
            try:
                found = await asyncio.to_thread(self._record_status, report)
            except Exception:
                log.exception("a WhatsApp status report could not be recorded")
                return
            if found or wait is None or report.status != Reported.FAILED:
                return
            await asyncio.sleep(wait)

    def _record_status(self, report: StatusReport) -> bool:
        """Write a delivery report on its outbound row; a message refused for the closed
        window goes again (as a template), one undeliverable marks the number unreachable.
        Return whether a row had the message's id."""
        try:
            delivery = Reported(report.status)
        except ValueError:
            return True  # "deleted", "warning" and newer words: nothing to record
        now = self.clock()
        with self.database.begin() as db:
            row = outbox.record_delivery(
                db=db, platform_id=report.message_id, delivery=delivery, at=now, error=report.error
            )
            if row is None or delivery != Reported.FAILED:
                return row is not None  # not (yet) ours, or good news
            if report.error_code in WINDOW_CLOSED:
                residents.window_closed(
                    db=db, channel=CHANNEL, external_id=report.recipient, before=row.sent_at or now
                )
                reason = f"{report.error}: again as a template"
                outbox.send_again(db=db, outbound_id=row.id, now=now, reason=reason)
            elif report.error_code in UNDELIVERABLE:
                residents.set_unreachable(
                    db=db, channel=CHANNEL, external_id=report.recipient, at=now
                )
        return True

    # --- sending --------------------------------------------------------------------------

    async def _post(self, wa_id: str, body: dict) -> str:
        """Send one message body; return WhatsApp's id for it, or raise GraphError (or httpx's
        errors when no answer came)."""
        if self._client is None:
            raise RuntimeError("the WhatsApp channel is not started")
        path = f"/{self.settings.api_version}/{self.settings.phone_number_id}/messages"
        message = {"messaging_product": "whatsapp", **recipient(wa_id)}
        await self.pacer.turn(Priority.REPLY, wa_id)  # the queue's rows come paid, by priority
        response = await self._client.post(path, json={**message, **body})
        try:
            return message_id(response)
        except GraphError as error:
            if error.code in THROTTLED:
                self.pacer.slow_down(THROTTLE_PAUSE)
            elif error.code in PAIR_LIMITED:
                self.pacer.slow_down(PAIR_WAIT, chat=wa_id)
            raise

    async def _upload(self, image: bytes) -> str:
        """Upload a picture (a PNG chart, or a JPEG photo); return its media id."""
        path = f"/{self.settings.api_version}/{self.settings.phone_number_id}/media"
        kind, name = (
            ("image/png", "chart.png") if image.startswith(PNG) else ("image/jpeg", "foto.jpg")
        )
        files = {"file": (name, image, kind)}
        data = {"messaging_product": "whatsapp", "type": kind}
        response = await self._client.post(path, data=data, files=files)
        if response.status_code >= 400:
            raise graph_error(response)
        return str(response.json()["id"])

    async def send(self, wa_id: str, replies: list[Reply], language: str) -> None:
        """Send a resident the answers to what they wrote, in order (they just wrote, so the
        window is open; those queued with their step are recorded as sent, and one that
        cannot go now is left to the queue); stop when WhatsApp says they cannot be
        reached."""

        async def send_one(reply: Reply) -> None:
            try:
                await self._send_whole(wa_id, reply, language)
            except Unreachable:
                await asyncio.to_thread(self._mark_unreachable, wa_id)
                raise

        await self.replies.send(replies, send_one)

    async def _send_whole(self, wa_id: str, reply: Reply, language: str) -> None:
        """Send one reply, its parts in order; WhatsApp's errors become the queue's (after
        the first part, a failure is final: sending the reply again would repeat it)."""
        bodies = await self._bodies(reply, language)
        for number, body in enumerate(bodies, 1):
            try:
                await self._answer(wa_id, body)
            except (GraphError, httpx.HTTPError) as error:
                failure = (
                    queue_error(error) if isinstance(error, GraphError) else network_error(error)
                )
                if number == 1 or isinstance(failure, Unreachable):
                    raise failure from error
                reason = f"parts 1-{number - 1} of {len(bodies)} sent; then {error}"
                raise SendFailed(reason[:200], transient=False) from error

    async def _bodies(self, reply: Reply, language: str) -> list[dict]:
        """Render a reply; a picture (a chart, or a resident's photo shown to staff) goes
        first, uploaded."""
        bodies = render(reply, language)
        if reply.image is not None:
            return [image_body(await self._upload(reply.image), ""), *bodies]
        if not reply.photo or self.media is None:
            return bodies
        # a resident's photo shown to staff: left out when it cannot be had or taken
        picture = await self.media.fetch(reply.photo)
        if picture is None or len(picture) > IMAGE_LIMIT:
            return bodies
        try:
            media_id = await self._upload(picture)
        except (GraphError, httpx.HTTPError, KeyError, ValueError) as error:
            log.info("a resident's photo could not be uploaded: %s", type(error).__name__)
            return bodies
        return [image_body(media_id, ""), *bodies]

    async def download(self, media_id: str) -> bytes | None:
        """Return the bytes of a picture a resident sent here: its URL first, then the file
        (both with the access token; Meta keeps them for a while only)."""
        found = await self._client.get(f"/{self.settings.api_version}/{media_id}")
        if found.status_code != 200:
            log.info("a WhatsApp photo is no longer available (%d)", found.status_code)
            return None
        described = found.json()
        if int(described.get("file_size") or 0) > MAX_PHOTO_BYTES:
            return None
        content = await self._client.get(described["url"])
        kind = content.headers.get("content-type", "")
        if content.status_code != 200 or not content.content or not kind.startswith("image/"):
            log.info("a WhatsApp photo could not be downloaded (%d)", content.status_code)
            return None
        return content.content

    async def _answer(self, wa_id: str, body: dict) -> str:
        """Send one part of a direct answer; throughput refusals, and connections that could
        not be made (the request never left), are waited out a few times."""
        for attempt in range(1, REPLY_TRIES + 1):
            try:
                return await self._post(wa_id, body)
            except GraphError as error:
                if error.code not in THROTTLED | PAIR_LIMITED or attempt == REPLY_TRIES:
                    raise
            except NEVER_LEFT:
                if attempt == REPLY_TRIES:
                    raise
                log.info("no connection to WhatsApp; trying again (%d)", attempt)
            await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def _mark_unreachable(self, wa_id: str) -> None:
        with self.database.begin() as db:
            residents.set_unreachable(db=db, channel=CHANNEL, external_id=wa_id, at=self.clock())

    # --- the outbound queue's sender ------------------------------------------------------

    def window_open(self, last_inbound_at: datetime | None) -> bool:
        """Tell whether a free-form message may go to someone who last wrote then."""
        if last_inbound_at is None:
            return False
        return self.clock() - last_inbound_at < WINDOW - WINDOW_MARGIN

    async def deliver(
        self,
        external_id: str,
        text: str,
        options: Sequence[dict[str, str]] | None = None,
        *,
        kind: str = "",
        last_inbound_at: datetime | None = None,
        language: str = "id",
        reply: dict | None = None,
    ) -> str | None:
        """Send one message of the outbound queue: free-form inside the window, else as the
        template for its kind (a direct reply left to the queue as the reply it is, inside
        the window); WhatsApp's errors become the queue's. Return its message id."""
        # after the resident's message in hand and its answers, never in the middle of them
        async with self._chats.hold(external_id):
            if reply is not None and self.window_open(last_inbound_at):
                await self._send_whole(external_id, reply_of(reply), language)
                return None
            return await self._deliver(external_id, text, options, kind, last_inbound_at, language)

    async def _deliver(
        self,
        external_id: str,
        text: str,
        options: Sequence[dict[str, str]] | None,
        kind: str,
        last_inbound_at: datetime | None,
        language: str,
    ) -> str | None:
        if not self.window_open(last_inbound_at):
            return await self._as_template(external_id, text, options, kind, language, "outside")
        choices = tuple(
            Option(o["key"], o["label"], short=o.get("short", "")) for o in options or ()
        )
        bodies = render(Reply(text, choices), language)
        try:
            first = await self._post(external_id, bodies[0])
        except GraphError as error:
            if error.code in WINDOW_CLOSED:  # our idea of the window was wrong
                return await self._as_template(
                    external_id, text, options, kind, language, "closed"
                )
            raise queue_error(error) from error
        except httpx.HTTPError as error:
            raise network_error(error) from error
        for number, body in enumerate(bodies[1:], 2):
            try:  # the first part is out: the rest goes like an answer, never a repeat
                await self._answer(external_id, body)
            except (GraphError, httpx.HTTPError) as error:
                reason = f"parts 1-{number - 1} of {len(bodies)} sent; then {error}"
                raise SendFailed(reason[:200], transient=False) from error
        return first

    async def _as_template(
        self,
        wa_id: str,
        text: str,
        options: Sequence[dict[str, str]] | None,
        kind: str,
        language: str,
        why: str,
    ) -> str:
        """Send the message as the approved template of its kind (in the resident's language,
        else the default one), or hold it with the reason."""
        window = "outside the 24-hour window" if why == "outside" else "the window had closed"
        if options:  # a template cannot carry its buttons (a rating's stars): when they write
            raise Held(f"{window}; its buttons cannot go in a template")
        template_kind = TEMPLATE_OF_KIND.get(kind, "status")
        templates = self.settings.templates
        template = templates.get((template_kind, language)) or templates.get(
            (template_kind, self.settings.default_language)
        )
        if template is None:
            raise Held(f"{window}; no '{template_kind}' template for '{language}' is configured")
        body = template_body(template, text)
        if body is None:
            raise Held(f"{window}; too long for the '{template.name}' template")
        try:
            return await self._post(wa_id, body)
        except GraphError as error:
            raise queue_error(error) from error
        except httpx.HTTPError as error:
            raise network_error(error) from error


def recipient(wa_id: str) -> dict[str, str]:
    """Return whom a message goes to: a phone number as `to`, a business-scoped user id (a
    user known by a username only) as `recipient`, a group by its id."""
    if wa_id.isdigit():
        return {"recipient_type": "individual", "to": wa_id}
    if BSUID.fullmatch(wa_id):
        return {"recipient_type": "individual", "recipient": wa_id}
    return {"recipient_type": "group", "to": wa_id}


def message_id(response: httpx.Response) -> str:
    """Return the id WhatsApp gave a sent message, or raise its error."""
    if response.status_code >= 400:
        raise graph_error(response)
    try:
        return str(response.json()["messages"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise GraphError(response.status_code, None, "an answer without a message id") from None


def graph_error(response: httpx.Response) -> GraphError:
    """Read the Graph API's error answer."""
    try:
        error = response.json()["error"]
        code = int(error.get("code")) if str(error.get("code", "")).isdigit() else None
        details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return GraphError(response.status_code, None, f"HTTP {response.status_code}")
    return GraphError(response.status_code, code, str(details)[:150])


def queue_error(error: GraphError) -> Exception:
    """Turn a refused send into what the outbound queue does next."""
    if error.code in THROTTLED:
        return RetryLater(THROTTLE_WAIT)
    if error.code in ACCOUNT:
        log.error("WhatsApp refuses the business account (%s); the queue waits", error)
        return RetryLater(ACCOUNT_WAIT)
    if error.code in UNDELIVERABLE:
        return Unreachable(str(error)[:200])
    if error.code in TRANSIENT or error.status >= 500:  # Meta's own trouble: a run, an outage
        return SendFailed(str(error)[:200], transient=True, server_error=True)
    if error.code in PAIR_LIMITED:
        return SendFailed(str(error)[:200], transient=True)  # this one waits and goes again
    return SendFailed(str(error)[:200], transient=False)  # the same request fails again


def network_error(error: httpx.HTTPError) -> Exception:
    """A send without an answer: the platform out of reach when it surely never left (the
    queue pauses), else it may have arrived (it goes again, counted as a doubt)."""
    if isinstance(error, NEVER_LEFT):
        return Unavailable(f"no connection ({type(error).__name__})")
    return Unknown(f"no answer, it may have arrived ({type(error).__name__})")
