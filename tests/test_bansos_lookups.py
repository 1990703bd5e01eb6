"""Bansos lookups across accounts, as transcripts through the engine: the limit of all
residents together (per hour and per day) with its one alert to the admins, and the link of a
registry record to a resident only when they confirm it is their own."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select

from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from storage import staff
from storage.broadcasts import Segment, SegmentKind, preview
from storage.outbox import Outbound
from storage.registry import StatusCheck
from storage.residents import Resident
from storage.staff import Role
from tests.conftest import TEST_KEY
from tests.helpers import Chat, Clock
from tests.test_bansos import SITI, UNKNOWN, check
from tests.test_bansos import registry as registry  # the fixture
from tests.test_registration import HAPPY_EN, HAPPY_ID, stored

BUSY_ID = "Saat ini banyak warga yang sedang mengecek status bansos"
BUSY_EN = "Many residents are checking their bansos status right now"
CONFIG = EngineConfig(nik_key=TEST_KEY, status_checks_per_hour_all=3, status_checks_per_day_all=5)


@pytest.fixture
def engine(database: Database, clock: Clock) -> Iterator[Engine]:
    """The engine with small limits of all residents: 3 checks an hour, 5 a day."""
    engine = Engine(database, flows.build(), CONFIG, clock=clock)
    yield engine
    engine.close()


@pytest.fixture
def admins(database: Database, clock: Clock, engine: Engine) -> list[Chat]:
    """An active admin chat, an inactive admin, a staff chat and an admin without a chat."""
    accounts = [
        ("admin", Role.ADMIN, "admin-1", True),
        ("former", Role.ADMIN, "admin-2", False),
        ("petugas", Role.STAFF, "petugas-1", True),
        ("nochat", Role.ADMIN, None, True),
    ]
    chats = []
    for login, role, external_id, active in accounts:
        with database.begin() as db:
            staff.add(
                db=db,
                login=login,
                name=login.title(),
                role=role,
                now=clock(),
                channel="console" if external_id else None,
                external_id=external_id,
            )
            if not active:
                staff.remove(db=db, login=login, now=clock())
        if external_id:
            chats.append(Chat(engine, external_id=external_id))
    return chats


def alerts(database: Database) -> list[tuple[int, str]]:
    """Return the queued messages: (resident id, text)."""
    with database.connect() as db:
        return [tuple(row) for row in db.execute(select(Outbound.resident_id, Outbound.text))]


async def test_the_limit_of_all_residents_refuses_kindly_and_alerts_admins_once(
    engine: Engine, database: Database, clock: Clock, registry, admins: list[Chat]
) -> None:
    for chat in admins:  # a staff chat is a resident record once it has written
        await chat.send("halo")
    admin = stored(database, "admin-1")
    siti, budi = Chat(engine, external_id="warga-1"), Chat(engine, external_id="warga-2")
    await siti.run(HAPPY_ID)
    await budi.run(HAPPY_EN)
    await check(siti, UNKNOWN, "Siti Aminah")
    await check(siti, UNKNOWN, "Siti Aminah")
    await budi.send("Check bansos status")  # 2 of 3 used: Budi may start
    await budi.send(UNKNOWN)
    await budi.send("Budi Santoso")
    assert "We found no registration" in budi.text
    assert alerts(database) == []
    # the hour's 3 checks are used, by two accounts: both are refused
    await budi.send("menu")
    await budi.send("Check bansos status")
    assert BUSY_EN in budi.text and "kelurahan office" in budi.text
    assert "Please type the NIK" not in budi.text
    await siti.send("menu")
    await siti.send("Cek status bansos")
    assert BUSY_ID in siti.text and "kantor kelurahan" in siti.text
    queued = alerts(database)
    assert [resident for resident, _ in queued] == [admin.id]  # once, to the active admin
    text = queued[0][1]
    assert "STATUS_CHECKS_PER_HOUR_ALL" in text and "3" in text
    for secret in (UNKNOWN, UNKNOWN[-4:], "Siti", "Budi"):
        assert secret not in text
    # a second process on the same database trips the same window: no second alert
    other = Engine(database, flows.build(), CONFIG, clock=clock)
    try:
        elsewhere = Chat(other, external_id="warga-2")
        await elsewhere.send("Check bansos status")
    finally:
        other.close()
    assert BUSY_EN in elsewhere.text
    assert len(alerts(database)) == 1
    with database.connect() as db:
        outcomes = [row.outcome for row in db.execute(select(StatusCheck.outcome))]
    assert outcomes.count("limited_all") == 3
    # an hour later the hour has room again, but the day has 5: two more, then the day's alert
    clock.advance(hours=1, minutes=1)
    await budi.send("Check bansos status")
    await budi.send(UNKNOWN)
    await budi.send("Budi Santoso")
    assert "We found no registration" in budi.text
    await check(siti, UNKNOWN, "Siti Aminah")
    assert "Kami tidak menemukan pendaftaran" in siti.text
    await siti.send("menu")
    await siti.send("Cek status bansos")
    assert BUSY_ID in siti.text
    queued = alerts(database)
    assert len(queued) == 2 and "STATUS_CHECKS_PER_DAY_ALL" in queued[1][1]
    await budi.send("Check bansos status")
    assert BUSY_EN in budi.text
    assert len(alerts(database)) == 2


async def test_the_limit_of_all_is_checked_again_before_the_lookup(
    engine: Engine, database: Database, registry
) -> None:
    siti, budi = Chat(engine, external_id="warga-1"), Chat(engine, external_id="warga-2")
    await siti.run(HAPPY_ID)
    await budi.run(HAPPY_EN)
    await budi.send("Check bansos status")
    await budi.send(UNKNOWN)  # waiting for the name while Siti uses the hour's checks
    for _ in range(3):
        await check(siti, UNKNOWN, "Siti Aminah")
    await budi.send("Budi Santoso")
    assert BUSY_EN in budi.text
    assert "We found no registration" not in budi.text


def program_reach(database: Database, code: str) -> int:
    """Return how many residents a `program=` broadcast would reach."""
    with database.connect() as db:
        found = preview(
            db=db,
            segment=Segment(SegmentKind.PROGRAM, code),
            text="Pengumuman",
            kelurahan_limit=None,
            now=Clock()(),
        )
    return found.recipients


def programs_of(database: Database, external_id: str) -> str:
    """Return the registry programs kept with a resident."""
    resident: Resident = stored(database, external_id)
    return resident.registry_programs


async def test_a_hit_keeps_nothing_until_the_resident_confirms_it_is_their_own(
    engine: Engine, database: Database, registry
) -> None:
    other = Chat(engine, external_id="warga-1")  # checks Siti's NIK, but is not Siti
    await other.run(HAPPY_ID)
    text = await check(other, SITI, "Siti Aminah", own=None)
    assert "Data ditemukan" in text and "Program Keluarga Harapan" in text
    assert "Apakah ini data Bapak/Ibu sendiri?" in other.text
    assert other.labels[:2] == ["Ya, ini data saya", "Bukan"]
    assert programs_of(database, "warga-1") == ""  # nothing kept before the answer
    assert program_reach(database, "PKH") == 0
    await other.send("bukan")
    assert "tidak disimpan" in other.text
    assert programs_of(database, "warga-1") == ""
    assert program_reach(database, "PKH") == 0
    # the one whose data it is says so by typing "ya"
    siti = Chat(engine, external_id="warga-2")
    await siti.run(HAPPY_ID)
    await check(siti, SITI, "Siti Aminah", own=None)
    await siti.send("ya")
    assert "Terima kasih. Kami akan mengabari" in siti.text
    assert "PKH" in programs_of(database, "warga-2").split(";")
    assert program_reach(database, "PKH") == 1  # only the confirmed link
    assert programs_of(database, "warga-1") == ""


async def test_confirming_by_button_in_english(
    engine: Engine, database: Database, registry
) -> None:
    chat = Chat(engine, external_id="warga-3")
    await chat.run(HAPPY_EN)
    await chat.send("Check bansos status")
    await chat.send(SITI)
    await chat.send("Siti Aminah")
    assert "Is this your own data?" in chat.text
    assert chat.labels[:2] == ["Yes, this is my data", "No, not mine"]
    await chat.tap("bansos:own:yes")
    assert "We will let you know of announcements about your programs" in chat.text
    assert "What would you like to do next?" in chat.text
    assert "PKH" in programs_of(database, "warga-3").split(";")
    assert program_reach(database, "BPNT") == 1


async def test_an_old_yes_button_after_another_check_keeps_nothing(
    engine: Engine, database: Database, registry
) -> None:
    """The question's button honoured only where it was offered: after a miss it is stale."""
    chat = Chat(engine, external_id="warga-4")
    await chat.run(HAPPY_ID)
    await check(chat, UNKNOWN, "Siti Aminah")
    await chat.tap("bansos:own:yes")
    assert programs_of(database, "warga-4") == ""
    assert program_reach(database, "PKH") == 0
