"""The console channel as an operator uses it: `python -m bot chat`, a script piped in,
and a restart in the middle of registration (a new process, state from the database)."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.channels.console import to_incoming
from handlers.messages import Kind


def bot(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run `python -m bot ...` in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )


def test_scripted_chat_in_indonesian(environment) -> None:
    script = "halo\n1\n1\nSiti Aminah\n3\n5\nLewati\n::sticker\nhapus data\n2\n"
    done = bot(environment, "chat", "--as", "siti", stdin=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "> halo\nbot: Selamat datang di Layanan Warga Duren Sawit" in out
    assert "  1. Bahasa Indonesia\n  2. English" in out
    assert "Terima kasih, Bapak/Ibu Siti Aminah. Pendaftaran selesai" in out
    assert "Terima kasih stikernya!" in out
    assert "Baik, tidak ada data yang dihapus." in out
    assert "Traceback" not in done.stderr


def test_scripted_chat_in_english(environment) -> None:
    script = "hello\n2\n1\nBudi Santoso\nPondok Kopi\n7\n0857 1234 5678\nbantuan\n"
    done = bot(environment, "chat", "--as", "budi", stdin=script)
    assert done.returncode == 0, done.stderr
    assert "Which RW do you live in? Kelurahan Pondok Kopi has RW 001 to 012" in done.stdout
    assert "Phone: 0857-1234-5678" in done.stdout
    assert "Words that work at any time" in done.stdout


def test_restart_in_the_middle_of_registration_resumes(environment) -> None:
    first = bot(environment, "chat", "--as", "rina", stdin="halo\n1\n1\nRina Wati\n")
    assert first.returncode == 0, first.stderr
    assert first.stdout.rstrip().endswith("  7. Pondok Kopi")  # stopped at the kelurahan
    second = bot(environment, "chat", "--as", "rina", stdin="4\n18\nLewati\n")
    assert second.returncode == 0, second.stderr
    assert "Di Kelurahan Pondok Kelapa ada RW 001 sampai 018" in second.stdout
    assert "Terima kasih, Bapak/Ibu Rina Wati. Pendaftaran selesai" in second.stdout


def test_two_console_residents_are_separate(environment) -> None:
    bot(environment, "chat", "--as", "ani", stdin="halo\n1\n1\nAni\n")
    other = bot(environment, "chat", "--as", "joko", stdin="halo\n")
    assert "Selamat datang" in other.stdout


def test_run_without_credentials_is_the_console(environment) -> None:
    done = bot(environment, "run", stdin="halo\n")
    assert done.returncode == 0 and "Selamat datang" in done.stdout


def test_run_with_whatsapp_but_no_webhook_secrets_says_what_is_missing(environment) -> None:
    whatsapp = {"WHATSAPP_TOKEN": "token", "WHATSAPP_PHONE_NUMBER_ID": "1234"}
    done = bot({**environment, **whatsapp}, "run")
    assert done.returncode == 1
    assert "WhatsApp needs WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_with_an_unreachable_bot_api_says_so(environment) -> None:
    unreachable = {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"}
    done = bot({**environment, **unreachable}, "run")
    assert done.returncode == 1
    assert "Could not start Telegram" in done.stderr and "Traceback" not in done.stderr


def test_seed_demo_twice_adds_nothing_the_second_time(environment) -> None:
    done = bot(environment, "seed-demo")
    assert done.returncode == 0 and "already has data" in done.stdout


def test_invalid_setting_stops_with_a_clear_message(environment) -> None:
    done = bot({**environment, "TZ_NAME": "Asia/Jakata"}, "chat", stdin="halo\n")
    assert done.returncode == 2
    assert "TZ_NAME: Value error, unknown time zone 'Asia/Jakata'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("line", "kind", "extra"),
    [
        ("::sticker", Kind.STICKER, {}),
        ("::voice", Kind.VOICE, {}),
        ("::button svc:help", Kind.OPTION, {"option": "svc:help"}),
        ("::contact 081234567890", Kind.CONTACT, {"phone": "081234567890"}),
        ("::location -6.23 106.91", Kind.LOCATION, {"latitude": -6.23, "longitude": 106.91}),
        ("::location here", Kind.OTHER, {}),
        ("::unknown", Kind.OTHER, {}),
        ("halo", Kind.TEXT, {"text": "halo"}),
    ],
)
def test_console_lines(line: str, kind: Kind, extra: dict) -> None:
    message = to_incoming(line, "warga")
    assert message.kind == kind
    for name, value in extra.items():
        assert getattr(message, name) == value


def test_a_console_photo_has_a_name_to_keep() -> None:
    first, second = to_incoming("::photo", "warga"), to_incoming("::photo", "warga")
    assert first.kind == Kind.PHOTO
    assert first.media_id.startswith("console-photo-") and first.media_id != second.media_id
