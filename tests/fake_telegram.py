"""An in-process fake of the Telegram Bot API over real HTTP on 127.0.0.1.

Tests run the real python-telegram-bot against it with
``ApplicationBuilder().token(fake.token).base_url(fake.base_url)``: PTB posts each call to
``{base_url}{token}/{method}`` as a urlencoded form (multipart when a file is uploaded), with
every non-string value JSON-encoded, and reads back ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}``.
Updates are queued with ``push_update`` and served by long-polling ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import math
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fake_faults import Delivered, Faults
from tests.fake_limits import SlidingWindow, retry_after, window_of

BOT_USER: dict[str, Any] = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Layanan Warga",
    "username": "DurenSawitBot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Parameters that are always strings in the Bot API: a value such as "42" or "true" sent as
# `text` must stay a string (PTB sends str values unencoded, so "42" and 42 look alike).
# fmt: off
STRING_PARAMS = frozenset({
    "text", "caption", "callback_query_id", "url", "secret_token", "title", "address", "data",
    "parse_mode", "name", "inline_message_id", "business_connection_id", "ip_address",
    "foursquare_id", "foursquare_type", "google_place_id", "google_place_type",
    "message_effect_id", "language_code", "description",
})
# fmt: on

Params = dict[str, Any]
NEW_MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendLocation", "sendVenue"})


@dataclass
class Call:
    """One request received by the fake, in arrival order."""

    method: str
    params: Params
    at: float  # time.monotonic() on arrival
    failed: bool = False


@dataclass
class _Failure:
    """A scripted error answer for the next calls of one method."""

    error_code: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | str | None = None  # only calls to this chat; None: any call
    migrate_to_chat_id: int | None = None  # the group became this supergroup


@dataclass
class _Bucket:
    """A token bucket: `rate` calls a second, up to `burst` at once."""

    rate: float
    burst: float
    tokens: float
    at: float  # time.monotonic() of the last refill

    def take(self) -> int | None:
        """Take a token; None when one was there, else the seconds to wait (at least 1)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.rate))


@dataclass
class _Queued:
    """One pushed update; delivered once it was handed out by getUpdates."""

    update: dict[str, Any]
    delivered: bool = False


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers: the test runner owns them."""
        yield


def _decode(name: str, value: str) -> Any:
    """Turn a JSON-encoded object, array, number or boolean into its Python value."""
    if name in STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value, parse_constant=lambda constant: value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, dict | list | int | float) else value


async def _read_params(request: Request) -> Params:
    """Read the parameters from the query string and the body, whatever its encoding."""
    params: Params = {key: _decode(key, value) for key, value in request.query_params.items()}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        if body:
            params.update(json.loads(body))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        # parsed here: Starlette's form parser retries a failing import on every request
        for key, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
            params[key] = _decode(key, value)
    elif content_type.startswith("multipart/form-data"):
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    content = await value.read()
                    params[key] = {
                        "filename": value.filename,
                        "size": len(content),
                        "sha256": hashlib.sha256(content).hexdigest(),
                    }
                else:
                    params[key] = _decode(key, value)
    return params


class _MethodError(Exception):
    """A method's own refusal (an unknown file id), answered like any Bot API error."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description


