"""Jadwal sembako as transcripts: the next pickups for an RW, the nearest places from a shared
location, and reminders. The demo schedule starts on the Saturdays after 28 November 2026."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from handlers.formatting import format_window
from handlers.messages import Kind
from storage.demo import seed_distributions
from storage.reminders import Reminder
from storage.schedules import Distribution, replace_rws
from tests.helpers import Chat
from tests.test_registration import HAPPY_EN, HAPPY_ID

KANTOR_KLENDER = (-6.217900, 106.901200)  # serves Klender RW 1-5, where Siti lives (RW 5)


@pytest.fixture
def schedule(database, clock) -> None:
    """Load the demo distributions for the weeks after the test clock's day."""
    with database.begin() as db:
        seed_distributions(db=db, today=clock().date(), now=clock())


async def test_a_registered_resident_sees_the_next_pickups_of_her_rw(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    text = chat.text
    assert "Pembagian sembako berikutnya untuk Kelurahan Klender, RW 005:" in text
    assert "Waktu: Sabtu, 19 Desember 2026, 08.00–11.00 WIB" in text
    assert "Waktu: Sabtu, 16 Januari 2027, 08.00–11.00 WIB" in text
    assert "Tempat: Kantor Kelurahan Klender, Jl. Bekasi Timur Raya No. 3" in text
    assert "https://www.google.com/maps/search/?api=1&query=-6.217900,106.901200" in text
    assert "Yang dibawa: KTP asli, Kartu Keluarga, dan kartu KKS" in text
    assert "RPTRA Klender" not in text  # serves other RWs
    assert chat.labels == ["Ingatkan saya", "Lokasi terdekat", "RW lain", "Menu utama"]


async def test_in_english_dates_and_package(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_EN)  # Pondok Bambu RW 14
    await chat.send("Sembako schedule")
    assert "Next sembako distributions for Kelurahan Pondok Bambu, RW 014:" in chat.text
    assert "When: Saturday, 12 December 2026, 13.00–16.00 WIB" in chat.text
    assert "Package: Rice 10 kg" in chat.text


async def test_someone_not_registered_is_asked_kelurahan_and_rw(chat: Chat, schedule) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    await chat.run(
        [
            ("Jadwal sembako", "Bapak/Ibu tinggal di kelurahan mana?"),
            ("klender", "Ketik nomor dari 001 sampai 015"),
            ("99", "Mohon ketik nomor RW dari 001 sampai 015"),
            ("RW 07", "Kelurahan Klender, RW 007"),
        ]
    )
    assert "RPTRA Klender" in chat.text


async def test_another_rw_from_the_schedule(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_ID)
    await chat.run(
        [
            ("Jadwal sembako", "RW 005"),
            ("RW lain", "kelurahan mana"),
            ("Pondok Kopi", "RW berapa"),
            ("3", "Kelurahan Pondok Kopi, RW 003"),
        ]
    )


async def test_no_pickup_scheduled_says_so(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    assert "Belum ada jadwal pembagian sembako untuk Kelurahan Klender, RW 005" in chat.text
    assert "Ingatkan saya" not in chat.labels


async def test_a_pickup_under_way_is_shown_but_the_reminder_is_for_the_next(
    chat: Chat, schedule, clock
) -> None:
    await chat.run(HAPPY_ID)
    clock.now = datetime(2026, 12, 19, 2, 0, tzinfo=UTC)  # 09.00 WIB, during the first
    await chat.send("Jadwal sembako")
    assert "Sabtu, 19 Desember 2026" in chat.text
    await chat.send("Ingatkan saya")
    assert "Jumat, 15 Januari 2027 18.00 WIB dan Sabtu, 16 Januari 2027 06.30 WIB" in chat.text


async def test_remind_me_records_the_evening_before_and_the_morning_of(
    chat: Chat, schedule, database
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    await chat.send("Ingatkan saya")
    assert (
        "Kami akan mengingatkan Bapak/Ibu pada Jumat, 18 Desember 2026 18.00 WIB dan "
        "Sabtu, 19 Desember 2026 06.30 WIB." in chat.text
    )
    assert "Lokasi terdekat" in chat.labels  # the options stay at hand
    await chat.send("1")  # asked twice: nothing doubles
    assert "Bapak/Ibu sudah meminta pengingat ini" in chat.text
    with database.connect() as db:
        times = [row.remind_at for row in db.execute(select(Reminder))]
    assert times == [
        datetime(2026, 12, 18, 11, 0, tzinfo=UTC),
        datetime(2026, 12, 18, 23, 30, tzinfo=UTC),
    ]


async def test_a_reminder_button_for_a_gone_distribution(chat: Chat, schedule, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    key = chat.keys[0]
    with database.begin() as db:  # staff removed it meanwhile
        distribution_id = int(key.rsplit(":", 1)[1])
        db.execute(delete(Distribution).where(Distribution.id == distribution_id))
    await chat.tap(key)
    assert "Pembagian itu sudah tidak ada di jadwal" in chat.text


async def test_a_reminder_button_from_an_old_message_still_works(
    chat: Chat, schedule, database
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    key = chat.keys[0]
    await chat.send("menu")
    await chat.send("Cek kelayakan")  # somewhere else entirely
    await chat.tap(key)
    assert "Kami akan mengingatkan Bapak/Ibu pada Jumat, 18 Desember 2026" in chat.text
    assert "Berapa orang" in chat.text  # and the open question is asked again
    with database.connect() as db:
        assert len(db.execute(select(Reminder)).all()) == 2


async def test_a_reminder_needs_consent(chat: Chat, schedule) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    await chat.run([("Jadwal sembako", "kelurahan"), ("Klender", "RW"), ("5", "RW 005")])
    await chat.send("Ingatkan saya")
    assert "Untuk menyimpan pengingat, kami perlu persetujuan" in chat.text
    await chat.send("setuju")  # back to the schedule of that RW
    assert "Kelurahan Klender, RW 005" in chat.text
    await chat.send("Ingatkan saya")
    assert "Kami akan mengingatkan Bapak/Ibu" in chat.text


async def test_erasure_removes_reminders(chat: Chat, schedule, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("Jadwal sembako", "RW 005"), ("Ingatkan saya", "mengingatkan")])
    await chat.run([("hapus data", "Lanjutkan?"), ("1", "sudah dihapus")])
    with database.connect() as db:
        assert db.execute(select(Reminder)).all() == []


async def test_nearest_places_from_a_shared_location(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("Jadwal sembako", "RW 005"), ("Lokasi terdekat", "Mohon kirim lokasi")])
    assert chat.replies[-1].request == "location"
    latitude, longitude = KANTOR_KLENDER
    await chat.send_kind(kind=Kind.LOCATION, latitude=latitude + 0.003, longitude=longitude)
    text = chat.text
    assert text.startswith("Tempat pengambilan terdekat:")
    first = text.split("\n\n")[1]
    assert first.startswith("330 m dari Bapak/Ibu, untuk Kelurahan Klender (RW 001–005):")
    assert "Kantor Kelurahan Klender" in first
    assert text.count(" dari Bapak/Ibu, untuk Kelurahan") == 3
    assert "Menu utama" in text


async def test_typing_instead_of_sharing_a_location(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_ID)
    await chat.run([("Jadwal sembako", "RW 005"), ("Lokasi terdekat", "Mohon kirim lokasi")])
    await chat.send("Jl. Bekasi Timur Raya")
    assert "Mengetik alamat tidak bisa dipakai di sini" in chat.text
    await chat.send_kind(kind=Kind.STICKER)
    assert "Mohon kirim lokasi" in chat.text


async def test_a_location_shared_elsewhere_gets_a_hint(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_ID)
    await chat.send_kind(kind=Kind.LOCATION, latitude=-6.2, longitude=106.9)
    assert "tidak meminta lokasi" in chat.text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("id", "Sabtu, 13 Februari 2027, 08.00–11.00 WIB"),
        ("en", "Saturday, 13 February 2027, 08.00–11.00 WIB"),
    ],
)
def test_pickup_windows_read_naturally(language: str, expected: str) -> None:
    start = datetime(2027, 2, 13, 1, 0, tzinfo=UTC)
    end = datetime(2027, 2, 13, 4, 0, tzinfo=UTC)
    assert format_window(start, end, language) == expected


async def test_a_location_shared_at_the_schedule_lists_the_nearest(chat: Chat, schedule) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    latitude, longitude = KANTOR_KLENDER
    await chat.send_kind(kind=Kind.LOCATION, latitude=latitude, longitude=longitude)
    assert chat.text.startswith("Tempat pengambilan terdekat:")


async def test_one_place_serving_two_groups_of_rws_lists_both(chat: Chat, database, clock) -> None:
    with database.begin() as db:
        for ref, rws, hour in (("A", (1, 2, 3, 4, 5), 1), ("B", (6, 7, 8, 9, 10), 6)):
            created = db.execute(
                Distribution.__table__.insert().values(
                    ref=ref,
                    program_code="BPNT",
                    kelurahan_code="31.75.07.1003",
                    all_rws=False,
                    starts_at=datetime(2026, 12, 5, hour, tzinfo=UTC),
                    ends_at=datetime(2026, 12, 5, hour + 3, tzinfo=UTC),
                    place="Balai Warga",
                    address="Jl. Contoh 1",
                    latitude=-6.2179,
                    longitude=106.9012,
                    cancelled=False,
                    updated_at=clock(),
                )
            )
            replace_rws(db=db, distribution_id=created.inserted_primary_key[0], rws=rws)
    await chat.run(HAPPY_ID)
    await chat.run([("Jadwal sembako", "RW 005"), ("Lokasi terdekat", "Mohon kirim lokasi")])
    await chat.send_kind(kind=Kind.LOCATION, latitude=-6.2179, longitude=106.9012)
    assert "(RW 001–005)" in chat.text and "(RW 006–010)" in chat.text
