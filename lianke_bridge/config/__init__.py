"""Configuration: voluptuous schemas at the edge, frozen dataclasses inside.

``load_config`` reads one YAML file (with ``!secret`` and ``!env``), reads ``<key>_file``
secrets, applies the environment overrides, validates everything and raises one ``ConfigError``
listing every problem with its line. By concern: :mod:`.model` (the dataclasses and the limits
they share), :mod:`.validators` (one value each; :mod:`.mqtt_topics` the topics, :mod:`.paths`
the files and folders), :mod:`.schema` (the file, section by section),
:mod:`.checks` (across fields), :mod:`.yaml_source` (the loader), :mod:`.overrides` (``*_file``
and the environment), :mod:`.report` (problems, summary, redaction) and :mod:`.load` (the
pipeline). This face hands on what the rest of the bridge uses.
"""

from lianke_bridge.config.checks import default_client_id
from lianke_bridge.config.load import check_config, load_config, validate_config
from lianke_bridge.config.model import (
    DEFAULT_BASE_URL,
    DEFAULT_CLIENT_ID,
    DEFAULT_SESSION_EXPIRY,
    POLL_FLOORS,
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    HttpConfig,
    JobsConfig,
    LiankeConfig,
    LoggingConfig,
    MqttConfig,
    PollConfig,
    TlsConfig,
)
from lianke_bridge.config.overrides import ENV_OVERRIDES
from lianke_bridge.config.report import REDACTED, redacted, summary
from lianke_bridge.config.shard import Shard, shard_of
from lianke_bridge.config.validators import slugify

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SESSION_EXPIRY",
    "ENV_OVERRIDES",
    "POLL_FLOORS",
    "REDACTED",
    "Config",
    "DeviceConfig",
    "HomeAssistantConfig",
    "HttpConfig",
    "JobsConfig",
    "LiankeConfig",
    "LoggingConfig",
    "MqttConfig",
    "PollConfig",
    "Shard",
    "TlsConfig",
    "check_config",
    "default_client_id",
    "load_config",
    "redacted",
    "shard_of",
    "slugify",
    "summary",
    "validate_config",
]
