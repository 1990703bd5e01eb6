"""The one gate every staff action passes, in chat and on the command line: who (an active
account), may they (the action's roles), where (the kelurahan an account is limited to, and
actions kept for accounts of the whole kecamatan), and an audit row for every action and every
refusal, with where it came from (the chat platform, or the operating-system user and host of a
command).

An action is named once in `RULES`; a command or a chat step that is not named there cannot
pass the gate, so a new one cannot forget its check.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from storage import audit, staff
from storage.staff import Member, Role

EVERY_STAFF_ROLE = frozenset({Role.ADMIN, Role.STAFF})
READERS = frozenset({Role.ADMIN, Role.STAFF, Role.EVALUATOR})  # figures, exports, surveys
HANDLERS = frozenset({Role.ADMIN, Role.STAFF, Role.PARTNER})  # applications
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Rule:
    """Who may take an action: the roles, and whether only accounts of the whole kecamatan
    may (a change that reaches every kelurahan, such as a deadline or the registry)."""

    roles: frozenset[Role]
    whole_kecamatan: bool = False


RULES: dict[str, Rule] = {
    # accounts, places and programs: the whole service
    "staff.manage": Rule(ADMINS, whole_kecamatan=True),
    "staff.load": Rule(ADMINS, whole_kecamatan=True),
    "staff.list": Rule(EVERY_STAFF_ROLE),
    "database.reset": Rule(ADMINS, whole_kecamatan=True),
    "places.load": Rule(ADMINS, whole_kecamatan=True),
    "programs.load": Rule(ADMINS, whole_kecamatan=True),
    # files that change what every kelurahan sees
    "registry.import": Rule(EVERY_STAFF_ROLE, whole_kecamatan=True),
    "schedule.import": Rule(EVERY_STAFF_ROLE, whole_kecamatan=True),
    "courses.import": Rule(EVERY_STAFF_ROLE, whole_kecamatan=True),
    "batches.import": Rule(EVERY_STAFF_ROLE, whole_kecamatan=True),
    "health.import": Rule(EVERY_STAFF_ROLE, whole_kecamatan=True),
    "application.deadline": Rule(EVERY_STAFF_ROLE, whole_kecamatan=True),
    # residents' data, within the account's kelurahan
    "batch.list": Rule(EVERY_STAFF_ROLE),
    "batch.attendance": Rule(EVERY_STAFF_ROLE),
    "application.list": Rule(HANDLERS),
    "application.show": Rule(HANDLERS),
    "application.status": Rule(HANDLERS),
    "broadcast.send": Rule(EVERY_STAFF_ROLE),
    "broadcast.stop": Rule(EVERY_STAFF_ROLE),
    "complaint.handle": Rule(EVERY_STAFF_ROLE),
    "report.read": Rule(READERS),
    "export": Rule(READERS),
    "misses.read": Rule(READERS),  # what the bot did not understand: no one's data in it
    "survey.send": Rule(READERS),
    "survey.list": Rule(READERS),
    "survey.close": Rule(READERS),
}


@dataclass(frozen=True)
class Origin:
    """Where an action came from: a chat platform, or a command run by an operating-system
    user on a host (the audit keeps both; the command line's --as is only a claim)."""

    via: str  # "command line", "telegram", "whatsapp", "console"
    os_user: str | None = None
    host: str | None = None

    def details(self) -> dict:
        """Return the origin as audit details."""
        shown = {"via": self.via}
        if self.os_user is not None:
            shown["os_user"] = self.os_user
        if self.host is not None:
            shown["host"] = self.host
        return shown


class Refused(Exception):
    """An action the gate does not let through, with the reason (for the command line) and
    what the audit row says."""

    def __init__(
        self,
        reason: str,
        *,
        action: str,
        why: str,
        actor: str,
        role: str,
        target: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action
        self.why = why  # a short code: no-account, role, whole-kecamatan, kelurahan, partner
        self.actor = actor
        self.role = role
        self.target = target


@dataclass
class Pass:
    """An account let through for an action: what it may reach, and the audit of what it does
    (`record` names the action in full; without it, the action is recorded as admitted)."""

    member: Member
    action: str
    origin: Origin
    now: datetime
    target: str = ""
    details: dict = field(default_factory=dict)
    recorded: bool = False

    @property
    def kelurahan_limit(self) -> str | None:
        """The one kelurahan the account is limited to (None: the whole kecamatan)."""
        return self.member.kelurahan_code

    def reaches(self, kelurahan_code: str | None) -> bool:
        """Tell whether a resident or an item of this kelurahan (None: of the whole kecamatan,
        or of no kelurahan) is within the account's limit."""
        return self.member.kelurahan_code is None or kelurahan_code == self.member.kelurahan_code

    def require(self, kelurahan_code: str | None, target: str = "") -> None:
        """Refuse unless something of this kelurahan is within the account's limit."""
        if not self.reaches(kelurahan_code):
            raise Refused(
                f"{target or 'That'} is outside the kelurahan of {self.member.login}; "
                "nothing was done.",
                action=self.action,
                why="kelurahan",
                actor=self.member.login,
                role=self.member.role,
                target=target,
            )

    def record(
        self, db: Connection, *, action: str | None = None, target: str = "", details=None
    ) -> None:
        """Write the audit row of what was done, with the account's limit and the origin."""
        audit.record(
            db=db,
            actor=self.member.login,
            role=self.member.role,
            action=action or self.action,
            target=target or self.target,
            details={
                **self.details,
                **(details or {}),
                "kelurahan_limit": self.member.kelurahan_code,
                **self.origin.details(),
            },
            at=self.now,
        )
        self.recorded = True

    def finish(self, db: Connection) -> None:
        """Record the action as admitted unless it recorded itself."""
        if not self.recorded:
            self.record(db, details={"admitted": True})


def rule_of(action: str) -> Rule:
    """Return the rule of an action; an action nobody named is a programming error."""
    try:
        return RULES[action]
    except KeyError:
        raise KeyError(f"no gate rule for the action {action!r}") from None


def admit(
    db: Connection,
    *,
    action: str,
    origin: Origin,
    now: datetime,
    login: str | None = None,
    member: Member | None = None,
    target: str = "",
    details: dict | None = None,
) -> Pass:
    """Let an account through for an action, or raise Refused. The account is named by login
    (the command line) or given (a chat's account); it is looked up anew either way."""
    rule = rule_of(action)
    if member is not None:
        login = member.login
    claimed = (login or "").strip()
    if not claimed:
        raise Refused(
            "Say who you are with --as LOGIN or STAFF_LOGIN; accounts are loaded with load-staff.",
            action=action,
            why="no-account",
            actor="(nobody)",
            role="",
            target=target,
        )
    found = staff.find(db=db, login=claimed)
    if found is None:
        raise Refused(
            f"No active staff account {claimed!r}. Say who you are with --as LOGIN or "
            "STAFF_LOGIN; accounts are loaded with load-staff.",
            action=action,
            why="no-account",
            actor=claimed.lower()[:40],
            role="",
            target=target,
        )
    if found.role not in rule.roles:
        raise Refused(
            f"{found.login} is {_article(found.role)} {found.role} account; "
            f"{action} is for {' and '.join(sorted(rule.roles))} accounts.",
            action=action,
            why="role",
            actor=found.login,
            role=found.role,
            target=target,
        )
    if rule.whole_kecamatan and found.kelurahan_code is not None:
        raise Refused(
            f"{found.login} is limited to one kelurahan; {action} changes the whole kecamatan "
            "and is for accounts of the whole kecamatan.",
            action=action,
            why="whole-kecamatan",
            actor=found.login,
            role=found.role,
            target=target,
        )
    return Pass(found, action, origin, now, target, dict(details or {}))


def _article(role: str) -> str:
    return "an" if role[:1] in "aeiou" else "a"


def record_refusal(db: Connection, refusal: Refused, origin: Origin, now: datetime) -> None:
    """Write the audit row of a refusal (in a transaction of its own on the command line, so
    that the rollback of what was refused keeps it)."""
    audit.record(
        db=db,
        actor=refusal.actor,
        role=refusal.role,
        action=f"refused.{refusal.action}"[:40],
        target=refusal.target,
        details={"why": refusal.why, **origin.details()},
        at=now,
    )


def first_setup(db: Connection) -> bool:
    """Tell whether no active administrator exists yet, so that the first accounts can be
    loaded without one (after that, loading accounts is for administrators)."""
    table = staff.StaffMember.__table__
    found = db.execute(
        select(table.c.id).where(table.c.role == Role.ADMIN, table.c.active.is_(True)).limit(1)
    ).first()
    return found is None
