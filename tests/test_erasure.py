"""«Hapus data»: erasure after confirmation leaves nothing personal behind."""

from sqlalchemy import select

from handlers.notices import queue_status_change
from storage import applications
from storage.applications import Status
from storage.demo import seed_health
from storage.health import HealthSlot
from tests.helpers import Chat, all_rows
from tests.test_applications_flow import SCHOLARSHIP_EN
from tests.test_registration import HAPPY_EN, HAPPY_ID


def rows_mentioning(database, *needles: str) -> list[tuple[str, tuple]]:
    """Return every row, in any table, that contains one of the strings."""
    found = []
    for table, rows in all_rows(database).items():
        for row in rows:
            if any(needle in str(value) for value in row for needle in needles):
                found.append((table, row))
    return found


async def test_erasure_leaves_no_personal_data(engine, database) -> None:
    siti, budi = Chat(engine, "siti-wa-6281234567890"), Chat(engine, "budi")
    await siti.run(HAPPY_ID)
    await budi.run(HAPPY_EN)
    assert rows_mentioning(database, "Siti Aminah", "+6281234567890", "siti-wa")

    await siti.send("hapus data")
    assert "Ini akan menghapus semua data" in siti.text
    assert "nama" in siti.text and "nomor HP" in siti.text
    await siti.send("Ya, hapus data saya")
    assert "Data Bapak/Ibu sudah dihapus" in siti.text

    assert rows_mentioning(database, "Siti Aminah", "+6281234567890", "siti-wa") == []
    tables = all_rows(database)
    assert len(tables["residents"]) == 1  # only Budi is left
    assert len(tables["channel_identities"]) == 1
    assert len(tables["conversations"]) == 1
    assert {row[0] for row in tables["processed_messages"]} == {
        row[0] for row in tables["channel_identities"]
    }
    assert rows_mentioning(database, "Budi Santoso")  # the other resident is untouched


async def test_erasure_can_be_declined(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [("Profil saya", "Data Bapak/Ibu"), ("Hapus data saya", "tidak bisa dibatalkan")]
    )
    await chat.send("2")
    assert "tidak ada data yang dihapus" in chat.text and "Menu utama" in chat.text
    assert rows_mentioning(database, "Siti Aminah")


async def test_after_erasure_the_next_message_starts_afresh(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("hapus data", "Lanjutkan?"), ("1", "sudah dihapus")])
    await chat.send("halo")
    assert "Selamat datang di Layanan Warga" in chat.text
    assert rows_mentioning(database, "Siti Aminah") == []


async def test_unregistered_resident_can_erase_the_chat_id(chat: Chat, database) -> None:
    await chat.run([("halo", "Selamat datang"), ("hapus data", "ID chat, pilihan bahasa")])
    assert "nomor HP" not in chat.text and "persetujuan privasi" not in chat.text
    await chat.send("1")
    assert all_rows(database)["residents"] == []


async def test_erasure_takes_applications_bookings_and_queued_messages(
    engine, database, clock
) -> None:
    with database.begin() as db:
        seed_health(db=db, now=clock())
    budi = Chat(engine, "budi")
    await budi.run(HAPPY_EN)
    await budi.run(SCHOLARSHIP_EN)  # the child is Rina Marlina at SMPN 195 Jakarta
    await budi.send("Submit")
    await budi.send("Free health checks")
    await budi.tap("kind:talk")
    await budi.send("1")
    await budi.send("1")
    await budi.send("yes")
    assert "Booked:" in budi.text
    with database.begin() as db:
        filed = applications.set_status(
            db=db,
            ref="BSW-2026-000001",
            status=Status.VERIFIED,
            note="Rapor Rina Marlina sudah dicek",
            actor="petugas",
            now=clock(),
        )
        queue_status_change(db=db, filed=filed, now=clock())
    assert rows_mentioning(database, "Rina Marlina", "SMPN 195")
    await budi.send("hapus data")
    assert "your applications" in budi.text and "your health bookings" in budi.text
    await budi.send("yes")
    assert rows_mentioning(database, "Rina Marlina", "SMPN 195", "Budi Santoso") == []
    tables = all_rows(database)
    for table in ("applications", "application_events", "health_bookings", "outbound"):
        assert tables[table] == [], table
    with database.connect() as db:  # the place booked is free again
        assert sum(db.execute(select(HealthSlot.taken)).scalars()) == 0
