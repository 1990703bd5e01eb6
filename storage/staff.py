"""Staff accounts and their roles (kelurahan staff, partner organisations), kept as data.

A partner organisation (Yayasan Pemberdayaan Perempuan, …) works as staff with a narrower role:
it sees and handles only the applications routed to it. Every command checks the role anew.
"""

import tomllib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

PARTNERS_FILE = Path(__file__).parent / "data" / "partners.toml"


class Role(StrEnum):
    """What a staff account may do."""

    ADMIN = "admin"
    STAFF = "staff"  # petugas kelurahan / kecamatan: everything about services
    PARTNER = "partner"  # a partner organisation: only what is routed to it


class Partner(SQLModel, table=True):
    """An organisation that handles some applications."""

    __tablename__ = "partners"

    code: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=120)
    contact: str = Field(default="", max_length=200)  # office address or phone, shown to staff


class StaffMember(SQLModel, table=True):
    """A staff account: a login, a role and, for a partner, its organisation."""

    __tablename__ = "staff_members"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=12)
    partner_code: str | None = Field(default=None, foreign_key="partners.code", max_length=20)
    active: bool = True
    updated_at: datetime = Field(sa_type=UTCDateTime)


_PARTNERS = Partner.__table__
_STAFF = StaffMember.__table__


@dataclass(frozen=True)
class Member:
    """A staff account as commands check it."""

    login: str
    name: str
    role: Role
    partner_code: str | None

    def sees(self, partner_code: str | None) -> bool:
        """Tell whether this account may see an application routed to `partner_code`."""
        if self.role == Role.PARTNER:
            return partner_code is not None and partner_code == self.partner_code
        return True


def find(*, db: Connection, login: str) -> Member | None:
    """Return an active account by login (any case), or None."""
    row = db.execute(
        select(_STAFF.c.login, _STAFF.c.name, _STAFF.c.role, _STAFF.c.partner_code).where(
            _STAFF.c.login == login.strip().lower(), _STAFF.c.active.is_(True)
        )
    ).first()
    return Member(row.login, row.name, Role(row.role), row.partner_code) if row else None


def partners(*, db: Connection) -> dict[str, str]:
    """Return partner names by code."""
    return dict(db.execute(select(_PARTNERS.c.code, _PARTNERS.c.name)).all())


class StaffFileProblem(Exception):
    """A partners/staff file that cannot be loaded, with the reason."""


def load(*, db: Connection, source: Path = PARTNERS_FILE, now: datetime) -> tuple[int, int]:
    """Load partners and staff accounts from TOML, adding or updating; return both counts.

    Accounts in the database but not in the file are deactivated, so the file is the list.
    """
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as problem:
        raise StaffFileProblem(f"not valid TOML ({problem})") from None
    partner_rows = data.get("partners", {})
    staff_rows = data.get("staff", {})
    if not isinstance(partner_rows, dict) or not isinstance(staff_rows, dict):
        raise StaffFileProblem("[partners.CODE] and [staff.LOGIN] must be tables")
    for code, entry in [*partner_rows.items(), *staff_rows.items()]:
        if not isinstance(entry, dict):
            raise StaffFileProblem(f"{code}: the entry must be a table")
    for code, entry in partner_rows.items():
        if "name" not in entry:
            raise StaffFileProblem(f"partner {code}: an entry has no 'name'")
        values = {"name": entry["name"], "contact": entry.get("contact", "")}
        if db.execute(select(_PARTNERS.c.code).where(_PARTNERS.c.code == code)).first():
            db.execute(_PARTNERS.update().where(_PARTNERS.c.code == code).values(**values))
        else:
            db.execute(_PARTNERS.insert().values(code=code, **values))
    known = set(partners(db=db))
    for login, entry in staff_rows.items():
        try:
            role = Role(entry["role"])
        except (KeyError, ValueError):
            raise StaffFileProblem(f"{login}: role must be one of {', '.join(Role)}") from None
        partner = entry.get("partner")
        if role == Role.PARTNER and partner not in known:
            raise StaffFileProblem(f"{login}: a partner account needs a known partner code")
        values = {
            "name": entry.get("name", login),
            "role": role,
            "partner_code": partner if role == Role.PARTNER else None,
            "active": True,
            "updated_at": now,
        }
        key = login.strip().lower()
        if db.execute(select(_STAFF.c.id).where(_STAFF.c.login == key)).first():
            db.execute(_STAFF.update().where(_STAFF.c.login == key).values(**values))
        else:
            db.execute(_STAFF.insert().values(login=key, **values))
    listed = [login.strip().lower() for login in staff_rows]
    db.execute(
        _STAFF.update().where(_STAFF.c.login.not_in(listed)).values(active=False, updated_at=now)
    )
    return len(partner_rows), len(staff_rows)
