"""Commands for the staff side: `staff add | remove | list` (accounts by Telegram id or WhatsApp
number, with a role and optionally a kelurahan), and the command line of `broadcast` (which
bot/announcing.py carries out). Each checks the role of the account running it and writes the
audit log."""

import argparse
import sys
from pathlib import Path

from bot import announcing
from bot.accounts import staff_command
from bot.settings import Settings
from storage import broadcasts, staff
from storage.staff import Role, StaffProblem
from storage.types import utcnow


def add_commands(commands, login_option) -> None:
    """Add `staff` and `broadcast` to the command line."""
    team = commands.add_parser("staff", help="add, remove and list staff accounts and roles")
    team_commands = team.add_subparsers(dest="staff_command", required=True)
    add = team_commands.add_parser(
        "add",
        help="add or change an account (admins only)",
        description="Add or change a staff account: its role, the chat account it works from "
        "(a Telegram user id or a WhatsApp number) and, optionally, the one kelurahan it is "
        "limited to.",
    )
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("--telegram", metavar="USER_ID", help="the Telegram user id (digits)")
    who.add_argument("--whatsapp", metavar="NUMBER", help="the WhatsApp number, e.g. 628123…")
    who.add_argument("--console", metavar="NAME", help="a name of `chat --as NAME` (to try)")
    who.add_argument("--login", dest="new_login", metavar="LOGIN", help="a login only")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--name", default="", help="the person's name, shown in the audit log")
    limit = add.add_mutually_exclusive_group()
    limit.add_argument("--kelurahan", metavar="NAME", help="limit the account to one kelurahan")
    limit.add_argument(
        "--whole-kecamatan", action="store_true", help="lift the account's kelurahan limit"
    )
    add.add_argument("--partner", metavar="CODE", help="a partner account's organisation")
    add.add_argument("--account", metavar="LOGIN", help="the account's login (default: derived)")
    login_option(add)
    remove = team_commands.add_parser("remove", help="deactivate an account (admins only)")
    gone = remove.add_mutually_exclusive_group(required=True)
    gone.add_argument("--telegram", metavar="USER_ID")
    gone.add_argument("--whatsapp", metavar="NUMBER")
    gone.add_argument("--console", metavar="NAME")
    gone.add_argument("--login", dest="new_login", metavar="LOGIN")
    login_option(remove)
    listed = team_commands.add_parser("list", help="every account, its role and chat")
    login_option(listed)

    send = commands.add_parser(
        "broadcast",
        help="send an announcement to a segment of residents",
        description="Queue an announcement (siaran) for a segment: everyone, kelurahan=NAME, "
        "rw=KELURAHAN:RW, program=CODE, course=CODE, batch=CODE, language=id|en, "
        "channel=telegram|whatsapp. Residents who said berhenti are skipped.",
    )
    send.add_argument("--segment", metavar="SEGMENT")
    send.add_argument("--message-file", type=Path, metavar="FILE")
    send.add_argument(
        "--stop", type=int, metavar="ID", help="stop a recurring broadcast (its number)"
    )
    when = send.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="send later: 2026-12-01T08:00 (local time)")
    when.add_argument(
        "--every",
        metavar="CRON",
        help='again and again: crontab fields in local time, e.g. "0 8 * * mon" (Mondays 08.00)',
    )
    send.add_argument(
        "--repeat",
        action="store_true",
        help="confirm sending a text that the same residents got in the last 24 hours",
    )
    send.add_argument("--dry-run", action="store_true", help="count the recipients only")
    login_option(send)


def run(settings: Settings, args: argparse.Namespace, login: str | None) -> int | None:
    """Run a `staff` or `broadcast` command, if it is one."""
    if args.command == "staff":
        if args.staff_command == "list":
            return staff_list(settings, login)
        chat = chat_of(args)
        if args.staff_command == "add":
            return staff_add(settings, args, chat, login)
        return staff_remove(settings, args, chat, login)
    if args.command == "broadcast" and args.stop is not None:
        return announcing.stop_recurring(settings, args.stop, login)
    if args.command == "broadcast":
        if not args.segment or not args.message_file:
            print("broadcast needs --segment and --message-file (or --stop ID).", file=sys.stderr)
            return 2
        return announcing.broadcast(settings, args, login)
    return None


