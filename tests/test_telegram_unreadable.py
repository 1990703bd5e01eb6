"""Updates python-telegram-bot 22 cannot read (tests/fixtures/telegram/unreadable: polls and
poll answers before Bot API 9.6, the webhook guide's sample without is_bot) are skipped with
one warning naming their id and type; the rest of the batch is served, by polling and by
webhook, and nothing of their content reaches the log."""

import json
import logging
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram import Settings, TelegramChannel
from bot.http import HttpServer, build_app
from tests import telegram_updates as tg
from tests.fake_telegram import FakeBotAPI

UNREADABLE = Path(__file__).parent / "fixtures" / "telegram" / "unreadable"
NAMES = sorted(path.stem for path in UNREADABLE.glob("*.json"))
SECRET = "rahasia-123"


def unreadable(name: str) -> dict:
    """The stored update `name`, as Telegram (or an older Bot API server) sends it."""
    return json.loads((UNREADABLE / f"{name}.json").read_text("utf-8"))


def check_log(caplog, skipped: dict[int, str]) -> None:
    """One warning per skipped update with its id and type; nothing else of it, no ERROR."""
    text = "\n".join(record.getMessage() for record in caplog.records)
    for update_id, kind in skipped.items():
        lines = [line for line in text.splitlines() if f"update {update_id} " in line]
        assert lines == [f"skipped Telegram update {update_id} ({kind}): not readable"]
    for secret in ("Kapan kerja bakti", "Test Lastname", "Sabtu"):
        assert secret not in text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("name", NAMES)
async def test_polling_skips_an_unreadable_update_and_serves_the_rest(
    engine, database, caplog, name
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI() as fake:
        bad = fake.push_update(unreadable(name))
        fake.push_update(tg.text("/start"))
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        try:
            await fake.wait_for(lambda f: any("Silakan pilih bahasa" in t for t in f.sent_texts()))
            # the last one of a batch too: polling moves past it and does not spin
            last = fake.push_update(unreadable(name))
            await fake.wait_for(
                lambda f: any(c.params.get("offset") == last + 1 for c in f.calls("getUpdates"))
            )
            polls = fake.get_updates_count
        finally:
            await channel.stop()
    assert polls < 10
    kind = next(iter(unreadable(name)))
    check_log(caplog, {bad: kind, last: kind})


async def test_the_webhook_skips_an_unreadable_update_and_serves_the_next(
    engine, database, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
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
                for number, name in enumerate(NAMES, start=50):
                    update = {"update_id": number, **unreadable(name)}
                    response = await client.post(url, json=update, headers=headers)
                    assert response.status_code == 200  # else Telegram sends it again
                good = {"update_id": 99, **tg.text("/start")}
                assert (await client.post(url, json=good, headers=headers)).status_code == 200
            await fake.wait_for(lambda f: any("Silakan pilih bahasa" in t for t in f.sent_texts()))
        finally:
            await server.stop()
            await channel.stop()
    check_log(caplog, {50 + i: next(iter(unreadable(n))) for i, n in enumerate(NAMES)})
