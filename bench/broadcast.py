"""Benchmark: a broadcast (siaran) to 100,000 residents queued in the outbound table.

Fills a database with `--residents` consented residents (each with a Telegram or WhatsApp chat,
some with both, 2 % who said "berhenti"), then times what staff wait for: the preview (how
many, how many skipped, how many got it already) and `broadcasts.queue`, which writes the
broadcast and every message in one transaction. Goal: 100,000 residents queued in under 10 s.

    .venv/bin/python bench/broadcast.py [--residents 100000] [--database-url URL]

Without --database-url the database is a fresh SQLite file in a temporary folder. With it, the
database's `public` schema is dropped and recreated first: never point it at data that matters.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# run as a script: the project, not bench/, is where the packages are
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import Engine, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.registry import fresh_database  # noqa: E402
from storage import broadcasts  # noqa: E402
from storage.broadcasts import Segment, SegmentKind  # noqa: E402
from storage.outbox import Outbound  # noqa: E402
from storage.residents import ChannelIdentity, Resident  # noqa: E402
from storage.types import utcnow  # noqa: E402

GOAL_RESIDENTS, GOAL_SECONDS = 100_000, 10.0
KELURAHAN = [f"31.75.07.100{number}" for number in range(1, 8)]
CHUNK = 20_000
TEXT = (
    "Pengumuman: pembagian sembako BPNT bulan Desember di Kantor Kelurahan, Sabtu 08.00-11.00. "
    "Bawa KTP asli, Kartu Keluarga dan kartu KKS. Pengambilan tidak dipungut biaya."
)


def populate(database: Engine, count: int) -> None:
    """Add `count` residents in chunks, with their chats."""
    now = utcnow()
    made = 0
    while made < count:
        size = min(CHUNK, count - made)
        rows = [
            {
                "name": f"Warga {made + number}",
                "language": "id" if number % 5 else "en",
                "kelurahan_code": KELURAHAN[number % len(KELURAHAN)],
                "rw": 1 + number % 12,
                "consent_at": now,
                "opted_out": number % 50 == 0,
                "phone_verified": False,
                "registry_programs": "BPNT;PKH" if number % 3 == 0 else "",
                "created_at": now,
                "updated_at": now,
            }
            for number in range(size)
        ]
        with database.begin() as db:
            db.execute(Resident.__table__.insert(), rows)
            ids = db.execute(
                select(Resident.id).order_by(Resident.id.desc()).limit(size)
            ).scalars()
            chats = []
            for resident_id in ids:
                channel = "whatsapp" if resident_id % 3 else "telegram"
                chats.append(
                    {
                        "resident_id": resident_id,
                        "channel": channel,
                        "external_id": f"{6281000000000 + resident_id}",
                        "created_at": now,
                        "last_inbound_at": now,
                    }
                )
                if resident_id % 10 == 0:  # some write on both platforms
                    chats.append(
                        {
                            "resident_id": resident_id,
                            "channel": "telegram",
                            "external_id": f"{900000000 + resident_id}",
                            "created_at": now,
                            "last_inbound_at": None,
                        }
                    )
            db.execute(ChannelIdentity.__table__.insert(), chats)
        made += size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=GOAL_RESIDENTS)
    parser.add_argument("--database-url", help="a database that may be wiped (default: SQLite)")
    args = parser.parse_args()
    where = make_url(args.database_url).render_as_string() if args.database_url else "SQLite"
    print(f"{args.residents:,} residents on {where}")
    with tempfile.TemporaryDirectory() as folder:
        database = fresh_database(args.database_url, Path(folder))
        started = time.perf_counter()
        populate(database, args.residents)
        print(f"filled in {time.perf_counter() - started:.1f} s")
        segment = Segment(SegmentKind.EVERYONE)
        now = utcnow()
        started = time.perf_counter()
        with database.connect() as db:
            seen = broadcasts.preview(
                db=db, segment=segment, text=TEXT, kelurahan_limit=None, now=now
            )
        preview_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with database.begin() as db:
            broadcast_id, queued, skipped = broadcasts.queue(
                db=db, segment=segment, text=TEXT, created_by="bench", now=now
            )
        queue_seconds = time.perf_counter() - started
        with database.connect() as db:
            rows = db.execute(select(func.count()).select_from(Outbound)).scalar_one()
            chats = db.execute(
                select(func.count(func.distinct(Outbound.resident_id)))
            ).scalar_one()
        database.dispose()
    print(f"preview: {seen.recipients:,} recipients, {seen.skipped_opted_out:,} skipped, "
          f"in {preview_seconds:.2f} s")  # fmt: skip
    print(f"queued siaran #{broadcast_id}: {queued:,} messages ({skipped:,} skipped) in "
          f"{queue_seconds:.2f} s; goal under {GOAL_SECONDS:.0f} s for {GOAL_RESIDENTS:,}: "
          f"{'met' if queue_seconds < GOAL_SECONDS else 'NOT met'}")  # fmt: skip
    print(f"rows written: {rows:,}, one per resident: {'yes' if rows == chats else 'NO'}")


if __name__ == "__main__":
    main()
