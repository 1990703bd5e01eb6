"""Settings from the environment and .env, with clear errors for wrong values."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings, explain, pepper


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start every test from no settings at all, in a folder without a .env file."""
    for name in list(os.environ):
        if name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_setup() -> None:
    settings = Settings()
    assert settings.effective_database_url == "sqlite:///data/layanan-warga.db"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert (settings.tz_name, settings.default_language) == ("Asia/Jakarta", "id")
    assert settings.channels == []
    assert (settings.status_checks_per_hour_all, settings.status_checks_per_day_all) == (300, 2000)


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TELEGRAM_TOKEN=123:abc\nADMIN_TELEGRAM_IDS=11, 22\nDEFAULT_LANGUAGE=en\n"
        "WHATSAPP_TOKEN=\nUNRELATED_THING=1\n"
    )
    monkeypatch.setenv("HTTP_PORT", "9000")
    monkeypatch.setenv("FOLLOW_UP_AFTER_MINUTES", "90")
    settings = Settings()
    assert settings.follow_up_after == timedelta(minutes=90)
    assert settings.telegram_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)  # secrets stay hidden in logs and tracebacks
    assert settings.admin_telegram_ids == [11, 22]
    assert settings.default_language == "en" and settings.http_port == 9000
    assert settings.whatsapp_token is None  # empty means unset
    assert settings.channels == ["telegram"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TZ_NAME", "Asia/Jakata", "unknown time zone 'Asia/Jakata'"),
        ("HTTP_PORT", "80800", "less than or equal to 65535"),
        ("DEFAULT_LANGUAGE", "jv", "'id' or 'en'"),
        ("DATABASE_URL", "not a url", "not a database URL"),
        ("TELEGRAM_API_BASE_URL", "localhost:8081", "must start with http"),
        ("ADMIN_TELEGRAM_IDS", "12,abc", "valid integer"),
        ("FOLLOW_UP_AFTER_MINUTES", "-5", "greater than or equal to 0"),
        ("STATUS_CHECKS_PER_HOUR_ALL", "0", "greater than or equal to 1"),
        ("STATUS_CHECKS_PER_DAY_ALL", "100", "at least STATUS_CHECKS_PER_HOUR_ALL"),
    ],
)
def test_invalid_values_are_explained(monkeypatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    text = explain(caught.value)
    assert name in text and message in text


def test_pepper_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = pepper(settings)
    assert len(first) == 64 and pepper(settings) == first
    assert oct((tmp_path / "data" / "nik_pepper.key").stat().st_mode & 0o777) == "0o600"


def test_pepper_is_required_for_a_shared_database() -> None:
    with pytest.raises(ValueError, match="NIK_PEPPER must be set"):
        pepper(Settings(database_url="postgresql+psycopg://u@db/x"))
    assert pepper(Settings(database_url="postgresql+psycopg://u@db/x", nik_pepper="s")) == b"s"
