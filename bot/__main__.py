"""Command line: `python -m bot run | chat | seed-demo | reset-demo | migrate`, and the staff
commands `import-registry`, `import-schedule`, `load-places`, `load-programs`,
`plan-distributions`, `load-staff`, `import-courses`, `import-batches`, `import-health`,
`batch list | attendance`, `application list | show | set-status | deadline`,
`staff add | remove | list`, `broadcast` and `export`."""

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from bot import accounts, applications, courses, exports, staff, surveying, team
from bot.app import conversation_engine, open_database
from bot.serve import StartupError, serve_channels, serve_console
from bot.settings import Settings, explain, pepper
from storage import database as storage_database
from storage import gate
from storage import staff as staff_accounts
from storage.demo import VENUES, WILAYAH, seed_demo
from storage.registry import PROGRAMS_FILE
from storage.staff import PARTNERS_FILE
from storage.types import utcnow

log = logging.getLogger("bot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Layanan Warga Duren Sawit chatbot."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="serve every channel whose credentials are set (console if none)"
    )
    chat = commands.add_parser("chat", help="chat in the terminal, or pipe lines in")
    chat.add_argument(
        "--as",
        dest="resident",
        default="warga",
        metavar="NAME",
        help="which local resident the console speaks as (default: warga)",
    )
    commands.add_parser("seed-demo", help="fill an empty database with demo data")
    reset = commands.add_parser("reset-demo", help="erase ALL data and seed the demo again")
    reset.add_argument("--yes", action="store_true", help="confirm that everything is erased")
    _login(reset)
    commands.add_parser("migrate", help="bring the database schema up to date")
    registry = commands.add_parser(
        "import-registry", help="load or update the beneficiary registry from a CSV file"
    )
    schedule = commands.add_parser(
        "import-schedule", help="load or update sembako distributions from a CSV file"
    )
    for command in (registry, schedule):
        command.add_argument("file", type=Path, metavar="FILE.csv")
        command.add_argument("--dry-run", action="store_true", help="check and report only")
        command.add_argument(
            "--rejects", type=Path, metavar="FILE.csv", help="write every rejected line here"
        )
        _login(command)
    places = commands.add_parser(
        "load-places", help="load or update the kelurahan and their RWs from a TOML file"
    )
    places.add_argument("file", type=Path, nargs="?", default=WILAYAH, metavar="FILE")
    _login(places)
    programs = commands.add_parser("load-programs", help="load or update the programs table")
    programs.add_argument("file", type=Path, nargs="?", default=PROGRAMS_FILE, metavar="FILE")
    _login(programs)
    plan = commands.add_parser(
        "plan-distributions", help="draft a year's sembako rounds as a CSV to review and import"
    )
    plan.add_argument("--year", type=int, required=True)
    plan.add_argument("--every-months", type=int, default=2, metavar="N")
    plan.add_argument("--output", type=Path, metavar="FILE.csv", help="default: standard output")
    plan.add_argument(
        "--venues", type=Path, default=VENUES, metavar="FILE.toml", help="default: the demo venues"
    )
    plan.add_argument(
        "--places", type=Path, default=WILAYAH, metavar="FILE.toml", help="kelurahan and RWs"
    )
    add_staff_commands(commands)
    return parser.parse_args(argv)


def _login(command: argparse.ArgumentParser) -> None:
    """Add the --as option every staff command checks."""
    command.add_argument(
        "--as",
        dest="login",
        metavar="LOGIN",
        help="your staff login (default: the STAFF_LOGIN environment variable)",
    )


