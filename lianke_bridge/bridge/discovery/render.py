"""Discovery messages from the model: one config per device, or one per entity. Pure.

Either one device-based config per device (``<prefix>/device/<node>/config`` with
``components``, Home Assistant 2024.12+) or one config per entity and per device trigger
(``<prefix>/<platform>/<node>/<key>/config``, older installations).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lianke_bridge import PROJECT_URL
from lianke_bridge.bridge.discovery.entities import box_device, bridge_device
from lianke_bridge.bridge.discovery.model import (
    OFFLINE,
    ONLINE,
    ORIGIN_NAME,
    TRIGGER_PLATFORM,
    DiscoveryContext,
    DiscoveryMessage,
    HaDevice,
    HaEntity,
    HaTrigger,
)
from lianke_bridge.bridge.discovery.printers import printer_device
from lianke_bridge.bridge.records.state import BoxState, PrinterState
from lianke_bridge.config import DeviceConfig


def origin(ctx: DiscoveryContext) -> dict[str, Any]:
    """The ``origin`` block: who published this config."""
    return {"name": ORIGIN_NAME, "sw_version": ctx.sw_version, "support_url": PROJECT_URL}


def component_config(device: HaDevice, entity: HaEntity) -> dict[str, Any]:
    """An entity's options shared by both modes (no platform, device or origin)."""
    object_id = f"{device.entity_prefix}_{entity.key}"
    config: dict[str, Any] = {
        "name": entity.name,
        "unique_id": f"{device.node_id}_{entity.key}",
        "default_entity_id": f"{entity.platform}.{object_id}",
        # Home Assistant before 2025.10 knows only object_id; later ones prefer
        # default_entity_id without a warning, and from 2026.4 drop object_id unread.
        "object_id": object_id,
    }
    if entity.availability:
        config["availability"] = [
            {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
            for topic in entity.availability
        ]
        config["availability_mode"] = "all"
    config.update(entity.options)
    return config


def trigger_config(trigger: HaTrigger) -> dict[str, Any]:
    """A device trigger's options shared by both modes (no platform, device or origin)."""
    return {
        "automation_type": "trigger",
        "type": trigger.type,
        "subtype": trigger.subtype,
        "topic": trigger.topic,
        "value_template": trigger.value_template,
        "payload": trigger.payload,
    }


def device_topic(ctx: DiscoveryContext, node_id: str) -> str:
    """``<prefix>/device/<node>/config``."""
    return f"{ctx.prefix}/device/{node_id}/config"


def entity_topic(ctx: DiscoveryContext, platform: str, node_id: str, key: str) -> str:
    """``<prefix>/<platform>/<node>/<key>/config``."""
    return f"{ctx.prefix}/{platform}/{node_id}/{key}/config"


def render_device(ctx: DiscoveryContext, device: HaDevice) -> list[DiscoveryMessage]:
    """A device's discovery messages in the context's mode."""
    configs: list[tuple[str, str, dict[str, Any]]] = [
        (entity.platform, entity.key, component_config(device, entity))
        for entity in device.entities
    ]
    configs += [(TRIGGER_PLATFORM, t.key, trigger_config(t)) for t in device.triggers]
    if ctx.mode == "device":
        components = {key: {"platform": platform, **config} for platform, key, config in configs}
        payload = {"device": dict(device.info), "origin": origin(ctx), "components": components}
        return [DiscoveryMessage(device_topic(ctx, device.node_id), payload)]
    return [
        DiscoveryMessage(
            entity_topic(ctx, platform, device.node_id, key),
            {**config, "device": dict(device.info), "origin": origin(ctx)},
        )
        for platform, key, config in configs
    ]


def bridge_discovery(ctx: DiscoveryContext) -> list[DiscoveryMessage]:
    """Discovery for the bridge device."""
    return render_device(ctx, bridge_device(ctx))


def box_discovery(
    ctx: DiscoveryContext, device: DeviceConfig, box: BoxState
) -> list[DiscoveryMessage]:
    """Discovery for one box (its printers are separate devices)."""
    return render_device(ctx, box_device(ctx, device, box))


def printer_discovery(
    ctx: DiscoveryContext, device: DeviceConfig, printer: PrinterState
) -> list[DiscoveryMessage]:
    """Discovery for one printer of a box."""
    return render_device(ctx, printer_device(ctx, device, printer))


def full_discovery(
    ctx: DiscoveryContext,
    boxes: Iterable[tuple[DeviceConfig, BoxState, Iterable[PrinterState]]],
) -> list[DiscoveryMessage]:
    """Everything: the bridge, then each box followed by its printers."""
    messages = bridge_discovery(ctx)
    for device, box, printers in boxes:
        messages.extend(box_discovery(ctx, device, box))
        for printer in sorted(printers, key=lambda p: p.port):
            messages.extend(printer_discovery(ctx, device, printer))
    return messages
