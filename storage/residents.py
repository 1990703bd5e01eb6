"""Residents (warga) and the chat identities they write from."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel

from storage.types import UTCDateTime


class Resident(SQLModel, table=True):
    """A person who talks to the bot; personal fields stay empty until they consent."""

    __tablename__ = "residents"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=100)
    language: str = Field(default="id", max_length=5)
    kelurahan_code: str | None = Field(default=None, foreign_key="kelurahan.code", max_length=16)
    rw: int | None = None
    phone: str | None = Field(default=None, max_length=20)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opted_out: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def registered(self) -> bool:
        """Tell whether the resident consented and completed registration."""
        return self.consent_at is not None and self.name is not None


class ChannelIdentity(SQLModel, table=True):
    """One chat account (a Telegram user id, a WhatsApp number, a console name) of a resident."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


def create_resident(
    *, session: Session, channel: str, external_id: str, language: str, now: datetime
) -> tuple[Resident, ChannelIdentity]:
    """Create a resident with one identity; nothing personal is stored yet."""
    resident = Resident(language=language, created_at=now, updated_at=now)
    session.add(resident)
    session.flush()
    identity = ChannelIdentity(
        resident_id=resident.id, channel=channel, external_id=external_id, created_at=now
    )
    session.add(identity)
    session.flush()
    return resident, identity


def register(
    *,
    session: Session,
    resident: Resident,
    name: str,
    kelurahan_code: str,
    rw: int,
    phone: str | None,
    now: datetime,
) -> None:
    """Store the registration answers of a resident who has consented."""
    if resident.consent_at is None:
        raise ValueError("registration needs consent first")
    resident.name = name
    resident.kelurahan_code = kelurahan_code
    resident.rw = rw
    resident.phone = phone
    resident.updated_at = now
    session.add(resident)


def update_profile(*, session: Session, resident: Resident, now: datetime, **fields) -> None:
    """Change some profile fields of a resident."""
    allowed = {"name", "kelurahan_code", "rw", "phone", "language", "opted_out", "consent_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    for key, value in fields.items():
        setattr(resident, key, value)
    resident.updated_at = now
    session.add(resident)
