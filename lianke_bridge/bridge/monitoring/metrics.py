"""Prometheus metrics of one bridge: read from the counters the bridge already keeps.

Calls, errors, rate-limit hits, MQTT traffic and reconnects are counted once, where they happen
(the cloud client's ``ApiStats``, the publisher, the service) and feed both ``bridge/health`` and
``/metrics``: the collector reads them at scrape time. Only the latency histogram is fed as calls
end, since nothing else keeps a distribution. Each service owns a private registry, so several
bridges in one process (the tests) never share or clash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from lianke_bridge import __version__
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.push import PushLedger
from lianke_bridge.bridge.records.state import JobRecord
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.stats import ApiStats

PREFIX = "lianke_bridge"
CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The exposition format's media type, for the HTTP answer."""
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, float("inf"))
"""Seconds; the API timeout is 15 s by default and printer_status gets twice that."""


class MetricsSource(Protocol):
    """What the collector reads of the bridge (the monitor is one): its own counters."""

    @property
    def connected(self) -> asyncio.Event:
        """Set while the bridge is connected to the broker."""

    @property
    def messages_in(self) -> int:
        """MQTT messages received."""

    @property
    def reconnects(self) -> int:
        """Lost or failed broker connections."""

    @property
    def publisher(self) -> Publisher:
        """Counts the messages sent."""

    @property
    def boxes(self) -> Mapping[str, Box]:
        """Every box of this instance, by name."""

    @property
    def api_stats(self) -> ApiStats | None:
        """What the cloud client counted (None before it runs)."""

    def uptime_seconds(self) -> int:
        """Whole seconds since the bridge started."""

    def known_jobs(self) -> list[JobRecord]:
        """Every job the tracker knows."""

    @property
    def pushes(self) -> PushLedger:
        """What became of the cloud's pushes."""