def add_staff_commands(commands) -> None:
    """Add the commands for staff accounts, courses, health events and applications."""
    team.add_commands(commands, _login)
    exports.add_commands(commands, _login)
    surveying.add_commands(commands, _login)
    load = commands.add_parser(
        "load-staff", help="load or update partner organisations and staff accounts (TOML)"
    )
    load.add_argument("file", type=Path, nargs="?", default=PARTNERS_FILE, metavar="FILE")
    _login(load)
    imports = {
        "import-courses": "load or update skills-training courses from a CSV file",
        "import-batches": "load or update course batches from a CSV file, one row per session",
        "import-health": "load or update health talks and checks from a CSV file, one row a slot",
    }
    for name, text in imports.items():
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("file", type=Path, metavar="FILE.csv")
        command.add_argument("--dry-run", action="store_true", help="check and report only")
        command.add_argument(
            "--rejects", type=Path, metavar="FILE.csv", help="write every rejected line here"
        )
        _login(command)

    batch = commands.add_parser("batch", help="list a course batch's enrolments, mark attendance")
    batch_commands = batch.add_subparsers(dest="batch_command", required=True)
    listing = batch_commands.add_parser(
        "list",
        help="the enrolments of a batch as CSV (confirmed, then the waitlist)",
        description="Write the enrolments of a batch as CSV: confirmed first, then the "
        "waitlist in order. The first column (no) is the number attendance takes.",
    )
    listing.add_argument("code", metavar="CODE", help="the batch code, e.g. MJH-2027-03A")
    listing.add_argument("--output", type=Path, metavar="FILE.csv", help="default: the screen")
    _login(listing)
    attendance = batch_commands.add_parser(
        "attendance",
        help="mark who came to a session",
        description="Mark the given enrolments present at one session and every other "
        "confirmed enrolment of the batch absent. Running it again replaces the marks.",
    )
    attendance.add_argument("code", metavar="CODE", help="the batch code")
    attendance.add_argument(
        "--session", type=int, required=True, metavar="N", help="the session number, from 1"
    )
    attendance.add_argument(
        "--present",
        type=courses.enrolment_ids,
        nargs="+",
        action="extend",
        default=[],
        metavar="ID",
        help="enrolment numbers (the no column of `batch list`): 12 15 16 or 12,15,16",
    )
    _login(attendance)

    application = commands.add_parser(
        "application", help="list, show and decide scholarship and business-capital applications"
    )
    application_commands = application.add_subparsers(dest="application_command", required=True)
    listed = application_commands.add_parser(
        "list", help="list applications (a partner sees only those routed to it)"
    )
    listed.add_argument(
        "--kind",
        type=applications.read_kind,
        metavar="KIND",
        help="beasiswa or modal (default: both)",
    )
    listed.add_argument(
        "--status",
        type=applications.read_status,
        metavar="STATUS",
        help="diajukan, diverifikasi, disetujui or ditolak (or in English)",
    )
    listed.add_argument("--output", type=Path, metavar="FILE.csv", help="default: a table")
    _login(listed)
    show = application_commands.add_parser(
        "show", help="an application's applicant, answers, pre-screen and history"
    )
    show.add_argument("ref", metavar="REF", help="the reference, e.g. BSW-2027-000123")
    _login(show)
    change = application_commands.add_parser(
        "set-status",
        help="move an application on and notify the applicant",
        description="Move an application to a new status (diajukan → diverifikasi → "
        "disetujui or ditolak) and queue a message to the applicant in their language.",
    )
    change.add_argument("ref", metavar="REF", help="the reference, e.g. BSW-2027-000123")
    change.add_argument(
        "status",
        type=applications.read_status,
        metavar="STATUS",
        help="diverifikasi, disetujui or ditolak (verified, approved, rejected)",
    )
    change.add_argument(
        "--note", metavar="TEXT", help="the reason, shown to the applicant (needed for ditolak)"
    )
    _login(change)
    deadline = application_commands.add_parser(
        "deadline",
        help="set until when applications of a kind are taken (a new round after a closed one)",
        description="Set the last day of the current round of scholarship or business-capital "
        "applications. Residents see it, may ask to be reminded (3 days before at 18.00 and "
        "on the last morning), and cannot apply after it. Moving the day of an open round "
        "moves their reminders and tells them.",
    )
    deadline.add_argument(
        "kind", type=applications.read_kind, metavar="KIND", help="beasiswa or modal"
    )
    deadline.add_argument(
        "day", type=applications.read_day, metavar="DAY", help="the last day, e.g. 2027-01-31"
    )
    _login(deadline)


def run_staff_command(settings: Settings, args: argparse.Namespace) -> int | None:
    """Run a staff command, if it is one: each passes the staff gate (storage.gate), and one
    the gate refused exits with 2 (the reason printed and audited)."""
    try:
        return _staff_command(settings, args)
    except accounts.CommandRefused:
        return 2


def _staff_command(settings: Settings, args: argparse.Namespace) -> int | None:
    """Run a command for staff accounts, courses, health events or applications, if it is one."""
    login = getattr(args, "login", None) or os.environ.get("STAFF_LOGIN")
    command = args.command
    if command == "reset-demo":
        return reset(settings, args.yes, login)
    if command == "import-registry":
        return staff.import_registry(settings, args.file, args.dry_run, args.rejects, login)
    if command == "import-schedule":
        return staff.import_schedule(settings, args.file, args.dry_run, args.rejects, login)
    if command == "load-places":
        return staff.load_places(settings, args.file, login)
    if command == "load-programs":
        return staff.load_programs(settings, args.file, login)
    if command in ("staff", "broadcast"):
        return team.run(settings, args, login)
    if command == "export":
        return exports.run(settings, args, login)
    if command == "survey":
        return surveying.run(settings, args, login)
    if command == "load-staff":
        return accounts.load_staff(settings, args.file, login)
    if command in ("import-courses", "import-batches", "import-health"):
        run = {
            "import-courses": courses.import_courses,
            "import-batches": courses.import_batches,
            "import-health": courses.import_health,
        }[command]
        return run(settings, args.file, args.dry_run, args.rejects, login)
    if command == "batch" and args.batch_command == "list":
        return courses.batch_list(settings, args.code, args.output, login)
    if command == "batch":
        present = [number for numbers in args.present for number in numbers]
        return courses.batch_attendance(settings, args.code, args.session, present, login)
    if command == "application" and args.application_command == "list":
        return applications.application_list(settings, args.kind, args.status, args.output, login)
    if command == "application" and args.application_command == "show":
        return applications.application_show(settings, args.ref, login)
    if command == "application" and args.application_command == "deadline":
        return applications.application_deadline(settings, args.kind, args.day, login)
    if command == "application":
        return applications.application_set_status(
            settings, args.ref, args.status, args.note, login
        )
    return None


