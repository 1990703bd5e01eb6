"""Demo data for Duren Sawit, clearly marked as such (`demo = True` on every row).

Places come from wilayah.toml, the programs from storage/data/programs.toml (real programs),
a few registry entries to try from registry.toml, about 2,000 generated households with
fictitious NIKs (serials 9xxx), sembako distributions for the coming weeks at the demo
venues of venues.toml, training courses and batches (training.toml), health talks and checks
(health.toml), and the staff accounts of storage/data/partners.toml. Dates are relative to
the day of seeding.
"""

import random
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from storage import rounds, staff
from storage.applications import Kind
from storage.health import EventKind, HealthEvent, HealthSlot
from storage.identity import check_nik, keyed_hash, name_key, nik_hash
from storage.places import Kelurahan, load_places
from storage.registry import PROGRAM_SEPARATOR, Beneficiary, Status, load_programs
from storage.schedule_import import read_rws
from storage.schedules import Distribution, replace_rws
from storage.training import BatchSession, Course, CourseBatch

HERE = Path(__file__).parent
WILAYAH = HERE / "wilayah.toml"
REGISTRY = HERE / "registry.toml"
VENUES = HERE / "venues.toml"
TRAINING = HERE / "training.toml"
HEALTH = HERE / "health.toml"
HOUSEHOLDS = 2_000
ZONE = ZoneInfo("Asia/Jakarta")

GIVEN_WOMEN = [
    "Siti",
    "Nur",
    "Dewi",
    "Sri",
    "Ani",
    "Yuli",
    "Rina",
    "Wati",
    "Lestari",
    "Fitri",
    "Indah",
    "Ratna",
    "Sari",
    "Ayu",
    "Putri",
    "Aminah",
    "Kartini",
    "Suryani",
    "Maryam",
    "Halimah",
    "Rohani",
    "Sumiati",
    "Wulan",
    "Endang",
    "Tuti",
]
GIVEN_MEN = [
    "Budi",
    "Agus",
    "Joko",
    "Ahmad",
    "Muhammad",
    "Andi",
    "Dedi",
    "Hendra",
    "Rudi",
    "Slamet",
    "Bambang",
    "Eko",
    "Yusuf",
    "Hasan",
    "Rahmat",
    "Iwan",
    "Teguh",
    "Wahyu",
    "Arif",
    "Asep",
    "Dodi",
    "Imam",
    "Heru",
    "Supriyadi",
]
FAMILY = [
    "Santoso",
    "Setiawan",
    "Susilo",
    "Wijaya",
    "Hidayat",
    "Saputra",
    "Kurniawan",
    "Pratama",
    "Nugroho",
    "Siregar",
    "Nasution",
    "Hasibuan",
    "Sitompul",
    "Rahman",
    "Hakim",
    "Gunawan",
    "Sutrisno",
    "Purnomo",
    "Firmansyah",
    "Maulana",
]
PACKAGE = "Beras 10 kg, minyak goreng 2 L, gula pasir 1 kg, telur 1 kg"
PACKAGE_EN = "Rice 10 kg, cooking oil 2 L, sugar 1 kg, eggs 1 kg"
BRING = "KTP asli, Kartu Keluarga, dan kartu KKS"
BRING_EN = "Your original KTP, Kartu Keluarga and KKS card"


@dataclass(frozen=True)
class Seeded:
    """What seeding added."""

    kelurahan: int
    rukun_warga: int
    programs: int = 0
    beneficiaries: int = 0
    distributions: int = 0
    courses: int = 0
    batches: int = 0
    health_events: int = 0
    health_slots: int = 0
    staff: int = 0


def seed_places(*, db: Connection, source: Path = WILAYAH) -> tuple[int, int]:
    """Add the seven kelurahan and their demo RWs; return how many of each."""
    return load_places(db=db, source=source)


