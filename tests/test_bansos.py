"""Cek status bansos, as transcripts through the engine: found, not found, bad NIKs, the daily
limit, the audit, and the rule that a NIK's existence is never revealed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from handlers.bansos import next_minute
from storage.demo import seed_distributions, seed_registry
from storage.registry import CheckOutcome, StatusCheck, record_check
from tests.conftest import TEST_KEY
from tests.helpers import Chat, all_rows
from tests.test_registration import HAPPY_EN, HAPPY_ID, stored

SITI = "3175074708859901"  # demo: PKH, BPNT, PBI-JK, KJP Plus, active
DEWI = "3175075506909903"  # demo: BPNT, suspended
AGUS = "3175070101709904"  # demo: in DTSEN, no program
RINA = "3175074203809907"  # demo: inactive
JOKO = "3201072508809906"  # demo: NIK first issued in Bogor
UNKNOWN = "3175071508800123"  # valid form, not in the registry


@pytest.fixture
def registry(database, clock) -> None:
    """Load the demo registry entries and a few generated households."""
    with database.begin() as db:
        seed_registry(db=db, key=TEST_KEY, now=clock(), households=20)


@pytest.fixture
def pickups(database, clock) -> None:
    """Load the demo sembako distributions of the coming weeks."""
    with database.begin() as db:
        seed_distributions(db=db, today=clock().date(), now=clock())


async def check(chat: Chat, nik: str, name: str, own: str | None = "bansos:own:no") -> str:
    """Open the check from the menu, give a NIK and a name; return the answer (and, after a
    hit, answer whether the data is one's own with the button `own`, unless None)."""
    await chat.send("menu")
    await chat.send("Cek status bansos")
    await chat.send(nik)
    await chat.send(name)
    text = chat.text
    if own is not None and "bansos:own:yes" in chat.keys:
        await chat.tap(own)
    return text


async def test_a_registered_beneficiary_sees_programs_amounts_and_next_steps(
    chat: Chat, registry, pickups
) -> None:
    await chat.run(HAPPY_ID)
    text = await check(chat, SITI, "Siti Aminah")
    assert "Data ditemukan untuk NIK ************9901" in text
    assert "Kelurahan Klender, RW 005, RT 003, desil 2" in text
    for name in ("Program Keluarga Harapan", "Program Sembako", "Kartu Jakarta Pintar Plus"):
        assert name in text
    assert "Rp200.000 per bulan" in text  # BPNT, formatted by Babel
    assert "SD: Rp250.000 per bulan" in text  # KJP Plus by level
    assert "Yang perlu dilakukan:" in text
    assert "Jangan pernah membayar siapa pun" in text
    assert SITI not in text
    assert "Apakah ini data Bapak/Ibu sendiri?" in text
    assert chat.keys == ["bansos:sembako", "bansos:again", "bansos:menu"]


@pytest.mark.parametrize(
    "typed",
    ["SITI AMINAH", "siti  aminah", "Hj. Siti Aminah", "Ibu Siti Aminah, S.Pd.", "Siti-Aminah"],
)
async def test_the_name_matches_after_normalising_case_spaces_titles(
    chat: Chat, registry, typed: str
) -> None:
    await chat.run(HAPPY_ID)
    assert "Data ditemukan" in await check(chat, SITI, typed)


async def test_a_nik_with_spaces_or_inside_a_sentence_is_read(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    assert "Data ditemukan" in await check(chat, "3175 0747 0885 9901", "Siti Aminah")
    assert "Data ditemukan" in await check(chat, f"NIK saya {SITI} ya", "Siti Aminah")


async def test_wrong_name_and_unknown_nik_get_the_same_answer(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    wrong_name = await check(chat, SITI, "Budi Santoso")
    wrong_keys = chat.keys
    unknown = await check(chat, UNKNOWN, "Budi Santoso")
    # the only difference is the masked NIK each answer names
    assert re.sub(r"\*+\d{4}", "NIK", wrong_name) == re.sub(r"\*+\d{4}", "NIK", unknown)
    assert chat.keys == wrong_keys == ["bansos:screen", "bansos:again", "bansos:menu"]
    assert "Kami tidak menemukan pendaftaran" in unknown
    assert "Minta Ketua RT/RW mengusulkan" in unknown
    assert "SKTM" in unknown and "Cek Bansos" in unknown


async def test_not_found_offers_self_screening(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    await check(chat, UNKNOWN, "Siti Aminah")
    await chat.send("Cek kelayakan")
    assert "Jawaban hanya disimpan sampai hasilnya ditampilkan" in chat.text
    assert "Berapa orang yang tinggal dalam keluarga" in chat.text


async def test_found_offers_the_sembako_schedule_of_where_that_person_lives(
    chat: Chat, registry, pickups
) -> None:
    await chat.run(HAPPY_EN)  # registered in Pondok Bambu
    await chat.run(
        [
            ("Check bansos status", "Please type the NIK"),
            (SITI, "Now type the full name"),
            ("Siti Aminah", "Data found"),  # she lives in Klender RW 005
            ("No", "nothing of this data is kept"),
            ("Sembako schedule", "Next sembako distributions for Kelurahan Klender, RW 005:"),
        ]
    )


async def test_no_pickup_coming_no_schedule_button(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    await check(chat, SITI, "Siti Aminah")
    assert chat.keys == ["bansos:again", "bansos:menu"]


@pytest.mark.parametrize(
    ("nik", "name", "expected"),
    [
        (DEWI, "Dewi Lestari", "sedang ditangguhkan"),
        (AGUS, "Agus Setiawan", "tidak terdaftar sebagai penerima program"),
        (RINA, "Rina Wati", "tidak lagi tercatat sebagai penerima aktif"),
        (JOKO, "Joko Susilo", "Program Sembako"),  # a NIK from outside DKI is fine
    ],
)
async def test_suspended_inactive_and_no_program(
    chat: Chat, registry, nik: str, name: str, expected: str
) -> None:
    await chat.run(HAPPY_ID)
    text = await check(chat, nik, name)
    assert "Data ditemukan" in text and expected in text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("317507470885990", "Bapak/Ibu mengetik 15 angka, padahal NIK berisi 16 angka"),
        ("31750747088599012", "Bapak/Ibu mengetik 17 angka"),
        ("3175O74708859901", "NIK hanya berisi angka, tanpa huruf"),
        ("3175073202859901", "angka ke-7 sampai ke-12 adalah tanggal lahir"),  # 32 Feb
        ("3175077202859901", "angka ke-7 sampai ke-12 adalah tanggal lahir"),  # woman, 32
        ("3175073002859901", "angka ke-7 sampai ke-12 adalah tanggal lahir"),  # 30 February
        ("3175074708850000", "Itu bukan NIK yang benar"),  # serial 0000
        ("saya tidak tahu", "NIK hanya berisi angka"),
        ("🙏", "NIK hanya berisi angka"),
    ],
)
async def test_a_malformed_nik_gets_a_clear_answer_and_no_check(
    chat: Chat, registry, database, typed: str, expected: str
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    await chat.send(typed)
    assert expected in chat.text
    await chat.send(SITI)  # the question stays open: a good NIK is still taken
    assert "Sekarang ketik nama lengkap" in chat.text
    with database.connect() as db:
        assert db.execute(select(StatusCheck)).all() == []


async def test_a_huge_text_or_a_sticker_at_the_nik_question(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    await chat.send("1" * 5000)
    assert "Bapak/Ibu mengetik" in chat.text
    await chat.send_kind(kind="sticker")
    assert "Mohon ketik NIK" in chat.text


async def test_a_name_of_digits_is_refused_and_not_checked(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    await chat.send(SITI)
    await chat.send("12345")
    assert "Mohon ketik nama dengan huruf" in chat.text


async def test_the_sixth_check_in_a_day_is_refused_with_the_time_of_the_next(
    chat: Chat, registry, clock, database
) -> None:
    await chat.run(HAPPY_ID)
    for _ in range(5):
        await check(chat, UNKNOWN, "Siti Aminah")
        clock.advance(minutes=10)
    await chat.send("menu")
    await chat.send("Cek status bansos")
    # the first check was at 09.00 WIB on 28 November: the next is possible 24 hours later
    assert "sudah melakukan 5 kali pengecekan dalam 24 jam terakhir" in chat.text
    assert "Minggu, 29 November 2026 09.0" in chat.text
    assert "Menu utama" in chat.text
    clock.advance(hours=23, minutes=20)  # 24 hours after the first check
    await chat.send("Cek status bansos")
    assert "Mohon ketik NIK" in chat.text
    await chat.send(SITI)
    await chat.send("Siti Aminah")
    assert "Data ditemukan" in chat.text


async def test_the_limit_is_checked_again_before_the_lookup(
    chat: Chat, registry, database, clock
) -> None:
    """Checks were used up elsewhere while the resident was typing the name."""
    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    await chat.send(SITI)  # waiting for the name now
    resident = stored(database, chat.external_id)
    with database.begin() as db:
        for minutes in range(5):
            record_check(
                db=db,
                resident_id=resident.id,
                channel="console",
                actor_hash="elsewhere",
                outcome=CheckOutcome.NOT_FOUND,
                now=clock.now - timedelta(minutes=minutes),
            )
    await chat.send("Siti Aminah")
    assert "5 kali pengecekan" in chat.text
    assert "Data ditemukan" not in chat.text


async def test_typing_the_service_again_after_a_check_starts_another(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    await check(chat, UNKNOWN, "Siti Aminah")
    await chat.send("cek status bansos")
    assert "Mohon ketik NIK" in chat.text


async def test_every_check_is_audited_without_the_nik(
    chat: Chat, registry, database, clock
) -> None:
    await chat.run(HAPPY_ID)
    await check(chat, SITI, "Siti Aminah")
    await check(chat, SITI, "Orang Lain")
    await check(chat, UNKNOWN, "Siti Aminah")
    with database.connect() as db:
        outcomes = [row.outcome for row in db.execute(select(StatusCheck))]
    assert outcomes == ["found", "name_mismatch", "not_found"]
    dump = repr(all_rows(database))
    for secret in (SITI, UNKNOWN, SITI[:12], "Orang Lain"):
        assert secret not in dump  # not in the audit, the conversation, anywhere


async def test_the_check_needs_consent_and_a_completed_registration(
    chat: Chat, registry, database
) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    await chat.send("Cek status bansos")
    assert "kami perlu persetujuan Bapak/Ibu" in chat.text
    assert "nama, kelurahan, dan RW" in chat.text
    assert "Apakah Bapak/Ibu setuju?" in chat.text
    await chat.run(
        [
            ("setuju", "Siapa nama lengkap Bapak/Ibu"),  # consent alone is not enough
            ("Siti Aminah", "kelurahan mana?"),
            ("klender", "RW 001 sampai 015"),
            ("5", "nomor HP"),
            ("Lewati", "Mohon ketik NIK"),  # and straight back to the check
        ]
    )
    with database.connect() as db:
        assert db.execute(select(StatusCheck)).all() == []  # no lookup before registering
    await chat.send(SITI)
    await chat.send("Siti Aminah")
    assert "Data ditemukan" in chat.text
    resident = stored(database, chat.external_id)
    assert (resident.name, resident.rw) == ("Siti Aminah", 5)


async def test_consent_without_the_rest_of_the_profile_is_sent_to_register(
    chat: Chat, registry, database
) -> None:
    """Consent given, the name step left with "menu": the check still asks for the profile."""
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("setuju", "nama lengkap")])
    await chat.send("menu")
    await chat.send("Cek status bansos")
    assert "nama, kelurahan, dan RW" in chat.text
    assert "Siapa nama lengkap Bapak/Ibu" in chat.text
    assert "Mohon ketik NIK" not in chat.text
    await chat.run(
        [
            ("Siti Aminah", "kelurahan mana?"),
            ("klender", "RW 001"),
            ("5", "nomor HP"),
            ("Lewati", "Mohon ketik NIK"),
        ]
    )


async def test_in_english(chat: Chat, registry) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Check bansos status")
    assert "Please type the NIK on the KTP" in chat.text
    await chat.send(SITI)
    await chat.send("Siti Aminah")
    assert "Data found for NIK ************9901" in chat.text
    assert "Rp200.000 a month" in chat.text
    assert "Monthly food aid" not in chat.text  # the description is not the next step
    assert "Check the KKS balance" in chat.text


async def test_an_old_done_button_after_the_check_goes_home_cleanly(chat: Chat, registry) -> None:
    await chat.run(HAPPY_ID)
    await check(chat, SITI, "Siti Aminah")
    await chat.send("menu")
    await chat.tap("bansos:again")  # from the answer above, after leaving it
    assert "Tombol itu" in chat.text or "Menu utama" in chat.text


async def test_erasing_and_starting_again_does_not_reset_the_limit(
    chat: Chat, registry, database
) -> None:
    await chat.run(HAPPY_ID)
    for _ in range(5):
        await check(chat, UNKNOWN, "Siti Aminah")
    await chat.run([("hapus data", "Lanjutkan?"), ("1", "sudah dihapus")])
    await chat.run(HAPPY_ID)  # a new resident on the same chat account
    await chat.send("Cek status bansos")
    assert "5 kali pengecekan" in chat.text
    assert "Mohon ketik NIK" not in chat.text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Jadwal sembako", "Kelurahan Klender, RW 005"), ("Profil saya", "Data Bapak/Ibu")],
)
async def test_a_menu_entry_typed_instead_of_a_name_is_not_a_check(
    chat: Chat, registry, database, typed: str, expected: str
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Cek status bansos")
    await chat.send(SITI)
    await chat.send(typed)
    assert expected in chat.text
    with database.connect() as db:
        assert db.execute(select(StatusCheck)).all() == []


async def test_one_digit_in_english_and_an_emoji_after_the_nik(chat: Chat, registry) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Check bansos status")
    await chat.send("1")
    assert "You typed 1 digit, but a NIK has 16." in chat.text
    await chat.send(f"{SITI} 👍")
    assert "Now type the full name" in chat.text


def test_the_next_check_time_is_rounded_up_to_the_minute() -> None:
    at = datetime(2026, 11, 29, 2, 0, 30, tzinfo=UTC)
    assert next_minute(at) == datetime(2026, 11, 29, 2, 1, tzinfo=UTC)
    assert next_minute(at.replace(second=0)) == at.replace(second=0)
