"""The Telegram channel: the real python-telegram-bot application against a fake Bot API
server on 127.0.0.1, in polling mode and by webhook. Assertions are on what the server got."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from bot.channels.parts import split_text
from bot.channels.telegram import TEXT_LIMIT, Settings, TelegramChannel
from bot.http import HttpServer, build_app
from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from storage.demo import seed_distributions, seed_health, seed_registry, seed_training
from storage.residents import ChannelIdentity
from tests import telegram_updates as tg
from tests.conftest import TEST_KEY
from tests.fake_telegram import FakeBotAPI
from tests.helpers import all_rows

SITI = 1001
KLENDER = "kel:31.75.07.1003"


@dataclass
class Telegram:
    """A running channel and the fake server it talks to."""

    fake: FakeBotAPI
    channel: TelegramChannel

    async def send(self, update: dict, expect: str, *, timeout: float = 5.0) -> list[str]:
        """Push an update and wait until a text containing `expect` was sent; return new texts."""
        before = len(self.fake.sent_texts())
        self.fake.push_update(update)
        await self.fake.wait_for(
            lambda fake: any(expect in text for text in fake.sent_texts()[before:]), timeout
        )
        return self.fake.sent_texts()[before:]

    def last_markup(self, method: str = "sendMessage") -> dict:
        """Return the reply_markup of the last call of a method."""
        calls = [call for call in self.fake.calls(method) if not call.failed]
        return calls[-1].params.get("reply_markup") or {}


def inline_data(markup: dict) -> list[str]:
    """Return the callback_data of inline buttons, in order."""
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


async def start_channel(
    fake: FakeBotAPI, engine: Engine, database, clock=None, **settings
) -> TelegramChannel:
    """Start a Telegram channel on the fake server (on the test's clock, if given)."""
    channel = TelegramChannel(
        Settings(token=fake.token, base_url=fake.base_url, **settings),
        engine,
        database,
        **({"clock": clock} if clock else {}),
    )
    await channel.start()
    return channel


@pytest.fixture
async def telegram(engine, database) -> AsyncIterator[Telegram]:
    """The channel in polling mode, talking to a fresh fake server."""
    async with FakeBotAPI() as fake:
        channel = await start_channel(fake, engine, database)
        try:
            yield Telegram(fake, channel)
        finally:
            await channel.stop()


async def register(telegram: Telegram, user_id: int = SITI) -> None:
    """Walk a resident from /start to the main menu."""
    await telegram.send(tg.text("/start", user_id=user_id), "Silakan pilih bahasa")
    await telegram.send(tg.callback("lang:id", user_id=user_id), "Apakah Bapak/Ibu setuju?")
    await telegram.send(tg.callback("consent:yes", user_id=user_id), "Siapa nama lengkap")
    await telegram.send(tg.text("Siti Aminah", user_id=user_id), "kelurahan mana")
    await telegram.send(tg.callback(KLENDER, user_id=user_id), "RW berapa")
    await telegram.send(tg.text("5", user_id=user_id), "nomor HP")
    await telegram.send(tg.contact("6281234567890", user_id=user_id), "Menu utama")


async def test_start_registers_commands_in_both_languages(telegram: Telegram) -> None:
    calls = telegram.fake.calls("setMyCommands")
    by_language = {call.params.get("language_code"): call.params["commands"] for call in calls}
    assert [c["command"] for c in by_language[None]] == [
        "start",
        "menu",
        "bantuan",
        "bahasa",
        "berhenti",
    ]
    assert by_language["en"][2] == {"command": "help", "description": "Help"}
    assert telegram.fake.calls("deleteWebhook")  # polling needs no webhook left behind


async def test_a_whole_conversation_with_buttons(telegram: Telegram, database) -> None:
    texts = await telegram.send(tg.text("/start"), "Silakan pilih bahasa")
    assert texts[0].startswith("Selamat datang di Layanan Warga Duren Sawit")
    assert inline_data(telegram.last_markup()) == ["lang:id", "lang:en"]

    await telegram.send(tg.callback("lang:id"), "Apakah Bapak/Ibu setuju?")
    assert telegram.fake.calls("answerCallbackQuery")  # the spinner stops at once
    assert telegram.fake.calls("editMessageReplyMarkup")  # the pressed buttons go away
    await telegram.send(tg.callback("consent:yes"), "Siapa nama lengkap")
    await telegram.send(tg.text("Siti Aminah"), "kelurahan mana")
    assert KLENDER in inline_data(telegram.last_markup())
    await telegram.send(tg.callback(KLENDER), "Di Kelurahan Klender ada RW 001 sampai 015")
    await telegram.send(tg.text("RW 5"), "nomor HP")
    keyboard = telegram.last_markup()["keyboard"]
    assert keyboard[0][0] == {"text": "📱 Kirim nomor saya", "request_contact": True}
    assert keyboard[1][0]["text"] == "Lewati"

    await telegram.send(tg.contact("6281234567890"), "Pendaftaran selesai")
    assert telegram.last_markup() == {"remove_keyboard": True}  # the phone keyboard goes
    await telegram.fake.wait_for(  # and the menu buttons come by an edit of that message
        lambda fake: "reply_markup" in fake.calls("editMessageReplyMarkup")[-1].params
    )
    menu = telegram.last_markup("editMessageReplyMarkup")
    assert "svc:profile" in inline_data(menu)

    await telegram.send(tg.callback("svc:profile"), "Nomor HP: 0812-3456-7890")
    rows = {row[0] for row in all_rows(database)["channel_identities"]}
    assert len(rows) == 1


async def test_english_from_the_app_language(telegram: Telegram) -> None:
    texts = await telegram.send(tg.text("hi", user_id=2002, language_code="en"), "Welcome to")
    assert "Please choose your language" in texts[0]


async def test_stale_button_sticker_and_other_media(telegram: Telegram) -> None:
    await register(telegram)
    await telegram.send(tg.callback(KLENDER), "Tombol itu dari pesan lama")
    await telegram.send(tg.media("sticker"), "Terima kasih stikernya")
    await telegram.send(tg.media("voice"), "pesan suara")
    await telegram.send(tg.media("poll"), "jenis pesan itu")
    await telegram.send(tg.location(-6.23, 106.91), "tidak meminta lokasi")


async def test_someone_elses_contact_is_refused(telegram: Telegram) -> None:
    await telegram.send(tg.text("/start"), "Silakan pilih bahasa")
    for update, expect in [
        (tg.callback("lang:id"), "setuju"),
        (tg.text("ya"), "nama lengkap"),
        (tg.text("Siti"), "kelurahan"),
        (tg.text("3"), "RW"),
        (tg.text("5"), "nomor HP"),
    ]:
        await telegram.send(update, expect)
    await telegram.send(
        tg.contact("6285700000000", contact_user_id=2002), "kontak Bapak/Ibu sendiri"
    )


async def test_a_duplicated_update_is_answered_once(telegram: Telegram) -> None:
    await register(telegram)
    update = tg.text("bantuan")
    update["update_id"] = 9000
    await telegram.send(update, "Kata yang bisa diketik kapan saja")
    count = len(telegram.fake.sent_texts())
    telegram.fake.push_update(dict(update))  # the same update again, as after a lost ack
    await telegram.send(tg.text("menu"), "Menu utama")  # a later message still gets through
    assert telegram.fake.get_updates_count >= 3
    assert len(telegram.fake.sent_texts()) == count + 1  # only the menu: no second help


async def test_edited_messages_and_groups(telegram: Telegram, database) -> None:
    await telegram.send(tg.group("halo semua"), "chat pribadi")
    telegram.fake.push_update(tg.group("halo lagi"))  # told once is enough
    assert all_rows(database)["residents"] == []  # nothing stored about the group
    before = len(telegram.fake.calls())
    telegram.fake.push_update(tg.edited("Siti Aminah"))
    await telegram.send(tg.text("halo"), "Silakan pilih bahasa")
    sent = [call for call in telegram.fake.calls()[before:] if call.method == "sendMessage"]
    assert len(sent) == 1  # the edit ran no step, and the group heard nothing more


async def test_a_restart_in_the_middle_of_registration(engine, database) -> None:
    async with FakeBotAPI() as fake:
        first = await start_channel(fake, engine, database)
        telegram = Telegram(fake, first)
        await telegram.send(tg.text("/start"), "Silakan pilih bahasa")
        await telegram.send(tg.callback("lang:en"), "Do you agree?")
        await telegram.send(tg.text("1"), "full name")
        await first.stop()
        other_engine = Engine(database, flows.build(), EngineConfig(), clock=engine.clock)
        second = await start_channel(fake, other_engine, database)
        try:
            telegram = Telegram(fake, second)
            await telegram.send(tg.text("Siti Aminah"), "Which kelurahan")
        finally:
            await second.stop()
            other_engine.close()


async def test_too_many_requests_is_waited_out(telegram: Telegram) -> None:
    too_many = "Too Many Requests: retry after 1"
    telegram.fake.fail_next("sendMessage", error_code=429, description=too_many, retry_after=1)
    await telegram.send(tg.text("/start"), "Silakan pilih bahasa", timeout=10)
    failed = [call for call in telegram.fake.calls("sendMessage") if call.failed]
    assert len(failed) == 1


async def test_a_blocked_bot_marks_the_resident_unreachable(telegram: Telegram, database) -> None:
    await register(telegram)
    telegram.fake.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    telegram.fake.push_update(tg.text("menu"))
    await telegram.fake.wait_for(lambda fake: any(c.failed for c in fake.calls("sendMessage")))

    def unreachable() -> list:
        with database.connect() as db:
            found = select(ChannelIdentity.id).where(ChannelIdentity.unreachable_at.is_not(None))
            return db.execute(found).all()

    await telegram.fake.wait_for(lambda fake: len(unreachable()) == 1)
    await telegram.send(tg.text("menu"), "Menu utama")  # they unblocked and wrote again
    assert unreachable() == []


async def test_webhook_checks_the_secret_token(engine, database) -> None:
    async with FakeBotAPI() as fake:
        channel = await start_channel(
            fake,
            engine,
            database,
            webhook_url="https://warga.example/telegram/webhook",
            webhook_secret="rahasia-123",
        )
        server = HttpServer(build_app(database, telegram=channel), "127.0.0.1", 0)
        await server.start()
        try:
            assert fake.webhook["url"] == "https://warga.example/telegram/webhook"
            assert fake.webhook["secret_token"] == "rahasia-123"
            assert not fake.calls("getUpdates")  # no polling in webhook mode
            url = f"http://127.0.0.1:{server.port}/telegram/webhook"
            update = {"update_id": 77, **tg.text("/start")}
            async with httpx.AsyncClient() as client:
                wrong = await client.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "salah"}
                )
                missing = await client.post(url, json=update)
                assert (wrong.status_code, missing.status_code) == (403, 403)
                assert fake.sent_texts() == []  # neither was processed
                right = await client.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "rahasia-123"}
                )
                assert right.status_code == 200
                await fake.wait_for(
                    lambda f: any("Silakan pilih bahasa" in t for t in f.sent_texts())
                )
                health = await client.get(f"http://127.0.0.1:{server.port}/healthz")
                assert health.status_code == 200 and health.json() == {"database": "ok"}
        finally:
            await server.stop()
            await channel.stop()


