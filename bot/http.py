"""The program's HTTP server (Starlette on uvicorn): webhooks, the health check and the
metrics."""

import asyncio
import hmac
import logging
import socket
from collections.abc import Sequence

import uvicorn
from sqlalchemy import Engine as Database
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import metrics
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.database_check import OK, DatabaseCheck
from bot.json_bodies import read_json

log = logging.getLogger(__name__)

BODY_LIMIT = 1 << 20  # a webhook delivery is a few kilobytes; more is neither Meta nor Telegram

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SIGNATURE_HEADER = "X-Hub-Signature-256"
WEBHOOK_ANSWERS = {
    200: "ok",
    400: "not JSON",
    401: "signature missing",
    403: "signature wrong",
    413: "too large",
    503: "unavailable",
}


def build_app(
    database: Database,
    *,
    telegram: TelegramChannel | None = None,
    whatsapp: WhatsAppChannel | None = None,
    check_name: str | None = None,
    metrics_allow: Sequence = metrics.LOOPBACK,
) -> Starlette:
    """Return the ASGI app: /healthz always, /telegram/webhook when Telegram uses a webhook,
    /whatsapp/webhook when WhatsApp is served, /metrics for clients within `metrics_allow`
    (none: no /metrics). /healthz answers within a second: 200 when the database took a write
    (this process's `check_name` row of write_checks), else 503 with the reason ("full",
    "read-only", "locked", "stalled", "unreachable")."""
    check = DatabaseCheck(database, check_name)
    registry = metrics.registry_for(database) if metrics_allow else None
    told = {"answer": OK}  # the last answer logged: a change is logged once

    async def healthz(request: Request) -> Response:
        answer = await check()
        if answer != told["answer"]:
            log.warning("health check: the database says %s", answer)
            told["answer"] = answer
        return JSONResponse({"database": answer}, status_code=200 if answer == OK else 503)

    async def telegram_webhook(request: Request) -> Response:
        expected = telegram.settings.webhook_secret or ""
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        data = read_json(await request.body())
        if data is None:
            return PlainTextResponse("not JSON", status_code=400)
        if not is_update(data):
            return PlainTextResponse("not an update", status_code=400)
        if not telegram.application.running:  # shutting down: Telegram will send it again
            return PlainTextResponse("unavailable", status_code=503)
        # stored, then handled in the background: Telegram gets its 200 once it is stored,
        # also for an update the library cannot read (skipped with a warning: sent again, it
        # would fail again), and 503 when it could not be stored (it sends it again)
        if not await telegram.feed(data):
            return PlainTextResponse("unavailable", status_code=503)
        return PlainTextResponse("ok")

    async def whatsapp_verify(request: Request) -> Response:
        params = request.query_params
        challenge = whatsapp.verify(
            params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
        )
        if challenge is None:
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(challenge)

    async def whatsapp_webhook(request: Request) -> Response:
        # the signature is over the raw bytes, checked before anything is read from them; a
        # body larger than any of Meta's is refused while it comes in (BodyLimit)
        body = await request.body()
        status = await whatsapp.receive(body, request.headers.get(SIGNATURE_HEADER))
        return PlainTextResponse(WEBHOOK_ANSWERS.get(status, "ok"), status_code=status)

    async def metrics_page(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not metrics.allowed(client, metrics_allow):
            return PlainTextResponse("forbidden", status_code=403)
        # the queue's depth and the leases are read from the database: off the event loop
        body = await asyncio.to_thread(metrics.exposition, registry)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if registry is not None:
        routes.append(Route("/metrics", metrics_page, methods=["GET"]))
    if whatsapp is not None:
        routes.append(Route("/whatsapp/webhook", whatsapp_verify, methods=["GET"]))
        routes.append(Route("/whatsapp/webhook", whatsapp_webhook, methods=["POST"]))
    if telegram is not None and telegram.settings.webhook_url:
        routes.append(Route("/telegram/webhook", telegram_webhook, methods=["POST"]))
    return Starlette(routes=routes, middleware=[Middleware(BodyLimit, limit=BODY_LIMIT)])


def is_update(data: object) -> bool:
    """Tell whether a webhook body has an update's outline: an object with an integer
    update_id, and an object under every other key (each of an Update's fields is one)."""
    if not isinstance(data, dict):
        return False
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return False
    return all(isinstance(value, dict | None) for key, value in data.items() if key != "update_id")


class BodyLimit:
    """Read every request's body before its endpoint runs, and refuse it with 413 once it is
    larger than `limit` bytes: at once when its Content-Length says so, else as soon as the
    bytes read pass the limit (a chunked body has no Content-Length). So no endpoint, whether
    it reads the body or not, ever holds more than the limit and the chunk that passed it, and
    no signature is checked over a body too large. The connection is closed after a refusal:
    the rest of the body is not read either."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self.refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay(b"".join(chunks), receive), send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(
            WEBHOOK_ANSWERS[413], status_code=413, headers={"Connection": "close"}
        )
        await response(scope, receive, send)


def replay(body: bytes, receive: Receive) -> Receive:
    """Return a receive that gives the body read already, then what the client sends next (its
    disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def listen(host: str, port: int) -> socket.socket:
    """Open the listening socket on host and port (0: any free port)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return socket.create_server((host, port), family=family[0][0])


class HttpServer:
    """uvicorn serving an app inside the running event loop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, lifespan="off", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.host, self.requested_port = host, port
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start listening; return once the socket is open. A port that is taken raises
        OSError here, before anything runs (uvicorn itself would log and exit)."""
        listening = listen(self.host, self.requested_port)
        self._task = asyncio.create_task(self.server.serve(sockets=[listening]))
        while not self.server.started:
            if self._task.done():  # it failed to start, e.g. the port is taken
                self._task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """Return the port it listens on (useful when started on port 0)."""
        return self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and wait for open requests."""
        self.server.should_exit = True
        if self._task is not None:
            await self._task
