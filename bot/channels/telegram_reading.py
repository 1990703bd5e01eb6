"""Reading Telegram's raw updates before python-telegram-bot does: an update the library
cannot de-serialise (a shape from an older or newer Bot API) is skipped with one warning that
names its id and type, never its content, and the rest of its batch is served."""

import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


def update_type(data: dict) -> str:
    """Return an update's type: its first top-level key other than update_id."""
    return next((str(key)[:40] for key in data if key != "update_id"), "empty")


def readable(data: Any) -> dict | None:
    """Return the update as given when python-telegram-bot can read it; one it cannot becomes
    a bare {"update_id": …} (so polling moves past it), and one without an id None."""
    if not isinstance(data, dict):
        log.warning("skipped a Telegram update that is not an object")
        return None
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        log.warning("skipped a Telegram update without an id")
        return None
    try:
        Update.de_json(data, None)
    except Exception:  # any failure of the library is the same to us
        log.warning("skipped Telegram update %d (%s): not readable", update_id, update_type(data))
        return {"update_id": update_id}
    return data


def read_update(data: Any, bot) -> Update | None:
    """Return python-telegram-bot's Update of one webhook delivery, None when it is skipped."""
    checked = readable(data)
    return None if checked is None else Update.de_json(checked, bot)


class UpdatesRequest(HTTPXRequest):
    """The getUpdates request: each update of a batch checked before the library reads it."""

    async def post(self, *args, **kwargs):
        """Post, and replace the updates of the answer the library could not read."""
        result = await super().post(*args, **kwargs)
        if not isinstance(result, list):
            return result
        checked = (readable(data) for data in result)
        return [data for data in checked if data is not None]
