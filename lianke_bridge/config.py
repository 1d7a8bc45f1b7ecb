"""Configuration: voluptuous schemas at the edge, frozen dataclasses inside.

YAML keys are snake_case and equal to the dataclass field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_BASE_URL = "https://cloud.liankenet.com"


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
    keepalive: int = 60
    protocol: Literal["5", "3.1.1"] = "5"
    base_topic: str = "lianke"
    tls: TlsConfig | None = None


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
    print_defaults: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    """Per port: print options (as in the ``print`` command) applied unless a request says."""


@dataclass(frozen=True)
class JobsConfig:
    """Following submitted jobs."""

    poll_interval: float = 10.0
    """The reference advises polling a job every 10 s."""
    retention: float = 24 * 3600.0
    """Seconds a finished job's retained topic is kept before it is cleared."""
    max_file_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class LoggingConfig:
    """Log level and format."""

    level: str = "INFO"
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    lianke: LiankeConfig
    devices: tuple[DeviceConfig, ...]
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    state_dir: Path = Path("data")
    """Where the bridge remembers what it published (discovery, jobs) across restarts."""
