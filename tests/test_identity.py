"""NIK checks, name keys and keyed hashes, and the demo registry they serve."""

import hmac

import pytest
from sqlalchemy import func, select

from storage.demo import HOUSEHOLDS, seed_registry
from storage.identity import NikProblem, check_nik, keyed_hash, name_hash, name_key, nik_hash
from storage.registry import Beneficiary, find
from tests.conftest import TEST_KEY


@pytest.mark.parametrize(
    ("text", "digits", "problem"),
    [
        ("3175074708859901", "3175074708859901", None),
        ("3175 0747 0885 9901", "3175074708859901", None),
        ("3175.0747.0885.9901", "3175074708859901", None),
        ("'3175074708859901", "3175074708859901", None),  # spreadsheet's text marker
        ("3201072508809906", "3201072508809906", None),  # first issued outside DKI
        ("3175072902000001", "3175072902000001", None),  # 29 Feb 2000
        ("3175076902000001", "3175076902000001", None),  # a woman born 29 Feb 2000
        ("3175072902010001", None, NikProblem.DATE),  # 29 Feb 1901 or 2001: neither
        ("3175073102850001", None, NikProblem.DATE),  # 31 February
        ("3175073213850001", None, NikProblem.DATE),  # month 13
        ("3175073501850001", None, NikProblem.DATE),  # day 35: neither a man nor a woman
        ("3175077201850001", None, NikProblem.DATE),  # woman, day 32
        ("3175070001850001", None, NikProblem.DATE),  # day 0
        ("3175074708850000", None, NikProblem.SERIAL),
        ("0075074708850011", None, NikProblem.REGION),
        ("317507470885990", None, NikProblem.LENGTH),
        ("31750747088599011", None, NikProblem.LENGTH),
        ("3175O74708859901", None, NikProblem.NOT_DIGITS),
        ("٣١٧٥٠٧٤٧٠٨٨٥٩٩٠١", None, NikProblem.NOT_DIGITS),  # Arabic-Indic digits
        ("3.17507E+15", None, NikProblem.SPREADSHEET),
        ("3,17507E+15", None, NikProblem.SPREADSHEET),  # Indonesian decimal comma
        ("   ", None, NikProblem.EMPTY),
    ],
)
def test_check_nik(text: str, digits: str | None, problem: NikProblem | None) -> None:
    checked = check_nik(text)
    assert (checked.digits, checked.problem) == (digits, problem)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Hj. SITI  Aminah, S.Pd.", "siti aminah"),
        ("Bpk. H. Ahmad Ma'ruf S.Kom", "Ahmad Maruf"),
        ("Nur-Aini", "Nuraini"),
        ("Zoë Pratama", "ZOE PRATAMA"),
        ("Ibu Dewi Lestari", "Dewi Lestari"),
        ("Siti Aminah, S.Pd., M.M.", "siti aminah"),
    ],
)
def test_names_that_match(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Siti Aminah", "Siti Amina"),
        ("Budi Santoso", "Budi"),
        ("Hasan", "Hasanah"),
        ("Aminah, Siti", "Aminah"),  # after a comma only degrees are dropped
    ],
)
def test_names_that_do_not_match(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)


def test_hashes_depend_on_the_key_and_the_purpose() -> None:
    nik = "3175074708859901"
    assert nik_hash(TEST_KEY, nik) != nik_hash(b"another-key", nik)
    assert nik_hash(TEST_KEY, nik) != keyed_hash(TEST_KEY, "kk", nik)
    assert nik not in nik_hash(TEST_KEY, nik) and len(nik_hash(TEST_KEY, nik)) == 64
    assert name_hash(TEST_KEY, "SITI AMINAH") == name_hash(TEST_KEY, "Siti Aminah")


def test_the_demo_registry_has_about_two_thousand_households(database, clock) -> None:
    with database.begin() as db:
        added = seed_registry(db=db, key=TEST_KEY, now=clock())
    with database.connect() as db:
        households = db.execute(
            select(func.count(func.distinct(Beneficiary.kk_hash))).where(
                Beneficiary.kk_hash.is_not(None)
            )
        ).scalar_one()
        per_kelurahan = dict(
            db.execute(
                select(Beneficiary.kelurahan_code, func.count()).group_by(
                    Beneficiary.kelurahan_code
                )
            ).all()
        )
        siti = find(db=db, nik_hash=nik_hash(TEST_KEY, "3175074708859901"))
    assert HOUSEHOLDS <= households <= HOUSEHOLDS + 10
    assert added > HOUSEHOLDS
    assert len(per_kelurahan) == 7 and min(per_kelurahan.values()) > 200
    assert siti is not None and siti.programs == ("BPNT", "KJP_PLUS", "PBI_JK", "PKH")


@pytest.mark.parametrize("key", [b"test-pepper", b"k" * 64, b"k" * 100, b""])
def test_keyed_hash_is_standard_hmac_sha256(key: bytes) -> None:
    expected = hmac.digest(key, b"nik:3175074708859901", "sha256").hex()
    assert keyed_hash(key, "nik", "3175074708859901") == expected
