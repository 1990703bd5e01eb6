"""Reading values typed in words: numbers, Rupiah, people, RW, durations, grades, and options
as typed in chat (held letters, shortenings, emoji, a phrase in a short sentence, a slip)."""

import pytest

from handlers.answers import NO_WORDS, YES_WORDS
from handlers.application_rules import rules
from handlers.durations import parse_months
from handlers.eligibility import DTSEN_LABELS, HOUSING_LABELS, WORK_LABELS
from handlers.numbers import parse_amount, parse_count, parse_number, score_aliases
from handlers.places_typed import rw_number
from handlers.scholarship import read_grade
from handlers.steps import options_of
from handlers.survey import whole_number
from handlers.text import match_option


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("lima", 5), ("sebelas", 11), ("dua belas", 12), ("dua puluh lima", 25),
        ("seratus", 100), ("seratus lima puluh", 150), ("seribu", 1000),
        ("dua ribu lima ratus", 2500), ("setengah", 0.5), ("satu setengah", 1.5),
        ("twelve", 12), ("twenty five", 25), ("one hundred twenty five", 125), ("12", 12),
        ("Tiga", 3), ("a hundred", 100),
        # not one number: refused, never guessed
        ("dua tiga", None), ("lima ratus ribu juta", None), ("juta", None), ("puluh", None),
        ("sejuta lima", None), ("dua belas puluh", None), ("１２", None), ("²", None),
        ("😀", None), ("", None), ("lima" * 30, None), ("9" * 40, None),
    ],
)  # fmt: skip
def test_numbers_in_digits_and_words(typed: str, value: float | None) -> None:
    assert parse_number(typed) == value


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("dua juta", 2_000_000), ("1,5 jt", 1_500_000), ("1.5jt", 1_500_000),
        ("Rp 2.500.000", 2_500_000), ("rp2500000", 2_500_000), ("Rp 2.500.000,-", 2_500_000),
        ("500rb", 500_000), ("500 ribu", 500_000), ("setengah juta", 500_000),
        ("dua setengah juta", 2_500_000), ("2 juta 500 ribu", 2_500_000), ("sejuta", 1_000_000),
        ("sekitar 2 juta", 2_000_000), ("kurang lebih 3jt", 3_000_000), ("± 1 juta", 1_000_000),
        ("2jt an", 2_000_000), ("2 jutaan", 2_000_000), ("2 million", 2_000_000),
        ("2 juta per bulan", 2_000_000), ("2 juta sebulan", 2_000_000),
        ("2jt/bulan", 2_000_000), ("about 2 million a month", 2_000_000),
        ("seratus lima puluh ribu", 150_000), ("750k", 750_000), ("0", 0), ("nol", 0),
        ("tidak ada", 0),
        # a range is read as its upper end: the most it may be
        ("1-2 juta", 2_000_000), ("500rb - 1jt", 1_000_000), ("1 sampai 2 juta", 2_000_000),
        # refused: the question is asked again with its hint
        ("dua juta lima", None),  # 2,5 juta or 2.000.005?
        ("2 juta 500", None), ("dua juta lima ratus", None), ("lima ratus ribu juta", None),
        ("setengah", None), ("-500000", None), ("minus 2 juta", None), ("banyak", None),
        ("💰💰", None), ("9" * 61, None), ("１２ juta", None), ("juta juta", None),
    ],
)  # fmt: skip
def test_rupiah_in_digits_and_words(typed: str, amount: int | None) -> None:
    assert parse_amount(typed) == amount


@pytest.mark.parametrize(
    ("typed", "count"),
    [
        ("lima orang", 5), ("berlima", 5), ("ber-5", 5), ("ber 5", 5), ("5 org", 5),
        ("lima jiwa", 5), ("kami berempat", 4), ("berdua", 2), ("sendiri", 1),
        ("saya sendiri", 1), ("suami istri", 2), ("ada 6 orang termasuk saya", 6),
        ("four people", 4), ("just me", 1), ("dua belas", 12), ("5", 5),
        ("4-5 orang", None), ("2,5", None), ("setengah", None), ("banyak", None), ("👨‍👩‍👧", None),
        ("1" * 4, None),
    ],
)  # fmt: skip
def test_people_counted_in_words(typed: str, count: int | None) -> None:
    assert parse_count(typed) == count


