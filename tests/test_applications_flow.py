"""Scholarship and business-capital applications as transcripts, with the status a resident
follows and the notification a status change queues."""

from sqlalchemy import select

from handlers.engine import Engine
from handlers.notices import queue_status_change
from storage import applications, staff
from storage.applications import Application, Kind, Status
from storage.outbox import Outbound, OutboundKind
from tests.helpers import Chat
from tests.test_registration import HAPPY_EN, HAPPY_ID

SCHOLARSHIP_EN = [
    ("Scholarships & capital", "Apply here for:"),
    ("Scholarship for a child", "What is the child's full name"),
    ("Rina Marlina", "At which level does Rina Marlina study?"),
    ("SMP", "What is the name of the school"),
    ("SMPN 195 Jakarta", "Which grade is Rina Marlina in? Type a number from 7 to 9."),
    ("kelas VIII", "These documents are checked at the kelurahan."),
    ("1 3", "Not ready yet: Parent's or guardian's KTP, Certificate of low income"),
    ("Done", "Please check:"),
]

CAPITAL_EN = [
    ("Scholarships & capital", "Apply here for:"),
    ("Business capital", "What kind of business do you run?"),
    ("Tailoring", "How long has the business been running?"),
    ("2 tahun", "take in a month"),
    ("6 juta", "cost in a month"),
    ("4,5 juta", "How much capital do you ask for? Between Rp500.000 and Rp10.000.000."),
    ("3 juta", "What will you use it for?"),
    ("Mesin jahit kedua dan stok kain", "owned or run by a woman?"),
]


def load_partners(database, clock) -> None:
    """Load the partner organisations, as an installation does."""
    with database.begin() as db:
        staff.load(db=db, now=clock())


async def test_scholarship_application(chat: Chat, database, clock) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(SCHOLARSHIP_EN)
    text = chat.text
    assert "Child: Rina Marlina" in text
    assert "School: SMPN 195 Jakarta (Junior high (SMP), grade 8)" in text
    assert "Applicant: Budi Santoso" in text
    await chat.send("Submit")
    assert "Reference number: BSW-2026-000001" in chat.text
    assert "Status now: Submitted." in chat.text
    await chat.send("Scholarships & capital")
    await chat.send("Status of my applications")
    assert "BSW-2026-000001 · Scholarship (Rina Marlina, SMP)" in chat.text
    assert "Saturday, 28 November 2026: Submitted" in chat.text
    with database.connect() as db:
        row = db.execute(select(Application)).one()
    assert row.details["documents"] == ["KK", "RAPOR"]
    assert row.details["grade"] == 8


