"""Importing sembako distributions from a schedule CSV: times in UTC, RW lists, every check
with its line number, re-imports, the queries the conversations use, and a drafted plan."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select, text

from storage.csvfile import FileProblem, Rejected, Report
from storage.schedule_import import import_schedule
from storage.schedules import Distribution, Pickup, get, nearest, next_for_rw
from tests.helpers import all_rows
from tests.test_console import bot

HEADER = (
    "ref,program,kelurahan,rw,date,start,end,place,address,latitude,longitude,"
    "items,bring,quota,items_en,bring_en"
)
COLUMNS = HEADER.split(",")
NOW = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)  # Sunday 10 January 2027, 10:00 in Jakarta
LATER = datetime(2027, 1, 20, 3, 0, tzinfo=UTC)
KLENDER, PONDOK_KOPI = "31.75.07.1003", "31.75.07.1007"
BASE = {
    "ref": "KLD-A",
    "program": "BPNT",
    "kelurahan": "Klender",
    "rw": "1-3;5",
    "date": "2027-03-06",
    "start": "08:00",
    "end": "11:00",
    "place": "RPTRA Klender",
    "address": "Jl. Raya Klender No. 1",
    "latitude": "-6.2150",
    "longitude": "106.9000",
    "items": "Beras 10 kg, minyak goreng 2 liter",
    "bring": "KTP dan KK",
    "quota": "150",
    "items_en": "Rice 10 kg, cooking oil 2 litres",
    "bring_en": "",
}


def row(**changes: str) -> dict[str, str]:
    """Return the base distribution with some cells changed."""
    return {**BASE, **changes}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write the schedule header and rows as a CSV file."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


def run(database: Database, path: Path, *, now: datetime = NOW, dry_run: bool = False) -> Report:
    """Import a schedule file into the test database."""
    return import_schedule(
        database=database, path=path, now=now, zone="Asia/Jakarta", dry_run=dry_run
    )


def counts(report: Report) -> tuple[int, int, int, int, int]:
    """Return rows, added, updated, unchanged and rejected of a report."""
    return report.rows, report.added, report.updated, report.unchanged, len(report.rejected)


def by_ref(database: Database, ref: str) -> Pickup:
    """Return a stored distribution by its ref."""
    with database.connect() as db:
        found = db.execute(text("SELECT id FROM distributions WHERE ref = :ref"), {"ref": ref})
        distribution_id = found.scalar_one()
        pickup = get(db=db, distribution_id=distribution_id)
    assert pickup is not None
    return pickup


def utc(*parts: int) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


# -- a good file ------------------------------------------------------------------------------

GOOD = [
    row(),
    row(ref="KLD-ALL", rw="", date="2027-02-06", quota="", items_en=""),
    row(ref="PKP-ALL", kelurahan="Pondok Kopi", rw="semua", place="Masjid Al-Ikhlas"),
]


def test_good_file_imports(database, tmp_path) -> None:
    report = run(database, write_csv(tmp_path / "good.csv", GOOD))
    assert counts(report) == (3, 3, 0, 0, 0)
    pickup = by_ref(database, "KLD-A")
    assert pickup == Pickup(
        id=pickup.id,
        ref="KLD-A",
        program_code="BPNT",
        kelurahan_code=KLENDER,
        starts_at=utc(2027, 3, 6, 1, 0),
        ends_at=utc(2027, 3, 6, 4, 0),
        place="RPTRA Klender",
        address="Jl. Raya Klender No. 1",
        latitude=-6.215,
        longitude=106.9,
        items="Beras 10 kg, minyak goreng 2 liter",
        bring="KTP dan KK",
        items_en="Rice 10 kg, cooking oil 2 litres",
        bring_en=None,
        rws=(1, 2, 3, 5),
    )
    assert pickup.text("bring", "en") == "KTP dan KK"  # no English: the Indonesian text


def test_times_are_stored_in_utc(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "good.csv", GOOD))
    with database.connect() as db:
        stored = db.execute(
            text("SELECT starts_at, ends_at FROM distributions WHERE ref = 'KLD-A'")
        ).one()
    assert [str(value)[:19] for value in stored] == ["2027-03-06 01:00:00", "2027-03-06 04:00:00"]


@pytest.mark.parametrize(
    ("ref", "all_rws", "rws", "quota"),
    [
        pytest.param("KLD-A", False, [1, 2, 3, 5], 150, id="range-and-list"),
        pytest.param("KLD-ALL", True, [], None, id="empty-is-every-rw"),
        pytest.param("PKP-ALL", True, [], 150, id="semua-is-every-rw"),
    ],
)
def test_rws_are_stored_one_by_one(
    database, tmp_path, ref: str, all_rws: bool, rws: list[int], quota: int | None
) -> None:
    run(database, write_csv(tmp_path / "good.csv", GOOD))
    with database.connect() as db:
        stored = db.execute(
            text("SELECT id, all_rws, quota FROM distributions WHERE ref = :ref"), {"ref": ref}
        ).one()
        numbers = db.execute(
            text("SELECT rw FROM distribution_rws WHERE distribution_id = :id ORDER BY rw"),
            {"id": stored.id},
        ).scalars()
        assert (bool(stored.all_rws), list(numbers), stored.quota) == (all_rws, rws, quota)


# -- which distributions an RW sees -----------------------------------------------------------

SCHEDULE = [
    row(ref="KLD-A"),  # RW 1-3 and 5, 6 March
    row(ref="KLD-B", rw="2", date="2027-02-20", start="13:00", end="16:00"),
    row(ref="KLD-ALL", rw="", date="2027-02-06"),  # 08:00-11:00 WIB = 01:00-04:00 UTC
    row(ref="KLD-PAST", rw="", date="2027-01-09"),  # over before NOW
    row(ref="KLD-NOW", rw="4", date="2027-01-10"),  # going on at NOW (10:00 WIB)
    row(ref="PKP-ALL", kelurahan="Pondok Kopi", rw="", date="2027-02-13"),
]


@pytest.mark.parametrize(
    ("kelurahan", "rw", "now", "limit", "refs"),
    [
        pytest.param(KLENDER, 2, NOW, 3, ["KLD-ALL", "KLD-B", "KLD-A"], id="rw-2-soonest-first"),
        pytest.param(KLENDER, 2, NOW, 1, ["KLD-ALL"], id="limit-1"),
        pytest.param(KLENDER, 2, NOW, 2, ["KLD-ALL", "KLD-B"], id="limit-2"),
        pytest.param(KLENDER, 4, NOW, 3, ["KLD-NOW", "KLD-ALL"], id="rw-4-not-in-1-3-5"),
        pytest.param(KLENDER, 5, NOW, 3, ["KLD-ALL", "KLD-A"], id="rw-5-after-the-range"),
        pytest.param(KLENDER, 15, NOW, 3, ["KLD-ALL"], id="rw-15-every-rw-only"),
        pytest.param(PONDOK_KOPI, 2, NOW, 3, ["PKP-ALL"], id="other-kelurahan"),
        pytest.param(KLENDER, 1, utc(2027, 2, 6, 4, 0), 3, ["KLD-A"], id="at-the-end-it-is-over"),
        pytest.param(KLENDER, 1, utc(2027, 2, 6, 3, 59), 3, ["KLD-ALL", "KLD-A"], id="not-yet"),
        pytest.param(KLENDER, 4, utc(2027, 3, 7), 3, [], id="all-over"),
    ],
)
def test_next_for_rw(
    database, tmp_path, kelurahan: str, rw: int, now: datetime, limit: int, refs: list[str]
) -> None:
    report = run(database, write_csv(tmp_path / "schedule.csv", SCHEDULE))
    assert report.rejected == []
    with database.connect() as db:
        found = next_for_rw(db=db, kelurahan_code=kelurahan, rw=rw, now=now, limit=limit)
    assert [pickup.ref for pickup in found] == refs
    assert all(pickup.kelurahan_code == kelurahan for pickup in found)


# -- rejections -------------------------------------------------------------------------------

TIMES = "start and end must be times like 08:00, and differ"
NOT_JAKARTA = "coordinates are not in Jakarta (latitude first, e.g. -6.23)"
NOT_NUMBERS = "latitude and longitude must be decimal numbers"
QUOTA = "quota must be a whole number or empty"
REF = "ref is missing or longer than 40 characters"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"program": "BLT"}, "unknown program code", id="unknown-program"),
        pytest.param({"program": ""}, "unknown program code", id="no-program"),
        pytest.param(
            {"kelurahan": "Cakung"}, "unknown kelurahan (not one of the seven)", id="kelurahan"
        ),
        pytest.param({"rw": "40"}, "no RW 40 in this kelurahan", id="rw-40-in-klender"),
        pytest.param({"rw": "14-17"}, "no RW 16, 17 in this kelurahan", id="range-past-the-end"),
        pytest.param({"rw": "0"}, "no RW 0 in this kelurahan", id="rw-0"),
        pytest.param({"rw": "abc"}, "RW must be like 1;2;3 or 1-8, not 'abc'", id="rw-letters"),
        pytest.param({"rw": "5-3"}, "RW must be like 1;2;3 or 1-8, not '5-3'", id="rw-backwards"),
        pytest.param({"rw": "1-"}, "RW must be like 1;2;3 or 1-8, not '1-'", id="rw-open-range"),
        pytest.param(
            {"date": "2027-02-30"}, "date must be YYYY-MM-DD, not '2027-02-30'", id="30-february"
        ),
        pytest.param(
            {"date": "13/13/2027"}, "date must be YYYY-MM-DD, not '13/13/2027'", id="month-13"
        ),
        pytest.param(
            {"date": "29/02/2027"}, "date must be YYYY-MM-DD, not '29/02/2027'", id="not-leap"
        ),
        pytest.param({"date": "Sabtu"}, "date must be YYYY-MM-DD, not 'Sabtu'", id="a-word"),
        pytest.param({"date": ""}, "date must be YYYY-MM-DD, not ''", id="no-date"),
        pytest.param({"start": "08:00", "end": "08:00"}, TIMES, id="end-at-start"),
        pytest.param({"start": "25:00"}, TIMES, id="hour-25"),
        pytest.param({"end": "11:60"}, TIMES, id="minute-60"),
        pytest.param({"start": "8am"}, TIMES, id="8am"),
        pytest.param({"end": ""}, TIMES, id="no-end"),
        pytest.param({"latitude": "-7.7956", "longitude": "110.3695"}, NOT_JAKARTA, id="jogja"),
        pytest.param({"latitude": "106.9", "longitude": "-6.2"}, NOT_JAKARTA, id="swapped"),
        pytest.param({"latitude": "6.215"}, NOT_JAKARTA, id="north-of-the-equator"),
        pytest.param({"latitude": ""}, NOT_NUMBERS, id="no-latitude"),
        pytest.param({"longitude": "106,9"}, NOT_NUMBERS, id="decimal-comma"),
        pytest.param({"quota": "banyak"}, QUOTA, id="quota-word"),
        pytest.param({"quota": "-5"}, QUOTA, id="quota-negative"),
        pytest.param({"quota": "1.5"}, QUOTA, id="quota-decimal"),
        pytest.param({"place": ""}, "place and address are needed", id="no-place"),
        pytest.param({"address": ""}, "place and address are needed", id="no-address"),
        pytest.param({"ref": ""}, REF, id="no-ref"),
        pytest.param({"ref": "R" * 41}, REF, id="ref-41-characters"),
    ],
)
def test_each_rejection_with_its_line(database, tmp_path, changes: dict, reason: str) -> None:
    rows = [row(ref="GOOD-1"), row(**{"ref": "BAD", **changes}), row(ref="GOOD-2")]
    report = run(database, write_csv(tmp_path / "bad.csv", rows))
    assert report.rejected == [Rejected(3, reason)]
    assert counts(report) == (3, 2, 0, 0, 1)
    with database.connect() as db:
        refs = db.execute(text("SELECT ref FROM distributions ORDER BY ref")).scalars()
        assert list(refs) == ["GOOD-1", "GOOD-2"]


def test_the_same_ref_twice_rejects_the_second(database, tmp_path) -> None:
    rows = [row(), row(ref="KLD-B"), row(date="2027-03-13"), row(ref="KLD-B")]
    report = run(database, write_csv(tmp_path / "twice.csv", rows))
    assert report.rejected == [
        Rejected(4, "same ref as line 2"),
        Rejected(5, "same ref as line 3"),
    ]
    assert counts(report) == (4, 2, 0, 0, 2)
    assert by_ref(database, "KLD-A").starts_at == utc(2027, 3, 6, 1, 0)  # the first line counts


def test_line_numbers_after_multi_line_cells_and_blank_lines(database, tmp_path) -> None:
    good = ",".join(BASE[column] if column != "items" else "Beras" for column in COLUMNS)
    path = tmp_path / "lines.csv"
    path.write_text(
        f"{HEADER}\n"  # 1
        + good.replace("RPTRA Klender", '"RPTRA\nKlender"')  # 2-3
        + "\n\n"  # 4: blank
        + good.replace("KLD-A", "KLD-B").replace("2027-03-06", "2027-02-30")  # 5
        + "\n",
        encoding="utf-8",
    )
    report = run(database, path)
    assert report.rejected == [Rejected(5, "date must be YYYY-MM-DD, not '2027-02-30'")]
    assert by_ref(database, "KLD-A").place == "RPTRA\nKlender"


# -- what the file may hold -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "start", "end", "starts_at", "ends_at"),
    [
        pytest.param(
            "06/03/2027", "08.00", "11.30", utc(2027, 3, 6, 1), utc(2027, 3, 6, 4, 30), id="dmy"
        ),
        pytest.param(
            "6/3/2027", "8:00", "9.05", utc(2027, 3, 6, 1), utc(2027, 3, 6, 2, 5), id="short-dmy"
        ),
        pytest.param(
            "06-03-2027", "13:00", "16:00", utc(2027, 3, 6, 6), utc(2027, 3, 6, 9), id="dashes"
        ),
        pytest.param(
            "2027-03-06", "00:30", "02:00", utc(2027, 3, 5, 17, 30), utc(2027, 3, 5, 19), id="utc"
        ),
        pytest.param(
            "29/02/2028",
            "23:00",
            "23:59",
            utc(2028, 2, 29, 16),
            utc(2028, 2, 29, 16, 59),
            id="leap",
        ),
    ],
)
def test_other_ways_to_write_dates_and_times(
    database, tmp_path, day: str, start: str, end: str, starts_at: datetime, ends_at: datetime
) -> None:
    report = run(database, write_csv(tmp_path / "d.csv", [row(date=day, start=start, end=end)]))
    assert report.rejected == []
    pickup = by_ref(database, "KLD-A")
    assert (pickup.starts_at, pickup.ends_at) == (starts_at, ends_at)


@pytest.mark.parametrize(
    ("changes", "program", "kelurahan", "rws"),
    [
        pytest.param({"program": "sembako"}, "BPNT", KLENDER, (1, 2, 3, 5), id="program-alias"),
        pytest.param({"program": "pbi-jk"}, "PBI_JK", KLENDER, (1, 2, 3, 5), id="program-code"),
        pytest.param({"kelurahan": "31.75.07.1003"}, "BPNT", KLENDER, (1, 2, 3, 5), id="code"),
        pytest.param({"kelurahan": "Kel. Klender"}, "BPNT", KLENDER, (1, 2, 3, 5), id="kel"),
        pytest.param({"rw": "RW 1, RW 15"}, "BPNT", KLENDER, (1, 15), id="rw-words"),
        pytest.param({"rw": "3;1;3"}, "BPNT", KLENDER, (1, 3), id="rw-repeated"),
        pytest.param({"rw": "ALL"}, "BPNT", KLENDER, (), id="rw-all"),
    ],
)
def test_other_ways_to_write_names(
    database, tmp_path, changes: dict, program: str, kelurahan: str, rws: tuple
) -> None:
    report = run(database, write_csv(tmp_path / "n.csv", [row(**changes)]))
    assert report.rejected == []
    pickup = by_ref(database, "KLD-A")
    assert (pickup.program_code, pickup.kelurahan_code, pickup.rws) == (program, kelurahan, rws)


@pytest.mark.parametrize("written", ["Program Sembako", "Pangan Bersubsidi"])
def test_program_aliases_with_spaces(database, tmp_path, written: str) -> None:
    report = run(database, write_csv(tmp_path / "alias.csv", [row(program=written)]))
    assert report.rejected == []


def test_quotes_inside_a_place_name(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "q.csv", [row(place='Masjid "Al-Ikhlas"')]))
    assert by_ref(database, "KLD-A").place == 'Masjid "Al-Ikhlas"'


def test_a_quota_that_only_looks_like_digits_is_rejected(database, tmp_path) -> None:
    report = run(database, write_csv(tmp_path / "quota.csv", [row(quota="²")]))
    assert report.rejected == [Rejected(2, QUOTA)]


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        pytest.param(HEADER.replace("ref,", ""), "ref", id="no-ref"),
        pytest.param(
            "ref,program,kelurahan,rw,date",
            "start, end, place, address, latitude, longitude",
            id="short",
        ),
    ],
)
def test_missing_columns_are_named(database, tmp_path, header: str, missing: str) -> None:
    path = tmp_path / "columns.csv"
    path.write_text(f"{header}\nX,BPNT,Klender,1,2027-03-06\n", encoding="utf-8")
    with pytest.raises(FileProblem, match=rf"^missing column\(s\): {missing}\. Found: "):
        run(database, path)


def test_an_empty_file_is_a_file_problem(database, tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(FileProblem, match="the file is empty"):
        run(database, path)


# -- re-imports and dry runs ------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(database, tmp_path) -> None:
    path = write_csv(tmp_path / "schedule.csv", SCHEDULE)
    run(database, path)
    before = all_rows(database)
    report = run(database, path, now=LATER)
    assert counts(report) == (6, 0, 0, 6, 0)
    assert all_rows(database) == before


def test_a_changed_date_updates_the_row_and_keeps_its_id(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "schedule.csv", SCHEDULE))
    before = by_ref(database, "KLD-A")
    others = {ref: by_ref(database, ref) for ref in ("KLD-B", "KLD-ALL", "PKP-ALL")}
    changed = [row(ref="KLD-A", date="13/03/2027", rw="4;5"), *SCHEDULE[1:]]
    report = run(database, write_csv(tmp_path / "changed.csv", changed), now=LATER)
    assert counts(report) == (6, 0, 1, 5, 0)
    after = by_ref(database, "KLD-A")
    assert after.id == before.id
    assert (after.starts_at, after.ends_at) == (utc(2027, 3, 13, 1), utc(2027, 3, 13, 4))
    assert after.rws == (4, 5)
    assert {ref: by_ref(database, ref) for ref in others} == others
    with database.connect() as db:
        assert db.execute(text("SELECT count(*) FROM distributions")).scalar_one() == 6
        table = Distribution.__table__
        updated = db.execute(select(table.c.ref).where(table.c.updated_at > NOW)).scalars()
        assert list(updated) == ["KLD-A"]


def test_dry_run_counts_and_writes_nothing(database, tmp_path) -> None:
    path = write_csv(tmp_path / "schedule.csv", SCHEDULE)
    before = all_rows(database)
    report = run(database, path, dry_run=True)
    assert counts(report) == (6, 6, 0, 0, 0)
    assert all_rows(database) == before

    run(database, path)
    imported = all_rows(database)
    changed = [row(ref="KLD-A", rw="4"), *SCHEDULE[1:], row(ref="KLD-NEW")]
    report = run(database, write_csv(tmp_path / "changed.csv", changed), dry_run=True)
    assert counts(report) == (7, 1, 1, 5, 0)
    assert all_rows(database) == imported


# -- the nearest places -----------------------------------------------------------------------

HERE = (-6.2150, 106.9000)  # the resident, at the RPTRA
PLACES = [
    row(ref="P1-LATER", date="2027-02-06"),
    row(ref="P1-NEXT", date="2027-01-16"),  # the RPTRA's next one
    row(
        ref="P2-NEXT", place="Masjid", latitude="-6.2300", longitude="106.9100", date="2027-02-13"
    ),
    row(
        ref="P2-LATER", place="Masjid", latitude="-6.2300", longitude="106.9100", date="2027-03-13"
    ),
    row(ref="P3-NEXT", place="Jauh", latitude="-6.2500", longitude="106.9400", date="2027-01-23"),
    row(
        ref="P4-BEYOND", place="Dekat", latitude="-6.2151", longitude="106.9001", date="2027-04-10"
    ),
    row(ref="P5-OVER", place="Lewat", latitude="-6.2152", longitude="106.9002", date="2027-01-09"),
]
UNTIL = utc(2027, 3, 31)


@pytest.mark.parametrize(
    ("here", "limit", "refs"),
    [
        pytest.param(HERE, 3, ["P1-NEXT", "P2-NEXT", "P3-NEXT"], id="by-distance"),
        pytest.param(HERE, 2, ["P1-NEXT", "P2-NEXT"], id="limit"),
        pytest.param((-6.2510, 106.9410), 3, ["P3-NEXT", "P2-NEXT", "P1-NEXT"], id="elsewhere"),
    ],
)
def test_nearest_places_with_their_next_distribution(
    database, tmp_path, here: tuple[float, float], limit: int, refs: list[str]
) -> None:
    assert run(database, write_csv(tmp_path / "places.csv", PLACES)).rejected == []
    with database.connect() as db:
        found = nearest(
            db=db, latitude=here[0], longitude=here[1], now=NOW, until=UNTIL, limit=limit
        )
    assert [near.pickup.ref for near in found] == refs
    distances = [near.distance_km for near in found]
    assert distances == sorted(distances)


def test_nearest_distances_are_in_kilometres(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "places.csv", PLACES))
    with database.connect() as db:
        found = nearest(db=db, latitude=HERE[0], longitude=HERE[1], now=NOW, until=UNTIL)
    assert [round(near.distance_km, 2) for near in found] == [0.0, 2.0, 5.89]


def test_nearest_ignores_what_is_over_or_beyond_until(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "places.csv", PLACES))
    with database.connect() as db:
        soon = nearest(db=db, latitude=-6.2152, longitude=106.9002, now=NOW, until=UNTIL)
        later = nearest(
            db=db, latitude=-6.2152, longitude=106.9002, now=NOW, until=utc(2027, 12, 31)
        )
        after_p1 = nearest(
            db=db, latitude=-6.2150, longitude=106.9, now=utc(2027, 1, 17), until=UNTIL
        )
    assert [near.pickup.ref for near in soon] == ["P1-NEXT", "P2-NEXT", "P3-NEXT"]
    assert [near.pickup.ref for near in later][:2] == ["P4-BEYOND", "P1-NEXT"]
    assert after_p1[0].pickup.ref == "P1-LATER"  # the RPTRA's next one once the first is over


# -- a drafted plan, imported -----------------------------------------------------------------


def test_a_drafted_plan_imports_whole(environment, operator, database, tmp_path) -> None:
    plan = tmp_path / "plan.csv"
    drafted = bot(environment, "plan-distributions", "--year", "2027", "--output", str(plan))
    assert drafted.returncode == 0, drafted.stderr
    assert drafted.stdout == ""
    assert "1 Ramadan 1448 H is expected on Monday 8 February 2027" in drafted.stderr
    assert (
        "The extra Ramadan round is on Saturday 30 January 2027 and Sunday 31 January 2027."
        in drafted.stderr
    )
    with plan.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert f"{len(rows)} rounds written to {plan}." in drafted.stderr
    assert list(rows[0]) == COLUMNS

    imported = bot(operator, "import-schedule", str(plan))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert imported.stdout == (
        f"{len(rows)} rows read: {len(rows)} were added, 0 were updated, 0 unchanged, "
        "0 rejected.\n"
    )
    with database.connect() as db:
        refs = set(db.execute(text("SELECT ref FROM distributions")).scalars())
    assert refs == {entry["ref"] for entry in rows}
    assert any("RMD1448" in ref for ref in refs)

    before = all_rows(database)
    again = run(database, plan, now=LATER)
    assert counts(again) == (len(rows), 0, 0, len(rows), 0)
    assert all_rows(database) == before


def test_a_window_past_midnight_ends_the_next_morning(database, tmp_path) -> None:
    path = tmp_path / "night.csv"
    path.write_text(
        "ref,program,kelurahan,rw,date,start,end,place,address,latitude,longitude\n"
        "N-1,BPNT,Klender,,2027-02-13,22:00,02:00,Balai,Jl. Contoh,-6.2179,106.9012\n",
        encoding="utf-8",
    )
    report = import_schedule(database=database, path=path, now=NOW, zone="Asia/Jakarta")
    assert report.rejected == []
    with database.connect() as db:
        row = db.execute(select(Distribution)).one()
    assert row.starts_at == datetime(2027, 2, 13, 15, 0, tzinfo=UTC)
    assert row.ends_at == datetime(2027, 2, 13, 19, 0, tzinfo=UTC)


def test_a_cancelled_distribution_is_hidden(database, tmp_path) -> None:
    header = "ref,program,kelurahan,rw,date,start,end,place,address,latitude,longitude,status\n"
    row = "C-1,BPNT,Klender,5,2027-02-13,08:00,11:00,Balai,Jl. Contoh,-6.2179,106.9012,{}\n"
    path = tmp_path / "cancel.csv"
    for status, listed in (("", 1), ("batal", 0)):
        path.write_text(header + row.format(status), encoding="utf-8")
        import_schedule(database=database, path=path, now=NOW, zone="Asia/Jakarta")
        with database.connect() as db:
            found = next_for_rw(db=db, kelurahan_code="31.75.07.1003", rw=5, now=NOW)
        assert len(found) == listed
    path.write_text(header + row.format("ditunda"), encoding="utf-8")
    report = import_schedule(database=database, path=path, now=NOW, zone="Asia/Jakarta")
    assert report.rejected == [Rejected(2, "status must be empty, aktif or batal")]
