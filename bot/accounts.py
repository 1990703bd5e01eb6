"""Who runs a staff command: the account named by --as or STAFF_LOGIN, and its role, checked
every time; loading the accounts and partner organisations."""

import sys
from pathlib import Path

from sqlalchemy import Connection, Engine

from bot.app import open_database
from bot.settings import Settings
from bot.staff import readable
from storage import staff as accounts
from storage.staff import Member, Role, StaffFileProblem
from storage.types import utcnow

WHO = "Say who you are with --as LOGIN or STAFF_LOGIN; accounts are loaded with load-staff."


def account_of(
    db: Connection,
    login: str | None,
    *,
    partners: bool = False,
    evaluators: bool = False,
    admins_only: bool = False,
) -> Member | None:
    """Return the active account running a command, or None after saying why not: partners
    and evaluators only where a command lets them, admins alone where it says so."""
    if not login or not login.strip():
        print(WHO, file=sys.stderr)
        return None
    member = accounts.find(db=db, login=login)
    if member is None:
        print(f"No active staff account {login.strip()!r}. {WHO}", file=sys.stderr)
        return None
    if admins_only and member.role != Role.ADMIN:
        print(
            f"{member.login} is not an administrator; this command is for admins.", file=sys.stderr
        )
        return None
    if member.role == Role.EVALUATOR and not evaluators:
        print(
            f"{member.login} is an evaluator account; this command is for kelurahan staff.",
            file=sys.stderr,
        )
        return None
    if member.role == Role.PARTNER and not partners:
        print(
            f"{member.login} is a partner account; this command is for kelurahan staff.",
            file=sys.stderr,
        )
        return None
    return member


def staff_only(database: Engine, login: str | None) -> bool:
    """Tell whether a kelurahan staff or admin account runs the command, saying why not."""
    with database.connect() as db:
        return account_of(db, login) is not None


def load_staff(settings: Settings, path: Path) -> int:
    """Load or update the partner organisations and the staff accounts from a TOML file."""
    if not readable(path):
        return 2
    database = open_database(settings)
    try:
        with database.begin() as db:
            partner_count, account_count = accounts.load(db=db, source=path, now=utcnow())
    except StaffFileProblem as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(
        f"{partner_count} partners and {account_count} staff accounts loaded from {path}. "
        "Accounts not in the file are deactivated."
    )
    return 0
