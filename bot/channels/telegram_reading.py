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
        return Update.de_json(data, bot)
    except Exception as error:  # whatever the library makes of a shape it does not know
        update_id = data.get("update_id")
        log.warning(
            "a Telegram update could not be read and is skipped: update_id=%s type=%s (%s)",
            update_id if isinstance(update_id, int) else "none",
            update_type(data),
            type(error).__name__,
        )
        return None


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
