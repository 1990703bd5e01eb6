"""Start, consent, registration and profile, as transcripts through the engine."""

import pytest
from sqlmodel import Session, select

from storage.places import Kelurahan, RukunWarga
from storage.residents import ChannelIdentity, Resident
from tests.helpers import Chat

HAPPY_ID = [
    ("halo", "Selamat datang di Layanan Warga Duren Sawit"),
    ("1", "Apakah Bapak/Ibu setuju?"),
    ("Saya setuju", "Siapa nama lengkap Bapak/Ibu, sesuai KTP?"),
    ("  Siti   Aminah ", "Bapak/Ibu tinggal di kelurahan mana?"),
    ("klender", "Di Kelurahan Klender ada RW 001 sampai 015"),
    ("RW 05", "Boleh kami minta nomor HP Bapak/Ibu?"),
    ("0812-3456-7890", "Terima kasih, Bapak/Ibu Siti Aminah. Pendaftaran selesai:"),
]

HAPPY_EN = [
    ("hello", "Please choose your language:"),
    ("English", "Do you agree?"),
    ("1", "What is your full name, as on your KTP?"),
    ("Budi Santoso", "Which kelurahan do you live in?"),
    ("2", "Kelurahan Pondok Bambu has RW 001 to 014"),
    ("14", "May we have your mobile number?"),
    ("Skip", "Thank you, Budi Santoso. Your registration is complete:"),
]


def stored(database, external_id: str) -> Resident:
    """Return the resident behind a console identity."""
    with Session(database) as session:
        query = (
            select(Resident)
            .join(ChannelIdentity)
            .where(ChannelIdentity.external_id == external_id)
        )
        return session.exec(query).one()


async def test_registration_in_indonesian(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    assert "Menu utama. Ada yang bisa kami bantu, Bapak/Ibu Siti Aminah?" in chat.text
    assert "Profil saya" in chat.labels
    resident = stored(database, chat.external_id)
    assert (resident.name, resident.kelurahan_code, resident.rw, resident.phone) == (
        "Siti Aminah",
        "31.75.07.1003",
        5,
        "+6281234567890",
    )
    assert resident.language == "id" and resident.consent_at is not None


async def test_registration_in_english(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    assert "Main menu. How can we help you, Budi Santoso?" in chat.text
    resident = stored(database, chat.external_id)
    assert (resident.language, resident.kelurahan_code, resident.rw, resident.phone) == (
        "en",
        "31.75.07.1002",
        14,
        None,
    )


async def test_language_hint_sets_the_first_language(chat: Chat) -> None:
    await chat.send("/start", language_hint="en-GB")
    assert "Welcome to Layanan Warga Duren Sawit" in chat.text


async def test_refusing_consent_stores_nothing_personal(chat: Chat, database) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("2", "Tidak apa-apa")])
    assert "Menu utama" in chat.text and "Daftar" in chat.labels
    resident = stored(database, chat.external_id)
    assert resident.consent_at is None and resident.name is None
    await chat.send("Profil saya")
    assert "Bapak/Ibu belum terdaftar" in chat.text


async def test_consent_can_be_explained_first(chat: Chat) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("3", "UU PDP No. 27/2022")])
    assert "Apakah Bapak/Ibu setuju?" in chat.text  # asked again after the explanation


