"""Draft a year's sembako distribution rounds as a CSV for `python -m bot import-schedule`.

Routine rounds come every few months, one row per venue, each kelurahan on its own Saturday
and time window. An extra "paket Ramadan" round comes on the weekend 7-14 days before
1 Ramadan, computed with hijridate (Umm al-Qura); the government's sidang isbat may set
1 Ramadan a day apart, which still leaves the round a week or more ahead.

Public holidays (and cuti bersama) are not taken into account: they are set by SKB each year
and not computable here. Staff check them, and fill in the quotas, before importing; `notes()`
says so along with the rest of what staff should know about a draft.
"""

import csv
import tomllib
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from babel.dates import format_date
from hijridate import Hijri

from bot.venues import VENUES, WILAYAH, Area, format_rw, load_venues, load_wilayah
from storage.schedule_import import WRITTEN

COLUMNS = WRITTEN  # the schedule import's columns, in its order


SATURDAY = 5
RAMADAN = 9  # the ninth Hijri month
ROUTINE_SATURDAYS = 4  # every month has at least four
ROUTINE_WINDOWS = ((time(8), time(11)), (time(13), time(16)))
# seven kelurahan need seven slots on one weekend: four shorter windows on Saturday, then Sunday
RAMADAN_WINDOWS = (
    (time(8), time(10)),
    (time(10, 30), time(12, 30)),
    (time(13), time(15)),
    (time(15, 30), time(17, 30)),
)
RAMADAN_DAYS = (SATURDAY, SATURDAY + 1)
RAMADAN_LEAD = (7, 14)  # days before 1 Ramadan, inclusive
# a routine round this close to the Ramadan round would make two rounds in a row: drop it
ROUTINE_GAP = 10

# Draft texts: staff adjust the package to what the supplier delivers before importing.
ITEMS = (
    "Beras 10 kg, minyak goreng 2 liter, gula pasir 1 kg, telur ayam 1 kg, "
    "mi instan 5 bungkus, garam beryodium 250 gram"
)
ITEMS_EN = (
    "Rice 10 kg, cooking oil 2 litres, granulated sugar 1 kg, chicken eggs 1 kg, "
    "instant noodles 5 packs, iodised salt 250 g"
)
RAMADAN_ITEMS = (
    "Paket Ramadan: beras 10 kg, minyak goreng 2 liter, gula pasir 1 kg, telur ayam 1 kg, "
    "kurma 500 gram, sirup 1 botol, teh celup 1 kotak, susu kental manis 1 kaleng"
)
RAMADAN_ITEMS_EN = (
    "Ramadan package: rice 10 kg, cooking oil 2 litres, granulated sugar 1 kg, "
    "chicken eggs 1 kg, dates 500 g, syrup 1 bottle, tea bags 1 box, "
    "sweetened condensed milk 1 can"
)
BRING = "KTP asli, Kartu Keluarga, dan KKS (Kartu Keluarga Sejahtera)"
BRING_EN = (
    "Original KTP (identity card), Kartu Keluarga (family card) "
    "and KKS (Kartu Keluarga Sejahtera, the family welfare card)"
)


class Kind(StrEnum):
    """Why a round is held."""

    ROUTINE = "routine"
    RAMADAN = "ramadan"


@dataclass(frozen=True)
class Ramadan:
    """The start of one Ramadan and the Saturday of the extra round before it."""

    hijri_year: int
    first_day: date
    saturday: date


@dataclass(frozen=True)
class PlannedRound:
    """One row of the schedule CSV: a venue's part of a kelurahan's distribution round."""

    ref: str
    program: str
    kelurahan: str
    rw: str
    date: date
    start: time
    end: time
    place: str
    address: str
    latitude: float
    longitude: float
    items: str
    bring: str
    quota: int | None
    items_en: str
    bring_en: str
    kind: Kind
    kelurahan_code: str

    def row(self) -> list[str]:
        """Return the CSV fields, in the order of COLUMNS."""
        return [
            self.ref,
            self.program,
            self.kelurahan,
            self.rw,
            self.date.isoformat(),
            f"{self.start:%H:%M}",
            f"{self.end:%H:%M}",
            self.place,
            self.address,
            f"{self.latitude:.6f}",
            f"{self.longitude:.6f}",
            self.items,
            self.bring,
            "" if self.quota is None else str(self.quota),
            self.items_en,
            self.bring_en,
        ]


