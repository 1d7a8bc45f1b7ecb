"""The configuration as frozen dataclasses, with the limits and names the rules share.

YAML keys are snake_case and equal to the dataclass field names; the dataclasses are the one
source of defaults. Secrets are ``field(repr=False)``: ``repr()`` leaves them out and
:func:`~lianke_bridge.config.report.redacted` masks them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lianke_bridge.cloud.codes import BASE_URL
from lianke_bridge.config.shard import Shard
from lianke_bridge.print_options import PrintOptions

DEFAULT_BASE_URL = BASE_URL
DEFAULT_SESSION_EXPIRY = 86400.0
"""A day: requests sent while the bridge is down for an update or a night still run."""
MAX_SESSION_EXPIRY = 0xFFFFFFFE
"""MQTT 5's largest expiry short of "never" (0xFFFFFFFF), in seconds (about 136 years)."""
DEFAULT_CLIENT_ID = "lianke-bridge"
MIB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
"""The cloud's limit for one document (``file_pages`` says 20 MB)."""
FILE_BYTES_RANGE = (1024, 100 * 1024 * 1024)
"""What ``jobs.max_file_bytes`` may be."""
DEFAULT_RECEIVE_MAXIMUM = 20
"""Requests the broker may send before the first is acknowledged (MQTT 5's Receive Maximum).

The bridge acknowledges a request once it is answered, so this is how many requests are in the
bridge at once: waiting, answered, or being refused. 20 is Mosquitto's own window for MQTT
3.1.1 clients (``max_inflight_messages``): the same on both protocols, and room for the 8
workers and the refusals beside them."""
MAX_RECEIVE_MAXIMUM = 65535
PACKET_SIZE_RANGE = (64 * 1024, 256 * 1024 * 1024)
"""What ``mqtt.max_packet_size`` may be (MQTT's own limit is about 256 MiB)."""


def largest_payload(max_file_bytes: int) -> int:
    """The largest request payload read: a base64 file of ``max_file_bytes`` plus the fields."""
    return max_file_bytes * 4 // 3 + 64 * 1024


