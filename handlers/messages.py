"""Channel-neutral values: what a resident sends and what the bot answers."""

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    """What kind of message arrived."""

    TEXT = "text"
    OPTION = "option"  # a tapped button or list row, carrying its key
    CONTACT = "contact"
    LOCATION = "location"
    STICKER = "sticker"
    PHOTO = "photo"
    VOICE = "voice"  # voice notes and other audio
    VIDEO = "video"
    DOCUMENT = "document"
    REACTION = "reaction"
    OTHER = "other"  # polls, games, anything a channel cannot describe better


MEDIA_KINDS = frozenset(
    {Kind.STICKER, Kind.PHOTO, Kind.VOICE, Kind.VIDEO, Kind.DOCUMENT, Kind.REACTION, Kind.OTHER}
)


@dataclass(frozen=True)
class Incoming:
    """One message from a resident, as every channel hands it to the engine."""

    channel: str
    external_id: str  # the resident's id on that channel
    message_id: str  # the channel's id of this message, for ignoring redeliveries
    kind: Kind = Kind.TEXT
    text: str = ""
    option: str | None = None  # the key of the chosen option
    phone: str | None = None  # a shared contact's number
    contact_is_own: bool = True  # False when someone shares another person's contact
    latitude: float | None = None
    longitude: float | None = None
    language_hint: str | None = None  # the app's language, used only for a new resident
    # the sender's own number, when the platform vouches for it (WhatsApp: +62…); a resident
    # who registered that number vouched for on another platform is the same person
    sender_phone: str | None = None
    sent_at: datetime | None = None  # when the resident sent it, if the platform says
    # the platform's id of a sent photo (Telegram: the largest size's file_id; WhatsApp: the
    # image's media id), kept to show staff the evidence of a complaint
    media_id: str | None = None
    # the row of the stored delivery (storage/inbox.py) it came from, dropped when handled
    inbox_id: int | None = None


def is_place(latitude: float | None, longitude: float | None) -> bool:
    """Tell whether a shared location is a point on Earth: finite, within ±90 and ±180."""
    try:
        lat, lon = float(latitude), float(longitude)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


@dataclass(frozen=True)
class Option:
    """A choice offered to the resident: a stable key and a translated label."""

    key: str
    label: str
    # other words that pick it in either language ("ya", "setuju"); channels do not show them
    aliases: frozenset[str] = frozenset()
    # a shorter label (translated, or a code from data) for a channel whose buttons and list
    # rows hold less (WhatsApp: 20 and 24 characters); labels are never cut
    short: str = ""

    def fitting(self, limit: int) -> str | None:
        """Return the label, or the short one, that fits in `limit` characters; None if none."""
        for label in (self.label, self.short):
            if label and len(label) <= limit:
                return label
        return None


class Request(StrEnum):
    """Something the channel may ask for with a special button."""

    PHONE = "phone"
    LOCATION = "location"


@dataclass(frozen=True)
class Place:
    """A point to show on a map."""

    latitude: float
    longitude: float
    name: str = ""
    address: str = ""


@dataclass(frozen=True)
class Reply:
    """One message from the bot: finished text in the resident's language, with extras."""

    text: str
    options: tuple[Option, ...] = field(default=())
    request: Request | None = None
    request_label: str = ""  # the label of the button that shares the phone or location
    image: bytes | None = None  # PNG, e.g. a chart
    place: Place | None = None
    # a picture a resident sent (a complaint's photo), shown to staff: "<channel>:<file id>";
    # a channel fetches one from another platform through bot/channels/media.py
    photo: str | None = None
    # a channel that shows a special keyboard for a request removes it with the next reply
    # the outbound row that holds it (the engine writes a channel's replies to the queue in
    # the step's transaction); None for a reply that is not queued
    queued: int | None = field(default=None, compare=False)

    def numbered(self) -> str:
        """Render the text with numbered options, as plain-text channels show it."""
        lines = [self.text]
        lines += [f"{number}. {option.label}" for number, option in enumerate(self.options, 1)]
        return "\n".join(lines)
