"""Every option label fits the chat platforms: WhatsApp's 20 characters for reply buttons
(up to 3 options) and 24 for list rows (up to 10), in both languages."""

import pytest

from handlers.messages import Reply
from tests.helpers import Chat
from tests.test_registration import HAPPY_EN, HAPPY_ID

# walks that show every question and menu of the flows built so far
WALKS = {
    "id": [line for line, _ in HAPPY_ID]
    + [
        "Profil saya",
        "1",
        "Ani",
        "2",
        "3",
        "5",
        "3",
        "Hapus nomor saya",
        "4",
        "4",
        "5",
        "2",
        "bahasa",
        "1",
        "berhenti",
        "mulai",
        "hapus data",
        "2",
        "batal",
        "Cek status bansos",
        "3175074708859901",
        "Siti Aminah",
        "Cek kelayakan",
        "5",
        "3 juta",
        "6",
        "Selesai",
        "2",
        "2",
        "1",
        "Menu utama",
        "Jadwal sembako",
        "Lokasi terdekat",
        "menu",
    ],
    "en": [line for line, _ in HAPPY_EN]
    + ["My profile", "1", "Ani", "2", "3", "5", "3", "Skip", "4", "4", "5", "2", "language", "2"]
    + ["Check bansos status", "3175074708859901", "Siti Aminah", "Check eligibility", "5"]
    + ["3000000", "6", "Done", "2", "2", "1", "Main menu", "Sembako schedule", "Nearest location"],
}
UNREGISTERED = ["halo", "1", "3", "2", "7", "2"]


async def replies_of(chat: Chat, lines: list[str]) -> list[Reply]:
    """Send the lines and collect every reply."""
    collected = []
    for line in lines:
        collected += await chat.send(line)
    return collected


@pytest.mark.parametrize("language", ["id", "en"])
async def test_labels_fit_whatsapp(engine, language: str) -> None:
    replies = await replies_of(Chat(engine, f"walk-{language}"), WALKS[language])
    replies += await replies_of(Chat(engine, f"walk-new-{language}"), UNREGISTERED)
    with_options = [reply for reply in replies if reply.options]
    assert len(with_options) > 25
    for reply in with_options:
        assert len(reply.options) <= 10, reply.text
        limit = 20 if len(reply.options) <= 3 else 24
        too_long = [option.label for option in reply.options if len(option.label) > limit]
        assert not too_long, f"longer than {limit}: {too_long}"
