"""Beri masukan: a rating 1–5 of a program or service at any time, with an optional comment,
and the comment offered after an invitation's score."""

from handlers.engine import Engine
from handlers.messages import Kind
from storage.ratings import Rated
from tests.helpers import Chat
from tests.test_follow_ups import AFTER as FOLLOW_UP_AFTER
from tests.test_follow_ups import all_ratings, book_a_check, clinics, tick
from tests.test_registration import HAPPY_EN, HAPPY_ID

__all__ = ["clinics"]  # the fixture, used below

PROGRAMS_ID = [
    "Pengambilan sembako",
    "Pelatihan keterampilan",
    "Layanan kesehatan",
    "Beasiswa",
    "Modal usaha",
    "PKH",
    "BPNT",
    "KJP Plus",
    "Layanan chatbot ini",
    "Lainnya",
]


async def open_feedback(chat: Chat) -> None:
    """From the menu to the question which program the feedback is about."""
    await chat.send("menu")
    await chat.send("Masukan & pengaduan")
    assert "Beri masukan" in chat.labels
    await chat.send("Beri masukan")
    assert "Program atau layanan apa yang ingin Bapak/Ibu beri masukan?" in chat.text


async def test_feedback_at_any_time_with_program_score_and_comment(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await open_feedback(chat)
    assert chat.labels == PROGRAMS_ID
    await chat.send("Pelatihan keterampilan")
    assert "Bagaimana penilaian Bapak/Ibu tentang pelatihan keterampilan?" in chat.text
    assert chat.labels == ["⭐" * score for score in range(1, 6)]
    await chat.send("4")  # typed
    assert "Apakah Bapak/Ibu ingin menambahkan komentar" in chat.text
    assert chat.labels == ["Lewati"]
    await chat.send("  Instrukturnya sabar, tapi ruangannya panas.  ")
    assert "Terima kasih atas masukan Bapak/Ibu." in chat.text
    assert "Menu utama" in chat.text
    [given] = all_ratings(database)
    assert (given.subject, given.subject_id, given.score) == (Rated.GENERAL, 1, 4)
    assert (given.program, given.comment) == (
        "pelatihan",
        "Instrukturnya sabar, tapi ruangannya panas.",
    )
    assert given.rated_at is not None and given.resident_id is not None
    # a second one, about a registry program typed by name, with a tapped score
    await open_feedback(chat)
    await chat.send("kjp plus")
    assert "Kartu Jakarta Pintar Plus" in chat.text
    await chat.tap("ms:5")
    await chat.send("Cair tepat waktu.")
    second = all_ratings(database)[1]
    assert (second.subject, second.subject_id, second.program) == (Rated.GENERAL, 2, "KJP_PLUS")
    assert (second.score, second.comment) == (5, "Cair tepat waktu.")


async def test_skipping_the_comment_and_other(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await open_feedback(chat)
    await chat.send("Lainnya")
    assert "tentang layanan kelurahan?" in chat.text
    await chat.tap("ms:3")
    await chat.send("Lewati")
    assert "Terima kasih atas masukan Bapak/Ibu." in chat.text
    [given] = all_ratings(database)
    assert (given.program, given.score, given.comment) == (None, 3, None)


async def test_a_wrong_score_gets_a_kind_hint(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await open_feedback(chat)
    await chat.send("xyz program")
    assert "Mohon pilih salah satu pilihan, atau ketik nama program." in chat.text
    await chat.send("Layanan chatbot ini")
    for wrong in ("6", "enam bintang", "0"):
        await chat.send(wrong)
        assert "Mohon jawab dengan angka 1 sampai 5" in chat.text
    assert all_ratings(database) == []
    await chat.send("⭐⭐")
    assert "Apakah Bapak/Ibu ingin menambahkan komentar" in chat.text
    await chat.send("lewati")
    [given] = all_ratings(database)
    assert (given.program, given.score) == ("layanan bot", 2)


async def test_a_sticker_a_nik_and_a_long_comment_are_not_kept(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await open_feedback(chat)
    await chat.send("Pengambilan sembako")
    await chat.send("2")
    await chat.send_kind(Kind.STICKER)
    assert "Apakah Bapak/Ibu ingin menambahkan komentar" in chat.text  # asked again
    await chat.send("Antrean lama. NIK saya 3175 0747 0885 9901")
    assert "Mohon jangan menulis NIK (16 angka) di sini" in chat.text
    await chat.send("x" * 1001)
    assert "1001 karakter" in chat.text
    assert all_ratings(database) == []
    await chat.send("Antrean lama.")
    [given] = all_ratings(database)
    assert (given.program, given.score, given.comment) == ("sembako", 2, "Antrean lama.")


async def test_after_an_invitation_a_comment_is_offered_and_stored(
    engine: Engine, clinics, database, clock
) -> None:
    chat = Chat(engine, "ani")
    booking = await book_a_check(chat, database)
    from storage import health

    with database.connect() as db:
        slot = health.get_slot(db=db, slot_id=booking.slot_id)
    clock.now = slot.ends_at + FOLLOW_UP_AFTER
    tick(database, clock)
    [rating] = all_ratings(database)
    await chat.send("menu")
    await chat.send("Free health checks")  # somewhere else when tapping
    await chat.tap(f"rate:{rating.id}:4")
    assert "Thank you for your score: ⭐⭐⭐⭐ (4 of 5)." in chat.text
    assert "Would you like to add a comment to your score?" in chat.text
    assert chat.labels == ["Add a comment", "No, thank you"]
    await chat.tap("mo:yes")
    assert chat.labels == ["Skip"]
    await chat.send("The nurse explained everything clearly.")
    assert "Thank you for your feedback." in chat.text
    assert chat.labels[:2] == ["Health talks", "Free health checks"]  # back where they were
    [rated] = all_ratings(database)
    assert (rated.id, rated.subject, rated.score) == (rating.id, Rated.SLOT, 4)
    assert rated.comment == "The nurse explained everything clearly."
    # typed straight at the offer, from the menu's rating question this time
    await chat.tap(f"rate:{rating.id}:5")
    await chat.send("Changed my mind: five stars.")
    assert "Thank you for your feedback." in chat.text
    [rated] = all_ratings(database)
    assert (rated.score, rated.comment) == (5, "Changed my mind: five stars.")
    assert chat.labels[:2] == ["Health talks", "Free health checks"]


async def test_the_english_walk(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("menu")
    await chat.send("Feedback & complaints")
    await chat.send("Give feedback")
    assert "Which program or service would you like to give feedback on?" in chat.text
    assert chat.labels[:5] == [
        "Sembako pickup",
        "Skills training",
        "Health checks & talks",
        "Scholarship",
        "Business capital",
    ]
    assert chat.labels[-2:] == ["This chat service", "Something else"]
    await chat.send("Scholarship")
    assert "How would you rate scholarship?" in chat.text
    await chat.send("5")
    assert "Would you like to add a comment" in chat.text and chat.labels == ["Skip"]
    await chat.send("skip")
    assert "Thank you for your feedback. It helps the kelurahan improve its services." in (
        chat.text
    )
    [given] = all_ratings(database)
    assert (given.program, given.score, given.comment) == ("beasiswa", 5, None)


async def test_erasure_keeps_the_score_but_not_the_comment(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID)
    await open_feedback(chat)
    await chat.send("Pengambilan sembako")
    await chat.send("2")
    await chat.send("Antre lama, saya Siti dari RT 03.")
    await chat.send("hapus data")
    await chat.send("Ya, hapus data saya")
    assert "Data Bapak/Ibu sudah dihapus" in chat.text
    [kept] = all_ratings(database)
    assert (kept.score, kept.program) == (2, "sembako")
    assert (kept.resident_id, kept.comment) == (None, None)  # free text could name them
