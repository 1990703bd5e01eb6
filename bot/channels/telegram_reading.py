"""Reading Telegram's updates so that one python-telegram-bot cannot read never stalls the rest.

python-telegram-bot 22 refuses some shapes Telegram (or a self-hosted Bot API server of an
older version) really sends: polls and poll answers without the fields Bot API 9.6 added
(`persistent_id`, `option_persistent_ids`, `allows_revoting`), a thumbnail without
`file_unique_id`, a chat member of an older version, a user without `is_bot`. It then fails
the whole getUpdates batch, logs it in full at CRITICAL and fetches the same batch again, in a
loop. Here such an update is skipped with one warning naming its update_id and its type, and
nothing of its content: by polling it is replaced by its bare update_id (so the rest of the
batch is served and the offset moves past it), by webhook it is not queued.
"""

import logging
from typing import Any

from telegram import Bot, Update
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

NONE = type(None)
NUMBER = (int, float)
TYPE_NAME_LIMIT = 40  # the update's kinds are Bot API field names, a few words long


def update_type(data: dict) -> str:
    """Name an update's kind: its key other than update_id (a Bot API field name)."""
    for key in data:
        if key != "update_id":
            readable = isinstance(key, str) and key.isidentifier() and key.isascii()
            return key if readable and len(key) <= TYPE_NAME_LIMIT else "unknown"
    return "none"


def read_update(data: dict, bot: Bot | None = None) -> Update | None:
    """Return the update python-telegram-bot makes of `data`; None, with one warning naming only
    its id and type, when it cannot read it."""
    try:
        update = Update.de_json(data, bot)
        if not well_typed(update):  # the library does not check the types of what it keeps
            raise TypeError("a field of the wrong type")
        return update
    except Exception as error:  # whatever the library makes of a shape it does not know
        update_id = data.get("update_id")
        log.warning(
            "a Telegram update could not be read and is skipped: update_id=%s type=%s (%s)",
            update_id if isinstance(update_id, int) else "none",
            update_type(data),
            type(error).__name__,
        )
        return None


def well_typed(update: Update) -> bool:
    """Tell whether the fields the channel reads (bot/channels/telegram.py) have their Bot API
    types: ids, texts, a button's data, a contact's number, a location's coordinates."""
    found: list[tuple[object, type | tuple[type, ...]]] = []
    query = update.callback_query
    if query is not None:
        found += [(query.id, str), (query.from_user.id, int), (query.data, (str, NONE))]
    for message in (update.message, update.edited_message):
        if message is None:
            continue
        found += [(message.message_id, int), (message.chat.id, int), (message.chat.type, str)]
        found += [(message.text, (str, NONE)), (message.caption, (str, NONE))]
        if message.from_user is not None:
            found += [(message.from_user.id, int), (message.from_user.language_code, (str, NONE))]
        if message.contact is not None:
            found += [(message.contact.phone_number, str), (message.contact.user_id, (int, NONE))]
        if message.location is not None:
            found += [(message.location.latitude, NUMBER), (message.location.longitude, NUMBER)]
        found += [(size.file_id, str) for size in message.photo or ()]
    return all(isinstance(value, kind) for value, kind in found)


def readable_batch(updates: list) -> list:
    """Return a getUpdates result with every update the library cannot read replaced by its
    bare update_id, and anything without one left out."""
    batch = []
    for data in updates:
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("a getUpdates entry without an update_id is skipped")
            continue
        batch.append(data if read_update(data) is not None else {"update_id": update_id})
    return batch


class ReadableUpdatesRequest(HTTPXRequest):
    """The connection getUpdates goes through (python-telegram-bot gives it one of its own):
    its answer is made readable before the library reads it (readable_batch)."""

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:
        """Parse the answer, then replace the updates that cannot be read."""
        answer = super().parse_json_payload(payload)
        if isinstance(answer, dict) and isinstance(answer.get("result"), list):
            answer["result"] = readable_batch(answer["result"])
        return answer
