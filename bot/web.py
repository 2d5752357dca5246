"""The bot's own web server on WEB_HOST:WEB_PORT: /healthz, /readyz and /metrics in every mode, and
the platforms' webhooks when they are on. It starts first, so /readyz can say "not yet" while the
database or a platform is still being waited for."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from handlers.health import Health
from handlers.router import Answer, Inbound, InboundRouter
from storage.models import utcnow

log = logging.getLogger(__name__)


class Metrics:
    """One registry per application (tests run several in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "bot_updates",
            "Updates handled, by platform and kind of chat",
            ["platform", "chat"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bot_update_seconds",
            "Time to handle one update, reply included",
            ["platform"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.outbox = Gauge("bot_outbox_depth", "Outbox rows not delivered yet", registry=self.registry)
        self.outbox_age = Gauge(
            "bot_outbox_oldest_seconds", "Age of the oldest undelivered row", registry=self.registry
        )
        self.unclaimed = Gauge(
            "bot_unclaimed_tickets", "Requests nobody has taken yet", registry=self.registry
        )
        self.unclaimed_age = Gauge(
            "bot_unclaimed_oldest_seconds",
            "Age of the oldest request nobody has taken",
            registry=self.registry,
        )
        self.failed = Gauge("bot_deliveries_failed", "Outbox rows given up, in all", registry=self.registry)
        self.broadcast_waiting = Gauge(
            "bot_broadcast_waiting", "Announcements still to send (every broadcast)", registry=self.registry
        )
        self.broadcast_sent = Gauge(
            "bot_broadcast_sent", "Announcements delivered, in all", registry=self.registry
        )
        self.followups = Gauge(
            "bot_followups_due", "Check-ins and reminders due, not sent yet", registry=self.registry
        )


class MeteredRouter(InboundRouter):
    """The router, counting and timing every update for /metrics."""

    metrics: Metrics

    async def route(self, inbound: Inbound) -> Answer:
        started = time.perf_counter()
        try:
            return await super().route(inbound)
        finally:
            platform = inbound.chat.platform.value
            self.metrics.updates.labels(platform, inbound.chat.kind.value).inc()
            self.metrics.latency.labels(platform).observe(time.perf_counter() - started)


class WebServer:
    def __init__(self, host: str, port: int, metrics: Metrics) -> None:
        self._host, self._port = host, port
        self.metrics = metrics
        self.health: Health | None = None  # set once the database exists
        self.transports_running: Callable[[], bool] = lambda: False
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics)
        # Webhooks are bound once their transport exists (the server starts before them).
        self.hooks: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
        self.app.router.add_post("/{path:.*}", self._hook)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses  # the real port when WEB_PORT is 0
        self.port = int(addresses[0][1]) if addresses else self._port
        log.info("health, readiness and metrics on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        handler = self.hooks.get(request.path)
        if handler is None:
            raise web.HTTPNotFound
        return await handler(request)

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        database = self.health is not None and await self.health.database_answers()
        transports = self.transports_running()
        ready = database and transports
        body = {"ready": ready, "database": database, "transports": transports}
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        if self.health is not None:
            try:
                stats = await self.health.queues()
            except Exception:
                log.warning("queue figures unavailable: the database does not answer")
            else:
                now = utcnow()
                self.metrics.outbox.set(stats.outbox_depth)
                self.metrics.outbox_age.set(_age(stats.outbox_oldest, now))
                self.metrics.unclaimed.set(stats.unclaimed)
                self.metrics.unclaimed_age.set(_age(stats.unclaimed_oldest, now))
                self.metrics.failed.set(stats.deliveries_failed)
                self.metrics.followups.set(stats.followups_due)
                self.metrics.broadcast_waiting.set(stats.broadcast_waiting)
                self.metrics.broadcast_sent.set(stats.broadcast_sent)
        return web.Response(
            body=generate_latest(self.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


def _age(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # SQLite gives naive UTC
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())