@pytest.mark.parametrize(
    ("typed", "rw"),
    [
        ("rw lima", 5), ("RW05", 5), ("rw 05", 5), ("05", 5), ("5", 5), ("RW. 5", 5),
        ("erwe 5", 5), ("rt 3 rw 5", 5), ("RT 03/RW 05", 5), ("003/005", 5), ("lima", 5),
        ("saya di rw dua belas", 12), ("rukun warga 7", 7),
        ("rt 3", None), ("rw", None), ("-3", None), ("5.5", None), ("rw 1234", None),
        ("１２", None), ("setengah", None), ("dekat masjid", None),
    ],
)  # fmt: skip
def test_rw_in_digits_and_words(typed: str, rw: int | None) -> None:
    assert rw_number(typed) == rw


@pytest.mark.parametrize(
    ("typed", "months"),
    [
        ("8", 8), ("8 bulan", 8), ("3 bln", 3), ("tiga bulan", 3), ("dua tahun", 24),
        ("setahun", 12), ("1,5 tahun", 18), ("satu setengah tahun", 18), ("6 bulanan", 6),
        ("2 tahun 3 bulan", 27), ("sudah 2 tahun", 24), ("two years", 24),
        ("sejam lebih", 0), ("baru mulai", 0), ("baru buka", 0), ("seminggu", 0),
        ("banyak", None), ("2 tahun 3", None), ("-3 bulan", None), ("tahun", None),
        ("⏰", None),
    ],
)  # fmt: skip
def test_durations_read_as_months(typed: str, months: int | None) -> None:
    assert parse_months(typed) == months


@pytest.mark.parametrize(
    ("typed", "grade"),
    [("kelas lima", 5), ("dua belas", 12), ("semester tiga", 3), ("VIII", 8), ("kelas", None)],
)
def test_grades_in_words(typed: str, grade: int | None) -> None:
    assert read_grade(typed) == grade


YES_NO = options_of(("yes", "Ya", YES_WORDS), ("no", "Tidak", NO_WORDS))


@pytest.mark.parametrize(
    "typed",
    [
        "iya", "y", "ya", "yaa", "ok", "oke", "okey", "siap", "boleh", "betul", "bener",
        "lanjut", "gas", "iyaaa", "okeee", "iya 👍", "ok!!", "👍", "Iya boleh banget", "yes",
    ],
)  # fmt: skip
def test_yes_as_typed(typed: str) -> None:
    assert match_option(YES_NO, typed, loose=True).key == "yes"


@pytest.mark.parametrize(
    "typed",
    [
        "gak", "ga", "ngga", "nggak", "enggak", "ndak", "tdk", "tidak", "belum", "blm",
        "jangan", "gak jadi", "no", "nope", "gaaak", "tidak!!", "👎", "gak bisa",
    ],
)  # fmt: skip
def test_no_as_typed(typed: str) -> None:
    assert match_option(YES_NO, typed, loose=True).key == "no"


@pytest.mark.parametrize("typed", ["ya tidak", "siapa", "saya mau cek bansos", "😀", "mau batal"])
def test_no_yes_or_no_guessed(typed: str) -> None:
    assert match_option(YES_NO, typed, loose=True).key is None


KELURAHAN = options_of(
    *(
        (name.lower(), name)
        for name in (
            "Duren Sawit", "Pondok Bambu", "Klender", "Pondok Kelapa", "Malaka Sari",
            "Malaka Jaya", "Pondok Kopi",
        )
    )
)  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "key", "candidates"),
    [
        ("pdk kopi", "pondok kopi", []), ("Pondok Kopi", "pondok kopi", []),
        ("klender", "klender", []), ("pd bambu", "pondok bambu", []),
        ("durensawit", "duren sawit", []), ("klendr", "klender", []),
        ("pondok kelpa", "pondok kelapa", []), ("kel. pondok kopi", "pondok kopi", []),
        ("saya tinggal di pondok kelapa", "pondok kelapa", []),
        ("malaka", None, ["malaka sari", "malaka jaya"]),
        ("pondok", None, ["pondok bambu", "pondok kelapa", "pondok kopi"]),
        ("bukan klender", None, []), ("xyz", None, []),
    ],
)  # fmt: skip
def test_kelurahan_as_typed(typed: str, key: str | None, candidates: list[str]) -> None:
    found = match_option(KELURAHAN, typed, loose=True)
    assert found.key == key
    assert [option.key for option in found.candidates] == candidates


