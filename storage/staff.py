"""Staff accounts and their roles (admins, kelurahan staff, evaluators, partner organisations),
by login on the command line and by chat account (a Telegram id, a WhatsApp number) in chat.

A partner organisation (Yayasan Pemberdayaan Perempuan, …) works as staff with a narrower role:
it sees and handles only the applications routed to it. Staff may be limited to one kelurahan.
Every command and every staff step in chat checks the role anew.
"""

import secrets
import tomllib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, UniqueConstraint, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

PARTNERS_FILE = Path(__file__).parent / "data" / "partners.toml"


class Role(StrEnum):
    """What a staff account may do."""

    ADMIN = "admin"
    STAFF = "staff"  # petugas kelurahan / kecamatan: everything about services
    EVALUATOR = "evaluator"  # collects feedback and survey answers, takes figures away
    PARTNER = "partner"  # a partner organisation: only what is routed to it


BROADCASTERS = frozenset({Role.ADMIN, Role.STAFF})  # who may send announcements


class Partner(SQLModel, table=True):
    """An organisation that handles some applications."""

    __tablename__ = "partners"

    code: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=120)
    contact: str = Field(default="", max_length=200)  # office address or phone, shown to staff


class StaffMember(SQLModel, table=True):
    """A staff account: a login, a role and, for a partner, its organisation."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=12)
    partner_code: str | None = Field(default=None, foreign_key="partners.code", max_length=20)
    # limited to one kelurahan (None: the whole kecamatan)
    kelurahan_code: str | None = Field(default=None, foreign_key="kelurahan.code", max_length=16)
    # the chat account they work from (telegram + user id, whatsapp + number), if any
    channel: str | None = Field(default=None, max_length=16)
    external_id: str | None = Field(default=None, max_length=64)
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
    kelurahan_code: str | None = None

    @property
    def broadcasts(self) -> bool:
        """Tell whether this account may send announcements."""
        return self.role in BROADCASTERS

    def reaches(self, kelurahan_limit: str | None) -> bool:
        """Tell whether something sent for a kelurahan (None: the whole kecamatan), such as a
        broadcast or a survey, is within this account's own limit."""
        return self.kelurahan_code is None or kelurahan_limit == self.kelurahan_code

    def sees(self, partner_code: str | None) -> bool:
        """Tell whether this account may see an application routed to `partner_code`."""
        if self.role == Role.PARTNER:
            return partner_code is not None and partner_code == self.partner_code
        return True


_MEMBER = select(
    _STAFF.c.login, _STAFF.c.name, _STAFF.c.role, _STAFF.c.partner_code, _STAFF.c.kelurahan_code
)


def _member(row) -> Member | None:
    if row is None:
        return None
    return Member(row.login, row.name, Role(row.role), row.partner_code, row.kelurahan_code)


def find(*, db: Connection, login: str) -> Member | None:
    """Return an active account by login (any case), or None."""
    return _member(
        db.execute(
            _MEMBER.where(_STAFF.c.login == login.strip().lower(), _STAFF.c.active.is_(True))
        ).first()
    )


def of_chat(*, db: Connection, channel: str, external_id: str) -> Member | None:
    """Return the active account of a chat identity, or None (a resident)."""
    return _member(
        db.execute(
            _MEMBER.where(
                _STAFF.c.channel == channel,
                _STAFF.c.external_id == external_id,
                _STAFF.c.active.is_(True),
            )
        ).first()
    )


def chat_of(*, db: Connection, login: str) -> tuple[str, str] | None:
    """Return the chat identity (channel, id) an account works from, if it has one."""
    row = db.execute(
        select(_STAFF.c.channel, _STAFF.c.external_id).where(
            _STAFF.c.login == login.strip().lower()
        )
    ).first()
    return (row.channel, row.external_id) if row and row.channel else None


class StaffProblem(Exception):
    """A staff change that cannot be made, with the reason."""


def add(
    *,
    db: Connection,
    login: str,
    name: str,
    role: Role,
    now: datetime,
    channel: str | None = None,
    external_id: str | None = None,
    kelurahan_code: str | None = None,
    partner_code: str | None = None,
    whole_kecamatan: bool = False,
) -> bool:
    """Add an account, or change it and make it active again: the role, and the name, chat
    and kelurahan when given (`whole_kecamatan` lifts a kelurahan limit). Return whether it
    is new."""
    key = login.strip().lower()
    if role == Role.PARTNER and partner_code not in partners(db=db):
        raise StaffProblem("a partner account needs a known partner code")
    if channel and external_id:
        other = db.execute(
            select(_STAFF.c.login).where(
                _STAFF.c.channel == channel,
                _STAFF.c.external_id == external_id,
                _STAFF.c.login != key,
            )
        ).first()
        if other is not None:
            raise StaffProblem(f"that chat account belongs to {other.login}")
    values = {
        "role": role,
        "partner_code": partner_code if role == Role.PARTNER else None,
        "active": True,
        "updated_at": now,
    }
    if name:
        values["name"] = name
    if kelurahan_code or whole_kecamatan:
        values["kelurahan_code"] = kelurahan_code
    if channel and external_id:
        values |= {"channel": channel, "external_id": external_id}
    if db.execute(select(_STAFF.c.id).where(_STAFF.c.login == key)).first():
        db.execute(_STAFF.update().where(_STAFF.c.login == key).values(**values))
        return False
    db.execute(_STAFF.insert().values(login=key, **({"name": key} | values)))
    return True


