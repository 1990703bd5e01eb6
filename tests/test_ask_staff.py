"""Tanya petugas and misses: a message the bot did not understand goes to the officers as a
question (TNY-…), answered from the staff queue into the resident's chat; misses are kept
redacted, without who wrote them, for the retention, and staff see them in laporan."""

import itertools
from datetime import timedelta

from sqlalchemy import select

from bot.housekeeping import sweep
from handlers import ask_staff
from handlers.positions import HOME
from handlers.steps import Context, EngineConfig
from storage import misses
from storage.complaints import Complaint
from storage.misses import UnrecognisedMessage
from storage.outbox import Outbound
from storage.staff import Role
from tests.helpers import Chat
from tests.test_complaints import add_staff
from tests.test_registration import HAPPY_EN, HAPPY_ID

BAMBU = "31.75.07.1002"
OFFERS = itertools.count(1)
NIK = "3175074508800123"


def questions(database) -> list:
    with database.connect() as db:
        return db.execute(select(Complaint.__table__).where(Complaint.kind == "TNY")).all()


def test_question_of_strips_the_request() -> None:
    assert ask_staff.question_of("saya mau tanya petugas: kapan KJP cair?") == "kapan KJP cair?"
    assert ask_staff.question_of("mau tanya petugas") == ""
    assert ask_staff.question_of("I want to ask an officer") == ""
    assert ask_staff.question_of("can I ask a person: where is the office?") == (
        "where is the office?"
    )
    # asking to ask, without the question: it is asked for
    assert ask_staff.question_of("min sy mau nanya aja") == ""
    assert ask_staff.question_of("Can I ask something?") == ""
    assert ask_staff.question_of("mau tanya kapan kjp cair") == "mau tanya kapan kjp cair"


def test_record_miss_redacts_and_names_nobody(database, clock) -> None:
    with database.begin() as db:
        kept = misses.record_miss(
            db=db,
            text=f"NIK saya {NIK} hp 0812-3456-7890 tolonggg",
            language="id",
            where="menu.main",
            now=clock.now,
        )
        assert kept
        assert not misses.record_miss(db=db, text="  ", language="id", where="x", now=clock.now)
        # a NUL, which PostgreSQL refuses in text, and other control characters are dropped
        assert misses.record_miss(
            db=db, text="0\x00ab\x07c", language="id", where="x", now=clock.now
        )
    with database.connect() as db:
        row, control = db.execute(select(UnrecognisedMessage.__table__)).all()
    assert control.text == "0abc"
    assert NIK not in row.text and "3456" not in row.text
    assert "[NIK dihapus]" in row.text and "[nomor telepon dihapus]" in row.text
    assert set(row._asdict()) == {"id", "text", "key", "language", "where", "created_at"}
    assert row.key.endswith("tolong")


def test_misses_go_after_the_retention(database, clock) -> None:
    with database.begin() as db:
        misses.record_miss(db=db, text="old", language="id", where="menu.main", now=clock.now)
    clock.advance(days=731)
    with database.begin() as db:
        misses.record_miss(db=db, text="new", language="en", where="menu.main", now=clock.now)
    swept = sweep(
        database, now=clock.now, idle_timeout=timedelta(minutes=30), retention=timedelta(730)
    )
    assert swept.misses == 1
    with database.connect() as db:
        assert [m.text for m in misses.misses_between(db=db)] == ["new"]


async def offer(engine, chat: Chat, text: str, call=ask_staff.offer_staff):
    """Put the resident at the offer as the engine would when nothing fits (or run another
    public function of handlers/ask_staff.py the engine calls)."""
    message_id = f"x-offer-{next(OFFERS)}"
    from handlers.engine import Engine  # noqa: F401 (the engine runs the offer's steps)

    with engine.database.begin() as db:
        from storage import conversations

        loaded = conversations.load_for_update(
            db=db, channel="console", external_id=chat.external_id, message_id=message_id
        )
        ctx = Context(
            db, loaded.profile, loaded.identity, loaded.position.data, clock_now(engine),
            EngineConfig(), HOME,
        )  # fmt: skip
        outcome = call(ctx, text)
        conversations.record(
            db=db,
            handled=[
                conversations.Handled(
                    loaded.identity.id, message_id, loaded.profile.id, outcome.goto.flow,
                    outcome.goto.step, outcome.data, clock_now(engine),
                )
            ],
        )  # fmt: skip


def clock_now(engine):
    return engine.clock()


async def test_offer_files_a_question_answered_in_chat_id(engine, database, clock) -> None:
    warga, officer = Chat(engine, "warga"), Chat(engine, "petugas")
    await warga.run(HAPPY_ID)
    await offer(engine, warga, "kapan kantor kelurahan buka hari sabtu?")
    await warga.send("halo")  # the offer's question is asked again
    assert "Maaf, kami belum memahami" in warga.text
    assert "Tanya petugas" in warga.labels
    await warga.tap("ask:staff")
    assert "sudah kami teruskan ke petugas Kelurahan" in warga.text
    assert "TNY-2026-000001" in warga.text and "3 hari kerja" in warga.text
    (row,) = questions(database)
    add_staff(database, clock, "petugas", officer)
    await officer.send("aduan")
    assert "TNY-2026-000001 · Pertanyaan" in officer.text
    await officer.tap(f"cq:{row.id}")
    assert "Pertanyaan: kapan kantor kelurahan buka" in officer.text
    await officer.tap("ci:reply")
    await officer.send("Sabtu tutup, Senin-Jumat 08.00-15.00.")
    with database.connect() as db:
        (sent,) = db.execute(select(Outbound.__table__)).all()
    assert "Jawaban petugas kelurahan atas pertanyaan" in sent.text
    await warga.send("Masukan & pengaduan")
    await warga.tap("cp:status")
    await warga.send("tny-2026-000001")
    assert "Sabtu tutup" in warga.text


