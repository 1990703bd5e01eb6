"""The HTTP server's bounds, over real HTTP on 127.0.0.1: a body past the limit is refused while
it comes in (a chunked one has no Content-Length to look at), on every endpoint and before any
signature is checked; a signed WhatsApp delivery with the wrong types of values, and a
Telegram update that is not an object of objects, get 400, as does JSON nested thousands deep,
with no traceback in the log."""

import asyncio
import copy
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram import Settings as TelegramSettings
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import Settings as WhatsAppSettings
from bot.channels.whatsapp import WhatsAppChannel
from bot.channels.whatsapp_shapes import misshapen
from bot.http import BODY_LIMIT, HttpServer, build_app
from bot.json_bodies import read_json
from tests import telegram_updates as tg
from tests.fake_telegram import FakeBotAPI
from tests.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraphAPI,
    load,
    sign,
    webhook_body,
)

SECRET = "rahasia-123"
CHUNK = 64 * 1024
HUGE = 20 << 20  # 20 MiB


class Counting:
    """An ASGI app in front of another, counting the body bytes the other one took in."""

    def __init__(self, app) -> None:
        self.app = app
        self.taken = 0

    async def __call__(self, scope, receive, send) -> None:
        async def counted():
            message = await receive()
            self.taken += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Served:
    """Both webhooks on one server, the fakes behind them, and the byte counter."""

    port: int
    counting: Counting
    whatsapp: FakeGraphAPI
    telegram: FakeBotAPI
    http: httpx.AsyncClient

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def post_whatsapp(self, body: bytes) -> httpx.Response:
        """POST a body signed with the app secret, as Meta would."""
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body, APP_SECRET),
        }
        return await self.http.post(self.url("/whatsapp/webhook"), content=body, headers=headers)

    async def post_telegram(self, body: bytes) -> httpx.Response:
        """POST a body with the webhook's secret token, as Telegram would."""
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        return await self.http.post(self.url("/telegram/webhook"), content=body, headers=headers)


