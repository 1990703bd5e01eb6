"""WhatsApp over real HTTP: signed webhook deliveries (real payload shapes, tests/fixtures/
whatsapp) posted to the program's HTTP server, the answers sent to an in-process fake Graph API
on 127.0.0.1; the verification handshake, forged and unsigned posts, redeliveries, delivery
reports, and the outbound queue inside and outside the 24-hour window."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.channels.whatsapp import Settings, WhatsAppChannel
from bot.channels.whatsapp_payloads import Template
from bot.http import HttpServer, build_app
from bot.outbound import Drainer, Limits, QuietHours
from handlers.engine import Engine
from handlers.messages import Reply
from storage import outbox, residents
from storage.demo import seed_registry
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity, Resident
from tests.conftest import TEST_KEY
from tests.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraphAPI,
    sign,
    signed_webhook,
    verification_params,
    webhook_body,
    webhook_payload,
)
from tests.helpers import Clock

SITI = "6281234567890"  # the resident of the fixtures
BUDI = "6285711112222"
VERIFY_TOKEN = "duren-sawit-verify"
TEMPLATES = {
    ("reminder", "id"): Template("pengingat_layanan", "id"),
    ("reminder", "en"): Template("service_reminder", "en"),
    ("status", "id"): Template("kabar_pengajuan", "id"),
}


@dataclass
class WhatsApp:
    """The program's webhook on a real HTTP server, the channel, and the fake Graph API."""

    fake: FakeGraphAPI
    channel: WhatsAppChannel
    url: str
    http: httpx.AsyncClient

    async def post(self, kind: str = "text", **overrides) -> httpx.Response:
        """Post a signed webhook delivery of the fixture `kind`."""
        body, headers = signed_webhook(kind, **overrides)
        return await self.http.post(self.url, content=body, headers=headers)

    async def say(self, text: str, expect: str, wa_id: str = SITI) -> list[str]:
        """Write a text, wait for an answer holding `expect`; return the texts sent since."""
        before = len(self.fake.sent)
        response = await self.post("text", wa_id=wa_id, text=text)
        assert response.status_code == 200
        return await self.answered(before, expect)

    async def tap(self, key: str, expect: str, wa_id: str = SITI, *, row: bool = False) -> None:
        """Tap a reply button (or a list row) with the option's key."""
        before = len(self.fake.sent)
        kind = "interactive_list_reply" if row else "interactive_button_reply"
        response = await self.post(kind, wa_id=wa_id, reply_id=key, title="x")
        assert response.status_code == 200
        await self.answered(before, expect)

    async def answered(self, before: int, expect: str) -> list[str]:
        def arrived(fake: FakeGraphAPI) -> bool:
            return any(expect in text for text in fake.sent_texts()[before:])

        arrived.__name__ = f"an answer with {expect!r}"
        await self.fake.wait_for(arrived)
        return self.fake.sent_texts()[before:]

    def last(self, wa_id: str = SITI):
        """Return the last message sent to a resident."""
        return self.fake.sent_to(wa_id)[-1]


def channel_settings(fake: FakeGraphAPI, **extra) -> Settings:
    """The channel's settings, pointed at the fake (WHATSAPP_API_BASE_URL)."""
    return Settings(
        token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        base_url=fake.base_url,
        **extra,
    )


@pytest.fixture
async def whatsapp(engine: Engine, database, clock: Clock) -> AsyncIterator[WhatsApp]:
    """The channel serving its webhook, talking to a fresh fake Graph API."""
    templates = {"pengingat_layanan": 1, "service_reminder": 1, "kabar_pengajuan": 1}
    async with FakeGraphAPI(templates=templates) as fake:
        channel = WhatsAppChannel(
            channel_settings(fake, templates=dict(TEMPLATES)), engine, database, clock=clock
        )
        await channel.start()
        server = HttpServer(build_app(database, whatsapp=channel), "127.0.0.1", 0)
        await server.start()
        url = f"http://127.0.0.1:{server.port}/whatsapp/webhook"
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                yield WhatsApp(fake, channel, url, http)
        finally:
            await server.stop()
            await channel.stop()


