"""The configuration as frozen dataclasses, with the limits and names the rules share.

YAML keys are snake_case and equal to the dataclass field names; the dataclasses are the one
source of defaults, and their docstrings the one source of the options' descriptions: a class's
docstring opens its section of docs/configuration.md and the first paragraph of a field's
docstring is the option's description there (``make generate``; the Chinese twins are in
:mod:`.descriptions_zh`). Write them for the owner of a Pi; notes for developers go in a field's
later paragraphs. Secrets are ``field(repr=False)``: ``repr()`` leaves them out and
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
    """The Lianke open-platform account, and how politely the bridge uses the cloud."""

    api_key: str = field(repr=False)
    """The developer ApiKey of the Lianke open platform, where the boxes are bound; every call
    to the cloud carries it."""
    base_url: str = DEFAULT_BASE_URL
    """The cloud API's address, ``http://`` or ``https://``. Leave it out for real boxes; the
    simulator is ``http://127.0.0.1:8080``."""
    timeout: float = 15.0
    """Seconds one API call may take. ``printer_status`` asks the printer live and is slow: it
    gets twice this."""
    rate_limit: float = 5.0
    """The most calls per second the whole bridge makes to the cloud. Polls may use 80 % of it;
    commands' calls go ahead of polls'."""
    max_retries: int = 2
    """How often a safe call (a read, or a call the cloud answered 10009 "too frequent") is tried
    again, with growing pauses."""
    refusal_retry: float = 15 * 60.0
    """When the cloud refuses the ApiKey (or a box's device key), how long the bridge waits before
    trying that key again, sending nothing with it meanwhile. SIGHUP tries at once."""
    status_spacing: float = 3.0
    """Seconds between two ``printer_status`` of the same printer: the cloud answers 10009 "too
    frequent" when a box's port is asked again sooner, so a ``refresh`` right after a poll waits
    this long first."""
    callback_url: str | None = field(default=None, repr=False)
    """The public ``https://`` address the cloud POSTs each job's result to when the job ends
    (its push), sent with every print: a job's end then shows within a second, and jobs are
    polled only every ``jobs.push_poll_interval``. With ``{token}`` as its last part
    (``https://print.example.com/lianke/{token}``) it is the bridge's own HTTP endpoint (``http:``
    on) behind your reverse proxy, and the bridge puts its secret token there; without, pushes go
    to that address as it is: Home Assistant's webhook, relaying them to
    ``<base>/bridge/callback`` (the blueprint ``lianke_bridge/cloud_push_relay.yaml``).
    Secret: anyone who knows it can send the bridge pushes."""


@dataclass(frozen=True)
class TlsConfig:
    """TLS towards the broker: ``tls: true`` for the system's CA certificates, or these files.

    Files must exist (a regular file of at most 4 MiB); relative paths are relative to the
    configuration file.
    """

    ca_certs: Path | None = None
    """The CA certificate that signed the broker's certificate; unset: the system's CAs."""
    certfile: Path | None = None
    """A client certificate, for a broker that asks for one; needs ``keyfile``."""
    keyfile: Path | None = None
    """The client certificate's private key; needs ``certfile``."""
    insecure: bool = False
    """``true`` skips checking the broker's certificate and host name: for tests only."""


@dataclass(frozen=True)
class MqttConfig:
    """The MQTT broker, and the topic root of everything the bridge publishes."""

    host: str = "localhost"
    """The broker's host name or IP address, without ``mqtt://`` and without the port."""
    port: int = 1883
    """The broker's port; unset: 1883, or 8883 when ``tls`` is on."""
    username: str | None = None
    """The user name at the broker; unset: anonymous."""
    password: str | None = field(default=None, repr=False)
    """The user's password; needs ``username``."""
    client_id: str = "lianke-bridge"
    """Unique on the broker and the same at every start: the broker keeps the bridge's session
    under it. Unset: ``lianke-bridge``, or ``lianke-bridge-<base_topic>`` for another base topic.
    """
    keepalive: int = 60
    """Seconds between pings when nothing else is sent; a broker drops a client silent for longer
    than 1.5 times this."""
    session_expiry: float = DEFAULT_SESSION_EXPIRY
    """How long the broker keeps the bridge's session while it is away: its subscriptions and
    the QoS 1 requests sent meanwhile, which run when it returns. ``0`` starts clean every time
    (those requests are lost); MQTT 3.1.1 has no expiry."""
    protocol: Literal["5", "3.1.1"] = "5"
    """The MQTT version: ``5``, or ``3.1.1`` (``311`` is understood too) for an older broker."""
    base_topic: str = "lianke"
    """The topic root of everything the bridge publishes (``lianke/<box>/…``): no ``+`` or
    ``#``, no ``/`` at either end, no empty level, no leading ``$`` (brokers keep those)."""
    tls: TlsConfig | None = None
    """``true`` for TLS with the system's CA certificates, or a mapping of the files below;
    unset or ``false``: plain TCP."""
    receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM
    """MQTT 5: how many requests the broker may send before the bridge has answered (and so
    acknowledged) the first; the rest wait in the broker. It bounds the bridge's memory."""
    max_packet_size: int | None = None
    """MQTT 5: the largest message the broker may send the bridge; a larger one it drops,
    unanswered. Unset: the largest print request and 1 MiB more (28 MiB with the default
    ``jobs.max_file_bytes``), and never less than that request. For MQTT 3.1.1 set the broker's
    ``message_size_limit`` instead.

    None: :func:`default_packet_size` of ``jobs.max_file_bytes`` (see ``Config``)."""


