"""The engine with what real residents send: media, stale buttons, keywords, silence, repeats."""

import pytest
from sqlmodel import Session

from handlers.messages import Kind
from storage.conversations import Conversation
from tests.helpers import Chat, Clock
from tests.test_registration import HAPPY_ID, stored

ERROR_TEXTS = ("ada gangguan di sistem kami", "something went wrong on our side")

MEDIA = [
    (Kind.STICKER, "Terima kasih stikernya"),
    (Kind.PHOTO, "belum bisa membaca foto"),
    (Kind.VOICE, "belum bisa mendengarkan pesan suara"),
    (Kind.VIDEO, "belum bisa memutar video"),
    (Kind.DOCUMENT, "belum bisa membuka dokumen"),
    (Kind.REACTION, "silakan ketik jawaban"),
    (Kind.OTHER, "belum bisa membaca jenis pesan itu"),
    (Kind.LOCATION, "tidak meminta lokasi"),
]

# (how many lines of HAPPY_ID to send first, a phrase of that step's question)
STEPS = [
    (1, "Silakan pilih bahasa"),
    (2, "Apakah Bapak/Ibu setuju"),
    (3, "Siapa nama lengkap"),
    (4, "kelurahan mana"),
    (5, "RW berapa"),
    (6, "nomor HP"),
    (7, "Menu utama"),
]


@pytest.mark.parametrize(("kind", "hint"), MEDIA)
@pytest.mark.parametrize(("sent", "question"), STEPS)
async def test_media_gets_a_hint_and_the_question_again(
    chat: Chat, kind: Kind, hint: str, sent: int, question: str
) -> None:
    await chat.run(HAPPY_ID[:sent])
    await chat.send_kind(kind, latitude=-6.23, longitude=106.91)
    assert hint in chat.text
    assert question in chat.replies[-1].text


async def test_contact_where_none_was_asked(chat: Chat) -> None:
    await chat.run(HAPPY_ID[:3])
    await chat.send_kind(Kind.CONTACT, phone="081234567890")
    assert "tidak meminta kontak" in chat.text and "Siapa nama lengkap" in chat.text


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_empty_message(chat: Chat, text: str) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send(text)
    assert "Pesan Bapak/Ibu kosong" in chat.text and "kelurahan mana" in chat.text


@pytest.mark.parametrize("text", ["apa ini?", "😀", "9", "x" * 100_000, "Jakarta"])
async def test_not_understood_at_a_choice(chat: Chat, text: str) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send(text)
    assert "Mohon pilih salah satu: ketik nomor 1 sampai 7" in chat.text
    assert chat.labels[2] == "Klender"


@pytest.mark.parametrize(
    ("typed", "kelurahan"),
    [
        ("Malaka J", "Malaka Jaya"),
        ("kopi", "Pondok Kopi"),
        ("klendr", "Klender"),
        ("pondok bamboo", "Pondok Bambu"),
        ("DUREN", "Duren Sawit"),
    ],
)
async def test_loose_answers_pick_an_option(chat: Chat, typed: str, kelurahan: str) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send(typed)
    assert f"Di Kelurahan {kelurahan} ada RW" in chat.text


async def test_an_answer_that_fits_several_options_asks_which(chat: Chat) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send("Pondok")
    assert "Yang mana yang Bapak/Ibu maksud: Pondok Bambu, Pondok Kelapa, Pondok Kopi?" in (
        chat.text
    )


async def test_a_word_of_a_menu_entry_picks_it(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("pengaduan")
    assert "Masukan & pengaduan. Apa yang ingin Bapak/Ibu lakukan?" in chat.text
    await chat.send("menu")
    await chat.send("pelatihan")
    assert "Pendaftaran saya" in chat.labels


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("ya", "Siapa nama lengkap"), ("setuju", "Siapa nama lengkap"), ("tidak", "Tidak apa-apa")],
)
async def test_plain_yes_and_no_answer_the_consent(chat: Chat, typed: str, expected: str) -> None:
    await chat.run(HAPPY_ID[:2])
    await chat.send(typed)
    assert expected in chat.text


async def test_a_hint_at_the_consent_asks_again_in_short(chat: Chat) -> None:
    await chat.run(HAPPY_ID[:2])
    await chat.send("hmm apa ini")
    assert "Mohon pilih salah satu: ketik nomor 1 sampai 3" in chat.text
    assert "Apakah Bapak/Ibu setuju dengan pemberitahuan privasi di atas?" in chat.text
    assert "Sebelum lanjut" not in chat.text  # not the whole notice again


@pytest.mark.parametrize("said", ["halo", "ok", "terima kasih", "Selamat siang"])
async def test_small_talk_is_not_taken_as_a_name(chat: Chat, database, said: str) -> None:
    await chat.run(HAPPY_ID[:3])
    await chat.send(said)
    assert "Siapa nama lengkap" in chat.text
    await chat.send("Suharti")  # one-word names are fine
    assert "kelurahan mana" in chat.text


