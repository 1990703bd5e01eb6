"""The labelled set of resident messages (handlers/data/understanding/labelled.tsv) and the
examples written to learn from (examples.tsv) are well formed, and apart.

The set trains and evaluates the free-text understanding, so a broken row, a label the bot does
not know, or a message in both parts would silently spoil the benchmark. The checks are plain
functions so that the tests below can also show each one failing on a bad file.
"""

from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "handlers/data/understanding"
LABELLED = DATA / "labelled.tsv"
EXAMPLES = DATA / "examples.tsv"
HEADER = ["split", "language", "label", "text"]
HEADER_LINE = "\t".join(HEADER)
SPLITS = {"train", "test"}
LANGUAGES = {"id", "en"}
MINIMUM_ROWS = 400

# The labels of the intent contract (issue 16), and which of them may carry a detail after "/".
LABELS = {
    "bansos",
    "eligibility",
    "sembako",
    "training",
    "my_enrolments",
    "health",
    "scholarship",
    "capital",
    "application_status",
    "complaint",
    "complaint_status",
    "feedback",
    "reminders",
    "profile",
    "register",
    "help",
    "language",
    "erase",
    "stop",
    "resume",
    "survey",
    "menu",
    "cancel",
    "ask_staff",
    "chatter",
    "none",
    "faq:sembako_bring",
    "faq:representative",
    "faq:kjp_requirements",
    "faq:capital_requirements",
    "faq:payment_schedule",
    "faq:dtsen",
    "faq:usulan",
    "faq:office_hours",
    "faq:office_contact",
    "faq:lost_card",
    "faq:fees",
    "faq:privacy",
    "faq:pangan",
    "faq:sktm",
}
DETAILS = {
    "training": {"menjahit", "tata-boga", "teknologi-informasi", "kecantikan", "kewirausahaan"},
    "profile": {"phone", "name", "address"},
    "language": {"id", "en"},
}
COMPLAINT_PREFIXES = {"ADU", "USL", "SGH", "SRN"}  # storage.complaints.ComplaintKind


def label_problem(label: str) -> str | None:
    """Return why a label is not valid, or None."""
    name, slash, detail = label.partition("/")
    if name not in LABELS:
        return f"unknown label {name!r}"
    if not slash:
        return None
    if name == "complaint_status":
        prefix, _, rest = detail.partition("-")
        year, _, number = rest.partition("-")
        digits = year + number
        if (
            prefix in COMPLAINT_PREFIXES
            and len(year) == 4
            and len(number) == 6
            and digits.isdigit()
        ):
            return None
        return f"malformed tracking number {detail!r}"
    if detail not in DETAILS.get(name, set()):
        return f"label {name!r} takes no detail {detail!r}"
    return None


