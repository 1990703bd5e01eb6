"""What the program tells Prometheus at /metrics (prometheus-client, text exposition format).

Counted in this process, as things happen: the updates handled and the replies they gave (the
engine's `handle`, wrapped where the program starts), the queue's sends by outcome (its
senders, wrapped likewise), 429s and the pauses of a channel's queue, and the send rate shared
with the other processes (bot/rate_sharing.py). Read from the database when scraped, at most
once every CACHE_SECONDS: how many messages the queue holds per channel, kind and status, how
many are due, the age of the oldest due one, and which leases (the clock, each channel's
drain) this process holds. A database that does not answer makes the scrape say
so (`layanan_metrics_database_up 0`), not fail."""

import ipaddress
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine as Database
from sqlalchemy import case, func, select

from bot import outbound  # as a module: bot/outbound.py counts its pauses here
from bot.app import process_name
from storage.leases import Lease
from storage.outbox import Outbound, OutboundStatus
from storage.types import utcnow

log = logging.getLogger(__name__)

# the classic text format, which every Prometheus reads (generate_latest writes it)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
CACHE_SECONDS = 5.0  # a scrape reads the database at most this often
# the queue's rows worth counting: those not done with
WAITING = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.HELD)

UPDATES = Counter(
    "layanan_updates_handled",
    "Updates handled by the conversation engine",
    ["channel"],
    registry=None,
)
REPLIES = Counter(
    "layanan_replies",
    "Replies the engine gave to the updates handled",
    ["channel"],
    registry=None,
)
UPDATE_SECONDS = Histogram(
    "layanan_update_seconds",
    "Time to handle one update, the database included",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
    registry=None,
)
SENDS = Counter(
    "layanan_outbound_sends",
    "Sends of queued messages by outcome: sent, retry (a transient failure), failed (refused "
    "for good), rate_limited (429), unreachable (blocked or unknown account), unknown (no "
    "answer: it may have arrived), unavailable (the platform out of reach), held, error (a bug)",
    ["channel", "outcome"],
    registry=None,
)
RATE_LIMITED = Counter(
    "layanan_outbound_rate_limited",
    "Sends of the queue answered 429 (retry_after)",
    ["channel"],
    registry=None,
)
PAUSES = Counter(
    "layanan_outbound_pauses",
    "Times a channel's queue paused: the platform asked to slow down, or was out of reach",
    ["channel", "reason"],
    registry=None,
)
SEND_RATE = Gauge(
    "layanan_send_rate",
    "Sends a second this process made to the platform lately (told to the other processes)",
    ["channel"],
    registry=None,
)
RATE_LEFT = Gauge(
    "layanan_send_rate_left_to_others",
    "Sends a second this process leaves the other processes of the platform's limit before it "
    "sends reminders and bulk (their rates and room for their ups and downs)",
    ["channel"],
    registry=None,
)
PROCESS_COUNTERS = (
    UPDATES, REPLIES, UPDATE_SECONDS, SENDS, RATE_LIMITED, PAUSES, SEND_RATE, RATE_LEFT
)  # fmt: skip


# --- hooks: one call where the thing happens --------------------------------------------


def shared(channel: str, rate: float, left: float) -> None:
    """Tell this process's send rate to `channel` and what it leaves the other processes."""
    SEND_RATE.labels(channel).set(rate)
    RATE_LEFT.labels(channel).set(left)


def paused(channel: str, reason: str) -> None:
    """Count a pause of a channel's queue (`rate_limited` or `outage`)."""
    PAUSES.labels(channel, reason).inc()


def counting_updates(handle: Callable[..., Awaitable[list]]) -> Callable[..., Awaitable[list]]:
    """Wrap the engine's `handle` so that each update, its replies and its time are counted."""

    async def handle_counted(message, *args, **kwargs) -> list:
        started = time.perf_counter()
        replies = await handle(message, *args, **kwargs)
        channel = message.channel
        UPDATE_SECONDS.labels(channel).observe(time.perf_counter() - started)
        UPDATES.labels(channel).inc()
        REPLIES.labels(channel).inc(len(replies))
        return replies

    return handle_counted


def count_updates(engine) -> None:
    """Count what this engine handles (every channel calls its `handle`)."""
    if not getattr(engine.handle, "counted", False):
        engine.handle = counting_updates(engine.handle)
        engine.handle.counted = True


class MeteredSender:
    """A queue's sender that counts the outcome of each send; everything else is the
    channel's own."""

    def __init__(self, sender) -> None:
        self._sender = sender
        self.channel = sender.channel

    def __getattr__(self, name: str):
        return getattr(self._sender, name)

    async def deliver(self, *args, **kwargs):
        """Send through the channel and count the outcome."""
        try:
            platform_id = await self._sender.deliver(*args, **kwargs)
        except BaseException as error:
            outcome = outcome_of(error)
            SENDS.labels(self.channel, outcome).inc()
            if outcome == "rate_limited":
                RATE_LIMITED.labels(self.channel).inc()
            raise
        SENDS.labels(self.channel, "sent").inc()
        return platform_id


