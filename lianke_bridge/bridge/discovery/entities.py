"""The declarative lists of Home Assistant entities: the bridge and each box. Pure.

Each function describes one device of the model (:mod:`.model`) from the configuration and the
state the bridge holds; what an entity shows is a Jinja template (``templates.py``) over the
contract's JSON topics. A printer's entities are ``printers.py``'s.
"""

from __future__ import annotations

from lianke_bridge.bridge.discovery import names
from lianke_bridge.bridge.discovery.model import (
    DEFAULT_BASE_TOPIC,
    MANUFACTURER,
    OFFLINE,
    ONLINE,
    ORIGIN_NAME,
    TEXT_MAX,
    DiscoveryContext,
    HaDevice,
    HaEntity,
    availability_topics,
    binary_sensor,
    box_node_id,
    bridge_node_id,
    button,
    clean,
    entity_slug,
    sensor,
)
from lianke_bridge.bridge.discovery.templates import (
    EXPIRE_DATE_TEMPLATE,
    LAST_JOB_TEMPLATE,
    NOTIFY_TEMPLATE,
    field_value,
    json_field,
    on_off,
    pick,
)
from lianke_bridge.bridge.discovery.triggers import box_triggers
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.state import BoxState
from lianke_bridge.cloud import codes
from lianke_bridge.config import DeviceConfig

JOB_EVENT_TYPES = ("succeeded", "failed", "cancelled")


def bridge_device(ctx: DiscoveryContext) -> HaDevice:
    """The bridge itself: its connection, version, cloud API health and a republish button."""
    topics = ctx.topics
    node = bridge_node_id(ctx.base_topic, ctx.instance)
    bridge_only = availability_topics(ctx, None)
    lang = ctx.language
    name = names.name(lang, "bridge_device")
    if ctx.instance:
        name = f"{name} {ctx.instance}"
    if ctx.base_topic != DEFAULT_BASE_TOPIC:
        name = f"{name} ({ctx.base_topic})"
    entities = (
        # No availability: when the bridge is gone this shows "Disconnected", not "Unavailable".
        binary_sensor(
            "connection_state",
            names.name(lang, "connection_state"),
            (),
            topics.bridge_state,
            payload_on=ONLINE,
            payload_off=OFFLINE,
            device_class="connectivity",
            entity_category="diagnostic",
        ),
        sensor(
            "version",
            names.name(lang, "version"),
            bridge_only,
            topics.bridge_info,
            field_value("version"),
            entity_category="diagnostic",
            icon="mdi:tag-outline",
        ),
        binary_sensor(
            "api_problem",
            names.name(lang, "api_problem"),
            bridge_only,
            topics.bridge_health,
            on_off(json_field("api_problem")),
            device_class="problem",
            entity_category="diagnostic",
            json_attributes_topic=topics.bridge_health,
            json_attributes_template="{{ (value_json.get('api') or {}) | to_json }}",
        ),
        button(
            "republish",
            names.name(lang, "republish"),
            bridge_only,
            topics.bridge_request("republish"),
            entity_category="diagnostic",
            icon="mdi:broadcast",
        ),
    )
    info = {
        "identifiers": [node],
        "name": name,
        "manufacturer": ORIGIN_NAME,
        "model": names.name(lang, "bridge_model"),
        "sw_version": ctx.sw_version,
    }
    return HaDevice(node, entity_slug(node), info, entities)


