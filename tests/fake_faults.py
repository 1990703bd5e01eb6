"""Faults for the fake servers (tests/fake_telegram.py, tests/fake_whatsapp.py): what a real
network and a real platform do to a client now and then.

Every fake has a ``faults`` (a `Faults`); nothing happens until a mode is switched on:

- ``refuse(seconds)``: stop listening (a client's connect gets ECONNREFUSED) and cut every open
  connection; listening again after `seconds`, or at ``heal()``.
- ``drop_at_accept(seconds)``: keep listening, but reset each connection as soon as it is
  accepted (and each request on a connection opened before).
- ``reset_before_read()``: read the request, then reset the connection without handling it:
  the message did **not** arrive.
- ``reset_after_record()``: handle the request (the fake records the message), then reset the
  connection instead of answering: the message **did** arrive, but the client cannot know.
- ``black_hole(seconds)``: accept and read, never answer; a request in hand is cut when the
  black hole ends (if its client has not given up before).
- ``server_errors(status)``: answer 5xx without handling the request (did not arrive).

Each takes `paths` (handle only requests whose path contains one of them, e.g.
``("sendMessage",)``), `times` (only the next that many requests) and `one_in` (only every
n-th matching request). ``faulted`` counts the requests each mode took.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import uvicorn
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

NONE = "none"
REFUSE = "refuse"
DROP_AT_ACCEPT = "drop_at_accept"
RESET_BEFORE_READ = "reset_before_read"
RESET_AFTER_RECORD = "reset_after_record"
BLACK_HOLE = "black_hole"
SERVER_ERROR = "server_error"
MODES = (
    NONE,
    REFUSE,
    DROP_AT_ACCEPT,
    RESET_BEFORE_READ,
    RESET_AFTER_RECORD,
    BLACK_HOLE,
    SERVER_ERROR,
)


class Delivered(NamedTuple):
    """One message a fake accepted for a chat (a Telegram chat id or a WhatsApp wa_id)."""

    chat: str
    text: str
    at: float  # time.monotonic() on arrival


def by_chat(deliveries: Iterable[Delivered]) -> dict[str, list[Delivered]]:
    """Group deliveries by chat, each chat's in arrival order."""
    chats: dict[str, list[Delivered]] = {}
    for delivery in deliveries:
        chats.setdefault(delivery.chat, []).append(delivery)
    return chats


