"""Values written in words, through the engine at the real questions, in both languages:
household size and income, business type and age, kelurahan and RW, yes and no."""

import pytest

from handlers.formatting import format_rupiah
from storage.demo import seed_distributions
from tests.helpers import Chat
from tests.test_registration import HAPPY_EN, HAPPY_ID


@pytest.fixture
def schedule(database, clock) -> None:
    """Load the demo distributions for the weeks after the test clock's day."""
    with database.begin() as db:
        seed_distributions(db=db, today=clock().date(), now=clock())


# -- cek kelayakan -------------------------------------------------------------------------------


async def test_eligibility_answered_in_words(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [
            ("Cek kelayakan", "Berapa orang yang tinggal dalam keluarga"),
            ("lima orang", "Berapa kira-kira penghasilan seluruh keluarga"),
            ("dua juta", "Siapa saja yang tinggal di keluarga Bapak/Ibu?"),
            ("tidak ada", "Apa pekerjaan anggota keluarga"),
            ("saya jualan makanan", "Keluarga Bapak/Ibu tinggal di mana?"),
            ("ngontrak", "sudah terdaftar di data sosial DTSEN"),
            ("iyaa 👍", "Hasil (hanya perkiraan):"),
        ]
    )
    assert "Penghasilan per orang: Rp400.000 sebulan" in chat.text


async def test_eligibility_answered_in_words_in_english(chat: Chat) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(
        [
            ("Check eligibility", "How many people live in your household"),
            ("we are four", "how much does the whole household earn"),
            ("two million a month", "Who lives in your household?"),
            ("none", "What is the work"),
            ("ojol", "Where does your household live?"),
            ("rent", "DTSEN"),
            ("nope", "Result (an estimate only):"),
        ]
    )
    assert f"Income per person: {format_rupiah(500_000, 'en')} a month" in chat.text


@pytest.mark.parametrize(
    ("size", "income", "per_person"),
    [
        ("berlima", "sekitar 2 juta", "Rp400.000"),
        ("kami berempat", "2jt an sebulan", "Rp500.000"),
        ("ber-5", "Rp 2.500.000", "Rp500.000"),
        ("sendiri", "setengah juta", "Rp500.000"),
        ("suami istri", "1-2 juta", "Rp1.000.000"),  # a range: its upper end
    ],
)
async def test_sizes_and_incomes_as_typed(
    chat: Chat, size: str, income: str, per_person: str
) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [
            ("Cek kelayakan", "Berapa orang"),
            (size, "penghasilan"),
            (income, "Siapa saja"),
            ("Tidak ada", "pekerjaan"),
            ("1", "tinggal di mana"),
            ("1", "DTSEN"),
            ("tdk", "Hasil (hanya perkiraan):"),
        ]
    )
    assert f"Penghasilan per orang: {per_person} sebulan" in chat.text


async def test_what_cannot_be_read_keeps_the_friendly_hint(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [
            ("Cek kelayakan", "Berapa orang"),
            ("banyak sekali", "Mohon ketik jumlah orang, dari 1 sampai 30"),
            ("4-5 orang", "Mohon ketik jumlah orang"),
            ("lima", "penghasilan"),
            ("dua juta lima", "Mohon ketik jumlahnya, contoh"),  # 2,5 juta or 2.000.005?
            ("tiga", "Bila maksud Bapak/Ibu 3 juta"),
            ("tiga juta", "Siapa saja"),
        ]
    )


# -- modal usaha ---------------------------------------------------------------------------------


async def test_capital_answered_in_words(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [
            ("Beasiswa & modal usaha", ""),
            ("Modal usaha", ""),
            ("saya jualan makanan di rumah", "Sudah berapa lama usaha ini berjalan?"),
            ("sejam lebih", "Berapa kira-kira omzet usaha dalam sebulan"),
            ("empat juta", ""),
            ("dua setengah juta", ""),
            ("satu juta lima ratus ribu", ""),
            ("Beli etalase dan bahan", "dikelola oleh perempuan?"),
            ("iya", "Mohon periksa:"),
        ]
    )
    text = chat.text
    assert "Usaha: Makanan dan minuman, sudah berjalan 0 bulan" in text
    assert "Rp1.500.000" in text and "Rp4.000.000" in text and "Rp2.500.000" in text
    assert "Dikelola perempuan: ya" in text
    await chat.send("gak jadi")
    assert "Tidak jadi dikirim. Tidak ada data yang disimpan." in chat.text


