"""Every option fits the chat platforms, in both languages: at most 10 options a message (a
WhatsApp list holds 10 rows; longer lists page), and each option's label, or its short label,
fits WhatsApp's 20 characters for reply buttons (up to 3 options) or 24 for list rows (up to
10). Labels are never cut: an option that does not fit carries a shorter label of its own."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from bot import reminding
from handlers.engine import Engine
from handlers.messages import Incoming, Kind, Option, Reply
from storage import health, rounds, staff
from storage.applications import Kind as Support
from storage.demo import seed_distributions, seed_health, seed_training
from storage.health import HealthEvent, HealthSlot
from storage.outbox import Outbound
from storage.training import CourseBatch
from tests.helpers import Chat, Clock
from tests.test_registration import HAPPY_EN, HAPPY_ID

ZONE = "Asia/Jakarta"
SMALL = "MJH-2026-12B"  # the demo sewing batch with 3 seats, age limit and priority groups
FULL = "MJH-2026-12A"  # a demo batch the walk fills up, to see its waiting list offered
CHECK = "Cek tekanan darah & gula darah"  # the demo check day with more times than a page
KANTOR_KLENDER = (-6.217900, 106.901200)
ELDERLY = "Cek kesehatan lansia"  # a demo check topic; the walk gives it a second day
LONG_PLACE = "Posyandu Melati RW 006 Kelurahan Pondok Bambu"
WEEK = timedelta(days=7)
# WhatsApp: reply-button title, list-row title and description, list rows
BUTTONS, ROWS, DESCRIPTION, LISTED = 20, 24, 72, 10

# walks that show every question and menu of registration, profile, bansos, eligibility and
# sembako, as people type them
WALKS = {
    "id": [line for line, _ in HAPPY_ID]
    + [
        "Profil saya",
        "1",
        "Ani",
        "2",
        "3",
        "5",
        "3",
        "Hapus nomor saya",
        "4",
        "4",
        "5",
        "2",
        "bahasa",
        "1",
        "berhenti",
        "mulai",
        "hapus data",
        "2",
        "batal",
        "Cek status bansos",
        "3175074708859901",
        "Siti Aminah",
        "Cek kelayakan",
        "5",
        "3 juta",
        "6",
        "Selesai",
        "2",
        "2",
        "1",
        "Menu utama",
        "Jadwal sembako",
        "Lokasi terdekat",
        "menu",
        "Bantuan",
    ],
    "en": [line for line, _ in HAPPY_EN]
    + ["My profile", "1", "Ani", "2", "3", "5", "3", "Skip", "4", "4", "5", "2", "language", "2"]
    + ["Check bansos status", "3175074708859901", "Siti Aminah", "Check eligibility", "5"]
    + ["3000000", "6", "Done", "2", "2", "1", "Main menu", "Sembako schedule", "Nearest location"]
    + ["menu", "Help"],
}
UNREGISTERED = ["halo", "1", "3", "2", "7", "2"]


class Walker(Chat):
    """A resident whose every reply is kept."""

    def __init__(self, engine: Engine, external_id: str) -> None:
        super().__init__(engine, external_id)
        self.seen: list[Reply] = []

    async def deliver(self, message: Incoming) -> list[Reply]:
        replies = await super().deliver(message)
        self.seen += replies
        return replies

    async def lines(self, lines: list[str]) -> None:
        """Send each line."""
        for line in lines:
            await self.send(line)

    def starting(self, prefix: str) -> list[str]:
        """Return the keys of the last reply's options that start with a prefix."""
        return [key for key in self.keys if key.startswith(prefix)]

    async def tap_first(self, prefix: str) -> None:
        """Tap the first option whose key starts with a prefix."""
        found = self.starting(prefix)
        assert found, f"no option {prefix}… in {self.keys} after:\n{self.text}"
        await self.tap(found[0])

    async def pages(self, more: str) -> list[str]:
        """Page through a list with its "more" option; return every key seen on the way."""
        keys = list(self.keys)
        for _page in range(10):
            if more not in self.keys:
                break
            await self.tap(more)
            keys += [key for key in self.keys if key not in keys]
        return keys


