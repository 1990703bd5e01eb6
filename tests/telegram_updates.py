"""Builders of Telegram updates over the real-shaped JSON in tests/fixtures/telegram.

Each fixture file holds one update WITHOUT "update_id": FakeBotAPI.push_update numbers it, so
pushing the same fixture twice is two updates unless the test sets the same id on purpose.
The fixtures are a private chat with Siti (user and chat 1001, language "id") and the bot
@DurenSawitBot (123456); group_text.json is the supergroup -100123 "RT 05".
Every builder returns a fresh deep copy, dated now, with a new message id unless given one.
"""

import copy
import functools
import itertools
import json
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
MEDIA_KINDS = ("sticker", "photo", "voice", "document", "poll", "video", "audio")

_message_ids = itertools.count(100)
_query_ids = itertools.count(4298374651238746600)

UpdateJSON = dict[str, Any]


@functools.cache
def _raw(name: str) -> UpdateJSON:
    """The parsed fixture file, read once."""
    return json.loads((FIXTURES / f"{name.removesuffix('.json')}.json").read_text("utf-8"))


def load(name: str) -> UpdateJSON:
    """A deep copy of the fixture `name` (with or without ".json"), exactly as stored."""
    return copy.deepcopy(_raw(name))


def _private(
    name: str, user_id: int, message_id: int | None = None, key: str = "message"
) -> tuple[UpdateJSON, dict[str, Any]]:
    """A fixture message re-addressed to `user_id`'s private chat, dated now."""
    update = load(name)
    message = update[key]
    message["from"]["id"] = user_id
    if message["chat"]["type"] == "private":
        message["chat"]["id"] = user_id
    message["message_id"] = next(_message_ids) if message_id is None else message_id
    message["date"] = int(time.time())
    return update, message


def _set_text(message: dict[str, Any], text: str) -> None:
    """Set the text, with a bot_command entity when it starts with "/"."""
    message["text"] = text
    message.pop("entities", None)
    if text.startswith("/"):
        command = text.split()[0]
        length = len(command.encode("utf-16-le")) // 2  # entity offsets count UTF-16 units
        message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]


def text(
    text: str,
    *,
    user_id: int = 1001,
    message_id: int | None = None,
    language_code: str | None = "id",
) -> UpdateJSON:
    """A private text message (a command when it starts with "/")."""
    update, message = _private("text", user_id, message_id)
    _set_text(message, text)
    if language_code is None:
        message["from"].pop("language_code", None)
    else:
        message["from"]["language_code"] = language_code
    return update


def callback(
    data: str, *, user_id: int = 1001, message_id: int = 5, query_id: str | None = None
) -> UpdateJSON:
    """A button press with `data` on the bot's message `message_id`."""
    update = load("callback_query")
    query = update["callback_query"]
    query["id"] = str(next(_query_ids)) if query_id is None else query_id
    query["from"]["id"] = user_id
    query["message"]["chat"]["id"] = user_id
    query["message"]["message_id"] = message_id
    query["data"] = data
    return update


def contact(phone: str, *, user_id: int = 1001, contact_user_id: int | None = None) -> UpdateJSON:
    """A shared contact: the sender's own unless `contact_user_id` names someone else."""
    owner = user_id if contact_user_id is None else contact_user_id
    update, message = _private("contact_own" if owner == user_id else "contact_other", user_id)
    message["contact"].update(phone_number=phone, user_id=owner)
    return update


def location(lat: float, lon: float, *, user_id: int = 1001) -> UpdateJSON:
    """A shared location."""
    update, message = _private("location", user_id)
    message["location"] = {"latitude": lat, "longitude": lon}
    return update


def media(kind: str, *, user_id: int = 1001) -> UpdateJSON:
    """A message carrying a sticker, photo, voice, document, poll, video or audio."""
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}; one of {MEDIA_KINDS}")
    return _private(kind, user_id)[0]


def edited(text: str, *, user_id: int = 1001) -> UpdateJSON:
    """An edited_message whose new text is `text`."""
    update, message = _private("edited_message", user_id, key="edited_message")
    _set_text(message, text)
    message["edit_date"] = message["date"]
    message["date"] -= 60
    return update


def group(text: str, *, user_id: int = 1001) -> UpdateJSON:
    """A text message from `user_id` in the supergroup -100123 "RT 05"."""
    update, message = _private("group_text", user_id)
    _set_text(message, text)
    return update
