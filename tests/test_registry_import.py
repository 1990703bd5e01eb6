"""Importing the beneficiary registry from staff CSV files: every check with its line number,
re-imports, the shapes Excel writes, personal data, and the `import-registry` command."""

import csv
import io
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database

from storage.csvfile import FileProblem, Rejected, Report, print_report
from storage.identity import keyed_hash, name_hash, nik_hash
from storage.registry import (
    PROGRAMS_FILE,
    Beneficiary,
    Entry,
    Program,
    Status,
    count_beneficiaries,
    find,
)
from storage.registry_import import CHUNK, import_registry
from tests.conftest import TEST_KEY
from tests.helpers import all_rows, data_rows
from tests.test_console import bot

NOW = datetime(2027, 1, 10, 3, 0, tzinfo=UTC)
LATER = datetime(2027, 2, 1, 3, 0, tzinfo=UTC)
HEADER = ["nik", "nama", "no_kk", "kelurahan", "rw", "rt", "desil", "program", "status"]
KLENDER, DUREN_SAWIT, PONDOK_KOPI = "31.75.07.1003", "31.75.07.1001", "31.75.07.1007"
PROGRAM_CODES = sorted(
    entry["code"] for entry in tomllib.loads(PROGRAMS_FILE.read_text(encoding="utf-8"))["program"]
)


def nik(birth: str = "120385", serial: str = "0001", region: str = "317507") -> str:
    """Build a NIK: region, birth date DDMMYY (women day+40) and serial."""
    return region + birth + serial


SITI, BUDI, RINA = nik("520385", "0001"), nik("170890", "0002"), nik("010100", "0003")
KK_SITI, KK_RINA = "3175071001090001", "3175070202150007"
GOOD = [
    [SITI, "Hj. SITI AMINAH, S.Pd.", KK_SITI, "Klender", "3", "5", "2", "pkh; Sembako", ""],
    [BUDI, "Budi Santoso", "", "Duren Sawit", "007", "012", "4", "PKH", "Tidak Aktif"],
    [RINA, "Rina Wati", KK_RINA, "Pondok Kopi", "12", "1", "10", "", "ditangguhkan"],
]
COLUMN = {column.name: index for index, column in enumerate(Beneficiary.__table__.columns)}
NAMES = ["Hj. SITI AMINAH, S.Pd.", "SITI AMINAH", "Budi Santoso", "Rina Wati"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    """Write the header and rows as a CSV file the way a spreadsheet would."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path


def run(database: Database, path: Path, *, now: datetime = NOW, dry_run: bool = False) -> Report:
    """Import a registry file into the test database."""
    return import_registry(database=database, path=path, key=TEST_KEY, now=now, dry_run=dry_run)


def entry(database: Database, digits: str) -> Entry | None:
    """Look a NIK up in the registry the way the status check does."""
    with database.connect() as db:
        return find(db=db, nik_hash=nik_hash(TEST_KEY, digits))


def with_cells(**changes: str) -> list[str]:
    """Return Budi's good row with some cells changed."""
    row = dict(zip(HEADER, GOOD[1], strict=True))
    row.update(changes)
    return [row[column] for column in HEADER]


def counts(report: Report) -> tuple[int, int, int, int, int]:
    """Return rows, added, updated, unchanged and rejected of a report."""
    return report.rows, report.added, report.updated, report.unchanged, len(report.rejected)


# -- a good file ------------------------------------------------------------------------------


def test_good_file_imports_every_row(database, tmp_path) -> None:
    report = run(database, write_csv(tmp_path / "good.csv", GOOD))
    assert counts(report) == (3, 3, 0, 0, 0)
    with database.connect() as db:
        assert count_beneficiaries(db=db) == 3


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        pytest.param(
            SITI,
            Entry(
                name_hash(TEST_KEY, "siti aminah"),
                "0001",
                KLENDER,
                3,
                5,
                2,
                ("BPNT", "PKH"),
                Status.ACTIVE,
            ),
            id="titles-degree-case-alias-sorted-empty-status",
        ),
        pytest.param(
            BUDI,
            Entry(
                name_hash(TEST_KEY, "Budi Santoso"),
                "0002",
                DUREN_SAWIT,
                7,
                12,
                4,
                ("PKH",),
                Status.INACTIVE,
            ),
            id="leading-zeros-tidak-aktif",
        ),
        pytest.param(
            RINA,
            Entry(
                name_hash(TEST_KEY, "RINA WATI"),
                "0003",
                PONDOK_KOPI,
                12,
                1,
                10,
                (),
                Status.SUSPENDED,
            ),
            id="no-programs-ditangguhkan",
        ),
    ],
)
def test_each_imported_row_is_found_by_its_nik(
    database, tmp_path, digits: str, expected: Entry
) -> None:
    run(database, write_csv(tmp_path / "good.csv", GOOD))
    assert entry(database, digits) == expected