def test_long_text_is_split_at_paragraphs_then_lines() -> None:
    paragraph = "kata " * 500  # 2,500 characters
    chunks = split_text(f"{paragraph}\n\n{paragraph}\n\n{paragraph}", TEXT_LIMIT)
    assert len(chunks) == 3 and all(len(chunk) <= 4096 for chunk in chunks)
    lines = "\n".join(["baris panjang sekali"] * 400)
    assert all(len(chunk) <= 4096 for chunk in split_text(lines, TEXT_LIMIT))
    assert split_text("x" * 9000, TEXT_LIMIT) == ["x" * 4096, "x" * 4096, "x" * 808]


async def test_photos_places_and_long_texts_are_rendered(telegram: Telegram) -> None:
    from handlers.messages import Option, Place, Reply

    long_text = ("Paragraf panjang. " * 150 + "\n\n") * 3  # about 8,000 characters
    replies = [
        Reply("Grafik masukan per kelurahan", image=b"\x89PNG fake bytes"),
        Reply(
            "Lokasi pembagian sembako",
            place=Place(-6.2335, 106.9157, "RPTRA Malaka Sari", "Jl. Malaka Sari (demo)"),
        ),
        Reply(long_text, options=(Option("svc:help", "Bantuan"),)),
    ]
    await telegram.channel.send(SITI, str(SITI), replies)
    photo = telegram.fake.calls("sendPhoto")[-1].params
    assert photo["caption"] == "Grafik masukan per kelurahan" and photo["photo"]["size"] > 0
    location = telegram.fake.calls("sendLocation")[-1].params
    assert abs(location["latitude"] + 6.2335) < 1e-6
    texts = [call.params for call in telegram.fake.calls("sendMessage")][-3:]
    assert all(len(params["text"]) <= 4096 for params in texts)
    assert "reply_markup" not in texts[-2] and inline_data(texts[-1]["reply_markup"]) == [
        "svc:help"
    ]  # the buttons come with the last part