async def test_feedback_and_complaints_open_the_chooser(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Masukan & pengaduan")
    assert "Apa yang ingin Bapak/Ibu lakukan?" in chat.text
    assert "Menu utama" in chat.labels


async def test_profile_shows_and_edits(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Profil saya")
    assert "Nama: Siti Aminah" in chat.text and "Kelurahan: Klender, RW 005" in chat.text
    assert "Nomor HP: 0812-3456-7890" in chat.text
    assert "Persetujuan privasi: Sabtu, 28 November 2026 09.00 WIB" in chat.text
    await chat.run([("Ubah nama", "Siapa nama lengkap"), ("Siti Nurhaliza", "Nama sudah diubah")])
    await chat.run(
        [
            ("2", "kelurahan mana"),
            ("Pondok Kopi", "RW 001 sampai 012"),
            ("12", "Kelurahan dan RW sudah diubah"),
        ]
    )
    await chat.run([("3", "nomor HP"), ("Hapus nomor saya", "Nomor HP sudah dihapus")])
    await chat.run([("4", "tidak akan menerima pengumuman lagi")])
    resident = stored(database, chat.external_id)
    assert (resident.name, resident.kelurahan_code, resident.rw, resident.phone) == (
        "Siti Nurhaliza",
        "31.75.07.1007",
        12,
        None,
    )
    assert resident.opted_out
    assert "Aktifkan pengumuman" in chat.labels
    assert "Pengumuman: nonaktif" in chat.text


async def test_phone_from_shared_contact(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID[:-1])
    from handlers.messages import Kind, Request

    assert chat.replies[-1].request == Request.PHONE
    await chat.send_kind(Kind.CONTACT, phone="6285712345678", contact_is_own=False)
    assert "kontak Bapak/Ibu sendiri" in chat.text
    await chat.send_kind(Kind.CONTACT, phone="6285712345678")
    assert "Pendaftaran selesai" in chat.text
    assert stored(database, chat.external_id).phone == "+6285712345678"


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("12345", "huruf saja"),
        ("😀😀😀", "huruf saja"),
        ("S", "huruf saja"),
        ("x" * 101, "terlalu panjang"),
        ("Siti <script>", "huruf saja"),
    ],
)
async def test_bad_names_are_explained(chat: Chat, answer: str, hint: str) -> None:
    await chat.run(HAPPY_ID[:3])
    await chat.send(answer)
    assert hint in chat.text
    assert "Siapa nama lengkap" in chat.text  # the question again


@pytest.mark.parametrize(
    ("answer", "number"),
    [("0", "000"), ("16", "016"), ("RW 99", "099"), ("rw enam belas", "016")],
)
async def test_rw_not_in_the_kelurahan(chat: Chat, answer: str, number: str) -> None:
    await chat.run(HAPPY_ID[:5])
    await chat.send(answer)
    assert f"RW {number} tidak ada di Kelurahan Klender. Mohon ketik nomor 001 sampai 015" in (
        chat.text
    )


@pytest.mark.parametrize("answer", ["RW setengah", "-3", "5.5", "dekat masjid", "RT 3", "👍"])
async def test_rw_that_is_no_number(chat: Chat, answer: str) -> None:
    await chat.run(HAPPY_ID[:5])
    await chat.send(answer)
    assert "Mohon ketik nomor RW saja, contoh: 5." in chat.text


@pytest.mark.parametrize("answer", ["RT 3 RW 5", "rw.005", "005", "RW05"])
async def test_rw_written_in_other_ways(chat: Chat, database, answer: str) -> None:
    await chat.run(HAPPY_ID[:5])
    await chat.run([(answer, "nomor HP"), ("tidak ada", "Pendaftaran selesai")])
    assert stored(database, chat.external_id).rw == 5


@pytest.mark.parametrize(
    "answer", ["-", "gak punya", "Tidak ada", "nanti saja", "no number", "I don't have one"]
)
async def test_no_phone_number_in_other_words(chat: Chat, database, answer: str) -> None:
    await chat.run(HAPPY_ID[:6])
    await chat.send(answer)
    assert "Pendaftaran selesai" in chat.text and "Nomor HP: tidak diisi" in chat.text


@pytest.mark.parametrize("answer", ["12345", "0212345678", "+1 555 0100", "nomor saya"])
async def test_bad_phone_is_explained(chat: Chat, answer: str) -> None:
    await chat.run(HAPPY_ID[:6])
    await chat.send(answer)
    assert "Sepertinya itu bukan nomor HP" in chat.text


async def test_two_residents_are_kept_apart(engine) -> None:
    siti, budi = Chat(engine, "siti"), Chat(engine, "budi")
    await siti.run(HAPPY_ID[:4])
    await budi.run(HAPPY_EN[:3])
    await siti.send("3")
    assert "Kelurahan Klender" in siti.text
    await budi.send("Budi")
    assert "Which kelurahan" in budi.text


async def test_registration_without_kelurahan_data_says_so(chat: Chat, database) -> None:
    with database.begin() as db:
        db.execute(RukunWarga.__table__.delete())
        db.execute(Kelurahan.__table__.delete())
    await chat.run(HAPPY_ID[:3])
    await chat.send("Siti Aminah")
    assert "data kelurahan belum tersedia" in chat.text and "Menu utama" in chat.text
    await chat.send("Profil saya")
    assert "pendaftaran belum selesai" in chat.text