def test_a_name_with_titles_matches_the_bare_name(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "good.csv", GOOD))
    found = entry(database, SITI)
    assert found is not None
    assert found.name_hash == name_hash(TEST_KEY, "siti aminah")
    assert found.name_hash != name_hash(TEST_KEY, "siti aminah putri")


@pytest.mark.parametrize(
    ("programs", "expected"),
    [
        pytest.param("pkh; Sembako", ("BPNT", "PKH"), id="alias-and-lower-case"),
        pytest.param("KJP Plus|PBI-JK", ("KJP_PLUS", "PBI_JK"), id="spaces-and-dashes"),
        pytest.param("Program Keluarga Harapan", ("PKH",), id="alias-with-spaces"),
        pytest.param("KJP+/lansia", ("KJP_PLUS", "KLJ"), id="plus-sign-and-slash"),
        pytest.param("PKH, PKH; pkh", ("PKH",), id="repeated-once"),
        pytest.param(" ; ", (), id="only-separators"),
    ],
)
def test_programs_are_normalised(database, tmp_path, programs: str, expected: tuple) -> None:
    report = run(database, write_csv(tmp_path / "p.csv", [with_cells(program=programs)]))
    assert report.rejected == []
    found = entry(database, BUDI)
    assert found is not None and found.programs == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("", Status.ACTIVE, id="empty"),
        pytest.param("Aktif", Status.ACTIVE, id="aktif"),
        pytest.param("Tidak Aktif", Status.INACTIVE, id="tidak-aktif"),
        pytest.param("NON-AKTIF", Status.INACTIVE, id="non-aktif"),
        pytest.param("Ditangguhkan", Status.SUSPENDED, id="ditangguhkan"),
        pytest.param("suspended", Status.SUSPENDED, id="english"),
    ],
)
def test_status_words(database, tmp_path, status: str, expected: Status) -> None:
    run(database, write_csv(tmp_path / "s.csv", [with_cells(status=status)]))
    found = entry(database, BUDI)
    assert found is not None and found.status is expected


# -- rejections -------------------------------------------------------------------------------

