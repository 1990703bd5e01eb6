"""Complaints and participation, as transcripts through the engine: a resident files a
pengaduan (with a photo), usul, sanggah or saran and follows it by number; staff take, answer
and close it in the chat (role and kelurahan checked at every step; anonymous ones never show
who); the daily digest of overdue ones; erasure keeps the complaint without the person."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import select

from bot.complaint_digest import digest
from handlers.engine import Engine
from handlers.messages import Kind
from storage import audit, complaints, staff
from storage.complaints import Complaint, ComplaintStatus, add_working_days, due_at
from storage.conversations import Conversation
from storage.erasure import erase_resident
from storage.outbox import Outbound, OutboundKind
from storage.residents import ChannelIdentity
from storage.staff import Role
from tests.helpers import Chat, Clock
from tests.test_platform_limits import misfits
from tests.test_registration import HAPPY_EN, HAPPY_ID

ZONE = "Asia/Jakarta"
KLENDER, BAMBU = "31.75.07.1003", "31.75.07.1002"
STORY = "Bantuan sembako kami dipotong Rp50.000 oleh oknum di RW 005 pada Sabtu lalu."
PHOTO = "AgACAgUAAxkBAAIBZ2abc-largest"


def add_staff(database: Database, clock: Clock, login: str, chat: Chat, **extra) -> None:
    """Make a console chat a staff account."""
    with database.begin() as db:
        staff.add(
            db=db,
            login=login,
            name=login.title(),
            role=extra.pop("role", Role.STAFF),
            now=clock(),
            channel="console",
            external_id=chat.external_id,
            **extra,
        )


def stored(database: Database) -> list[Complaint]:
    """Return every complaint, oldest first."""
    with database.connect() as db:
        rows = db.execute(select(Complaint.__table__).order_by(Complaint.id)).all()
    return [Complaint.model_validate(row._asdict()) for row in rows]


def queued(database: Database) -> list[Outbound]:
    """Return every queued message."""
    with database.connect() as db:
        rows = db.execute(select(Outbound.__table__).order_by(Outbound.id)).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


def position(database: Database, chat: Chat) -> str:
    """Return the flow a chat stands in."""
    with database.connect() as db:
        rows = db.execute(select(Conversation.__table__)).all()
    flows = {row.resident_id: row.flow for row in rows}
    with database.connect() as db:
        resident = db.execute(
            select(ChannelIdentity.resident_id).where(
                ChannelIdentity.external_id == chat.external_id
            )
        ).scalar_one()
    return flows[resident]


async def file_complaint(chat: Chat, *, anonymous: bool = False, photo: bool = True) -> None:
    """File a pengaduan about a cut from a registered resident's menu."""
    await chat.send("Masukan & pengaduan")
    await chat.tap("cp:ADU")
    await chat.tap("cat:pungli")
    await chat.send(STORY)
    if photo:
        await chat.send_kind(Kind.PHOTO, media_id=PHOTO)
    else:
        await chat.send("lewati")
    await chat.tap("anon:yes" if anonymous else "anon:no")
    await chat.tap("send:yes")


def test_the_response_time_skips_weekends() -> None:
    assert add_working_days(date(2026, 11, 28), 3) == date(2026, 12, 2)  # Saturday → Wednesday
    assert add_working_days(date(2026, 12, 4), 3) == date(2026, 12, 9)  # Friday → Wednesday
    due = due_at(datetime(2026, 12, 2, 3, 0, tzinfo=UTC), ZONE)  # Wednesday → Monday, 23:59 WIB
    assert due == datetime(2026, 12, 7, 16, 59, 59, tzinfo=UTC)


