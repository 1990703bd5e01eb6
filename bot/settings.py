"""Settings from the environment or a `.env` file (pydantic-settings), built once at start."""

import ipaddress
import os
import secrets
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.database import sqlite_url

PEPPER_FILE = "nik_pepper.key"
# who may read /metrics by default: this machine and the private networks (a compose network,
# the office LAN); the reverse proxy passes only the webhooks on, never /metrics
DEFAULT_METRICS_ALLOW = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseSettings):
    """Everything the program can be told from outside; names as in DESIGN.md."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    data_dir: Path = Path("data")
    database_url: str | None = None
    # how long a connection may take, and how long one statement may wait (locks included)
    database_connect_timeout_seconds: float = Field(5, gt=0, le=300)
    database_statement_timeout_seconds: float = Field(10, gt=0, le=3600)
    telegram_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_api_file_url: str | None = None  # default: the base URL's server, …/file/bot
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str | None = None
    whatsapp_api_version: str = Field("v23.0", pattern=r"^v\d+\.\d+$")
    whatsapp_rate: float = Field(80, gt=0, le=1000)  # messages a second from the number
    # the approved templates for messages outside the 24-hour window (see the README)
    whatsapp_templates_file: Path | None = None
    nik_pepper: SecretStr | None = None
    admin_telegram_ids: Annotated[list[int], NoDecode] = []
    admin_whatsapp_numbers: Annotated[list[str], NoDecode] = []
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)  # 0: any free port (tests)
    tz_name: str = "Asia/Jakarta"
    default_language: Literal["id", "en"] = "id"
    inactivity_timeout_minutes: int = Field(30, ge=1, le=24 * 60)
    retention_days: int = Field(730, ge=365)  # erase residents silent this long
    status_checks_per_day: int = Field(5, ge=1, le=100)  # bansos status checks per resident
    # bansos status checks by all residents together, per hour and per 24 hours
    status_checks_per_hour_all: int = Field(300, ge=1, le=100_000)
    status_checks_per_day_all: int = Field(2000, ge=1, le=1_000_000)
    quiet_hours_start: time = time(21, 0)  # local time (TZ_NAME); announcements wait until
    quiet_hours_end: time = time(6, 0)
    telegram_rate: float = Field(25, gt=0, le=1000)  # queued messages a second, all chats
    telegram_chat_rate: float = Field(1, gt=0, le=100)  # queued messages a second, one chat
    share_send_rates: bool = True  # processes share each platform's limit (bot/rate_sharing.py)
    outbound_max_attempts: int = Field(5, ge=1, le=100)
    outbound_backoff_seconds: float = Field(30, gt=0)  # after the first failed try, doubled
    outbound_backoff_cap_seconds: float = Field(3600, gt=0)
    outbound_in_flight: int = Field(8, ge=1, le=32)  # sends at once; the most that can repeat
    # sends without an answer that go again (each may arrive twice); 0: never sent again
    outbound_max_doubts: int = Field(3, ge=0, le=10)
    clock_lease_seconds: int = Field(90, ge=3, le=3600)  # a dead process blocks the clock
    # how long after a pickup, a course's last session or a health slot the rating is asked for
    follow_up_after_minutes: int = Field(180, ge=0, le=3 * 24 * 60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # the networks whose clients may read /metrics, comma-separated; `none`: no /metrics
    metrics_allow: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=lambda: networks(DEFAULT_METRICS_ALLOW)
    )

    @model_validator(mode="after")
    def _day_holds_the_hour(self) -> "Settings":
        """Refuse a daily limit for all residents below the hourly one: the hour could never
        be reached."""
        if self.status_checks_per_day_all < self.status_checks_per_hour_all:
            raise ValueError(
                "STATUS_CHECKS_PER_DAY_ALL must be at least STATUS_CHECKS_PER_HOUR_ALL"
            )
        return self

    @field_validator("admin_telegram_ids", "admin_whatsapp_numbers", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Accept a comma-separated list: `ADMIN_TELEGRAM_IDS=123,456`."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        """Accept `10.0.0.0/8, 127.0.0.1` (an address alone is its own network) or `none`."""
        if isinstance(value, str):
            return networks(value)
        return value

    @field_validator("quiet_hours_start", "quiet_hours_end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        """Accept 21:00 and the Indonesian way of writing it, 21.00."""
        if isinstance(value, str):
            return value.strip().replace(".", ":")
        return value

    @field_validator("tz_name")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Refuse a time zone that does not exist."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use e.g. Asia/Jakarta") from error
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        """Refuse a database URL SQLAlchemy cannot read."""
        if value is not None:
            try:
                make_url(value)
            except ArgumentError as error:
                raise ValueError(
                    "not a database URL; e.g. postgresql+psycopg://user:pass@host/db"
                ) from error
        return value

    @field_validator(
        "telegram_api_base_url",
        "telegram_api_file_url",
        "whatsapp_api_base_url",
        "telegram_webhook_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Refuse a base URL that is not http(s)."""
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def effective_database_url(self) -> str:
        """Return DATABASE_URL, or the embedded SQLite file under the data directory."""
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def inactivity_timeout(self) -> timedelta:
        """Return the inactivity timeout."""
        return timedelta(minutes=self.inactivity_timeout_minutes)

    @property
    def retention(self) -> timedelta:
        """Return how long a silent resident's data is kept."""
        return timedelta(days=self.retention_days)

    @property
    def clock_lease(self) -> timedelta:
        """Return the term of the clock's leases; the clock beats every third of it."""
        return timedelta(seconds=self.clock_lease_seconds)

    @property
    def follow_up_after(self) -> timedelta:
        """Return how long after an event its feedback invitation is queued."""
        return timedelta(minutes=self.follow_up_after_minutes)

    @property
    def channels(self) -> list[str]:
        """Return the chat platforms whose credentials are set."""
        found = []
        if self.telegram_token:
            found.append("telegram")
        if self.whatsapp_token and self.whatsapp_phone_number_id:
            found.append("whatsapp")
        return found


def networks(text: str) -> list[IPNetwork]:
    """Read a comma-separated list of networks; `none` is the empty list."""
    if text.strip().lower() == "none":
        return []
    return [ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip()]


def pepper(settings: Settings) -> bytes:
    """Return the secret for NIK hashes: NIK_PEPPER, or one generated once under data/."""
    if settings.nik_pepper is not None:
        return settings.nik_pepper.get_secret_value().encode()
    if settings.database_url and make_url(settings.database_url).get_backend_name() != "sqlite":
        # every process of a shared database must hash alike: a local file would differ
        raise ValueError("NIK_PEPPER must be set when DATABASE_URL points at a shared database")
    path = settings.data_dir / PEPPER_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # write it whole under a temporary name, then link: a process starting at the same
        # moment either wins or reads the winner's key, never a half-written one
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            temporary.unlink()
    return path.read_text().strip().encode()


def explain(error: ValidationError) -> str:
    """Turn a settings validation error into lines an operator can act on."""
    lines = ["Invalid settings (environment or .env):"]
    for problem in error.errors():
        name = "_".join(str(part) for part in problem["loc"]).upper() or "settings"
        lines.append(f"  {name}: {problem['msg']}")
    return "\n".join(lines)
