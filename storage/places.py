"""Kelurahan of Duren Sawit and their RWs (rukun warga)."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, bindparam, select
from sqlmodel import Field, SQLModel


class Kelurahan(SQLModel, table=True):
    """An urban village; the code is Kemendagri's, e.g. 31.75.07.1003."""

    __tablename__ = "kelurahan"

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(unique=True, max_length=64)
    postcode: str | None = Field(default=None, max_length=5)
    demo: bool = False


class RukunWarga(SQLModel, table=True):
    """A neighbourhood unit (RW) of a kelurahan."""

    __tablename__ = "rukun_warga"

    kelurahan_code: str = Field(foreign_key="kelurahan.code", primary_key=True, max_length=16)
    number: int = Field(primary_key=True)
    demo: bool = False


@dataclass(frozen=True)
class Place:
    """A kelurahan as the conversations show it."""

    code: str
    name: str


_KELURAHAN = Kelurahan.__table__
_RW = RukunWarga.__table__
_ALL = select(_KELURAHAN.c.code, _KELURAHAN.c.name).order_by(_KELURAHAN.c.code)
_ONE = select(_KELURAHAN.c.code, _KELURAHAN.c.name).where(_KELURAHAN.c.code == bindparam("code"))
_RW_NUMBERS = (
    select(_RW.c.number).where(_RW.c.kelurahan_code == bindparam("code")).order_by(_RW.c.number)
)


def list_kelurahan(*, db: Connection) -> list[Place]:
    """Return every kelurahan, ordered by code."""
    return [Place(*row) for row in db.execute(_ALL)]


def get_kelurahan(*, db: Connection, code: str | None) -> Place | None:
    """Return one kelurahan by code."""
    row = db.execute(_ONE, {"code": code}).first()
    return None if row is None else Place(*row)


def rw_numbers(*, db: Connection, kelurahan_code: str) -> list[int]:
    """Return the RW numbers of a kelurahan, ascending."""
    return list(db.execute(_RW_NUMBERS, {"code": kelurahan_code}).scalars())


_NOT_WORD = re.compile(r"[^0-9a-z]+")


class KelurahanFinder:
    """Finds kelurahan codes by how files write them: 'Klender', 'Kel. Klender', 'Kelurahan
    Klender', '31.75.07.1003' or '3175071003'. Plain data, so it can go to another process."""

    def __init__(self, names: list[tuple[str, str]]):
        self.spellings: dict[str, str] = {}
        for code, name in names:
            for spelling in (code, name):
                self.spellings[_NOT_WORD.sub("", spelling.lower())] = code

    def __call__(self, text: str) -> str | None:
        key = _NOT_WORD.sub("", text.lower())
        for prefix in ("", "kelurahan", "kel"):
            if not key.startswith(prefix):
                continue
            rest = key.removeprefix(prefix)
            # "Pd. Kopi", "Pdk Kelapa": Pondok, as Jakarta often writes it
            shorts = [short for short in ("pdk", "pd") if rest.startswith(short)]
            for variant in (rest, *("pondok" + rest.removeprefix(short) for short in shorts)):
                if variant in self.spellings:
                    return self.spellings[variant]
        return None


def kelurahan_finder(*, db: Connection) -> KelurahanFinder:
    """Return a finder of the kelurahan in the database."""
    return KelurahanFinder(list(db.execute(select(_KELURAHAN.c.code, _KELURAHAN.c.name))))


def load_places(*, db: Connection, source: Path) -> tuple[int, int]:
    """Load or update the kelurahan and their RWs from a TOML file ([[kelurahan]] with code,
    name, postcode, rw_count; `demo = true` at the top marks them demo); return the counts.
    RWs are only added: one that has gone stays, since residents may still name it."""
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    demo = bool(data.get("demo", False))
    known = {code for (code,) in db.execute(select(_KELURAHAN.c.code))}
    rw_total = 0
    for place in data["kelurahan"]:
        values = {"name": place["name"], "postcode": place.get("postcode"), "demo": demo}
        if place["code"] in known:
            db.execute(_KELURAHAN.update().where(_KELURAHAN.c.code == place["code"]), values)
        else:
            db.execute(_KELURAHAN.insert(), {"code": place["code"], **values})
        have = set(rw_numbers(db=db, kelurahan_code=place["code"]))
        wanted = range(1, place["rw_count"] + 1)
        new = [{"kelurahan_code": place["code"], "number": n, "demo": demo} for n in wanted]
        new = [row for row in new if row["number"] not in have]
        if new:
            db.execute(_RW.insert(), new)
        rw_total += place["rw_count"]
    return len(data["kelurahan"]), rw_total
