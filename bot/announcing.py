"""`broadcast`: an announcement (siaran) to a segment of residents from a file, now, later or
again and again, as staff (within their kelurahan, if limited); and `broadcast --stop ID`."""

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.accounts import staff_command
from bot.settings import Settings
from storage import broadcasts, staff
from storage.broadcasts import Segment, SegmentKind
from storage.types import utcnow

MESSAGE_LIMIT = 1000  # characters of an announcement: a WhatsApp template holds about 900


def read_segment(db: Connection, text: str) -> Segment | None:
    """Read a segment as the command line gives it; None (after saying why) when wrong."""
    kind_word, _sep, value = text.strip().partition("=")
    try:
        kind = SegmentKind(kind_word.strip().lower())
    except ValueError:
        print(f"Unknown segment {kind_word!r}; see --help.", file=sys.stderr)
        return None
    value = value.strip()
    if kind == SegmentKind.KELURAHAN:
        code = broadcasts.kelurahan_code(db=db, word=value)
        if code is None:
            print(f"No kelurahan {value!r} in Duren Sawit.", file=sys.stderr)
            return None
        value = code
    elif kind == SegmentKind.RW:
        place, _sep, rw = value.rpartition(":")
        code = broadcasts.kelurahan_code(db=db, word=place)
        if code is None or not (rw.strip().isascii() and rw.strip().isdigit()) or len(rw) > 3:
            print("An RW segment is rw=KELURAHAN:NUMBER, e.g. rw=klender:5.", file=sys.stderr)
            return None
        value = f"{code}:{int(rw)}"
    elif kind == SegmentKind.LANGUAGE and value not in ("id", "en"):
        print("language=id or language=en.", file=sys.stderr)
        return None
    elif kind == SegmentKind.CHANNEL and value not in ("telegram", "whatsapp", "console"):
        print("channel=telegram or channel=whatsapp.", file=sys.stderr)
        return None
    elif kind in (SegmentKind.PROGRAM, SegmentKind.COURSE, SegmentKind.BATCH):
        value = value.upper()
        if not value:
            print(f"{kind.value}= needs a code.", file=sys.stderr)
            return None
    return Segment(kind, value)


def read_time(text: str, zone: str) -> datetime | None:
    """Read a local time like 2026-12-01T08:00 or "2026-12-01 08:00"."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def broadcast(settings: Settings, args: argparse.Namespace, login: str | None) -> int:
    """Queue an announcement for a segment, as staff (within their kelurahan, if limited)."""
    try:
        text = args.message_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as problem:
        print(f"Cannot read {args.message_file}: {problem}", file=sys.stderr)
        return 2
    if not text or len(text) > MESSAGE_LIMIT:
        print(f"The message must have 1 to {MESSAGE_LIMIT} characters.", file=sys.stderr)
        return 2
    now = utcnow()
    send_at = None
    if args.at:
        send_at = read_time(args.at, settings.tz_name)
        if send_at is None or send_at <= now:
            print("--at must be a time to come, like 2026-12-01T08:00.", file=sys.stderr)
            return 2
    with staff_command(settings, login, "broadcast.send") as admission:
        db, member = admission.db, admission.member
        segment = read_segment(db, args.segment)
        if segment is None:
            return 2
        limit = member.kelurahan_code
        seen = broadcasts.preview(
            db=db, segment=segment, text=text, kelurahan_limit=limit, now=now
        )
        skipped = seen.skipped_opted_out
        print(f"Recipients: {seen.recipients}; skipped (said berhenti): {skipped}.")
        if args.dry_run:
            return 0
        if not seen.recipients:
            print("Nobody in that segment can be reached; nothing was queued.", file=sys.stderr)
            return 2
        if seen.repeated and not args.repeat:
            print(
                f"{seen.repeated} of them got the same text in the last 24 hours. "
                "Run again with --repeat to send it anyway.",
                file=sys.stderr,
            )
            return 2
        if args.every:
            return plan_recurring(db, args, admission.permit, segment, text, settings.tz_name, now)
        broadcast_id, queued, _skipped = broadcasts.queue(
            db=db,
            segment=segment,
            text=text,
            created_by=member.login,
            now=now,
            send_at=send_at,
            kelurahan_limit=limit,
            report_to=staff.chat_of(db=db, login=member.login),
        )
        admission.permit.record(
            db,
            action="broadcast.queue",
            target=f"siaran #{broadcast_id}",
            details={
                "segment": segment.as_dict(),
                "recipients": queued,
                "from": "command line",
            },
        )
    when = f" for {args.at}" if send_at else ""
    print(f"Siaran #{broadcast_id} queued{when}: {queued} messages.")
    return 0


def plan_recurring(db, args, permit, segment: Segment, text: str, zone: str, now) -> int:
    """Record a recurring broadcast; the clock queues a copy at each of its times."""
    member = permit.member
    from bot.broadcasting import next_fire, valid_cron

    if not valid_cron(args.every, zone):
        print(f'--every {args.every!r}: crontab fields, e.g. "0 8 * * mon".', file=sys.stderr)
        return 2
    first = next_fire(args.every, zone, now)
    plan_id = broadcasts.plan(
        db=db,
        segment=segment,
        text=text,
        cron=args.every,
        next_at=first,
        created_by=member.login,
        now=now,
        kelurahan_limit=member.kelurahan_code,
        report_to=staff.chat_of(db=db, login=member.login),
    )
    permit.record(
        db,
        action="broadcast.plan",
        target=f"siaran #{plan_id}",
        details={"segment": segment.as_dict(), "every": args.every},
    )
    local = first.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    print(f"Recurring siaran #{plan_id} ({args.every}); the first goes at {local}.")
    return 0


def stop_recurring(settings: Settings, plan_id: int, login: str | None) -> int:
    """End a recurring broadcast, as staff."""
    with staff_command(settings, login, "broadcast.stop") as admission:
        db = admission.db
        found = broadcasts.get(db=db, broadcast_id=plan_id)
        if found is not None:
            admission.permit.require(found.kelurahan_limit, target=f"siaran #{plan_id}")
        if found is None or not broadcasts.stop_plan(db=db, plan_id=plan_id):
            print(f"No running recurring siaran #{plan_id} of yours.", file=sys.stderr)
            return 2
        admission.permit.record(
            db,
            action="broadcast.stop",
            target=f"siaran #{plan_id}",
        )
    print(f"Recurring siaran #{plan_id} stopped.")
    return 0
