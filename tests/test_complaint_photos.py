"""A complaint's photo shown to the staff who answer it, whichever platform each works on: by
its file id on the same Telegram bot, fetched from WhatsApp for staff on Telegram and from
Telegram for staff on WhatsApp. Both channels run against their fakes over real HTTP. A photo
the platform no longer has is left out, and the text still goes."""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.channels.media import Media, split_ref
from bot.channels.telegram import SEND_ATTEMPTS, TelegramChannel, file_url_of
from bot.channels.telegram import Settings as TelegramSettings
from bot.channels.whatsapp import WhatsAppChannel
from bot.serve import share_photos
from handlers.messages import Reply
from storage import complaints, residents, staff
from storage.complaints import ComplaintKind
from storage.staff import Role
from tests import telegram_updates as tg
from tests.fake_telegram import FakeBotAPI
from tests.fake_whatsapp import FakeGraphAPI
from tests.test_whatsapp import channel_settings

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 8  # a resident's photo
TELEGRAM_FILE = "AgACAgUAAxkBAAIBZ2-largest"
WHATSAPP_MEDIA = "1234567890123456"
STAFF_TELEGRAM = 5001
STAFF_WHATSAPP = "6281311112222"
KLENDER = "31.75.07.1003"


@dataclass
class Platforms:
    """Both channels running against their fakes, sharing photos."""

    telegram_fake: FakeBotAPI
    telegram: TelegramChannel
    whatsapp_fake: FakeGraphAPI
    whatsapp: WhatsAppChannel


@pytest.fixture
async def platforms(engine, database, clock) -> AsyncIterator[Platforms]:
    async with FakeBotAPI() as telegram_fake, FakeGraphAPI() as whatsapp_fake:
        telegram = TelegramChannel(
            TelegramSettings(token=telegram_fake.token, base_url=telegram_fake.base_url),
            engine,
            database,
        )
        whatsapp = WhatsAppChannel(channel_settings(whatsapp_fake), engine, database, clock=clock)
        share_photos(telegram, whatsapp)
        await telegram.start()
        await whatsapp.start()
        telegram_fake.files[TELEGRAM_FILE] = JPEG
        whatsapp_fake.received[WHATSAPP_MEDIA] = JPEG
        try:
            yield Platforms(telegram_fake, telegram, whatsapp_fake, whatsapp)
        finally:
            await whatsapp.stop()
            await telegram.stop()


def file_complaint(database, clock, photo: str) -> str:
    """A resident's pengaduan with a photo; return its tracking number."""
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="whatsapp", external_id="6281234567890", language="id", now=clock()
        )
        residents.update_profile(
            db=db, profile=profile, now=clock(), name="Siti Aminah", kelurahan_code=KLENDER,
            rw=5, consent_at=clock(),
        )  # fmt: skip
        filed = complaints.file(
            db=db,
            kind=ComplaintKind.COMPLAINT,
            resident_id=profile.id,
            text="Bantuan dipotong Rp50.000 oleh oknum.",
            now=clock(),
            time_zone="Asia/Jakarta",
            kelurahan_code=KLENDER,
            category="pungli",
            photo_file_id=photo,
        )
        staff.add(db=db, login="rina", name="Rina", role=Role.STAFF, now=clock(),
                  channel="telegram", external_id=str(STAFF_TELEGRAM))  # fmt: skip
    return filed.ref


async def open_the_complaint(platforms: Platforms) -> None:
    """Staff on Telegram: the queue, then the first complaint."""
    fake = platforms.telegram_fake
    fake.push_update(tg.text("/aduan", user_id=STAFF_TELEGRAM))
    await fake.wait_for(lambda f: any("aduan terbuka" in t for t in f.sent_texts()), 5)
    fake.push_update(tg.text("1", user_id=STAFF_TELEGRAM))
    await fake.wait_for(lambda f: any("Foto: terlampir" in t for t in f.sent_texts()), 5)


