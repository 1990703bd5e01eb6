"""The WhatsApp Cloud API's shapes: webhook deliveries read into Incoming messages and status
reports, Replies rendered into message bodies within the platform's limits, and the approved
templates used outside the 24-hour window.

Limits (Meta's "Messages" reference): a text holds 4,096 characters; reply buttons are at most
3, titles at most 20 characters, with a body of at most 1,024; a list holds at most 10 rows,
titles at most 24 characters and descriptions at most 72, its button label at most 20. Labels
are never cut: an option that does not fit uses its short label (from the catalogs or the
data), and when even that does not fit the options go as numbered text.
"""

import hashlib
import hmac
import logging
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.channels.parts import split_text
from handlers import hints
from handlers.i18n import translations
from handlers.messages import Incoming, Kind, Reply

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
TEXT_LIMIT = 4096
BUTTONS = 3
BUTTON_TITLE = 20
BODY_WITH_BUTTONS = 1024
ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
LIST_BUTTON = 20
# WhatsApp refuses template parameters with line breaks, tabs or more than four spaces in a
# row, and a template's body holds 1,024 characters with its own words
TEMPLATE_PARAMETER = 900

MEDIA = {
    "image": Kind.PHOTO,
    "sticker": Kind.STICKER,
    "audio": Kind.VOICE,
    "video": Kind.VIDEO,
    "document": Kind.DOCUMENT,
    "reaction": Kind.REACTION,
}

JSON = dict[str, Any]
# WhatsApp's notices rather than a resident's words: a changed number, the first opening of
# the chat, an ephemeral-setting change; answered with nothing
IGNORED = frozenset({"system", "request_welcome", "ephemeral", "edit", "revoke"})
# a business-scoped user id (Meta's usernames, 2026): a country code, a period and letters
# and digits ("US.13491208655302741918", "US.ENT.118…"); the user's id when no phone is given
BSUID = re.compile(r"[A-Z]{2}(\.[A-Za-z0-9]{1,128}){1,2}")


