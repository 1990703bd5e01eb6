"""Applications: references, the status history and its allowed moves; the outbound queue."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from storage import applications, outbox, residents
from storage.applications import Kind, Status, StatusProblem
from storage.outbox import OutboundKind, OutboundStatus
from tests.helpers import Clock
from tests.test_training_storage import add_resident

SUBMITTED, VERIFIED, APPROVED, REJECTED = (
    Status.SUBMITTED,
    Status.VERIFIED,
    Status.APPROVED,
    Status.REJECTED,
)


@pytest.fixture
def people(database, clock: Clock) -> list[int]:
    """Three residents."""
    with database.begin() as db:
        return [add_resident(db, f"warga-{number}", clock.now) for number in range(3)]


def submit(
    database,
    resident_id: int,
    now: datetime,
    *,
    kind: Kind = Kind.SCHOLARSHIP,
    partner_code: str | None = None,
    year: int = 2026,
) -> str:
    """File an application in a transaction of its own and return its reference."""
    with database.begin() as db:
        return applications.submit(
            db=db,
            kind=kind,
            resident_id=resident_id,
            details={"school": "SMPN 1", "grade": 8},
            screening={"likely": True},
            partner_code=partner_code,
            year=year,
            now=now,
        )


def move(database, ref: str, status: Status, now: datetime, note=None, actor="petugas-1"):
    """Set a status in a transaction of its own."""
    with database.begin() as db:
        return applications.set_status(
            db=db, ref=ref, status=status, note=note, actor=actor, now=now
        )


def test_references_count_up_per_kind_and_year(database, clock, people) -> None:
    refs = [
        submit(database, people[0], clock.now),
        submit(database, people[1], clock.now),
        submit(database, people[0], clock.now, kind=Kind.CAPITAL),
        submit(database, people[2], clock.now),
        submit(database, people[1], clock.now, year=2027),
        submit(database, people[1], clock.now, kind=Kind.CAPITAL, year=2027),
        submit(database, people[2], clock.now, year=2027),
    ]
    assert refs == [
        "BSW-2026-000001",
        "BSW-2026-000002",
        "MDL-2026-000001",
        "BSW-2026-000003",
        "BSW-2027-000001",
        "MDL-2027-000001",
        "BSW-2027-000002",
    ]


def test_a_reference_that_was_rolled_back_is_given_again(database, clock, people) -> None:
    # the counter lives in the caller's transaction: a failed submission leaves no gap
    with database.connect() as db, db.begin() as transaction:
        applications.next_reference(db=db, kind=Kind.SCHOLARSHIP, year=2026)
        transaction.rollback()
    assert submit(database, people[0], clock.now) == "BSW-2026-000001"


def test_submitting_files_it_as_diajukan_by_the_resident(database, clock, people) -> None:
    ref = submit(database, people[0], clock.now, partner_code="BAZNAS")
    with database.connect() as db:
        filed = applications.get(db=db, ref=ref)
    assert (filed.ref, filed.kind, filed.resident_id, filed.status, filed.partner_code) == (
        ref,
        Kind.SCHOLARSHIP,
        people[0],
        SUBMITTED,
        "BAZNAS",
    )
    assert filed.details == {"school": "SMPN 1", "grade": 8}
    assert filed.screening == {"likely": True}
    assert filed.created_at == filed.updated_at == clock.now
    assert filed.history == (applications.Event(SUBMITTED, None, "warga", clock.now),)


def test_staff_move_it_along_with_notes_and_names(database, clock, people) -> None:
    ref = submit(database, people[0], clock.now)
    submitted = clock.now
    clock.advance(days=2)
    verified = move(database, ref, VERIFIED, clock.now, note="  KK dan KTP cocok ", actor="ani")
    assert (verified.status, verified.updated_at) == (VERIFIED, clock.now)
    clock.advance(days=3)
    approved = move(database, ref, APPROVED, clock.now, note="   ", actor="budi")
    assert approved.status == APPROVED
    assert approved.created_at == submitted
    assert approved.updated_at == clock.now
    assert approved.history == (
        applications.Event(SUBMITTED, None, "warga", submitted),
        applications.Event(VERIFIED, "KK dan KTP cocok", "ani", submitted + timedelta(days=2)),
        applications.Event(APPROVED, None, "budi", clock.now),  # blank notes are no notes
    )


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), APPROVED),  # no approval without verification
        ((), SUBMITTED),
        ((VERIFIED,), VERIFIED),
        ((VERIFIED,), SUBMITTED),
        ((VERIFIED, APPROVED), REJECTED),  # final
        ((VERIFIED, APPROVED), APPROVED),
        ((REJECTED,), VERIFIED),  # final
        ((REJECTED,), APPROVED),
        ((VERIFIED, REJECTED), SUBMITTED),
    ],
)
def test_moves_that_are_not_allowed(database, clock, people, path, illegal) -> None:
    ref = submit(database, people[0], clock.now)
    for status in path:
        move(database, ref, status, clock.now, note="alasan")
    with pytest.raises(StatusProblem):
        move(database, ref, illegal, clock.now, note="alasan")
    with database.connect() as db:
        filed = applications.get(db=db, ref=ref)
    assert [event.status for event in filed.history] == [SUBMITTED, *path]


def test_a_final_status_says_so(database, clock, people) -> None:
    ref = submit(database, people[0], clock.now)
    move(database, ref, REJECTED, clock.now, note="Berkas tidak lengkap")
    with pytest.raises(StatusProblem, match="none: it is final"):
        move(database, ref, VERIFIED, clock.now)


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_rejection_needs_a_reason(database, clock, people, note) -> None:
    ref = submit(database, people[0], clock.now)
    with pytest.raises(StatusProblem, match="reason"):
        move(database, ref, REJECTED, clock.now, note=note)
    rejected = move(database, ref, REJECTED, clock.now, note="Di luar wilayah")
    assert rejected.history[-1] == applications.Event(
        REJECTED, "Di luar wilayah", "petugas-1", clock.now
    )


def test_no_such_application_cannot_move(database, clock) -> None:
    with pytest.raises(StatusProblem, match="no application BSW-2026-000009"):
        move(database, " bsw-2026-000009 ", VERIFIED, clock.now)


def test_the_reference_is_found_in_any_case(database, clock, people) -> None:
    ref = submit(database, people[0], clock.now)
    with database.connect() as db:
        for written in (ref, ref.lower(), f"  {ref.lower()}\n", "Bsw-2026-000001"):
            assert applications.get(db=db, ref=written).ref == ref
        assert applications.get(db=db, ref="BSW-2026-000002") is None
    moved = move(database, ref.lower(), VERIFIED, clock.now)
    assert moved.ref == ref


def test_the_listing_narrows_by_kind_status_and_partner(database, clock, people) -> None:
    first = submit(database, people[0], clock.now, partner_code="BAZNAS")
    second = submit(database, people[1], clock.now, kind=Kind.CAPITAL, partner_code="BAZNAS")
    third = submit(database, people[2], clock.now, partner_code="DINAS")
    fourth = submit(database, people[0], clock.now, kind=Kind.CAPITAL)
    move(database, third, VERIFIED, clock.now)
    move(database, second, VERIFIED, clock.now)

    def refs(**narrowed) -> list[str]:
        with database.connect() as db:
            return [filed.ref for filed in applications.listing(db=db, **narrowed)]

    assert refs() == [first, second, third, fourth]  # oldest first
    assert refs(kind=Kind.SCHOLARSHIP) == [first, third]
    assert refs(kind=Kind.CAPITAL) == [second, fourth]
    assert refs(status=VERIFIED) == [second, third]
    assert refs(status=SUBMITTED) == [first, fourth]
    assert refs(partner_code="BAZNAS") == [first, second]
    assert refs(kind=Kind.CAPITAL, status=VERIFIED, partner_code="BAZNAS") == [second]
    assert refs(kind=Kind.SCHOLARSHIP, status=APPROVED) == []
    with database.connect() as db:
        listed = applications.listing(db=db, status=VERIFIED)
    assert [len(filed.history) for filed in listed] == [2, 2]


def test_own_applications_newest_first(database, clock, people) -> None:
    first = submit(database, people[0], clock.now)
    clock.advance(days=1)
    submit(database, people[1], clock.now)
    second = submit(database, people[0], clock.now, kind=Kind.CAPITAL)
    move(database, first, VERIFIED, clock.now)
    with database.connect() as db:
        mine = applications.of_resident(db=db, resident_id=people[0])
        nobody = applications.of_resident(db=db, resident_id=people[2])
    assert [(filed.ref, filed.status, len(filed.history)) for filed in mine] == [
        (second, SUBMITTED, 1),
        (first, VERIFIED, 2),
    ]
    assert nobody == []


def add_identity(database, resident_id: int, channel: str, external_id: str, now) -> int:
    """Give a resident one more chat identity and return its id."""
    with database.begin() as db:
        created = db.execute(
            residents.ChannelIdentity.__table__.insert().values(
                resident_id=resident_id, channel=channel, external_id=external_id, created_at=now
            )
        )
        return created.inserted_primary_key[0]


def enqueue(database, resident_id: int, now, **fields) -> int | None:
    """Queue a message in a transaction of its own."""
    with database.begin() as db:
        return outbox.enqueue(
            db=db,
            resident_id=resident_id,
            kind=OutboundKind.STATUS,
            text="Pengajuan BSW-2026-000001 diverifikasi.",
            now=now,
            **fields,
        )


def unreachable(database, channel: str, external_id: str, at) -> None:
    """Mark an identity unreachable since `at` (None: reachable again)."""
    with database.begin() as db:
        residents.set_unreachable(db=db, channel=channel, external_id=external_id, at=at)


def test_nothing_is_queued_for_someone_who_cannot_be_reached(database, clock, people) -> None:
    unreachable(database, "console", "warga-0", clock.now)
    assert enqueue(database, people[0], clock.now) is None
    with database.connect() as db:
        assert outbox.pending_for(db=db, resident_id=people[0]) == []
        assert db.execute(select(outbox.Outbound.__table__)).all() == []
    unreachable(database, "console", "warga-0", None)  # they wrote again
    assert enqueue(database, people[0], clock.now) is not None


def test_the_newest_reachable_identity_gets_the_message(database, clock, people) -> None:
    telegram = add_identity(database, people[0], "telegram", "5550001", clock.now)
    whatsapp = add_identity(database, people[0], "whatsapp", "6281200000000", clock.now)
    add_identity(database, people[1], "whatsapp", "6281299999999", clock.now)
    later = clock.now + timedelta(hours=8)

    first = enqueue(database, people[0], clock.now, not_before=later)
    unreachable(database, "whatsapp", "6281200000000", clock.now)
    second = enqueue(database, people[0], clock.now)
    with database.connect() as db:
        queued = outbox.pending_for(db=db, resident_id=people[0])
    assert [message.id for message in queued] == [first, second]
    assert [(message.identity_id, message.channel) for message in queued] == [
        (whatsapp, "whatsapp"),
        (telegram, "telegram"),
    ]
    assert [message.not_before for message in queued] == [later, clock.now]
    assert all(
        (message.status, message.attempts, message.kind, message.created_at)
        == (OutboundStatus.PENDING, 0, OutboundKind.STATUS, clock.now)
        for message in queued
    )
    assert queued[0].text == "Pengajuan BSW-2026-000001 diverifikasi."
    with database.connect() as db:
        assert outbox.pending_for(db=db, resident_id=people[1]) == []
