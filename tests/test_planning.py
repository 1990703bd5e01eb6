"""The drafted distribution rounds: every venue, every RW, Ramadan, spacing, the CSV itself."""

import csv
import io
import tomllib
from collections import Counter, defaultdict
from datetime import date, datetime, time
from pathlib import Path

import pytest

from bot.planning import VENUES, PlannedRound, notes, plan_distributions, write_csv
from storage.demo import WILAYAH

HEADER = (
    "ref,program,kelurahan,rw,date,start,end,place,address,latitude,longitude,"
    "items,bring,quota,items_en,bring_en"
)
RAMADAN_1448 = date(2027, 2, 8)
RAMADAN_1449 = date(2028, 1, 28)
SATURDAY, SUNDAY = 5, 6


def wilayah() -> dict[str, int]:
    """Return each kelurahan's name and demo RW count."""
    entries = tomllib.loads(WILAYAH.read_text(encoding="utf-8"))["kelurahan"]
    return {entry["name"]: entry["rw_count"] for entry in entries}


def venues() -> list[dict]:
    """Return the demo venues as written in the file."""
    return tomllib.loads(VENUES.read_text(encoding="utf-8"))["venue"]


def csv_rows(rounds: list[PlannedRound]) -> list[dict[str, str]]:
    """Write the rounds as CSV and read them back."""
    out = io.StringIO()
    write_csv(rounds, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def rw_numbers(text: str, rw_count: int) -> list[int]:
    """Read the rw column the way the importer does: 1;2;3, 1-8, or empty for all."""
    if not text:
        return list(range(1, rw_count + 1))
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(number) for number in text.split(";")]


def is_ramadan(row: dict[str, str]) -> bool:
    """Tell an extra Ramadan row from a routine one."""
    return "RMD" in row["ref"]


def by_kelurahan(rows: list[dict[str, str]], ramadan: bool) -> dict[str, set[date]]:
    """Return each kelurahan's round dates, Ramadan or routine ones."""
    days = defaultdict(set)
    for row in rows:
        if is_ramadan(row) == ramadan:
            days[row["kelurahan"]].add(date.fromisoformat(row["date"]))
    return days


@pytest.fixture(scope="module")
def rows_2027() -> list[dict[str, str]]:
    return csv_rows(plan_distributions(2027))


def test_every_kelurahan_and_every_venue_has_rows(rows_2027) -> None:
    entries = tomllib.loads(WILAYAH.read_text(encoding="utf-8"))["kelurahan"]
    names = {entry["code"]: entry["name"] for entry in entries}
    expected = {(names[venue["kelurahan"]], venue["name"]) for venue in venues()}
    assert {name for name, _ in expected} == set(wilayah())
    assert {(row["kelurahan"], row["place"]) for row in rows_2027} == expected
    # each venue of a kelurahan takes part in each of its rounds
    per_kelurahan = Counter(name for name, _ in expected)
    rounds = Counter((row["kelurahan"], row["date"]) for row in rows_2027)
    assert len(rounds) >= 6 * len(per_kelurahan)
    for (kelurahan, day), count in rounds.items():
        assert count == per_kelurahan[kelurahan], (kelurahan, day)


def test_the_ramadan_round_is_on_the_weekend_7_to_14_days_ahead(rows_2027) -> None:
    ramadan = by_kelurahan(rows_2027, ramadan=True)
    assert set(ramadan) == set(wilayah())
    for kelurahan, days in ramadan.items():
        assert len(days) == 1, kelurahan
        (day,) = days
        assert day < RAMADAN_1448
        assert 7 <= (RAMADAN_1448 - day).days <= 14
        assert day.weekday() in (SATURDAY, SUNDAY)
    for row in rows_2027:
        if is_ramadan(row):
            assert "Ramadan" in row["items"] and "kurma" in row["items"]
            assert "Ramadan" in row["items_en"]
            assert row["program"] == "BPNT"


def test_saturday_first_then_sunday(rows_2027) -> None:
    days = Counter(
        row["date"] for row in rows_2027 if is_ramadan(row) and row["place"].startswith("Kantor K")
    )
    assert days == {"2027-01-30": 4, "2027-01-31": 3}


def test_no_routine_round_within_10_days_of_the_ramadan_round(rows_2027) -> None:
    ramadan = by_kelurahan(rows_2027, ramadan=True)
    for kelurahan, days in by_kelurahan(rows_2027, ramadan=False).items():
        (extra,) = ramadan[kelurahan]
        assert all(abs((day - extra).days) > 10 for day in days), kelurahan


def test_routine_rounds_come_every_two_months(rows_2027) -> None:
    routine = by_kelurahan(rows_2027, ramadan=False)
    for kelurahan, days in routine.items():
        assert all(day.weekday() == SATURDAY for day in days)
        assert len({day.month for day in days}) == len(days)
        months = {day.month for day in days}
        # January's round of the kelurahan on the 4th Saturday (the 23rd) is a week before
        # the Ramadan round, so it is dropped; everyone else keeps all six
        expected = {3, 5, 7, 9, 11} if kelurahan == "Pondok Kelapa" else {1, 3, 5, 7, 9, 11}
        assert months == expected, kelurahan