def chat_of(args: argparse.Namespace) -> tuple[str, str] | None:
    """Return the chat account named on the command line, if one is."""
    if args.telegram:
        return ("telegram", args.telegram.strip())
    if args.whatsapp:
        return ("whatsapp", staff.whatsapp_id(args.whatsapp))
    if args.console:
        return ("console", args.console.strip())
    return None


def staff_add(
    settings: Settings, args: argparse.Namespace, chat: tuple[str, str] | None, login: str | None
) -> int:
    """Add or change an account, as an admin."""
    if chat is not None and chat[0] != "console" and not (chat[1].isascii() and chat[1].isdigit()):
        print("A Telegram id or WhatsApp number is digits only.", file=sys.stderr)
        return 2
    if chat is not None and not chat[1]:
        print("Name the chat account.", file=sys.stderr)
        return 2
    now = utcnow()
    try:
        with staff_command(settings, login, "staff.manage") as admission:
            db = admission.db
            new_login = args.account or args.new_login
            if new_login is None and chat is not None:
                new_login = staff.login_of_chat(
                    db=db, channel=chat[0], external_id=chat[1]
                ) or staff.new_login(db=db, channel=chat[0], external_id=chat[1])
            kelurahan = None
            if args.kelurahan:
                kelurahan = broadcasts.kelurahan_code(db=db, word=args.kelurahan)
                if kelurahan is None:
                    print(f"No kelurahan {args.kelurahan!r} in Duren Sawit.", file=sys.stderr)
                    return 2
            new = staff.add(
                db=db,
                login=new_login,
                name=args.name,
                role=Role(args.role),
                now=now,
                channel=chat[0] if chat else None,
                external_id=chat[1] if chat else None,
                kelurahan_code=kelurahan,
                partner_code=args.partner,
                whole_kecamatan=args.whole_kecamatan,
            )
            details = {
                "role": args.role,
                "kelurahan": kelurahan or ("all" if args.whole_kecamatan else "unchanged"),
                "chat": chat[0] if chat else None,
            }
            admission.permit.record(
                db,
                action="staff.add" if new else "staff.change",
                target=new_login,
                details=details,
            )
    except StaffProblem as problem:
        print(f"Not added: {problem}.", file=sys.stderr)
        return 2
    limit = f", limited to {args.kelurahan}" if kelurahan else ""
    print(f"{'Added' if new else 'Changed'} {new_login}: {args.role}{limit}.")
    return 0


def staff_remove(
    settings: Settings, args: argparse.Namespace, chat: tuple[str, str] | None, login: str | None
) -> int:
    """Deactivate an account, as an admin."""
    now = utcnow()
    with staff_command(settings, login, "staff.manage") as admission:
        db, admin = admission.db, admission.member
        target = args.new_login
        if chat is not None:
            found = staff.of_chat(db=db, channel=chat[0], external_id=chat[1])
            target = found.login if found else None
        if target is None or not staff.remove(db=db, login=target, now=now):
            print("No such active account.", file=sys.stderr)
            return 2
        if target.strip().lower() == admin.login:
            print("Removed your own account.", file=sys.stderr)
        admission.permit.record(
            db,
            action="staff.remove",
            target=target,
        )
    print(f"Removed {target}: it can no longer act as staff.")
    return 0


def staff_list(settings: Settings, login: str | None) -> int:
    """Print every account, active first."""
    with staff_command(settings, login, "staff.list") as admission:
        rows = staff.listing(db=admission.db)
    print(f"{'login':<24} {'role':<10} {'kelurahan':<16} {'chat':<24} active")
    for row in rows:
        chat = f"{row.channel}:{shown_id(row.channel, row.external_id)}" if row.channel else "-"
        where = row.kelurahan_code or "-"
        active = "yes" if row.active else "no"
        print(f"{row.login:<24} {row.role:<10} {where:<16} {chat:<24} {active}")
    return 0


def shown_id(channel: str, external_id: str | None) -> str:
    """Show a chat id; a WhatsApp number only by its last four digits."""
    if channel == "whatsapp" and external_id:
        return "…" + external_id[-4:]
    return external_id or ""