def _codes_by_name(db: Connection) -> dict[str, str]:
    """Return kelurahan codes by name."""
    table = Kelurahan.__table__
    return {
        name: code
        for code, name in db.execute(table.select().with_only_columns(table.c.code, table.c.name))
    }


def _person(key: bytes, now: datetime, nik: str, name: str, kk: str | None, **where) -> dict:
    """Return a registry row for a demo person."""
    return {
        "nik_hash": nik_hash(key, nik),
        "nik_last4": nik[-4:],
        "name_hash": keyed_hash(key, "name", name_key(name)),
        "kk_hash": keyed_hash(key, "kk", kk) if kk else None,
        "demo": True,
        "updated_at": now,
        **where,
    }


def _programs_for(desil: int, rng: random.Random) -> str:
    """Pick plausible programs for a household of a given desil (Kepmensos 79/HUK/2025)."""
    codes = set()
    if desil <= 4 and rng.random() < 0.6:
        codes.add("PKH")
    if desil <= 5:
        codes.update({"BPNT", "PBI_JK"} if rng.random() < 0.8 else {"PBI_JK"})
        for code, share in (("KJP_PLUS", 0.35), ("KLJ", 0.15), ("KPDJ", 0.05), ("KAJ", 0.1)):
            if rng.random() < share:
                codes.add(code)
        if codes & {"KJP_PLUS", "KLJ", "KPDJ", "KAJ"} and rng.random() < 0.5:
            codes.add("PANGAN")
    return PROGRAM_SEPARATOR.join(sorted(codes))


def _fictitious_nik(rng: random.Random, woman: bool, born: date, taken: set[str]) -> str:
    """Return an unused NIK of valid form from Duren Sawit with a demo serial (9xxx)."""
    day = born.day + (40 if woman else 0)
    while True:
        nik = f"317507{day:02d}{born:%m%y}9{rng.randrange(1000):03d}"
        if nik not in taken:
            taken.add(nik)
            return nik


def seed_registry(
    *, db: Connection, key: bytes, now: datetime, households: int = HOUSEHOLDS, seed: int = 2026
) -> int:
    """Add the registry entries to try, and generated households (head and often a spouse)."""
    codes = _codes_by_name(db)
    rw_counts = {
        place["code"]: place["rw_count"]
        for place in tomllib.loads(WILAYAH.read_text(encoding="utf-8"))["kelurahan"]
    }
    rows, taken = [], set()
    for person in tomllib.loads(REGISTRY.read_text(encoding="utf-8"))["person"]:
        assert check_nik(person["nik"]).digits, person["nik"]
        taken.add(person["nik"])
        rows.append(
            _person(
                key,
                now,
                person["nik"],
                person["name"],
                person.get("kk"),
                kelurahan_code=codes[person["kelurahan"]],
                rw=person["rw"],
                rt=person["rt"],
                desil=person["desil"],
                programs=PROGRAM_SEPARATOR.join(
                    sorted(filter(None, person["programs"].split(";")))
                ),
                status=person["status"],
            )
        )
    rng = random.Random(seed)
    kelurahan = sorted(rw_counts)
    for number in range(households):
        code = kelurahan[number % len(kelurahan)]
        desil = min(10, int(rng.triangular(1, 11, 2)))
        where = {
            "kelurahan_code": code,
            "rw": rng.randint(1, rw_counts[code]),
            "rt": rng.randint(1, 12),
            "desil": desil,
            "programs": _programs_for(desil, rng),
            "status": rng.choices(list(Status), weights=(92, 5, 3))[0],
        }
        kk = f"317507{rng.randrange(10**10):010d}"
        family = rng.choice(FAMILY)
        members = [(False, rng.choice(GIVEN_MEN)), (True, rng.choice(GIVEN_WOMEN))]
        if rng.random() < 0.4:  # a household headed by a woman alone
            members = [members[1]]
        for woman, given in members[: 1 + (rng.random() < 0.6)]:
            born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
            nik = _fictitious_nik(rng, woman, born, taken)
            rows.append(_person(key, now, nik, f"{given} {family}", kk, **where))
    db.execute(Beneficiary.__table__.insert(), rows)
    return len(rows)