async def test_a_complaint_from_filing_to_closing(
    engine: Engine, database: Database, clock: Clock
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    await siti.send("Masukan & pengaduan")
    assert "Apa yang ingin Bapak/Ibu lakukan?" in siti.text
    assert siti.labels == [
        "Pengaduan",
        "Usul penerima",
        "Sanggah penerima",
        "Saran program",
        "Cek status aduan",
        "Beri masukan",
        "Menu utama",
    ]
    await siti.send("1")
    assert "Pengaduan Bapak/Ibu tentang apa?" in siti.text
    assert "Potongan atau pungli" in siti.labels
    await siti.send("Potongan atau pungli")
    assert "apa, di mana, dan kapan" in siti.text and "2000 karakter" in siti.text
    # what cannot be a complaint gets the engine's hints, and the question again
    await siti.send_kind(Kind.STICKER)
    assert "Terima kasih stikernya!" in siti.text and "apa, di mana, dan kapan" in siti.text
    await siti.send_kind(Kind.VOICE)
    assert "pesan suara" in siti.text
    await siti.send("   ")
    assert "Pesan Bapak/Ibu kosong" in siti.text
    await siti.send("x" * 2001)
    assert "berisi 2001 karakter; paling banyak 2000" in siti.text
    await siti.send(STORY)
    assert "Jika ada foto sebagai bukti" in siti.text and siti.labels == ["Lewati"]
    await siti.send("bagus")
    assert "Silakan kirim foto, atau pilih “Lewati”" in siti.text
    await siti.send_kind(Kind.PHOTO, media_id=PHOTO)
    assert "Kirim secara anonim?" in siti.text
    await siti.tap("anon:no")
    assert "Jenis: Pengaduan" in siti.text and "Tentang: Potongan atau pungli" in siti.text
    assert "Foto: terlampir" in siti.text and "Dikirim dengan nama: Siti Aminah" in siti.text
    await siti.tap("send:yes")
    assert "Nomor aduan: ADU-2026-000001" in siti.text
    assert "diverifikasi dalam 3 hari kerja, paling lambat Rabu, 2 Desember 2026" in siti.text
    assert "Menu utama" in siti.text
    [filed] = stored(database)
    assert (filed.kind, filed.category, filed.status) == ("ADU", "pungli", "baru")
    assert filed.photo_file_id == f"console:{PHOTO}" and filed.kelurahan_code == KLENDER
    assert not filed.anonymous and filed.text == STORY

    # staff: the queue, the complaint, take it
    petugas = Chat(engine, "petugas")
    add_staff(database, clock, "petugas", petugas)
    await petugas.send("/aduan")
    assert "1 aduan terbuka" in petugas.text and "ADU-2026-000001 · Pengaduan · baru" in (
        petugas.text
    )
    assert petugas.labels == ["ADU-2026-000001", "Menu utama"]
    await petugas.send("1")
    assert "Dari: Siti Aminah, RW 005, Kelurahan Klender, HP 0812-3456-7890" in petugas.text
    assert "Foto: terlampir (dikirim saat aduan dibuka)" in petugas.text
    assert STORY in petugas.text and petugas.replies[-1].photo == f"console:{PHOTO}"
    assert petugas.labels == ["Ambil", "Balas", "Tutup", "Kembali ke antrean"]
    await petugas.send("Ambil")
    assert "ADU-2026-000001 sekarang Anda tangani" in petugas.text
    assert "Ditangani oleh: petugas" in petugas.text and "Ambil" not in petugas.labels
    assert stored(database)[0].status == ComplaintStatus.IN_PROGRESS
    # reply: queued to the resident, in their language, with the same transaction's audit
    await petugas.tap("ci:reply")
    assert "Tulis balasan" in petugas.text
    await petugas.send("Sudah kami cek bersama RW 005. Potongan dikembalikan hari Senin.")
    assert "Balasan untuk ADU-2026-000001 sedang dikirim kepada warga" in petugas.text
    [message] = queued(database)
    assert message.kind == OutboundKind.STATUS and message.resident_id == filed.resident_id
    assert message.text == (
        "Balasan petugas kelurahan untuk laporan Bapak/Ibu ADU-2026-000001:\n\n"
        "Sudah kami cek bersama RW 005. Potongan dikembalikan hari Senin."
    )
    answered = stored(database)[0]
    assert answered.status == ComplaintStatus.ANSWERED and answered.answered_at == clock()

    # the resident checks the status by number
    await siti.send("Masukan & pengaduan")
    await siti.send("Cek status aduan")
    assert "ADU-2026-000001" in siti.labels
    await siti.send(" adu-2026-000001 ")
    assert "Status: sudah dijawab" in siti.text
    assert "Potongan dikembalikan hari Senin." in siti.text

    # staff close it; the resident hears of it
    await petugas.tap("ci:close")
    assert "ADU-2026-000001 sudah ditutup" in petugas.text
    assert "Tidak ada aduan yang terbuka" in petugas.text
    closed = stored(database)[0]
    assert closed.status == ComplaintStatus.CLOSED and closed.closed_at == clock()
    assert "sekarang ditutup" in queued(database)[-1].text
    with database.connect() as db:
        actions = [entry.action for entry in audit.recent(db=db)]
    assert actions == ["complaint.close", "complaint.reply", "complaint.take"]


async def test_an_english_resident_gets_the_reply_in_english(
    engine: Engine, database: Database, clock: Clock
) -> None:
    budi = Chat(engine, "budi")
    await budi.run(HAPPY_EN)
    await budi.send("Feedback & complaints")
    await budi.tap("cp:SRN")
    assert "What is your idea?" in budi.text
    await budi.send("Please hold the sembako pickup on Saturdays too, many of us work.")
    assert "Send it anonymously?" in budi.text
    await budi.send("Yes, anonymous")
    assert "Sent anonymously" in budi.text
    await budi.send("Send")
    assert "Tracking number: SRN-2026-000001" in budi.text
    assert "by Wednesday, 2 December 2026" in budi.text
    petugas = Chat(engine, "petugas")
    add_staff(database, clock, "petugas", petugas)
    await petugas.send("aduan")
    await petugas.tap(petugas.keys[0])
    assert "Dari: anonim" in petugas.text and "Budi" not in petugas.text
    await petugas.tap("ci:reply")
    await petugas.send("Terima kasih, usul ini kami bawa ke rapat kelurahan.")
    [message] = queued(database)
    assert message.text.startswith(
        "Reply from the kelurahan officers to your report SRN-2026-000001:"
    )


async def test_anonymous_complaints_hide_who_sent_them(
    engine: Engine, database: Database, clock: Clock
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    await file_complaint(siti, anonymous=True, photo=False)
    assert "ADU-2026-000001" in siti.text
    [filed] = stored(database)
    assert filed.anonymous and filed.resident_id is not None  # so a reply can reach her
    assert filed.photo_file_id is None
    petugas = Chat(engine, "petugas")
    add_staff(database, clock, "petugas", petugas)
    await petugas.send("aduan")
    await petugas.send("1")
    assert "Dari: anonim (tidak ditampilkan kepada petugas)" in petugas.text
    for personal in ("Siti", "Aminah", "0812", "3456"):
        assert personal not in petugas.text
    await petugas.tap("ci:reply")
    await petugas.send("Akan kami tindak lanjuti.")
    [message] = queued(database)
    assert message.resident_id == filed.resident_id


async def test_a_resident_sees_only_their_own_reports(engine: Engine, database: Database) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    await file_complaint(siti)
    budi = Chat(engine, "budi")
    await budi.run(HAPPY_EN)
    await budi.send("Feedback & complaints")
    await budi.send("check status")  # as people say it, not only the button's words
    assert budi.labels == ["Main menu"]  # none of his own
    await budi.send("ADU-2026-000001")  # Siti's
    someone_elses = budi.text
    await budi.send("ADU-2026-999999")  # nobody's
    assert someone_elses.replace("000001", "999999") == budi.text
    assert "We found no report of yours with the number" in budi.text
    assert "Status" not in someone_elses and STORY not in someone_elses


async def test_a_resident_typing_aduan_gets_the_normal_answer(
    engine: Engine, database: Database
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    await file_complaint(siti)
    await siti.send("aduan")  # a resident's word for the menu entry, never the staff queue
    assert "Apa yang ingin Bapak/Ibu lakukan?" in siti.text
    assert "ADU-2026-000001" not in siti.text and "antrean" not in siti.text
    assert position(database, siti) == "complaint"
    await siti.tap("cp:ADU")
    await siti.tap("cat:data")
    await siti.send("aduan")  # at a free-text question it is just the text
    assert "Jika ada foto sebagai bukti" in siti.text


async def test_the_role_and_the_kelurahan_are_checked_at_every_step(
    engine: Engine, database: Database, clock: Clock
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)  # Klender
    await file_complaint(siti)
    [filed] = stored(database)
    bambu = Chat(engine, "petugas-bambu")
    add_staff(database, clock, "bambu", bambu, kelurahan_code=BAMBU)
    await bambu.send("aduan")
    assert "Tidak ada aduan yang terbuka" in bambu.text
    await bambu.tap(f"cq:{filed.id}")  # a button it was never shown
    assert "Tidak ada aduan yang terbuka" in bambu.text
    assert refusals(database) == []  # a button never shown is stale before any step sees it
    klender = Chat(engine, "petugas-klender")
    add_staff(database, clock, "klender", klender, kelurahan_code=KLENDER)
    await klender.send("aduan")
    assert "Hanya Kelurahan Klender" in klender.text and "ADU-2026-000001" in klender.labels
    await klender.send("1")
    # the account is removed while the complaint is open: nothing more happens
    with database.begin() as db:
        staff.remove(db=db, login="klender", now=clock())
    await klender.tap("ci:close")
    assert "tidak lagi dapat menangani aduan" in klender.text
    assert stored(database)[0].status == ComplaintStatus.NEW
    await klender.send("aduan")  # now plain text
    assert "antrean" not in klender.text and "ADU-2026-000001" not in klender.text
    evaluator = Chat(engine, "evaluator")
    add_staff(database, clock, "evaluator", evaluator, role=Role.EVALUATOR)
    await evaluator.send("aduan")
    assert "ADU-2026-000001" not in evaluator.text
    assert refusals(database) == [("evaluator", "refused.complaint.handle", "")]


def refusals(database: Database) -> list[tuple[str, str, str]]:
    """Return who was refused what, in the audit log."""
    from storage.audit import AuditEntry

    with database.connect() as db:
        rows = db.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
            .where(AuditEntry.action.startswith("refused."))
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(row) for row in rows]


async def test_proposals_disputes_and_suggestions_are_stored(
    engine: Engine, database: Database
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)  # Klender, RW 005
    await siti.send("Masukan & pengaduan")
    await siti.send("Usul penerima")
    assert "Siapa yang ingin Bapak/Ibu usulkan?" in siti.text and "NIK" in siti.text
    await siti.run(
        [
            ("Ibu Sarinah", "Ibu Sarinah tinggal di kelurahan mana?"),
            ("Pondok Bambu", "Kelurahan Pondok Bambu memiliki RW 001 sampai 014"),
            ("RW 20", "Mohon ketik nomor RW dari 001 sampai 014"),
            ("3", "Mengapa Ibu Sarinah membutuhkan bantuan?"),
            ("NIK-nya 3175 0747 0885 9901, janda, tidak bekerja", "Mohon jangan menulis NIK"),
            ("Janda lansia, tinggal sendiri, tidak bekerja.", "Orang: Ibu Sarinah, RW 003"),
            ("Kirim", "Nomor aduan: USL-2026-000001"),
        ]
    )
    await siti.send("Masukan & pengaduan")
    await siti.send("Sanggah penerima")
    assert "kelurahan Bapak/Ibu sendiri" in siti.text
    await siti.run(
        [
            ("Pak Joko", "Kelurahan Klender memiliki RW 001 sampai 015"),
            ("7", "Mengapa Pak Joko tidak layak menerima bantuan?"),
            ("Punya dua mobil dan toko besar.", "Jika ada foto sebagai bukti"),
            ("Lewati", "Orang: Pak Joko, RW 007, Kelurahan Klender"),
            ("Kirim", "Nomor aduan: SGH-2026-000001"),
        ]
    )
    await siti.send("Masukan & pengaduan")
    await siti.send("Saran program")
    await siti.run(
        [
            ("Pelatihan menjahit juga di malam hari.", "Kirim secara anonim?"),
            ("Tidak, pakai nama", "Dikirim dengan nama: Siti Aminah"),
        ]
    )
    await siti.tap("send:no")
    assert "Tidak dikirim. Tidak ada yang disimpan." in siti.text
    proposal, dispute = stored(database)
    assert (proposal.ref, proposal.kelurahan_code, proposal.rw) == ("USL-2026-000001", BAMBU, 3)
    assert proposal.subject_name == "Ibu Sarinah" and "3175" not in proposal.text
    assert (dispute.ref, dispute.kelurahan_code, dispute.rw) == ("SGH-2026-000001", KLENDER, 7)
    assert dispute.subject_name == "Pak Joko" and dispute.photo_file_id is None


async def test_proposals_need_a_profile_anonymous_complaints_only_consent(
    engine: Engine, database: Database
) -> None:
    newcomer = Chat(engine, "baru")
    await newcomer.send("halo")
    await newcomer.send("1")  # Bahasa Indonesia
    await newcomer.send("menu")
    await newcomer.send("Masukan & pengaduan")
    await newcomer.send("Usul penerima")
    assert "Apakah Bapak/Ibu setuju?" in newcomer.text
    await newcomer.send("Saya setuju")
    assert "Siapa nama lengkap Bapak/Ibu" in newcomer.text
    await newcomer.run(HAPPY_ID[3:])
    assert "Siapa yang ingin Bapak/Ibu usulkan?" in newcomer.text  # back where it was going
    anonymous = Chat(engine, "anonim")
    await anonymous.send("halo")
    await anonymous.send("1")
    await anonymous.send("Saya setuju")
    await anonymous.send("menu")
    await anonymous.send("Masukan & pengaduan")
    await anonymous.tap("cp:ADU")
    await anonymous.tap("cat:sasaran")
    await anonymous.send("Penerima di gang kami punya mobil.")
    await anonymous.send("Lewati")
    await anonymous.tap("anon:yes")
    assert "Laporan ini tentang kelurahan mana?" in anonymous.text
    await anonymous.send("Pondok Kopi")
    await anonymous.tap("send:yes")
    assert "Nomor aduan: ADU-2026-000001" in anonymous.text
    [filed] = stored(database)
    assert filed.anonymous and filed.kelurahan_code == "31.75.07.1007"


async def test_the_digest_lists_overdue_complaints_once_a_day(
    engine: Engine, database: Database, clock: Clock
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    await file_complaint(siti)  # Saturday 28 November: due Wednesday 2 December
    petugas, bambu = Chat(engine, "petugas"), Chat(engine, "petugas-bambu")
    add_staff(database, clock, "petugas", petugas)
    add_staff(database, clock, "bambu", bambu, kelurahan_code=BAMBU)
    for chat in (petugas, bambu):
        await chat.send("halo")  # a staff chat gets messages once it has written
    assert digest(database, clock(), ZONE) == 0  # nothing overdue yet
    clock.now = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # Wednesday 23.00 WIB: still in time
    assert digest(database, clock(), ZONE) == 0
    clock.now = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # Thursday 06.00 WIB: too early
    assert digest(database, clock(), ZONE) == 0
    clock.now = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # Thursday 08.00 WIB
    assert digest(database, clock(), ZONE) == 1  # the kecamatan account; Pondok Bambu has none
    [message] = queued(database)
    assert message.text == (
        "1 aduan sudah melewati tenggat jawaban:\n"
        "• ADU-2026-000001 (Pengaduan), tenggat Rabu, 2 Desember 2026\n"
        "Ketik “aduan” untuk membuka antrean."
    )
    clock.advance(hours=5)
    assert digest(database, clock(), ZONE) == 0  # once a day
    await petugas.send("aduan")
    assert "⚠️ ADU-2026-000001" in petugas.text and "LEWAT TENGGAT" in petugas.text
    clock.advance(days=1)
    assert digest(database, clock(), ZONE) == 1
    await petugas.send("aduan")  # the chat was idle for a day: from the queue again
    await petugas.send("1")
    await petugas.tap("ci:reply")
    await petugas.send("Sedang kami periksa.")
    clock.advance(days=1)
    assert digest(database, clock(), ZONE) == 0  # answered: no longer overdue
    with database.connect() as db:
        assert complaints.digest_sent(db=db, day=date(2026, 12, 4), kind="complaints-overdue")


async def test_erasure_keeps_the_complaint_without_the_person(
    engine: Engine, database: Database, clock: Clock
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    await file_complaint(siti)
    await siti.run([("hapus data", "Lanjutkan?"), ("1", "sudah dihapus")])
    [kept] = stored(database)
    assert kept.resident_id is None and kept.photo_file_id is None
    assert kept.ref == "ADU-2026-000001" and kept.category == "pungli" and not kept.anonymous
    petugas = Chat(engine, "petugas")
    add_staff(database, clock, "petugas", petugas)
    await petugas.send("aduan")
    await petugas.send("1")
    assert "Dari: warga yang sudah menghapus datanya" in petugas.text
    await petugas.tap("ci:reply")
    await petugas.send("Terima kasih atas laporannya.")
    assert "tidak dapat dihubungi" in petugas.text and queued(database) == []
    # and the erasure function on its own
    with database.begin() as db:
        assert erase_resident(db=db, resident_id=12345, now=clock()).profile is False


async def test_complaint_labels_fit_whatsapp(engine: Engine, database: Database, clock) -> None:
    seen = []
    for language, happy in (("id", HAPPY_ID), ("en", HAPPY_EN)):
        resident = Chat(engine, f"walk-{language}")
        await resident.run(happy)
        for key in ("cp:ADU", "cp:USL", "cp:SGH", "cp:SRN", "cp:status"):
            await resident.send("menu")
            await resident.send("Masukan & pengaduan" if language == "id" else "Feedback")
            seen += resident.replies
            await resident.tap(key)
            seen += resident.replies
        await resident.send("menu")
        await file_complaint(resident)
        seen += resident.replies
    petugas = Chat(engine, "petugas")
    add_staff(database, clock, "petugas", petugas)
    await petugas.send("aduan")
    seen += petugas.replies
    await petugas.send("1")
    seen += petugas.replies
    assert not misfits(seen), "\n".join(misfits(seen))


def test_nothing_is_filed_without_text(database: Database, clock: Clock) -> None:
    with database.begin() as db, pytest.raises(complaints.ComplaintProblem):
        complaints.file(
            db=db,
            kind=complaints.ComplaintKind.COMPLAINT,
            resident_id=1,
            text=" ",
            now=clock(),
            time_zone=ZONE,
        )
