"""Residents (warga) and the chat identities they write from."""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Connection, UniqueConstraint, Update, bindparam, or_, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# how recently a resident must have written on one platform to be recognised on another by
# their vouched-for number (Indonesian prepaid numbers are recycled after months unused)
LINK_RECENT = timedelta(days=60)
# when a chat last wrote is kept to the minute: WhatsApp's window is 24 hours
SEEN_PRECISION = timedelta(minutes=1)


class Resident(SQLModel, table=True):
    """A person who talks to the bot; personal fields stay empty until they consent."""

    __tablename__ = "residents"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=100)
    language: str = Field(default="id", max_length=5)
    kelurahan_code: str | None = Field(default=None, foreign_key="kelurahan.code", max_length=16)
    rw: int | None = None
    phone: str | None = Field(default=None, max_length=20)
    # the platform vouches that the phone is the resident's own (a WhatsApp number they write
    # from, a Telegram contact they shared of themselves): only then do two chats become one
    phone_verified: bool = False
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_version: str | None = Field(default=None, max_length=16)  # of the privacy notice
    opted_out: bool = False
    # the programs (PKH|BPNT…) their last successful bansos status check found, for
    # announcements to a program's recipients
    registry_programs: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChannelIdentity(SQLModel, table=True):
    """One chat account (a Telegram user id, a WhatsApp number, a console name) of a resident."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=160)  # a WhatsApp business-scoped id: up to 136
    created_at: datetime = Field(sa_type=UTCDateTime)
    # the platform refused to deliver (blocked bot, deleted account); cleared when they write
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # when they last wrote: WhatsApp lets a business write freely only within 24 hours of it
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass
class Profile:
    """What is stored about a resident, as the conversations read and change it."""

    id: int
    name: str | None
    language: str
    kelurahan_code: str | None
    rw: int | None
    phone: str | None
    consent_at: datetime | None
    consent_version: str | None
    opted_out: bool
    phone_verified: bool = False
    registry_programs: str = ""

    @property
    def registered(self) -> bool:
        """Tell whether the resident consented and completed registration (name, kelurahan
        and RW: what storage requires of a booking or an application)."""
        return (
            self.consent_at is not None
            and bool(self.name)
            and bool(self.kelurahan_code)
            and self.rw is not None
        )


class ProfileIncomplete(Exception):
    """A booking, an enrolment or an application for a resident without a name, kelurahan
    and RW: the organiser would not know who is coming (register first)."""


def require_profile(*, db: Connection, resident_id: int) -> None:
    """Raise ProfileIncomplete unless the resident consented and gave name, kelurahan and RW."""
    found = db.execute(
        select(
            _RESIDENTS.c.name,
            _RESIDENTS.c.kelurahan_code,
            _RESIDENTS.c.rw,
            _RESIDENTS.c.consent_at,
        ).where(_RESIDENTS.c.id == resident_id)
    ).first()
    complete = found is not None and found.name and found.kelurahan_code and found.consent_at
    if not complete or found.rw is None:
        raise ProfileIncomplete(f"resident {resident_id} has no complete profile")


PROFILE_FIELDS = tuple(field.name for field in fields(Profile))
EDITABLE = frozenset(PROFILE_FIELDS) - {"id"}
_RESIDENTS = Resident.__table__
_IDENTITIES = ChannelIdentity.__table__
PROFILE_COLUMNS = tuple(_RESIDENTS.c[name] for name in PROFILE_FIELDS)

_INSERT_RESIDENT = _RESIDENTS.insert().values(
    language=bindparam("b_language"),
    opted_out=False,
    created_at=bindparam("b_now"),
    updated_at=bindparam("b_now"),
)
_INSERT_IDENTITY = _IDENTITIES.insert().values(
    resident_id=bindparam("b_resident_id"),
    channel=bindparam("b_channel"),
    external_id=bindparam("b_external_id"),
    created_at=bindparam("b_now"),
)


@cache
def _update_statement(names: tuple[str, ...]) -> Update:
    """Return the UPDATE for one set of changed fields, built once."""
    values = {name: bindparam(f"new_{name}") for name in names}
    return (
        _RESIDENTS.update()
        .where(_RESIDENTS.c.id == bindparam("b_resident_id"))
        .values(**values, updated_at=bindparam("b_now"))
    )


def create_resident(
    *, db: Connection, channel: str, external_id: str, language: str, now: datetime
) -> tuple[Profile, int]:
    """Create a resident with one identity; nothing personal is stored yet. Return both ids."""
    created = db.execute(_INSERT_RESIDENT, {"b_language": language, "b_now": now})
    resident_id = created.inserted_primary_key[0]
    params = {
        "b_resident_id": resident_id,
        "b_channel": channel,
        "b_external_id": external_id,
        "b_now": now,
    }
    identity_id = db.execute(_INSERT_IDENTITY, params).inserted_primary_key[0]
    profile = Profile(resident_id, None, language, None, None, None, None, None, False)
    return profile, identity_id


def update_profile(*, db: Connection, profile: Profile, now: datetime, **changes) -> None:
    """Change some fields of a resident, in the database and in the given profile."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if "phone" in changes and "phone_verified" not in changes:
        changes["phone_verified"] = False  # a number typed or removed vouches for nothing
    names = tuple(sorted(changes))
    params = {f"new_{name}": value for name, value in changes.items()}
    db.execute(_update_statement(names), {**params, "b_resident_id": profile.id, "b_now": now})
    for name, value in changes.items():
        setattr(profile, name, value)


