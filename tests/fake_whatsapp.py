"""An in-process fake of the WhatsApp Cloud API (Meta's Graph API) over real HTTP on 127.0.0.1,
and builders of signed webhook deliveries over the real-shaped JSON in tests/fixtures/whatsapp.

The adapter under test is pointed at ``fake.base_url`` (what WHATSAPP_API_BASE_URL holds) and
posts each message to ``{base_url}/{version}/{phone_number_id}/messages`` with
``Authorization: Bearer {token}``, as it would to https://graph.facebook.com. The fake answers
as the Graph API does: ``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid..."}]}``, or an HTTP error with ``{"error": {"message", "type",
"code", "error_data": {"messaging_product", "details"}, "fbtrace_id"}}``. Every accepted
message is in ``fake.sent``; every request, accepted or not, in ``fake.requests``.

Controls, like the fake Bot API's: ``fail_next`` (scripted Graph errors: 130429, 131056,
131047, 131026, 131000, ...), ``limit_rate`` (130429 beyond N messages a second),
``limit_pair_rate`` (131056 beyond N a second to one recipient), ``limit_window`` and
``limit_pair_window`` (the same as sliding windows, tests/fake_limits.py), ``enforce_window`` (the
24-hour customer-service window: free-form messages to anyone outside it fail with 131047)
and ``templates`` (approved templates and their number of body parameters). Time comes from
the ``clock`` given to the constructor, so a test moves it instead of sleeping.

Webhooks go the other way (Meta -> our app); the module-level helpers build them:
``webhook_payload(kind, **overrides)`` loads a fixture with a fresh message id and the current
time, ``webhook_body`` serialises it as Meta does (compact, non-ASCII escaped), ``sign`` gives
the ``X-Hub-Signature-256`` value and ``signed_webhook`` all three at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import functools
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fake_faults import Delivered, Faults
from tests.fake_limits import SlidingWindow, Windows, window_of

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
TOKEN = "EAAGm0PX4ZCpsBO-TEST-TOKEN"
PHONE_NUMBER_ID = "104857362918273"  # the business number's id in the fixtures
DISPLAY_PHONE_NUMBER = "6281100001111"
WABA_ID = "102938475610293"
WA_ID = "6281234567890"  # Siti Rahayu, the resident who writes in the fixtures
APP_SECRET = "test-app-secret"  # WHATSAPP_APP_SECRET of the tests
API_VERSION = "v23.0"

JSON = dict[str, Any]

# HTTP status of a Graph error by its code (the code is what a client should branch on):
# throttling 429, authentication 401, permissions and integrity 403, server side 5xx, else 400.
_STATUS_BY_CODE = {
    0: 401,
    190: 401,
    4: 429,
    80007: 429,
    130429: 429,
    131056: 429,
    10: 403,
    200: 403,
    368: 403,
    130497: 403,
    131031: 403,
    1: 500,
    131000: 500,
    2: 503,
}
_TITLES = {
    1: "API Unknown",
    2: "API Service",
    4: "API Too Many Calls",
    100: "Invalid parameter",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131051: "Unsupported message type",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    130429: "Rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    368: "Temporarily blocked for policies violations",
}
_DETAILS = {
    130429: "Message failed to send because there were too many messages sent from this phone "
    "number in a short period of time",
    131056: "Message failed to send because there were too many messages sent from this phone "
    "number to the same phone number in a short period of time",
    131047: "Message failed to send because more than 24 hours have passed since the customer "
    "last replied to this number.",
    131026: "Message Undeliverable.",
    131000: "Something went wrong",
}
FREE_FORM_TYPES = frozenset({"text", "interactive", "location", "image"})
_VERSION = re.compile(r"v\d+\.\d+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,30}")
_BSUID = re.compile(r"[A-Z]{2}(\.[A-Za-z0-9]{1,128}){1,2}")  # a business-scoped user id


class GraphError(Exception):
    """A request the Graph API refuses: raised by the validation, answered as JSON."""

    def __init__(self, code: int, details: str, status: int | None = None) -> None:
        super().__init__(f"({code}) {details}")
        self.code, self.details = code, details
        self.status = status if status is not None else _STATUS_BY_CODE.get(code, 400)


@dataclass
class Call:
    """One request received by the fake, in arrival order."""

    path: str
    body: Any
    at: float
    status: int = 200
    error_code: int | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 400


@dataclass
class SentMessage:
    """One message the fake accepted."""

    to: str  # the wa_id it went to (digits only)
    type: str
    payload: JSON  # the request body as the client sent it
    id: str  # the wamid the fake answered
    at: float

    @property
    def content(self) -> JSON:
        """The object under the message's type: {"body": ...} for text, and so on."""
        value = self.payload.get(self.type)
        return value if isinstance(value, dict) else {}

    @property
    def text(self) -> str:
        """What a resident reads first: the text, the interactive body, the image caption,
        the location name or the template's name."""
        match self.type:
            case "text":
                return str(self.content.get("body", ""))
            case "interactive":
                return str(self.content.get("body", {}).get("text", ""))
            case "image":
                return str(self.content.get("caption", ""))
            case "location":
                return str(self.content.get("name", ""))
            case "template":
                return str(self.content.get("name", ""))
        return ""

    @property
    def options(self) -> list[tuple[str, str]]:
        """(id, title) of the reply buttons or list rows, in order; [] for other messages."""
        if self.type != "interactive":
            return []
        action = self.content.get("action", {})
        if self.content.get("type") == "button":
            return [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons", [])]
        return [(r["id"], r["title"]) for s in action.get("sections", []) for r in s["rows"]]


@dataclass
class _Failure:
    """A scripted error answer for the next sends."""

    code: int
    details: str
    status: int
    times: int
    to: str | None = None  # only sends to this wa_id; None: any send


@dataclass
class _Bucket:
    """A token bucket: `rate` messages a second, up to `burst` at once."""

    rate: float
    burst: float
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        """Take a token if there is one."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers: the test runner owns them."""
        yield


def wamid(wa_id: str, seed: str, *, outbound: bool = True) -> str:
    """A message id shaped like Meta's: base64 of the wa_id and a random-looking hex part."""
    digest = hashlib.sha1(seed.encode()).hexdigest().upper()
    tail = (
        b"\x11\x18\x12" + digest[:18].encode()
        if outbound
        else b"\x12\x18\x14" + digest[:20].encode()
    )
    raw = b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00" + tail + b"\x00"
    return "wamid." + base64.b64encode(raw).decode()


def graph_error_body(code: int, details: str, *, error_subcode: int | None = None) -> JSON:
    """The JSON body of a Graph API error."""
    title = _TITLES.get(code, "Invalid parameter")
    error: JSON = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
    }
    if error_subcode is not None:
        error["error_subcode"] = error_subcode
    error["fbtrace_id"] = "A" + hashlib.sha1(f"{code}{details}".encode()).hexdigest()[:22]
    return {"error": error}


