"""The HTTP server's webhooks against hostile bodies: a huge chunked body is refused while it
streams in, before the signature is checked; signed bodies of the wrong JSON types or nested
thousands deep get a 400, never a 500, and leave no traceback in the log."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request

from bot.channels.telegram import Settings as TelegramSettings
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import BODY_LIMIT, WhatsAppChannel
from bot.http import HttpServer, build_app, read_body
from tests.fake_telegram import FakeBotAPI
from tests.fake_whatsapp import APP_SECRET, FakeGraphAPI, sign
from tests.test_whatsapp import channel_settings

CHUNK = 64 << 10
HUGE = 20 << 20
SECRET = "rahasia-123"


@pytest.fixture
async def server(engine, database) -> AsyncIterator[HttpServer]:
    """The HTTP server with both webhooks, Telegram's and WhatsApp's, on fakes."""
    async with FakeGraphAPI() as graph, FakeBotAPI() as bot_api:
        whatsapp = WhatsAppChannel(channel_settings(graph), engine, database)
        telegram = TelegramChannel(
            TelegramSettings(
                token=bot_api.token,
                base_url=bot_api.base_url,
                webhook_url="https://warga.example/telegram/webhook",
                webhook_secret=SECRET,
            ),
            engine,
            database,
        )
        await whatsapp.start()
        await telegram.start()
        http = HttpServer(
            build_app(database, telegram=telegram, whatsapp=whatsapp), "127.0.0.1", 0
        )
        await http.start()
        try:
            yield http
        finally:
            await http.stop()
            await telegram.stop()
            await whatsapp.stop()


async def stream_chunked(port: int, path: str, total: int) -> tuple[int, int]:
    """POST `total` bytes in chunks without a Content-Length; return the status and how many
    bytes of the body went out before the answer came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    answer = asyncio.create_task(reader.readline())
    sent, chunk = 0, b" " * CHUNK
    try:
        while sent < total and not answer.done():
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
            await asyncio.sleep(0)
    except (ConnectionError, BrokenPipeError):
        pass  # the server hung up after its answer
    status_line = await asyncio.wait_for(answer, 10)
    writer.close()
    return int(status_line.split()[1]), sent


@pytest.mark.parametrize("path", ["/whatsapp/webhook", "/telegram/webhook"])
async def test_a_huge_chunked_body_is_refused_before_it_is_all_sent(server, path) -> None:
    status, sent = await stream_chunked(server.port, path, HUGE)
    assert status == 413
    assert sent < HUGE // 2  # answered long before the end (socket buffers hold the rest)


async def test_the_body_is_read_no_further_than_the_limit_and_one_chunk() -> None:
    delivered = 0

    async def receive() -> dict:
        nonlocal delivered
        delivered += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": delivered < HUGE}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    assert await read_body(request, BODY_LIMIT) is None
    assert delivered <= BODY_LIMIT + CHUNK


async def test_every_route_is_held_to_the_limit_even_one_that_reads_the_whole_body() -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.http import BodyLimit

    async def careless(request: Request) -> PlainTextResponse:  # no limit of its own
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(
        routes=[Route("/new", careless, methods=["POST"])],
        middleware=[Middleware(BodyLimit, limit=BODY_LIMIT)],
    )
    delivered, sent = 0, []

    async def receive() -> dict:
        nonlocal delivered
        delivered += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": delivered < HUGE}

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "http", "method": "POST", "path": "/new", "headers": []}, receive, send)
    assert sent[0]["status"] == 413
    assert delivered <= BODY_LIMIT + CHUNK
    small = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x")
    async with small:
        assert (await small.post("/new", content=b"12345")).text == "5"


async def test_a_declared_length_over_the_limit_is_not_read_at_all() -> None:
    async def receive() -> dict:
        raise AssertionError("read")

    headers = [(b"content-length", str(BODY_LIMIT + 1).encode())]
    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    assert await read_body(request, BODY_LIMIT) is None


def wrong_types() -> list[object]:
    """Signed WhatsApp deliveries whose fields have the wrong JSON types, or nest deep."""
    deep = "[" * 100_000 + "]" * 100_000
    message = {"from": "6281234567890", "id": "wamid.X", "timestamp": "1767225600"}
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"}}

    def delivery(value: object) -> dict:
        change = {"field": "messages", "value": value}
        return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}

    return [
        deep,
        json.dumps({"object": "whatsapp_business_account", "entry": "string"}),
        json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": {"a": 1}}]}),
        json.dumps(delivery("a string")),
        json.dumps(delivery({**value, "metadata": "string"})),
        json.dumps(delivery({**value, "messages": "string"})),
        json.dumps(delivery({**value, "messages": [{**message, "type": "text", "text": "x"}]})),
        json.dumps(delivery({**value, "messages": [{**message, "type": "text", "text": [1]}]})),
        json.dumps(delivery({**value, "messages": [{**message, "from": 628123, "type": "text"}]})),
        json.dumps(
            delivery(
                {
                    **value,
                    "messages": [
                        {**message, "type": "interactive", "interactive": ["button_reply"]}
                    ],
                }
            )
        ),
        json.dumps(
            delivery({**value, "messages": [{**message, "type": "location", "location": "here"}]})
        ),
        json.dumps(
            delivery(
                {
                    **value,
                    "messages": [{**message, "type": "contacts", "contacts": {"phones": "x"}}],
                }
            )
        ),
        json.dumps(
            delivery({**value, "messages": [{**message, "type": "reaction", "reaction": "x"}]})
        ),
        json.dumps(delivery({**value, "contacts": "x", "statuses": [{"id": 1, "errors": "x"}]})),
        json.dumps(
            delivery(
                {**value, "statuses": [{"id": "w", "status": "failed", "errors": {"code": 1}}]}
            )
        ),
        json.dumps(delivery({**value, "messages": [[message]], "statuses": [None, 1]})),
    ]


async def test_signed_bodies_of_wrong_types_get_no_500_and_no_traceback(server, caplog) -> None:
    url = f"http://127.0.0.1:{server.port}/whatsapp/webhook"
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(timeout=10) as http:
        for body in wrong_types():
            raw = body.encode()
            response = await http.post(
                url, content=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
            )
            assert response.status_code in (200, 400), body[:200]
    await asyncio.sleep(0.2)  # whatever was accepted is handled in the background
    assert not [record for record in caplog.records if record.exc_info], "a traceback"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_telegram_bodies_of_wrong_types_get_no_500_and_no_traceback(server, caplog) -> None:
    url = f"http://127.0.0.1:{server.port}/telegram/webhook"
    caplog.set_level(logging.DEBUG)
    bodies = [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"update_id": "7", "message": {}}),
        json.dumps({"update_id": 8, "message": "string"}),
        json.dumps({"update_id": 9, "message": {"chat": [1], "from": 5, "text": {"a": 1}}}),
        json.dumps({"update_id": 10, "callback_query": {"from": "x", "data": 5}}),
        json.dumps([{"update_id": 11}]),
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        for body in bodies:
            response = await http.post(
                url, content=body.encode(), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert response.status_code in (200, 400), body[:200]
    await asyncio.sleep(0.2)
    assert not [record for record in caplog.records if record.exc_info], "a traceback"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