async def register(whatsapp: WhatsApp, wa_id: str = SITI, phone: str = "0812-3456-7890") -> None:
    """Walk a resident from hello to the main menu, tapping the buttons shown."""
    await whatsapp.say("halo", "Selamat datang di Layanan Warga Duren Sawit", wa_id)
    await whatsapp.tap("lang:id", "Apakah Bapak/Ibu setuju?", wa_id)
    await whatsapp.tap("consent:yes", "Siapa nama lengkap", wa_id)
    await whatsapp.say("Siti Aminah", "kelurahan mana", wa_id)
    await whatsapp.tap("kel:31.75.07.1003", "RW berapa", wa_id, row=True)
    await whatsapp.say("5", "nomor HP", wa_id)
    await whatsapp.say(phone, "Pendaftaran selesai", wa_id)


# -- the webhook --------------------------------------------------------------------------------


async def test_the_verification_handshake(whatsapp: WhatsApp) -> None:
    good = await whatsapp.http.get(whatsapp.url, params=verification_params(VERIFY_TOKEN, "42"))
    assert (good.status_code, good.text) == (200, "42")
    wrong = await whatsapp.http.get(whatsapp.url, params=verification_params("guess", "42"))
    assert wrong.status_code == 403 and "42" not in wrong.text
    other = {**verification_params(VERIFY_TOKEN), "hub.mode": "unsubscribe"}
    assert (await whatsapp.http.get(whatsapp.url, params=other)).status_code == 403
    assert (await whatsapp.http.get(whatsapp.url)).status_code == 403


async def test_forged_and_unsigned_deliveries_are_refused_and_nothing_is_done(
    whatsapp: WhatsApp, database
) -> None:
    body = webhook_body(webhook_payload("text", text="halo"))
    unsigned = await whatsapp.http.post(whatsapp.url, content=body)
    assert unsigned.status_code == 401
    forged = await whatsapp.http.post(
        whatsapp.url, content=body, headers={"X-Hub-Signature-256": sign(body, "not-the-secret")}
    )
    assert forged.status_code == 403
    signed = sign(body, APP_SECRET)
    tampered = body.replace(b"halo", b"HALO")  # signed, then changed on the way
    changed = await whatsapp.http.post(
        whatsapp.url, content=tampered, headers={"X-Hub-Signature-256": signed}
    )
    assert changed.status_code == 403
    await asyncio.sleep(0)  # nothing was started in the background either
    with database.connect() as db:
        assert db.execute(select(ChannelIdentity)).first() is None
    assert whatsapp.fake.sent == []


