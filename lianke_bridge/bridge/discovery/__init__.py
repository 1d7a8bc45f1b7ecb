"""Home Assistant MQTT discovery, built from the bridge's model; published by ``announcer.py``.

:mod:`.model` (context, messages, :class:`HaDevice` / :class:`HaEntity` / :class:`HaTrigger`,
node ids), :mod:`.entities` and :mod:`.printers` (the declarative lists: which entities the
bridge, a box and a printer have, over the Jinja of :mod:`.templates`), :mod:`.triggers` (their
device triggers), :mod:`.names` (the names, per language), :mod:`.render` (the model as
messages, in either discovery mode) and :mod:`.plan` (what to publish, migrate, hand over and
clear, given what was published before) are pure: no I/O. :mod:`.announcer` publishes what they
return and remembers it in the store (it is not handed on here: the service imports it). This
face hands the pure names on so callers import ``discovery`` alone.
"""

from lianke_bridge.bridge.discovery.entities import JOB_EVENT_TYPES, box_device, bridge_device
from lianke_bridge.bridge.discovery.model import (
    DEFAULT_BASE_TOPIC,
    ID_PATTERN,
    MANUFACTURER,
    OFFLINE,
    ONLINE,
    ORIGIN_NAME,
    PRESS,
    TEXT_MAX,
    DiscoveryContext,
    DiscoveryMessage,
    HaDevice,
    HaEntity,
    Mode,
    Platform,
    box_node_id,
    bridge_node_id,
    entity_slug,
    printer_node_id,
)
from lianke_bridge.bridge.discovery.plan import (
    HANDOVER_KEY,
    MIGRATE_PAYLOAD,
    DiscoveryPlan,
    discovery_topics,
    is_printer_of,
    node_of,
    plan_discovery,
    published_index,
    read_topics,
    removal_messages,
)
from lianke_bridge.bridge.discovery.printers import (
    PROBLEM_SENSORS,
    RIBBON_KINDS,
    ink_keys,
    printer_device,
    printer_display_name,
)
from lianke_bridge.bridge.discovery.render import (
    box_discovery,
    bridge_discovery,
    component_config,
    device_topic,
    entity_topic,
    full_discovery,
    origin,
    printer_discovery,
    render_device,
)
from lianke_bridge.bridge.discovery.templates import (
    EXPIRE_DATE_TEMPLATE,
    LAST_JOB_TEMPLATE,
    NOTIFY_TEMPLATE,
    jinja_string,
)

__all__ = [
    "DEFAULT_BASE_TOPIC",
    "EXPIRE_DATE_TEMPLATE",
    "HANDOVER_KEY",
    "ID_PATTERN",
    "JOB_EVENT_TYPES",
    "LAST_JOB_TEMPLATE",
    "MANUFACTURER",
    "MIGRATE_PAYLOAD",
    "NOTIFY_TEMPLATE",
    "OFFLINE",
    "ONLINE",
    "ORIGIN_NAME",
    "PRESS",
    "PROBLEM_SENSORS",
    "RIBBON_KINDS",
    "TEXT_MAX",
    "DiscoveryContext",
    "DiscoveryMessage",
    "DiscoveryPlan",
    "HaDevice",
    "HaEntity",
    "Mode",
    "Platform",
    "box_device",
    "box_discovery",
    "box_node_id",
    "bridge_device",
    "bridge_discovery",
    "bridge_node_id",
    "component_config",
    "device_topic",
    "discovery_topics",
    "entity_slug",
    "entity_topic",
    "full_discovery",
    "ink_keys",
    "is_printer_of",
    "jinja_string",
    "node_of",
    "origin",
    "plan_discovery",
    "printer_device",
    "printer_discovery",
    "printer_display_name",
    "printer_node_id",
    "published_index",
    "read_topics",
    "removal_messages",
    "render_device",
]