class FakeBotAPI:
    """The fake Bot API server, its update queue and its record of calls."""

    def __init__(self, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
        self.requests: list[Call] = []
        self.record = True  # False: keep only the counts, no calls, no messages (benchmarks)
        self.counts: Counter[str] = Counter()  # calls answered, by method
        self.webhook: Params = {}
        self.get_updates_count = 0
        self._queue: list[_Queued] = []
        self._next_update_id = 1000
        self._pushed = asyncio.Event()
        self._closing = False
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._buckets: dict[str, _Bucket] = {}
        self._windows: dict[str, SlidingWindow] = {}  # one window may span several methods
        self.rate_limited = 0  # calls answered 429 by a rate limit (not scripted failures)
        self._message_ids: dict[Any, int] = defaultdict(int)
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port = 0
        self._webhook_set = False
        self.files: dict[str, bytes] = {}  # file id -> what a resident sent (getFile serves it)
        self.faults = Faults()  # refused connections, resets, black holes (tests/fake_faults.py)
        self._methods = {
            name.lower(): (name, handler) for name, handler in self._handlers().items()
        }

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port, in the running event loop."""
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
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
        self._closing = False
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the fake Bot API server stopped while starting")
            await asyncio.sleep(0.005)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]
        self.faults.attach(self._server)

    async def stop(self) -> None:
        """Answer pending long polls, then shut the server down."""
        self._closing = True
        self._wake()
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
        """The URL to give PTB's ``base_url``: it appends ``{token}/{method}``."""
        return f"http://127.0.0.1:{self._port}/bot"

    # --- scripting -------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a copy of an update (numbering it when it has no update_id); return its id."""
        queued = copy.deepcopy(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, queued["update_id"]) + 1
        self._queue.append(_Queued(queued))
        self._wake()
        return queued["update_id"]

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) answer with this
        error."""
        self._failures[method.lower()].append(
            _Failure(error_code, description, retry_after, times, chat_id, migrate_to_chat_id)
        )

    def limit_rate(
        self, per_second: float, *, method: str = "sendMessage", burst: float | None = None
    ) -> None:
        """Answer calls of `method` beyond `per_second` with 429 and retry_after, as
        Telegram's flood control does; a token bucket holding `burst` (one second's worth
        unless given)."""
        burst = per_second if burst is None else burst
        self._buckets[method.lower()] = _Bucket(per_second, burst, burst, time.monotonic())

    def limit_window(
        self,
        per_second: float,
        seconds: float = 1.0,
        *,
        methods: tuple[str, ...] = ("sendMessage",),
    ) -> SlidingWindow:
        """Answer calls of `methods` beyond `per_second` on average over any `seconds` long
        window with 429 and retry_after (whole seconds, at least one), as Telegram's flood
        control does; return the window (it counts what it let through and refused)."""
        window = window_of(per_second, seconds)
        for method in methods:
            self._windows[method.lower()] = window
        return window

    # --- inspection ------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """The calls received, all of them or those of one method."""
        return [c for c in self.requests if method is None or c.method.lower() == method.lower()]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of successful sendMessage/editMessageText and captions of sendPhoto, in order."""
        texts = []
        for call in self.requests:
            if call.failed or (
                chat_id is not None and str(call.params.get("chat_id")) != str(chat_id)
            ):
                continue
            if call.method in ("sendMessage", "editMessageText"):
                texts.append(str(call.params.get("text", "")))
            elif call.method == "sendPhoto" and "caption" in call.params:
                texts.append(str(call.params["caption"]))
        return texts

    def deliveries(self, chat_id: int | str | None = None) -> list[Delivered]:
        """Every new message the bot got through (sendMessage, sendPhoto, sendLocation,
        sendVenue; not edits), all or one chat's, in arrival order, with its text (a photo's
        caption; "" for a place)."""
        delivered = []
        for call in self.requests:
            chat = str(call.params.get("chat_id"))
            if call.failed or call.method not in NEW_MESSAGE_METHODS:
                continue
            if chat_id is None or chat == str(chat_id):
                text = call.params.get("text", call.params.get("caption", ""))
                delivered.append(Delivered(chat, str(text), call.at))
        return delivered

    async def wait_for(
        self, predicate: Callable[[FakeBotAPI], bool], timeout: float = 5.0
    ) -> None:
        """Poll `predicate` every 10 ms until it holds; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() >= deadline:
                recent = [(c.method, c.params, c.failed) for c in self.requests[-10:]]
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"{name} still false after {timeout}s; {len(self.requests)} calls, "
                    f"last ones: {recent}; texts sent: {self.sent_texts()}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_calls(self, method: str, count: int, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` was called at least `count` times; return those calls."""

        def enough(fake: FakeBotAPI) -> bool:
            return len(fake.calls(method)) >= count

        enough.__name__ = f"at least {count} {method} calls"
        await self.wait_for(enough, timeout)
        return self.calls(method)

    # --- HTTP ------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        """Check the token, record the call and answer it (or fail it as scripted)."""
        name = request.path_params["method"]
        method, handler = self._methods.get(name.lower(), (name, None))
        call = Call(method, await _read_params(request), time.monotonic())
        self.counts[method] += 1
        if self.record:
            self.requests.append(call)
        if request.path_params["token"] != self.token:
            return self._error(call, 401, "Unauthorized")
        if handler is None:
            return self._error(call, 404, "Not Found: method not found")
        failure = self._scripted_failure(method, call.params)
        if failure is not None:
            return self._error(
                call,
                failure.error_code,
                failure.description,
                failure.retry_after,
                failure.migrate_to_chat_id,
            )
        bucket = self._buckets.get(method.lower())
        wait = bucket.take() if bucket is not None else None
        window = self._windows.get(method.lower())
        if wait is None and window is not None:
            waited = window.take()
            wait = None if waited is None else retry_after(waited)
        if wait is not None:
            self.rate_limited += 1
            return self._error(call, 429, f"Too Many Requests: retry after {wait}", wait)
        try:
            result = await handler(call.params)
        except _MethodError as error:
            return self._error(call, error.error_code, error.description)
        return JSONResponse({"ok": True, "result": result})

    def _scripted_failure(self, method: str, params: Params) -> _Failure | None:
        """Take the first scripted failure that applies to this call, if any."""
        failures = self._failures.get(method.lower()) or ()
        chat = str(params.get("chat_id"))
        for failure in failures:
            if failure.chat_id is None or str(failure.chat_id) == chat:
                failure.times -= 1
                if failure.times <= 0:
                    failures.remove(failure)
                return failure
        return None

    @staticmethod
    def _error(
        call: Call,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> JSONResponse:
        """Mark the call failed and answer as the Bot API does."""
        call.failed = True
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": migrate_to_chat_id}
        return JSONResponse(body, status_code=code)

    def _wake(self) -> None:
        """Wake every getUpdates waiting for an update."""
        self._pushed.set()
        self._pushed = asyncio.Event()

    # --- methods ---------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[Params], Awaitable[Any]]]:
        """Every supported method by its Bot API name."""
        true = ("answerCallbackQuery", "setMyCommands", "deleteMyCommands", "close", "logOut")
        return {
            **dict.fromkeys(true, self._true),
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
        }

    async def _true(self, params: Params) -> bool:
        """Methods that only answer True."""
        return True

    async def _get_me(self, params: Params) -> dict[str, Any]:
        """The bot's own user."""
        return dict(BOT_USER)

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        """Confirm below `offset`, then answer what is queued, long-polling up to `timeout`."""
        self.get_updates_count += 1
        offset, limit = params.get("offset"), int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            if offset is not None:
                self._queue = [
                    q for q in self._queue if not (q.delivered and q.update["update_id"] < offset)
                ]
            ready = [
                q for q in self._queue if not q.delivered or q.update["update_id"] >= (offset or 0)
            ][:limit]
            remaining = deadline - time.monotonic()
            if ready or self._closing or remaining <= 0:
                for queued in ready:
                    queued.delivered = True
                return [copy.deepcopy(q.update) for q in ready]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pushed.wait(), remaining)

    def _message(self, params: Params, message_id: int | None = None) -> dict[str, Any]:
        """The bot's message `message_id` (a new one when None) in the chat `chat_id`."""
        chat_id = params.get("chat_id")
        if message_id is None:
            self._message_ids[chat_id] += 1
            message_id = self._message_ids[chat_id]
        if (chat_id, message_id) not in self._messages:
            chat = {"id": chat_id, "type": "private", "first_name": "Warga"}
            if isinstance(chat_id, int) and chat_id < 0:
                chat = {"id": chat_id, "type": "supergroup", "title": "Grup"}
            self._messages[(chat_id, message_id)] = {
                "message_id": message_id,
                "from": dict(BOT_USER),
                "chat": chat,
                "date": int(time.time()),
            }
        message = self._messages[(chat_id, message_id)]
        if not self.record:  # counting only: keep no message for later edits either
            del self._messages[(chat_id, message_id)]
        return message

    def _answer(self, params: Params, message: dict[str, Any], **content: Any) -> dict[str, Any]:
        """Update `message` with `content` and the inline keyboard sent, if any; a copy."""
        message.update(content)
        message.pop("reply_markup", None)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    async def _send_message(self, params: Params) -> dict[str, Any]:
        """A new text message."""
        return self._answer(params, self._message(params), text=str(params.get("text", "")))

    async def _get_file(self, params: Params) -> dict[str, Any]:
        """A file a resident sent: its size and the path to download it from."""
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise _MethodError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"U{abs(hash(file_id)) % 10**8}",
            "file_size": len(self.files[file_id]),
            "file_path": f"photos/{file_id}.jpg",
        }

    async def _file(self, request: Request) -> Response:
        """Download a file by the path getFile gave (…/file/bot<token>/<path>)."""
        self.counts["download"] += 1
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        path = request.path_params["path"]
        file_id = path.removeprefix("photos/").removesuffix(".jpg")
        if file_id not in self.files:
            return Response(status_code=404)
        return Response(self.files[file_id], media_type="image/jpeg")

    async def _send_photo(self, params: Params) -> dict[str, Any]:
        """A new photo message, in two sizes, with its caption."""
        n = len(self.requests)
        photo = [
            {
                "file_id": f"AgACAgIAAxk-{n}-{w}",
                "file_unique_id": f"AQAD{n}-{w}",
                "file_size": w * 80,
                "width": w,
                "height": w * 3 // 4,
            }
            for w in (90, 1280)
        ]
        caption = {"caption": str(params["caption"])} if "caption" in params else {}
        return self._answer(params, self._message(params), photo=photo, **caption)

    async def _send_location(self, params: Params) -> dict[str, Any]:
        """A new location message."""
        location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
        return self._answer(params, self._message(params), location=location)

    async def _send_venue(self, params: Params) -> dict[str, Any]:
        """A new venue message."""
        location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
        venue = {
            "location": location,
            "title": str(params.get("title", "")),
            "address": str(params.get("address", "")),
        }
        return self._answer(params, self._message(params), location=location, venue=venue)

    async def _edit_message_text(self, params: Params) -> dict[str, Any] | bool:
        """The edited message (True for an inline message)."""
        if "inline_message_id" in params:
            return True
        message = self._message(params, params.get("message_id"))
        edit = {"text": str(params.get("text", "")), "edit_date": int(time.time())}
        return self._answer(params, message, **edit)

    async def _edit_message_reply_markup(self, params: Params) -> dict[str, Any] | bool:
        """The message with its new keyboard (True for an inline message)."""
        if "inline_message_id" in params:
            return True
        message = self._message(params, params.get("message_id"))
        return self._answer(params, message, edit_date=int(time.time()))

    async def _set_webhook(self, params: Params) -> bool:
        """Remember the webhook's parameters."""
        self.webhook, self._webhook_set = dict(params), True
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        """Turn the webhook off; `webhook` keeps the last setWebhook parameters."""
        self._webhook_set = False
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _get_webhook_info(self, params: Params) -> dict[str, Any]:
        """The webhook's URL ("" when off) and the updates not yet handed out."""
        return {
            "url": str(self.webhook.get("url", "")) if self._webhook_set else "",
            "has_custom_certificate": False,
            "pending_update_count": sum(not q.delivered for q in self._queue),
        }