def sent_at(timestamp: object) -> datetime | None:
    """Read a webhook's timestamp (Unix seconds, as a string)."""
    try:
        return datetime.fromtimestamp(int(str(timestamp)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    """Check X-Hub-Signature-256 (`sha256=<hex HMAC of the raw body>`) in constant time."""
    if not header or not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


@dataclass(frozen=True)
class StatusReport:
    """What WhatsApp reports of a message we sent: sent, delivered, read, or failed."""

    message_id: str
    status: str
    recipient: str
    error_code: int | None = None
    error: str | None = None


@dataclass
class Delivery:
    """One webhook delivery, read: the residents' messages and the status reports."""

    messages: list[Incoming] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)
    # the ids of WhatsApp groups written in, asked to write privately as Telegram groups are
    groups: list[str] = field(default_factory=list)
    # (number, business-scoped id) of users who came with both: one resident under either
    aliases: list[tuple[str, str]] = field(default_factory=list)


def read_webhook(payload: JSON, phone_number_id: str | None = None) -> Delivery:
    """Read a webhook delivery (for our business number only, when given); parts it does not
    know are skipped, never a failure."""
    found = Delivery()
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return found
    for entry in payload.get("entry") or []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes or []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            number = (value.get("metadata") or {}).get("phone_number_id")
            if phone_number_id is not None and str(number) != phone_number_id:
                continue  # another number of the same Meta app: not ours to answer
            for message in value.get("messages") or []:
                if isinstance(message, dict) and message.get("group_id"):
                    if message.get("type") not in IGNORED:
                        found.groups.append(str(message["group_id"]))
                    continue  # never a step of a private conversation
                incoming = to_incoming(message)
                if incoming is not None:
                    found.messages.append(incoming)
                    user_id = str(message.get("from_user_id") or "")
                    if incoming.sender_phone and BSUID.fullmatch(user_id):
                        found.aliases.append((incoming.external_id, user_id))
            for status in value.get("statuses") or []:
                report = to_status(status)
                if report is not None:
                    found.statuses.append(report)
    return found


def to_incoming(message: JSON) -> Incoming | None:
    """Read one message of a resident into what the engine takes."""
    if not isinstance(message, dict):
        return None
    sender, message_id = str(message.get("from") or ""), str(message.get("id") or "")
    if not message_id:
        return None
    if sender.isdigit():
        external_id, phone = sender, f"+{sender}"
    else:  # a user known by the business-scoped id only (usernames)
        external_id, phone = str(message.get("from_user_id") or ""), None
        if not BSUID.fullmatch(external_id):
            return None
    base = {
        "channel": CHANNEL,
        "external_id": external_id,
        "message_id": message_id,
        "sender_phone": phone,
        "sent_at": sent_at(message.get("timestamp")),
    }
    kind = message.get("type")
    if kind in IGNORED:
        return None
    if kind == "reaction" and not (message.get("reaction") or {}).get("emoji"):
        return None  # a reaction taken back
    if kind == "text":
        return Incoming(**base, text=str((message.get("text") or {}).get("body") or ""))
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        chosen = interactive.get("button_reply") or interactive.get("list_reply")
        if isinstance(chosen, dict) and chosen.get("id"):
            return Incoming(**base, kind=Kind.OPTION, option=str(chosen["id"]))
        return Incoming(**base, kind=Kind.OTHER)
    if kind == "button":  # a quick-reply button of a template: its text is the answer
        return Incoming(**base, text=str((message.get("button") or {}).get("text") or ""))
    if kind == "location":
        where = message.get("location") or {}
        try:
            latitude, longitude = float(where["latitude"]), float(where["longitude"])
        except (KeyError, TypeError, ValueError):
            return Incoming(**base, kind=Kind.OTHER)
        return Incoming(**base, kind=Kind.LOCATION, latitude=latitude, longitude=longitude)
    if kind == "contacts":
        return contact(base, message.get("contacts") or [], sender)
    if kind == "image":
        media_id = (message.get("image") or {}).get("id")
        return Incoming(**base, kind=Kind.PHOTO, media_id=str(media_id) if media_id else None)
    return Incoming(**base, kind=MEDIA.get(kind, Kind.OTHER))


def contact(base: JSON, cards: list, sender: str) -> Incoming:
    """Read a shared contact card: its first number, and whether it is the sender's own."""
    phones = [
        phone
        for card in cards
        if isinstance(card, dict)
        for phone in card.get("phones") or []
        if isinstance(phone, dict)
    ]
    if not phones:
        return Incoming(**base, kind=Kind.CONTACT, phone="")
    first = phones[0]
    number = str(first.get("wa_id") or first.get("phone") or "")
    digits = "".join(character for character in number if character.isdigit())
    return Incoming(**base, kind=Kind.CONTACT, phone=number, contact_is_own=digits == sender)


def to_status(status: JSON) -> StatusReport | None:
    """Read one status report of a message we sent."""
    if not isinstance(status, dict) or not status.get("id") or not status.get("status"):
        return None
    errors = status.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    title = first.get("title") or first.get("message")
    return StatusReport(
        message_id=str(status["id"]),
        status=str(status["status"]),
        recipient=str(status.get("recipient_id") or ""),
        error_code=int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
        error=f"{code} {title}".strip() if first else None,
    )


# -- rendering ----------------------------------------------------------------------------------


def text_body(text: str) -> JSON:
    """Return a text message."""
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def render(reply: Reply, language: str) -> list[JSON]:
    """Render one reply as message bodies (without the recipient): its text in parts of at most
    4,096 characters, the options as reply buttons, a list or numbered text, then the place."""
    bodies: list[JSON] = []
    options = reply.options
    buttons = len(options) <= BUTTONS and all(o.fitting(BUTTON_TITLE) for o in options)
    rows = len(options) <= ROWS and all(o.fitting(ROW_TITLE) for o in options)
    if options and (buttons or rows):
        limit = BODY_WITH_BUTTONS if buttons else TEXT_LIMIT
        parts = split_text(reply.text, TEXT_LIMIT)
        last = parts.pop()
        if len(last) > limit or not last.strip():  # the buttons go under a short question
            parts += [last] if last.strip() else []
            last = hints.choose_prompt(translations(language).gettext)
        bodies += [text_body(part) for part in parts]
        bodies.append(button_body(reply, last) if buttons else list_body(reply, last, language))
    else:
        text = reply.numbered() if options else reply.text
        bodies += [text_body(part) for part in split_text(text, TEXT_LIMIT)]
    if reply.place is not None:
        where = {"latitude": reply.place.latitude, "longitude": reply.place.longitude}
        if reply.place.name:
            where["name"] = reply.place.name
        if reply.place.address:
            where["address"] = reply.place.address
        bodies.append({"type": "location", "location": where})
    return bodies


def button_body(reply: Reply, body: str) -> JSON:
    """Return reply buttons: each option's label (or short label) as a title."""
    buttons = [
        {"type": "reply", "reply": {"id": option.key, "title": option.fitting(BUTTON_TITLE)}}
        for option in reply.options
    ]
    return {
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    }


def list_body(reply: Reply, body: str, language: str) -> JSON:
    """Return a list message: a row per option, the full label as its description when the
    title is the short one."""
    rows = []
    for option in reply.options:
        title = option.fitting(ROW_TITLE)
        row = {"id": option.key, "title": title}
        if title != option.label and len(option.label) <= ROW_DESCRIPTION:
            row["description"] = option.label
        rows.append(row)
    label = hints.list_button(translations(language).gettext)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": label, "sections": [{"rows": rows}]},
        },
    }