def register(
    *,
    db: Connection,
    profile: Profile,
    name: str,
    kelurahan_code: str,
    rw: int,
    phone: str | None,
    now: datetime,
    phone_verified: bool = False,
) -> None:
    """Store the registration answers of a resident who has consented (`phone_verified`: the
    platform vouches the number is theirs)."""
    if profile.consent_at is None:
        raise ValueError("registration needs consent first")
    update_profile(
        db=db,
        profile=profile,
        now=now,
        name=name,
        kelurahan_code=kelurahan_code,
        rw=rw,
        phone=phone,
        phone_verified=phone_verified and phone is not None,
    )


_SET_UNREACHABLE = (
    _IDENTITIES.update()
    .where(
        _IDENTITIES.c.channel == bindparam("b_channel"),
        _IDENTITIES.c.external_id == bindparam("b_external_id"),
    )
    .values(unreachable_at=bindparam("b_at"))
)


def set_unreachable(
    *, db: Connection, channel: str, external_id: str, at: datetime | None
) -> None:
    """Record that a chat identity cannot be reached since `at` (None: reachable again)."""
    db.execute(_SET_UNREACHABLE, {"b_channel": channel, "b_external_id": external_id, "b_at": at})


def language_of(*, db: Connection, resident_id: int) -> str | None:
    """Return the language a resident reads, or None when there is no such resident."""
    return db.execute(select(_RESIDENTS.c.language).where(_RESIDENTS.c.id == resident_id)).scalar()


def seen_inbound(
    *, db: Connection, identity_id: int, at: datetime, known: datetime | None = None
) -> None:
    """Record that a chat identity wrote to us at `at` (never moving the time back: a late
    redelivery of an old message changes nothing). Given the time `known` (as loaded with the
    update), nothing is written while it is less than SEEN_PRECISION older: a resident writing
    several messages a minute costs one write, and the window is judged a little early."""
    if known is not None and known >= at - SEEN_PRECISION:
        return
    latest = _IDENTITIES.c.last_inbound_at
    db.execute(
        _IDENTITIES.update()
        .where(_IDENTITIES.c.id == identity_id, or_(latest.is_(None), latest < at))
        .values(last_inbound_at=at)
    )


def window_closed(*, db: Connection, channel: str, external_id: str, before: datetime) -> None:
    """Forget when an identity last wrote, as the platform says its window had closed for a
    message sent at `before`; unless they wrote again since."""
    latest = _IDENTITIES.c.last_inbound_at
    db.execute(
        _IDENTITIES.update()
        .where(
            _IDENTITIES.c.channel == channel,
            _IDENTITIES.c.external_id == external_id,
            latest <= before,
        )
        .values(last_inbound_at=None)
    )


def link_by_phone(
    *, db: Connection, phone: str, channel: str, external_id: str, now: datetime
) -> int | None:
    """Give a resident whose own number (vouched for) is `phone`, and who wrote on another
    chat within LINK_RECENT, another chat identity: the same person writing from another
    platform. Return the new identity's id, or None when no such resident (or two) exists."""
    # a prepaid number unused for months is given to someone else: only a resident who wrote
    # recently on another chat is taken to be the same person
    recent = select(_IDENTITIES.c.resident_id).where(
        _IDENTITIES.c.last_inbound_at >= now - LINK_RECENT
    )
    found = db.execute(
        select(_RESIDENTS.c.id).where(
            _RESIDENTS.c.phone == phone,
            _RESIDENTS.c.phone_verified.is_(True),
            _RESIDENTS.c.id.in_(recent),
        )
    ).all()
    if len(found) != 1:
        return None
    params = {
        "b_resident_id": found[0].id,
        "b_channel": channel,
        "b_external_id": external_id,
        "b_now": now,
    }
    return db.execute(_INSERT_IDENTITY, params).inserted_primary_key[0]


def language_of_identity(*, db: Connection, channel: str, external_id: str) -> str | None:
    """Return the language of the resident behind a chat identity, or None when unknown."""
    return db.execute(
        select(_RESIDENTS.c.language)
        .join(_IDENTITIES, _IDENTITIES.c.resident_id == _RESIDENTS.c.id)
        .where(_IDENTITIES.c.channel == channel, _IDENTITIES.c.external_id == external_id)
    ).scalar()


def add_alias(
    *, db: Connection, channel: str, external_id: str, alias: str, now: datetime
) -> None:
    """Give the resident of an identity a second id on the same channel (a WhatsApp user's
    business-scoped id beside their number), so a message under either is theirs."""
    identities = ChannelIdentity.__table__
    resident_id = db.execute(
        select(identities.c.resident_id).where(
            identities.c.channel == channel, identities.c.external_id == external_id
        )
    ).scalar()
    known = db.execute(
        select(identities.c.id).where(
            identities.c.channel == channel, identities.c.external_id == alias
        )
    ).scalar()
    if resident_id is None or known is not None:
        return  # not known yet, or the alias is someone's already: nothing is merged
    params = {"b_resident_id": resident_id, "b_channel": channel, "b_external_id": alias}
    db.execute(_INSERT_IDENTITY, {**params, "b_now": now})
