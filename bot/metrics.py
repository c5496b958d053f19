"""Prometheus metrics with one CollectorRegistry per Application, so tests never share counts.

Two sources: what this process saw since it started (updates by type, handler latency, webhook
requests), and what the database holds, read at each scrape (answers by intent, escalations,
open tickets, time to answer, broadcast progress), so those survive restarts.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from telegram import Update

from bot.services import App
from knowledge.store import Store

log = logging.getLogger(__name__)

# Prometheus 2 and 3 both read the 0.0.4 text format; every name here is a legacy name.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Time to answer a ticket: a minute to three days.
ANSWER_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0,
                  3 * 86400.0)  # fmt: skip


def update_type(update: object) -> str:
    """message, callback_query, inline_query, … for an Update; "other" for anything else."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


class Metrics:
    """The instruments of one Application, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "contest_bot_updates",
            "Updates received from Telegram, by type.",
            ["type"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "contest_bot_handler_seconds",
            "Time from an update's arrival at the handlers to the end of its handling.",
            ["type"],
            buckets=HANDLER_BUCKETS,
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "contest_bot_webhook_requests",
            "Requests to the webhook endpoint, by HTTP status answered.",
            ["status"],
            registry=self.registry,
        )
        self.digest_checks = Counter(
            "contest_bot_digest_checks",
            "Checks for the daily digest, by outcome: posted, done (posted before or being "
            "sent), failed.",
            ["outcome"],
            registry=self.registry,
        )
        self.up = Gauge(
            "contest_bot_up", "1 while the bot takes updates, else 0.", registry=self.registry
        )
        self.backups = Counter(
            "contest_bot_backups",
            "Automatic backups since start, by result (ok, failed).",
            ["result"],
            registry=self.registry,
        )
        for result in ("ok", "failed"):  # both lines exist from the start, for alerts
            self.backups.labels(result)
        self.throttled = Counter(
            "contest_bot_throttled",
            "Updates dropped because their sender went past USER_BURST / USER_PER_MINUTE.",
            registry=self.registry,
        )
        self.last_backup = Gauge(
            "contest_bot_last_backup_timestamp_seconds",
            "When the last automatic backup succeeded (Unix time; 0: none since start).",
            registry=self.registry,
        )
        self._store: Store | None = None

    def watch(self, store: Store) -> None:
        """Add the database's figures to this registry (once)."""
        if self._store is None:
            self._store = store
            self.registry.register(StoreCollector(store))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MeteredApplication(App):
    """An Application that counts updates by type and times their handling."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = Metrics()
        self.metrics.up.set_function(lambda: float(self.running))

    async def process_update(self, update: object) -> None:
        kind = update_type(update)
        self.metrics.updates.labels(kind).inc()
        start = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.metrics.handler_seconds.labels(kind).observe(time.perf_counter() - start)


def metrics_of(app: App) -> Metrics:
    """The Application's Metrics; a fresh, unattached set for an unmetered Application."""
    if isinstance(app, MeteredApplication):
        return app.metrics
    return Metrics()


class StoreCollector(Collector):
    """Figures read from the database at each scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "contest_bot_database_up", "1 when the database answered this scrape, else 0."
        )
        try:
            families = list(self._families())
        except sqlite3.Error as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        store = self.store
        answers = CounterMetricFamily(
            "contest_bot_answers",
            "Questions typed to the bot, by the intent of the bot's answer "
            "(escalate: the bot offered to hand it to the organizers).",
            labels=["intent"],
        )
        for intent, count in sorted(store.question_counts().items()):
            answers.add_metric([intent], count)
        yield answers
        total, open_now = store.ticket_counts()
        yield CounterMetricFamily(
            "contest_bot_escalations", "Questions sent to the organizers (tickets).", value=total
        )
        yield GaugeMetricFamily(
            "contest_bot_open_tickets", "Tickets waiting for the organizers.", value=open_now
        )
        waits = store.answer_waits()
        yield HistogramMetricFamily(
            "contest_bot_time_to_answer_seconds",
            "Time from a ticket's creation to the organizers' answer.",
            buckets=_buckets(waits, ANSWER_BUCKETS),
            sum_value=sum(waits),
        )
        progress = store.broadcast_progress()
        broadcasts = GaugeMetricFamily(
            "contest_bot_broadcasts", "Broadcasts by status.", labels=["status"]
        )
        for status, count in sorted(progress.get("broadcasts", {}).items()):
            broadcasts.add_metric([status], count)
        yield broadcasts
        deliveries = GaugeMetricFamily(
            "contest_bot_broadcast_messages",
            "Messages of broadcasts (one per recipient) by delivery status.",
            labels=["status"],
        )
        # pending and sent are there from the start, so a dashboard has a line to draw.
        counts = {"pending": 0, "sent": 0, **progress.get("deliveries", {})}
        for status, count in sorted(counts.items()):
            deliveries.add_metric([status], count)
        yield deliveries


def _buckets(values: Sequence[float], bounds: Sequence[float]) -> list[tuple[str, float]]:
    """Cumulative histogram buckets, +Inf last, in the form HistogramMetricFamily takes."""
    ordered = sorted(values)
    buckets = [(str(bound), float(sum(1 for v in ordered if v <= bound))) for bound in bounds]
    buckets.append(("+Inf", float(len(ordered))))
    return buckets