def image_body(media_id: str, caption: str) -> JSON:
    """Return an image message of an uploaded picture."""
    image = {"id": media_id}
    if caption:
        image["caption"] = caption
    return {"type": "image", "image": image}


# -- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """An approved message template: its name and language at Meta, and what fills its body's
    parameters ({{1}}, {{2}}…): "text" (the message, on one line) or "name" (none yet)."""

    name: str
    language: str
    parameters: tuple[str, ...] = ("text",)


# the outbound kinds by the template that carries them outside the window
TEMPLATE_OF_KIND = {
    "reminder": "reminder",
    "announcement": "announcement",
    "status": "status",
    "promotion": "status",
    "called_off": "status",
    "survey": "survey",
    "feedback": "survey",
}
PARAMETERS = frozenset({"text"})


class TemplatesProblem(Exception):
    """The templates file is wrong; the message says where."""


def load_templates(path: Path | None) -> dict[tuple[str, str], Template]:
    """Read the templates file: a table per template kind (reminder, announcement, status,
    survey) and language (id, en) with the name, the language code at Meta and the parameters."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise TemplatesProblem(f"{path}: {error}") from None
    found = {}
    for kind, languages in data.items():
        if kind not in set(TEMPLATE_OF_KIND.values()) or not isinstance(languages, dict):
            raise TemplatesProblem(f"{path}: unknown template kind {kind!r}")
        for language, spec in languages.items():
            if not isinstance(spec, dict) or not spec.get("name"):
                raise TemplatesProblem(f"{path}: [{kind}.{language}] needs a name")
            parameters = tuple(spec.get("parameters", ["text"]))
            if not set(parameters) <= PARAMETERS:
                raise TemplatesProblem(f"{path}: [{kind}.{language}] parameters: only 'text'")
            code = str(spec.get("language", language))
            found[kind, language] = Template(str(spec["name"]), code, parameters)
    return found


def one_line(text: str) -> str:
    """Put a message on one line, as template parameters must be."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return " · ".join(line for line in lines if line)


def template_body(template: Template, text: str) -> JSON | None:
    """Return the template message carrying `text`; None when the text is too long for it."""
    flat = one_line(text)
    if len(flat) > TEMPLATE_PARAMETER:
        return None
    parameters = [{"type": "text", "text": flat} for _name in template.parameters]
    components = [{"type": "body", "parameters": parameters}] if parameters else []
    return {
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.language},
            "components": components,
        },
    }