DATE_REASON = "NIK digits 7-12 are not a real birth date (DDMMYY, women day+40)"
RANGE_REASON = "{} must be a number from 1 to {}"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"nik": ""}, "NIK is empty", id="nik-empty"),
        pytest.param(
            {"nik": BUDI[:15]}, "NIK must have 16 digits, this one has 15", id="nik-15-digits"
        ),
        pytest.param(
            {"nik": BUDI + "1"}, "NIK must have 16 digits, this one has 17", id="nik-17-digits"
        ),
        pytest.param(
            {"nik": "3175O717O8900002"}, "NIK must contain digits only", id="letters-in-nik"
        ),
        pytest.param({"nik": nik("320385")}, DATE_REASON, id="day-32"),
        pytest.param({"nik": nik("000385")}, DATE_REASON, id="day-00"),
        pytest.param({"nik": nik("121385")}, DATE_REASON, id="month-13"),
        pytest.param({"nik": nik("120085")}, DATE_REASON, id="month-00"),
        pytest.param({"nik": nik("300285")}, DATE_REASON, id="30-february"),
        pytest.param({"nik": nik("310485")}, DATE_REASON, id="31-april"),
        pytest.param({"nik": nik("720385")}, DATE_REASON, id="woman-day-72"),
        pytest.param({"nik": nik("290201")}, DATE_REASON, id="29-february-1901-and-2001"),
        pytest.param({"nik": nik("290290")}, DATE_REASON, id="29-february-1990-and-2090"),
        pytest.param({"nik": nik("690201")}, DATE_REASON, id="woman-29-february-non-leap"),
        pytest.param(
            {"nik": nik("120385", "0000")}, "NIK serial 0000 does not exist", id="serial-0000"
        ),
        pytest.param(
            {"nik": nik(region="007507")}, "NIK region code 00 does not exist", id="province-00"
        ),
        pytest.param(
            {"nik": nik(region="310007")}, "NIK region code 00 does not exist", id="district-00"
        ),
        pytest.param(
            {"nik": "3.17507E+15"},
            "NIK was turned into a number by a spreadsheet; format it as text",
            id="spreadsheet-number",
        ),
        pytest.param({"nama": ""}, "name is missing or not a name", id="empty-name"),
        pytest.param({"nama": "-"}, "name is missing or not a name", id="name-a-dash"),
        pytest.param({"nama": "12345"}, "name is missing or not a name", id="name-digits"),
        pytest.param({"nama": "A" * 101}, "name is missing or not a name", id="name-too-long"),
        pytest.param(
            {"no_kk": "317507100109000"}, "KK number must have 16 digits", id="kk-15-digits"
        ),
        pytest.param(
            {"kelurahan": "Cakung"},
            "unknown kelurahan (not one of the seven)",
            id="kelurahan-elsewhere",
        ),
        pytest.param(
            {"kelurahan": ""}, "unknown kelurahan (not one of the seven)", id="kelurahan-empty"
        ),
        pytest.param(
            {"kelurahan": "31.75.07.1009"},
            "unknown kelurahan (not one of the seven)",
            id="kelurahan-code-unknown",
        ),
        pytest.param({"rw": "0"}, RANGE_REASON.format("RW", 999), id="rw-0"),
        pytest.param({"rw": "abc"}, RANGE_REASON.format("RW", 999), id="rw-letters"),
        pytest.param({"rw": ""}, RANGE_REASON.format("RW", 999), id="rw-empty"),
        pytest.param({"rw": "1234"}, RANGE_REASON.format("RW", 999), id="rw-four-digits"),
        pytest.param({"rw": "3/5"}, RANGE_REASON.format("RW", 999), id="rw-two-numbers"),
        pytest.param({"rw": "-3"}, RANGE_REASON.format("RW", 999), id="rw-negative"),
        pytest.param({"rw": "²"}, RANGE_REASON.format("RW", 999), id="rw-superscript"),
        pytest.param({"rt": "000"}, RANGE_REASON.format("RT", 999), id="rt-0"),
        pytest.param({"desil": "0"}, RANGE_REASON.format("DESIL", 10), id="desil-0"),
        pytest.param({"desil": "11"}, RANGE_REASON.format("DESIL", 10), id="desil-11"),
        pytest.param({"desil": "tinggi"}, RANGE_REASON.format("DESIL", 10), id="desil-word"),
        pytest.param(
            {"program": "PKH; BLT"},
            f"unknown program code (known: {', '.join(PROGRAM_CODES)})",
            id="unknown-program",
        ),
        pytest.param(
            {"status": "pending"},
            "unknown status (use aktif, ditangguhkan, nonaktif)",
            id="unknown-status",
        ),
    ],
)
def test_each_rejection_with_its_line(database, tmp_path, changes: dict, reason: str) -> None:
    rows = [GOOD[0], with_cells(**changes), GOOD[2]]  # the bad row is on line 3
    report = run(database, write_csv(tmp_path / "bad.csv", rows))
    assert report.rejected == [Rejected(3, reason)]
    assert counts(report) == (3, 2, 0, 0, 1)
    assert entry(database, SITI) is not None and entry(database, RINA) is not None


@pytest.mark.parametrize(
    "digits",
    [
        pytest.param(nik(region="320101"), id="first-issued-in-west-java"),
        pytest.param(nik("290200"), id="29-february-valid-in-2000-only"),
        pytest.param(nik("290204"), id="29-february-leap-in-both-centuries"),
        pytest.param(nik("690200"), id="woman-29-february-2000"),
        pytest.param(nik("710199"), id="woman-day-31"),
        pytest.param(nik("010100", "9999"), id="serial-9999"),
    ],
)
def test_nik_accepted(database, tmp_path, digits: str) -> None:
    report = run(database, write_csv(tmp_path / "ok.csv", [with_cells(nik=digits)]))
    assert report.rejected == [] and report.added == 1
    assert entry(database, digits) is not None


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("3175 0717 0890 0002", id="spaces"),
        pytest.param("3175.0717.0890.0002", id="dots"),
        pytest.param("317507-170890-0002", id="dashes"),
        pytest.param("'3175071708900002", id="leading-apostrophe"),
    ],
)
def test_nik_written_with_separators_is_the_same_nik(database, tmp_path, written: str) -> None:
    report = run(database, write_csv(tmp_path / "ok.csv", [with_cells(nik=written)]))
    assert report.rejected == []
    assert entry(database, BUDI) is not None


def test_the_same_nik_twice_rejects_the_second(database, tmp_path) -> None:
    again = with_cells(nik="3175 0717 0890 0002", desil="9")  # Budi again, written otherwise
    report = run(database, write_csv(tmp_path / "twice.csv", [*GOOD, again, GOOD[1]]))
    assert report.rejected == [
        Rejected(5, "same NIK as line 3"),
        Rejected(6, "same NIK as line 3"),
    ]
    assert counts(report) == (5, 3, 0, 0, 2)
    found = entry(database, BUDI)
    assert found is not None and found.desil == 4  # the first line counts


def test_every_rejection_in_one_file_keeps_its_line(database, tmp_path) -> None:
    rows = [
        GOOD[0],  # 2
        with_cells(nik=BUDI[:15]),  # 3
        with_cells(nik=nik("300285", "0004")),  # 4
        GOOD[1],  # 5
        with_cells(nik=nik("120385", "0005"), rw="0"),  # 6
        with_cells(nik=nik("120385", "0006"), desil="11"),  # 7
        GOOD[2],  # 8
        with_cells(nik=BUDI),  # 9
    ]
    report = run(database, write_csv(tmp_path / "bad.csv", rows))
    assert [rejected.line for rejected in report.rejected] == [3, 4, 6, 7, 9]
    assert report.rejected[-1] == Rejected(9, "same NIK as line 5")
    assert counts(report) == (8, 3, 0, 0, 5)


@pytest.mark.parametrize("newline", [pytest.param("\n", id="lf"), pytest.param("\r\n", id="crlf")])
def test_line_numbers_after_multi_line_cells_and_blank_lines(
    database, tmp_path, newline: str
) -> None:
    lines = [
        "nik,nama,kelurahan,rw,rt,desil,keterangan",  # 1
        f'{SITI},Siti Aminah,Klender,3,5,2,"pindah dari',  # 2
        "Bekasi,",  # 3
        'tahun 2024"',  # 4
        f"{BUDI},Budi Santoso,Klender,3,5,0,",  # 5: desil 0
        "",  # 6
        ",,,,,,",  # 7: empty cells only
        "",  # 8
        f'{RINA},Rina Wati,Klender,1,1,1,"RT 1',  # 9
        'RW 1"',  # 10
        f"{nik('120385', '0004')},Ani Lestari,Klender,abc,1,1,",  # 11: RW abc
        f"{nik('320385')},Ani,Klender,1,1,1,",  # 12: day 32
    ]
    path = tmp_path / "lines.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    report = run(database, path)
    assert report.rejected == [
        Rejected(5, RANGE_REASON.format("DESIL", 10)),
        Rejected(11, RANGE_REASON.format("RW", 999)),
        Rejected(12, DATE_REASON),
    ]
    assert counts(report) == (5, 2, 0, 0, 3)


def test_doubled_quotes_in_a_multi_line_cell_keep_the_row_whole(database, tmp_path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        "nik,nama,kelurahan,rw,rt,desil,keterangan\n"
        f'{SITI},Siti Aminah,Klender,3,5,2,"pindah dari ""RW 3""\n'
        'ke RW 5"\n'
        f"{BUDI},Budi Santoso,Klender,3,5,0,\n",
        encoding="utf-8",
    )
    report = run(database, path)
    assert report.rejected == [Rejected(4, RANGE_REASON.format("DESIL", 10))]
    assert counts(report) == (2, 1, 0, 0, 1)


# -- re-imports and dry runs ------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(database, tmp_path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD)
    run(database, path)
    before = all_rows(database)
    report = run(database, path, now=LATER)
    assert counts(report) == (3, 0, 0, 3, 0)
    assert all_rows(database) == before


def test_a_changed_desil_updates_that_row_only(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "good.csv", GOOD))
    before = {row[COLUMN["nik_hash"]]: row for row in all_rows(database)["beneficiaries"]}
    changed = [GOOD[0], with_cells(desil="5"), GOOD[2]]
    report = run(database, write_csv(tmp_path / "changed.csv", changed), now=LATER)
    assert counts(report) == (3, 0, 1, 2, 0)
    after = {row[COLUMN["nik_hash"]]: row for row in all_rows(database)["beneficiaries"]}
    assert after.keys() == before.keys()
    differing = [key for key in after if after[key] != before[key]]
    assert differing == [nik_hash(TEST_KEY, BUDI)]
    found = entry(database, BUDI)
    assert found is not None and found.desil == 5
    old, new = before[differing[0]], after[differing[0]]
    assert [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b] == [
        COLUMN["desil"],
        COLUMN["updated_at"],
    ]
    assert new[COLUMN["updated_at"]] == LATER


def test_dry_run_counts_and_writes_nothing(database, tmp_path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD)
    before = all_rows(database)
    report = run(database, path, dry_run=True)
    assert counts(report) == (3, 3, 0, 0, 0)
    assert all_rows(database) == before

    run(database, path)
    imported = all_rows(database)
    changed = write_csv(tmp_path / "changed.csv", [GOOD[0], with_cells(desil="5"), GOOD[2]])
    report = run(database, changed, now=LATER, dry_run=True)
    assert counts(report) == (3, 0, 1, 2, 0)
    assert all_rows(database) == imported


# -- the shapes staff files come in -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "digits", "expected"),
    [
        pytest.param(
            "NIK;Nama;Kelurahan;RW;RT;Desil;Program\r\n"
            f'{SITI};Siti Aminah;Klender;3;5;2;"PKH;Sembako"\r\n'.encode(),
            SITI,
            ("Siti Aminah", KLENDER, ("BPNT", "PKH")),
            id="semicolons-quoted-programs",
        ),
        pytest.param(
            "nik\tnama\tkelurahan\trw\trt\tdesil\n"
            f"{SITI}\tSiti Aminah\tKlender\t3\t5\t2\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ()),
            id="tabs",
        ),
        pytest.param(
            "\ufeffnik,nama,kelurahan,rw,rt,desil\r\n"
            f"{SITI},Zoë Aminah,Klender,3,5,2\r\n".encode(),
            SITI,
            ("Zoe Aminah", KLENDER, ()),
            id="utf-8-with-bom",
        ),
        pytest.param(
            f"nik;nama;kelurahan;rw;rt;desil\r\n{BUDI};André Wijaya;Duren Sawit;1;1;1\r\n".encode(
                "cp1252"
            ),
            BUDI,
            ("Andre Wijaya", DUREN_SAWIT, ()),
            id="windows-1252",
        ),
        pytest.param(
            "NIK,Nama (sesuai KTP),No. KK,Kelurahan,RW,RT,Desil,Program Bansos,Status KPM\r\n"
            f"{SITI},Siti Aminah,{KK_SITI},Klender,3,5,2,PKH,Aktif\r\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ("PKH",)),
            id="indonesian-headers",
        ),
        pytest.param(
            "Nomor NIK,Nama Lengkap,Nomor Kartu Keluarga,Desa/Kelurahan,RW,RT,Decile,"
            "Jenis Bansos\n"
            f"{SITI},Siti Aminah,{KK_SITI},Klender,3,5,2,KLJ\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ("KLJ",)),
            id="other-header-spellings",
        ),
        pytest.param(
            f"nik,nama,kelurahan,rw,rt,desil\n{SITI},Siti Aminah,31.75.07.1003,3,5,2\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ()),
            id="kelurahan-by-code",
        ),
        pytest.param(
            f"nik,nama,kelurahan,rw,rt,desil\n{SITI},Siti Aminah,3175071007,3,5,2\n".encode(),
            SITI,
            ("Siti Aminah", PONDOK_KOPI, ()),
            id="kelurahan-by-code-without-dots",
        ),
        pytest.param(
            f"nik,nama,kelurahan,rw,rt,desil\n{SITI},Siti Aminah,Kel. Klender,3,5,2\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ()),
            id="kelurahan-kel-prefix",
        ),
        pytest.param(
            "nik,nama,kelurahan,rw,rt,desil\n"
            f"{SITI},Siti Aminah,Kelurahan Klender,3,5,2\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ()),
            id="kelurahan-word-prefix",
        ),
        pytest.param(
            f"nik,nama,kelurahan,rw,rt,desil\n{SITI},Siti Aminah,PONDOK  KOPI,3,5,2\n".encode(),
            SITI,
            ("Siti Aminah", PONDOK_KOPI, ()),
            id="kelurahan-upper-case-double-space",
        ),
        pytest.param(
            "nik,nama,kelurahan,rw,rt,desil\n"
            f"{SITI},Siti Aminah,Klender,RW 03,RT.005,Desil 2\n".encode(),
            SITI,
            ("Siti Aminah", KLENDER, ()),
            id="numbers-with-words",
        ),
    ],
)
def test_flexible_files(
    database, tmp_path, content: bytes, digits: str, expected: tuple[str, str, tuple]
) -> None:
    path = tmp_path / "flexible.csv"
    path.write_bytes(content)
    report = run(database, path)
    assert report.rejected == [] and report.added == 1
    found = entry(database, digits)
    assert found is not None
    name, kelurahan, programs = expected
    assert (found.name_hash, found.kelurahan_code, found.programs) == (
        name_hash(TEST_KEY, name),
        kelurahan,
        programs,
    )


@pytest.mark.parametrize(
    ("header", "row"),
    [
        pytest.param(
            "NIK,Name on KTP,No. KK,Kelurahan,Nomor RW,Nomor RT,Desil DTSEN,Program yang diterima",
            "{nik},Siti Aminah,3175070101129901,Pd. Kopi,3,5,2,PKH",
            id="english-and-longer-headers",
        ),
        pytest.param(
            "nik_kepala_keluarga;nama_kepala_keluarga;kelurahan;rw;rt;desil;status_penerima",
            "{nik};Siti Aminah;Pdk Kopi;3;5;2;Aktif",
            id="head-of-household-headers",
        ),
    ],
)
def test_headers_found_by_a_word_in_them(database, tmp_path, header: str, row: str) -> None:
    path = tmp_path / "headers.csv"
    path.write_text(f"{header}\n{row.format(nik=SITI)}\n", encoding="utf-8")
    report = run(database, path)
    assert report.rejected == [] and report.added == 1
    found = entry(database, SITI)
    assert found.name_hash == name_hash(TEST_KEY, "Siti Aminah")
    assert found.kelurahan_code == PONDOK_KOPI


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        pytest.param("nama,kelurahan,rw,rt,desil", "nik", id="no-nik"),
        pytest.param("nik,nama,kelurahan", "rw, rt, desil", id="no-numbers"),
        pytest.param("NIK;Name;Kel;RW;RT", "desil", id="no-desil"),
        pytest.param("nomor,nama,kelurahan,rw,rt,desil", "nik", id="nik-spelt-otherwise"),
    ],
)
def test_missing_columns_are_named(database, tmp_path, header: str, missing: str) -> None:
    path = tmp_path / "columns.csv"
    path.write_text(f"{header}\n{SITI},Siti Aminah,Klender,3,5,2\n", encoding="utf-8")
    with pytest.raises(FileProblem, match=rf"^missing column\(s\): {missing}\. Found: "):
        run(database, path)
    assert all_rows(database)["beneficiaries"] == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\r\n\r\n\n", id="blank-lines"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b",,,\r\n, ,,\r\n", id="empty-cells-only"),
    ],
)
def test_an_empty_file_is_a_file_problem(database, tmp_path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(FileProblem, match="the file is empty"):
        run(database, path)


def test_a_header_without_rows_imports_nothing(database, tmp_path) -> None:
    report = run(database, write_csv(tmp_path / "header.csv", []))
    assert counts(report) == (0, 0, 0, 0, 0)


# -- personal data ----------------------------------------------------------------------------


def personal_strings() -> list[str]:
    """Return what must never be kept or printed: NIKs (whole or but the last four), KKs, names."""
    niks = [SITI, BUDI, RINA, BUDI[:15], nik("300285", "0004")]
    return [*niks, *(digits[:12] for digits in niks), KK_SITI, KK_RINA, *NAMES, "Ani Lestari"]


def test_no_nik_kk_or_name_is_kept_or_printed(database, tmp_path) -> None:
    rows = [
        *GOOD,
        ["3175 0717 0890 0002", "Budi Santoso", "", "Klender", "1", "1", "1", "", ""],  # twice
        [BUDI[:15], "Budi Santoso", "", "Klender", "1", "1", "1", "", ""],
        [nik("300285", "0004"), "Ani Lestari", KK_SITI, "Klender", "1", "1", "1", "", ""],
        [nik("120385", "0005"), "Ani Lestari", KK_SITI, "Klender", "1", "1", "11", "", ""],
    ]
    report = run(database, write_csv(tmp_path / "personal.csv", rows))
    assert counts(report) == (7, 3, 0, 0, 4)

    needles = [needle.casefold() for needle in personal_strings()]
    for table, table_rows in all_rows(database).items():
        for row in table_rows:
            for value in row:
                text = str(value).casefold()
                assert not any(needle in text for needle in needles), (table, value)

    out, rejects = io.StringIO(), tmp_path / "rejects.csv"
    print_report(report, dry_run=False, rejects=rejects, out=out)
    printed = (out.getvalue() + rejects.read_text(encoding="utf-8")).casefold()
    assert "line 5: same nik as line 3" in printed
    assert not [needle for needle in needles if needle in printed]


def test_a_name_with_an_unquoted_comma_is_not_echoed(database, tmp_path) -> None:
    path = tmp_path / "comma.csv"
    path.write_text(
        f"nik,nama,kelurahan,rw,rt,desil\n{SITI},Aminah, Siti,Klender,3,5,2\n", encoding="utf-8"
    )
    report = run(database, path)
    assert [rejected.line for rejected in report.rejected] == [2]
    out = io.StringIO()
    print_report(report, dry_run=False, rejects=None, out=out)
    assert "Siti" not in out.getvalue()


def test_the_report_prints_the_first_100_rejections_and_hints_at_the_rest() -> None:
    report = Report(rows=101, rejected=[Rejected(line, "RW must be") for line in range(2, 103)])
    out = io.StringIO()
    print_report(report, dry_run=False, rejects=None, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "101 rows read: 0 were added, 0 were updated, 0 unchanged, 101 rejected."
    assert lines[1] == "  line 2: RW must be" and lines[100] == "  line 101: RW must be"
    assert lines[101:] == ["  … and 1 more rejected rows (write them all with --rejects FILE.csv)"]


def test_the_kk_number_is_kept_as_a_keyed_hash(database, tmp_path) -> None:
    run(database, write_csv(tmp_path / "good.csv", GOOD))
    kept = sorted(row[COLUMN["kk_hash"]] or "" for row in all_rows(database)["beneficiaries"])
    expected = ["", keyed_hash(TEST_KEY, "kk", KK_SITI), keyed_hash(TEST_KEY, "kk", KK_RINA)]
    assert kept == sorted(expected)


# -- the command line -------------------------------------------------------------------------


def test_command_imports_a_good_file(operator, database, tmp_path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD)
    done = bot(operator, "import-registry", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3 rows read: 3 were added, 0 were updated, 0 unchanged, 0 rejected.\n"
    assert entry(database, SITI) is not None


def test_command_with_bad_rows_exits_1_and_writes_every_rejected_line(
    operator, database, tmp_path
) -> None:
    bad = [with_cells(nik=nik("120385", f"{serial:04d}"), desil="0") for serial in range(1, 106)]
    rows = [GOOD[0], with_cells(nik=BUDI[:15]), *bad, GOOD[2]]
    path, rejects = write_csv(tmp_path / "bad.csv", rows), tmp_path / "out.csv"
    done = bot(operator, "import-registry", str(path), "--rejects", str(rejects))
    assert done.returncode == 1, done.stderr
    assert "108 rows read: 2 were added, 0 were updated, 0 unchanged, 106 rejected." in done.stdout
    assert "  line 3: NIK must have 16 digits, this one has 15\n" in done.stdout
    assert "  line 4: DESIL must be a number from 1 to 10\n" in done.stdout
    assert "  … and 6 more rejected rows\n" in done.stdout  # 100 printed
    assert f"All rejected rows: {rejects}" in done.stdout
    with rejects.open(encoding="utf-8", newline="") as file:
        written = list(csv.reader(file))
    assert written[0] == ["line", "reason"]
    assert [int(line) for line, _reason in written[1:]] == list(range(3, 109))
    assert written[-1] == ["108", "DESIL must be a number from 1 to 10"]
    printed = done.stdout + done.stderr + rejects.read_text(encoding="utf-8")
    assert BUDI[:15] not in printed and "Budi" not in printed
    assert entry(database, SITI) is not None and entry(database, RINA) is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "No such file: {path}", id="missing-file"),
        pytest.param(
            "nama,kelurahan,rw,rt,desil\nSiti,Klender,1,1,1\n",
            "Cannot import {path}: missing column(s): nik. Found: nama, kelurahan, rw, rt, desil.",
            id="no-nik-column",
        ),
    ],
)
def test_command_with_an_unusable_file_exits_2(
    operator, database, tmp_path, content: str | None, message: str
) -> None:
    path = tmp_path / "registry.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = bot(operator, "import-registry", str(path))
    assert done.returncode == 2
    assert message.format(path=path) in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert all_rows(database)["beneficiaries"] == []


