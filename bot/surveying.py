"""`survey send | list | close`: evaluators (and staff) send a survey written in a TOML or YAML
file to a segment of residents, see how many answered, and close it. The answers are taken
with `export survey ID`. Each command checks the account's role and writes the audit log."""

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.accounts import staff_command
from bot.announcing import read_segment, read_time
from bot.settings import Settings
from handlers.survey import invitations
from storage import staff, survey_figures, surveys
from storage.survey_file import SurveyFileProblem, read
from storage.surveys import SurveyProblem
from storage.types import utcnow


def add_commands(commands, login_option) -> None:
    """Add `survey` to the command line."""
    survey = commands.add_parser(
        "survey",
        help="send a survey to a segment of residents, list surveys, close one",
        description="Evaluator surveys: questions of kinds choice, rating, number and text, "
        "written in a TOML or YAML file (see storage/data/survey-example.toml).",
    )
    survey_commands = survey.add_subparsers(dest="survey_command", required=True)
    send = survey_commands.add_parser(
        "send",
        help="invite a segment of residents to answer a survey",
        description="Invite residents of a segment (as for broadcast: everyone, "
        "kelurahan=NAME, rw=KELURAHAN:RW, program=CODE, course=CODE, batch=CODE, "
        "language=id|en, channel=telegram|whatsapp) to answer the survey in FILE. Sending the "
        "same survey again invites only those not invited yet. Residents who said berhenti "
        "are skipped.",
    )
    send.add_argument("file", type=Path, metavar="FILE")
    send.add_argument("--segment", required=True, metavar="SEGMENT")
    send.add_argument("--at", metavar="TIME", help="send later, e.g. 2026-12-01T08:00 (WIB)")
    send.add_argument("--dry-run", action="store_true", help="check the file and count only")
    login_option(send)
    listed = survey_commands.add_parser("list", help="the surveys and how many answered")
    login_option(listed)
    close = survey_commands.add_parser("close", help="stop taking answers to a survey")
    close.add_argument("survey_id", type=int, metavar="ID")
    login_option(close)


def run(settings: Settings, args: argparse.Namespace, login: str | None) -> int | None:
    """Run a `survey` command, if it is one."""
    if args.command != "survey":
        return None
    if args.survey_command == "send":
        return send(settings, args, login)
    if args.survey_command == "list":
        return list_surveys(settings, login)
    return close(settings, args.survey_id, login)


def send(settings: Settings, args: argparse.Namespace, login: str | None) -> int:
    """Check the survey file, then invite the segment's residents not invited yet."""
    try:
        written = read(args.file)
    except SurveyFileProblem as problem:
        print(f"{args.file}: {problem}", file=sys.stderr)
        return 2
    now = utcnow()
    send_at = None
    if args.at:
        send_at = read_time(args.at, settings.tz_name)
        if send_at is None or send_at <= now:
            print("--at must be a time to come, like 2026-12-01T08:00.", file=sys.stderr)
            return 2
    closes_at = surveys.closing_moment(written.closes, settings.tz_name)
    if closes_at is not None and closes_at <= (send_at or now):
        over = f"closes = {written.closes}: that day is over; answers could not be taken."
        print(over, file=sys.stderr)
        return 2
    with staff_command(settings, login, "survey.send") as admission:
        db, member = admission.db, admission.member
        segment = read_segment(db, args.segment)
        if segment is None:
            return 2
        limit = member.kelurahan_code
        try:
            before = surveys.check(db=db, survey=written, kelurahan_limit=limit)
        except SurveyProblem as problem:
            print(problem, file=sys.stderr)
            return 2
        seen = surveys.preview(
            db=db,
            survey_id=before,
            segment=segment,
            kelurahan_limit=limit,
        )
        print(
            f"Survey {written.code!r}: {len(written.questions)} questions. To invite: "
            f"{seen.new}; invited before: {seen.invited_before}; skipped (said berhenti): "
            f"{seen.skipped_opted_out}."
        )
        if args.dry_run:
            return 0
        if not seen.new:
            print("Nobody new to invite in that segment; nothing was queued.", file=sys.stderr)
            return 2
        kept = surveys.keep(
            db=db,
            survey=written,
            created_by=member.login,
            kelurahan_limit=limit,
            zone=settings.tz_name,
            now=now,
        )
        broadcast_id, invited = surveys.invite(
            db=db,
            survey=kept,
            segment=segment,
            invitations=invitations(kept, settings.tz_name),
            created_by=member.login,
            kelurahan_limit=limit,
            report_to=staff.chat_of(db=db, login=member.login),
            now=now,
            send_at=send_at,
        )
        admission.permit.record(
            db,
            action="survey.send",
            target=f"survey #{kept.id}",
            details={
                "code": kept.code,
                "segment": segment.as_dict(),
                "invited": invited,
                "broadcast": broadcast_id,
            },
        )
    when = f" for {args.at}" if send_at else ""
    invitations_ = "invitation" if invited == 1 else "invitations"
    print(f"Survey #{kept.id} ({kept.code}): {invited} {invitations_} queued{when}.")
    return 0


def list_surveys(settings: Settings, login: str | None) -> int:
    """Print the surveys (of the account's kelurahan, if limited) and their figures."""
    zone = ZoneInfo(settings.tz_name)
    with staff_command(settings, login, "survey.list") as admission:
        db, member = admission.db, admission.member
        found = survey_figures.listing(db=db, kelurahan_limit=member.kelurahan_code)
    if not found:
        print("No surveys yet.")
        return 0
    print(
        f"{'ID':>4}  {'CODE':<24} {'INVITED':>8} {'STARTED':>8} {'DONE':>6} {'DECLINED':>8}  OPEN"
    )
    now = utcnow()
    for item in found:
        if item.closed or (item.closes_at is not None and item.closes_at <= now):
            state = "closed"
        elif item.closes_at is not None:
            last_day = (item.closes_at.astimezone(zone) - timedelta(seconds=1)).date()
            state = f"until {last_day.isoformat()}"
        else:
            state = "yes"
        print(
            f"{item.id:>4}  {item.code:<24} {item.invited:>8} {item.started:>8} "
            f"{item.completed:>6} {item.declined:>8}  {state}"
        )
    return 0


def close(settings: Settings, survey_id: int, login: str | None) -> int:
    """Stop taking answers to a survey."""
    now = utcnow()
    with staff_command(settings, login, "survey.close") as admission:
        db = admission.db
        found = surveys.get(db=db, survey_id=survey_id)
        if found is not None:
            admission.permit.require(found.kelurahan_limit, target=f"survey #{survey_id}")
        if found is None or not surveys.close(db=db, survey_id=survey_id, now=now):
            print(f"No open survey #{survey_id} of yours.", file=sys.stderr)
            return 2
        admission.permit.record(
            db,
            action="survey.close",
            target=f"survey #{survey_id}",
        )
    print(f"Survey #{survey_id} is closed; its answers stay for `export survey {survey_id}`.")
    return 0