BUSINESS = options_of(
    *((kind.code, kind.label("id"), kind.words) for kind in rules().business_types)
)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("jualan makanan", "kuliner"), ("warung", "warung"), ("jual gorengan", "kuliner"),
        ("jahit baju", "jahit"), ("saya jualan makanan di rumah", "kuliner"),
        ("buka warung makan", "kuliner"), ("laundry kiloan", "jasa"),
        ("bukan warung tapi jahit", "jahit"), ("saya mau cek bansos", None),
        ("warung dan jahit", None),
    ],
)  # fmt: skip
def test_business_types_from_the_words_residents_use(typed: str, key: str | None) -> None:
    assert match_option(BUSINESS, typed, loose=True).key == key


def test_an_ambiguous_sentence_offers_the_options_it_names() -> None:
    found = match_option(BUSINESS, "warung dan jahit", loose=True)
    assert [option.key for option in found.candidates] == ["warung", "jahit"]


def choice(labels: dict) -> tuple:
    return options_of(*((key, label, words) for key, (label, words) in labels.items()))


@pytest.mark.parametrize(
    ("labels", "typed", "key"),
    [
        (WORK_LABELS, "ojol", "informal"), (WORK_LABELS, "saya buruh harian", "informal"),
        (WORK_LABELS, "gak kerja", "unemployed"), (WORK_LABELS, "pegawai negeri", "formal"),
        (HOUSING_LABELS, "ngontrak", "rent"), (HOUSING_LABELS, "rumah sendiri", "own"),
        (HOUSING_LABELS, "tidak punya rumah", "none"), (DTSEN_LABELS, "belum", "no"),
        (DTSEN_LABELS, "iya sudah", "yes"), (DTSEN_LABELS, "gak tau", "unknown"),
        (DTSEN_LABELS, "tidak tahu", "unknown"), (DTSEN_LABELS, "belum terdaftar", "no"),
    ],
)  # fmt: skip
def test_screening_choices_from_the_words_residents_use(
    labels: dict, typed: str, key: str
) -> None:
    assert match_option(choice(labels), typed, loose=True).key == key


SCORES = options_of(*((str(score), "⭐" * score, score_aliases(score)) for score in range(1, 6)))


@pytest.mark.parametrize(
    ("typed", "score"),
    [
        ("empat", "4"), ("lima bintang", "5"), ("bintang 5", "5"), ("bagus", "4"),
        ("jelek", "2"), ("sangat bagus", "5"), ("biasa aja", "3"), ("four stars", "4"),
        ("enam", None),
    ],
)  # fmt: skip
def test_scores_in_words(typed: str, score: str | None) -> None:
    assert match_option(SCORES, typed).key == score


def test_a_short_word_is_no_slip_of_another() -> None:
    options = options_of(("saran", "Saran program", "saran|usul"), ("other", "Lainnya"))
    assert match_option(options, "siaran", loose=True).key is None
    assert match_option(options, "saran progam", loose=True).key == "saran"


def test_sentences_and_slips_can_be_left_to_an_intent_reader() -> None:
    assert (
        match_option(BUSINESS, "saya jualan makanan di rumah", loose=True, within=False).key
        is None
    )
    assert match_option(BUSINESS, "jualan makanan", loose=True, within=False).key == "kuliner"


@pytest.mark.parametrize(
    ("typed", "number"),
    [("lima", 5), ("dua belas orang", 12), ("3 orang", 3), ("１２", None), ("banyak", None)],
)
def test_survey_numbers_in_words(typed: str, number: int | None) -> None:
    assert whole_number(typed) == number
