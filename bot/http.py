"""The program's HTTP server (Starlette on uvicorn): webhooks and the health check."""

import asyncio
import hmac
import json
import logging

import uvicorn
from sqlalchemy import Engine as Database
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import BODY_LIMIT, WhatsAppChannel
from storage.database import ping

log = logging.getLogger(__name__)

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


async def read_body(request: Request, limit: int) -> bytes | None:
    """Read a request's body as it streams in (chunked too); None as soon as it passes
    `limit`, the rest left unread (the server then closes the connection)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(Exception):
    """A request body that passed the limit while it was read."""


class BodyLimit:
    """ASGI middleware that holds every route's request body to a limit while it streams in
    (chunked too), so a route added later cannot forget it: a declared or read size past the
    limit is answered 413 and the rest is left unread."""

    def __init__(self, app, limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await PlainTextResponse(WEBHOOK_ANSWERS[413], status_code=413)(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def watched_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if not started:
                await PlainTextResponse(WEBHOOK_ANSWERS[413], status_code=413)(
                    scope, receive, send
                )


def build_app(
    database: Database,
    *,
    telegram: TelegramChannel | None = None,
    whatsapp: WhatsAppChannel | None = None,
) -> Starlette:
    """Return the ASGI app: /healthz always, /telegram/webhook when Telegram uses a webhook,
    /whatsapp/webhook when WhatsApp is served."""

    async def healthz(request: Request) -> Response:
        reachable = await asyncio.to_thread(ping, database)
        return JSONResponse(
            {"database": "ok" if reachable else "unreachable"},
            status_code=200 if reachable else 503,
        )

    async def telegram_webhook(request: Request) -> Response:
        body = await read_body(request, BODY_LIMIT)
        if body is None:
            return PlainTextResponse(WEBHOOK_ANSWERS[413], status_code=413)
        expected = telegram.settings.webhook_secret or ""
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            return PlainTextResponse("not JSON", status_code=400)
        if not isinstance(data, dict) or "update_id" not in data:
            return PlainTextResponse("not an update", status_code=400)
        if not telegram.application.running:  # shutting down: Telegram will send it again
            return PlainTextResponse("unavailable", status_code=503)
        await telegram.feed(data)  # handled in the background; Telegram gets its 200 at once
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
        # the signature is over the raw bytes, checked before anything is read from them;
        # a body larger than any of Meta's is refused before it is all read
        body = await read_body(request, BODY_LIMIT)
        if body is None:
            return PlainTextResponse(WEBHOOK_ANSWERS[413], status_code=413)
        status = whatsapp.receive(body, request.headers.get(SIGNATURE_HEADER))
        return PlainTextResponse(WEBHOOK_ANSWERS.get(status, "ok"), status_code=status)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if whatsapp is not None:
        routes.append(Route("/whatsapp/webhook", whatsapp_verify, methods=["GET"]))
        routes.append(Route("/whatsapp/webhook", whatsapp_webhook, methods=["POST"]))
    if telegram is not None and telegram.settings.webhook_url:
        routes.append(Route("/telegram/webhook", telegram_webhook, methods=["POST"]))
    return Starlette(routes=routes, middleware=[Middleware(BodyLimit, limit=BODY_LIMIT)])


class HttpServer:
    """uvicorn serving an app inside the running event loop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, lifespan="off", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start listening; return once the socket is open."""
        self._task = asyncio.create_task(self.server.serve())
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
