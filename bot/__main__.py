"""Command line: `python -m bot run | chat | seed-demo | reset-demo | migrate`, and the staff
commands `import-registry`, `import-schedule`, `load-places`, `load-programs`,
`plan-distributions`."""

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from bot import staff
from bot.app import conversation_engine, open_database
from bot.serve import StartupError, serve_channels, serve_console
from bot.settings import Settings, explain, pepper
from storage import database as storage_database
from storage.demo import VENUES, WILAYAH, seed_demo
from storage.registry import PROGRAMS_FILE
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
    places = commands.add_parser(
        "load-places", help="load or update the kelurahan and their RWs from a TOML file"
    )
    places.add_argument("file", type=Path, nargs="?", default=WILAYAH, metavar="FILE")
    programs = commands.add_parser("load-programs", help="load or update the programs table")
    programs.add_argument("file", type=Path, nargs="?", default=PROGRAMS_FILE, metavar="FILE")
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
    return parser.parse_args(argv)


def run_console(settings: Settings, resident: str) -> int:
    """Chat on the console until the input ends."""
    database = open_database(settings)
    engine = conversation_engine(settings, database)
    try:
        asyncio.run(serve_console(settings, database, engine, resident))
    except KeyboardInterrupt:
        print()
    finally:
        engine.close()
        database.dispose()
    return 0


def run_channels(settings: Settings) -> int:
    """Serve the chat platforms until stopped (Ctrl-C, SIGTERM)."""
    database = open_database(settings)
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
            f"{added.distributions} sembako distributions (all demo but the programs)."
        )
        return 0
    finally:
        database.dispose()


def reset(settings: Settings, confirmed: bool) -> int:
    """Drop every table, migrate again and seed the demo data."""
    if not confirmed:
        print("This erases ALL data in the database. Run again with --yes to confirm.")
        return 2
    database = storage_database.make_engine(settings.effective_database_url)
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
        if "whatsapp" in settings.channels:
            print(
                "WhatsApp credentials are set, but this version does not serve WhatsApp yet. "
                "Unset them, or serve Telegram only.",
                file=sys.stderr,
            )
            return 2
        if settings.channels:
            return run_channels(settings)
        return run_console(settings, "warga")
    if args.command == "seed-demo":
        return seed(settings)
    if args.command == "reset-demo":
        return reset(settings, args.yes)
    if args.command == "import-registry":
        return staff.import_registry(settings, args.file, args.dry_run, args.rejects)
    if args.command == "import-schedule":
        return staff.import_schedule(settings, args.file, args.dry_run, args.rejects)
    if args.command == "load-places":
        return staff.load_places(settings, args.file)
    if args.command == "load-programs":
        return staff.load_programs(settings, args.file)
    if args.command == "plan-distributions":
        return staff.plan(args.year, args.every_months, args.output, args.venues, args.places)
    if args.command == "migrate":
        open_database(settings).dispose()
        print("The database schema is up to date.")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