async def test_a_network_error_is_tried_again(telegram: Telegram) -> None:
    telegram.fake.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    await telegram.send(tg.text("/start"), "Silakan pilih bahasa", timeout=10)
    assert [call.failed for call in telegram.fake.calls("sendMessage")] == [True, False]


async def test_python_m_bot_run_serves_telegram_until_sigterm(environment) -> None:
    import asyncio
    import signal
    import sys
    from pathlib import Path

    async with FakeBotAPI() as fake:
        env = {**environment, "TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            cwd=Path(__file__).parent.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda f: bool(f.calls("getUpdates")), timeout=30)
            telegram = Telegram(fake, None)
            await telegram.send(tg.text("/start"), "Silakan pilih bahasa", timeout=15)
            await telegram.send(tg.callback("lang:en"), "Do you agree?", timeout=15)
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, err.decode()
        assert b"Traceback" not in err
        assert b"Telegram channel started (polling)" in err  # it logs at INFO...
        assert fake.token.encode() not in err  # ...but never the token in a request URL


async def test_an_adapter_failure_is_logged_without_personal_data_and_told(
    telegram: Telegram, monkeypatch, caplog
) -> None:
    async def broken(message):
        raise RuntimeError("something in the adapter broke")

    monkeypatch.setattr(telegram.channel.engine, "handle", broken)
    await telegram.send(tg.text("Nama saya Siti Aminah"), "ada gangguan di sistem kami")
    assert "Telegram update failed: RuntimeError" in caplog.text
    assert "Siti Aminah" not in caplog.text and "1001" not in caplog.text


def test_a_send_that_may_have_arrived_is_not_repeated() -> None:
    from telegram.error import NetworkError, TimedOut

    from bot.channels.telegram import never_arrived

    assert never_arrived(NetworkError("Bad Gateway"))  # Telegram said it failed
    assert not never_arrived(TimedOut())  # it may have gone through: no second copy
    read_error = NetworkError("httpx.ReadError")
    read_error.__cause__ = httpx.ReadError("connection reset")
    assert not never_arrived(read_error)
    refused = NetworkError("httpx.ConnectError")
    refused.__cause__ = httpx.ConnectError("refused")
    assert never_arrived(refused)


async def test_a_status_check_and_the_nearest_pickup_over_telegram(
    telegram: Telegram, database, clock
) -> None:
    with database.begin() as db:
        seed_registry(db=db, key=TEST_KEY, now=clock(), households=5)
        seed_distributions(db=db, today=clock().date(), now=clock())
    await register(telegram)
    await telegram.send(tg.callback("svc:bansos"), "Mohon ketik NIK")
    await telegram.send(tg.text("3175074708859901"), "nama lengkap persis")
    texts = await telegram.send(tg.text("SITI AMINAH"), "Data ditemukan")
    assert any("************9901" in text for text in texts)
    assert all("3175074708859901" not in text for text in telegram.fake.sent_texts())
    assert inline_data(telegram.last_markup()) == ["bansos:own:yes", "bansos:own:no"]
    await telegram.send(tg.callback("bansos:own:yes"), "Kami akan mengabari")
    assert inline_data(telegram.last_markup()) == ["bansos:sembako", "bansos:again", "bansos:menu"]
    await telegram.send(tg.callback("bansos:sembako"), "Pembagian sembako berikutnya")
    await telegram.send(tg.callback("sembako:near"), "Mohon kirim lokasi")
    keyboard = telegram.last_markup()["keyboard"]
    assert keyboard[0][0] == {"text": "📍 Kirim lokasi saya", "request_location": True}
    texts = await telegram.send(tg.location(-6.2149, 106.9048), "Tempat pengambilan terdekat")
    assert any(
        "Kantor Pos Klender" in text.split("\n\n")[1] for text in texts if "terdekat" in text
    )


async def test_enrol_book_and_apply_over_telegram(telegram: Telegram, database, clock) -> None:
    with database.begin() as db:
        seed_training(db=db, now=clock())
        seed_health(db=db, now=clock())
    await register(telegram)
    await telegram.send(tg.callback("svc:training"), "Pelatihan keterampilan gratis")
    assert "cat:Menjahit" in inline_data(telegram.last_markup())
    await telegram.send(tg.callback("cat:Menjahit"), "Angkatan yang masih dibuka")
    batch = inline_data(telegram.last_markup())[0]
    await telegram.send(tg.callback(batch), "Penyelenggara: Kelurahan Klender")
    enrol = inline_data(telegram.last_markup())[0]
    assert enrol == f"training:enrol:{batch.removeprefix('batch:')}"
    await telegram.send(tg.callback(enrol), "usia 17 tahun ke atas")
    await telegram.send(tg.callback("age:yes"), "memprioritaskan")
    await telegram.send(tg.callback("prio:none"), "Daftarkan Bapak/Ibu Siti Aminah")
    yes = inline_data(telegram.last_markup())[0]
    await telegram.send(tg.callback(yes), "sudah terdaftar di “Menjahit Dasar”")
    await telegram.send(tg.callback(yes), "dari pesan lama")  # tapped twice
    await telegram.send(tg.callback("svc:health"), "Cek kesehatan gratis")
    await telegram.send(tg.callback("kind:check"), "Cek kesehatan yang mana?")
    await telegram.send(tg.callback("tp:Cek kesehatan lansia"), "Pilih waktu")
    slot = inline_data(telegram.last_markup())[0]
    await telegram.send(tg.callback(slot), "Pesan jadwal")
    yes = inline_data(telegram.last_markup())[0]
    texts = await telegram.send(tg.callback(yes), "Yang dibawa")
    assert any("Mohon datang 10 menit lebih awal" in text for text in texts)
    await telegram.send(tg.callback("svc:apply"), "Di sini Bapak/Ibu bisa mengajukan")
    await telegram.send(tg.callback("apply:status"), "Bapak/Ibu belum mengajukan apa pun")


# -- real payloads: blocking, forums, migrated groups --------------------------------------


async def test_blocking_marks_unreachable_at_once_and_unblocking_reachable(
    telegram: Telegram, database
) -> None:
    await telegram.send(tg.text("/start"), "Silakan pilih bahasa")
    assert "my_chat_member" in telegram.fake.calls("getUpdates")[-1].params["allowed_updates"]

    def unreachable() -> list:
        with database.connect() as db:
            rows = db.execute(select(ChannelIdentity.unreachable_at)).scalars().all()
        return [at for at in rows if at is not None]

    telegram.fake.push_update(tg.load("my_chat_member_kicked"))
    await telegram.fake.wait_for(lambda fake: len(unreachable()) == 1)
    telegram.fake.push_update(tg.load("my_chat_member_member"))
    await telegram.fake.wait_for(lambda fake: unreachable() == [])


async def test_the_private_chat_note_goes_to_the_forum_topic(telegram: Telegram) -> None:
    await telegram.send(tg.load("forum_topic_text"), "chat pribadi")
    call = telegram.fake.calls("sendMessage")[-1]
    assert call.params["chat_id"] == -100456 and call.params["message_thread_id"] == 2000


async def test_a_migrated_group_is_one_info_line_and_no_error(telegram: Telegram, caplog) -> None:
    caplog.set_level(logging.INFO)
    telegram.fake.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-100999,
    )
    telegram.fake.push_update(tg.load("group_text"))
    await telegram.fake.wait_for(lambda fake: any(c.failed for c in fake.calls("sendMessage")))
    await telegram.send(tg.text("/start"), "Silakan pilih bahasa")  # served after it
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("moved to a supergroup" in record.getMessage() for record in caplog.records)