@dataclass(frozen=True)
class _Round:
    """A kelurahan's round, before it is split into one row per venue."""

    kind: Kind
    area: Area
    day: date
    window: tuple[time, time]
    label: str  # the middle of the ref: "03" or "RMD1448"


@dataclass(frozen=True)
class _Plan:
    """Rounds kept, routine rounds dropped for Ramadan, and the Ramadans near the year."""

    rounds: list[_Round]
    dropped: list[tuple[_Round, _Round]]
    ramadans: list[Ramadan]


def ramadans_near(year: int) -> list[Ramadan]:
    """Return every Ramadan starting between the year before and the year after, in order."""
    # the Hijri year runs about 11 days short, so 33 Hijri years pass in 32 Gregorian ones
    guess = round((year - 622) * 33 / 32)
    found = []
    for hijri_year in range(guess - 3, guess + 4):
        try:
            first_day = Hijri(hijri_year, RAMADAN, 1).to_gregorian()
        except OverflowError:
            continue  # outside hijridate's tables; checked by _check_year
        if year - 1 <= first_day.year <= year + 1:
            # the one Saturday that leaves its Sunday 7 or more days ahead of 1 Ramadan
            latest = first_day - timedelta(days=RAMADAN_LEAD[0] + 1)
            saturday = latest - timedelta(days=(latest.weekday() - SATURDAY) % 7)
            found.append(Ramadan(hijri_year, first_day, saturday))
    return found


def _check_year(year: int) -> None:
    """Refuse years whose neighbouring Ramadans lie outside hijridate's tables (1343-1500 H)."""
    first = Hijri(1343, RAMADAN, 1).to_gregorian().year + 1
    last = Hijri(1500, RAMADAN, 1).to_gregorian().year - 1
    if not first <= year <= last:
        raise ValueError(f"year {year}: plans can be drafted for {first}-{last} only")


