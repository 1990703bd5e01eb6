"""The Telegram fixtures parse with PTB, and the fake Bot API serves the real PTB."""

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, TelegramObject, Update
from telegram.error import Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from tests import telegram_updates as updates
from tests.fake_telegram import FakeBotAPI

FIXTURE_NAMES = sorted(path.stem for path in updates.FIXTURES.glob("*.json"))
OFFLINE_BOT = Bot("123456:TEST-TOKEN")


def unknown_fields(obj: object, path: str = "update") -> list[str]:
    """Paths of fields PTB did not recognise (kept in api_kwargs), anywhere in `obj`."""
    if isinstance(obj, tuple | list):
        return [f for i, item in enumerate(obj) for f in unknown_fields(item, f"{path}[{i}]")]
    if not isinstance(obj, TelegramObject) or isinstance(obj, Bot):
        return []
    found = [f"{path}.{key}" for key in obj.api_kwargs]
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot not in ("_bot", "api_kwargs"):
                found += unknown_fields(getattr(obj, slot, None), f"{path}.{slot}")
    return found


def parse(data: dict[str, Any]) -> Update:
    """Parse an update as PTB does, numbering it when it has no update_id."""
    update = Update.de_json({"update_id": 1, **data}, OFFLINE_BOT)
    assert unknown_fields(update) == []
    return update


def test_fixture_files_are_all_there() -> None:
    assert set(FIXTURE_NAMES) == {
        "text",
        "command_start",
        "callback_query",
        "contact_own",
        "contact_other",
        "location",
        "sticker",
        "photo",
        "voice",
        "document",
        "poll",
        "edited_message",
        "group_text",
        "forum_topic_text",
        "my_chat_member_kicked",
        "my_chat_member_member",
        "video",
        "audio",
    }
    assert Path(updates.FIXTURES).is_dir()


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_parses(name: str) -> None:
    data = updates.load(name)
    assert "update_id" not in data
    update = parse(data)
    assert update.effective_user is not None
    assert update.effective_user.id == 1001
    assert update.effective_chat is not None
    groups = {"group_text": -100123, "forum_topic_text": -100456}
    assert update.effective_chat.id == groups.get(name, 1001)


def test_builders_parse_and_fill_in() -> None:
    start = parse(updates.text("/start ref", user_id=7, language_code=None)).message
    assert start is not None and start.text == "/start ref" and start.from_user is not None
    assert start.chat.id == 7 and start.from_user.language_code is None
    assert start.entities[0].type == "bot_command" and start.entities[0].length == 6
    first, second = updates.text("a"), updates.text("a")
    assert first["message"]["message_id"] != second["message"]["message_id"]
    query = parse(updates.callback("lang:en", message_id=9)).callback_query
    assert query is not None and query.data == "lang:en" and query.message is not None
    assert query.message.message_id == 9
    ids = {updates.callback("x")["callback_query"]["id"] for _ in range(3)}
    assert len(ids) == 3
    own = parse(updates.contact("6281111", user_id=5)).message
    assert own is not None and own.contact is not None and own.contact.user_id == 5
    other = parse(updates.contact("6282222", contact_user_id=2002)).message
    assert other is not None and other.contact is not None and other.contact.user_id == 2002
    place = parse(updates.location(-6.2, 106.9)).message
    assert place is not None and place.location is not None and place.location.latitude == -6.2
    for kind in updates.MEDIA_KINDS:
        message = parse(updates.media(kind, user_id=42)).message
        assert message is not None and message.chat.id == 42
        assert getattr(message, kind)
    edited = parse(updates.edited("ralat")).edited_message
    assert edited is not None and edited.text == "ralat" and edited.edit_date is not None
    in_group = parse(updates.group("halo", user_id=9)).message
    assert in_group is not None and in_group.chat.type == "supergroup"
    assert in_group.from_user is not None and in_group.from_user.id == 9
    with pytest.raises(ValueError, match="unknown media kind"):
        updates.media("gif")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


def build_application(fake: FakeBotAPI) -> Application:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .get_updates_read_timeout(2)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


async def test_real_application_polls_and_replies(fake: FakeBotAPI) -> None:
    application = build_application(fake)
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    await application.start()
    try:
        update_id = fake.push_update(updates.text("halo"))
        await fake.wait_for(lambda f: f.sent_texts(1001) == ["echo: halo"])
        # the same update again, after PTB confirmed the first: delivered a second time
        await fake.wait_for(
            lambda f: any(c.params.get("offset") == update_id + 1 for c in f.calls("getUpdates"))
        )
        assert fake.push_update(updates.load("text") | {"update_id": update_id}) == update_id
        await fake.wait_for(lambda f: len(f.sent_texts()) == 2)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert [c.method for c in fake.requests[:2]] == ["getMe", "deleteWebhook"]
    sent = fake.calls("sendMessage")[0].params
    assert sent["chat_id"] == 1001 and sent["text"] == "echo: halo"
    assert fake.get_updates_count == len(fake.calls("getUpdates")) >= 2


async def test_long_poll_waits_then_answers_empty(fake: FakeBotAPI) -> None:
    async with httpx.AsyncClient() as client:
        url = f"{fake.base_url}{fake.token}/getUpdates"
        started = asyncio.get_running_loop().time()
        answer = (await client.post(url, data={"timeout": "0.3"})).json()
        assert answer == {"ok": True, "result": []}
        assert asyncio.get_running_loop().time() - started >= 0.25
        waiting = asyncio.create_task(client.get(url, params={"timeout": "5", "offset": "0"}))
        await fake.wait_for_calls("getUpdates", 2)
        fake.push_update({"message": updates.text("cepat")["message"], "update_id": 7})
        assert [u["update_id"] for u in (await waiting).json()["result"]] == [7]
        wrong = await client.post(f"{fake.base_url}0:WRONG/getMe")
        assert wrong.status_code == 401 and wrong.json()["description"] == "Unauthorized"
        missing = await client.post(f"{fake.base_url}{fake.token}/sendDice", json={"chat_id": 1})
        assert missing.status_code == 404
        assert missing.json()["description"] == "Not Found: method not found"
    assert fake.calls("sendDice")[0].failed and fake.calls("sendDice")[0].params == {"chat_id": 1}


async def test_fail_next_raises_in_ptb(fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning
    fake.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
    )
    fake.fail_next(
        "sendMessage",
        error_code=403,
        description="Forbidden: bot was blocked by the user",
        times=2,
    )
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        with pytest.raises(RetryAfter) as limited:
            await bot.send_message(1001, "satu")
        assert limited.value.retry_after == dtm.timedelta(seconds=3)
        for _ in range(2):
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(1001, "dua")
        message = await bot.send_message(
            1001,
            "42",
            reply_markup={"inline_keyboard": [[{"text": "Ya", "callback_data": "yes"}]]},
        )
        assert message.text == "42" and message.reply_markup is not None
        edited = await bot.edit_message_text("43", chat_id=1001, message_id=message.message_id)
        assert isinstance(edited, type(message)) and edited.text == "43"
        await bot.set_webhook(
            "https://example.invalid/hook",
            secret_token="s3cret",
            allowed_updates=["message", "callback_query"],
        )
    assert [c.failed for c in fake.calls("sendMessage")] == [True, True, True, False]
    assert fake.calls("sendMessage")[-1].params["text"] == "42"  # "42" stays a string
    assert fake.sent_texts(1001) == ["42", "43"]
    assert fake.webhook["secret_token"] == "s3cret"
    assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass
