# ruff: noqa: F811 (the fixtures of test_staff_cli are parameters here)
"""The one staff gate: every command that reads residents' data or changes anything names a
rule and passes it, within the account's kelurahan, and every action and refusal is audited
with where it came from."""

import argparse
import getpass
import socket

import pytest
from sqlalchemy import func, select

from bot.__main__ import parse_args
from storage import audit, gate, rounds
from storage import staff as accounts
from storage.applications import Kind
from storage.audit import AuditEntry
from storage.outbox import Outbound
from storage.staff import Role
from tests.helpers import data_rows
from tests.test_course_import import FIXTURES, NOW
from tests.test_staff_cli import (  # noqa: F401 (fixtures)
    cli,
    enrolled,
    filed,
    no_login_in_the_environment,
    settings,
    staffed,
)

PONDOK_KOPI = "31.75.07.1007"

# The commands that neither read residents' data nor change any: everything else needs --as.
UNGATED = {"run", "chat", "seed-demo", "migrate", "plan-distributions"}


@pytest.fixture
def kopi(staffed) -> str:
    """A staff account limited to Pondok Kopi (the residents of the fixtures live in Klender)."""
    with staffed.begin() as db:
        accounts.add(
            db=db,
            login="kopi",
            name="Petugas Pondok Kopi",
            role=Role.STAFF,
            now=NOW,
            kelurahan_code=PONDOK_KOPI,
        )
    return "kopi"


def last_audit(database, count: int = 1) -> list[AuditEntry]:
    """Return the newest audit rows, oldest first."""
    with database.connect() as db:
        return list(reversed(audit.recent(db=db, limit=count)))


def commands(parser: argparse.ArgumentParser, prefix=()) -> dict[tuple[str, ...], object]:
    """Return every leaf command of the parser with its own parser."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= commands(sub, (*prefix, name)) or {(*prefix, name): sub}
    return found


def top_parser() -> argparse.ArgumentParser:
    """Catch the parser parse_args builds."""
    caught = {}
    original = argparse.ArgumentParser.parse_args

    def catch(self, *args, **kwargs):
        caught.setdefault("parser", self)
        return original(self, *args, **kwargs)

    argparse.ArgumentParser.parse_args = catch
    try:
        parse_args(["migrate"])
    finally:
        argparse.ArgumentParser.parse_args = original
    return caught["parser"]


# A refused call of each gated command (the files exist; nobody is named)
REFUSED = {
    ("import-registry",): ["import-registry", str(FIXTURES / "courses.csv")],
    ("import-schedule",): ["import-schedule", str(FIXTURES / "courses.csv")],
    ("load-places",): ["load-places"],
    ("load-programs",): ["load-programs"],
    ("load-staff",): ["load-staff"],
    ("reset-demo",): ["reset-demo", "--yes"],
    ("import-courses",): ["import-courses", str(FIXTURES / "courses.csv")],
    ("import-batches",): ["import-batches", str(FIXTURES / "batches.csv")],
    ("import-health",): ["import-health", str(FIXTURES / "health.csv")],
    ("batch", "list"): ["batch", "list", "MJH-2027-03A"],
    ("batch", "attendance"): ["batch", "attendance", "MJH-2027-03A", "--session", "1"],
    ("application", "list"): ["application", "list"],
    ("application", "show"): ["application", "show", "BSW-2027-000001"],
    ("application", "set-status"): ["application", "set-status", "BSW-2027-1", "diverifikasi"],
    ("application", "deadline"): ["application", "deadline", "beasiswa", "2099-01-31"],
    ("staff", "add"): ["staff", "add", "--telegram", "5551", "--role", "staff"],
    ("staff", "remove"): ["staff", "remove", "--telegram", "5551"],
    ("staff", "list"): ["staff", "list"],
    ("broadcast",): ["broadcast", "--stop", "1"],
    ("export",): ["export", "feedback"],
    ("survey", "send"): ["survey", "send", "storage/data/survey-example.toml", "--segment", "all"],
    ("survey", "list"): ["survey", "list"],
    ("survey", "close"): ["survey", "close", "1"],
}


def test_every_command_but_the_harmless_ones_takes_a_login() -> None:
    found = commands(top_parser())
    gated = {name for name in found if name[0] not in UNGATED}
    assert gated == set(REFUSED), "a new command must pass the staff gate and be listed here"
    for name in gated:
        options = {option for action in found[name]._actions for option in action.option_strings}
        assert "--as" in options, name


@pytest.mark.parametrize("name", sorted(REFUSED), ids=" ".join)
def test_without_a_login_every_gated_command_is_refused_and_audited(
    settings, staffed, capsys, name
) -> None:
    before = data_rows(staffed)
    assert cli(settings, *REFUSED[name]) == 2
    assert "--as LOGIN" in capsys.readouterr().err
    assert data_rows(staffed) == before
    (refused,) = last_audit(staffed)
    assert refused.action.startswith("refused.")
    assert refused.actor == "(nobody)"
    assert refused.details["why"] == "no-account"
    assert refused.details["via"] == "command line"
    assert refused.details["os_user"] == getpass.getuser()
    assert refused.details["host"] == socket.gethostname()


# -- kelurahan limits -----------------------------------------------------------------------------


def test_a_limited_account_lists_only_its_kelurahans_enrolments(
    settings, enrolled, staffed, kopi, capsys
) -> None:
    enrolled_db = staffed
    capsys.readouterr()
    assert cli(settings, "batch", "list", "MJH-2027-03A", "--as", kopi) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1:] == []  # the header only: all four live in Klender
    assert "Siti" not in captured.out and "812" not in captured.out
    assert "only residents of your kelurahan" in captured.err
    (listed,) = last_audit(enrolled_db)
    assert (listed.actor, listed.action, listed.details["rows"]) == ("kopi", "batch.list", 0)
    assert listed.details["kelurahan_limit"] == PONDOK_KOPI


def test_a_limited_account_marks_no_attendance_of_another_kelurahan(
    settings, enrolled, staffed, kopi, capsys
) -> None:
    siti = enrolled["Siti Aminah"]
    assert cli(settings, "batch", "attendance", "MJH-2027-03A", "--session", "1",
               "--present", str(siti), "--as", "petugas") == 0  # fmt: skip
    before = data_rows(staffed)
    command = ["batch", "attendance", "MJH-2027-03A", "--session", "1", "--present", str(siti)]
    assert cli(settings, *command, "--as", kopi) == 1  # Siti is not theirs to mark
    assert f"Not confirmed in batch MJH-2027-03A: {siti}" in capsys.readouterr().err
    assert cli(settings, *command[:5], "--as", kopi) == 0  # nobody of theirs: nobody marked
    assert "0 present, 0 absent" in capsys.readouterr().out
    assert data_rows(staffed)["attendance"] == before["attendance"]  # Siti's mark stays


def test_another_kelurahans_applications_are_neither_listed_shown_nor_decided(
    settings, filed, staffed, kopi, capsys
) -> None:
    assert cli(settings, "application", "list", "--as", kopi) == 0
    assert capsys.readouterr().out == "No applications.\n"
    before = data_rows(staffed)
    ref = filed["beasiswa"]
    assert cli(settings, "application", "show", ref, "--as", kopi) == 2
    assert "outside the kelurahan of kopi" in capsys.readouterr().err
    assert cli(settings, "application", "set-status", ref, "diverifikasi", "--as", kopi) == 2
    assert data_rows(staffed) == before  # no status, no message to the applicant
    shown, changed = last_audit(staffed, 2)
    assert (shown.action, shown.target, shown.details["why"]) == (
        "refused.application.show",
        ref,
        "kelurahan",
    )
    assert changed.action == "refused.application.status"
    assert cli(settings, "application", "show", ref, "--as", "petugas") == 0  # the whole kecamatan


def test_kecamatan_wide_changes_only_by_kecamatan_wide_accounts(
    settings, staffed, kopi, capsys, tmp_path
) -> None:
    before = data_rows(staffed)
    for command in (
        ["application", "deadline", "beasiswa", "2099-01-31"],
        ["import-courses", str(FIXTURES / "courses.csv")],
        ["import-batches", str(FIXTURES / "batches.csv")],
        ["import-health", str(FIXTURES / "health.csv")],
        ["import-registry", str(FIXTURES / "courses.csv")],
        ["import-schedule", str(FIXTURES / "courses.csv")],
    ):
        assert cli(settings, *command, "--as", kopi) == 2, command
        assert "limited to one kelurahan" in capsys.readouterr().err
        (refused,) = last_audit(staffed)
        assert (refused.actor, refused.details["why"]) == ("kopi", "whole-kecamatan")
    assert data_rows(staffed) == before
    assert cli(settings, "application", "deadline", "beasiswa", "2099-01-31",
               "--as", "petugas") == 0  # fmt: skip
    with staffed.connect() as db:
        assert rounds.current(db=db, kind=Kind.SCHOLARSHIP) is not None


# -- what the command line trusts ---------------------------------------------------------------


def test_loading_accounts_needs_an_administrator_once_there_is_one(
    settings, staffed, tmp_path, capsys
) -> None:
    evil = tmp_path / "evil.toml"
    evil.write_text('[staff.evil]\nrole = "admin"\n', encoding="utf-8")
    before = data_rows(staffed)
    for login in ([], ["--as", "petugas"], ["--as", "ypp"], ["--as", "nobody"]):
        assert cli(settings, "load-staff", str(evil), *login) == 2, login
    assert data_rows(staffed) == before
    with staffed.connect() as db:
        assert accounts.find(db=db, login="evil") is None
        assert accounts.find(db=db, login="petugas") is not None
    assert cli(settings, "load-staff", str(evil), "--as", "admin") == 0  # the admin may
    (loaded,) = last_audit(staffed)
    assert (loaded.actor, loaded.action, loaded.target) == ("admin", "staff.load", "evil.toml")
    assert loaded.details["os_user"] == getpass.getuser()


def test_the_first_accounts_load_without_a_login_and_say_who_loaded_them(
    settings, database, capsys
) -> None:
    assert cli(settings, "load-staff") == 0
    (first,) = last_audit(database)
    assert (first.actor, first.action) == ("(first setup)", "staff.load")
    assert first.details["host"] == socket.gethostname()
    assert cli(settings, "load-staff") == 2  # now there is an administrator
    assert "--as LOGIN" in capsys.readouterr().err


def test_places_and_programs_are_loaded_by_administrators(settings, staffed, capsys) -> None:
    for command in (["load-places"], ["load-programs"]):
        assert cli(settings, *command, "--as", "petugas") == 2
        assert "is for admin accounts" in capsys.readouterr().err
        assert cli(settings, *command, "--as", "admin") == 0


def test_every_rule_is_used_and_every_role_is_known() -> None:
    roles = set(Role)
    for name, rule in gate.RULES.items():
        assert rule.roles <= roles, name
    with pytest.raises(KeyError, match="no gate rule"):
        gate.rule_of("batch.delete")


def test_a_refused_command_queues_nothing(settings, filed, staffed, kopi) -> None:
    with staffed.connect() as db:
        queued = db.execute(select(func.count()).select_from(Outbound)).scalar_one()
    assert cli(settings, "application", "set-status", filed["ypp"], "diverifikasi",
               "--as", kopi) == 2  # fmt: skip
    with staffed.connect() as db:
        assert db.execute(select(func.count()).select_from(Outbound)).scalar_one() == queued