def outcome_of(error: BaseException) -> str:
    """Name the outcome of a send that raised `error`."""
    if isinstance(error, outbound.RetryLater):
        return "rate_limited"
    if isinstance(error, outbound.SendFailed):
        return "retry" if error.transient else "failed"
    for kind, name in (
        (outbound.Unreachable, "unreachable"),
        (outbound.Unknown, "unknown"),
        (outbound.Unavailable, "unavailable"),
        (outbound.Held, "held"),
    ):
        if isinstance(error, kind):
            return name
    return "error"


# --- read from the database when scraped ------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """One group of the queue's rows not done with."""

    channel: str
    kind: str
    status: str
    count: int
    due: int  # pending and due now
    oldest_due: datetime | None  # the earliest not_before of those


@dataclass(frozen=True)
class Snapshot:
    """What the database said at one scrape."""

    at: datetime
    queue: list[QueueRow]
    leases: list[tuple[str, bool]]  # each lease, and whether this process holds it


def read_snapshot(database: Database, now: datetime, holder: str) -> Snapshot:
    """Read the queue's depth and the leases: one grouped scan of the rows not done with (the
    status index), and the few rows of the leases."""
    table = Outbound.__table__
    due = table.c.status == OutboundStatus.PENDING
    due = due & (table.c.not_before <= now)
    query = (
        select(
            table.c.channel,
            table.c.kind,
            table.c.status,
            func.count().label("count"),
            func.sum(case((due, 1), else_=0)).label("due"),
            func.min(case((due, table.c.not_before))).label("oldest_due"),
        )
        .where(table.c.status.in_(WAITING))
        .group_by(table.c.channel, table.c.kind, table.c.status)
    )
    leases = Lease.__table__
    with database.connect() as db:
        queue = [
            QueueRow(row.channel, row.kind, row.status, row.count, row.due or 0, row.oldest_due)
            for row in db.execute(query)
        ]
        held = [
            (row.name, row.holder == holder and row.expires_at > now)
            for row in db.execute(select(leases.c.name, leases.c.holder, leases.c.expires_at))
        ]
    return Snapshot(now, queue, held)


class DatabaseCollector(Collector):
    """The gauges read from the database, kept CACHE_SECONDS between scrapes."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        holder: Callable[[], str] = process_name,
        cache_seconds: float | None = None,  # None: CACHE_SECONDS
    ) -> None:
        self.database = database
        self.clock = clock
        self.holder = holder
        self.cache_seconds = CACHE_SECONDS if cache_seconds is None else cache_seconds
        self._lock = threading.Lock()
        self._kept: tuple[float, Snapshot | None] | None = None  # monotonic time, snapshot

    def snapshot(self) -> Snapshot | None:
        """Return the last snapshot, read again when older than the cache; None when the
        database could not be read."""
        with self._lock:
            if self._kept is not None and time.monotonic() - self._kept[0] < self.cache_seconds:
                return self._kept[1]
            try:
                found = read_snapshot(self.database, self.clock(), self.holder())
            except Exception as error:
                log.warning("metrics: the database could not be read (%s)", type(error).__name__)
                found = None
            self._kept = (time.monotonic(), found)
            return found

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self.snapshot()
        up = GaugeMetricFamily(
            "layanan_metrics_database_up", "Whether the database answered this scrape's reads"
        )
        up.add_metric([], 0 if found is None else 1)
        yield up
        if found is None:
            return
        queued = GaugeMetricFamily(
            "layanan_outbound_queued",
            "Messages in the outbound queue not done with, by channel, kind and status",
            labels=["channel", "kind", "status"],
        )
        due = GaugeMetricFamily(
            "layanan_outbound_due",
            "Pending messages whose time has come (not_before passed), by channel and kind",
            labels=["channel", "kind"],
        )
        oldest = GaugeMetricFamily(
            "layanan_outbound_oldest_pending_age_seconds",
            "How long the oldest pending message that is due has waited since its not_before, "
            "by channel and kind (0: none waits)",
            labels=["channel", "kind"],
        )
        for row in found.queue:
            queued.add_metric([row.channel, row.kind, row.status], row.count)
            if row.status == OutboundStatus.PENDING:
                due.add_metric([row.channel, row.kind], row.due)
                age = (found.at - row.oldest_due).total_seconds() if row.oldest_due else 0.0
                oldest.add_metric([row.channel, row.kind], max(age, 0.0))
        yield queued
        yield due
        yield oldest
        lease = GaugeMetricFamily(
            "layanan_lease_held",
            "Whether this process holds the lease (clock: the reminders' tick; "
            "outbound:<channel>: that channel's drain)",
            labels=["lease"],
        )
        for name, mine in found.leases:
            lease.add_metric([name], 1 if mine else 0)
        yield lease


def registry_for(database: Database, **options) -> CollectorRegistry:
    """Return a registry of this process's counters, its memory and CPU (process_*) and the
    database's gauges."""
    registry = CollectorRegistry()  # no auto_describe: registering reads no database
    for collector in PROCESS_COUNTERS:
        registry.register(collector)
    ProcessCollector(registry=registry)  # memory, CPU, open files (process_*)
    registry.register(DatabaseCollector(database, **options))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """Return the metrics in the text exposition format (reads the database: call it off the
    event loop)."""
    return generate_latest(registry)


def allowed(host: str | None, networks: Sequence) -> bool:
    """Tell whether a client address falls within one of the networks."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in networks)