async def test_staff_on_telegram_see_a_photo_sent_on_whatsapp(
    platforms: Platforms, database, clock
) -> None:
    ref = file_complaint(database, clock, f"whatsapp:{WHATSAPP_MEDIA}")
    await open_the_complaint(platforms)
    (photo,) = platforms.telegram_fake.calls("sendPhoto")
    assert photo.params["chat_id"] == STAFF_TELEGRAM
    assert photo.params["photo"]["size"] == len(JPEG)
    assert photo.params["photo"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert ref in platforms.telegram_fake.sent_texts()[-1]  # the text after the picture
    fetched = [call.path for call in platforms.whatsapp_fake.requests]
    assert fetched == [f"/v23.0/{WHATSAPP_MEDIA}", f"/media-download/{WHATSAPP_MEDIA}"]


async def test_a_photo_sent_on_the_same_bot_goes_by_its_file_id(
    platforms: Platforms, database, clock
) -> None:
    file_complaint(database, clock, f"telegram:{TELEGRAM_FILE}")
    await open_the_complaint(platforms)
    (photo,) = platforms.telegram_fake.calls("sendPhoto")
    assert photo.params["photo"] == TELEGRAM_FILE
    assert platforms.telegram_fake.counts["download"] == 0  # nothing downloaded


async def test_staff_on_whatsapp_see_a_photo_sent_on_telegram(platforms: Platforms) -> None:
    reply = Reply("ADU-2026-000001 · Pengaduan · baru", photo=f"telegram:{TELEGRAM_FILE}")
    await platforms.whatsapp.send(STAFF_WHATSAPP, [reply], "id")
    picture, text = platforms.whatsapp_fake.sent_to(STAFF_WHATSAPP)
    assert picture.type == "image"
    assert platforms.whatsapp_fake.uploads[picture.payload["image"]["id"]] == JPEG
    assert text.text == reply.text
    assert platforms.telegram_fake.counts["download"] == 1


async def test_a_photo_the_platform_no_longer_has_is_left_out(
    platforms: Platforms, database, clock
) -> None:
    ref = file_complaint(database, clock, "whatsapp:999999")  # gone from Meta
    await open_the_complaint(platforms)
    assert platforms.telegram_fake.calls("sendPhoto") == []
    assert ref in platforms.telegram_fake.sent_texts()[-1]
    gone = Reply("Foto tidak ada", photo="telegram:AgAC-unknown")
    await platforms.whatsapp.send(STAFF_WHATSAPP, [gone], "id")
    (text,) = platforms.whatsapp_fake.sent_to(STAFF_WHATSAPP)
    assert text.text == "Foto tidak ada"


async def test_a_photo_that_cannot_be_sent_or_uploaded_leaves_the_text(
    platforms: Platforms, database, clock
) -> None:
    ref = file_complaint(database, clock, f"whatsapp:{WHATSAPP_MEDIA}")
    platforms.telegram_fake.fail_next(
        "sendPhoto", error_code=502, description="Bad Gateway", times=SEND_ATTEMPTS
    )  # tried again as often as a send is, then given up: the text goes all the same
    await open_the_complaint(platforms)
    tried = platforms.telegram_fake.calls("sendPhoto")
    assert [call.failed for call in tried] == [True] * SEND_ATTEMPTS
    assert ref in platforms.telegram_fake.sent_texts()[-1]
    platforms.whatsapp_fake.fail_uploads = 1
    reply = Reply("ADU-2026-000001 · Pengaduan · baru", photo=f"telegram:{TELEGRAM_FILE}")
    await platforms.whatsapp.send(STAFF_WHATSAPP, [reply], "id")
    (text,) = platforms.whatsapp_fake.sent_to(STAFF_WHATSAPP)
    assert text.text == reply.text


async def test_the_photo_comes_once_when_the_complaint_is_opened(
    platforms: Platforms, database, clock
) -> None:
    file_complaint(database, clock, f"telegram:{TELEGRAM_FILE}")
    await open_the_complaint(platforms)
    fake = platforms.telegram_fake
    fake.push_update(tg.text("Ambil", user_id=STAFF_TELEGRAM))
    await fake.wait_for(lambda f: any("sekarang Anda tangani" in t for t in f.sent_texts()), 5)
    assert len(fake.calls("sendPhoto")) == 1  # taking it shows the complaint, not the photo


async def test_photo_names_and_the_file_url_of_a_bot_api_server() -> None:
    assert split_ref("whatsapp:123") == ("whatsapp", "123")
    assert split_ref("AgACAgUAAxkB") is None  # stored before photos carried their platform
    assert split_ref("sms:123") is None
    assert await Media().fetch("telegram:AgAC") is None  # Telegram is not running here
    assert file_url_of("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url_of("http://127.0.0.1:8081/bot{token}") == (
        "http://127.0.0.1:8081/file/bot{token}"
    )
    assert file_url_of(None) is None
