"""Self-screening: each rule at its edge, the data file's checks, and the sentences."""

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from handlers.eligibility_reasons import (
    HOUSING_SENTENCES,
    MEMBER_LABELS,
    MEMBER_SENTENCES,
    WORK_SENTENCES,
    explain,
)
from handlers.eligibility_rules import (
    DEFAULT_PATH,
    HOUSING,
    MEMBERS,
    WORK,
    Finding,
    Household,
    Reason,
    Rules,
    load_rules,
    screen,
)

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "storage" / "data" / "programs.toml"

POVERTY_LINE = 852_768  # BPS DKI Jakarta, March 2025
LIMIT_PKH = 1_279_152  # 1.5 x the poverty line, per person
LIMIT_DESIL_5 = 1_492_344  # 1.75 x the poverty line, per person
LIMIT_WORKERS = 6_589_357  # 1.15 x UMP DKI 2026 (Rp5.729.876), rounded, per household

# a household of four that qualifies for nothing: well off, no one the programs are for
NOBODY = Household(
    size=4,
    income=20_000_000,
    members=frozenset(),
    work="business",
    housing="own",
    dtsen="yes",
)


def same(**changes: object) -> Household:
    """Return NOBODY with some answers changed."""
    if "members" in changes:
        changes["members"] = frozenset(changes["members"])
    return replace(NOBODY, **changes)


def per_person(limit: int, size: int = 4) -> int:
    """Return the household income that puts each person exactly at a limit."""
    return limit * size


def identity(text: str) -> str:
    """Translate into English, the language of the message ids."""
    return text


def rupiah(amount: int) -> str:
    """Format Rupiah simply, the way the English examples show."""
    return f"Rp{amount:,}"


@pytest.fixture(scope="module")
def rules() -> Rules:
    """Load the shipped rules once."""
    return load_rules()


def findings(household: Household, rules: Rules) -> dict[str, Finding]:
    """Screen a household and index the findings by program."""
    return {finding.program: finding for finding in screen(household, rules)}


def test_limits_are_resolved_from_the_lines(rules: Rules) -> None:
    assert rules.poverty_line == POVERTY_LINE
    assert rules.source == "BPS DKI Jakarta, Maret 2025"
    assert rules.minimum_wage == 5_729_876
    limits = {
        (rule.program, condition.name): condition.limit
        for rule in rules.rules
        for condition in rule.when
        if condition.limit
    }
    assert limits[("PKH", "income_per_person_at_most")] == LIMIT_PKH
    assert limits[("BPNT", "income_per_person_at_most")] == LIMIT_DESIL_5
    assert limits[("PBI_JK", "income_per_person_at_most")] == LIMIT_DESIL_5
    assert limits[("PANGAN", "income_at_most")] == LIMIT_WORKERS


def test_nobody_qualifies_for_nothing(rules: Rules) -> None:
    assert screen(NOBODY, rules) == []