async def test_the_whole_registration_and_a_bansos_status_check(
    whatsapp: WhatsApp, database, clock
) -> None:
    with database.begin() as db:
        seed_registry(db=db, key=TEST_KEY, now=clock(), households=5)
    await whatsapp.say("halo", "Selamat datang")
    language = whatsapp.last()
    assert language.type == "interactive"  # two languages: reply buttons
    assert language.options == [("lang:id", "Bahasa Indonesia"), ("lang:en", "English")]
    await register_rest(whatsapp)
    menu = whatsapp.last()
    assert menu.payload["interactive"]["type"] == "list"  # ten entries: a list
    rows = menu.payload["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and all(len(row["title"]) <= 24 for row in rows)
    await whatsapp.tap("svc:bansos", "NIK", row=True)
    await whatsapp.say("3175074708859901", "nama")
    texts = await whatsapp.say("Siti Aminah", "Data ditemukan")
    assert any("PKH" in text for text in texts)
    with database.connect() as db:
        resident = db.execute(select(Resident)).one()
        identity = db.execute(select(ChannelIdentity)).one()
    assert (identity.channel, identity.external_id) == ("whatsapp", SITI)
    assert identity.last_inbound_at == clock()
    # the number they write from is vouched for by WhatsApp
    assert (resident.phone, resident.phone_verified) == ("+6281234567890", True)


async def register_rest(whatsapp: WhatsApp) -> None:
    """The registration after the greeting."""
    await whatsapp.tap("lang:id", "Apakah Bapak/Ibu setuju?")
    await whatsapp.tap("consent:yes", "Siapa nama lengkap")
    await whatsapp.say("Siti Aminah", "kelurahan mana")
    await whatsapp.tap("kel:31.75.07.1003", "RW berapa", row=True)
    await whatsapp.say("5", "nomor HP")
    await whatsapp.say("0812-3456-7890", "Pendaftaran selesai")


async def test_a_redelivered_message_is_answered_once_even_after_a_restart(
    whatsapp: WhatsApp, engine, database, clock
) -> None:
    body, headers = signed_webhook("text", text="halo", message_id="wamid.SAME-MESSAGE-1")
    assert (await whatsapp.http.post(whatsapp.url, content=body, headers=headers)).is_success
    await whatsapp.fake.wait_for_sent(1)
    assert (await whatsapp.http.post(whatsapp.url, content=body, headers=headers)).is_success
    # another process (or the next start) gets the same delivery: still answered once
    other = WhatsAppChannel(channel_settings(whatsapp.fake), engine, database, clock=clock)
    await other.start()
    try:
        assert await other.receive(body, headers["X-Hub-Signature-256"]) == 200
        await asyncio.gather(*list(other._jobs))
    finally:
        await other.stop()
    await asyncio.gather(*list(whatsapp.channel._jobs))
    assert len(whatsapp.fake.sent_to(SITI)) == 1


HINTS = {
    "sticker": "Terima kasih stikernya!",
    "image": "belum bisa membaca foto",
    "audio": "belum bisa mendengarkan pesan suara",
    "document": "belum bisa membuka dokumen",
    "reaction": "Untuk melanjutkan, silakan ketik",
    "unsupported": "belum bisa membaca jenis pesan itu",
    "location": "di sini saya tidak meminta lokasi",
    "contacts": "di sini saya tidak meminta kontak",
}


async def test_stickers_photos_voice_notes_and_others_get_a_kind_hint(whatsapp: WhatsApp) -> None:
    await whatsapp.say("halo", "Selamat datang")
    for kind, hint in HINTS.items():
        before = len(whatsapp.fake.sent)
        assert (await whatsapp.post(kind)).status_code == 200
        await whatsapp.answered(before, hint)
        asked = whatsapp.last()  # the hint and the question again, with its buttons
        assert asked.text.endswith("Silakan pilih bahasa:\nPlease choose your language:")
        assert asked.type == "interactive"


async def test_delivery_reports_are_recorded_on_the_outbound_rows(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    row_id = queue(database, SITI, "Pendaftaran pelatihan menjahit dibuka besok.", clock)
    drainer = draining(whatsapp, database, clock)
    assert await drainer.drain_once() == 1
    sent = whatsapp.last()
    assert sent.type == "text"  # they wrote minutes ago: free-form
    for status in ("delivered", "read", "delivered"):  # out of order: read stays
        payload = whatsapp.fake.status_webhook(sent, status)
        body = webhook_body(payload)
        headers = {"X-Hub-Signature-256": sign(body, APP_SECRET)}
        assert (await whatsapp.http.post(whatsapp.url, content=body, headers=headers)).is_success
        await asyncio.gather(*list(whatsapp.channel._jobs))
    row = outbound_row(database, row_id)
    assert (row.status, row.platform_id, row.delivery) == ("sent", sent.id, "read")


# -- the outbound queue and the window ----------------------------------------------------------


def queue(database, wa_id: str, text: str, clock: Clock, kind=OutboundKind.REMINDER) -> int:
    """Queue a message for the resident writing from `wa_id`."""
    with database.begin() as db:
        resident_id = db.execute(
            select(ChannelIdentity.resident_id).where(ChannelIdentity.external_id == wa_id)
        ).scalar_one()
        return outbox.enqueue(db=db, resident_id=resident_id, kind=kind, text=text, now=clock())


def draining(whatsapp: WhatsApp, database, clock: Clock) -> Drainer:
    """A drain of the WhatsApp queue, allowed to run for a long while."""
    drainer = Drainer(
        whatsapp.channel,
        database,
        Limits(rate=80, chat_interval=timedelta(0)),
        QuietHours(),
        clock=clock,
    )
    drainer.permit(clock() + timedelta(days=30))
    return drainer


def outbound_row(database, row_id: int) -> Outbound:
    """Return one outbound row."""
    with database.connect() as db:
        row = db.execute(select(Outbound.__table__).where(Outbound.id == row_id)).one()
    return Outbound.model_validate(row._asdict())


async def test_a_reminder_outside_the_window_goes_as_the_template(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    clock.advance(hours=25)  # the resident has not written for a day
    text = "Pengingat: Pengambilan sembako (BPNT)\nWaktu: Sabtu, 19 Desember 2026, 08.00 WIB"
    row_id = queue(database, SITI, text, clock)
    assert await draining(whatsapp, database, clock).drain_once() == 1
    sent = whatsapp.last()
    assert sent.type == "template"
    template = sent.payload["template"]
    assert (template["name"], template["language"]["code"]) == ("pengingat_layanan", "id")
    [parameter] = template["components"][0]["parameters"]
    assert parameter["text"] == (
        "Pengingat: Pengambilan sembako (BPNT) · Waktu: Sabtu, 19 Desember 2026, 08.00 WIB"
    )
    assert outbound_row(database, row_id).status == OutboundStatus.SENT


async def test_without_a_template_the_message_is_held_with_the_reason_until_they_write(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    clock.advance(hours=30)
    row_id = queue(database, SITI, "Pengumuman: pasar murah Sabtu", clock, OutboundKind.SURVEY)
    assert await draining(whatsapp, database, clock).drain_once() == 1
    held = outbound_row(database, row_id)
    assert held.status == OutboundStatus.HELD
    assert held.last_error == (
        "outside the 24-hour window; no 'survey' template for 'id' is configured"
    )
    before = len(whatsapp.fake.sent)
    await whatsapp.say("menu", "Menu utama")  # they write: the window opens again
    drainer = draining(whatsapp, database, clock)
    assert await drainer.drain_once() == 1
    assert outbound_row(database, row_id).status == OutboundStatus.SENT
    assert "Pengumuman: pasar murah Sabtu" in whatsapp.fake.sent_texts(SITI)[before:]


async def test_the_window_closed_after_all_so_it_goes_again_as_the_template(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    whatsapp.fake.fail_next(131047)  # WhatsApp knows better than our clock: sync refusal
    row_id = queue(database, SITI, "Status pengajuan BSW-2026-000001: diverifikasi", clock,
                   OutboundKind.STATUS)  # fmt: skip
    assert await draining(whatsapp, database, clock).drain_once() == 1
    assert whatsapp.last().type == "template"
    assert whatsapp.last().payload["template"]["name"] == "kabar_pengajuan"
    assert outbound_row(database, row_id).status == OutboundStatus.SENT

    # accepted, then reported failed for the window: recorded, and sent again as a template
    whatsapp.fake.enforce_window(mode="status")
    second = queue(database, SITI, "Status pengajuan BSW-2026-000002: disetujui", clock,
                   OutboundKind.STATUS)  # fmt: skip
    drainer = draining(whatsapp, database, clock)
    assert await drainer.drain_once() == 1
    free_form = whatsapp.last()
    assert free_form.type == "text"
    [report] = whatsapp.fake.pending_statuses
    body = webhook_body(report)
    headers = {"X-Hub-Signature-256": sign(body, APP_SECRET)}
    assert (await whatsapp.http.post(whatsapp.url, content=body, headers=headers)).is_success
    await asyncio.gather(*list(whatsapp.channel._jobs))
    again = outbound_row(database, second)
    assert again.status == OutboundStatus.PENDING and "131047" in again.last_error
    assert await drainer.drain_once() == 1
    template = whatsapp.last()
    assert template.type == "template"
    assert outbound_row(database, second).status == OutboundStatus.SENT
    body = webhook_body(whatsapp.fake.status_webhook(template, "delivered"))
    headers = {"X-Hub-Signature-256": sign(body, APP_SECRET)}
    assert (await whatsapp.http.post(whatsapp.url, content=body, headers=headers)).is_success
    await asyncio.gather(*list(whatsapp.channel._jobs))
    assert outbound_row(database, second).delivery == "delivered"  # the failure is behind it


async def test_130429_makes_the_queue_wait_and_then_it_goes(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    row_id = queue(database, SITI, "Pesan pertama", clock)
    whatsapp.fake.fail_next(130429)
    drainer = draining(whatsapp, database, clock)
    assert await drainer.drain_once() == 1
    row = outbound_row(database, row_id)
    assert row.status == OutboundStatus.PENDING and row.attempts == 0
    assert row.not_before == clock() + timedelta(seconds=10)
    clock.advance(seconds=9)
    assert await drainer.drain_once() == 0  # the whole number waits
    clock.advance(seconds=1)
    assert await drainer.drain_once() == 1
    assert outbound_row(database, row_id).status == OutboundStatus.SENT
    assert whatsapp.fake.sent_texts(SITI)[-1] == "Pesan pertama"


async def test_undeliverable_marks_the_number_unreachable(whatsapp: WhatsApp, database, clock):
    await register(whatsapp)
    row_id = queue(database, SITI, "Pesan", clock)
    whatsapp.fake.fail_next(131026)
    assert await draining(whatsapp, database, clock).drain_once() == 1
    assert outbound_row(database, row_id).status == OutboundStatus.FAILED
    with database.connect() as db:
        identity = db.execute(select(ChannelIdentity)).one()
    assert identity.unreachable_at is not None


async def test_the_same_number_on_telegram_and_whatsapp_is_one_resident(
    whatsapp: WhatsApp, engine, database
) -> None:
    from tests.helpers import Chat

    telegram = Chat(engine, "777000", channel="telegram")
    await telegram.send("halo")
    await telegram.send("1")
    await telegram.send("Saya setuju")
    await telegram.send("Budi Santoso")
    await telegram.send("klender")
    await telegram.send("5")
    # shared as their own contact on Telegram: the number is vouched for
    from handlers.messages import Kind

    await telegram.send_kind(Kind.CONTACT, phone="6285711112222", contact_is_own=True)
    assert "Pendaftaran selesai" in telegram.text
    await whatsapp.say("halo", "Budi Santoso", BUDI)  # greeted by name: the same resident
    with database.connect() as db:
        assert len(db.execute(select(Resident)).all()) == 1
        identities = db.execute(select(ChannelIdentity.channel)).scalars().all()
    assert sorted(identities) == ["telegram", "whatsapp"]
    with database.connect() as db:
        phone = residents.language_of_identity(db=db, channel="whatsapp", external_id=BUDI)
    assert phone == "id"


async def test_a_typed_number_of_someone_else_links_nothing(whatsapp: WhatsApp, engine, database):
    from tests.helpers import Chat

    telegram = Chat(engine, "777001", channel="telegram")
    for line in ("halo", "1", "Saya setuju", "Ani", "klender", "5", "0812-3456-7890"):
        await telegram.send(line)
    assert "Pendaftaran selesai" in telegram.text
    await whatsapp.say("halo", "Selamat datang")  # Siti's WhatsApp: a new resident
    with database.connect() as db:
        assert len(db.execute(select(Resident)).all()) == 2


async def test_a_picture_is_uploaded_and_sent_with_the_text_after(whatsapp: WhatsApp) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the fake checks the signature bytes only
    await whatsapp.channel.send(SITI, [Reply("Grafik penilaian per kelurahan", image=png)], "id")
    picture, text = whatsapp.fake.sent_to(SITI)
    assert picture.type == "image"
    assert whatsapp.fake.uploads[picture.payload["image"]["id"]] == png
    assert text.text == "Grafik penilaian per kelurahan"


# -- what the review of the first version found ------------------------------------------------


async def test_a_held_reminder_is_withdrawn_with_its_booking_and_never_released(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    clock.advance(hours=30)
    with database.begin() as db:
        resident_id = db.execute(select(ChannelIdentity.resident_id)).scalar_one()
        row_id = outbox.enqueue(
            db=db,
            resident_id=resident_id,
            kind=OutboundKind.REMINDER,
            text="Pengingat: cek kesehatan besok",
            now=clock(),
            about=("slot", 77),
        )
    whatsapp.channel.settings.templates.clear()  # nothing approved yet: held
    assert await draining(whatsapp, database, clock).drain_once() == 1
    assert outbound_row(database, row_id).status == OutboundStatus.HELD
    with database.begin() as db:  # the booking is cancelled meanwhile
        assert outbox.withdraw(db=db, subject="slot", subject_ids=[77], reason="cancelled") == 1
    await whatsapp.say("menu", "Menu utama")  # writing again releases nothing withdrawn
    assert outbound_row(database, row_id).status == OutboundStatus.CANCELLED


async def test_messages_go_to_the_chat_the_resident_wrote_from_last(
    whatsapp: WhatsApp, engine, database, clock
) -> None:
    from handlers.messages import Kind
    from tests.helpers import Chat

    telegram = Chat(engine, "777002", channel="telegram")
    for line in ("halo", "1", "Saya setuju", "Budi Santoso", "klender", "5"):
        await telegram.send(line)
    await telegram.send_kind(Kind.CONTACT, phone="6285711112222", contact_is_own=True)
    clock.advance(hours=1)
    await whatsapp.say("halo", "Budi Santoso", BUDI)  # linked; WhatsApp is the latest chat
    first = queue(database, BUDI, "Kabar pertama", clock, OutboundKind.STATUS)
    assert outbound_row(database, first).channel == "whatsapp"
    clock.advance(hours=1)
    await telegram.send("menu")  # back on Telegram
    second = queue(database, BUDI, "Kabar kedua", clock, OutboundKind.STATUS)
    assert outbound_row(database, second).channel == "telegram"
    # one held for WhatsApp goes to Telegram when they write there
    with database.begin() as db:
        db.execute(
            Outbound.__table__.update()
            .where(Outbound.id == first)
            .values(status=OutboundStatus.HELD)
        )
    clock.advance(minutes=5)
    await telegram.send("menu")
    released = outbound_row(database, first)
    assert (released.status, released.channel) == (OutboundStatus.PENDING, "telegram")


async def test_a_number_silent_for_months_is_not_taken_for_the_same_person(
    whatsapp: WhatsApp, engine, database, clock
) -> None:
    from handlers.messages import Kind
    from tests.helpers import Chat

    telegram = Chat(engine, "777003", channel="telegram")
    for line in ("halo", "1", "Saya setuju", "Budi Santoso", "klender", "5"):
        await telegram.send(line)
    await telegram.send_kind(Kind.CONTACT, phone="6285711112222", contact_is_own=True)
    clock.advance(days=61)  # prepaid numbers are given out again after months unused
    await whatsapp.say("halo", "Selamat datang", BUDI)
    with database.connect() as db:
        assert len(db.execute(select(Resident)).all()) == 2


async def test_an_english_reader_gets_the_default_template_when_none_is_in_english(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    with database.begin() as db:
        db.execute(Resident.__table__.update().values(language="en"))
    clock.advance(hours=25)
    queue(database, SITI, "Your application BSW-2026-000001 is verified.", clock,
          OutboundKind.STATUS)  # fmt: skip
    assert await draining(whatsapp, database, clock).drain_once() == 1
    assert whatsapp.last().payload["template"]["name"] == "kabar_pengajuan"  # id: the default


async def test_a_rating_invitation_outside_the_window_waits_for_its_buttons(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    clock.advance(hours=25)
    with database.begin() as db:
        resident_id = db.execute(select(ChannelIdentity.resident_id)).scalar_one()
        stars = [{"key": f"rate:1:{n}", "label": "⭐" * n} for n in range(1, 6)]
        row_id = outbox.enqueue(
            db=db,
            resident_id=resident_id,
            kind=OutboundKind.FEEDBACK,
            text="Bagaimana pengambilan sembako kemarin?",
            now=clock(),
            options=stars,
        )
    assert await draining(whatsapp, database, clock).drain_once() == 1
    held = outbound_row(database, row_id)
    assert held.status == OutboundStatus.HELD
    assert held.last_error == "outside the 24-hour window; its buttons cannot go in a template"
    await whatsapp.say("menu", "Menu utama")
    assert await draining(whatsapp, database, clock).drain_once() == 1
    assert whatsapp.last().options == [(star["key"], star["label"]) for star in stars]


async def test_a_redelivered_old_message_does_not_reopen_the_window(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    clock.advance(days=2)
    old = int((clock() - timedelta(days=2)).timestamp())
    before = len(whatsapp.fake.sent)
    assert (await whatsapp.post("text", text="menu", timestamp=old)).status_code == 200
    await whatsapp.fake.wait_for_sent(before + 1)
    with database.connect() as db:
        identity = db.execute(select(ChannelIdentity)).one()
    assert identity.last_inbound_at == clock() - timedelta(days=2)


async def test_a_failure_reported_before_the_send_was_recorded_still_counts(
    whatsapp: WhatsApp, database, clock, monkeypatch
) -> None:
    from bot.channels import whatsapp as adapter
    from bot.channels.whatsapp_payloads import StatusReport

    monkeypatch.setattr(adapter, "REPORT_RETRIES", (0.01, 0.01, 0.01))
    await register(whatsapp)
    row_id = queue(database, SITI, "Kabar", clock, OutboundKind.STATUS)
    report = StatusReport("wamid.EARLY", "failed", SITI, 131047, "131047 Re-engagement message")
    early = asyncio.create_task(whatsapp.channel._report(report))
    await asyncio.sleep(0)  # the report's first try finds no row yet
    with database.begin() as db:
        outbox.claim(db=db, channel="whatsapp", now=clock(), quiet=False)
        outbox.mark_sent(db=db, outbound_id=row_id, now=clock(), platform_id="wamid.EARLY")
    await early
    again = outbound_row(database, row_id)
    assert again.status == OutboundStatus.PENDING and "131047" in again.last_error


async def test_a_huge_body_is_refused_unread(whatsapp: WhatsApp) -> None:
    huge = b"{" + b" " * (2 << 20) + b"}"
    response = await whatsapp.http.post(
        whatsapp.url, content=huge, headers={"X-Hub-Signature-256": sign(huge, APP_SECRET)}
    )
    assert response.status_code == 413


# -- real payloads: usernames, groups, edits ------------------------------------------------


async def post_fixture(whatsapp: WhatsApp, name: str, message_id: str) -> httpx.Response:
    """Post a stored fixture as it is, with a fresh message id, signed."""
    from tests.fake_whatsapp import load

    payload = load(name)
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = message_id
    body = webhook_body(payload)
    headers = {"X-Hub-Signature-256": sign(body, APP_SECRET)}
    return await whatsapp.http.post(whatsapp.url, content=body, headers=headers)


async def test_a_user_known_by_the_business_scoped_id_only_is_answered(
    whatsapp: WhatsApp, database
) -> None:
    response = await post_fixture(whatsapp, "text_bsuid_only", "wamid.bsuid-1")
    assert response.status_code == 200
    await whatsapp.answered(0, "Selamat datang di Layanan Warga Duren Sawit")
    sent = whatsapp.fake.sent[-1]
    assert sent.to == "ID.13491208655302741918"
    assert sent.payload["recipient"] == "ID.13491208655302741918" and "to" not in sent.payload
    with database.connect() as db:
        ids = db.execute(select(ChannelIdentity.external_id)).scalars().all()
    assert ids == ["ID.13491208655302741918"]


async def test_a_group_is_asked_once_to_write_privately_and_edits_get_nothing(
    whatsapp: WhatsApp,
) -> None:
    for number in range(2):
        assert (await post_fixture(whatsapp, "group_text", f"wamid.g{number}")).status_code == 200
    await whatsapp.answered(0, "chat pribadi")
    for name in ("edit", "revoke"):
        assert (await post_fixture(whatsapp, name, f"wamid.{name}")).status_code == 200
    await asyncio.sleep(0.3)  # handled in the background: give a wrong answer time to appear
    assert [message.to for message in whatsapp.fake.sent] == ["120363025246125486@g.us"]
    assert whatsapp.fake.sent[0].payload["recipient_type"] == "group"


async def test_the_business_scoped_id_that_came_with_the_number_is_the_same_resident(
    whatsapp: WhatsApp, database
) -> None:
    await post_fixture(whatsapp, "text_phone_and_bsuid", "wamid.both-1")
    await whatsapp.answered(0, "Selamat datang di Layanan Warga Duren Sawit")
    before = len(whatsapp.fake.sent)
    await post_fixture(whatsapp, "text_bsuid_only", "wamid.bsuid-2")  # the number withheld now
    await whatsapp.fake.wait_for(lambda fake: len(fake.sent) > before)
    with database.connect() as db:
        rows = db.execute(select(ChannelIdentity.external_id, ChannelIdentity.resident_id)).all()
    assert sorted(rows) == [("6281234567890", rows[0][1]), ("ID.13491208655302741918", rows[0][1])]


async def test_an_outage_of_the_graph_api_pauses_the_queue_and_fails_nothing(
    whatsapp: WhatsApp, database, clock
) -> None:
    await register(whatsapp)
    texts = [f"Pengingat {n}: sembako besok jam 8" for n in range(5)]
    ids = [queue(database, SITI, text, clock) for text in texts]
    before = len(whatsapp.fake.sent_to(SITI))
    whatsapp.fake.faults.refuse()  # the Graph API refuses connections for 20 minutes
    drainer = draining(whatsapp, database, clock)
    try:
        start = clock()
        assert await drainer.drain_once() == 5
        assert drainer.in_outage()
        while clock() < start + timedelta(minutes=20):  # longer than any backoff schedule
            clock.advance(seconds=5)
            assert await drainer.drain_once() <= 1  # one probe at a time
        waiting = [outbound_row(database, row_id) for row_id in ids]
        assert {(row.status, row.attempts) for row in waiting} == {(OutboundStatus.PENDING, 0)}
        whatsapp.fake.faults.heal()  # it is back
        clock.advance(seconds=60)
        for _round in range(10):
            await drainer.drain_once()
            clock.advance(seconds=1)
    finally:
        drainer.close()
    assert whatsapp.fake.sent_texts(SITI)[before:] == texts  # each once, in order
    done = [outbound_row(database, row_id) for row_id in ids]
    assert {(row.status, row.attempts, row.doubts) for row in done} == {
        (OutboundStatus.SENT, 1, 0)
    }
    assert not drainer.in_outage()
