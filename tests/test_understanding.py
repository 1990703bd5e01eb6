"""Free text as residents type it, as transcripts: at the menu and at other questions, a
sentence opens the service it means, as deep as its words say; when unsure the bot suggests;
a NIK at the menu is asked about and kept nowhere; guesses never do anything irreversible."""

import pytest
from sqlalchemy import select, text

from handlers.positions import HOME, SUGGEST, FlowName
from storage import complaints as stored
from storage.complaints import ComplaintKind
from storage.demo import seed_distributions, seed_training
from storage.residents import Resident
from tests.helpers import Chat, data_rows
from tests.test_registration import HAPPY_EN, HAPPY_ID
from tests.test_registration import stored as stored_resident

NIK = "3175076512880003"


@pytest.fixture
def services(database, clock) -> None:
    """Open the demo's courses and sembako pickups for the weeks after the test clock's day."""
    with database.begin() as db:
        seed_training(db=db, now=clock())
        seed_distributions(db=db, today=clock().date(), now=clock())


def position(database, external_id: str = "warga-1"):
    """Return where the resident's conversation stands."""
    return stored_resident(database, external_id)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cek bansos", "NIK"),
        ("saya mau cek bansos", "NIK"),
        ("min, bansos saya kok belum cair?", "NIK"),
        ("cekbansos", "NIK"),
        ("bnsos sy udh cair blm", "NIK"),
        ("kapan sembako dibagi?", "Pembagian sembako berikutnya untuk Kelurahan Klender, RW 005"),
        ("sembako kapan", "Pembagian sembako berikutnya untuk Kelurahan Klender, RW 005"),
        ("jadwl sembko", "Pembagian sembako berikutnya untuk Kelurahan Klender, RW 005"),
        ("mau daftar kursus jahit", "Menjahit Dasar"),
        ("tolonggg", "Layanan Warga Duren Sawit membantu warga"),
        ("ganti bahasa", "Silakan pilih bahasa"),
        ("lihat data saya", "Data Bapak/Ibu di layanan kami"),
        ("ganti nomor hp", "Boleh kami minta nomor HP Bapak/Ibu?"),
        ("sy mau lapor jalan rusak depan rumah", "Pengaduan Bapak/Ibu tentang apa?"),
        ("pengen ikut cek kesehatan gratis dong", "kesehatan"),
        ("mau ajukan beasiswa buat anak", "beasiswa"),
    ],
)
async def test_a_sentence_at_the_menu_opens_the_service_meant(
    chat: Chat, services, typed: str, expected: str
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send(typed)
    assert expected in chat.text
    assert "ketik nomor 1 sampai" not in chat.text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("check my food package", "Next sembako distributions for Kelurahan Pondok Bambu"),
        ("I want to complain", "What is your complaint about?"),
        ("sewing course", "Basic sewing"),
        ("can i check my bansos pls", "NIK"),
        ("help me", "Layanan Warga Duren Sawit helps residents"),
        ("change my phone number", "May we have your mobile number?"),
    ],
)
async def test_in_english_too(chat: Chat, services, typed: str, expected: str) -> None:
    await chat.run(HAPPY_EN)
    await chat.send(typed)
    assert expected in chat.text