# program, a household that qualifies, a near miss that does not
EDGES = [
    pytest.param(
        "PKH",
        same(income=per_person(LIMIT_PKH), members={"pupil_sd"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"pupil_sd"}),
        id="PKH: a rupiah per person above the limit",
    ),
    pytest.param(
        "PKH",
        same(income=per_person(LIMIT_PKH), members={"pregnant"}),
        same(income=per_person(LIMIT_PKH), members={"student"}),
        id="PKH: no member the program is for",
    ),
    pytest.param(
        "BPNT",
        same(income=per_person(LIMIT_DESIL_5)),
        same(income=per_person(LIMIT_DESIL_5) + 4),
        id="BPNT: a rupiah per person above the limit",
    ),
    pytest.param(
        "PBI_JK",
        same(income=per_person(LIMIT_DESIL_5)),
        same(income=per_person(LIMIT_DESIL_5) + 4),
        id="PBI_JK: a rupiah per person above the limit",
    ),
    pytest.param(
        "PIP",
        same(income=per_person(LIMIT_PKH), members={"pupil_smp"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"pupil_smp"}),
        id="PIP: a rupiah per person above the limit",
    ),
    pytest.param(
        "PIP",
        same(income=per_person(LIMIT_PKH), members={"pupil_sma"}),
        same(income=per_person(LIMIT_PKH), members={"student", "child_under6"}),
        id="PIP: no pupil",
    ),
    pytest.param(
        "KJP_PLUS",
        same(income=per_person(LIMIT_PKH), members={"pupil_sd"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"pupil_sd"}),
        id="KJP_PLUS: a rupiah per person above the limit",
    ),
    pytest.param(
        "KJP_PLUS",
        same(income=per_person(LIMIT_PKH), members={"pupil_sma"}),
        same(income=per_person(LIMIT_PKH), members={"student"}),
        id="KJP_PLUS: a university student is no pupil",
    ),
    pytest.param(
        "KJMU",
        same(income=per_person(LIMIT_PKH), members={"student"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"student"}),
        id="KJMU: a rupiah per person above the limit",
    ),
    pytest.param(
        "KJMU",
        same(income=per_person(LIMIT_PKH), members={"student"}),
        same(income=per_person(LIMIT_PKH), members={"pupil_sma"}),
        id="KJMU: a pupil is no university student",
    ),
    pytest.param(
        "KLJ",
        same(income=per_person(LIMIT_PKH), members={"elderly"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"elderly"}),
        id="KLJ: a rupiah per person above the limit",
    ),
    pytest.param(
        "KLJ",
        same(income=per_person(LIMIT_PKH), members={"elderly"}),
        same(income=per_person(LIMIT_PKH), members={"disabled"}),
        id="KLJ: no one 60 or older",
    ),
    pytest.param(
        "KPDJ",
        same(income=per_person(LIMIT_PKH), members={"disabled"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"disabled"}),
        id="KPDJ: a rupiah per person above the limit",
    ),
    pytest.param(
        "KPDJ",
        same(income=per_person(LIMIT_PKH), members={"disabled"}),
        same(income=per_person(LIMIT_PKH), members={"elderly"}),
        id="KPDJ: no one with a disability",
    ),
    pytest.param(
        "KAJ",
        same(income=per_person(LIMIT_PKH), members={"child_under6"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"child_under6"}),
        id="KAJ: a rupiah per person above the limit",
    ),
    pytest.param(
        "KAJ",
        same(income=per_person(LIMIT_PKH), members={"child_under6"}),
        same(income=per_person(LIMIT_PKH), members={"pupil_sd"}),
        id="KAJ: no child under 6",
    ),
    pytest.param(
        "PANGAN",
        same(income=per_person(LIMIT_PKH), members={"elderly"}),
        same(income=per_person(LIMIT_PKH) + 4, members={"elderly"}),
        id="PANGAN: a card holder, a rupiah per person above the card's limit",
    ),
    pytest.param(
        "PANGAN",
        same(income=per_person(LIMIT_PKH), members={"pupil_smp"}),
        same(income=per_person(LIMIT_PKH), members={"pregnant", "student"}),
        id="PANGAN: poor, but no member with a KJP Plus, KPDJ, KAJ or KLJ card",
    ),
    pytest.param(
        "PANGAN",
        same(size=1, income=LIMIT_WORKERS, work="formal"),
        same(size=1, income=LIMIT_WORKERS + 1, work="formal"),
        id="PANGAN: a worker, a rupiah above the wage limit",
    ),
    pytest.param(
        "PANGAN",
        same(size=1, income=LIMIT_WORKERS, work="informal"),
        same(size=1, income=LIMIT_WORKERS, work="business"),
        id="PANGAN: a small business is no wage work",
    ),
]


@pytest.mark.parametrize(("program", "qualifies", "near_miss"), EDGES)
def test_rule_at_its_edge(
    program: str, qualifies: Household, near_miss: Household, rules: Rules
) -> None:
    assert program in findings(qualifies, rules)
    assert program not in findings(near_miss, rules)


def test_every_rule_has_an_edge_test(rules: Rules) -> None:
    assert {rule.program for rule in rules.rules} == {param.values[0] for param in EDGES}


def test_every_program_in_the_rules_is_described() -> None:
    with PROGRAMS.open("rb") as file:
        described = {program["code"] for program in tomllib.load(file)["program"]}
    assert {rule.program for rule in load_rules().rules} <= described


def test_findings_follow_the_rules_order(rules: Rules) -> None:
    household = same(
        income=per_person(POVERTY_LINE),
        members={"pupil_sd", "child_under6", "disabled", "elderly", "student"},
    )
    order = list(dict.fromkeys(rule.program for rule in rules.rules))
    assert [finding.program for finding in screen(household, rules)] == order