def run_console(settings: Settings, resident: str, *, health: bool = False) -> int:
    """Chat on the console until the input ends; `health`: serve /healthz meanwhile."""
    database = open_database(settings)
    bootstrap_admins(settings, database)
    engine = conversation_engine(settings, database)
    try:
        asyncio.run(serve_console(settings, database, engine, resident, health=health))
    except KeyboardInterrupt:
        print()
    finally:
        engine.close()
        database.dispose()
    return 0


def bootstrap_admins(settings: Settings, database) -> None:
    """Make the first administrators of ADMIN_TELEGRAM_IDS and ADMIN_WHATSAPP_NUMBERS."""
    if not settings.admin_telegram_ids and not settings.admin_whatsapp_numbers:
        return
    with database.begin() as db:
        added = staff_accounts.ensure_admins(
            db=db,
            telegram_ids=settings.admin_telegram_ids,
            whatsapp_numbers=settings.admin_whatsapp_numbers,
            now=utcnow(),
        )
    if added:
        logging.getLogger(__name__).info("%d administrators added from the settings", added)


def run_channels(settings: Settings) -> int:
    """Serve the chat platforms until stopped (Ctrl-C, SIGTERM)."""
    database = open_database(settings)
    bootstrap_admins(settings, database)
    engine = conversation_engine(settings, database)
    try:
        asyncio.run(serve_channels(settings, database, engine))
    except StartupError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        engine.close()
        database.dispose()
    return 0


def seed(settings: Settings) -> int:
    """Seed the demo data into an empty database."""
    database = open_database(settings)
    try:
        if not storage_database.is_empty(database):
            print(
                "The database already has data; nothing was added. To start over: make reset-demo"
            )
            return 0
        with database.begin() as db:
            added = seed_demo(db=db, key=pepper(settings), now=utcnow())
        print(
            f"Demo data added: {added.kelurahan} kelurahan, {added.rukun_warga} RWs, "
            f"{added.programs} programs, {added.beneficiaries} registry entries, "
            f"{added.distributions} sembako distributions, {added.courses} courses in "
            f"{added.batches} batches, {added.health_events} health talks and check days with "
            f"{added.health_slots} slots, {added.staff} staff accounts (all demo but the "
            "programs; the accounts are storage/data/partners.toml's), and rounds of "
            "scholarship and business-capital applications open for 45 and 60 days."
        )
        return 0
    finally:
        database.dispose()


def reset(settings: Settings, confirmed: bool, login: str | None) -> int:
    """Drop every table, migrate again and seed the demo data: once the database has an
    administrator, only as one (the audit is erased with the rest, so the refusals count)."""
    if not confirmed:
        print("This erases ALL data in the database. Run again with --yes to confirm.")
        return 2
    database = open_database(settings)
    try:
        with database.begin() as db:
            setting_up = gate.first_setup(db)
        if not setting_up:
            accounts.admitted(settings, database, login, "database.reset")
    finally:
        database.dispose()
    url = settings.effective_database_url
    database = storage_database.make_engine(url, statement_timeout=None)  # drops every table
    try:
        storage_database.downgrade_all(database)
    finally:
        database.dispose()
    return seed(settings)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit code."""
    args = parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(explain(error), file=sys.stderr)
        return 2
    # the terminal is for the conversation and the command's own answer; a server logs fully
    quiet = not (args.command == "run" and settings.channels)
    level = settings.log_level
    if quiet and "log_level" not in settings.model_fields_set:
        level = "WARNING"
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL, and Telegram's carry the bot token; python-telegram-bot's
    # debug lines carry whole updates (what residents wrote): neither may reach the logs
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))
    try:
        pepper(settings)
    except ValueError as error:
        print(f"Invalid settings: {error}", file=sys.stderr)
        return 2
    if args.command == "chat":
        return run_console(settings, args.resident)
    if args.command == "run":
        if settings.channels:
            return run_channels(settings)
        return run_console(settings, "warga", health=True)  # `run` serves /healthz always
    if args.command == "seed-demo":
        return seed(settings)
    if args.command == "plan-distributions":  # writes a draft file, changes nothing
        return staff.plan(args.year, args.every_months, args.output, args.venues, args.places)
    done = run_staff_command(settings, args)
    if done is not None:
        return done
    if args.command == "migrate":
        open_database(settings).dispose()
        print("The database schema is up to date.")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