def seed_distributions(*, db: Connection, today: date, now: datetime) -> int:
    """Add BPNT distributions at every demo venue on Saturdays of the coming weeks."""
    venues = tomllib.loads(VENUES.read_text(encoding="utf-8"))["venue"]
    first_saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    order = sorted({venue["kelurahan"] for venue in venues})
    added = 0
    for index, venue in enumerate(venues):
        week = order.index(venue["kelurahan"]) % 3  # kelurahan spread over three Saturdays
        morning = index % 2 == 0
        for round_ in (0, 4):  # a round now and one four weeks later
            day = first_saturday + timedelta(weeks=week + round_)
            start, end = (time(8), time(11)) if morning else (time(13), time(16))
            values = {
                "ref": f"DEMO-{day:%Y%m%d}-{venue['key']}",
                "program_code": "BPNT",
                "kelurahan_code": venue["kelurahan"],
                "all_rws": not venue["rw"],
                "starts_at": datetime.combine(day, start, ZONE),
                "ends_at": datetime.combine(day, end, ZONE),
                "place": venue["name"],
                "address": venue["address"],
                "latitude": venue["latitude"],
                "longitude": venue["longitude"],
                "items": PACKAGE,
                "bring": BRING,
                "items_en": PACKAGE_EN,
                "bring_en": BRING_EN,
                "quota": 150,
                "cancelled": False,
                "demo": True,
                "updated_at": now,
            }
            created = db.execute(Distribution.__table__.insert(), values)
            replace_rws(
                db=db,
                distribution_id=created.inserted_primary_key[0],
                rws=read_rws(venue["rw"]) or (),
            )
            added += 1
    return added


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _at(day: date, clock: str) -> datetime:
    """Return a local (WIB) day and HH:MM time as an aware UTC datetime."""
    return datetime.combine(day, time.fromisoformat(clock), ZONE).astimezone(UTC)


def _meeting_days(first: date, days: list[str], count: int) -> list[date]:
    """Return the first `count` dates from `first` on that fall on the given weekdays."""
    wanted = {WEEKDAYS.index(day) for day in days}
    found, day = [], first
    while len(found) < count:
        if day.weekday() in wanted:
            found.append(day)
        day += timedelta(days=1)
    return found


def seed_training(*, db: Connection, now: datetime, source: Path = TRAINING) -> tuple[int, int]:
    """Add the demo courses and their batches with sessions; return how many of each."""
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    today = now.astimezone(ZONE).date()
    course_ids = {}
    for course in data["course"]:
        created = db.execute(
            Course.__table__.insert(), {**course, "demo": True, "updated_at": now}
        )
        course_ids[course["code"]] = created.inserted_primary_key[0]
    for batch in data["batch"]:
        days = _meeting_days(
            today + timedelta(days=batch["start_in_days"]), batch["days"], batch["sessions"]
        )
        times = [(_at(day, batch["starts"]), _at(day, batch["ends"])) for day in days]
        created = db.execute(
            CourseBatch.__table__.insert(),
            {
                "code": f"{batch['prefix']}-{days[0]:%Y-%m}{batch['letter']}",
                "course_id": course_ids[batch["course"]],
                "organiser": batch["organiser"],
                "place": batch["place"],
                "address": batch["address"],
                "quota": batch["quota"],
                "min_age": batch["min_age"],
                "residents_only": batch["residents_only"],
                "priority_groups": batch["priority_groups"],
                "starts_at": times[0][0],
                "ends_at": times[-1][1],
                "cancelled": False,
                "demo": True,
                "updated_at": now,
            },
        )
        batch_id = created.inserted_primary_key[0]
        db.execute(
            BatchSession.__table__.insert(),
            [
                {"batch_id": batch_id, "number": number, "starts_at": start, "ends_at": end}
                for number, (start, end) in enumerate(times, start=1)
            ],
        )
    return len(data["course"]), len(data["batch"])