@pytest.fixture
def services(database, clock: Clock) -> None:
    """Load the demo courses, health days, sembako schedule, partners and open both rounds."""
    with database.begin() as db:
        seed_training(db=db, now=clock())
        seed_health(db=db, now=clock())
        seed_distributions(db=db, today=clock().date(), now=clock())
        staff.load(db=db, now=clock())
        for kind, last_day in ((Support.SCHOLARSHIP, date(2026, 12, 31)), (Support.CAPITAL, None)):
            rounds.set_deadline(
                db=db,
                kind=kind,
                closes_at=rounds.end_of(last_day or date(2027, 1, 15), ZONE),
                login="petugas",
                now=clock(),
            )
        # one batch has no seats left, so its detail offers the waiting list
        db.execute(update(CourseBatch).where(CourseBatch.code == FULL).values(quota=0))
        # a second day of a check, so that its topic lists places and days to choose from
        events, slots = HealthEvent.__table__, HealthSlot.__table__
        event = db.execute(select(events).where(events.c.topic == ELDERLY)).one()._asdict()
        copied = {**event, "code": f"{event['code']}-2", "place": LONG_PLACE}
        del copied["id"]
        second = db.execute(events.insert().values(**copied)).inserted_primary_key[0]
        for slot in db.execute(select(slots).where(slots.c.event_id == event["id"])).all():
            moved = {"starts_at": slot.starts_at + WEEK, "ends_at": slot.ends_at + WEEK}
            db.execute(slots.insert().values(event_id=second, capacity=slot.capacity, **moved))


async def walk_training(chat: Walker, database) -> None:
    """Browse every category, page and batch, start enrolling in each (up to the priority
    question), enrol in one, see my enrolments and keep it."""
    await chat.tap("svc:training")
    found = []  # (category, pages to turn, batch)
    for category in chat.starting("cat:"):
        await chat.tap("svc:training")
        await chat.tap(category)
        for page in range(10):
            found += [(category, page, batch) for batch in chat.starting("batch:")]
            if "training:more" not in chat.keys:
                break
            await chat.tap("training:more")
    with database.connect() as db:
        small = db.execute(select(CourseBatch.id).where(CourseBatch.code == SMALL)).scalar_one()
    assert f"batch:{small}" in [batch for _category, _page, batch in found]
    for category, page, batch in found:
        await chat.tap("svc:training")
        await chat.tap(category)
        for _turn in range(page):
            await chat.tap("training:more")
        await chat.tap(batch)
        if chat.starting("training:enrol:") and batch != f"batch:{small}":
            await chat.tap_first("training:enrol:")
            if chat.starting("age:"):
                await chat.tap("age:yes")
    await chat.tap("svc:training")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{small}")
    await chat.tap_first("training:enrol:")
    await chat.tap("age:yes")
    await chat.tap_first("prio:")  # a priority group
    await chat.tap_first("enrol:")  # yes, enrol me
    assert chat.starting("training:cancel:"), chat.text  # my enrolments
    await chat.tap_first("training:cancel:")
    await chat.tap(chat.starting("cancel:")[-1])  # no, keep it


async def walk_health(chat: Walker) -> None:
    """Browse every topic, place and page of times of talks and checks, book, see and keep."""
    for kind in ("kind:talk", "kind:check"):
        await chat.tap("svc:health")
        await chat.tap(kind)
        for topic in chat.starting("tp:"):
            await chat.tap("svc:health")
            await chat.tap(kind)
            await chat.tap(topic)
            for event in chat.starting("event:") or [None]:
                if event is not None:
                    await chat.tap("svc:health")
                    await chat.tap(kind)
                    await chat.tap(topic)
                    await chat.tap(event)
                await chat.pages("health:more")
    await chat.tap("svc:health")
    await chat.tap("kind:check")
    await chat.tap(f"tp:{CHECK}")
    await chat.tap_first("slot:")
    await chat.tap_first("book:")  # yes, book it
    assert chat.starting("health:cancel:"), chat.text  # my bookings
    await chat.tap_first("health:cancel:")
    await chat.tap(chat.starting("cancel:")[-1])  # no, keep it
    await chat.tap("health:mine")


async def walk_applications(chat: Walker) -> None:
    """Ask for a reminder, apply for a scholarship and for capital, see the status."""
    await chat.tap("svc:apply")
    await chat.tap_first("apply:remind:")
    await chat.tap("apply:scholarship")
    await chat.lines(["Rina Marlina"])
    for level in chat.starting("level:"):  # every level's grade question, then back
        await chat.tap(level)
        await chat.send("batal")
        await chat.tap("svc:apply")
        await chat.tap("apply:scholarship")
        await chat.send("Rina Marlina")
    await chat.lines(["SMP", "SMPN 195 Jakarta", "8"])
    for document in chat.starting("doc:")[:-1]:  # every document ticked, one by one
        await chat.tap(document)
    await chat.tap("doc:done")
    await chat.tap("scholarship:submit:yes")
    await chat.tap("svc:apply")
    await chat.tap("apply:capital")
    await chat.tap_first("type:")
    await chat.lines(["2 tahun", "6 juta", "4,5 juta", "3 juta", "Mesin jahit dan kain"])
    await chat.tap("women:yes")
    await chat.tap("capital:submit:yes")
    await chat.tap("svc:apply")
    await chat.tap("apply:status")


