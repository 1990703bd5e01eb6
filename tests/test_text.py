"""Reading what people type: keywords, options, names, phone numbers, RWs, formatting."""

from datetime import UTC, date, datetime

import pytest

from handlers.formatting import format_day, format_moment, format_phone, format_rupiah, mask_tail
from handlers.i18n import normalise_language
from handlers.messages import Option
from handlers.registration import clean_name, clean_phone
from handlers.text import Keyword, is_greeting, keyword_of, match_option

OPTIONS = (
    Option("a", "Duren Sawit", frozenset({"yes"})),
    Option("b", "Pondok Bambu"),
    Option("c", "Pondok Kopi"),
)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("menu", Keyword.MENU),
        (" MENU ", Keyword.MENU),
        ("/menu", Keyword.MENU),
        ("batal", Keyword.CANCEL),
        ("Cancel!", Keyword.CANCEL),
        ("bantuan", Keyword.HELP),
        ("/help@DurenSawitBot", Keyword.HELP),
        ("bahasa", Keyword.LANGUAGE),
        ("berhenti", Keyword.STOP),
        ("STOP", Keyword.STOP),
        ("mulai", Keyword.START),
        ("/start", Keyword.START),
        ("hapus data", Keyword.ERASE),
        ("Hapus  Data", Keyword.ERASE),
        ("hapus", None),
        ("menu dong", None),
        ("", None),
        ("x" * 5000, None),
    ],
)
def test_keywords(text: str, keyword: Keyword | None) -> None:
    assert keyword_of(text) == keyword


@pytest.mark.parametrize(
    ("text", "loose", "key"),
    [
        ("1", False, "a"),
        (" 2. ", False, "b"),
        ("3)", False, "c"),
        ("#1", False, "a"),
        ("4", False, None),
        ("0", False, None),
        ("pondok kopi", False, "c"),
        ("PONDOK BAMBU!", False, "b"),
        ("Pondok", True, None),
        ("Pondok K", True, "c"),
        ("dur", True, "a"),
        ("du", True, None),
        ("dur", False, None),
        ("😀", True, None),
        ("bambu", True, "b"),
        ("sawit", True, "a"),
        ("pondok bmbu", True, "b"),
        ("ambu", True, None),
        ("surabaya", True, None),
        ("yes", False, "a"),
    ],
)
def test_match_option(text: str, loose: bool, key: str | None) -> None:
    assert match_option(OPTIONS, text, loose=loose).key == key


def test_ambiguous_answers_name_the_candidates() -> None:
    match = match_option(OPTIONS, "pondok", loose=True)
    assert match.key is None
    assert [option.label for option in match.candidates] == ["Pondok Bambu", "Pondok Kopi"]


def test_greetings() -> None:
    assert is_greeting("Halo") and is_greeting("selamat pagi!") and is_greeting("Assalamualaikum")
    assert not is_greeting("halo saya mau tanya bansos")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("siti aminah", "siti aminah"),
        ("  Budi   Santoso ", "Budi Santoso"),
        ("Ni Luh Putu Ayu", "Ni Luh Putu Ayu"),
        ("M. Ridwan", "M. Ridwan"),
        ("Nur'aini", "Nur'aini"),
        ("Dr. Andi-Wijaya, S.E.", "Dr. Andi-Wijaya, S.E."),
        ("Ｓｉｔｉ", "Siti"),
        ("1234", None),
        ("A", None),
        ("😀 Siti", None),
        ("Siti\x00", None),
    ],
)
def test_clean_name(text: str, name: str | None) -> None:
    assert clean_name(text) == name


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6285712345678", "+6285712345678"),
        ("(0812) 345 678", "+62812345678"),
        ("0212345678", None),
        ("12345", None),
        ("08123", None),
        ("+1 555 0100", None),
        ("0812345678901234", None),
        ("", None),
    ],
)
def test_clean_phone(text: str, phone: str | None) -> None:
    assert clean_phone(text) == phone


def test_formatting_in_both_languages() -> None:
    moment = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
    assert format_moment(moment, "id") == "Sabtu, 28 November 2026 19.30 WIB"
    assert format_moment(moment, "en") == "Saturday, 28 November 2026 19.30 WIB"
    assert format_moment(moment, "id", "Asia/Makassar") == "Sabtu, 28 November 2026 20.30 WITA"
    assert format_day(date(2027, 1, 1), "id") == "Jumat, 1 Januari 2027"  # no padded day
    assert format_day(date(2027, 1, 1), "en") == "Friday, 1 January 2027"
    assert format_rupiah(852768, "id") == "Rp852.768"
    assert format_rupiah(600000, "en") == "Rp600.000"
    assert format_phone("+6281234567890") == "0812-3456-7890"
    assert mask_tail("3175074107900001") == "************0001"


def test_language_hints() -> None:
    assert normalise_language("en-GB") == "en" and normalise_language("id") == "id"
    assert normalise_language("in") is None and normalise_language(None) is None


def test_the_short_label_a_narrow_platform_showed_picks_its_option() -> None:
    batches = (
        Option("batch:1", "Menjahit Dasar · Senin 7 Desember", short="MJH-2026-12A"),
        Option("batch:2", "Menjahit Dasar · Rabu 9 Desember", short="MJH-2026-12B"),
    )
    assert match_option(batches, "mjh-2026-12b", loose=False).key == "batch:2"
    assert match_option(batches, "MJH-2026-12A", loose=True).key == "batch:1"
