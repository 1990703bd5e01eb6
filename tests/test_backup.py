"""deploy/backup.sh and deploy/restore.sh against the test's PostgreSQL database: a resident
half-way through registration is backed up, the conversation goes on, the database is dropped
and restored, and the same running engine carries on from the step saved in the backup."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.residents import Resident
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import Chat

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"

pytestmark = [
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="backups are of PostgreSQL databases"),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")),
        reason="needs the PostgreSQL client programs",
    ),
]


def run(script: str, *args: str, backups: Path, keep: int = 3) -> subprocess.CompletedProcess:
    """Run one of the deploy scripts as an operator would, against the test database."""
    environment = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BACKUP_DIR": str(backups),
        "BACKUP_KEEP": str(keep),
    }
    return subprocess.run(
        ["bash", str(DEPLOY / script), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dumps(backups: Path) -> list[str]:
    return sorted(path.name for path in backups.glob("layanan-*.dump"))


async def test_backup_drop_restore_and_the_bot_carries_on(
    engine, database, tmp_path: Path
) -> None:
    chat = Chat(engine, "warga-backup")
    await chat.run(
        [
            ("halo", "Selamat datang di Layanan Warga Duren Sawit"),
            ("1", "Apakah Bapak/Ibu setuju?"),
            ("Saya setuju", "Siapa nama lengkap Bapak/Ibu, sesuai KTP?"),
            ("Siti Aminah", "Bapak/Ibu tinggal di kelurahan mana?"),
        ]
    )
    backups = tmp_path / "backups"
    backups.mkdir()
    # older backups: the newest three stay, counting the one made now
    for old in ("20250101T000000Z", "20250102T000000Z", "20250103T000000Z"):
        (backups / f"layanan-{old}.dump").write_bytes(b"old")
    made = run("backup.sh", backups=backups)
    assert made.returncode == 0, made.stderr
    kept = dumps(backups)
    assert len(kept) == 3 and kept[:2] == [
        "layanan-20250102T000000Z.dump",
        "layanan-20250103T000000Z.dump",
    ]
    backup = backups / kept[-1]
    assert backup.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert not list(backups.glob(".*partial"))

    # after the backup the resident answers on: this is lost by the restore
    await chat.run([("klender", "Di Kelurahan Klender ada RW 001 sampai 015")])

    refused = run("restore.sh", str(backup), backups=backups)  # no --yes: nothing happens
    assert refused.returncode == 2
    restored = run("restore.sh", "--yes", str(backup), backups=backups)
    assert restored.returncode == 0, restored.stderr

    # the same engine, whose connections the drop ended, carries on from the backed-up step:
    # the kelurahan question again, and the registration completes
    await chat.run(
        [
            ("klender", "Di Kelurahan Klender ada RW 001 sampai 015"),
            ("RW 05", "Boleh kami minta nomor HP Bapak/Ibu?"),
            ("0812-3456-7890", "Terima kasih, Bapak/Ibu Siti Aminah. Pendaftaran selesai:"),
        ]
    )
    with database.connect() as db:
        registered = db.execute(
            select(func.count()).select_from(Resident).where(Resident.name == "Siti Aminah")
        ).scalar_one()
    assert registered == 1


def test_a_backup_that_cannot_be_made_leaves_nothing(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    environment = {**os.environ, "BACKUP_DIR": str(backups), "PGCONNECT_TIMEOUT": "3"}
    failed = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh"), "postgresql://root@127.0.0.1:1/nothing"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode != 0
    assert list(backups.iterdir()) == []  # no partial dump left, none counted as a backup