def problems(content: str) -> list[str]:
    """Return every defect of a labelled file's content (empty when it is fine)."""
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    found = []
    if not lines or lines[0].split("\t") != HEADER:
        found.append(f"line 1: header must be {HEADER_LINE!r}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 4:
            found.append(f"line {number}: {len(fields)} fields instead of 4")
            continue
        split, language, label, text = fields
        if split not in SPLITS:
            found.append(f"line {number}: split {split!r}")
        if language not in LANGUAGES:
            found.append(f"line {number}: language {language!r}")
        if why := label_problem(label):
            found.append(f"line {number}: {why}")
        if not text.strip() or "\r" in text:
            found.append(f"line {number}: empty or broken text")
        rows.append((number, split, label, text))
    if len(rows) < MINIMUM_ROWS:
        found.append(f"{len(rows)} rows, at least {MINIMUM_ROWS} needed")
    seen: dict[str, tuple[int, str]] = {}
    for number, split, _, text in rows:
        key = " ".join(text.split()).casefold()
        if key in seen:
            first, first_split = seen[key]
            where = "both splits" if first_split != split else "twice"
            found.append(f"line {number}: {text!r} already on line {first} ({where})")
        else:
            seen[key] = (number, split)
    splits_of = {}
    for _, split, label, _ in rows:
        splits_of.setdefault(label.partition("/")[0], set()).add(split)
    found += [
        f"label {name!r} only in {sorted(s)}" for name, s in splits_of.items() if s != SPLITS
    ]
    return found


def test_the_labelled_set_is_well_formed() -> None:
    assert problems(LABELLED.read_text(encoding="utf-8")) == []


def test_the_labelled_set_covers_every_label_in_both_languages_and_halves() -> None:
    rows = [line.split("\t") for line in LABELLED.read_text(encoding="utf-8").splitlines()[1:]]
    names = Counter(label.partition("/")[0] for _, _, label, _ in rows)
    assert set(names) == LABELS
    assert min(names[name] for name in LABELS if name.startswith("faq:")) >= 8
    assert min(names[name] for name in LABELS if not name.startswith("faq:")) >= 12
    splits = Counter(split for split, *_ in rows)
    assert 0.4 <= splits["test"] / len(rows) <= 0.6
    languages = Counter(language for _, language, *_ in rows)
    assert 0.65 <= languages["id"] / len(rows) <= 0.85


GOOD = "\n".join(
    ["split\tlanguage\tlabel\ttext"]
    + [f"train\tid\tbansos\tcek bansos nomor {n}" for n in range(MINIMUM_ROWS // 2)]
    + [f"test\ten\tbansos\tcheck my aid number {n}" for n in range(MINIMUM_ROWS // 2)]
    + ["train\tid\ttraining/menjahit\tkursus jahit", "test\ten\ttraining\tany course?"]
    + ["test\tid\tcomplaint_status/ADU-2026-000012\tstatus adu 2026 12"]
    + ["train\tid\tcomplaint_status\tstatus aduan"]
)


def test_a_good_file_has_no_problems() -> None:
    assert problems(GOOD) == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("train\tid\tbansos cek bansos lagi", "fields instead of 4"),
        ("train\tid\tbansos\tcek\tbansos", "fields instead of 4"),
        ("train\tid\tbansoss\tcek bansos lagi", "unknown label"),
        ("train\tid\ttraining/origami\tkursus origami", "takes no detail"),
        ("train\tid\tcomplaint_status/ADU-12\tstatus ADU-12", "malformed tracking number"),
        ("train\tjv\tbansos\tcek bansos lagi", "language"),
        ("dev\tid\tbansos\tcek bansos lagi", "split"),
        ("train\ten\tbansos\tCheck my aid number 7", "both splits"),
    ],
)
def test_a_bad_row_is_found(bad: str, expected: str) -> None:
    found = problems(GOOD + "\n" + bad)
    assert any(expected in problem for problem in found), found


def test_too_few_rows_are_found() -> None:
    short = "\n".join(GOOD.split("\n")[:300])
    assert any("at least 400" in problem for problem in problems(short))


def test_a_label_in_one_split_only_is_found() -> None:
    found = problems(GOOD + "\ntrain\tid\tmenu\tmenu utama")
    assert "label 'menu' only in ['train']" in found


# examples.tsv: written to learn from, so never a labelled message or a near-copy of one
EXAMPLES_HEADER = ["language", "label", "text"]
NEAR = 90  # rapidfuzz ratio of two messages' words from which one is a near-copy of the other


def words_of(text: str) -> str:
    """Return a message's words, folded, as one string."""
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def example_problems(content: str, labelled: str) -> list[str]:
    """Return every defect of the examples' content, given the labelled set's."""
    from rapidfuzz import fuzz, process

    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    found = []
    if not lines or lines[0].split("\t") != EXAMPLES_HEADER:
        found.append(f"line 1: header must be {EXAMPLES_HEADER!r}")
    labelled_rows = [line.split("\t") for line in labelled.splitlines()[1:]]
    labelled_texts = {words_of(row[3]) for row in labelled_rows}
    # near-copies of train rows too: they would flatter the cross-validation of --tune
    labelled_list = sorted(labelled_texts)
    seen: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3:
            found.append(f"line {number}: {len(fields)} fields instead of 3")
            continue
        language, label, text = fields
        if language not in LANGUAGES:
            found.append(f"line {number}: language {language!r}")
        if why := label_problem(label):
            found.append(f"line {number}: {why}")
        key = words_of(text)
        if not key:
            found.append(f"line {number}: no words")
            continue
        if key in seen:
            found.append(f"line {number}: {text!r} already on line {seen[key]}")
        seen[key] = number
        if key in labelled_texts:
            found.append(f"line {number}: {text!r} is in the labelled set")
        elif process.extractOne(key, labelled_list, scorer=fuzz.ratio, score_cutoff=NEAR):
            found.append(f"line {number}: {text!r} is a near-copy of a labelled message")
    return found


def test_the_examples_are_well_formed_and_apart_from_the_test_part() -> None:
    content = EXAMPLES.read_text(encoding="utf-8")
    assert example_problems(content, LABELLED.read_text(encoding="utf-8")) == []
    assert len(content.splitlines()) > 1000


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("id\tbansos", "fields instead of 3"),
        ("id\tbansoss\tcek bansos dong", "unknown label"),
        ("jv\tbansos\tcek bansos dong", "language"),
        ("id\tbansos\t!!!", "no words"),
        ("id\tbansos\tCek bansos, nomor 3!", "is in the labelled set"),
        ("en\tbansos\tcheck my aid numbr 7", "near-copy of a labelled message"),
        ("id\tbansos\tcek bansos nomer 3", "near-copy of a labelled message"),
        ("id\tmenu\tmenu utama\nid\tmenu\tMENU UTAMA!", "already on line"),
    ],
)
def test_a_bad_example_is_found(bad: str, expected: str) -> None:
    found = example_problems("language\tlabel\ttext\n" + bad, GOOD)
    assert any(expected in problem for problem in found), found
