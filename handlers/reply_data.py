"""Replies and incoming messages as plain data (JSON), to be kept in the database: a reply
waits in the outbound queue, a message in the inbox."""

import base64
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from handlers.messages import Incoming, Kind, Option, Place, Reply, Request


def reply_data(reply: Reply) -> dict[str, Any]:
    """Return a reply as JSON-ready data (a picture in base64)."""
    data: dict[str, Any] = {"text": reply.text}
    if reply.options:
        data["options"] = [
            {"key": option.key, "label": option.label, "short": option.short}
            for option in reply.options
        ]
    if reply.request is not None:
        data["request"] = reply.request.value
        data["request_label"] = reply.request_label
    if reply.image is not None:
        data["image"] = base64.b64encode(reply.image).decode("ascii")
    if reply.place is not None:
        data["place"] = asdict(reply.place)
    if reply.photo:
        data["photo"] = reply.photo
    return data


def reply_of(data: dict[str, Any]) -> Reply:
    """Return the reply that `reply_data` made `data` of."""
    options = tuple(
        Option(option["key"], option["label"], short=option.get("short", ""))
        for option in data.get("options") or ()
    )
    image = data.get("image")
    place = data.get("place")
    request = data.get("request")
    return Reply(
        data.get("text", ""),
        options,
        request=Request(request) if request else None,
        request_label=data.get("request_label", ""),
        image=base64.b64decode(image) if image else None,
        place=Place(**place) if place else None,
        photo=data.get("photo"),
    )


def incoming_data(message: Incoming) -> dict[str, Any]:
    """Return an incoming message as JSON-ready data (without its inbox row)."""
    names = [item.name for item in fields(Incoming) if item.name != "inbox_id"]
    data = {name: getattr(message, name) for name in names}
    data["kind"] = message.kind.value
    data["sent_at"] = message.sent_at.isoformat() if message.sent_at else None
    return data


def incoming_of(data: dict[str, Any], inbox_id: int | None = None) -> Incoming:
    """Return the message that `incoming_data` made `data` of, from inbox row `inbox_id`."""
    known = {item.name for item in fields(Incoming)}
    values = {key: value for key, value in data.items() if key in known}
    values["kind"] = Kind(values.get("kind", Kind.TEXT))
    sent_at = values.get("sent_at")
    values["sent_at"] = datetime.fromisoformat(sent_at) if sent_at else None
    values["inbox_id"] = inbox_id
    return Incoming(**values)
