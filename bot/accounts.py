"""Who runs a staff command: every command that reads residents' data or changes anything goes
through `staff_command`, which passes the account named by --as or STAFF_LOGIN through the one
gate (storage.gate: role, kelurahan limit, audit with the operating-system user and host), and
loading the accounts and partner organisations."""

import getpass
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from bot.app import open_database
from bot.files import readable
from bot.settings import Settings
from storage import audit, gate
from storage import staff as accounts
from storage.gate import Origin, Pass, Refused
from storage.staff import StaffFileProblem
from storage.types import utcnow


class CommandRefused(Exception):
    """A command the gate refused; the reason is printed and recorded already."""


def command_origin() -> Origin:
    """Return who runs this command on which machine, as far as the system says."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container without /etc/passwd)
        user = "?"
    return Origin("command line", os_user=user[:64], host=socket.gethostname()[:128])


@dataclass
class Admitted:
    """A staff command let through: its connection (in one transaction), the pass, the time."""

    db: Connection
    permit: Pass
    database: Engine

    @property
    def member(self):
        return self.permit.member

    @property
    def now(self) -> datetime:
        return self.permit.now


@contextmanager
def staff_command(
    settings: Settings,
    login: str | None,
    action: str,
    *,
    target: str = "",
    details: dict | None = None,
    database: Engine | None = None,
) -> Iterator[Admitted]:
    """Open the database, let the account through the gate for the action and yield it in one
    transaction, which records the action in the audit log when it commits. A refusal, at the
    door or later (`Pass.require`), rolls the transaction back, is recorded on its own, printed,
    and raised as CommandRefused."""
    own = database is None
    database = database or open_database(settings)
    origin, now = command_origin(), utcnow()
    try:
        with database.connect() as db:
            try:
                with db.begin():
                    permit = gate.admit(
                        db,
                        login=login,
                        action=action,
                        origin=origin,
                        now=now,
                        target=target,
                        details=details,
                    )
                    yield Admitted(db, permit, database)
                    permit.finish(db)
            except Refused as refusal:
                with db.begin():
                    gate.record_refusal(db, refusal, origin, now)
                print(refusal.reason, file=sys.stderr)
                raise CommandRefused(refusal.reason) from None
    finally:
        if own:
            database.dispose()


def admitted(settings: Settings, database: Engine, login: str | None, action: str, **audit):
    """Let an account through for a command that runs its own transactions (the imports):
    the admission is recorded at once. Raise CommandRefused when refused."""
    with staff_command(settings, login, action, database=database, **audit) as admission:
        return admission.permit


def load_staff(settings: Settings, path: Path, login: str | None) -> int:
    """Load or update the partner organisations and the staff accounts from a TOML file, as
    an administrator of the whole kecamatan; the very first accounts, while no administrator
    exists, by whoever runs it (recorded with their operating-system user and host)."""
    if not readable(path):
        return 2
    database = open_database(settings)
    try:
        with database.begin() as db:
            setting_up = gate.first_setup(db)
        if setting_up and not (login or "").strip():
            return _first_accounts(database, path)
        with staff_command(
            settings, login, "staff.load", target=path.name, database=database
        ) as admission:
            partner_count, account_count = accounts.load(
                db=admission.db, source=path, now=admission.now
            )
            admission.permit.record(
                admission.db, details={"partners": partner_count, "accounts": account_count}
            )
    except StaffFileProblem as problem:  # nothing of the file is kept
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    _loaded(path, partner_count, account_count)
    return 0


def _first_accounts(database: Engine, path: Path) -> int:
    """Load the first accounts into a database without an administrator."""
    origin, now = command_origin(), utcnow()
    try:
        with database.begin() as db:
            partner_count, account_count = accounts.load(db=db, source=path, now=now)
            audit.record(
                db=db,
                actor="(first setup)",
                role="",
                action="staff.load",
                target=path.name,
                details={
                    "partners": partner_count,
                    "accounts": account_count,
                    **origin.details(),
                },
                at=now,
            )
    except StaffFileProblem as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    _loaded(path, partner_count, account_count)
    return 0


def _loaded(path: Path, partner_count: int, account_count: int) -> None:
    print(
        f"{partner_count} partners and {account_count} staff accounts loaded from {path}. "
        "Accounts not in the file are deactivated."
    )