def _slot_times(event: dict, day: date) -> list[tuple[datetime, datetime]]:
    """Return the (start, end) of an event's slots: one for a talk, every N minutes for a check."""
    start, end = _at(day, event["starts"]), _at(day, event["ends"])
    if event["kind"] == EventKind.TALK:
        return [(start, end)]
    step = timedelta(minutes=event["every"])
    slots = []
    while start + step <= end:
        slots.append((start, start + step))
        start += step
    return slots


def seed_health(*, db: Connection, now: datetime, source: Path = HEALTH) -> tuple[int, int]:
    """Add the demo health talks and check days with their slots; return how many of each."""
    events = tomllib.loads(source.read_text(encoding="utf-8"))["event"]
    today = now.astimezone(ZONE).date()
    slots = 0
    for event in events:
        day = today + timedelta(days=event["in_days"])
        if day.weekday() == 6:  # no events on a Sunday
            day += timedelta(days=1)
        created = db.execute(
            HealthEvent.__table__.insert(),
            {
                "code": f"{event['key']}-{day:%Y%m%d}",
                "kind": EventKind(event["kind"]),
                **{
                    name: event[name]
                    for name in (
                        "topic",
                        "topic_en",
                        "title",
                        "title_en",
                        "organiser",
                        "place",
                        "address",
                        "bring",
                        "bring_en",
                    )
                },
                "cancelled": False,
                "demo": True,
                "updated_at": now,
            },
        )
        event_id = created.inserted_primary_key[0]
        special = event.get("capacity_at", {})
        rows = [
            {
                "event_id": event_id,
                "starts_at": start,
                "ends_at": end,
                "capacity": special.get(f"{start.astimezone(ZONE):%H:%M}", event["capacity"]),
                "taken": 0,
            }
            for start, end in _slot_times(event, day)
        ]
        db.execute(HealthSlot.__table__.insert(), rows)
        slots += len(rows)
    return len(events), slots


def seed_staff(*, db: Connection, now: datetime) -> int:
    """Add the partners and staff accounts of storage/data/partners.toml; return the accounts."""
    _partners, accounts = staff.load(db=db, now=now)
    return accounts


# the demo's rounds of applications close this many days after seeding
ROUND_DAYS = {Kind.SCHOLARSHIP: 45, Kind.CAPITAL: 60}


def seed_rounds(*, db: Connection, today: date, now: datetime) -> int:
    """Open a round of scholarship and of business-capital applications; return how many."""
    for kind, days in ROUND_DAYS.items():
        closes_at = rounds.end_of(today + timedelta(days=days), ZONE.key)
        rounds.set_deadline(db=db, kind=kind, closes_at=closes_at, login="demo", now=now)
    return len(ROUND_DAYS)


def seed_base(*, db: Connection) -> tuple[int, int, int]:
    """Add the places and the programs: what every installation needs to start."""
    kelurahan, rukun_warga = seed_places(db=db)
    return kelurahan, rukun_warga, load_programs(db=db)


def seed_demo(
    *, db: Connection, key: bytes, now: datetime, households: int = HOUSEHOLDS
) -> Seeded:
    """Fill an empty database with everything of the demo."""
    kelurahan, rukun_warga, programs = seed_base(db=db)
    beneficiaries = seed_registry(db=db, key=key, now=now, households=households)
    today = now.astimezone(ZONE).date()
    distributions = seed_distributions(db=db, today=today, now=now)
    courses, batches = seed_training(db=db, now=now)
    health_events, health_slots = seed_health(db=db, now=now)
    seed_rounds(db=db, today=today, now=now)
    return Seeded(
        kelurahan,
        rukun_warga,
        programs,
        beneficiaries,
        distributions,
        courses=courses,
        batches=batches,
        health_events=health_events,
        health_slots=health_slots,
        staff=seed_staff(db=db, now=now),
    )