def nth_saturday(year: int, month: int, n: int) -> date:
    """Return the n-th Saturday (1-based) of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(SATURDAY - first.weekday()) % 7 + 7 * (n - 1))


def _plan(year: int, areas: list[Area], every_months: int) -> _Plan:
    """Place the routine and Ramadan rounds of each kelurahan and drop routine ones too close."""
    _check_year(year)
    if not 1 <= every_months <= 12:
        raise ValueError(f"every_months {every_months}: use 1 to 12")
    slots = ROUTINE_SATURDAYS * len(ROUTINE_WINDOWS)
    if len(areas) > min(slots, len(RAMADAN_DAYS) * len(RAMADAN_WINDOWS)):
        raise ValueError(f"{len(areas)} kelurahan do not fit in {slots} time slots")
    ramadans = ramadans_near(year)
    ramadan_rounds = [
        _Round(
            kind=Kind.RAMADAN,
            area=area,
            day=ramadan.saturday + timedelta(days=index // len(RAMADAN_WINDOWS)),
            window=RAMADAN_WINDOWS[index % len(RAMADAN_WINDOWS)],
            label=f"RMD{ramadan.hijri_year}",
        )
        for ramadan in ramadans
        for index, area in enumerate(areas)
    ]
    rounds = [r for r in ramadan_rounds if r.day.year == year]
    dropped = []
    for month in range(1, 13, every_months):
        for index, area in enumerate(areas):
            routine = _Round(
                kind=Kind.ROUTINE,
                area=area,
                day=nth_saturday(year, month, index % ROUTINE_SATURDAYS + 1),
                window=ROUTINE_WINDOWS[index // ROUTINE_SATURDAYS],
                label=f"{month:02d}",
            )
            # Ramadan rounds of the years around count too: late December is close to January
            near = [
                r
                for r in ramadan_rounds
                if r.area == area and abs((r.day - routine.day).days) <= ROUTINE_GAP
            ]
            if near:
                dropped.append((routine, near[0]))
            else:
                rounds.append(routine)
    rounds.sort(key=lambda r: (r.day, r.window, r.area.code))
    return _Plan(rounds=rounds, dropped=dropped, ramadans=ramadans)


def plan_distributions(
    year: int,
    *,
    venues: Path = VENUES,
    wilayah: Path = WILAYAH,
    every_months: int = 2,
    program: str = "BPNT",
) -> list[PlannedRound]:
    """Draft the year's distribution rounds, one per venue, ordered by date and time."""
    areas = load_wilayah(wilayah)
    places = load_venues(venues, areas=areas)
    planned = []
    for r in _plan(year, areas, every_months).rounds:
        ramadan = r.kind is Kind.RAMADAN
        for venue in places:
            if venue.kelurahan != r.area.code:
                continue
            planned.append(
                PlannedRound(
                    ref=f"{year}-{r.label}-{venue.key}",
                    program=program,
                    kelurahan=r.area.name,
                    rw=format_rw(venue.rw),
                    date=r.day,
                    start=r.window[0],
                    end=r.window[1],
                    place=venue.name,
                    address=venue.address,
                    latitude=venue.latitude,
                    longitude=venue.longitude,
                    items=RAMADAN_ITEMS if ramadan else ITEMS,
                    bring=BRING,
                    quota=None,  # staff fill it in per venue
                    items_en=RAMADAN_ITEMS_EN if ramadan else ITEMS_EN,
                    bring_en=BRING_EN,
                    kind=r.kind,
                    kelurahan_code=r.area.code,
                )
            )
    return planned


def write_csv(rounds: list[PlannedRound], file: TextIO) -> None:
    """Write the rounds in the import-schedule CSV format, header first."""
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(r.row() for r in rounds)


def _day(day: date) -> str:
    """Write a date the way the notes read: Monday 8 February 2027."""
    return format_date(day, "EEEE d MMMM y", locale="en")


def notes(
    year: int,
    *,
    venues: Path = VENUES,
    wilayah: Path = WILAYAH,
    every_months: int = 2,
) -> list[str]:
    """Return what staff should know about the year's draft, one line each."""
    areas = load_wilayah(wilayah)
    load_venues(venues, areas=areas)  # the same checks as the plan itself
    plan = _plan(year, areas, every_months)
    lines = []
    for ramadan in plan.ramadans:
        round_days = {r.day for r in plan.rounds if r.label == f"RMD{ramadan.hijri_year}"}
        if ramadan.first_day.year != year and not round_days:
            continue
        lines.append(
            f"1 Ramadan {ramadan.hijri_year} H is expected on {_day(ramadan.first_day)} "
            "(hijridate; the government's sidang isbat may differ by a day)."
        )
        if round_days:
            days = " and ".join(_day(day) for day in sorted(round_days))
            lines.append(f"The extra Ramadan round is on {days}.")
        else:
            lines.append(
                f"Its extra round, on {_day(ramadan.saturday)}, "
                f"belongs to the {ramadan.saturday.year} plan."
            )
    for routine, ramadan_round in plan.dropped:
        gap = abs((ramadan_round.day - routine.day).days)
        lines.append(
            f"The routine round of {routine.area.name} on {_day(routine.day)} is left out: "
            f"it is {gap} day{'' if gap == 1 else 's'} from its Ramadan round."
        )
    lines.append("Quotas are empty: fill in each venue's quota before importing.")
    lines.append(
        "Check public holidays and cuti bersama before importing, "
        "and move any round that falls on one."
    )
    if tomllib.loads(venues.read_text(encoding="utf-8")).get("demo", False):
        lines.append(
            f"The venues in {venues.name} are DEMO data: "
            "replace their addresses and coordinates with real ones."
        )
    return lines
