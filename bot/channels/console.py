"""The console channel: chat in a terminal, or pipe a script in, one line a message.

Lines starting with `::` stand for what a phone can send besides text, for demos and tests:
`::sticker`, `::photo`, `::voice`, `::video`, `::document`, `::location -6.23 106.91`,
`::contact 081234567890`, `::button KEY` (a tap on a button, even one from an old message).
"""

import asyncio
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TextIO

from handlers.engine import Engine
from handlers.messages import Incoming, Kind, Reply, Request

CHANNEL = "console"
SIMPLE_KINDS = {
    "sticker": Kind.STICKER,
    "photo": Kind.PHOTO,
    "voice": Kind.VOICE,
    "video": Kind.VIDEO,
    "document": Kind.DOCUMENT,
}


class ConsoleSender:
    """The outbound queue's console side: a message for a console resident is printed, so
    whoever chats sees their reminders and notices between the answers."""

    channel = CHANNEL

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout

    async def deliver(
        self,
        external_id: str,
        text: str,
        options: Sequence[dict[str, str]] | None = None,
        **_context: object,
    ) -> None:
        """Print one queued message, its options numbered."""
        lines = [f"[message for {external_id}] {text}"]
        lines += [
            f"  {number}. {option['label']}" for number, option in enumerate(options or (), 1)
        ]
        print("\n".join(lines), file=self.stdout or sys.stdout, flush=True)


def to_incoming(line: str, resident: str) -> Incoming:
    """Turn one console line into an incoming message."""
    base = {"channel": CHANNEL, "external_id": resident, "message_id": uuid.uuid4().hex}
    if not line.startswith("::"):
        return Incoming(**base, text=line)
    command, _, rest = line[2:].partition(" ")
    command, rest = command.lower(), rest.strip()
    if command == "photo":  # a picture the console cannot show: named so it can be kept
        return Incoming(**base, kind=Kind.PHOTO, media_id=f"console-photo-{base['message_id']}")
    if command in SIMPLE_KINDS:
        return Incoming(**base, kind=SIMPLE_KINDS[command])
    if command == "button" and rest:
        return Incoming(**base, kind=Kind.OPTION, option=rest)
    if command == "contact" and rest:
        return Incoming(**base, kind=Kind.CONTACT, phone=rest)
    if command == "location":
        try:
            latitude, longitude = (float(part) for part in rest.split())
        except ValueError:
            return Incoming(**base, kind=Kind.OTHER)
        return Incoming(**base, kind=Kind.LOCATION, latitude=latitude, longitude=longitude)
    return Incoming(**base, kind=Kind.OTHER)


def render(reply: Reply) -> str:
    """Render a reply as plain text: the text, then the numbered options."""
    text_lines = reply.text.splitlines() or [""]
    lines = [f"bot: {text_lines[0]}", *(f"     {line}" for line in text_lines[1:])]
    lines += [f"  {number}. {option.label}" for number, option in enumerate(reply.options, 1)]
    if reply.request == Request.PHONE:
        lines.append("     [type ::contact 0812... to share a phone number]")
    elif reply.request == Request.LOCATION:
        lines.append("     [type ::location LAT LON to share a location]")
    if reply.image:
        lines.append("     [image]")
    if reply.photo:
        lines.append(f"     [photo {reply.photo}]")
    if reply.place:
        lines.append(f"     [map: {reply.place.latitude}, {reply.place.longitude}]")
    return "\n".join(lines)


async def read_line(read: Callable[[], str]) -> str | None:
    """Read one line in a daemon thread, so Ctrl-C never waits for it; None at end of input."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def work() -> None:
        try:
            line: str | None = read()
        except EOFError:
            line = None
        except BaseException as error:  # handed to the waiting coroutine
            loop.call_soon_threadsafe(future.set_exception, error)
            return
        loop.call_soon_threadsafe(future.set_result, line)

    threading.Thread(target=work, name="console-input", daemon=True).start()
    return await future


async def chat(
    engine: Engine,
    *,
    resident: str = "warga",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> None:
    """Talk with the engine until the input ends."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (line editing and history for input())

        print(
            "Layanan Warga Duren Sawit (console). Type a message, e.g. halo; "
            "Ctrl-D or Ctrl-C to quit.",
            file=stdout,
        )
    while True:
        if interactive:
            line = await read_line(lambda: input("> "))
        else:
            line = await read_line(stdin.readline)
            line = line or None  # "" means the end of piped input
        if line is None:
            break
        line = line.rstrip("\r\n")
        if not interactive:
            print(f"> {line}", file=stdout)
        for reply in await engine.handle(to_incoming(line, resident)):
            print(render(reply), file=stdout)
        print(file=stdout, flush=True)