def reset(transport: asyncio.BaseTransport) -> None:
    """Close a connection with a TCP reset (RST, not FIN), dropping anything unsent."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass
class Faults:
    """The fault mode of one fake server, and the connections it can cut."""

    mode: str = NONE
    paths: tuple[str, ...] = ()  # only requests whose path contains one of these; (): all
    times: int | None = None  # requests left to fault; None: no limit
    one_in: int = 1  # fault every n-th matching request
    status: int = 502  # for SERVER_ERROR
    until: float | None = None  # time.monotonic() when the mode ends by itself
    faulted: Counter[str] = field(default_factory=Counter)
    _seen: int = 0
    _transports: dict[Any, asyncio.BaseTransport] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _port: int = 0
    _paused: list[Any] = field(default_factory=list)  # listening servers closed by REFUSE
    _ended: asyncio.Event | None = None  # set when the current mode ends (black holes wait)
    _timer: asyncio.TimerHandle | None = None

    # --- wiring into a fake ----------------------------------------------------------------

    def protocol(self) -> type[H11Protocol]:
        """The HTTP protocol class for uvicorn.Config(http=...): h11, with connections
        tracked so that a fault can cut them."""
        faults = self

        class TrackedH11Protocol(H11Protocol):
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                faults._transports[transport.get_extra_info("peername")] = transport
                if faults._active() == DROP_AT_ACCEPT:
                    faults.faulted[DROP_AT_ACCEPT] += 1
                    reset(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                faults._transports.pop(self.transport.get_extra_info("peername"), None)
                super().connection_lost(exc)

        return TrackedH11Protocol

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The fake's ASGI app with the faults in front of it."""
        return _FaultMiddleware(app, self)

    def attach(self, server: uvicorn.Server) -> None:
        """Remember the started server (to stop and resume listening)."""
        self._server = server
        self._port = server.servers[0].sockets[0].getsockname()[1]

    # --- switching -------------------------------------------------------------------------

    def refuse(self, seconds: float | None = None, **which: Any) -> None:
        """Stop listening and close every open connection, for `seconds` or until heal()."""
        self._switch(REFUSE, seconds, **which)
        self._stop_listening()
        self.cut_all()

    def drop_at_accept(self, seconds: float | None = None, **which: Any) -> None:
        """Reset every connection as soon as it is accepted."""
        self._switch(DROP_AT_ACCEPT, seconds, **which)
        self.cut_all()

    def reset_before_read(self, seconds: float | None = None, **which: Any) -> None:
        """Read each request, then reset its connection unhandled (not arrived)."""
        self._switch(RESET_BEFORE_READ, seconds, **which)

    def reset_after_record(self, seconds: float | None = None, **which: Any) -> None:
        """Handle each request, then reset its connection instead of answering (arrived)."""
        self._switch(RESET_AFTER_RECORD, seconds, **which)

    def black_hole(self, seconds: float | None = None, **which: Any) -> None:
        """Read each request and never answer it; cut it when the black hole ends."""
        self._switch(BLACK_HOLE, seconds, **which)

    def server_errors(self, status: int = 502, seconds: float | None = None, **which: Any) -> None:
        """Answer `status` without handling the request (not arrived)."""
        self._switch(SERVER_ERROR, seconds, **which)
        self.status = status

    def heal(self) -> None:
        """End any fault: listen again, answer normally, release black-holed requests."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.mode, self.until = NONE, None
        if self._ended is not None:
            self._ended.set()
            self._ended = None
        if self._paused:
            asyncio.get_running_loop().create_task(self._listen_again())

    def cut_all(self) -> None:
        """Close every open connection (idle keep-alive ones too) as a server going away
        does (FIN): a client sees an idle one closed before reusing it and connects anew."""
        for transport in list(self._transports.values()):
            transport.close()

    @property
    def listening(self) -> bool:
        """False while REFUSE has the listening socket closed."""
        return not self._paused

    async def wait_listening(self, timeout: float = 5.0) -> None:
        """Wait until the server listens again after heal()."""
        deadline = time.monotonic() + timeout
        while self._paused and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    # --- inner workings --------------------------------------------------------------------

    def _switch(
        self,
        mode: str,
        seconds: float | None,
        *,
        paths: Iterable[str] = (),
        times: int | None = None,
        one_in: int = 1,
    ) -> None:
        """Set the mode and its scope; end it after `seconds` if given."""
        if self.mode != NONE:
            self.heal()
        self.mode, self.paths, self.times, self.one_in = mode, tuple(paths), times, one_in
        self._seen = 0
        self._ended = asyncio.Event()
        self.until = None if seconds is None else time.monotonic() + seconds
        if seconds is not None:
            self._timer = asyncio.get_running_loop().call_later(seconds, self.heal)

    def _active(self) -> str:
        """The mode in force now."""
        if self.until is not None and time.monotonic() >= self.until:
            return NONE
        return self.mode

    def take(self, path: str) -> str:
        """The fault mode for a request to `path` (NONE: handle it normally)."""
        mode = self._active()
        if mode == NONE or (self.paths and not any(part in path for part in self.paths)):
            return NONE
        self._seen += 1
        if self._seen % self.one_in:
            return NONE
        if self.times is not None:
            if self.times <= 0:
                return NONE
            self.times -= 1
        self.faulted[mode] += 1
        return mode

    async def wait_end(self) -> None:
        """Wait until the current mode ends (heal() or its seconds)."""
        if self._ended is not None:
            await self._ended.wait()

    def transport_of(self, scope: Scope) -> asyncio.BaseTransport | None:
        """The connection a request came on."""
        client = scope.get("client")
        return self._transports.get(tuple(client)) if client else None

    def _stop_listening(self) -> None:
        """Close the listening sockets; open connections stay until cut."""
        if self._server is None or self._paused:
            return
        for listener in self._server.servers:
            listener.close()
            self._paused.append(listener)

    async def _listen_again(self) -> None:
        """Listen on the same port again, with the same protocol."""
        if self._server is None or not self._paused or self._active() == REFUSE:
            return
        factory = self._paused[0]._protocol_factory  # asyncio.Server keeps the factory
        self._paused.clear()
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(factory, host="127.0.0.1", port=self._port)
        self._server.servers.append(listener)


async def _drain_body(receive: Receive) -> None:
    """Read the request's body to its end."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _send_nothing(message: Any) -> None:
    """Swallow a response (RESET_AFTER_RECORD)."""


class _FaultMiddleware:
    """ASGI middleware applying the fake's fault mode to each request."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mode = self.faults.take(scope["path"]) if scope["type"] == "http" else NONE
        if mode == NONE:
            with contextlib.suppress(ClientDisconnect):  # the client left (killed): nothing came
                await self.app(scope, receive, send)
            return
        if mode == RESET_AFTER_RECORD:
            await self.app(scope, receive, _send_nothing)
        elif mode == SERVER_ERROR:
            await _drain_body(receive)
            await _error_response(send, self.faults.status)
            return
        else:
            await _drain_body(receive)
            if mode == BLACK_HOLE:
                await self.faults.wait_end()
        transport = self.faults.transport_of(scope)
        if transport is not None:
            reset(transport)
        for _ in range(3):  # let connection_lost mark the request disconnected
            await asyncio.sleep(0)


async def _error_response(send: Send, status: int) -> None:
    """A short 5xx answer, as a proxy in front of a platform gives."""
    body = b"<html><body><h1>%d Bad Gateway</h1></body></html>" % status
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})