def test_poor_household_of_five_with_an_elderly_member(rules: Rules) -> None:
    household = Household(
        size=5,
        income=3_000_000,
        members=frozenset({"elderly"}),
        work="informal",
        housing="rent",
        dtsen="yes",
    )
    found = findings(household, rules)
    assert {"PKH", "BPNT", "PBI_JK", "KLJ"} <= set(found)
    assert not {"PIP", "KJP_PLUS", "KJMU", "KPDJ", "KAJ"} & set(found)
    assert not any(finding.needs_dtsen for finding in found.values())
    pkh = [explain(reason, identity, rupiah) for reason in found["PKH"].reasons]
    assert pkh == [
        "Your household's income per person (Rp600,000 a month) is below Jakarta's poverty "
        "line (Rp852,768).",
        "Someone in your household is 60 or older.",
        "Your household rents its home.",
        "Your household lives on daily or casual work.",
        "Your household is already in DTSEN.",
    ]
    assert [reason.kind for reason in found["BPNT"].reasons] == [
        "income_per_person",
        "housing",
        "work",
        "dtsen",
    ]
    assert [reason.kind for reason in found["KLJ"].reasons] == [
        "member",
        "income_per_person",
        "housing",
        "dtsen",
    ]
    assert found["KLJ"].reasons[0].values["members"] == ("elderly",)


@pytest.mark.parametrize("dtsen", ["no", "unknown"])
def test_same_household_not_in_dtsen(dtsen: str, rules: Rules) -> None:
    household = Household(
        size=5,
        income=3_000_000,
        members=frozenset({"elderly"}),
        work="informal",
        housing="rent",
        dtsen=dtsen,
    )
    found = findings(household, rules)
    for program in ("PKH", "BPNT", "PBI_JK", "KLJ"):
        assert found[program].needs_dtsen, program
        assert "dtsen" not in [reason.kind for reason in found[program].reasons], program
    # as a casual worker on a low income the household needs no card for subsidised food
    assert not found["PANGAN"].needs_dtsen
    assert [reason.kind for reason in found["PANGAN"].reasons] == ["work", "income"]


def test_pip_does_not_wait_for_dtsen(rules: Rules) -> None:
    found = findings(same(income=0, members={"pupil_sd"}, dtsen="no"), rules)
    assert not found["PIP"].needs_dtsen
    assert found["KJP_PLUS"].needs_dtsen
    # being in DTSEN is a reason only where the program asks for it
    registered = findings(same(income=0, members={"pupil_sd"}, dtsen="yes"), rules)
    assert [reason.kind for reason in registered["PIP"].reasons] == ["member", "income_per_person"]
    assert registered["KJP_PLUS"].reasons[-1].kind == "dtsen"


def test_subsidised_food_through_a_card_waits_for_the_card(rules: Rules) -> None:
    # not a wage worker, so the only way to subsidised food is the KLJ card
    household = same(income=per_person(POVERTY_LINE), members={"elderly"}, dtsen="no")
    found = findings(household, rules)
    assert found["KLJ"].needs_dtsen
    assert found["PANGAN"].needs_dtsen
    assert found["PANGAN"].reasons == (Reason("qualifies_for", {"programs": ("KLJ",)}),)
    registered = findings(replace(household, dtsen="yes"), rules)
    assert not registered["PANGAN"].needs_dtsen


def test_reasons_list_every_matching_member_in_rule_order(rules: Rules) -> None:
    household = same(income=0, members={"elderly", "pupil_sd", "student"})
    members = next(r for r in findings(household, rules)["PKH"].reasons if r.kind == "member")
    assert members.values["members"] == ("pupil_sd", "elderly")