# --- validation of message bodies, as Meta does for the shapes we use ------------------------


def _need(container: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """container[key], which must be present and of `kind` (else #100 as Graph answers)."""
    if not isinstance(container, dict) or key not in container:
        raise GraphError(100, f"The parameter {where} is required.")
    value = container[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise GraphError(100, f"Param {where} must be a valid {getattr(kind, '__name__', kind)}.")
    return value


def _length(value: str, low: int, high: int, what: str) -> None:
    """#131009 unless `low` <= len(value) <= `high`."""
    if not low <= len(value) <= high:
        raise GraphError(131009, f"{what} length invalid. Min length: {low}, Max length: {high}")


def _validate_text(text: JSON) -> None:
    body = _need(text, "body", str, "text['body']")
    if not body:
        raise GraphError(100, "Param text['body'] must be a non-empty string.")
    if len(body) > 4096:
        raise GraphError(100, "Param text['body'] must be at most 4096 characters long.")


def _validate_header_footer(interactive: JSON) -> None:
    header = interactive.get("header")
    if header is not None:
        kind = _need(header, "type", str, "interactive['header']['type']")
        if kind == "text":
            _length(_need(header, "text", str, "interactive['header']['text']"), 1, 60, "Header")
        elif kind in ("image", "video", "document"):
            _validate_media(_need(header, kind, dict, f"interactive['header']['{kind}']"))
        else:
            raise GraphError(131009, f"Header type {kind!r} is not supported.")
    footer = interactive.get("footer")
    if footer is not None:
        _length(_need(footer, "text", str, "interactive['footer']['text']"), 1, 60, "Footer")


def _validate_buttons(interactive: JSON) -> None:
    _length(
        _need(interactive["body"], "text", str, "interactive['body']['text']"), 1, 1024, "Body"
    )
    buttons = _need(interactive["action"], "buttons", list, "interactive['action']['buttons']")
    if not 1 <= len(buttons) <= 3:
        raise GraphError(131009, "Buttons count invalid. Min: 1, Max: 3")
    ids, titles = set(), set()
    for button in buttons:
        if _need(button, "type", str, "button['type']") != "reply":
            raise GraphError(131009, "Button type must be 'reply'.")
        reply = _need(button, "reply", dict, "button['reply']")
        title = _need(reply, "title", str, "button['reply']['title']")
        button_id = _need(reply, "id", str, "button['reply']['id']")
        _length(title, 1, 20, "Button title")
        _length(button_id, 1, 256, "Button id")
        if title in titles or button_id in ids:
            raise GraphError(131009, "Button title and id must be unique within the message.")
        titles.add(title)
        ids.add(button_id)


def _validate_list(interactive: JSON) -> None:
    _length(
        _need(interactive["body"], "text", str, "interactive['body']['text']"), 1, 4096, "Body"
    )
    action = interactive["action"]
    _length(_need(action, "button", str, "interactive['action']['button']"), 1, 20, "Button")
    sections = _need(action, "sections", list, "interactive['action']['sections']")
    if not 1 <= len(sections) <= 10:
        raise GraphError(131009, "Sections count invalid. Min: 1, Max: 10")
    rows = []
    for section in sections:
        title = section.get("title") if isinstance(section, dict) else None
        if title is None and len(sections) > 1:
            raise GraphError(131009, "Section title is required when there is more than one.")
        if title is not None:
            _length(_need(section, "title", str, "section['title']"), 1, 24, "Section title")
        section_rows = _need(section, "rows", list, "section['rows']")
        if not section_rows:
            raise GraphError(131009, "A section must have at least one row.")
        rows += section_rows
    if len(rows) > 10:
        raise GraphError(131009, "Total row count exceed max allowed count: 10")
    ids = set()
    for row in rows:
        _length(_need(row, "id", str, "row['id']"), 1, 200, "Row id")
        _length(_need(row, "title", str, "row['title']"), 1, 24, "Row title")
        if "description" in row:
            _length(_need(row, "description", str, "row['description']"), 0, 72, "Row description")
        if row["id"] in ids:
            raise GraphError(131009, "Row ids must be unique within the message.")
        ids.add(row["id"])


def _validate_interactive(interactive: JSON) -> None:
    kind = _need(interactive, "type", str, "interactive['type']")
    _need(interactive, "body", dict, "interactive['body']")
    _need(interactive, "action", dict, "interactive['action']")
    _validate_header_footer(interactive)
    if kind == "button":
        _validate_buttons(interactive)
    elif kind == "list":
        _validate_list(interactive)
    else:
        raise GraphError(131009, f"Interactive type {kind!r} is not one we send.")


def _validate_media(media: JSON) -> None:
    has_link, has_id = "link" in media, "id" in media
    if has_link == has_id:
        raise GraphError(100, "Exactly one of 'link' or 'id' is required for a media object.")
    if has_link:
        link = _need(media, "link", str, "link")
        if not link.startswith(("https://", "http://")):
            raise GraphError(131009, "Media link must be an http(s) URL.")
    else:
        _need(media, "id", str, "id")
    if "caption" in media:
        _length(_need(media, "caption", str, "caption"), 0, 1024, "Caption")


def _validate_location(location: JSON) -> None:
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = _need(location, key, (int, float, str), f"location['{key}']")
        try:
            number = float(value)
        except ValueError:
            raise GraphError(100, f"Param location['{key}'] must be a number.") from None
        if not -bound <= number <= bound:
            raise GraphError(131009, f"location['{key}'] out of range.")
    for key in ("name", "address"):
        if key in location:
            _need(location, key, str, f"location['{key}']")


def _validate_template(template: JSON, approved: dict[str, int] | None) -> None:
    name = _need(template, "name", str, "template['name']")
    language = _need(template, "language", dict, "template['language']")
    if not _need(language, "code", str, "template['language']['code']"):
        raise GraphError(100, "Param template['language']['code'] must be a non-empty string.")
    body_parameters = 0
    for component in template.get("components", []):
        kind = _need(component, "type", str, "component['type']")
        if kind not in ("header", "body", "footer", "button"):
            raise GraphError(100, f"Invalid component type {kind!r}.")
        for parameter in component.get("parameters", []):
            if _need(parameter, "type", str, "parameter['type']") == "text":
                _need(parameter, "text", str, "parameter['text']")
        if kind == "body":
            body_parameters += len(component.get("parameters", []))
    if approved is not None:
        if name not in approved:
            raise GraphError(
                132001, f"template name ({name}) does not exist in {language['code']}"
            )
        if approved[name] != body_parameters:
            raise GraphError(
                132000,
                f"body: number of localizable_params ({body_parameters}) does not match the "
                f"expected number of params ({approved[name]})",
            )


def validate_message(body: Any, templates: dict[str, int] | None = None) -> tuple[str, str]:
    """Check a POST /messages body as the Graph API does; return (wa_id, type)."""
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(100, "The parameter messaging_product is required.")
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type not in ("individual", "group"):
        raise GraphError(100, "Param recipient_type must be 'individual' or 'group'.")
    if recipient_type == "individual" and "to" not in body and "recipient" in body:
        # a user known by a business-scoped user id only (usernames, 2026)
        to = _need(body, "recipient", str, "recipient")
        if not _BSUID.fullmatch(to):
            raise GraphError(100, "Invalid parameter: recipient must be a business-scoped id.")
        to = f"bsuid:{to}"
    elif recipient_type == "group":
        to = _need(body, "to", str, "to")
        if not to or not to.replace("-", "").replace("@", "").replace(".", "").isalnum():
            raise GraphError(100, "Invalid parameter: to must be a group id.")
        to = f"group:{to}"
    else:
        to = _need(body, "to", str, "to")
        if not _PHONE.fullmatch(to):
            raise GraphError(100, "Invalid parameter: to must be a phone number.")
    kind = body.get("type", "text")  # Graph sends a text when type is left out
    validators: dict[str, Callable[[JSON], None]] = {
        "text": _validate_text,
        "interactive": _validate_interactive,
        "location": _validate_location,
        "image": _validate_media,
        "template": functools.partial(_validate_template, approved=templates),
    }
    if kind not in validators:
        raise GraphError(100, f"Param type must be one of {sorted(validators)}.")
    validators[kind](_need(body, kind, dict, kind))
    if to.startswith(("bsuid:", "group:")):
        return to.split(":", 1)[1], kind
    return re.sub(r"\D", "", to), kind


class FakeGraphAPI:
    """The fake Graph API server for one business phone number, and its record of sends."""

    def __init__(
        self,
        token: str = TOKEN,
        phone_number_id: str = PHONE_NUMBER_ID,
        *,
        clock: Callable[[], float] = time.monotonic,
        templates: dict[str, int] | None = None,
    ) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.clock = clock
        self.templates = templates  # approved name -> number of body parameters; None: any
        self.requests: list[Call] = []
        self.sent: list[SentMessage] = []
        self.window: set[str] | None = None  # wa_ids inside the 24 h window; None: no check
        self.window_mode: Literal["sync", "status"] = "sync"
        self.pending_statuses: list[JSON] = []  # failed-status webhooks the fake "would send"
        self.rate_limited = 0  # sends refused by limit_rate or limit_pair_rate
        self.uploads: dict[str, bytes] = {}  # media id -> the uploaded picture
        self.received: dict[str, bytes] = {}  # media id -> a picture a resident sent
        self.fail_uploads = 0  # the next uploads refused (131053, a media upload error)
        self._failures: deque[_Failure] = deque()
        self._bucket: _Bucket | None = None
        self._pair_rate: tuple[float, float] | None = None
        self._pair_buckets: dict[str, _Bucket] = {}
        self._window: SlidingWindow | None = None
        self._pair_windows: Windows | None = None
        self._serial = itertools.count(1)
        self.faults = Faults()  # refused connections, resets, black holes (tests/fake_faults.py)
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port, in the running event loop."""
        app = Starlette(
            routes=[
                Route("/{version}/{phone_number_id}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{phone_number_id}/media", self._media, methods=["POST"]),
                Route("/media-download/{media_id}", self._download, methods=["GET"]),
                Route("/{version}/{media_id}", self._media_url, methods=["GET"]),
                Route("/{path:path}", self._unsupported, methods=["GET", "POST", "DELETE"]),
            ]
        )
        config = uvicorn.Config(
            self.faults.wrap(app),
            host="127.0.0.1",
            port=0,
            lifespan="off",
            log_level="warning",
            log_config=None,
            access_log=False,
            http=self.faults.protocol(),
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the fake Graph API server stopped while starting")
            await asyncio.sleep(0.005)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]
        self.faults.attach(self._server)

    async def stop(self) -> None:
        """Shut the server down."""
        if self.faults.mode != "none":
            self.faults.heal()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What WHATSAPP_API_BASE_URL holds in the tests: the host, as https://graph.facebook.com."""
        return f"http://127.0.0.1:{self._port}"

    def messages_url(self, version: str = API_VERSION) -> str:
        """The URL of the messages endpoint of the fake's phone number."""
        return f"{self.base_url}/{version}/{self.phone_number_id}/messages"

    # --- scripting -------------------------------------------------------------------------

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        to: str | None = None,
        details: str | None = None,
        status: int | None = None,
    ) -> None:
        """Make the next `times` sends (to `to`, if given) answer with Graph error `code`:
        e.g. 130429 or 131056 (HTTP 429), 131047 or 131026 (400), 131000 (500), 2 (503).
        `status` overrides the HTTP status (e.g. 502 for a proxy in the way). Only sends that
        pass authentication and validation use up a scripted failure."""
        self._failures.append(
            _Failure(
                code,
                details if details is not None else _DETAILS.get(code, _TITLES.get(code, "")),
                status if status is not None else _STATUS_BY_CODE.get(code, 400),
                times,
                to,
            )
        )

    def limit_rate(self, per_second: float, *, burst: float | None = None) -> None:
        """Refuse sends beyond `per_second` with 130429 (the number's throughput; Meta's
        default is 80 a second); a token bucket holding `burst` (one second's worth)."""
        burst = per_second if burst is None else burst
        self._bucket = _Bucket(per_second, burst, burst, self.clock())

    def limit_pair_rate(self, per_second: float, *, burst: float = 1) -> None:
        """Refuse sends beyond `per_second` to any one recipient with 131056 (Meta allows
        about one message every 6 seconds to the same user, with bursts)."""
        self._pair_rate = (per_second, burst)
        self._pair_buckets.clear()

    def limit_window(self, per_second: float, seconds: float = 1.0) -> SlidingWindow:
        """Refuse sends beyond `per_second` on average over any `seconds` long window with
        130429 (Meta counts the number's recent messages); return the window."""
        self._window = window_of(per_second, seconds, self.clock)
        return self._window

    def limit_pair_window(self, count: int, seconds: float) -> None:
        """Refuse sends beyond `count` to one recipient within any `seconds` with 131056."""
        self._pair_windows = Windows(count, seconds, self.clock)

    def enforce_window(self, *wa_ids: str, mode: Literal["sync", "status"] = "sync") -> None:
        """Allow free-form messages only to `wa_ids` (those who wrote within 24 h); others
        get 131047. `mode` "sync" answers the send with the error; "status" accepts it and
        queues the failed-status webhook in `pending_statuses`, as Meta often does."""
        self.window = set(wa_ids)
        self.window_mode = mode

    def open_window(self, wa_id: str) -> None:
        """`wa_id` wrote just now."""
        if self.window is None:
            self.window = set()
        self.window.add(wa_id)

    def close_window(self, wa_id: str) -> None:
        """`wa_id`'s last message is older than 24 h now."""
        if self.window is not None:
            self.window.discard(wa_id)

    # --- inspection ------------------------------------------------------------------------

    def sent_to(self, wa_id: str | None = None, type: str | None = None) -> list[SentMessage]:
        """The accepted messages, all of them or those to one recipient and/or of one type."""
        return [
            m
            for m in self.sent
            if (wa_id is None or m.to == wa_id) and (type is None or m.type == type)
        ]

    def sent_texts(self, wa_id: str | None = None) -> list[str]:
        """`SentMessage.text` of every accepted message (to `wa_id`, if given), in order."""
        return [m.text for m in self.sent_to(wa_id)]

    def deliveries(self, wa_id: str | None = None) -> list[Delivered]:
        """Every accepted message, all or one recipient's, in arrival order, with its text
        (`SentMessage.text`) and when it arrived (by the fake's clock)."""
        return [Delivered(m.to, m.text, m.at) for m in self.sent_to(wa_id)]

    def status_webhook(
        self, message: SentMessage, status: str = "delivered", *, error_code: int | None = None
    ) -> JSON:
        """The statuses webhook Meta would send for `message` ("sent", "delivered", "read",
        or "failed" with `error_code` 131047 or 131026)."""
        kind = f"status_failed_{error_code}" if status == "failed" else f"status_{status}"
        return webhook_payload(
            kind,
            wa_id=message.to,
            message_id=message.id,
            phone_number_id=self.phone_number_id,
        )

    async def wait_for(
        self, predicate: Callable[[FakeGraphAPI], bool], timeout: float = 5.0
    ) -> None:
        """Poll `predicate` every 10 ms until it holds; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                recent = [(c.path, c.status, c.error_code) for c in self.requests[-10:]]
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"{name} still false after {timeout}s; {len(self.requests)} requests, "
                    f"last ones: {recent}; texts sent: {self.sent_texts()}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least `count` messages were accepted; return them all."""

        def enough(fake: FakeGraphAPI) -> bool:
            return len(fake.sent) >= count

        enough.__name__ = f"at least {count} messages accepted"
        await self.wait_for(enough, timeout)
        return list(self.sent)

    # --- HTTP ------------------------------------------------------------------------------

    async def _messages(self, request: Request) -> JSONResponse:
        """Authenticate, validate, apply the limits, then record and answer the message."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        call = Call(request.url.path, body, self.clock())
        self.requests.append(call)
        try:
            self._authenticate(request)
            if not _VERSION.fullmatch(request.path_params["version"]) or (
                request.path_params["phone_number_id"] != self.phone_number_id
            ):
                raise self._unknown_object(request.path_params["phone_number_id"])
            if isinstance(body, str):
                raise GraphError(100, "The request body is not valid JSON.")
            wa_id, kind = validate_message(body, self.templates)
            self._scripted(wa_id)
            self._limits(wa_id)
            outside_window = (
                self.window is not None and kind in FREE_FORM_TYPES and wa_id not in self.window
            )
            if outside_window and self.window_mode == "sync":
                raise GraphError(131047, _DETAILS[131047])
        except GraphError as error:
            return self._error(call, error)
        message = SentMessage(
            wa_id, kind, body, wamid(wa_id, f"{next(self._serial)}-{id(self)}"), call.at
        )
        self.sent.append(message)
        if outside_window:
            self.pending_statuses.append(self.status_webhook(message, "failed", error_code=131047))
        sent: JSON = {"id": message.id}
        if kind == "template":
            sent["message_status"] = "accepted"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to") or body.get("recipient"), "wa_id": wa_id}],
                "messages": [sent],
            }
        )

    async def _media(self, request: Request) -> JSONResponse:
        """Take an uploaded picture (multipart: file, type, messaging_product); answer its id."""
        call = Call(request.url.path, None, self.clock())
        self.requests.append(call)
        try:
            self._authenticate(request)
            async with request.form() as form:
                upload = form.get("file")
                if form.get("messaging_product") != "whatsapp" or upload is None:
                    raise GraphError(100, "Param file and messaging_product are required.")
                content = await upload.read()
                if not content.startswith(b"\x89PNG") and form.get("type") == "image/png":
                    raise GraphError(131053, "Media upload error: not a PNG image.")
                if self.fail_uploads:
                    self.fail_uploads -= 1
                    raise GraphError(131053, "Media upload error.")
        except GraphError as error:
            return self._error(call, error)
        media_id = f"{900000000000000 + next(self._serial)}"
        self.uploads[media_id] = content
        return JSONResponse({"id": media_id})

    async def _media_url(self, request: Request) -> JSONResponse:
        """Retrieve a media object: its (short-lived) download URL, type and size."""
        call = Call(request.url.path, None, self.clock())
        self.requests.append(call)
        media_id = request.path_params["media_id"]
        try:
            self._authenticate(request)
            content = self.received.get(media_id)
            if content is None:
                raise self._unknown_object(media_id)
        except GraphError as error:
            return self._error(call, error)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/media-download/{media_id}",
                "mime_type": "image/jpeg",
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": len(content),
                "id": media_id,
            }
        )

    async def _download(self, request: Request) -> Response:
        """The file behind a media URL; the access token is needed here too."""
        call = Call(request.url.path, None, self.clock())
        self.requests.append(call)
        try:
            self._authenticate(request)
        except GraphError as error:
            return self._error(call, error)
        content = self.received.get(request.path_params["media_id"])
        if content is None:
            return Response(status_code=404)
        return Response(content, media_type="image/jpeg")

    async def _unsupported(self, request: Request) -> JSONResponse:
        """Any other path: the Graph API's answer to an unknown object or edge."""
        call = Call(request.url.path, None, self.clock())
        self.requests.append(call)
        try:
            self._authenticate(request)
            raise self._unknown_object(request.path_params["path"])
        except GraphError as error:
            return self._error(call, error)

    def _authenticate(self, request: Request) -> None:
        """The bearer token (or access_token parameter) must be the fake's."""
        header = request.headers.get("authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        given = given or request.query_params.get("access_token")
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise GraphError(190, "Error validating access token: Session has expired.", 401)

    @staticmethod
    def _unknown_object(object_id: str) -> GraphError:
        return GraphError(
            100,
            f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
        )

    def _scripted(self, wa_id: str) -> None:
        """Raise the first scripted failure that applies to a send to `wa_id`, if any."""
        for failure in self._failures:
            if failure.to is None or failure.to == wa_id:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                raise GraphError(failure.code, failure.details, failure.status)

    def _limits(self, wa_id: str) -> None:
        """The number's throughput, then the per-recipient pair rate."""
        now = self.clock()
        if self._bucket is not None and not self._bucket.take(now):
            self.rate_limited += 1
            raise GraphError(130429, _DETAILS[130429])
        if self._pair_windows is not None and self._pair_windows.take(wa_id) is not None:
            self.rate_limited += 1
            raise GraphError(131056, _DETAILS[131056])
        if self._window is not None and self._window.take() is not None:
            self.rate_limited += 1
            raise GraphError(130429, _DETAILS[130429])
        if self._pair_rate is not None:
            rate, burst = self._pair_rate
            bucket = self._pair_buckets.setdefault(wa_id, _Bucket(rate, burst, burst, now))
            if not bucket.take(now):
                self.rate_limited += 1
                raise GraphError(131056, _DETAILS[131056])

    @staticmethod
    def _error(call: Call, error: GraphError) -> JSONResponse:
        """Mark the call failed and answer as the Graph API does."""
        call.status, call.error_code = error.status, error.code
        subcode = {190: 463, 130429: 2494055}.get(error.code)
        body = graph_error_body(error.code, error.details, error_subcode=subcode)
        if error.code == 190:
            body["error"]["message"] = error.details
            del body["error"]["error_data"]
        return JSONResponse(body, status_code=error.status)


# --- webhooks (Meta -> our app) ---------------------------------------------------------------

MESSAGE_KINDS = (
    "text",
    "interactive_button_reply",
    "interactive_list_reply",
    "location",
    "contacts",
    "image",
    "audio",
    "sticker",
    "document",
    "reaction",
    "unsupported",
)
STATUS_KINDS = (
    "status_sent",
    "status_delivered",
    "status_read",
    "status_failed_131047",
    "status_failed_131026",
)
KINDS = MESSAGE_KINDS + STATUS_KINDS
# payloads kept as Meta's reference shows them and posted as stored (tests/test_payload_tables.py)
STORED_KINDS = ("group_text", "edit", "revoke", "text_bsuid_only", "text_phone_and_bsuid")
_inbound_serial = itertools.count(1)


@functools.cache
def _raw(kind: str) -> JSON:
    """The parsed fixture file, read once."""
    return json.loads((FIXTURES / f"{kind.removesuffix('.json')}.json").read_text("utf-8"))


def load(kind: str) -> JSON:
    """A deep copy of the fixture `kind` (with or without ".json"), exactly as stored."""
    return copy.deepcopy(_raw(kind))


def webhook_value(payload: JSON) -> JSON:
    """The ``entry[0].changes[0].value`` of a webhook payload: metadata, contacts, messages
    or statuses."""
    return payload["entry"][0]["changes"][0]["value"]


def _set_interactive(message: JSON, reply_id: Any, title: Any, description: Any) -> None:
    interactive = message["interactive"]
    reply = interactive[interactive["type"]]
    if reply_id is not None:
        reply["id"] = reply_id
    if title is not None:
        reply["title"] = title
    if description is not None:
        if interactive["type"] != "list_reply":
            raise ValueError("description= applies to interactive_list_reply only")
        reply["description"] = description


def webhook_payload(kind: str, **overrides: Any) -> JSON:
    """The fixture `kind` (see KINDS) with a fresh message id and the current time, and these
    `overrides`: wa_id, name, message_id, timestamp, phone_number_id, display_phone_number,
    context_id (the bot's message a reply or reaction refers to), text (text body or media
    caption), reply_id, title, description (interactive replies), latitude, longitude,
    emoji. An override that does not apply to `kind` is a ValueError, not silently ignored."""
    if kind not in KINDS:
        raise ValueError(f"unknown webhook kind {kind!r}; one of {KINDS}")
    payload = load(kind)
    value = webhook_value(payload)
    get = overrides.pop
    wa_id = str(get("wa_id", WA_ID))
    timestamp = str(get("timestamp", int(time.time())))
    metadata = value["metadata"]
    metadata["phone_number_id"] = str(get("phone_number_id", metadata["phone_number_id"]))
    metadata["display_phone_number"] = str(
        get("display_phone_number", metadata["display_phone_number"])
    )
    if kind in STATUS_KINDS:
        status = value["statuses"][0]
        status.update(recipient_id=wa_id, timestamp=timestamp)
        status["id"] = get("message_id", wamid(wa_id, f"out-{next(_inbound_serial)}"))
    else:
        contact = value["contacts"][0]
        contact["wa_id"] = wa_id
        contact["profile"]["name"] = get("name", contact["profile"]["name"])
        message = value["messages"][0]
        message.update({"from": wa_id, "timestamp": timestamp})
        message["id"] = get(
            "message_id", wamid(wa_id, f"in-{next(_inbound_serial)}", outbound=False)
        )
        context_id = get("context_id", None)
        if context_id is not None:
            if "context" in message:
                message["context"]["id"] = context_id
            elif kind == "reaction":
                message["reaction"]["message_id"] = context_id
            else:
                message["context"] = {"from": metadata["display_phone_number"], "id": context_id}
        text = get("text", None)
        if text is not None:
            if kind == "text":
                message["text"]["body"] = text
            elif kind in ("image", "document"):
                message[kind]["caption"] = text
            else:
                raise ValueError(f"text= does not apply to {kind}")
        reply = (get("reply_id", None), get("title", None), get("description", None))
        if any(part is not None for part in reply):
            if not kind.startswith("interactive_"):
                raise ValueError(f"reply_id=/title=/description= do not apply to {kind}")
            _set_interactive(message, *reply)
        for key in ("latitude", "longitude"):
            if key in overrides:
                if kind != "location":
                    raise ValueError(f"{key}= applies to location only")
                message["location"][key] = get(key)
        if "emoji" in overrides:
            if kind != "reaction":
                raise ValueError("emoji= applies to reaction only")
            message["reaction"]["emoji"] = get("emoji")
    if overrides:
        raise ValueError(f"unknown overrides for {kind}: {sorted(overrides)}")
    return payload


def webhook_body(payload: JSON) -> bytes:
    """The payload serialised as Meta sends it: compact JSON, non-ASCII as \\uXXXX escapes
    (Meta signs the escaped form, so the HMAC is over exactly these bytes)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` header for `body`: ``sha256=`` and the hex HMAC-SHA256
    keyed with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_webhook(
    kind: str, secret: str = APP_SECRET, **overrides: Any
) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery ready to POST: the body and its headers, signed with `secret`."""
    body = webhook_body(webhook_payload(kind, **overrides))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature-256": sign(body, secret),
    }
    return body, headers


def verification_params(verify_token: str, challenge: str = "1158201444") -> dict[str, str]:
    """The query of Meta's GET verification request to the webhook URL; the endpoint must
    answer 200 with `challenge` as its plain-text body when `verify_token` is right."""
    return {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