async def test_words_name_the_language_to_change_to(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("pakai bahasa inggris aja")
    assert "From now on we will write in English." in chat.text
    assert position(database).language == "en"
    await chat.send("bahasa indonesia please")
    assert "mulai sekarang kami memakai Bahasa Indonesia." in chat.text


async def test_a_tracking_number_opens_that_report_in_any_spelling(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    resident = position(database)
    with database.begin() as db:
        filed = stored.file(
            db=db,
            resident_id=resident.id,
            kind=ComplaintKind.COMPLAINT,
            text="Lampu jalan mati di RW 05",
            kelurahan_code=resident.kelurahan_code,
            rw=resident.rw,
            now=chat.engine.clock(),
            time_zone="Asia/Jakarta",
        )
    number = int(filed.ref.rsplit("-", 1)[1])
    await chat.send(f"min status aduan adu 2026 {number} gmn ya")
    assert filed.ref in chat.text
    assert "Status: diterima, menunggu verifikasi" in chat.text


async def test_a_sentence_at_another_question_leaves_it_for_the_service_meant(
    chat: Chat, services
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    assert "NIK" in chat.text
    await chat.send("eh sembako kapan ya")  # no NIK: the question is not answered
    assert "Pembagian sembako berikutnya untuk Kelurahan Klender, RW 005" in chat.text


async def test_an_answer_that_fits_the_question_wins(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID[:3])
    await chat.send("Kursus Jahit")  # at the name step a name is a name
    assert "Bapak/Ibu tinggal di kelurahan mana?" in chat.text
    await chat.run([(typed, "") for typed, _expected in HAPPY_ID[4:]])
    assert "Terima kasih, Bapak/Ibu Kursus Jahit. Pendaftaran selesai" in chat.text


async def test_when_unsure_the_likeliest_are_offered_and_can_be_chosen(
    chat: Chat, database
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("status")
    assert "Apakah maksud Bapak/Ibu salah satu ini?" in chat.text
    assert len(chat.labels) >= 3  # two or more suggestions and the menu
    assert chat.labels[-1] == "Menu utama"
    first = chat.labels[0]
    await chat.send("1")
    assert "Apakah maksud" not in chat.text
    assert first  # the first suggestion opened; the menu is not shown again
    assert "Menu utama. Ada yang bisa kami bantu" not in chat.text


async def test_a_nik_at_the_menu_is_asked_about_and_kept_nowhere(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send(NIK)
    assert "Sepertinya ini NIK. Cek status bansos?" in chat.text
    assert chat.labels == ["Cek status bansos", "Menu utama"]
    rows = data_rows(database)
    assert not [row for rows_ in rows.values() for row in rows_ if NIK in repr(row)]
    await chat.tap(chat.keys[0])
    assert "NIK" in chat.text


async def test_nothing_fits_says_so_in_one_line_and_shows_the_menu(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("qwerty zxcv")
    assert "Maaf, kami belum memahami pesan Bapak/Ibu." in chat.text
    assert "ketik nomor 1 sampai" not in chat.text


async def test_guesses_never_erase_or_cancel_without_confirmation(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("saya mau hapus data saya")
    assert "hapus" in chat.text.casefold()
    assert position(database).name == "Siti Aminah"  # asked, nothing erased yet
    await chat.send("menu")
    assert "Menu utama" in chat.text


async def test_keywords_work_inside_a_sentence_at_a_choice(chat: Chat, services) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("pelatihan")
    assert "Bapak/Ibu mencari pelatihan jenis apa?" in chat.text
    await chat.send("udah deh saya mau kembali ke menu aja")
    assert "Menu utama" in chat.text


async def test_greetings_at_the_menu_show_the_menu_again(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("halo min selamat pagi")
    assert "Menu utama" in chat.text
    with database.connect() as db:
        resident = db.execute(select(Resident)).first()
    assert resident is not None


def test_the_suggestion_step_is_a_position_of_its_own() -> None:
    assert SUGGEST.flow == FlowName.UNDERSTAND
    assert HOME != SUGGEST


async def test_a_frequent_question_gets_its_answer_and_the_way_on(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("min syarat KJP apa aja ya?")
    assert "KJP" in chat.text
    assert "Menu utama" in chat.labels
    assert "Apakah maksud" not in chat.text


async def test_what_nothing_fits_goes_to_an_officer_and_is_kept_without_its_author(
    chat: Chat, database
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send(f"qwerty zxcv asdf poiu {NIK}")
    assert "Tanya petugas" in chat.labels
    with database.connect() as db:
        kept = db.execute(text("SELECT * FROM unrecognised_messages")).mappings().all()
    assert len(kept) == 1
    assert NIK not in repr(dict(kept[0]))
    assert "resident_id" not in kept[0]
    await chat.tap(chat.keys[chat.labels.index("Tanya petugas")])
    assert "TNY-2026-" in chat.text


async def test_a_question_for_an_officer_is_sent_only_after_a_yes(chat: Chat, database) -> None:
    def asked() -> int:
        with database.connect() as db:
            found = select(stored.Complaint).where(stored.Complaint.kind == ComplaintKind.QUESTION)
            return len(db.execute(found).all())

    await chat.run(HAPPY_ID)
    await chat.send("sy mau tanya ke petugas: kapan kjp cair?")
    if "Tanya petugas" in chat.labels:  # suggested among others: the resident picks it
        await chat.tap(chat.keys[chat.labels.index("Tanya petugas")])
    assert "“kapan kjp cair?”" in chat.text and "Kelurahan Klender" in chat.text
    assert asked() == 0
    await chat.tap(chat.keys[0])  # Kirim
    assert "TNY-2026-000001" in chat.text
    assert asked() == 1


async def test_what_means_nothing_is_kept_where_buttons_were_offered_not_at_free_text(
    chat: Chat, database, services
) -> None:
    def kept() -> list[dict]:
        with database.connect() as db:
            rows = db.execute(text("SELECT * FROM unrecognised_messages")).mappings().all()
        return [dict(row) for row in rows]

    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    await chat.send("qwerty zxcv asdf")  # at the NIK question: the resident's own answer
    assert "NIK" in chat.text
    assert kept() == []
    await chat.send("menu")
    await chat.send("mau ikut pelatihan")
    asked = chat.text
    await chat.send("qwerty zxcv asdf")  # where buttons were offered
    assert "Tanya petugas" not in chat.labels  # the question stays, with its hint
    assert chat.text.endswith(asked)  # the question again, after its hint
    [miss] = kept()
    assert miss["text"] == "qwerty zxcv asdf"
    assert miss["where"].startswith(f"{FlowName.TRAINING}.")


def test_every_label_learned_or_labelled_leads_somewhere() -> None:
    from handlers import faq_data
    from handlers.understanding import reading, routes

    intents = {intent["label"] for intent in reading.intents_data()["intent"]}
    assert intents <= set(routes.ROUTES), intents - set(routes.ROUTES)
    known = intents | set(faq_data.labels()) | {reading.NOTHING}
    for part in ("train", "test"):
        labels = {row.label for row in reading.labelled(part)}
        assert labels <= known, labels - known
    written = {row.label for row in reading.examples()}
    assert written <= known, written - known
    # every label that may be suggested has a button title (a frequent question: its phrasing)
    suggested = intents - {reading.CHATTER}
    assert suggested <= set(routes.TITLES), suggested - set(routes.TITLES)