def test_income_per_person_is_shown_in_whole_rupiah(rules: Rules) -> None:
    household = same(size=3, income=1_000_000, members={"elderly"})
    reason = findings(household, rules)["KLJ"].reasons[1]
    assert reason == Reason(
        "income_per_person",
        {"amount": 333_333, "limit": LIMIT_PKH, "poverty_line": POVERTY_LINE},
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"size": 0},
        {"size": True},
        {"income": -1},
        {"income": 1.5},
        {"members": {"grandchild"}},
        {"work": "farmer"},
        {"housing": "kost"},
        {"dtsen": "maybe"},
    ],
    ids=str,
)
def test_household_rejects_impossible_answers(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        same(**changes)


GOOD_FILE = """
poverty_line = 852768
source = "BPS DKI Jakarta, Maret 2025"
minimum_wage = 5729876
minimum_wage_source = "UMP DKI Jakarta 2026"

[[rule]]
program = "BPNT"
needs_dtsen = true
[rule.when]
income_per_person_at_most = { poverty_line_times = 1.75 }

[[rule]]
program = "KLJ"
needs_dtsen = true
[rule.when]
any_member = ["elderly"]
income_per_person_at_most = { amount = 1000000 }
[rule.strengthened_by]
housing_in = ["rent"]
work_in = ["informal"]

[[rule]]
program = "PANGAN"
needs_dtsen = false
[rule.when]
qualifies_for = ["KLJ"]
"""


def write(folder: Path, text: str) -> Path:
    """Write a rules file and return its path."""
    path = folder / "eligibility.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, GOOD_FILE))
    assert [rule.program for rule in rules.rules] == ["BPNT", "KLJ", "PANGAN"]
    assert rules.rules[1].when[1].limit == 1_000_000
    assert [condition.name for condition in rules.rules[1].strengthened_by] == [
        "housing_in",
        "work_in",
    ]


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('any_member = ["elderly"]', 'any_members = ["elderly"]', r"rule 2 \(KLJ\).*any_members"),
        ('any_member = ["elderly"]', 'any_member = ["lansia"]', r"rule 2 \(KLJ\).*lansia"),
        ('any_member = ["elderly"]', "any_member = []", r"rule 2 \(KLJ\)"),
        ('work_in = ["informal"]', 'work_in = ["ojol"]', r"rule 2 \(KLJ\).*ojol"),
        ('housing_in = ["rent"]', 'housing_in = ["kontrak"]', r"rule 2 \(KLJ\).*kontrak"),
        ('housing_in = ["rent"]', 'housing_in = ["rent", "rent"]', r"rule 2 \(KLJ\).*repeated"),
        ("{ amount = 1000000 }", "{ amount = -5 }", r"rule 2 \(KLJ\).*amount"),
        ("{ amount = 1000000 }", '{ amount = "1000000" }', r"rule 2 \(KLJ\).*amount"),
        ("{ amount = 1000000 }", "{ amount = 1000000.5 }", r"rule 2 \(KLJ\).*amount"),
        ("{ amount = 1000000 }", "{ amount = true }", r"rule 2 \(KLJ\).*amount"),
        ("{ amount = 1000000 }", "{ times = 2 }", r"rule 2 \(KLJ\).*times"),
        ("{ amount = 1000000 }", "{}", r"rule 2 \(KLJ\).*exactly one"),
        (
            "{ amount = 1000000 }",
            "{ amount = 1, poverty_line_times = 1 }",
            r"rule 2 \(KLJ\).*exactly one",
        ),
        ("{ poverty_line_times = 1.75 }", "{ poverty_line_times = 175 }", r"rule 1 \(BPNT\)"),
        ("{ poverty_line_times = 1.75 }", "{ poverty_line_times = 0 }", r"rule 1 \(BPNT\)"),
        ("{ poverty_line_times = 1.75 }", "{ poverty_line_times = nan }", r"rule 1 \(BPNT\)"),
        ('program = "BPNT"\nneeds_dtsen = true', 'program = "BPNT"', r"rule 1 \(BPNT\).*dtsen"),
        ("needs_dtsen = false", 'needs_dtsen = "no"', r"rule 3 \(PANGAN\).*needs_dtsen"),
        ('program = "BPNT"', 'program = "bpnt"', r"rule 1 \(bpnt\).*code"),
        ('qualifies_for = ["KLJ"]', 'qualifies_for = ["KAJ"]', r"rule 3 \(PANGAN\).*KAJ"),
        ('program = "BPNT"', 'program = "BPNT"\nprogramme = "x"', r"rule 1 \(BPNT\).*programme"),
        ('[rule.when]\nqualifies_for = ["KLJ"]', "[rule.when]", r"rule 3 \(PANGAN\).*condition"),
        ("poverty_line = 852768", "poverty_line = 0", r"poverty_line"),
        ("poverty_line = 852768", "poverty_line = 852768\nump = 1", r"unknown keys.*ump"),
        ('source = "BPS DKI Jakarta, Maret 2025"', 'source = ""', r"source"),
    ],
)
def test_a_bad_file_is_refused(tmp_path: Path, old: str, new: str, error: str) -> None:
    assert old in GOOD_FILE  # the case still edits something
    with pytest.raises(ValueError, match=error):
        load_rules(write(tmp_path, GOOD_FILE.replace(old, new, 1)))