def test_command_dry_run_writes_nothing(operator, database, tmp_path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD)
    before = data_rows(database)
    done = bot(operator, "import-registry", str(path), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "3 rows read: 3 would be added, 0 would be updated, 0 unchanged" in done.stdout
    assert "Dry run: nothing was written." in done.stdout
    assert data_rows(database) == before


# -- a large file -----------------------------------------------------------------------------

LARGE = 12_000


def large_rows() -> list[list[str]]:
    """Generate distinct valid rows: birth dates and serials give every row its own NIK."""
    rows = []
    kelurahan = ["Duren Sawit", "Pondok Bambu", "Klender", "Pondok Kelapa", "Malaka Sari"]
    for i in range(LARGE):
        birth = f"{1 + i % 28:02d}{1 + i // 28 % 12:02d}{60 + i % 40:02d}"
        digits = nik(birth, f"{1 + i // 336:04d}")
        name, programs = f"Warga Nomor {chr(97 + i % 26)}", "PKH;BPNT" if i % 3 else ""
        rw, rt, desil = str(1 + i % 11), str(1 + i % 20), str(1 + i % 10)
        rows.append([digits, name, "", kelurahan[i % 5], rw, rt, desil, programs, ""])
    return rows


def test_a_large_file_crosses_chunks(database, tmp_path) -> None:
    assert LARGE > 2 * CHUNK
    rows = large_rows()
    assert len({row[0] for row in rows}) == LARGE
    path = write_csv(tmp_path / "large.csv", [*rows, rows[1]])  # the last repeats line 3
    started = time.perf_counter()
    report = run(database, path)
    assert counts(report) == (LARGE + 1, LARGE, 0, 0, 1)
    assert report.rejected == [Rejected(LARGE + 2, "same NIK as line 3")]
    with database.connect() as db:
        assert count_beneficiaries(db=db) == LARGE
    assert entry(database, rows[-1][0]) is not None

    again = run(database, path, now=LATER)
    assert counts(again) == (LARGE + 1, 0, 0, LARGE, 1)
    assert time.perf_counter() - started < 10


def test_a_file_without_a_header_never_prints_its_first_line(database, tmp_path) -> None:
    path = tmp_path / "no-header.csv"
    path.write_text(f"{SITI},Siti Aminah,3175070101010001,Klender,3,5,2\n", encoding="utf-8")
    with pytest.raises(FileProblem) as problem:
        run(database, path)
    message = str(problem.value)
    assert message.startswith("the first line looks like data, not a header row")
    assert SITI not in message and "Siti" not in message and "3175070101010001" not in message


def test_two_headers_that_could_be_the_name_are_refused(database, tmp_path) -> None:
    path = tmp_path / "two-names.csv"
    path.write_text(
        "nik,nama kepala keluarga,nama anggota keluarga,kelurahan,rw,rt,desil\n", encoding="utf-8"
    )
    with pytest.raises(FileProblem, match="more than one column could be name"):
        run(database, path)


def test_semicolons_win_over_a_comma_in_a_header(database, tmp_path) -> None:
    path = tmp_path / "semicolons.csv"
    path.write_text(
        "NIK;Nama;Kelurahan;RW;RT;Desil;Program (PKH, BPNT)\n"
        f"{SITI};Siti Aminah;Klender;3;5;2;PKH\n",
        encoding="utf-8",
    )
    report = run(database, path)
    assert report.rejected == [] and report.added == 1
    assert entry(database, SITI).programs == ("PKH",)
    assert report.guessed == {"programs": "Program (PKH, BPNT)"}
    out = io.StringIO()
    print_report(report, dry_run=False, rejects=None, out=out)
    assert "Columns found by a word in their header: programs ← 'Program (PKH, BPNT)'." in (
        out.getvalue()
    )


@pytest.mark.parametrize("written", ["Kel. Bambu", "Rabambu", "Ciwkopi"])
def test_pondok_is_read_only_from_pd_or_pdk(database, tmp_path, written: str) -> None:
    path = tmp_path / "pondok.csv"
    path.write_text(
        f"nik,nama,kelurahan,rw,rt,desil\n{SITI},Siti Aminah,{written},3,5,2\n", encoding="utf-8"
    )
    assert run(database, path).rejected[0].reason == "unknown kelurahan (not one of the seven)"


def test_an_import_without_programs_loaded_is_refused_up_front(database, tmp_path) -> None:
    with database.begin() as db:
        db.execute(Program.__table__.delete())
    path = write_csv(tmp_path / "one.csv", [["nik", "nama", "kelurahan", "rw", "rt", "desil"]])
    with pytest.raises(FileProblem, match="no programs are loaded yet"):
        run(database, path)


def test_load_places_twice_changes_nothing(operator, database) -> None:
    before = data_rows(database)
    for _ in range(2):
        done = bot(operator, "load-places")
        assert done.returncode == 0, done.stderr
        assert "7 kelurahan with 99 RWs loaded" in done.stdout
    assert data_rows(database) == before
