"""Demo data for Duren Sawit, clearly marked as such (`demo = True` on every row)."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from storage.places import Kelurahan, RukunWarga

WILAYAH = Path(__file__).with_name("wilayah.toml")


@dataclass(frozen=True)
class Seeded:
    """What seeding added."""

    kelurahan: int
    rukun_warga: int


def seed_demo(*, db: Connection, source: Path = WILAYAH) -> Seeded:
    """Add the seven kelurahan and their demo RWs to an empty database."""
    places = tomllib.loads(source.read_text(encoding="utf-8"))["kelurahan"]
    rw_total = 0
    for place in places:
        db.execute(
            Kelurahan.__table__.insert(),
            {
                "code": place["code"],
                "name": place["name"],
                "postcode": place.get("postcode"),
                "demo": True,
            },
        )
        numbers = range(1, place["rw_count"] + 1)
        db.execute(
            RukunWarga.__table__.insert(),
            [{"kelurahan_code": place["code"], "number": n, "demo": True} for n in numbers],
        )
        rw_total += place["rw_count"]
    return Seeded(kelurahan=len(places), rukun_warga=rw_total)