@pytest.fixture
async def served(engine, database) -> AsyncIterator[Served]:
    """WhatsApp and Telegram (by webhook) behind one HTTP server, on fresh fakes."""
    async with FakeGraphAPI() as graph, FakeBotAPI() as bot_api:
        whatsapp = WhatsAppChannel(
            WhatsAppSettings(
                token=TOKEN,
                phone_number_id=PHONE_NUMBER_ID,
                app_secret=APP_SECRET,
                verify_token="verify",
                base_url=graph.base_url,
            ),
            engine,
            database,
        )
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
        counting = Counting(build_app(database, telegram=telegram, whatsapp=whatsapp))
        server = HttpServer(counting, "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                yield Served(server.port, counting, graph, bot_api, http)
        finally:
            await server.stop()
            await telegram.stop()
            await whatsapp.stop()


async def post_chunked(
    port: int, path: str, total: int, method: str = "POST"
) -> tuple[bytes, int]:
    """Send `total` bytes of JSON whitespace as a chunked body, stopping once an answer comes;
    return the answer's status line and how many body bytes went out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nX-Hub-Signature-256: sha256=00\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n".encode()
    )
    answer = asyncio.create_task(reader.readline())
    sent = 0
    piece = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    try:
        while sent < total and not answer.done():
            writer.write(piece)
            await writer.drain()
            sent += CHUNK
        if sent >= total:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except ConnectionError:  # the server closed the connection: the rest is not read
        pass
    try:
        status = await asyncio.wait_for(answer, 10)
    except ConnectionResetError:
        # the server answered and closed while the client was still writing: the kernel's
        # reset can overtake the answer on a busy machine, and then only the reset is seen
        status = RESET
    finally:
        writer.close()
    return status, sent


RESET = b"(reset after the server closed)"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/whatsapp/webhook"),
        ("POST", "/telegram/webhook"),
        ("POST", "/healthz"),
        ("POST", "/anything/else"),
        ("GET", "/whatsapp/webhook"),
        ("PUT", "/telegram/webhook"),
    ],
)
async def test_a_huge_chunked_body_is_refused_while_it_comes_in(
    served: Served, method: str, path: str
) -> None:
    status, sent = await post_chunked(served.port, path, HUGE, method)
    assert status.startswith(b"HTTP/1.1 413") or status == RESET
    # the server took in at most the limit and what came with the chunk that passed it
    assert served.counting.taken <= BODY_LIMIT + 4 * CHUNK
    assert sent < HUGE // 2  # and stopped reading: the client could not send the rest
    assert served.whatsapp.sent == [] and served.telegram.sent_texts() == []


async def test_a_chunked_body_within_the_limit_is_still_read(served: Served) -> None:
    status, sent = await post_chunked(served.port, "/whatsapp/webhook", BODY_LIMIT - CHUNK)
    assert status.startswith(b"HTTP/1.1 403")  # read in full, then the signature is wrong
    assert served.counting.taken == sent


async def test_a_declared_length_past_the_limit_is_refused_unread(served: Served) -> None:
    huge = b" " * (BODY_LIMIT + 1)
    response = await served.post_telegram(huge)
    assert response.status_code == 413
    assert served.counting.taken == 0


def whatsapp_fixture(kind: str) -> dict:
    payload = load(kind)
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_NUMBER_ID
    return payload


def value_of(payload: dict) -> dict:
    return payload["entry"][0]["changes"][0]["value"]


def set_at(kind: str, path: str, wrong) -> dict:
    """The fixture `kind` with `wrong` put at `path` (dotted keys, numbers for list items;
    `value.` is short for entry[0].changes[0].value)."""
    payload = whatsapp_fixture(kind)
    path = (
        path.replace("value.", "entry.0.changes.0.value.", 1)
        if path.startswith("value.")
        else path
    )
    if path == "value":
        path = "entry.0.changes.0.value"
    *parents, last = path.split(".")
    place = payload
    for step in parents:
        place = place[int(step)] if isinstance(place, list) else place[step]
    if isinstance(place, list):
        place[int(last)] = copy.deepcopy(wrong)
    else:
        place[last] = copy.deepcopy(wrong)
    return payload


WRONG_TYPES = [
    ("text", "entry", "entry"),
    ("text", "entry", {"id": "1"}),
    ("text", "entry.0", "entry"),
    ("text", "entry.0.changes", 42),
    ("text", "entry.0.changes.0", ["messages"]),
    ("text", "value", "value"),
    ("text", "value", [1, 2]),
    ("text", "value.metadata", "104857362918273"),
    ("text", "value.contacts", "Siti Rahayu"),
    ("text", "value.contacts.0", "6281234567890"),
    ("text", "value.contacts.0.profile", ["Siti Rahayu"]),
    ("text", "value.messages", {"from": "6281234567890"}),
    ("text", "value.messages", "halo"),
    ("text", "value.messages.0", "halo"),
    ("text", "value.messages.0", 7),
    ("text", "value.messages.0.text", "halo"),
    ("text", "value.messages.0.text", ["halo"]),
    ("text", "value.messages.0.text.body", {"body": "halo"}),
    ("text", "value.messages.0.from", ["6281234567890"]),
    ("interactive_button_reply", "value.messages.0.interactive", "button_reply"),
    ("interactive_button_reply", "value.messages.0.interactive.button_reply", "lang:id"),
    ("interactive_list_reply", "value.messages.0.interactive.list_reply", ["kel:1"]),
    ("location", "value.messages.0.location", "-6.2,106.9"),
    ("location", "value.messages.0.location", [-6.2, 106.9]),
    ("location", "value.messages.0.location.latitude", {"deg": -6.2}),
    ("contacts", "value.messages.0.contacts", {"phones": []}),
    ("contacts", "value.messages.0.contacts.0", "Budi"),
    ("contacts", "value.messages.0.contacts.0.phones", "+62 812"),
    ("contacts", "value.messages.0.contacts.0.phones.0", "+62 812"),
    ("image", "value.messages.0.image", "media-id"),
    ("reaction", "value.messages.0.reaction", ["👍"]),
    ("status_delivered", "value.statuses", "delivered"),
    ("status_delivered", "value.statuses.0", 1),
    ("status_failed_131026", "value.statuses.0.errors", "131026"),
    ("status_failed_131026", "value.statuses.0.errors.0", 131026),
]


@pytest.mark.parametrize(("kind", "path", "wrong"), WRONG_TYPES)
async def test_a_signed_delivery_with_a_wrong_type_gets_400(
    served: Served, caplog: pytest.LogCaptureFixture, kind: str, path: str, wrong
) -> None:
    caplog.set_level(logging.INFO)
    response = await served.post_whatsapp(webhook_body(set_at(kind, path, wrong)))
    assert response.status_code == 400
    await asyncio.sleep(0.05)
    assert served.whatsapp.sent == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("body", [b"[]", b'"whatsapp_business_account"', b"42", b"null", b"true"])
async def test_a_signed_body_that_is_no_object_gets_400(served: Served, body: bytes) -> None:
    assert (await served.post_whatsapp(body)).status_code == 400
    assert (await served.post_telegram(body)).status_code == 400


def nested(depth: int) -> bytes:
    """A delivery with an unknown field nested `depth` arrays deep."""
    envelope = webhook_body(whatsapp_fixture("text"))
    return envelope[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
async def test_json_nested_deep_gets_400_without_a_traceback(
    served: Served, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    caplog.set_level(logging.INFO)
    assert (await served.post_whatsapp(nested(depth))).status_code == 400
    update = json.dumps({"update_id": 9, **tg.text("halo")}).encode()
    deep_update = update[:-1] + b',"extra":' + b"{}".join([b"[" * depth, b"]" * depth]) + b"}"
    assert (await served.post_telegram(deep_update)).status_code == 400
    bare = b"[" * depth + b"]" * depth
    assert (await served.post_telegram(bare)).status_code == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert served.whatsapp.sent == [] and served.telegram.sent_texts() == []


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": "9", "message": {}},
        {"update_id": True, "message": {}},
        {"message": {"text": "halo"}},
        {"update_id": 9, "message": "halo"},
        {"update_id": 9, "callback_query": ["lang:id"]},
        {"update_id": 9, "message": 5},
    ],
)
async def test_a_telegram_body_that_is_no_update_gets_400(
    served: Served, caplog: pytest.LogCaptureFixture, update: dict
) -> None:
    caplog.set_level(logging.INFO)
    assert (await served.post_telegram(json.dumps(update).encode())).status_code == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_well_formed_delivery_still_gets_an_answer(served: Served) -> None:
    response = await served.post_whatsapp(webhook_body(whatsapp_fixture("text")))
    assert response.status_code == 200
    await served.whatsapp.wait_for(lambda fake: bool(fake.sent))


FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_real_delivery_follows_the_outline(path: Path) -> None:
    assert misshapen(json.loads(path.read_text("utf-8"))) is None


def test_the_depth_is_measured_without_recursion() -> None:
    assert read_json(b"[" * 65 + b"]" * 65) is None
    assert read_json(b"[" * 64 + b"]" * 64) is not None
    assert read_json(b'{"a": 1}') == {"a": 1}
    assert read_json(b"\xff") is None
