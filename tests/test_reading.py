"""The reader of typed messages, piece by piece: words as typed, the model's probabilities,
the whole-phrasing shortcut, values, and learning once for every thread."""

import threading

import pytest

from handlers.understanding import reading
from handlers.understanding.model import Model
from handlers.understanding.reading import NOTHING, Phrasing, Reader
from handlers.understanding.words import NUMBER, stem


@pytest.fixture(scope="module")
def learned() -> Reader:
    return reading.reader()


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("tolonggg", ["tolong"]),  # a held letter, also when the examples hold it
        ("haloooo min", ["halo"]),  # and the address word dropped
        ("delapan belas", [NUMBER, NUMBER]),  # numbers in words, not 'depan belas'
        ("dua juta lima ratus ribu", [NUMBER] * 5),
        ("Pendaftaran kursus", ["daftar", "kursus"]),
        ("sembakokapan", ["sembako", "kapan"]),  # run together
    ],
)
def test_words_as_typed(learned: Reader, typed: str, words: list[str]) -> None:
    assert learned.stems(typed) == words


def test_words_without_affixes_keep_their_letters() -> None:
    assert stem("lemot") == "lemot"  # Sastrawi alone would make it 'lot'
    assert stem("nangis") == "nangis"
    assert stem("mendaftar") == "daftar"


def test_the_model_gives_probabilities_that_sum_to_one() -> None:
    model = Model(
        [
            ("sembako", ["sembako", "kapan"]),
            ("sembako", ["jadwal", "sembako"]),
            ("bansos", ["cek", "bansos"]),
            ("bansos", ["bansos", "cair"]),
        ]
    )
    scores = model.scores(["kapan", "sembako"])
    assert scores[0].label == "sembako" and scores[0].score > 0.5
    assert sum(score.score for score in scores) == pytest.approx(1.0)
    assert model.scores(["qqq"]) == []  # nothing of it was ever seen


def test_a_whole_phrasing_of_one_label_means_that_label() -> None:
    built = Reader(
        [
            Phrasing("help", "id", "tolong"),
            Phrasing("ask_staff", "id", "tolong sambungkan ke petugas"),
            Phrasing("ask_staff", "id", "mau bicara dengan petugas"),
            Phrasing(NOTHING, "id", "cuaca besok"),
            Phrasing("complaint", "id", "lapor jalan rusak"),
            Phrasing("complaint", "id", "sampah belum diangkut"),
        ],
        {},
    )
    assert built.read("TOLONG!!").meaning.label == "help"
    assert built.read("tolong").meaning.score == 1.0
    assert built.read("cuaca besok?").meaning.label == NOTHING


@pytest.mark.parametrize(
    ("typed", "value"),
    [("rw 20", True), ("4-5 orang", True), ("sembako kapan", False), ("sembako", False)],
)
def test_numbers_with_at_most_one_word_are_a_value(typed: str, value: bool) -> None:
    assert reading.read(typed).value is value


def test_every_thread_gets_the_one_reader_learned_once() -> None:
    found: list[Reader] = []
    threads = [threading.Thread(target=lambda: found.append(reading.reader())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(each) for each in found}) == 1
    assert reading._learned.cache_info().misses == 1


def test_a_message_read_again_is_remembered() -> None:
    reading.read("kapan sembako dibagi di rw saya")
    before = reading.read.cache_info().hits
    again = reading.read("kapan sembako dibagi di rw saya")
    assert reading.read.cache_info().hits == before + 1
    assert again.meaning.label == "sembako"