async def test_unregistered_resident_is_asked_for_kelurahan_en(engine, database, clock) -> None:
    warga = Chat(engine, "guest")
    await warga.run(HAPPY_EN[:2])  # language and consent only
    await warga.send("menu")
    await offer(engine, warga, "where do I get SKTM?")
    await warga.send("hm")
    assert "Ask an officer" in warga.labels
    await warga.tap("ask:staff")
    if "Do you agree?" in warga.text:  # no consent yet: the notice first, then on
        await warga.tap("consent:yes")
    assert "Which kelurahan do you live in?" in warga.text
    await warga.tap(f"kel:{BAMBU}")
    assert "passed on to the officers of Kelurahan Pondok Bambu" in warga.text
    assert "Number: TNY-2026-000001" in warga.text
    (row,) = questions(database)
    assert row.kelurahan_code == BAMBU


async def test_another_kelurahans_officer_cannot_open_it(engine, database, clock) -> None:
    warga, kopi = Chat(engine, "warga"), Chat(engine, "kopi")
    await warga.run(HAPPY_ID)
    await offer(engine, warga, "apa itu DTSEN?")
    await warga.send("x")
    await warga.tap("ask:staff")
    (row,) = questions(database)
    add_staff(database, clock, "kopi", kopi, kelurahan_code="31.75.07.1007")
    await kopi.send("aduan")
    assert "TNY-" not in kopi.text
    await kopi.tap(f"cq:{row.id}")  # not offered to them: a stale button, nothing shown
    assert "apa itu DTSEN" not in kopi.text
    with database.connect() as db:
        assert db.execute(select(Outbound.__table__)).all() == []
    (after,) = questions(database)
    assert after.status == "baru" and after.assigned_to is None


async def test_laporan_shows_misses_and_questions(engine, database, clock) -> None:
    officer = Chat(engine, "petugas")
    add_staff(database, clock, "petugas", officer, role=Role.STAFF)
    with database.begin() as db:
        for text in ("cek bnsos dong", "Cek bnsos dong!!", "jadwl sembko"):
            misses.record_miss(db=db, text=text, language="id", where="menu.main", now=clock.now)
    clock.advance(minutes=1)
    await officer.send("laporan")
    assert "Pesan yang tidak dipahami bot (seluruh kecamatan): 3" in officer.text
    assert "“Cek bnsos dong!!” (2×)" in officer.text
    assert "Pertanyaan ke petugas: 0" in officer.text


async def test_the_gate_refuses_and_audits_another_kelurahans_question(
    engine, database, clock
) -> None:
    from handlers import complaint_staff
    from storage import audit, conversations, staff

    warga, kopi = Chat(engine, "warga"), Chat(engine, "kopi")
    await warga.run(HAPPY_EN)
    await offer(engine, warga, "what is DTSEN?")
    await warga.send("x")
    await warga.tap("ask:staff")
    assert "Number: TNY-2026-000001" in warga.text
    (row,) = questions(database)
    add_staff(database, clock, "kopi", kopi, kelurahan_code="31.75.07.1007")
    await kopi.send("aduan")
    with database.begin() as db:
        loaded = conversations.load_for_update(
            db=db, channel="console", external_id="kopi", message_id="x-gate"
        )
        ctx = Context(
            db, loaded.profile, loaded.identity, {}, clock.now, EngineConfig(), HOME
        )  # fmt: skip
        member = staff.of_chat(db=db, channel="console", external_id="kopi")
        assert complaint_staff.visible(ctx, member, row.id) is None
        entry = audit.recent(db=db, limit=1)[0]
    assert (entry.action, entry.target, entry.details["why"]) == (
        "refused.complaint.handle",
        row.ref,
        "kelurahan",
    )


async def test_ask_staff_now_confirms_the_question_or_asks_for_it(engine, database) -> None:
    warga = Chat(engine, "warga")
    await warga.run(HAPPY_ID)
    await offer(engine, warga, "saya mau tanya petugas: kapan KJP cair?", ask_staff.ask_staff_now)
    assert questions(database) == []  # a guess sends nothing before a yes
    await warga.send("batal")
    assert questions(database) == []
    await offer(engine, warga, "saya mau tanya petugas: kapan KJP cair?", ask_staff.ask_staff_now)
    await warga.send("1")  # "Kirim"
    (row,) = questions(database)
    assert row.text == "kapan KJP cair?" and row.ref == "TNY-2026-000001"
    await offer(engine, warga, "mau tanya petugas", ask_staff.ask_staff_now)
    await warga.send("halo")  # at the question, any text is the question
    assert len(questions(database)) == 2
    assert "sudah kami teruskan" in warga.text and "TNY-2026-000002" in warga.text


async def test_ask_staff_now_en(engine, database) -> None:
    warga = Chat(engine, "warga-en")
    await warga.run(HAPPY_EN)
    await offer(engine, warga, "I want to ask an officer", ask_staff.ask_staff_now)
    await warga.send("When is the kelurahan office open on Saturday?")  # asked: sent at once
    assert "passed on to the officers of Kelurahan" in warga.text
    assert "usually answer within 3 working days" in warga.text
