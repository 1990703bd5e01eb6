"""Pictures residents sent, fetched from the platform that holds them: a complaint's photo sent
on WhatsApp is shown to staff who work on Telegram, and the other way round. Each channel that
can download registers itself; a photo is named "<channel>:<file id>" (handlers/complaints.py).
"""

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Telegram takes photos up to 10 MB by upload

Download = Callable[[str], Awaitable[bytes | None]]


def split_ref(ref: str) -> tuple[str, str] | None:
    """Return a photo's channel and file id; None for one stored without its channel."""
    channel, sep, file_id = ref.partition(":")
    if not sep or not file_id or channel not in ("telegram", "whatsapp", "console"):
        return None
    return channel, file_id


class Media:
    """The downloads of the running channels, by channel."""

    def __init__(self) -> None:
        self._downloads: dict[str, Download] = {}

    def register(self, channel: str, download: Download) -> None:
        """Let photos sent on `channel` be fetched with `download`."""
        self._downloads[channel] = download

    async def fetch(self, ref: str) -> bytes | None:
        """Return a photo's bytes; None when its platform is not running here, or the
        platform no longer has it (it is logged, never raised: staff still read the text)."""
        source = split_ref(ref)
        download = self._downloads.get(source[0]) if source else None
        if download is None:
            return None
        try:
            content = await download(source[1])
        except Exception:  # a network or platform failure: the text goes all the same
            log.warning("a photo could not be fetched from %s", source[0], exc_info=True)
            return None
        if content is not None and len(content) > MAX_PHOTO_BYTES:
            log.info("a photo from %s is too large to pass on", source[0])
            return None
        return content
