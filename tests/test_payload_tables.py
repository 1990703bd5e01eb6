"""Real payloads, one table per channel: each stored fixture (tests/fixtures/whatsapp, copied
from Meta's webhook reference; tests/fixtures/telegram, from the Bot API) read into the neutral
Incoming value the engine takes, or "ignored"."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.channels import telegram as telegram_channel
from bot.channels.telegram_reading import read_update
from bot.channels.whatsapp_payloads import read_webhook
from handlers.messages import Incoming, Kind

FIXTURES = Path(__file__).parent / "fixtures"
SITI_WA = "6281234567890"
BSUID = "ID.13491208655302741918"
WAMID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFDM3MkVBMDhDQUIzM0U3MUMwMkM2AA=="
AT = datetime.fromtimestamp(1767225600, UTC)
IGNORED = "ignored"


def wa(**fields) -> Incoming:
    """The Incoming of Siti's WhatsApp message in the fixtures."""
    base = {
        "channel": "whatsapp",
        "external_id": SITI_WA,
        "message_id": WAMID,
        "sender_phone": f"+{SITI_WA}",
        "sent_at": AT,
    }
    return Incoming(**{**base, **fields})


WHATSAPP = [
    ("text", wa(text="halo")),
    ("text_bsuid_only", wa(external_id=BSUID, sender_phone=None, text="Halo")),
    ("text_phone_and_bsuid", wa(text="Halo")),  # the phone keys it: the known resident
    ("group_text", IGNORED),  # asked to write privately, never a step
    ("edit", IGNORED),
    ("revoke", IGNORED),
]


@pytest.mark.parametrize(("name", "expected"), WHATSAPP)
def test_whatsapp_payloads_read_into_incoming(name: str, expected) -> None:
    payload = json.loads((FIXTURES / "whatsapp" / f"{name}.json").read_text("utf-8"))
    messages = read_webhook(payload).messages
    assert messages == ([] if expected == IGNORED else [expected])


def test_a_whatsapp_group_message_is_only_noted_as_its_group() -> None:
    payload = json.loads((FIXTURES / "whatsapp" / "group_text.json").read_text("utf-8"))
    assert read_webhook(payload).groups == ["120363025246125486@g.us"]


TELEGRAM = [
    ("unreadable/poll_before_9_6", IGNORED),
    ("unreadable/poll_answer_before_9_6", IGNORED),
    ("unreadable/webhook_guide_without_is_bot", IGNORED),
    ("unreadable/chat_member_old_administrator", IGNORED),
    ("unreadable/document_old_thumbnail", IGNORED),
    ("unreadable/poll_answer_without_persistent_ids", IGNORED),
    ("unreadable/poll_without_persistent_id", IGNORED),
    ("unreadable/poll_without_persistent_id_update", IGNORED),
    ("text", "text"),
]


@pytest.mark.parametrize(("name", "expected"), TELEGRAM)
def test_telegram_payloads_read_into_incoming_or_ignored(name: str, expected) -> None:
    data = {"update_id": 5, **json.loads((FIXTURES / "telegram" / f"{name}.json").read_text())}
    update = read_update(data)
    incoming = telegram_channel.to_incoming(update) if update is not None else None
    if expected == IGNORED:
        assert incoming is None
    else:
        assert (
            incoming is not None and incoming.kind == Kind.TEXT and incoming.channel == "telegram"
        )