async def walk_reminders(chat: Walker) -> None:
    """Ask for a sembako reminder, see the nearest places and another RW, then my reminders."""
    await chat.tap("svc:sembako")
    await chat.tap_first("sembako:remind:")
    await chat.tap("svc:sembako")
    await chat.tap("sembako:near")
    latitude, longitude = KANTOR_KLENDER
    await chat.send_kind(Kind.LOCATION, latitude=latitude, longitude=longitude)
    await chat.tap("svc:sembako")
    await chat.tap("sembako:other")
    await chat.tap_first("kel:")
    await chat.send("5")
    await chat.tap("svc:reminders")
    assert len(chat.starting("reminder:cancel:")) > 1, chat.text
    await chat.tap("reminder:all")
    await chat.tap("reminders:no")
    await chat.tap("svc:profile")


async def walk_feedback(chat: Walker, database, clock: Clock) -> list[Outbound]:
    """After the booked check, the invitation to rate it, and the rating question."""
    with database.connect() as db:
        slot_id = db.execute(select(health.HealthBooking.slot_id)).scalars().first()
        slot = health.get_slot(db=db, slot_id=slot_id)
    clock.now = slot.ends_at + reminding.FOLLOW_UP_AFTER
    reminding.tick(database, now=clock(), time_zone=ZONE)
    await chat.tap("svc:feedback")
    assert chat.starting("rate:"), chat.text
    await chat.tap(chat.starting("rate:")[-1])  # then a comment is offered
    assert chat.keys == ["mo:yes", "mo:no"], chat.text
    await chat.tap("mo:yes")
    await chat.tap("mc:skip")
    await chat.tap("svc:feedback")  # nothing left to rate: the chooser, and feedback any time
    await chat.tap("cp:feedback")
    assert chat.starting("mp:"), chat.text
    await chat.tap("mp:pelatihan")
    await chat.tap("ms:4")
    assert chat.keys == ["mc:skip"], chat.text
    await chat.tap("mc:skip")
    with database.connect() as db:
        rows = db.execute(select(Outbound.__table__).where(Outbound.options.is_not(None))).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


def misfits(replies: list[Reply]) -> list[str]:
    """Say which replies offer too many options, or an option that fits neither way."""
    found = []
    for reply in replies:
        head = reply.text.splitlines()[0][:60]
        if len(reply.options) > LISTED:
            found.append(f"{len(reply.options)} options after {head!r}")
            continue
        limit = BUTTONS if len(reply.options) <= 3 else ROWS
        found += [
            f"{option.label!r} (short {option.short!r}) > {limit}, after {head!r}"
            for option in reply.options
            if option.fitting(limit) is None
        ]
        if limit == ROWS:  # a row with the short label shows the full one as its description
            found += [
                f"{option.label!r} > {DESCRIPTION} for a description, after {head!r}"
                for option in reply.options
                if option.fitting(limit) == option.short and len(option.label) > DESCRIPTION
            ]
    return list(dict.fromkeys(found))


@pytest.mark.parametrize("language", ["id", "en"])
async def test_labels_fit_whatsapp(engine: Engine, language: str) -> None:
    walker = Walker(engine, f"walk-{language}")
    await walker.lines(WALKS[language])
    newcomer = Walker(engine, f"walk-new-{language}")
    await newcomer.lines(UNREGISTERED)
    replies = walker.seen + newcomer.seen
    assert len([reply for reply in replies if reply.options]) > 25
    assert not misfits(replies), "\n".join(misfits(replies))


@pytest.mark.parametrize("language", ["id", "en"])
async def test_service_labels_fit_whatsapp(
    engine: Engine, services, database, clock: Clock, language: str
) -> None:
    chat = Walker(engine, f"services-{language}")
    await chat.lines([line for line, _ in (HAPPY_ID if language == "id" else HAPPY_EN)])
    await walk_training(chat, database)
    await walk_health(chat)
    await walk_applications(chat)
    await walk_reminders(chat)
    queued = await walk_feedback(chat, database, clock)
    assert queued and all(item.options for item in queued)
    invitations = [
        Reply(item.text, tuple(Option(**option) for option in item.options)) for item in queued
    ]
    with_options = [reply for reply in chat.seen if reply.options]
    assert len(with_options) > 60
    problems = misfits(chat.seen + invitations)
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_does_not_fit() -> None:
    long, short = "Status of my applications", "My applications"
    assert misfits([Reply("?", (Option("a", long), Option("b", "Menu")))])  # buttons: 20
    assert misfits([Reply("?", (Option("a", long),) * 4)])  # list rows: 24
    assert not misfits([Reply("?", (Option("a", long, short=short),) * 4)])
    assert misfits([Reply("?", (Option("a", "Menu"),) * 11)])  # more rows than a list holds
