"""The demo's skills training, health talks and checks, and staff accounts: what `seed-demo`
adds for testers to try, relative to the day of seeding."""

from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage import health, staff, training
from storage.demo import seed_demo
from storage.health import EventKind, HealthEvent, HealthSlot
from storage.staff import Role
from storage.training import Course, CourseBatch
from tests.conftest import TEST_KEY
from tests.test_console import bot

ZONE = ZoneInfo("Asia/Jakarta")
PRIORITY_GROUPS = {
    "kpm",
    "perempuan_kepala_keluarga",
    "pencari_kerja",
    "penyandang_disabilitas",
    "lansia",
    "pemuda_putus_sekolah",
}


@pytest.fixture
def seeded(database, clock):
    """Seed the demo (with few generated households) at the test clock's time."""
    with database.begin() as db:
        return seed_demo(db=db, key=TEST_KEY, now=clock(), households=20)


def _all_batches(db) -> list[training.Batch]:
    codes = db.execute(select(CourseBatch.code).order_by(CourseBatch.starts_at)).scalars()
    return [training.get_batch(db=db, code=code) for code in codes]


def test_counts_match_the_rows(database, seeded) -> None:
    with database.connect() as db:

        def count(table) -> int:
            return db.execute(select(func.count()).select_from(table)).scalar_one()

        assert seeded.courses == count(Course) >= 7
        assert seeded.batches == count(CourseBatch) >= 9
        assert seeded.health_events == count(HealthEvent)
        assert seeded.health_slots == count(HealthSlot)
        assert seeded.staff == 4
        demo_flags = db.execute(select(Course.demo).union_all(select(CourseBatch.demo)))
        assert all(flag for (flag,) in demo_flags)


def test_open_batches_span_the_categories(database, seeded, clock) -> None:
    with database.connect() as db:
        categories = training.categories(db=db, now=clock())
        batches = training.open_batches(db=db, now=clock())
    assert len(categories) >= 4
    assert {category.name for category in categories} >= {
        "Menjahit",
        "Tata Boga",
        "Teknologi Informasi",
        "Kecantikan",
        "Kewirausahaan",
    }
    assert all(category.name_en for category in categories)
    assert [batch.quota for batch in batches].count(3) == 1
    assert all(10 <= batch.quota <= 25 for batch in batches if batch.quota != 3)
    assert {batch.min_age for batch in batches} >= {15, 17}
    assert all(batch.residents_only for batch in batches)
    assert all(set(batch.priority_groups) <= PRIORITY_GROUPS for batch in batches)
    today = clock().astimezone(ZONE).date()
    for batch in batches:
        assert 5 <= (batch.starts_at.astimezone(ZONE).date() - today).days <= 40, batch.code


def test_one_batch_is_already_running_and_not_offered(database, seeded, clock) -> None:
    now = clock()
    with database.connect() as db:
        running = [batch for batch in _all_batches(db) if batch.starts_at <= now < batch.ends_at]
        offered = {batch.code for batch in training.open_batches(db=db, now=now)}
    assert len(running) == 1
    assert running[0].code not in offered


def test_sessions_are_in_order_within_their_batch(database, seeded) -> None:
    with database.connect() as db:
        batches = _all_batches(db)
    for batch in batches:
        sessions = batch.sessions
        assert 4 <= len(sessions) <= 12, batch.code
        assert [session.number for session in sessions] == list(range(1, len(sessions) + 1))
        assert sessions[0].starts_at == batch.starts_at
        assert sessions[-1].ends_at == batch.ends_at
        for session, following in pairwise(sessions):
            assert session.starts_at < session.ends_at <= following.starts_at
        assert all(session.starts_at.utcoffset() == timedelta(0) for session in sessions)
        local = sessions[0].starts_at.astimezone(ZONE)
        assert local.minute in (0, 30) and 8 <= local.hour <= 13  # a WIB time, not UTC