def login_of_chat(*, db: Connection, channel: str, external_id: str) -> str | None:
    """Return the login of the account (active or not) of a chat identity."""
    return db.execute(
        select(_STAFF.c.login).where(
            _STAFF.c.channel == channel, _STAFF.c.external_id == external_id
        )
    ).scalar()


def new_login(*, db: Connection, channel: str, external_id: str) -> str:
    """Make a login for a chat account: its platform and a short random part (never the phone
    number, which would then stand in the audit log)."""
    while True:
        login = f"{channel[:2]}-{secrets.token_hex(3)}"
        if not db.execute(select(_STAFF.c.id).where(_STAFF.c.login == login)).first():
            return login


def remove(*, db: Connection, login: str, now: datetime) -> bool:
    """Deactivate an account (its history stays); return whether there was an active one."""
    done = db.execute(
        _STAFF.update()
        .where(_STAFF.c.login == login.strip().lower(), _STAFF.c.active.is_(True))
        .values(active=False, updated_at=now)
    )
    return done.rowcount == 1


@dataclass(frozen=True)
class Listed:
    """An account as `staff list` shows it."""

    login: str
    name: str
    role: str
    kelurahan_code: str | None
    partner_code: str | None
    channel: str | None
    external_id: str | None
    active: bool


def listing(*, db: Connection) -> list[Listed]:
    """Return every account, active first, by login."""
    rows = db.execute(
        select(
            _STAFF.c.login,
            _STAFF.c.name,
            _STAFF.c.role,
            _STAFF.c.kelurahan_code,
            _STAFF.c.partner_code,
            _STAFF.c.channel,
            _STAFF.c.external_id,
            _STAFF.c.active,
        ).order_by(_STAFF.c.active.desc(), _STAFF.c.login)
    ).all()
    return [Listed(*row) for row in rows]


def ensure_admins(
    *, db: Connection, telegram_ids: list[int], whatsapp_numbers: list[str], now: datetime
) -> int:
    """Make the first administrators from the settings: an account per chat identity not yet
    an active account's (an existing one keeps its role). Return how many were added."""
    added = 0
    wanted = [("telegram", str(user)) for user in telegram_ids]
    wanted += [("whatsapp", whatsapp_id(number)) for number in whatsapp_numbers]
    for channel, external_id in wanted:
        if not external_id:
            continue
        known = db.execute(
            select(_STAFF.c.id).where(
                _STAFF.c.channel == channel, _STAFF.c.external_id == external_id
            )
        ).first()
        if known is None:
            login = "admin-" + new_login(db=db, channel=channel, external_id=external_id)
            add(
                db=db,
                login=login,
                name="Administrator",
                role=Role.ADMIN,
                now=now,
                channel=channel,
                external_id=external_id,
            )
            added += 1
    return added


def whatsapp_id(number: str) -> str:
    """Return a phone number as WhatsApp's id of it: digits with the country code
    ('0812-3456-7890' and '+62 812 3456 7890' are both 6281234567890)."""
    digits = "".join(character for character in number if character in "0123456789")
    return "62" + digits[1:] if digits.startswith("0") else digits


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
    # the file is the list of login accounts; those added for a chat (`staff add`) stay
    db.execute(
        _STAFF.update()
        .where(_STAFF.c.login.not_in(listed), _STAFF.c.channel.is_(None))
        .values(active=False, updated_at=now)
    )
    return len(partner_rows), len(staff_rows)


def admin_chats(*, db: Connection) -> list[int]:
    """Return the resident records of the active admin accounts that have a chat which has
    written to the bot (a staff chat is also a resident record once it has), for alerts."""
    # imported here: residents is the larger module and does not need staff
    from storage.residents import ChannelIdentity

    found = []
    for account in listing(db=db):
        if not (account.active and account.role == Role.ADMIN):
            continue
        if not (account.channel and account.external_id):
            continue
        resident_id = db.execute(
            select(ChannelIdentity.resident_id).where(
                ChannelIdentity.channel == account.channel,
                ChannelIdentity.external_id == account.external_id,
            )
        ).scalar()
        if resident_id is not None:
            found.append(resident_id)
    return found