async def test_scholarship_bad_answers(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(SCHOLARSHIP_EN[:3])
    await chat.send("high school or vocational school")
    assert "Which one" in chat.text  # two levels named: the resident settles it
    await chat.send("pesantren")
    assert "Please choose" in chat.text
    await chat.send("SMP")
    await chat.send("12")
    assert "Please write the school's name" in chat.text
    await chat.send("SMPN 195 Jakarta")
    await chat.send("11")
    assert "Please type a number from 7 to 9, for example 7." in chat.text
    await chat.send("delapan belas")
    assert "Please type a number from 7 to 9" in chat.text
    await chat.send("8")
    await chat.send("1 9")
    assert "Please choose from the list, or type the numbers" in chat.text
    await chat.send("Done")
    assert "Not ready yet: Family card (KK)" in chat.text
    await chat.send("Cancel")
    with database.connect() as db:
        assert db.execute(select(Application)).all() == []


async def test_capital_women_led_goes_to_the_foundation(chat: Chat, database, clock) -> None:
    load_partners(database, clock)
    await chat.run(HAPPY_EN)
    await chat.run(CAPITAL_EN)
    await chat.send("yes")
    text = chat.text
    assert "Business: Tailoring, running 24 months" in text
    assert "✓ Running for 24 months (at least 6 needed)." in text
    assert "✓ Revenue is above costs: about Rp1.500.000 profit a month." in text
    assert "✓ Rp3.000.000 is within 3 months of profit (Rp4.500.000)." in text
    assert "Your answers meet the program's basic rules." in text
    assert "This is only an estimate" in text
    assert "Your application would go to: Yayasan Pemberdayaan Perempuan Duren Sawit." in text
    await chat.send("Submit")
    assert "Reference number: MDL-2026-000001" in chat.text
    assert "It will be handled by: Yayasan Pemberdayaan Perempuan Duren Sawit." in chat.text
    with database.connect() as db:
        row = db.execute(select(Application)).one()
    assert row.partner_code == "YPP"
    assert row.screening["passed"] is True
    assert row.details["women_led"] is True


async def test_capital_prescreen_explains_what_falls_short(chat: Chat, database, clock) -> None:
    load_partners(database, clock)
    await chat.run(HAPPY_EN)
    await chat.run(
        [
            ("Scholarships & capital", "Apply here for:"),
            ("Business capital", "What kind of business"),
            ("1", "How long"),
            ("4 bulan", "take in a month"),
            ("3 juta", "cost in a month"),
            ("2,8 juta", "How much capital"),
            ("5 juta", "What will you use it for?"),
            ("Tambah stok", "woman?"),
            ("no", "Please check:"),
        ]
    )
    text = chat.text
    assert "✗ Running for 4 months; at least 6 months are needed." in text
    assert "✗ Rp5.000.000 is more than 3 months of profit (Rp600.000)." in text
    assert "you may still submit" in text
    assert "Suku Dinas PPKUKM Jakarta Timur" in text


async def test_capital_bad_numbers(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.run(CAPITAL_EN[:3])
    await chat.send("lama sekali")
    assert "Please type a number of months or years" in chat.text
    await chat.send("8")
    await chat.send("-500rb")
    assert "The amount cannot be negative. If there is none, type 0." in chat.text
    await chat.send("banyak")
    assert "Please type an amount in Rupiah, for example 3 juta" in chat.text
    await chat.send("4 juta")
    await chat.send("abc")
    assert "Please type an amount in Rupiah" in chat.text
    await chat.send("3 juta")
    await chat.send("50 juta")
    assert "This program gives between Rp500.000 and Rp10.000.000." in chat.text
    await chat.send("100rb")
    assert "This program gives between" in chat.text
    await chat.send("2 juta")
    await chat.send("🙂")
    assert "Please describe in a few words" in chat.text
    await chat.send("x" * 400)
    assert "at most 300 characters" in chat.text


async def test_status_change_queues_a_notification(chat: Chat, database, clock) -> None:
    await chat.run(HAPPY_ID)
    with database.begin() as db:
        resident = db.execute(select(Outbound.resident_id)).first()  # none yet
        assert resident is None
        ref = applications.submit(
            db=db,
            kind=Kind.SCHOLARSHIP,
            resident_id=1,
            details={"child": "Rina", "level": "SD", "school": "SDN 01", "grade": 3},
            screening={},
            partner_code=None,
            year=2026,
            now=clock(),
        )
        filed = applications.set_status(
            db=db,
            ref=ref,
            status=Status.REJECTED,
            note="KK belum dilampirkan",
            actor="petugas",
            now=clock(),
        )
        queue_status_change(db=db, filed=filed, now=clock())
    with database.connect() as db:
        queued = db.execute(select(Outbound)).one()
    assert queued.kind == OutboundKind.STATUS
    assert queued.channel == "console"
    assert ref in queued.text
    assert "KK belum dilampirkan" in queued.text
    await chat.send("menu")


async def test_the_applicants_language_is_used(engine: Engine, database, clock) -> None:
    chat = Chat(engine, "english")
    await chat.run(HAPPY_EN)
    await chat.run(SCHOLARSHIP_EN)
    await chat.send("Submit")
    with database.begin() as db:
        filed = applications.set_status(
            db=db,
            ref="BSW-2026-000001",
            status=Status.VERIFIED,
            note=None,
            actor="petugas",
            now=clock(),
        )
        queue_status_change(db=db, filed=filed, now=clock())
    with database.connect() as db:
        text = db.execute(select(Outbound.text)).scalar_one()
    assert text.startswith("Update on your application BSW-2026-000001 (Scholarship): Verified.")


async def test_one_application_per_child_and_one_for_capital_at_a_time(
    chat: Chat, database, clock
) -> None:
    load_partners(database, clock)
    await chat.run(HAPPY_EN)
    await chat.run(SCHOLARSHIP_EN)
    await chat.send("Submit")
    await chat.run(SCHOLARSHIP_EN[:2])
    await chat.send("rina  MARLINA")
    assert "You already applied for rina MARLINA: BSW-2026-000001" in chat.text
    assert "Your applications:" in chat.text
    await chat.run(SCHOLARSHIP_EN[:2])
    await chat.send("Dimas Marlina")  # a brother may apply
    assert "At which level does Dimas Marlina study?" in chat.text
    await chat.run(CAPITAL_EN)
    await chat.send("yes")
    await chat.send("Submit")
    await chat.send("Scholarships & capital")
    await chat.send("Business capital")
    assert "You already have a business capital application in progress: MDL-2026-000001" in (
        chat.text
    )
    with database.begin() as db:
        applications.set_status(
            db=db,
            ref="MDL-2026-000001",
            status=Status.REJECTED,
            note="Usaha belum berjalan",
            actor="ypp",
            now=clock(),
        )
    await chat.send("Scholarships & capital")
    await chat.send("Business capital")  # after a decision, a new application is possible
    assert "What kind of business do you run?" in chat.text