def test_batch_codes_follow_the_month_of_the_first_session(database, seeded) -> None:
    with database.connect() as db:
        batches = _all_batches(db)
    for batch in batches:
        _prefix, year, month_letter = batch.code.split("-")
        first = batch.starts_at.astimezone(ZONE)
        assert (int(year), int(month_letter[:2])) == (first.year, first.month), batch.code
    assert len({batch.code for batch in batches}) == len(batches)


def test_health_talks_and_checks_have_future_slots(database, seeded, clock) -> None:
    now = clock()
    today = now.astimezone(ZONE).date()
    with database.connect() as db:
        talks = health.upcoming_events(db=db, kind=EventKind.TALK, now=now)
        checks = health.upcoming_events(db=db, kind=EventKind.CHECK, now=now)
        talk_topics = {topic for topic, _ in health.topics(db=db, kind=EventKind.TALK, now=now)}
        check_topics = {topic for topic, _ in health.topics(db=db, kind=EventKind.CHECK, now=now)}
        talk_slots = {
            event.code: health.open_slots(db=db, event_id=event.id, now=now) for event, _ in talks
        }
        check_slots = {
            event.code: health.open_slots(db=db, event_id=event.id, now=now) for event, _ in checks
        }
    assert talk_topics == {"Gizi seimbang", "Pencegahan stunting", "Hipertensi", "Diabetes"}
    assert check_topics == {
        "Cek tekanan darah & gula darah",
        "Cek kesehatan lansia",
        "Cek kesehatan ibu & anak",
    }
    for _event, first in talks + checks:
        assert 3 <= (first.astimezone(ZONE).date() - today).days <= 30
    assert all(event.text("bring", "en") != event.bring for event, _ in talks + checks)
    for code, slots in talk_slots.items():
        assert len(slots) == 1 and 30 <= slots[0].capacity <= 60, code
    capacities = []
    for code, slots in check_slots.items():
        local = [slot.starts_at.astimezone(ZONE) for slot in slots]
        assert [f"{start:%H:%M}" for start in local] == [
            "08:00",
            "08:30",
            "09:00",
            "09:30",
            "10:00",
            "10:30",
            "11:00",
        ], code
        assert len({start.date() for start in local}) == 1
        assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)
        capacities += [slot.capacity for slot in slots]
    assert capacities.count(1) == 1 and set(capacities) == {1, 5}
    fasting = [event for event, _ in checks if "puasa 8 jam" in event.bring]
    assert fasting and all("fast for 8 hours" in event.bring_en for event in fasting)


def test_staff_logins_have_their_roles(database, seeded) -> None:
    with database.connect() as db:
        petugas = staff.find(db=db, login="petugas")
        ypp = staff.find(db=db, login="YPP")
        ppkukm = staff.find(db=db, login="ppkukm")
        partners = staff.partners(db=db)
    assert petugas is not None and petugas.role == Role.STAFF and petugas.partner_code is None
    assert ypp is not None and (ypp.role, ypp.partner_code) == (Role.PARTNER, "YPP")
    assert ppkukm is not None and (ppkukm.role, ppkukm.partner_code) == (Role.PARTNER, "PPKUKM")
    assert set(partners) == {"YPP", "PPKUKM"}


def test_seeding_a_seeded_database_is_refused(database, seeded, environment, clock) -> None:
    done = bot(environment, "seed-demo")
    assert done.returncode == 0 and "already has data" in done.stdout
    with pytest.raises(IntegrityError), database.begin() as db:
        seed_demo(db=db, key=TEST_KEY, now=clock() + timedelta(days=1), households=20)
    with database.connect() as db:
        assert db.execute(select(func.count()).select_from(CourseBatch)).scalar_one() == (
            seeded.batches
        )
        assert db.execute(select(func.count()).select_from(HealthSlot)).scalar_one() == (
            seeded.health_slots
        )