def default_packet_size(max_file_bytes: int) -> int:
    """The default ``mqtt.max_packet_size``: the largest request, in whole MiB, and one more.

    28 MiB for the default 20 MiB files. The broker may carry a request up to a MiB over the
    limit (the bridge answers it "too large", unread) and a topic of any length with it; a
    larger packet it drops. Reading one costs several times its size for a moment (paho
    copies a packet while it decodes it), hence no more slack than that.
    """
    whole_mib = -(-largest_payload(max_file_bytes) // MIB)
    return (whole_mib + 1) * MIB


@dataclass(frozen=True)
class LiankeConfig:
    """The developer account and how politely to use the cloud."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 15.0
    """Seconds per API call (printer_status is live and slow: it gets twice this)."""
    rate_limit: float = 5.0
    """Client-wide ceiling, calls per second."""
    max_retries: int = 2
    """Retries of safe calls (reads, and 10009) with backoff."""
    refusal_retry: float = 15 * 60.0
    """Seconds between tries of an ApiKey (or a box's device key) the cloud refused."""
    status_spacing: float = 3.0
    """Seconds between two printer_status of the same printer (the cloud answers 10009 sooner)."""


@dataclass(frozen=True)
class TlsConfig:
    """TLS towards the broker."""

    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttConfig:
    """The broker and the topic root."""

    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "lianke-bridge"
    """Stable across restarts, so the broker keeps the session: derived from ``base_topic``."""
    keepalive: int = 60
    session_expiry: float = DEFAULT_SESSION_EXPIRY
    """Seconds the broker keeps the session (subscriptions, queued QoS 1 requests) while the
    bridge is away; 0 starts clean every time (requests sent meanwhile are then lost)."""
    protocol: Literal["5", "3.1.1"] = "5"
    base_topic: str = "lianke"
    tls: TlsConfig | None = None
    receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM
    """MQTT 5: requests the broker may have sent and not yet seen acknowledged (answered)."""
    max_packet_size: int | None = None
    """MQTT 5: the largest packet the broker may send the bridge (a larger one it drops);
    None: :func:`default_packet_size` of ``jobs.max_file_bytes`` (see ``Config``)."""


@dataclass(frozen=True)
class HomeAssistantConfig:
    """MQTT discovery for Home Assistant."""

    enabled: bool = True
    prefix: str = "homeassistant"
    discovery: Literal["device", "entity"] = "device"
    status_topic: str = "homeassistant/status"


@dataclass(frozen=True)
class PollConfig:
    """Seconds between polls of one box; the schema enforces floors that keep within limits."""

    device_info: float = 60.0
    printer_list: float = 300.0
    printer_status: float = 60.0
    tasks: float = 60.0


@dataclass(frozen=True)
class DeviceConfig:
    """One Lianke box."""

    name: str
    """Slug used in topics (``[a-z0-9_-]+``; ``bridge`` is reserved)."""
    device_id: str
    device_key: str = field(repr=False)
    poll: PollConfig = field(default_factory=PollConfig)
    default_port: int = 1
    printer_type: int = 3
    """printer_list's printerType: 1 USB, 2 network, 3 both."""
    print_defaults: Mapping[int, PrintOptions] = field(default_factory=dict)
    """Per port: print options (as in the ``print`` command) applied unless a request says."""


@dataclass(frozen=True)
class JobsConfig:
    """Following submitted jobs."""

    poll_interval: float = 10.0
    """The reference advises polling a job every 10 s."""
    retention: float = 24 * 3600.0
    """Seconds a finished job's retained topic is kept before it is cleared."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    allowed_hosts: tuple[str, ...] = ()
    """Hosts print links may point to (and names below them); empty: any host."""


@dataclass(frozen=True)
class LoggingConfig:
    """Log level and format."""

    level: str = "INFO"
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class HttpConfig:
    """The optional HTTP endpoint: ``/healthz`` and Prometheus ``/metrics``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    """Loopback by default; ``0.0.0.0`` to be scraped from elsewhere (or from outside Docker)."""
    port: int = 9108


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    lianke: LiankeConfig
    devices: tuple[DeviceConfig, ...]
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    state_dir: Path = Path("data")
    """Where the bridge remembers what it published (discovery, jobs) across restarts."""
    shard: Shard = field(default_factory=Shard)
    """Which boxes this instance owns when several share the fleet (``--shard i/n``)."""

    @property
    def max_packet_size(self) -> int:
        """The largest MQTT packet the bridge takes: ``mqtt.max_packet_size`` or its default."""
        if self.mqtt.max_packet_size is not None:
            return self.mqtt.max_packet_size
        return default_packet_size(self.jobs.max_file_bytes)


# ---- limits and names ------------------------------------------------------------------------
RESERVED_NAMES = frozenset({"bridge"})
"""Device names taken by the bridge's own topics (``<base>/bridge/…``)."""

POLL_FLOORS: Mapping[str, float] = {
    "device_info": 15.0,
    "printer_list": 60.0,
    "printer_status": 30.0,
    "tasks": 20.0,
}
"""Seconds: the fastest each per-box poll may run. Lianke bans keys and IPs that hammer it."""

POLL_CEILING = 24 * 3600.0
JOBS_POLL_FLOOR = 5.0
MAX_RATE_LIMIT = 10.0
"""Calls per second, client-wide: more would be load on a service that forbids load tests."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PRINTER_TYPES: Mapping[str, int] = {"usb": 1, "network": 2, "all": 3, "both": 3}
TLS_PORT = 8883
"""mqtt.port when TLS is on and no port is given."""


def field_default(cls: type[Any], name: str) -> Any:
    """A dataclass field's default: the dataclasses stay the one source of defaults.

    A nested section (a ``default_factory``) defaults to an empty mapping, which its own schema
    then fills with its defaults.
    """
    for item in dataclasses.fields(cls):
        if item.name == name:
            if item.default is not dataclasses.MISSING:
                return str(item.default) if isinstance(item.default, Path) else item.default
            if item.default_factory is not dataclasses.MISSING:
                return dict
    raise KeyError(name)
