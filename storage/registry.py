"""The beneficiary registry, the programs it names, and the audit of status checks.

The registry keeps no NIK and no name: only keyed hashes (storage/identity.py), the NIK's last
four digits for display, and where the household lives. A person's programs are a short list
that is always read whole, so it is one column ("BPNT;PKH"), checked against `programs`.
"""

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, case, func, or_, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

PROGRAMS_FILE = Path(__file__).parent / "data" / "programs.toml"
PROGRAM_SEPARATOR = ";"


class Status(StrEnum):
    """Where a beneficiary stands in the registry."""

    ACTIVE = "aktif"
    SUSPENDED = "ditangguhkan"  # on hold, e.g. until the data is verified again
    INACTIVE = "nonaktif"  # no longer receives


class Program(SQLModel, table=True):
    """A social-assistance program; amounts and texts are data because they change yearly."""

    __tablename__ = "programs"

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=100)
    amount_kind: str = Field(max_length=8)  # aid (received), price (paid), none
    period: str = Field(max_length=10)  # month, year, semester, stage, none
    amounts: list = Field(default_factory=list, sa_type=JSON)  # [{amount, label: {id, en}}]
    texts: dict = Field(default_factory=dict, sa_type=JSON)  # {language: {description, ...}}
    aliases: list = Field(default_factory=list, sa_type=JSON)
    source: str = Field(default="", max_length=300)
    as_of: str = Field(default="", max_length=16)


class Beneficiary(SQLModel, table=True):
    """A person in the registry (from DTSEN / SIKS-NG), found by the keyed hash of their NIK."""

    __tablename__ = "beneficiaries"

    id: int | None = Field(default=None, primary_key=True)
    nik_hash: str = Field(max_length=64, unique=True)
    nik_last4: str = Field(max_length=4)
    name_hash: str = Field(max_length=64)
    # no index on these two yet: every index halves the speed of a registry import
    kk_hash: str | None = Field(default=None, max_length=64)
    kelurahan_code: str = Field(foreign_key="kelurahan.code", max_length=16)
    rw: int
    rt: int
    desil: int
    programs: str = Field(default="", max_length=200)
    status: str = Field(default=Status.ACTIVE, max_length=16)
    demo: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CheckOutcome(StrEnum):
    """What a status check found; `name_mismatch` is told to the resident as `not_found`."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    NAME_MISMATCH = "name_mismatch"
    LIMITED = "limited"  # refused: too many checks in a day
    LIMITED_ALL = "limited_all"  # refused: too many checks by all residents together


# the outcomes that count against the daily limit: a refusal itself does not
COUNTED = (CheckOutcome.FOUND, CheckOutcome.NOT_FOUND, CheckOutcome.NAME_MISMATCH)


class StatusCheck(SQLModel, table=True):
    """One status check: who asked, when, and what came of it. Never the NIK."""

    __tablename__ = "status_checks"

    id: int | None = Field(default=None, primary_key=True)
    # kept after erasure (without the person) so the figures stay whole
    resident_id: int | None = Field(
        default=None, foreign_key="residents.id", index=True, ondelete="SET NULL"
    )
    channel: str = Field(max_length=16)
    # keyed hash of the chat identity: survives erasure, so erasing and starting again does not
    # reset the daily limit; housekeeping forgets it once the day is over
    actor_hash: str | None = Field(default=None, max_length=64, index=True)
    checked_at: datetime = Field(sa_type=UTCDateTime, index=True)
    outcome: str = Field(max_length=16)


@dataclass(frozen=True)
class Entry:
    """What the registry says of one person, as the status check shows it."""

    name_hash: str
    nik_last4: str
    kelurahan_code: str
    rw: int
    rt: int
    desil: int
    programs: tuple[str, ...]
    status: Status


@dataclass(frozen=True)
class ProgramInfo:
    """A program as the conversations show it."""

    code: str
    name: str
    amount_kind: str
    period: str
    amounts: tuple[dict, ...]
    texts: dict[str, dict[str, str]]

    def text(self, field: str, language: str) -> str:
        """Return one of the program's texts in a language, Indonesian when missing."""
        return self.texts.get(language, {}).get(field) or self.texts.get("id", {}).get(field, "")


_BENEFICIARIES = Beneficiary.__table__
_PROGRAMS = Program.__table__
_CHECKS = StatusCheck.__table__
_FIND = select(
    _BENEFICIARIES.c.name_hash,
    _BENEFICIARIES.c.nik_last4,
    _BENEFICIARIES.c.kelurahan_code,
    _BENEFICIARIES.c.rw,
    _BENEFICIARIES.c.rt,
    _BENEFICIARIES.c.desil,
    _BENEFICIARIES.c.programs,
    _BENEFICIARIES.c.status,
).where(_BENEFICIARIES.c.nik_hash == bindparam("b_nik_hash"))
_RECENT_CHECKS = (
    select(_CHECKS.c.checked_at)
    .where(
        or_(
            _CHECKS.c.resident_id == bindparam("b_resident_id"),
            _CHECKS.c.actor_hash == bindparam("b_actor_hash"),
        ),
        _CHECKS.c.checked_at > bindparam("b_since"),
        _CHECKS.c.outcome.in_([str(outcome) for outcome in COUNTED]),
    )
    .order_by(_CHECKS.c.checked_at)
)
_PROGRAM_COLUMNS = (
    _PROGRAMS.c.code,
    _PROGRAMS.c.name,
    _PROGRAMS.c.amount_kind,
    _PROGRAMS.c.period,
    _PROGRAMS.c.amounts,
    _PROGRAMS.c.texts,
)