def box_device(ctx: DiscoveryContext, device: DeviceConfig, box: BoxState) -> HaDevice:
    """One Lianke box: connection, queue, jobs, printing from HA, commands and diagnostics."""
    topics = ctx.topics
    dev = device.name
    bridge_only = availability_topics(ctx, None)
    with_box = availability_topics(ctx, dev)
    state = topics.state(dev)
    lang = ctx.language
    entities = (
        binary_sensor(
            "connectivity",
            names.name(lang, "connectivity"),
            bridge_only,
            topics.availability(dev),
            payload_on=ONLINE,
            payload_off=OFFLINE,
            device_class="connectivity",
            expire_after=ctx.expire_after(freshness.availability_period(device.poll)),
            json_attributes_topic=state,
            json_attributes_template=pick(("online_state", "error", "last_update")),
        ),
        # The cloud not answering for the box (or refusing): unknown is not "Connected".
        binary_sensor(
            "cloud_error",
            names.name(lang, "cloud_error"),
            bridge_only,
            state,
            on_off(f"{json_field('error')} is not none"),
            device_class="problem",
            json_attributes_topic=state,
            json_attributes_template="{{ (value_json.get('error') or {}) | to_json }}",
        ),
        sensor(
            "queue",
            names.name(lang, "queue"),
            with_box,
            topics.queue(dev),
            state_class="measurement",
            unit_of_measurement="jobs",
            expire_after=ctx.expire_after(freshness.queue_period(device.poll)),
            icon="mdi:tray-full",
        ),
        sensor(
            "last_job",
            names.name(lang, "last_job"),
            bridge_only,
            topics.last_job(dev),
            LAST_JOB_TEMPLATE,
            device_class="enum",
            options=[str(s) for s in codes.JobState],
            json_attributes_topic=topics.last_job(dev),
            icon="mdi:file-document-check-outline",
        ),
        HaEntity(
            "event",
            "job",
            names.name(lang, "job"),
            bridge_only,
            {
                "state_topic": topics.job_event(dev),
                "event_types": list(JOB_EVENT_TYPES),
                "icon": "mdi:printer-check",
            },
        ),
        HaEntity(
            "text",
            "print_url",
            names.name(lang, "print_url"),
            with_box,
            {
                "command_topic": topics.request(dev, "print"),
                "state_topic": topics.print_url_state(dev),
                "min": 0,
                "max": TEXT_MAX,
                "mode": "text",
                "pattern": r"^(https?://\S+)?$",
                "icon": "mdi:link-variant",
            },
        ),
        HaEntity(
            "notify",
            "print",
            names.name(lang, "print"),
            with_box,
            {
                "command_topic": topics.request(dev, "print"),
                "command_template": NOTIFY_TEMPLATE,
                "icon": "mdi:printer",
            },
        ),
        button(
            "reboot",
            names.name(lang, "reboot"),
            with_box,
            topics.request(dev, "reboot"),
            device_class="restart",
            entity_category="config",
        ),
        button(
            "flush_queue",
            names.name(lang, "flush_queue"),
            with_box,
            topics.request(dev, "flush"),
            icon="mdi:tray-remove",
        ),
        # Refresh stays usable while the box is offline: it is how one learns it is back.
        button(
            "refresh",
            names.name(lang, "refresh"),
            bridge_only,
            topics.request(dev, "refresh"),
            entity_category="diagnostic",
            icon="mdi:refresh",
        ),
        button(
            "rescan_printers",
            names.name(lang, "rescan_printers"),
            with_box,
            topics.request(dev, "refresh_network_printers"),
            entity_category="diagnostic",
            icon="mdi:printer-search",
        ),
        sensor(
            "firmware",
            names.name(lang, "firmware"),
            bridge_only,
            state,
            field_value("firmware"),
            entity_category="diagnostic",
            icon="mdi:chip",
        ),
        sensor(
            "ip_address",
            names.name(lang, "ip_address"),
            bridge_only,
            state,
            field_value("ip"),
            entity_category="diagnostic",
            icon="mdi:ip-network",
        ),
        sensor(
            "expire_date",
            names.name(lang, "expire_date"),
            bridge_only,
            state,
            EXPIRE_DATE_TEMPLATE,
            device_class="date",
            entity_category="diagnostic",
        ),
        binary_sensor(
            "subscription_expired",
            names.name(lang, "subscription_expired"),
            bridge_only,
            state,
            on_off(json_field("expired")),
            device_class="problem",
            entity_category="diagnostic",
        ),
    )
    info = clean(
        {
            "identifiers": [box_node_id(device.device_id)],
            "name": names.name(lang, "box_device", box=dev),
            "manufacturer": MANUFACTURER,
            "model": box.model or names.name(lang, "box_model"),
            "sw_version": box.firmware,
            "serial_number": device.device_id,
            "via_device": bridge_node_id(ctx.base_topic, ctx.instance),
        }
    )
    return HaDevice(
        box_node_id(device.device_id),
        f"lianke_{entity_slug(dev)}",
        info,
        entities,
        box_triggers(ctx, dev),
    )
