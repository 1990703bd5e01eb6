"""The outline of a WhatsApp webhook delivery (Meta's "Webhooks: messages" reference): which of
its fields hold objects, which lists of objects and which plain values. A delivery with another
type in one of them is not Meta's and is refused as a whole, before it is read; fields not named
here are not looked at, so new ones Meta adds pass."""

from typing import Any

SCALAR = "scalar"  # a string, a number, true or false


def many(outline: Any) -> list:
    """A list whose every item has `outline`."""
    return [outline]


ERROR = {
    "code": SCALAR,
    "title": SCALAR,
    "message": SCALAR,
    "href": SCALAR,
    "error_data": {"details": SCALAR},
}
MEDIA = {
    "id": SCALAR,
    "mime_type": SCALAR,
    "sha256": SCALAR,
    "caption": SCALAR,
    "filename": SCALAR,
    "animated": SCALAR,
    "voice": SCALAR,
    "url": SCALAR,
}
CONTACT_CARD = {
    "birthday": SCALAR,
    "name": {"formatted_name": SCALAR, "first_name": SCALAR, "last_name": SCALAR},
    "org": {"company": SCALAR, "department": SCALAR, "title": SCALAR},
    "phones": many({"phone": SCALAR, "wa_id": SCALAR, "type": SCALAR}),
    "emails": many({"email": SCALAR, "type": SCALAR}),
    "urls": many({"url": SCALAR, "type": SCALAR}),
    "addresses": many({"street": SCALAR, "city": SCALAR, "country": SCALAR, "type": SCALAR}),
}
REPLY = {"id": SCALAR, "title": SCALAR, "description": SCALAR}
MESSAGE = {
    "from": SCALAR,
    "id": SCALAR,
    "timestamp": SCALAR,
    "type": SCALAR,
    "text": {"body": SCALAR},
    "interactive": {
        "type": SCALAR,
        "button_reply": REPLY,
        "list_reply": REPLY,
        "nfm_reply": {"name": SCALAR, "body": SCALAR, "response_json": SCALAR},
    },
    "button": {"text": SCALAR, "payload": SCALAR},
    "location": {
        "latitude": SCALAR,
        "longitude": SCALAR,
        "name": SCALAR,
        "address": SCALAR,
        "url": SCALAR,
    },
    "contacts": many(CONTACT_CARD),
    "image": MEDIA,
    "audio": MEDIA,
    "video": MEDIA,
    "document": MEDIA,
    "sticker": MEDIA,
    "reaction": {"message_id": SCALAR, "emoji": SCALAR},
    "context": {"from": SCALAR, "id": SCALAR, "forwarded": SCALAR},
    "referral": {"source_url": SCALAR, "source_id": SCALAR, "source_type": SCALAR},
    "system": {"body": SCALAR, "type": SCALAR, "wa_id": SCALAR, "new_wa_id": SCALAR},
    "errors": many(ERROR),
}
STATUS = {
    "id": SCALAR,
    "status": SCALAR,
    "timestamp": SCALAR,
    "recipient_id": SCALAR,
    "conversation": {"id": SCALAR, "origin": {"type": SCALAR}},
    "pricing": {"billable": SCALAR, "pricing_model": SCALAR, "category": SCALAR},
    "errors": many(ERROR),
}
VALUE = {
    "messaging_product": SCALAR,
    "metadata": {"display_phone_number": SCALAR, "phone_number_id": SCALAR},
    "contacts": many({"wa_id": SCALAR, "user_id": SCALAR, "profile": {"name": SCALAR}}),
    "messages": many(MESSAGE),
    "statuses": many(STATUS),
    "errors": many(ERROR),
}
DELIVERY = {
    "object": SCALAR,
    "entry": many(
        {"id": SCALAR, "time": SCALAR, "changes": many({"field": SCALAR, "value": VALUE})}
    ),
}


def misshapen(payload: object, outline: Any = DELIVERY, where: str = "") -> str | None:
    """Return where `payload` departs from the outline (a path such as
    `entry[0].changes[0].value.messages`), or None when it follows it. A null counts as the
    field left out."""
    if isinstance(outline, dict):
        if not isinstance(payload, dict):
            return where or "the body"
        for key, inner in outline.items():
            if payload.get(key) is not None:
                found = misshapen(payload[key], inner, f"{where}.{key}" if where else key)
                if found:
                    return found
        return None
    if isinstance(outline, list):
        if not isinstance(payload, list):
            return where
        for index, item in enumerate(payload):
            found = misshapen(item, outline[0], f"{where}[{index}]")
            if found:
                return found
        return None
    return where if isinstance(payload, dict | list) else None