async def test_greeting_at_the_menu_shows_the_menu(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Selamat pagi!")
    assert chat.text.startswith("Menu utama") and "Mohon pilih" not in chat.text


async def test_button_from_an_old_message(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.tap("kel:31.75.07.1003")  # from the registration, long finished
    assert "Tombol itu dari pesan lama" in chat.text and "Menu utama" in chat.text
    await chat.tap("erase:yes")  # an old confirmation must never erase anything now
    assert "Tombol itu dari pesan lama" in chat.text and "Menu utama" in chat.text
    assert stored(database, chat.external_id).name == "Siti Aminah"
    await chat.tap("lang:en")  # an old language button still changes the language
    assert "From now on we will write in English" in chat.text and "Main menu" in chat.text


async def test_old_menu_button_opens_the_service_from_anywhere(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("Profil saya", "Data Bapak/Ibu"), ("1", "Siapa nama lengkap")])
    await chat.tap("svc:help")  # the menu shown a minute ago
    assert "Kata yang bisa diketik kapan saja" in chat.text


@pytest.mark.parametrize("word", ["menu", "MENU", "Menu.", "/menu", "menu utama"])
async def test_menu_keyword(chat: Chat, word: str) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send(word)
    assert chat.text.startswith("Menu utama")


@pytest.mark.parametrize("word", ["batal", "cancel", "Batal!"])
async def test_cancel_mid_registration_saves_nothing(chat: Chat, database, word: str) -> None:
    await chat.run(HAPPY_ID[:5])
    await chat.send(word)
    assert "Dibatalkan. Jawaban yang belum selesai tidak disimpan" in chat.text
    assert "Menu utama" in chat.text
    assert stored(database, chat.external_id).name is None
    assert "Lanjut daftar" in chat.labels
    await chat.send("batal")
    assert "Tidak ada yang perlu dibatalkan" in chat.text


@pytest.mark.parametrize("word", ["bantuan", "help", "/bantuan"])
async def test_help_keeps_the_place(chat: Chat, word: str) -> None:
    await chat.run(HAPPY_ID[:5])
    await chat.send(word)
    assert "Kata yang bisa diketik kapan saja" in chat.text
    assert "RW berapa" in chat.replies[-1].text
    await chat.send("5")
    assert "nomor HP" in chat.text


async def test_language_mid_registration_returns_to_the_step(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID[:5])
    await chat.run([("bahasa", "Please choose your language"), ("2", "write in English")])
    assert "Which RW do you live in? Kelurahan Klender" in chat.text
    await chat.run([("5", "mobile number"), ("Skip", "Thank you, Siti Aminah")])
    assert stored(database, chat.external_id).language == "en"


async def test_stop_and_start(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("berhenti")
    assert "tidak akan menerima pengumuman lagi" in chat.text
    assert stored(database, chat.external_id).opted_out
    await chat.send("mulai")
    assert "akan menerima pengumuman lagi" in chat.text and "Selamat datang kembali" in chat.text
    assert not stored(database, chat.external_id).opted_out


async def test_start_keyword_for_someone_who_agreed_continues_registration(chat: Chat) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send("/start")
    assert "Siapa nama lengkap" in chat.text


async def test_start_keyword_for_someone_who_did_not_agree_welcomes(chat: Chat) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("2", "Tidak apa-apa")])
    await chat.send("mulai")
    assert "Selamat datang di Layanan Warga" in chat.text


async def test_language_keyword_as_the_first_message_asks_once(chat: Chat) -> None:
    await chat.send("bahasa")
    assert chat.text.count("Silakan pilih bahasa") == 1


async def test_idle_resident_goes_back_to_the_menu(chat: Chat, clock: Clock, database) -> None:
    await chat.run(HAPPY_ID[:4])
    clock.advance(minutes=29)
    await chat.send("3")
    assert "Kelurahan Klender" in chat.text  # still within the timeout
    clock.advance(minutes=31)
    await chat.send("5")
    assert "percakapan sebelumnya kami akhiri" in chat.text and "Menu utama" in chat.text
    assert "Mohon pilih" not in chat.text  # the stale "5" was not read as a menu choice
    assert stored(database, chat.external_id).rw is None


async def test_repeated_message_id_is_ignored(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID[:3])
    message = chat.message(text="Siti Aminah")
    assert "kelurahan mana" in (await chat.deliver(message))[-1].text
    assert await chat.deliver(message) == []
    with Session(database) as session:
        resident = stored(database, chat.external_id)
        assert session.get(Conversation, resident.id).step == "kelurahan"


async def test_a_position_from_an_older_version_goes_home(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    resident = stored(database, chat.external_id)
    with Session(database) as session:
        conversation = session.get(Conversation, resident.id)
        conversation.flow, conversation.step = "survey", "question-9"
        session.add(conversation)
        session.commit()
    await chat.send("1")
    assert "Mohon ketik NIK" in chat.text  # read as the menu's first entry: the status check


async def test_no_error_reply_on_any_keyword_at_any_step(engine) -> None:
    words = ["menu", "batal", "bantuan", "bahasa", "berhenti", "mulai", "hapus data", "start"]
    for sent, _question in STEPS:
        for word in words:
            chat = Chat(engine, f"kw-{sent}-{word}")
            await chat.run(HAPPY_ID[:sent])
            await chat.send(word)
            assert chat.replies and not any(error in chat.text for error in ERROR_TEXTS)


async def test_greeting_at_a_question_asks_it_again(chat: Chat) -> None:
    await chat.run(HAPPY_ID[:4])
    await chat.send("halo")
    assert "Mohon pilih" not in chat.text and "kelurahan mana" in chat.text


async def test_a_failing_update_apologises_rolls_back_and_logs_nothing_personal(
    chat: Chat, database, monkeypatch, caplog
) -> None:
    from sqlalchemy import text

    from handlers import registration

    def broken_register(*, db, profile, name, **_fields) -> None:
        db.execute(text("INSERT INTO no_such_table VALUES (:name)"), {"name": name})

    await chat.run(HAPPY_ID[:6])
    monkeypatch.setattr(registration.residents, "register", broken_register)
    await chat.send("081234567890")
    assert "Maaf, ada gangguan di sistem kami" in chat.text
    assert "update failed" in caplog.text
    assert "Siti Aminah" not in caplog.text and "81234567890" not in caplog.text
    monkeypatch.undo()
    await chat.send("081234567890")  # nothing was half-saved: the same answer works now
    assert "Pendaftaran selesai" in chat.text
