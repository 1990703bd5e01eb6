"""Siaran: staff send an announcement to a segment through the chat, as transcripts through the
engine; anyone else's "siaran" is plain text; and the reports the clock sends."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select, update

from handlers import broadcast_reports, moments
from handlers.engine import Engine
from handlers.messages import Kind
from storage import audit, residents, staff
from storage import broadcasts as stored
from storage.broadcasts import Broadcast, Segment, SegmentKind
from storage.demo import seed_training
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity
from storage.staff import Role
from tests.helpers import Chat, Clock
from tests.test_platform_limits import misfits
from tests.test_registration import HAPPY_ID

KLENDER, BAMBU = "31.75.07.1003", "31.75.07.1002"
TEXT = "Pembagian sembako RW 005 hari Sabtu pukul 08.00 di kantor kelurahan."


def add_staff(database: Database, clock: Clock, login: str, external_id: str, **extra) -> None:
    """Make a console chat a staff account."""
    with database.begin() as db:
        staff.load(db=db, now=clock())  # the shipped partners, for partner accounts
        staff.add(
            db=db,
            login=login,
            name=login.title(),
            role=extra.pop("role", Role.STAFF),
            now=clock(),
            channel="console",
            external_id=external_id,
            **extra,
        )


def add_resident(
    database: Database,
    clock: Clock,
    external_id: str,
    kelurahan: str,
    rw: int = 5,
    *,
    consent: bool = True,
    opted_out: bool = False,
    language: str = "id",
) -> int:
    """Create a resident (registered unless told otherwise); return their id."""
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id=external_id, language=language, now=clock()
        )
        residents.update_profile(
            db=db,
            profile=profile,
            now=clock(),
            name=f"Warga {external_id}",
            kelurahan_code=kelurahan,
            rw=rw,
            consent_at=clock() if consent else None,
            opted_out=opted_out,
        )
    return profile.id


def queued(database: Database) -> list[Outbound]:
    """Return every queued message."""
    with database.connect() as db:
        rows = db.execute(select(Outbound.__table__).order_by(Outbound.id)).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


def sent_broadcasts(database: Database) -> list[Broadcast]:
    """Return every broadcast."""
    with database.connect() as db:
        rows = db.execute(select(Broadcast.__table__).order_by(Broadcast.id)).all()
    return [Broadcast.model_validate(row._asdict()) for row in rows]


@pytest.fixture
def petugas(engine: Engine, database: Database, clock: Clock) -> Chat:
    """A staff member for the whole kecamatan, in chat."""
    add_staff(database, clock, "budi", "petugas-1")
    return Chat(engine, "petugas-1")


@pytest.fixture
def town(database: Database, clock: Clock) -> dict[str, int]:
    """Residents of Klender and Pondok Bambu: some consented, one said berhenti."""
    return {
        "klender": add_resident(database, clock, "w-klender", KLENDER, 5),
        "klender-rw7": add_resident(database, clock, "w-klender-7", KLENDER, 7),
        "stopped": add_resident(database, clock, "w-stopped", KLENDER, 5, opted_out=True),
        "no-consent": add_resident(database, clock, "w-new", KLENDER, 5, consent=False),
        "bambu": add_resident(database, clock, "w-bambu", BAMBU, 3, language="en"),
    }


async def to_preview(chat: Chat, *lines: str, text: str = TEXT) -> None:
    """Start a broadcast, choose its segment by the typed lines, write the text."""
    await chat.send("siaran")
    assert "Siaran baru" in chat.text, chat.text
    for line in lines:
        await chat.send(line)
    await chat.send(text)
    assert "Beginilah warga akan melihatnya" in chat.text, chat.text


def preview_key(chat: Chat, action: str) -> str:
    """Return the key of one of the preview's (or the repeat question's) buttons."""
    return next(key for key in chat.keys if key.endswith(f":{action}"))


async def test_staff_sends_to_a_kelurahan(petugas: Chat, town, database) -> None:
    await to_preview(petugas, "Satu kelurahan", "klender")
    assert TEXT in petugas.text
    assert "Untuk: warga Kelurahan Klender" in petugas.text
    assert "Siaran ini sampai ke 2 warga." in petugas.text
    assert "1 warga dilewati karena sudah mengetik “berhenti”." in petugas.text
    assert petugas.labels == [
        "Kirim sekarang",
        "Jadwalkan",
        "Ulangi berkala",
        "Ubah pesan",
        "Batal",
    ]
    stale = preview_key(petugas, "now")
    await petugas.tap(stale)
    assert "Siaran #1 diantrekan untuk 2 warga; perkembangannya akan kami kirim di sini." in (
        petugas.text
    )
    rows = queued(database)
    assert sorted(row.resident_id for row in rows) == [town["klender"], town["klender-rw7"]]
    assert {(row.kind, row.broadcast_id, row.text) for row in rows} == {
        (OutboundKind.ANNOUNCEMENT, 1, TEXT)
    }
    (found,) = sent_broadcasts(database)
    assert (found.created_by, found.recipients, found.skipped_opted_out) == ("budi", 2, 1)
    assert (found.report_channel, found.report_external_id) == ("console", "petugas-1")
    with database.connect() as db:
        (entry,) = audit.recent(db=db)
    assert (entry.actor, entry.role, entry.action, entry.target) == (
        "budi",
        "staff",
        "broadcast.queue",
        "siaran #1",
    )
    assert entry.details["segment"] == {"kind": "kelurahan", "value": KLENDER}
    assert entry.details["recipients"] == 2
    # the old preview's button, tapped again, sends nothing more
    await petugas.tap(stale)
    assert "dari pesan lama dan sudah tidak berlaku" in petugas.text
    assert len(sent_broadcasts(database)) == 1 and len(queued(database)) == 2


async def test_stale_preview_button_does_not_send_a_newer_broadcast(
    petugas: Chat, town, database
) -> None:
    await to_preview(petugas, "Satu kelurahan", "klender")
    old = preview_key(petugas, "now")
    await petugas.tap(preview_key(petugas, "edit"))
    await petugas.send("Pesan yang sudah diperbaiki.")
    await petugas.tap(old)  # from the first preview
    assert "dari pesan lama dan sudah tidak berlaku" in petugas.text
    assert sent_broadcasts(database) == [] and queued(database) == []
    await petugas.send("1")
    assert "Siaran #1 diantrekan" in petugas.text
    assert {row.text for row in queued(database)} == {"Pesan yang sudah diperbaiki."}


async def test_rw_segment_reaches_only_that_rw(petugas: Chat, town, database) -> None:
    await to_preview(petugas, "Satu RW", "Klender", "RW 7")
    assert "warga RW 007, Kelurahan Klender" in petugas.text
    assert "sampai ke 1 warga" in petugas.text
    await petugas.send("Kirim sekarang")
    assert [row.resident_id for row in queued(database)] == [town["klender-rw7"]]


async def test_the_same_text_within_a_day_asks_twice(
    petugas: Chat, town, database, clock: Clock
) -> None:
    await to_preview(petugas, "Satu kelurahan", "klender")
    await petugas.tap(preview_key(petugas, "now"))
    clock.advance(hours=3)
    await to_preview(petugas, "Semua warga", text=f"  {TEXT.upper()} ")  # same text, new spacing
    await petugas.tap(preview_key(petugas, "now"))
    assert "2 warga ini sudah menerima pesan yang sama dalam 24 jam terakhir" in petugas.text
    assert petugas.labels == ["Ya, kirim lagi", "Jangan kirim"]
    await petugas.tap(preview_key(petugas, "drop"))
    assert "Tidak ada yang dikirim" in petugas.text
    assert len(sent_broadcasts(database)) == 1
    await to_preview(petugas, "Semua warga", text=TEXT)
    await petugas.tap(preview_key(petugas, "now"))
    await petugas.tap(preview_key(petugas, "again"))
    assert "Siaran #2 diantrekan untuk 3 warga" in petugas.text
    assert len(queued(database)) == 5
    # a day later the same text goes without the second question
    clock.advance(hours=25)
    await to_preview(petugas, "Semua warga", text=TEXT)
    await petugas.tap(preview_key(petugas, "now"))
    assert "Siaran #3 diantrekan untuk 3 warga" in petugas.text


async def test_schedule_later_sets_not_before(petugas: Chat, town, database) -> None:
    await to_preview(petugas, "Satu kelurahan", "klender")
    await petugas.tap(preview_key(petugas, "later"))
    assert "Kapan siaran dikirim?" in petugas.text
    await petugas.send("kapan saja")
    assert "tidak dapat kami baca" in petugas.text
    await petugas.send("hari ini 08.00")  # it is 09.00 WIB
    assert "sudah lewat" in petugas.text
    await petugas.send("besok 08.00")
    assert "Siaran #1 dijadwalkan pada Minggu, 29 November 2026 08.00 WIB untuk 2 warga" in (
        petugas.text
    )
    at = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    assert {row.not_before for row in queued(database)} == {at}
    assert sent_broadcasts(database)[0].send_at == at
    with database.connect() as db:
        assert audit.recent(db=db)[0].details["send_at"] == at.isoformat()


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("besok 08.00", datetime(2026, 11, 29, 8, 0)),
        ("Besok jam 8", datetime(2026, 11, 29, 8, 0)),
        ("tomorrow 18:30", datetime(2026, 11, 29, 18, 30)),
        ("lusa 07.15", datetime(2026, 11, 30, 7, 15)),
        ("2026-12-01 08:00", datetime(2026, 12, 1, 8, 0)),
        ("1/12 08.00", datetime(2026, 12, 1, 8, 0)),
        ("01-12-2026 08.00 WIB", datetime(2026, 12, 1, 8, 0)),
        ("1 Desember 08.00", datetime(2026, 12, 1, 8, 0)),
        ("5 jan 2027 pukul 09.00", datetime(2027, 1, 5, 9, 0)),
        ("31/2 08.00", None),
        ("besok 25.00", None),
        ("besok", None),
        ("nanti sore", None),
    ],
)
def test_reading_a_date_and_time(typed: str, local: datetime | None) -> None:
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    found = moments.parse_moment(typed, now, "Asia/Jakarta")
    expected = None if local is None else (local - timedelta(hours=7)).replace(tzinfo=UTC)
    assert found == expected


async def test_day_and_month_early_in_the_year_mean_next_year() -> None:
    now = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
    found = moments.parse_moment("5/1 08.00", now, "Asia/Jakarta")
    assert found == datetime(2027, 1, 5, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("role", [None, Role.EVALUATOR, Role.PARTNER])
async def test_siaran_from_anyone_else_is_plain_text(
    engine: Engine, database: Database, clock: Clock, town, role: Role | None
) -> None:
    resident = Chat(engine, "warga-biasa")
    other = Chat(engine, "bukan-petugas")
    if role is not None:
        partner = "YPP" if role == Role.PARTNER else None
        add_staff(database, clock, "lain", "bukan-petugas", role=role, partner_code=partner)
    await resident.run(HAPPY_ID)
    await other.run(HAPPY_ID)
    said = await resident.send("siaran")
    assert "Siaran baru" not in "\n".join(reply.text for reply in said)  # plain text
    for word in ("siaran", "/siaran", "broadcast"):
        await other.send("menu")
        await resident.send("menu")
        assert await other.send(word) == await resident.send(word)
    assert "Siaran baru" not in other.text
    # a brand-new chat gets the welcome, as for any first message
    newcomer = Chat(engine, "baru")
    assert "Selamat datang" in "\n".join(r.text for r in await newcomer.send("siaran"))
    assert sent_broadcasts(database) == [] and queued(database) == []


async def test_staff_limited_to_a_kelurahan_reach_only_it(
    engine: Engine, database: Database, clock: Clock, town
) -> None:
    add_staff(database, clock, "ani", "petugas-klender", kelurahan_code=KLENDER)
    chat = Chat(engine, "petugas-klender")
    await chat.send("siaran")
    assert "hanya dapat menjangkau warga Kelurahan Klender" in chat.text
    await chat.send("Satu RW")  # their kelurahan without asking
    assert "RW berapa di Kelurahan Klender?" in chat.text
    await chat.send("batal")
    await to_preview(chat, "Satu kelurahan")
    assert "Untuk: warga Kelurahan Klender" in chat.text
    await chat.send("batal")
    await to_preview(chat, "Menurut bahasa", "English")  # the only English speaker is elsewhere
    assert "sampai ke 0 warga" in chat.text
    await chat.send("batal")
    await chat.send("siaran")
    await chat.send("Menurut bahasa")
    await chat.tap(f"bc:val:{BAMBU}")  # another kelurahan's button: not offered here
    assert "dari pesan lama dan sudah tidak berlaku" in chat.text
    await chat.send("batal")
    await to_preview(chat, "Semua warga")
    assert "Untuk: semua warga Kelurahan Klender" in chat.text
    await chat.send("Kirim sekarang")
    assert {row.resident_id for row in queued(database)} == {town["klender"], town["klender-rw7"]}
    assert sent_broadcasts(database)[0].kelurahan_limit == KLENDER


async def test_a_staff_member_removed_mid_flow_goes_home(
    petugas: Chat, town, database, clock: Clock
) -> None:
    await to_preview(petugas, "Satu kelurahan", "klender")
    with database.begin() as db:
        staff.remove(db=db, login="budi", now=clock())
    await petugas.tap(preview_key(petugas, "now"))
    assert "Akun ini tidak dapat lagi mengirim siaran" in petugas.text
    assert "Menu utama" in petugas.text
    assert sent_broadcasts(database) == [] and queued(database) == []
    await petugas.send("siaran")  # now plain text
    assert "Siaran baru" not in petugas.text


async def test_the_message_step_hints(petugas: Chat, town, database) -> None:
    await petugas.send("siaran")
    await petugas.send("Semua warga")
    await petugas.send_kind(Kind.STICKER)
    assert "stiker" in petugas.text.lower() and "Tulis siarannya" in petugas.text
    await petugas.send("   ")
    assert "kosong" in petugas.text
    await petugas.send("x" * 1001)
    assert "Pesan ini 1.001 karakter; paling banyak 1.000" in petugas.text
    await petugas.send("Posyandu balita besok pagi.")
    assert "Beginilah warga akan melihatnya" in petugas.text
    await petugas.tap(preview_key(petugas, "cancel"))
    assert "Dibatalkan. Tidak ada yang dikirim." in petugas.text
    assert queued(database) == []


async def test_program_course_and_channel_segments(petugas: Chat, town, database) -> None:
    with database.begin() as db:
        db.execute(
            update(residents.Resident.__table__)
            .where(residents.Resident.id == town["bambu"])
            .values(registry_programs="PKH;BPNT")
        )
    await to_preview(petugas, "Penerima program", "BPNT")
    assert "penerima BPNT" in petugas.text and "sampai ke 1 warga" in petugas.text
    await petugas.send("batal")
    await petugas.send("siaran")
    await petugas.send("Peserta kursus")
    await petugas.send("NOPE-1")
    assert "Tidak ada kursus dengan kode NOPE-1" in petugas.text
    await petugas.send("batal")
    await to_preview(petugas, "Menurut aplikasi", "WhatsApp")
    assert "sampai ke 0 warga" in petugas.text  # everyone here writes on the console
    await petugas.tap(preview_key(petugas, "now"))
    assert "tidak ada yang diantrekan" in petugas.text
    assert sent_broadcasts(database) == []


@pytest.mark.parametrize("language", ["id", "en"])
async def test_labels_fit_whatsapp(engine: Engine, database, clock, town, language) -> None:
    add_staff(database, clock, "budi", "petugas-1")
    with database.begin() as db:
        seed_training(db=db, now=clock())
    chat = Chat(engine, "petugas-1")
    seen = []
    await chat.send("siaran", language_hint=language)
    seen += chat.replies
    for kind in list(chat.keys)[:-1]:
        await chat.send("siaran")
        await chat.tap(kind)
        seen += chat.replies
    for kind in ("course", "batch"):
        await chat.send("siaran")
        await chat.tap(f"bc:kind:{kind}")
        assert chat.keys, chat.text
        await chat.send("1")
        assert "Beginilah" not in chat.text and ("Untuk" in chat.text or "To:" in chat.text)
    await chat.send("siaran")
    await chat.tap("bc:kind:everyone")
    await chat.send(TEXT)
    seen += chat.replies
    await chat.tap(preview_key(chat, "now"))
    await chat.send("siaran")
    await chat.tap("bc:kind:everyone")
    await chat.send(TEXT)
    await chat.tap(preview_key(chat, "now"))
    seen += chat.replies
    assert len([reply for reply in seen if reply.options]) >= 8
    assert not misfits(seen), "\n".join(misfits(seen))


def test_report_and_progress_texts(database: Database, clock: Clock) -> None:
    ids = [add_resident(database, clock, f"r{n}", KLENDER) for n in range(6)]
    add_resident(database, clock, "r-stop", KLENDER, opted_out=True)
    with database.begin() as db:
        broadcast_id, count, skipped = stored.queue(
            db=db,
            segment=Segment(SegmentKind.KELURAHAN, KLENDER),
            text=TEXT,
            created_by="budi",
            now=clock(),
        )
        assert (count, skipped) == (6, 1)
        table = Outbound.__table__
        statuses = [
            OutboundStatus.SENT,
            OutboundStatus.SENT,
            OutboundStatus.FAILED,
            OutboundStatus.FAILED,
            OutboundStatus.HELD,
            OutboundStatus.PENDING,
        ]
        for resident_id, status in zip(ids, statuses, strict=True):
            db.execute(
                table.update().where(table.c.resident_id == resident_id).values(status=status)
            )
        # the second failure is an account that blocked the bot
        db.execute(
            update(ChannelIdentity.__table__)
            .where(ChannelIdentity.resident_id == ids[3])
            .values(unreachable_at=clock())
        )
        found = stored.report(db=db, broadcast_id=broadcast_id)
    assert broadcast_reports.progress_text(found, "id") == "Siaran #1: 2 dari 6 sudah terkirim."
    assert broadcast_reports.progress_text(found, "en") == "Siaran #1: 2 of 6 sent so far."
    text = broadcast_reports.report_text(found, "id")
    for line in (
        "Siaran #1 selesai (6 penerima):",
        "• terkirim: 2",
        "• gagal: 1",
        "• memblokir bot atau akunnya hilang: 1",
        "• dilewati, sudah mengetik “berhenti”: 1",
        "• ditahan, jendela 24 jam WhatsApp sudah tertutup dan tidak ada templat: 1",
        "• masih menunggu: 1",
    ):
        assert line in text, text
    english = broadcast_reports.report_text(found, "en")
    assert "• sent: 2" in english and "• held, WhatsApp's 24-hour window" in english


def test_numbers_are_formatted_per_language() -> None:
    found = stored.Report(12, 1200, 600, 0, 0, 0, 0, 600)
    assert (
        broadcast_reports.progress_text(found, "id")
        == "Siaran #12: 600 dari 1.200 sudah terkirim."
    )
    assert "1,200" in broadcast_reports.progress_text(found, "en") or "1.200" in (
        broadcast_reports.progress_text(found, "en")
    )


async def test_a_recurring_siaran_planned_and_stopped_in_chat(
    petugas: Chat, town, database, clock
) -> None:
    from bot import broadcasting

    await to_preview(petugas, "Satu kelurahan", "klender")
    await petugas.tap(preview_key(petugas, "every"))
    assert "Seberapa sering pengumuman ini dikirim?" in petugas.text
    assert petugas.labels == ["Setiap hari", "Setiap minggu", "Setiap bulan", "Batal"]
    await petugas.send("setiap minggu")
    assert "Kapan kiriman pertama?" in petugas.text
    await petugas.send("kapan saja")
    assert "tidak dapat kami baca" in petugas.text
    await petugas.send("besok 08.00")
    assert (
        "Siaran berkala #1 kepada warga Kelurahan Klender: setiap Minggu pukul 08.00, yang "
        "pertama Minggu, 29 November 2026 08.00 WIB."
    ) in petugas.text
    (plan,) = sent_broadcasts(database)
    first = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    assert (plan.status, plan.cron, plan.send_at, plan.text) == ("recurring", "0 8 * * sun",
                                                                 first, TEXT)  # fmt: skip
    assert queued(database) == []  # nothing until its time
    with database.connect() as db:
        entry = audit.recent(db=db)[0]
    assert (entry.action, entry.details["every"]) == ("broadcast.plan", "0 8 * * sun")
    assert broadcasting.tick(database, now=first, time_zone="Asia/Jakarta") == 2
    assert sorted(row.resident_id for row in queued(database)) == [
        town["klender"],
        town["klender-rw7"],
    ]
    clock.now = first + timedelta(minutes=5)
    await petugas.send("siaran")
    assert "Hentikan siaran berkala" in petugas.labels
    await petugas.send("Hentikan siaran berkala")
    assert "Siaran berkala mana yang dihentikan?" in petugas.text
    assert (
        "#1: setiap Minggu pukul 08.00, kepada warga Kelurahan Klender, berikutnya Minggu, "
        "6 Desember 2026 08.00 WIB: “Pembagian sembako RW 005"
    ) in petugas.text
    assert petugas.keys == ["bp:stop:1", "bp:stop:cancel"]
    await petugas.tap("bp:stop:1")
    assert "Siaran berkala #1 dihentikan; tidak ada kiriman lagi." in petugas.text
    assert sent_broadcasts(database)[0].status == "stopped"
    with database.connect() as db:
        assert audit.recent(db=db)[0].action == "broadcast.stop"
    await petugas.send("siaran")
    assert "Hentikan siaran berkala" not in petugas.labels


async def test_a_recurring_siaran_stopped_meanwhile_and_another_kelurahans(
    petugas: Chat, town, database, clock
) -> None:
    with database.begin() as db:
        for limit in (None, KLENDER, BAMBU):
            stored.plan(db=db, segment=Segment(SegmentKind.EVERYONE), text=TEXT,
                        cron="0 8 * * mon", next_at=clock() + timedelta(days=2),
                        created_by="budi", now=clock(), kelurahan_limit=limit)  # fmt: skip
    await petugas.send("siaran")
    await petugas.send("Hentikan siaran berkala")
    assert petugas.keys == ["bp:stop:3", "bp:stop:2", "bp:stop:1", "bp:stop:cancel"]
    assert "#2: setiap Senin pukul 08.00, kepada semua warga Kelurahan Klender" in petugas.text
    with database.begin() as db:
        stored.stop_plan(db=db, plan_id=1)  # from the command line, meanwhile
    await petugas.tap("bp:stop:1")  # the list is asked again, without it
    assert "Tombol itu dari pesan lama" in petugas.text and "#1:" not in petugas.text
    assert petugas.keys == ["bp:stop:3", "bp:stop:2", "bp:stop:cancel"]
    # staff of Klender see and stop only Klender's
    add_staff(database, clock, "lurah", "lurah-1", kelurahan_code=KLENDER)
    lurah = Chat(petugas.engine, "lurah-1")
    await lurah.send("siaran")
    await lurah.send("Hentikan siaran berkala")
    assert lurah.keys == ["bp:stop:2", "bp:stop:cancel"]
    await lurah.tap("bp:stop:3")  # Pondok Bambu's: not in their list
    assert "Tombol itu dari pesan lama" in lurah.text
    await lurah.tap("bp:stop:2")
    assert [plan.status for plan in sent_broadcasts(database)] == [
        "stopped",
        "stopped",
        "recurring",
    ]


async def test_a_monthly_siaran_needs_a_day_every_month_has(
    petugas: Chat, town, database, clock
) -> None:
    await to_preview(petugas, "Semua")
    await petugas.tap(preview_key(petugas, "every"))
    await petugas.send("3")  # every month
    await petugas.send("30/12 08.00")
    assert "Tidak setiap bulan punya tanggal 30" in petugas.text
    await petugas.send("1/12 07.30")
    assert "setiap tanggal 1 pukul 07.30" in petugas.text
    assert sent_broadcasts(database)[0].cron == "30 7 1 * *"
    # staff of one kelurahan do not see the whole kecamatan's recurring siaran
    add_staff(database, clock, "lurah", "lurah-1", kelurahan_code=KLENDER)
    lurah = Chat(petugas.engine, "lurah-1")
    await lurah.send("siaran")
    assert "Hentikan siaran berkala" not in lurah.labels and "Siaran baru" in lurah.text


async def test_the_list_to_stop_holds_nine_and_says_how_many_more(
    petugas: Chat, town, database, clock
) -> None:
    with database.begin() as db:
        for _number in range(11):
            stored.plan(db=db, segment=Segment(SegmentKind.EVERYONE), text=TEXT,
                        cron="0 8 * * *", next_at=clock() + timedelta(days=1),
                        created_by="budi", now=clock())  # fmt: skip
    await petugas.send("siaran")
    await petugas.send("Hentikan siaran berkala")
    assert len(petugas.keys) == 10 and petugas.keys[0] == "bp:stop:11"
    assert "…dan 2 siaran lebih lama: hentikan dengan `python -m bot broadcast --stop ID`." in (
        petugas.text
    )
    assert "setiap hari pukul 08.00" in petugas.text