def test_every_three_months() -> None:
    rows = csv_rows(plan_distributions(2027, every_months=3))
    for kelurahan, days in by_kelurahan(rows, ramadan=False).items():
        assert {day.month for day in days} <= {1, 4, 7, 10}
        assert {4, 7, 10} <= {day.month for day in days}, kelurahan


def test_every_rw_is_served_by_exactly_one_venue_each_round(rows_2027) -> None:
    counts = wilayah()
    rounds = defaultdict(list)
    for row in rows_2027:
        rounds[row["kelurahan"], row["date"]].append(row)
    for (kelurahan, day), mine in rounds.items():
        served = Counter(n for row in mine for n in rw_numbers(row["rw"], counts[kelurahan]))
        assert served == Counter(range(1, counts[kelurahan] + 1)), (kelurahan, day)


def test_no_two_kelurahan_at_the_same_time(rows_2027) -> None:
    windows = defaultdict(set)
    for row in rows_2027:
        windows[row["date"]].add((row["start"], row["end"], row["kelurahan"]))
    for day, taken in windows.items():
        for start, end, kelurahan in taken:
            for other_start, other_end, other in taken:
                if other != kelurahan:
                    assert end <= other_start or other_end <= start, (day, kelurahan, other)
        # and one window per kelurahan a day
        assert len({kelurahan for *_, kelurahan in taken}) == len(taken), day


def test_the_csv_reads_back_with_exactly_the_header(rows_2027) -> None:
    rounds = plan_distributions(2027)
    out = io.StringIO()
    write_csv(rounds, out)
    text = out.getvalue()
    assert text.splitlines()[0] == HEADER
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    assert reader.fieldnames == HEADER.split(",")
    assert len(rows) == len(rounds)
    for row in rows:
        assert None not in row and None not in row.values()  # no stray or missing fields
        assert date.fromisoformat(row["date"]).year == 2027
        start = datetime.strptime(row["start"], "%H:%M").time()
        end = datetime.strptime(row["end"], "%H:%M").time()
        assert time(7) <= start < end <= time(18)
        assert len(row["latitude"].split(".")[1]) == 6 == len(row["longitude"].split(".")[1])
        assert -6.26 <= float(row["latitude"]) <= -6.20
        assert 106.89 <= float(row["longitude"]) <= 106.94
        assert row["quota"] == ""
        assert row["bring"] == "KTP asli, Kartu Keluarga, dan KKS (Kartu Keluarga Sejahtera)"
        assert row["items"] and row["items_en"] and row["bring_en"]
    assert "Beras 10 kg" in rows[0]["items"] and "Rice 10 kg" in rows[0]["items_en"]


def test_the_output_is_stable(rows_2027) -> None:
    first, second = io.StringIO(), io.StringIO()
    write_csv(plan_distributions(2027), first)
    write_csv(plan_distributions(2027), second)
    assert first.getvalue() == second.getvalue()
    refs = [row["ref"] for row in rows_2027]
    assert len(set(refs)) == len(refs)
    assert "2027-03-KLD-KEL" in refs and "2027-RMD1448-KLD-KEL" in refs


def test_2028_ramadan_starts_in_january() -> None:
    rows = csv_rows(plan_distributions(2028))
    ramadan = by_kelurahan(rows, ramadan=True)
    assert set(ramadan) == set(wilayah())
    for kelurahan, days in by_kelurahan(rows, ramadan=False).items():
        (extra,) = ramadan[kelurahan]
        assert extra.weekday() in (SATURDAY, SUNDAY)
        assert 7 <= (RAMADAN_1449 - extra).days <= 14
        assert all(abs((day - extra).days) > 10 for day in days), kelurahan
        assert {3, 5, 7, 9, 11} <= {day.month for day in days}
    assert all(row["date"].startswith("2028-") for row in rows)
    assert all("RMD1449" in row["ref"] for row in rows if is_ramadan(row))


def test_a_ramadan_round_belongs_to_the_year_it_is_held() -> None:
    # 1 Ramadan 1451 falls on 5 January 2030: its round is in December 2029
    rows_2029 = csv_rows(plan_distributions(2029))
    labels = {row["ref"].split("-")[1] for row in rows_2029 if is_ramadan(row)}
    assert labels == {"RMD1450", "RMD1451"}
    rows_2030 = csv_rows(plan_distributions(2030))
    assert {row["ref"].split("-")[1] for row in rows_2030 if is_ramadan(row)} == {"RMD1452"}
    assert all(row["date"].startswith("2030-") for row in rows_2030)


def test_venues_must_cover_each_rw_once(tmp_path: Path) -> None:
    text = VENUES.read_text(encoding="utf-8").replace('rw = "13-17"', 'rw = "12-16"')
    broken = tmp_path / "venues.toml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"Duren Sawit.*missing \[17\].*more than once \[12\]"):
        plan_distributions(2027, venues=broken)


def test_notes_tell_staff_what_to_check() -> None:
    lines = notes(2027)
    assert lines[0] == (
        "1 Ramadan 1448 H is expected on Monday 8 February 2027 "
        "(hijridate; the government's sidang isbat may differ by a day)."
    )
    assert any("Pondok Kelapa on Saturday 23 January 2027 is left out" in line for line in lines)
    assert any("public holidays" in line for line in lines)
    assert any("DEMO" in line for line in lines)