class BridgeMetrics:
    """The registry of one service: a scrape-time collector plus the latency histogram."""

    def __init__(self, service: MetricsSource) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency = Histogram(
            f"{PREFIX}_api_latency_seconds",
            "Seconds a Lianke cloud API request took, by call and API code (or failure kind).",
            labelnames=("endpoint", "code"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_BridgeCollector(service))

    def observe_latency(self, call: str, code: str, seconds: float) -> None:
        """One cloud request ended (the ``ApiStats`` latency observer)."""
        self.latency.labels(endpoint=call, code=code).observe(seconds)

    def exposition(self) -> bytes:
        """The text format a Prometheus scrape expects."""
        return generate_latest(self.registry)


class _BridgeCollector:
    """Turns the service's own counters into metric families at each scrape."""

    def __init__(self, service: MetricsSource) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        """Every metric family but the latency histogram."""
        yield from self._info()
        yield from self._api()
        yield from self._mqtt()
        yield from self._jobs()
        yield from self._pushes()
        yield from self._schedule()

    def _info(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            f"{PREFIX}_build_info", "Always 1; the version as a label.", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info
        service = self._service
        uptime = GaugeMetricFamily(f"{PREFIX}_uptime_seconds", "Seconds since the bridge started.")
        uptime.add_metric([], service.uptime_seconds())
        yield uptime

    def _api(self) -> Iterator[Metric]:
        stats = self._service.api_stats
        if stats is None:
            return
        calls = CounterMetricFamily(
            f"{PREFIX}_api_calls",
            "Lianke cloud API requests sent, by call (each retry counts).",
            labels=["endpoint"],
        )
        for call, count in sorted(stats.calls.items()):
            calls.add_metric([call], count)
        yield calls
        failures = CounterMetricFamily(
            f"{PREFIX}_api_errors",
            "Failed API requests by call and code: the API code, or timeout, connection, "
            "http_<status>, bad_response.",
            labels=["endpoint", "code"],
        )
        for (call, code), count in sorted(stats.errors.items()):
            failures.add_metric([call, code], count)
        yield failures
        for name, value, text in (
            ("api_rate_limited", stats.rate_limited, "Cloud answers 10009 (too many requests)."),
            ("api_throttled", stats.throttled, "Calls the bridge's own rate limit made wait."),
            ("api_retries", stats.retries, "Automatic retries of safe calls."),
            ("api_cache_hits", stats.cache_hits, "printer_params/paper sizes from the cache."),
        ):
            counter = CounterMetricFamily(f"{PREFIX}_{name}", text)
            counter.add_metric([], value)
            yield counter

    def _mqtt(self) -> Iterator[Metric]:
        service = self._service
        connected = GaugeMetricFamily(
            f"{PREFIX}_mqtt_connected", "1 while the bridge is connected to the broker."
        )
        connected.add_metric([], 1 if service.connected.is_set() else 0)
        yield connected
        for name, value, text in (
            ("mqtt_messages_received", service.messages_in, "MQTT messages received."),
            ("mqtt_messages_published", service.publisher.messages_out, "MQTT messages sent."),
            ("mqtt_reconnects", service.reconnects, "Lost or failed broker connections."),
        ):
            counter = CounterMetricFamily(f"{PREFIX}_{name}", text)
            counter.add_metric([], value)
            yield counter

    def _jobs(self) -> Iterator[Metric]:
        jobs = self._service.known_jobs()
        by_state = dict.fromkeys(codes.JobState, 0)
        for job in jobs:
            by_state[job.state] += 1
        gauge = GaugeMetricFamily(
            f"{PREFIX}_jobs",
            "Jobs the bridge submitted and still knows (finished ones until they expire), "
            "by state.",
            labels=["state"],
        )
        for state, count in by_state.items():
            gauge.add_metric([state.value], count)
        yield gauge

    def _pushes(self) -> Iterator[Metric]:
        pushes = self._service.pushes
        received = CounterMetricFamily(
            f"{PREFIX}_pushes_received",
            "The cloud's pushes received, by way in: http (the bridge's endpoint) or mqtt "
            "(<base>/bridge/callback).",
            labels=["way"],
        )
        for way in ("http", "mqtt"):
            received.add_metric([way], pushes.received[way])
        yield received
        rejected = CounterMetricFamily(
            f"{PREFIX}_pushes_rejected",
            "Pushes not acted on, by reason: bad_token, too_large, bad_json, unknown_shape, "
            "bad_job, unknown_device, other_instance, unknown_task, not_final, unconfirmed, "
            "too_soon.",
            labels=["reason"],
        )
        for reason, count in sorted(pushes.rejected.items()):
            rejected.add_metric([reason], count)
        yield rejected
        for name, value, text in (
            ("pushes_confirmed", pushes.confirmed, "Job ends a push told, confirmed by the cloud."),
            ("pushes_duplicate", pushes.duplicates, "Pushes for a job already ended (retries)."),
            ("pushes_missed", pushes.missed, "Jobs a poll saw end before their push came."),
            ("push_refreshes", pushes.refreshes, "Box refreshes the message pushes started."),
        ):
            counter = CounterMetricFamily(f"{PREFIX}_{name}", text)
            counter.add_metric([], value)
            yield counter
        arriving = GaugeMetricFamily(
            f"{PREFIX}_pushes_arriving",
            "1 while the cloud's pushes tell job ends (lianke.callback_url set and no job ended "
            "without its push since the last one).",
        )
        arriving.add_metric([], 1 if pushes.expected else 0)
        yield arriving

    def _schedule(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            f"{PREFIX}_schedule_lag_seconds",
            "Seconds the last poll of each kind started after it was due, per box.",
            labels=["device", "poll"],
        )
        problem = GaugeMetricFamily(
            f"{PREFIX}_device_online", "1 while the box answers as online.", labels=["device"]
        )
        for name, box in sorted(self._service.boxes.items()):
            for kind, seconds in sorted(box.lag.items()):
                lag.add_metric([name, kind], seconds)
            problem.add_metric([name], 1 if box.state.online else 0)
        yield lag
        yield problem
