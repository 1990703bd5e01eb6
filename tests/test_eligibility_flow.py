"""Cek kelayakan as transcripts through the engine: the questions, bad answers, the result."""

import pytest

from tests.helpers import Chat, all_rows
from tests.test_registration import HAPPY_EN, HAPPY_ID

POOR_FIVE_WITH_ELDERLY = [
    ("Cek kelayakan", "Berapa orang yang tinggal dalam keluarga"),
    ("5", "Berapa kira-kira penghasilan seluruh keluarga"),
    ("3 juta", "Siapa saja yang tinggal di keluarga Bapak/Ibu?"),
    ("Lansia", "Dipilih: Lansia 60+ tahun."),
    ("Selesai", "Apa pekerjaan anggota keluarga"),
    ("Buruh harian/serabutan", "Keluarga Bapak/Ibu tinggal di mana?"),
    ("Sewa", "Apakah keluarga Bapak/Ibu sudah terdaftar di data sosial DTSEN"),
    ("Ya", "Hasil (hanya perkiraan):"),
]


async def test_a_poor_household_of_five_with_an_elderly_member(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(POOR_FIVE_WITH_ELDERLY)
    text = chat.text
    assert "Penghasilan per orang: Rp600.000 sebulan" in text
    assert "garis kemiskinan Jakarta: Rp852.768" in text
    for program in ("(PKH)", "(BPNT)", "(PBI_JK)", "(KLJ)"):
        assert program in text
    for absent in ("(KJMU)", "(KAJ)", "(KPDJ)"):
        assert absent not in text  # no student, no small child, no disability
    assert "Ada anggota keluarga berusia 60 tahun atau lebih." in text
    assert "di bawah garis kemiskinan Jakarta" in text
    assert "Keputusan ada di Dinas Sosial" in text
    assert "Cara mengajukan: minta Ketua RT/RW" in text
    assert chat.keys == ["screen:status", "screen:again", "screen:menu"]
    # nothing of the answers is kept once the result is shown
    conversation = repr(all_rows(database)["conversations"])
    assert "income" not in conversation and "3000000" not in conversation


async def test_not_in_dtsen_says_to_be_proposed_first(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([*POOR_FIVE_WITH_ELDERLY[:-1], ("Belum", "Hasil (hanya perkiraan):")])
    assert "harus terdaftar di DTSEN lebih dulu" in chat.text


async def test_a_well_off_household_is_told_kindly(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [
            ("Cek kelayakan", "Berapa orang"),
            ("2", "penghasilan"),
            ("Rp 25.000.000", "Siapa saja"),
            ("Tidak ada", "pekerjaan"),
            ("1", "tinggal di mana"),
            ("1", "DTSEN"),
            ("Tidak tahu", "tampaknya belum memenuhi syarat"),
        ]
    )


@pytest.mark.parametrize(
    ("step", "typed", "expected"),
    [
        (1, "banyak", "Mohon ketik jumlah orang, dari 1 sampai 30"),
        (1, "0", "dari 1 sampai 30"),
        (1, "45", "dari 1 sampai 30"),
        (2, "lima ratus ribu juta", "Mohon ketik jumlahnya, contoh"),  # nonsense
        (2, "sejuta lima", "Mohon ketik jumlahnya, contoh"),  # 1,5 juta or 1.000.005?
        (2, "-500000", "Mohon ketik jumlahnya, contoh"),
        (2, "3", "Bila maksud Bapak/Ibu 3 juta"),
        (2, "2,5", "Bila maksud Bapak/Ibu 2,5 juta"),
        (2, "99999999999", "Mohon ketik jumlahnya, contoh"),
        (3, "1 99", "Mohon pilih dari daftar"),
        (3, "2,5 juta", "Mohon pilih dari daftar"),  # an amount, not options 2 and 5
    ],
)
async def test_bad_answers_get_a_clear_hint_and_the_question_stays(
    chat: Chat, step: int, typed: str, expected: str
) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(POOR_FIVE_WITH_ELDERLY[:step])
    await chat.send(typed)
    assert expected in chat.text
    await chat.run([POOR_FIVE_WITH_ELDERLY[step]])  # the right answer is still taken


async def test_several_members_at_once_and_toggling_one_off(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(POOR_FIVE_WITH_ELDERLY[:3])
    await chat.send("1, 2 dan 6")
    assert "Dipilih: Anak di bawah 6 tahun, Anak SD, Lansia 60+ tahun." in chat.text
    await chat.send("2")  # chosen again: taken off
    assert "Dipilih: Anak di bawah 6 tahun, Lansia 60+ tahun." in chat.text
    await chat.tap("member:pregnant")
    assert "Ibu hamil" in chat.text
    await chat.send("selesai")
    assert "Apa pekerjaan" in chat.text


async def test_a_sticker_or_photo_is_answered_with_a_hint(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(POOR_FIVE_WITH_ELDERLY[:2])
    await chat.send_kind(kind="photo")
    assert "Berapa kira-kira penghasilan" in chat.text


async def test_start_again_and_go_to_the_status_check(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(POOR_FIVE_WITH_ELDERLY)
    await chat.send("Mulai dari awal")
    assert "Berapa orang" in chat.text
    await chat.send("batal")
    await chat.run(POOR_FIVE_WITH_ELDERLY)
    await chat.send("Cek status bansos")
    assert "Mohon ketik NIK" in chat.text


async def test_screening_does_not_need_consent(chat: Chat) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    await chat.run(POOR_FIVE_WITH_ELDERLY)
    assert "(PKH)" in chat.text


async def test_in_english(chat: Chat) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(
        [
            ("Check eligibility", "How many people live in your household"),
            ("five", "About how much does the whole household earn"),
            ("3000000", "Who lives in your household?"),
            ("6", "Chosen: Aged 60 or over."),
            ("Done", "What is the work"),
            ("2", "Where does your household live?"),
            ("2", "Is your household already in the social data DTSEN"),
            ("Yes", "Result (an estimate only):"),
        ]
    )
    assert "Income per person: Rp600.000 a month" in chat.text
    assert "Someone in your household is 60 or older." in chat.text
    assert "The Dinas Sosial decides" in chat.text