def test_a_rule_cannot_refer_to_a_later_one(tmp_path: Path) -> None:
    # PANGAN first, the KLJ rule it refers to after it
    head, klj, pangan = GOOD_FILE.split("[[rule]]")[0], *GOOD_FILE.split("[[rule]]")[2:]
    with pytest.raises(ValueError, match=r"rule 1 \(PANGAN\).*earlier"):
        load_rules(write(tmp_path, f"{head}[[rule]]{pangan}[[rule]]{klj}"))


def test_a_file_without_rules_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no"):
        load_rules(write(tmp_path, GOOD_FILE.split("[[rule]]")[0]))


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        (
            Reason(
                "income_per_person",
                {"amount": 600_000, "limit": LIMIT_PKH, "poverty_line": POVERTY_LINE},
            ),
            "Your household's income per person (Rp600,000 a month) is below Jakarta's poverty "
            "line (Rp852,768).",
        ),
        (
            Reason(
                "income_per_person",
                {"amount": 1_000_000, "limit": LIMIT_PKH, "poverty_line": POVERTY_LINE},
            ),
            "Your household's income per person (Rp1,000,000 a month) is not above "
            "Rp1,279,152, the limit we use for this program.",
        ),
        (
            Reason("income", {"amount": 3_000_000, "limit": LIMIT_WORKERS}),
            "Your household's income (Rp3,000,000 a month) is not above Rp6,589,357, the limit "
            "we use for this program.",
        ),
        (
            Reason("member", {"members": ("elderly",)}),
            "Someone in your household is 60 or older.",
        ),
        (
            Reason("member", {"members": ("child_under6", "pupil_sd")}),
            "Your household includes a child under 6 and a primary school pupil.",
        ),
        (
            Reason("member", {"members": ("pregnant", "elderly", "disabled")}),
            "Your household includes a pregnant woman, someone aged 60 or older and someone "
            "with a disability.",
        ),
        (Reason("work", {"work": "informal"}), "Your household lives on daily or casual work."),
        (Reason("housing", {"housing": "none"}), "Your household has no fixed home."),
        (Reason("qualifies_for", {"programs": ("KLJ",)}), "Your household may qualify for KLJ."),
        (
            Reason("qualifies_for", {"programs": ("KJP_PLUS", "KAJ")}),
            "Your household may qualify for KJP PLUS and KAJ.",
        ),
        (Reason("dtsen", {}), "Your household is already in DTSEN."),
    ],
    ids=lambda value: value.kind if isinstance(value, Reason) else "",
)
def test_explain_every_kind(reason: Reason, sentence: str) -> None:
    assert explain(reason, identity, rupiah) == sentence


def test_explain_goes_through_gettext_and_the_given_names() -> None:
    catalog = {  # a stand-in catalog: only the two messages this sentence is made of
        "Your household may qualify for {programs}.": "<{programs}>",
        "{items} and {last}": "{items} & {last}",
    }
    reason = Reason("qualifies_for", {"programs": ("KJP_PLUS", "KLJ", "KAJ")})
    names = {"KJP_PLUS": "KJP Plus", "KLJ": "Kartu Lansia Jakarta", "KAJ": "Kartu Anak Jakarta"}
    assert explain(reason, catalog.__getitem__, rupiah, names.__getitem__) == (
        "<KJP Plus, Kartu Lansia Jakarta & Kartu Anak Jakarta>"
    )
    income = Reason("income", {"amount": 1, "limit": 2})
    assert explain(income, identity, lambda amount: f"<{amount}>") == (
        "Your household's income (<1> a month) is not above <2>, the limit we use for this "
        "program."
    )


def test_every_answer_has_its_sentence() -> None:
    assert set(MEMBER_SENTENCES) == set(MEMBER_LABELS) == set(MEMBERS)
    assert set(WORK_SENTENCES) == set(WORK)
    assert set(HOUSING_SENTENCES) == set(HOUSING)
    for member in MEMBERS:
        assert explain(Reason("member", {"members": (member,)}), identity, rupiah)
    for work in WORK:
        assert explain(Reason("work", {"work": work}), identity, rupiah)
    for housing in HOUSING:
        assert explain(Reason("housing", {"housing": housing}), identity, rupiah)


def test_explain_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="feelings"):
        explain(Reason("feelings", {}), identity, rupiah)


def test_default_path_is_beside_the_module() -> None:
    assert DEFAULT_PATH == ROOT / "handlers" / "data" / "eligibility.toml"
    assert DEFAULT_PATH.exists()