def find(*, db: Connection, nik_hash: str) -> Entry | None:
    """Return the registry entry of a NIK's hash, or None."""
    row = db.execute(_FIND, {"b_nik_hash": nik_hash}).first()
    if row is None:
        return None
    codes = tuple(code for code in row.programs.split(PROGRAM_SEPARATOR) if code)
    return Entry(
        row.name_hash,
        row.nik_last4,
        row.kelurahan_code,
        row.rw,
        row.rt,
        row.desil,
        codes,
        Status(row.status),
    )


def programs(*, db: Connection, codes: tuple[str, ...] | None = None) -> list[ProgramInfo]:
    """Return programs by code in the given order (all of them, by code, when none given)."""
    query = select(*_PROGRAM_COLUMNS).order_by(_PROGRAMS.c.code)
    if codes is not None:
        query = query.where(_PROGRAMS.c.code.in_(codes))
    found = {
        row.code: ProgramInfo(
            row.code, row.name, row.amount_kind, row.period, tuple(row.amounts), row.texts
        )
        for row in db.execute(query)
    }
    order = codes if codes is not None else sorted(found)
    return [found[code] for code in order if code in found]


def program_codes(*, db: Connection) -> dict[str, str]:
    """Return every way a program may be written in a file (code or alias) → its code."""
    known: dict[str, str] = {}
    for code, aliases in db.execute(select(_PROGRAMS.c.code, _PROGRAMS.c.aliases)):
        known[code] = code
        for alias in aliases or ():
            known.setdefault(alias.upper(), code)
    return known


def resolve_program(known: dict[str, str], text: str) -> str | None:
    """Return the code of a program as a file writes it: 'PKH', 'kjp-plus', 'Program Sembako'."""
    token = re.sub(r"[^0-9A-Z]+", "_", text.strip().upper()).strip("_")
    return known.get(token) or known.get(token.replace("_", " "))


def load_programs(*, db: Connection, source: Path = PROGRAMS_FILE) -> int:
    """Load or update the programs from a TOML file; return how many it holds."""
    entries: list[dict[str, Any]] = tomllib.loads(source.read_text(encoding="utf-8"))["program"]
    existing = set(db.execute(select(_PROGRAMS.c.code)).scalars())
    for entry in entries:
        values = {
            "code": entry["code"],
            "name": entry["name"],
            "amount_kind": entry["amount_kind"],
            "period": entry["period"],
            "amounts": entry.get("amounts", []),
            "texts": {language: entry[language] for language in ("id", "en") if language in entry},
            "aliases": [alias.upper() for alias in entry.get("aliases", [])],
            "source": entry.get("source", ""),
            "as_of": str(entry.get("as_of", "")),
        }
        if values["code"] in existing:
            db.execute(_PROGRAMS.update().where(_PROGRAMS.c.code == values["code"]), values)
        else:
            db.execute(_PROGRAMS.insert(), values)
    return len(entries)


def recent_checks(
    *, db: Connection, resident_id: int, actor_hash: str, since: datetime
) -> list[datetime]:
    """Return when the resident's (or their chat identity's) counted checks after `since`
    happened, oldest first."""
    params = {"b_resident_id": resident_id, "b_actor_hash": actor_hash, "b_since": since}
    return list(db.execute(_RECENT_CHECKS, params).scalars())


_SINCE_HOUR, _SINCE_DAY = bindparam("b_since_hour"), bindparam("b_since_day")
_COUNTED = [str(outcome) for outcome in COUNTED]
_COUNT_CHECKS = select(
    func.count(case((_CHECKS.c.checked_at > _SINCE_HOUR, 1))),
    func.count(),
).where(_CHECKS.c.checked_at > _SINCE_DAY, _CHECKS.c.outcome.in_(_COUNTED))


def count_checks(*, db: Connection, hour_since: datetime, day_since: datetime) -> tuple[int, int]:
    """Return how many counted checks all residents made after `hour_since` and after
    `day_since`, in one range scan of the day's window (the index on `checked_at`)."""
    params = {"b_since_hour": hour_since, "b_since_day": day_since}
    hour, day = db.execute(_COUNT_CHECKS, params).one()
    return hour, day


def next_check_at(
    *,
    db: Connection,
    resident_id: int,
    actor_hash: str,
    now: datetime,
    limit: int,
    window: timedelta,
) -> datetime | None:
    """Return when the resident may check again, or None when they may check now."""
    recent = recent_checks(
        db=db, resident_id=resident_id, actor_hash=actor_hash, since=now - window
    )
    if len(recent) < limit:
        return None
    return recent[-limit] + window  # when the oldest of the last `limit` checks leaves the window


def record_check(
    *,
    db: Connection,
    resident_id: int,
    channel: str,
    actor_hash: str,
    outcome: CheckOutcome,
    now: datetime,
) -> None:
    """Write one status check to the audit."""
    values = {
        "resident_id": resident_id,
        "channel": channel,
        "actor_hash": actor_hash,
        "checked_at": now,
        "outcome": outcome,
    }
    db.execute(_CHECKS.insert(), values)


def prune_checks(*, db: Connection, older_than: datetime, actors_before: datetime) -> int:
    """Delete audit rows older than the retention, and forget who made checks once they no
    longer count against a limit; return how many rows were deleted."""
    db.execute(
        _CHECKS.update()
        .where(_CHECKS.c.checked_at < actors_before, _CHECKS.c.actor_hash.is_not(None))
        .values(actor_hash=None)
    )
    return db.execute(_CHECKS.delete().where(_CHECKS.c.checked_at < older_than)).rowcount


def count_beneficiaries(*, db: Connection) -> int:
    """Return how many people the registry holds."""
    return db.execute(select(func.count()).select_from(_BENEFICIARIES)).scalar_one()
