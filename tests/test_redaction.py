"""NIKs and phone numbers in free text: read in any spelling, refused where a flow asks, and
never kept or exported, whatever field they are typed in."""

import pytest
from sqlalchemy import select

from storage import ratings, residents
from storage.applications import Application
from storage.ratings import Rating
from storage.redaction import NIK_REMOVED, PHONE_REMOVED, holds_nik, holds_phone, redact, redacted
from tests.helpers import Chat
from tests.test_applications_flow import CAPITAL_EN, SCHOLARSHIP_EN
from tests.test_masukan import open_feedback
from tests.test_registration import HAPPY_EN, HAPPY_ID

NIK = "3175074708859901"
ZERO_WIDTH = "\u200b"

NIK_SPELLINGS = [
    NIK,
    "3175 0747 0885 9901",
    "3175-0747-0885-9901",
    "3175 - 0747 - 0885 - 9901",
    "3175/0747/0885/9901",
    "31.75.07.470885.9901",
    "3175.0747.0885.9901",
    ZERO_WIDTH.join("3175074708859901"),
    "3175\u200c0747\u200d0885\u20609901\ufeff",
    "3175\u00ad0747\u00ad0885\u00ad9901",  # soft hyphens
    "３１７５０７４７０８８５９９０１",  # full width
    "٣١٧٥٠٧٤٧٠٨٨٥٩٩٠١",  # Arabic-Indic
    "3 1 7 5 0 7 4 7 0 8 8 5 9 9 0 1",
    "3175_0747_0885_9901",
]
PHONE_SPELLINGS = [
    "0812-3456-7890",
    "081234567890",
    "+62 812 3456 7890",
    "+6281234567890",
    "62-812-3456-7890",
    "62 812 3456 7890",
    "0812 3456 7890",
    "0812.3456.7890",
    "0857 1234 5678",
    "(021) 8611234",
    "021-8611234",
    "021 861 1234",
    "+62 21 8611234",
    "wa.me/6281234567890",
    "０８１２３４５６７８９０",
]
KEPT = [
    "tanggal 12/03/2026",
    "12/03/2026 - 13/03/2026",
    "2026-03-12 s/d 2026-04-12",
    "Rp 2.500.000",
    "Rp2.500.000,00 untuk 12 bulan",
    "RT/RW 005/003",
    "RT 03 RW 005 Klender",
    "ADU-2026-000012",
    "BSW-2027-000123",
    "kelas 8 SMPN 252 Jakarta",
    "SDN Klender 01 Pagi",
    "dua juta",
    "jam 08.00 sampai 12.00",
    "KJP Plus 2026",
    "😀 terima kasih 🙏",
]


@pytest.mark.parametrize("spelling", NIK_SPELLINGS)
def test_a_nik_is_read_in_any_spelling(spelling: str) -> None:
    sentence = f"Tolong cek NIK saya {spelling}, belum dapat."
    assert holds_nik(sentence)
    kept = redact(sentence)
    assert kept == f"Tolong cek NIK saya {NIK_REMOVED}, belum dapat."
    assert not any(digits in "".join(filter(str.isdigit, kept)) for digits in (NIK[:8], NIK[-4:]))


@pytest.mark.parametrize("spelling", PHONE_SPELLINGS)
def test_a_phone_number_is_read_in_any_common_form(spelling: str) -> None:
    sentence = f"Hubungi saya di {spelling} ya"
    assert holds_phone(sentence) and not holds_nik(sentence)
    kept = redact(sentence)
    assert PHONE_REMOVED in kept
    assert "3456" not in kept and "8611" not in kept and "４５６" not in kept


@pytest.mark.parametrize("text", KEPT)
def test_dates_amounts_and_references_stay_as_typed(text: str) -> None:
    assert not holds_nik(text) and not holds_phone(text)
    assert redact(text) == text


def test_answers_are_redacted_at_every_depth() -> None:
    answers = {"school": f"SMPN 1 {NIK}", "list": ["0812 3456 7890", 3], "amount": 2_000_000}
    assert redacted(answers) == {
        "school": f"SMPN 1 {NIK_REMOVED}",
        "list": [PHONE_REMOVED, 3],
        "amount": 2_000_000,
    }
    assert redact(None) is None and redact("") == ""


# -- in the flows and in storage ---------------------------------------------------------------


async def test_the_school_field_refuses_a_nik(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(SCHOLARSHIP_EN[:4])
    await chat.send(f"SMPN 195 {ZERO_WIDTH.join(NIK)}")
    assert "Please do not write a NIK" in chat.text
    await chat.send("SMPN 195 Jakarta")
    assert "Which grade" in chat.text


async def test_the_purpose_field_refuses_a_nik(chat: Chat, database, clock) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(CAPITAL_EN[:-1])
    await chat.send("Mesin jahit, NIK saya 3175/0747/0885/9901")
    assert "Please do not write a NIK" in chat.text
    await chat.send("Mesin jahit, hubungi 0812-3456-7890")  # a phone is kept out instead
    await chat.send("yes")
    await chat.send("Submit")
    assert "Reference number: MDL-" in chat.text
    with database.connect() as db:
        row = db.execute(select(Application)).one()
    assert row.details["purpose"] == f"Mesin jahit, hubungi {PHONE_REMOVED}"


async def test_a_complaint_refuses_a_nik_written_with_slashes(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Masukan & pengaduan")
    await chat.tap("cp:ADU")
    await chat.tap("cat:pungli")
    await chat.send("Bantuan dipotong, NIK saya 3175 / 0747 / 0885 / 9901")
    assert "Mohon jangan menulis NIK" in chat.text
    await chat.send(f"Bantuan dipotong, NIK saya {ZERO_WIDTH.join(NIK)}")
    assert "Mohon jangan menulis NIK" in chat.text


async def test_a_phone_number_in_feedback_is_not_kept(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await open_feedback(chat)
    await chat.send("Pengambilan sembako")
    await chat.send("2")
    await chat.send("Antrean lama. Hubungi saya di 0812-3456-7890")
    with database.connect() as db:
        [comment] = db.execute(select(Rating.comment).where(Rating.comment.is_not(None))).all()
    assert comment[0] == f"Antrean lama. Hubungi saya di {PHONE_REMOVED}"


def test_storage_redacts_whatever_a_flow_let_through(database, clock) -> None:
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id="x", language="id", now=clock()
        )
        ratings.give(
            db=db, resident_id=profile.id, score=4, now=clock(), comment="wa +62 812 3456 7890"
        )
        [comment] = db.execute(select(Rating.comment)).scalars().all()
    assert comment == f"wa {PHONE_REMOVED}"


def test_control_characters_go_and_cannot_hide_a_nik() -> None:
    assert redact("halo\x00 min\x1b") == "halo min"
    assert redact("baris satu\nbaris dua") == "baris satu\nbaris dua"
    assert NIK_REMOVED in redact("3175\x00076512880003")