@dataclass(frozen=True)
class HomeAssistantConfig:
    """MQTT discovery: Home Assistant finds the bridge, the boxes and the printers by itself."""

    enabled: bool = True
    """Publish Home Assistant discovery for the bridge, the boxes and the printers."""
    prefix: str = "homeassistant"
    """Home Assistant's discovery prefix (as set in its MQTT integration), with the rules of
    ``mqtt.base_topic``."""
    discovery: Literal["device", "entity"] = "device"
    """``device``: one discovery message per box (Home Assistant 2024.12 and later); ``entity``:
    one per entity, for older versions."""
    status_topic: str = "homeassistant/status"
    """Where Home Assistant says ``online`` when it starts; the bridge then sends discovery and
    states again. Not a ``$`` topic."""
    language: Literal["en", "zh-Hans"] = "en"
    """The language of the names Home Assistant shows for the devices and entities: ``en``
    (English) or ``zh-Hans`` (Simplified Chinese: 缺纸, 清空队列, 队列…). Entity ids are the same in
    both, so automations keep working after a switch."""


@dataclass(frozen=True)
class PollConfig:
    """How often each box is asked, in seconds (or ``90s``, ``5m``…).

    Lianke bans keys and addresses that ask too often, hence a floor for each. When the fleet
    needs more calls than ``lianke.rate_limit`` allows, the bridge stretches the intervals and
    says so (``check-config`` prints the calls per hour).
    """

    device_info: float = 60.0
    """Whether the box is online, its firmware and subscription (``device_info``)."""
    printer_list: float = 300.0
    """The printers plugged into the box (``printer_list``)."""
    printer_status: float = 60.0
    """The live state (paper, jams, ink…) of each printer that reports one (``printer_status``)."""
    tasks: float = 60.0
    """The box's tasks of the day, for its queue (``query_device_task``); five times less often
    while no job of the bridge is in flight on the box."""


@dataclass(frozen=True)
class DeviceConfig:
    """One Lianke box: ``devices`` lists at least one.

    Each box needs the credentials from its QR code, in one form: ``device_id`` + ``device_key``,
    or ``qr``.
    """

    name: str
    """The box's name in MQTT topics (``lianke/<name>/…``) and Home Assistant: lower-case letters,
    digits, ``_`` and ``-``; unique; ``bridge`` is reserved. Unset: the device id in lower case."""
    device_id: str
    """The box's id (deviceId), inside its QR code: ``lianke-bridge decode-qr LINK`` shows it."""
    device_key: str = field(repr=False)
    """The box's key (deviceKey), the other half of its QR code's token."""
    poll: PollConfig = field(default_factory=PollConfig)
    """Seconds between polls of this box, per call (below)."""
    default_port: int = 1
    """The port (the box's USB socket) a print request without ``port`` goes to."""
    printer_type: int = 3
    """Which printers the box lists: ``1`` USB, ``2`` network, ``3`` both."""
    print_defaults: Mapping[int, PrintOptions] = field(default_factory=dict)
    """Per port number, print options applied unless a request gives its own (below)."""