async def test_capital_answered_in_words_in_english(chat: Chat) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(
        [
            ("Scholarships & capital", "Apply here for:"),
            ("Business capital", "What kind of business do you run?"),
            ("jahit baju", "How long has the business been running?"),
            ("3 bln", "take in a month"),
            ("4 million", "cost in a month"),
            ("2.5 million", "How much capital do you ask for?"),
            ("one million", "What will you use it for?"),
            ("A second sewing machine", "owned or run by a woman?"),
            ("nope", "Please check:"),
        ]
    )
    assert "Business: Tailoring, running 3 months" in chat.text
    assert "Women-led: no" in chat.text


@pytest.mark.parametrize(
    ("typed", "months"),
    [("tiga bulan", 3), ("dua tahun", 24), ("setahun", 12), ("1,5 tahun", 18), ("baru buka", 0)],
)
async def test_capital_durations_in_words(chat: Chat, typed: str, months: int) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(
        [
            ("Scholarships & capital", ""),
            ("Business capital", ""),
            ("warung", "How long"),
            (typed, "take in a month"),
            ("4 juta", ""),
            ("2 juta", ""),
            ("1 juta", ""),
            ("Stock for the shop", "woman"),
            ("y", "Please check:"),
        ]
    )
    assert f"running {months} months" in chat.text


async def test_an_unclear_business_sentence_asks_which(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("Beasiswa & modal usaha", ""), ("Modal usaha", "")])
    await chat.send("warung dan jahit")
    assert "Yang mana yang Bapak/Ibu maksud" in chat.text
    assert "Warung / toko kelontong" in chat.text and "Jahit / konveksi" in chat.text
    await chat.send("jahitan")
    assert "Sudah berapa lama usaha ini berjalan?" in chat.text


# -- registration: kelurahan and RW --------------------------------------------------------------

START_ID = HAPPY_ID[:4]
START_EN = HAPPY_EN[:4]


async def test_kelurahan_and_rw_in_words(chat: Chat) -> None:
    await chat.run(START_ID)
    await chat.run(
        [
            ("malaka", "Yang mana yang Bapak/Ibu maksud: Malaka Sari, Malaka Jaya?"),
            ("pdk kopi", "Di Kelurahan Pondok Kopi ada RW 001 sampai 012"),
            ("rw dua puluh", "RW 020 tidak ada di Kelurahan Pondok Kopi"),
            ("rw lima", "Boleh kami minta nomor HP Bapak/Ibu?"),
            ("lewati", "Kelurahan Pondok Kopi, RW 005"),
        ]
    )


async def test_kelurahan_and_rw_in_words_in_english(chat: Chat) -> None:
    await chat.run(START_EN)
    await chat.run(
        [
            ("klendr", "Kelurahan Klender has RW 001 to 015"),
            ("RT 3 RW 7", "May we have your mobile number?"),
            ("Skip", "Kelurahan Klender, RW 007"),
        ]
    )


@pytest.mark.parametrize(
    ("kelurahan", "name"),
    [
        ("pd bambu", "Pondok Bambu"),
        ("durensawit", "Duren Sawit"),
        ("pondok kelpa", "Pondok Kelapa"),
        ("kel. malaka jaya", "Malaka Jaya"),
    ],
)
async def test_kelurahan_as_typed(chat: Chat, kelurahan: str, name: str) -> None:
    await chat.run(START_ID)
    await chat.send(kelurahan)
    assert f"Di Kelurahan {name} ada RW 001" in chat.text


# -- sembako -------------------------------------------------------------------------------------


async def test_sembako_rw_in_words(chat: Chat, schedule) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    await chat.run(
        [
            ("Jadwal sembako", "Bapak/Ibu tinggal di kelurahan mana?"),
            ("kel klender", "Ketik nomor dari 001 sampai 015"),
            ("rw lima", "Pembagian sembako berikutnya untuk Kelurahan Klender, RW 005"),
        ]
    )


async def test_sembako_rw_in_words_in_english(chat: Chat, schedule) -> None:
    await chat.run([("hello", "Please choose your language:"), ("English", "Do you agree?")])
    await chat.run(
        [
            ("no", ""),
            ("Sembako schedule", "Which kelurahan do you live in?"),
            ("klender", "Type a number from 001 to 015"),
            ("RW05", "Kelurahan Klender, RW 005"),
        ]
    )
