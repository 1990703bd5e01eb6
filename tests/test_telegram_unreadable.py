"""Updates python-telegram-bot 22 cannot read (tests/fixtures/telegram/unreadable: polls and
poll answers from before Bot API 9.6, an old document thumbnail, an old chat member, the
webhook guide's sample without is_bot), by polling against the fake Bot API and by webhook:
each is skipped with one warning naming its id and type, the next resident is answered, the
offset moves past it, and nothing of its content reaches the log."""

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram import Settings, TelegramChannel
from bot.channels.telegram_reading import readable_batch, update_type
from bot.http import HttpServer, build_app
from tests import telegram_updates as tg
from tests.fake_telegram import FakeBotAPI

UNREADABLE = Path(__file__).parent / "fixtures" / "telegram" / "unreadable"
FIXTURES = sorted(UNREADABLE.glob("*.json"))
# what of the residents the fixtures carry: none of it may reach a log line
PERSONAL = (
    "Siti",
    "Aminah",
    "sitiaminah",
    "Budi",
    "Santoso",
    "Kerja bakti",
    "Sabtu pagi",
    "Minggu pagi",
    "surat_pengantar",
    "Surat pengantar",
    "Test Firstname",
    "Test Lastname",
    "Testusername",
    "/start",
)
SECRET = "rahasia-123"
WARGA = 2002  # the resident writing after the unreadable update


def unreadable(path: Path, update_id: int) -> dict:
    return {"update_id": update_id, **json.loads(path.read_text("utf-8"))}


def good_message(update_id: int) -> dict:
    """A resident's hello, under a name that is in none of the fixtures."""
    update = {"update_id": update_id, **tg.text("halo", user_id=WARGA)}
    update["message"]["from"]["first_name"] = update["message"]["chat"]["first_name"] = "Warga"
    return update


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the log got: messages and tracebacks."""
    return "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records)


def check_the_log(caplog: pytest.LogCaptureFixture, path: Path, update_id: int) -> None:
    """One warning for the skipped update, with its id and type; nothing of its content."""
    kind = next(key for key in json.loads(path.read_text("utf-8")))
    skipped = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(skipped) == 1
    assert skipped[0].levelno == logging.WARNING
    assert f"update_id={update_id}" in skipped[0].getMessage()
    assert f"type={kind}" in skipped[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    text = logged(caplog)
    assert not [word for word in PERSONAL if word in text]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
async def test_polling_skips_an_unreadable_update_and_serves_the_rest(
    engine, database, caplog: pytest.LogCaptureFixture, path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI() as fake:
        fake.push_update(unreadable(path, 500))
        fake.push_update(good_message(501))
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        try:
            await fake.wait_for(lambda f: bool(f.sent_texts(WARGA)))
            await asyncio.sleep(0.5)  # a busy loop would make hundreds of calls by now
            assert len(fake.calls("getUpdates")) <= 5
            later = [c for c in fake.calls("getUpdates") if int(c.params.get("offset") or 0)]
            assert later and int(later[-1].params["offset"]) == 502  # confirmed both
        finally:
            await channel.stop()
    check_the_log(caplog, path, 500)


async def test_an_unreadable_update_last_in_the_batch_is_confirmed_too(engine, database) -> None:
    async with FakeBotAPI() as fake:
        fake.push_update(good_message(600))
        fake.push_update(unreadable(UNREADABLE / "poll_answer_without_persistent_ids.json", 601))
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        try:
            await fake.wait_for(lambda f: bool(f.sent_texts(WARGA)))
            await fake.wait_for(
                lambda f: any(
                    int(c.params.get("offset") or 0) == 602 for c in f.calls("getUpdates")
                )
            )
            before = len(fake.sent_texts(WARGA))
            fake.push_update(good_message(602))
            await fake.wait_for(lambda f: len(f.sent_texts(WARGA)) > before)
            assert len(fake.calls("getUpdates")) <= 6
        finally:
            await channel.stop()


@asynccontextmanager
async def webhook(engine, database):
    """The Telegram channel by webhook on the program's HTTP server, against the fake Bot API;
    yield the fake and a function that posts an update to the webhook."""
    async with FakeBotAPI() as fake:
        channel = TelegramChannel(
            Settings(
                token=fake.token,
                base_url=fake.base_url,
                webhook_url="https://warga.example/telegram/webhook",
                webhook_secret=SECRET,
            ),
            engine,
            database,
        )
        await channel.start()
        server = HttpServer(build_app(database, telegram=channel), "127.0.0.1", 0)
        await server.start()
        url = f"http://127.0.0.1:{server.port}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            async with httpx.AsyncClient() as client:

                async def post(update: dict) -> httpx.Response:
                    return await client.post(url, json=update, headers=headers)

                yield fake, post
        finally:
            await server.stop()
            await channel.stop()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
async def test_the_webhook_skips_an_unreadable_update_and_serves_the_next(
    engine, database, caplog: pytest.LogCaptureFixture, path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    async with webhook(engine, database) as (fake, post):
        bad, good = await post(unreadable(path, 700)), await post(good_message(701))
        # a 200 for the unreadable one too: sent again, it would fail again
        assert (bad.status_code, good.status_code) == (200, 200)
        await fake.wait_for(lambda f: bool(f.sent_texts(WARGA)))
    check_the_log(caplog, path, 700)


def test_a_batch_keeps_the_bare_id_of_what_cannot_be_read() -> None:
    bad = unreadable(UNREADABLE / "webhook_guide_without_is_bot.json", 10000)
    good = good_message(10001)
    assert readable_batch([bad, good]) == [{"update_id": 10000}, good]
    assert readable_batch([{"message": {}}, "junk", good]) == [good]


def test_the_type_named_is_a_field_name_only() -> None:
    assert update_type({"update_id": 1, "poll_answer": {}}) == "poll_answer"
    assert update_type({"update_id": 1, "Siti Aminah 0812": {}}) == "unknown"
    assert update_type({"update_id": 1, "x" * 80: {}}) == "unknown"
    assert update_type({"update_id": 1}) == "none"


def private_text(text) -> dict:
    update = good_message(800)
    update["message"]["text"] = text
    return update


@pytest.mark.parametrize(
    "update",
    [
        private_text({"body": "Siti Aminah"}),
        private_text(["Siti Aminah"]),
        private_text(12345),
        {**good_message(800), "message": {**good_message(800)["message"], "chat": "Siti"}},
        {**good_message(800), "message": {**good_message(800)["message"], "from": ["Siti"]}},
        {
            "update_id": 800,
            "callback_query": {
                **tg.callback("lang:id", user_id=WARGA)["callback_query"],
                "data": {"Siti": 1},
            },
        },
    ],
)
async def test_the_webhook_skips_an_update_with_wrong_types_without_a_traceback(
    engine, database, caplog: pytest.LogCaptureFixture, update: dict
) -> None:
    caplog.set_level(logging.INFO)
    async with webhook(engine, database) as (fake, post):
        bad, good = await post(update), await post(good_message(801))
        assert (bad.status_code, good.status_code) == (200, 200)
        await fake.wait_for(lambda f: len(f.sent_texts(WARGA)) >= 1)
        await asyncio.sleep(0.2)
        assert len(fake.sent_texts(WARGA)) == 1  # the hello only
    skipped = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(skipped) == 1 and "update_id=800" in skipped[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Siti" not in logged(caplog)