@dataclass(frozen=True)
class JobsConfig:
    """Print jobs: what a request may carry, and following each job to its end."""

    poll_interval: float = 10.0
    """Seconds between status checks of a job in flight; the Lianke reference advises 10."""
    push_poll_interval: float = 60.0
    """Seconds between status checks of a job in flight while the cloud's pushes arrive
    (``lianke.callback_url`` set): the push tells the job's end, these checks are the fallback.
    When a job ends without its push, jobs are checked every ``poll_interval`` again until the
    next push arrives."""
    retention: float = 24 * 3600.0
    """How long a finished job's retained topic stays before the bridge clears it."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """The largest document a print request may carry (MB = MiB). The request itself may be a
    third larger (base64) plus 64 KiB."""
    allowed_hosts: tuple[str, ...] = ()
    """Hosts that print and page-count links may point to; a name allows the names below it
    (``example.com`` allows ``docs.example.com``), others are refused before the cloud sees them.
    Empty: any host. International names are compared in their ``xn--`` form. Links that parsers
    read differently (a backslash, ``user@``, ``%`` in the host, addresses like ``127.1``) are
    refused whatever this says."""


@dataclass(frozen=True)
class LoggingConfig:
    """What the bridge logs, and how."""

    level: str = "INFO"
    """The lowest level of messages logged, in any case; ``--log-level`` on the command line
    wins."""
    format: Literal["text", "json"] = "text"
    """``text``, or ``json``: one JSON object per line, for log collectors."""


@dataclass(frozen=True)
class HttpConfig:
    """An optional HTTP endpoint: health on ``/healthz``, metrics on ``/metrics``, pushes.

    Prometheus scrapes ``/metrics``; the cloud's pushes come when ``lianke.callback_url`` ends in
    ``{token}``.
    """

    enabled: bool = False
    """Serve ``/healthz`` and ``/metrics``. While off, the bridge does not even load the HTTP
    server or prometheus_client (about 3.5 MiB less)."""
    host: str = "127.0.0.1"
    """The address to listen on: loopback by default; ``0.0.0.0`` to be reached from other
    machines or from outside a Docker container (then publish the port)."""
    port: int = 9108
    """The TCP port (``0``: any free one, which the log names). A port already taken is logged as
    an error and the bridge goes on without the endpoint."""
    callback_path: str | None = None
    """The path the cloud's pushes are served on, before the token (``/lianke`` serves
    ``/lianke/<token>``), when ``lianke.callback_url`` has ``{token}``. Unset: the path of
    ``lianke.callback_url``; set it when your reverse proxy changes the path on the way."""


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
    """The folder where the bridge remembers what it published, the jobs it follows, the requests
    it answered (10 minutes, to spot duplicates) and prints on their way to the cloud, across
    restarts and power loss: one SQLite file. Created if missing, private to the bridge (0700)."""
    shard: Shard = field(default_factory=Shard)
    """``INDEX/COUNT``: this instance polls and answers only the boxes whose device id hashes to
    ``INDEX``; ``auto/COUNT`` takes it from the host name's last ``-<number>`` (a StatefulSet's
    ``lianke-bridge-2`` is 2). ``run --shard I/N`` wins."""

    @property
    def push_mode(self) -> Literal["off", "http", "relay"]:
        """Where prints ask the cloud to push their results (``records/push.py``'s ``Mode``)."""
        url = self.lianke.callback_url
        if url is None:
            return "off"
        return "http" if url.endswith(TOKEN_PLACEHOLDER) else "relay"

    @property
    def push_path(self) -> str | None:
        """The path the bridge serves pushes on, before ``/<token>``; None: it serves none."""
        if self.push_mode != "http":
            return None
        if self.http.callback_path is not None:
            return self.http.callback_path
        return callback_path_of(str(self.lianke.callback_url))

    def push_url(self, token: str) -> str | None:
        """The ``callbackUrl`` sent with every print: ``{token}`` made the bridge's token."""
        url = self.lianke.callback_url
        if url is None:
            return None
        if self.push_mode != "http":
            return url
        return url.removesuffix(TOKEN_PLACEHOLDER) + "/" + token

    @property
    def max_packet_size(self) -> int:
        """The largest MQTT packet the bridge takes: ``mqtt.max_packet_size`` or its default."""
        if self.mqtt.max_packet_size is not None:
            return self.mqtt.max_packet_size
        return default_packet_size(self.jobs.max_file_bytes)


# ---- limits and names ------------------------------------------------------------------------
TOKEN_PLACEHOLDER = "/{token}"  # noqa: S105 - a placeholder, not a secret
"""Ends a ``lianke.callback_url`` the bridge's own endpoint receives: its token goes there."""


def callback_path_of(url: str) -> str:
    """The path of a ``{token}`` callback URL before its token (``""`` for the site's root)."""
    without = url.removesuffix(TOKEN_PLACEHOLDER)
    rest = without.split("://", 1)[-1]
    slash = rest.find("/")
    return "" if slash < 0 else rest[slash:].rstrip("/")


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
