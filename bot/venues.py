"""Pickup venues and the kelurahan they serve, as the distribution planner reads them."""

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from storage.demo import VENUES, WILAYAH

__all__ = ["VENUES", "WILAYAH", "Area", "Venue", "format_rw", "load_venues", "load_wilayah"]

_KEY = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)*")
_RANGE = re.compile(r"(\d+)-(\d+)")
_LIST = re.compile(r"\d+(;\d+)*")


@dataclass(frozen=True)
class Area:
    """A kelurahan and how many RWs it has."""

    code: str
    name: str
    rw_count: int


@dataclass(frozen=True)
class Venue:
    """A pickup place and the RWs it serves (empty: every RW of its kelurahan)."""

    kelurahan: str
    key: str
    name: str
    address: str
    latitude: float
    longitude: float
    rw: tuple[int, ...]


def load_wilayah(file: Path = WILAYAH) -> list[Area]:
    """Read the kelurahan and their RW counts, ordered by code."""
    entries = tomllib.loads(file.read_text(encoding="utf-8"))["kelurahan"]
    areas = [Area(e["code"], e["name"], int(e["rw_count"])) for e in entries]
    return sorted(areas, key=lambda area: area.code)


def parse_rw(text: str) -> tuple[int, ...]:
    """Turn "1-8", "1;2;3" or "" (every RW) into RW numbers."""
    text = text.strip()
    if not text:
        return ()
    if match := _RANGE.fullmatch(text):
        first, last = int(match[1]), int(match[2])
        if first <= last:
            return tuple(range(first, last + 1))
    elif _LIST.fullmatch(text):
        return tuple(sorted({int(number) for number in text.split(";")}))
    raise ValueError(f"RWs {text!r}: write a range like 1-8, a list like 1;2;3, or nothing")


def format_rw(numbers: tuple[int, ...]) -> str:
    """Write RW numbers the way the schedule CSV expects: a range when they follow on."""
    if len(numbers) > 1 and numbers == tuple(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ";".join(str(number) for number in numbers)


def load_venues(file: Path = VENUES, *, areas: list[Area]) -> list[Venue]:
    """Read the venues and check that each kelurahan's venues cover each RW exactly once."""
    entries = tomllib.loads(file.read_text(encoding="utf-8")).get("venue", [])
    venues = [
        Venue(
            kelurahan=e["kelurahan"],
            key=e["key"],
            name=e["name"],
            address=e["address"],
            latitude=float(e["latitude"]),
            longitude=float(e["longitude"]),
            rw=parse_rw(e.get("rw", "")),
        )
        for e in entries
    ]
    _check_venues(venues, areas, file)
    return venues


def _check_venues(venues: list[Venue], areas: list[Area], file: Path) -> None:
    """Refuse venues that would make refs clash or leave an RW out or served twice."""
    known = {area.code for area in areas}
    keys = Counter(venue.key for venue in venues)
    for venue in venues:
        if venue.kelurahan not in known:
            raise ValueError(
                f"{file.name}: venue {venue.key}: unknown kelurahan {venue.kelurahan}"
            )
        if not _KEY.fullmatch(venue.key):
            raise ValueError(f"{file.name}: venue key {venue.key!r}: use A-Z, 0-9 and hyphens")
        if keys[venue.key] > 1:
            raise ValueError(f"{file.name}: venue key {venue.key} is used more than once")
    for area in areas:
        mine = [venue for venue in venues if venue.kelurahan == area.code]
        if not mine:
            raise ValueError(f"{file.name}: kelurahan {area.name} has no venue")
        if any(not venue.rw for venue in mine):
            if len(mine) == 1:
                continue  # the only venue serves every RW
            raise ValueError(f"{file.name}: {area.name} has several venues, so each needs its rw")
        served = Counter(number for venue in mine for number in venue.rw)
        wanted = set(range(1, area.rw_count + 1))
        missing = sorted(wanted - served.keys())
        extra = sorted(served.keys() - wanted)
        twice = sorted(number for number, count in served.items() if count > 1)
        if missing or extra or twice:
            raise ValueError(
                f"{file.name}: the venues of {area.name} must serve RW 1-{area.rw_count} once "
                f"each (missing {missing}, unknown {extra}, more than once {twice})"
            )
