"""How Home Assistant's MQTT discovery takes a stream of config messages: a small model of it.

It restates the bookkeeping of ``homeassistant/components/mqtt/discovery.py`` and ``entity.py``
(2025.4) that decides what Home Assistant logs: every entity or device trigger is known by its
*discovery id* (``(platform, "<node> <key>")``: the same for a device config's component
``<key>`` on ``<prefix>/device/<node>/config`` and for ``<prefix>/<platform>/<node>/<key>/config``)
and belongs to the topic that created it.

- A config or an empty payload whose id belongs to another topic is refused with the warning
  "Received a conflicting MQTT discovery message" (the mode-switch bug of issue 18).
- An empty device config removes every component of that node; a device config that holds none
  any more logs "No device components to cleanup".
- ``{"migrate_discovery": true}`` on its own topic unloads the entity and keeps its registry entry;
  an empty payload on its own topic deletes it (names, areas and settings are lost).
- A device goes once neither an entity's registry entry nor a device trigger is left on it. A
  device trigger that was migrated (rather than removed) keeps listening for that: when its
  device goes, it unsubscribes a second time ("Unable to remove unknown dispatcher") and clears
  the topic it came from, which on a device topic holding nothing logs "No device components to
  cleanup" (issue 18).

The tests feed it the bridge's plans in order and read what Home Assistant would have logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lianke_bridge.bridge.discovery import DiscoveryMessage

Hash = tuple[str, str]
TRIGGER = "device_automation"


@dataclass
class HomeAssistantDiscovery:
    """The discovery ids Home Assistant holds, and what it logged and did."""

    prefix: str = "homeassistant"
    owner: dict[Hash, str] = field(default_factory=dict)
    """Discovery id -> the topic it was discovered on (a live entity or trigger)."""
    configs: dict[Hash, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    """Unique ids (or trigger ids) deleted from the registry, not just unloaded."""
    unloaded: list[str] = field(default_factory=list)
    registered: dict[str, set[str]] = field(default_factory=dict)
    """Node (device) -> the unique ids of its entities in the entity registry."""
    migrated_triggers: list[tuple[str, str]] = field(default_factory=list)
    """(node, old topic) of each migrated device trigger, still waiting for its device to go."""
    removed_devices: list[str] = field(default_factory=list)

    def feed(self, messages: Iterable[DiscoveryMessage]) -> None:
        """Take messages as Home Assistant receives them, in order."""
        for message in messages:
            self.receive(message.topic, message.encode())

    def receive(self, topic: str, payload: bytes) -> None:
        """One message on a discovery topic."""
        parts = topic.removeprefix(f"{self.prefix}/").removesuffix("/config").split("/")
        component, ids = parts[0], parts[1:]
        node = ids[0] if len(ids) == 2 else None
        object_id = ids[-1]
        data = json.loads(payload) if payload else None
        if component == "device":
            self._device(topic, object_id, data)
            return
        discovery_id = f"{node} {object_id}" if node else object_id
        self._component(topic, (component, discovery_id), data)

    def _device(self, topic: str, object_id: str, data: dict[str, Any] | None) -> None:
        mine = [h for h in self.owner if h[1].split(" ")[0] == object_id]
        if data is None or data == {"migrate_discovery": True}:
            if not mine:
                if data is None:
                    self.warnings.append(f"No device components to cleanup for {object_id}")
                return
            for found in mine:
                self._component(topic, found, data)
            return
        for key, config in data["components"].items():
            platform = config["platform"]
            rest = {k: v for k, v in config.items() if k != "platform"}
            self._component(topic, (platform, f"{object_id} {key}"), rest or None)

    def _component(self, topic: str, found: Hash, data: dict[str, Any] | None) -> None:
        owner = self.owner.get(found)
        node = found[1].split(" ")[0]
        if owner is None:
            if data and data != {"migrate_discovery": True}:
                self.owner[found] = topic  # a new entity (its registry entry found by unique_id)
                self.configs[found] = data
                if found[0] != TRIGGER:
                    self.registered.setdefault(node, set()).add(self._name(found))
            return
        if owner != topic:
            self.warnings.append(
                f"Received a conflicting MQTT discovery message for {found}: discovered on "
                f"{owner}, the conflicting message on {topic}"
            )
            return
        name = self._name(found)
        if data == {"migrate_discovery": True}:
            del self.owner[found]
            self.unloaded.append(name)
            if found[0] == TRIGGER:
                self.migrated_triggers.append((node, topic))
        elif data is None:
            del self.owner[found]
            self.deleted.append(name)
            self.registered.get(node, set()).discard(name)
            self._cleanup_device(node)
        else:
            self.configs[found] = data

    def _name(self, found: Hash) -> str:
        return str(self.configs[found].get("unique_id", found[1]))

    def _cleanup_device(self, node: str) -> None:
        """After a removal: the device goes if nothing is left on it (cleanup_device_registry)."""
        if self.registered.get(node) or any(
            h[0] == TRIGGER and h[1].split(" ")[0] == node for h in self.owner
        ):
            return
        self.registered.pop(node, None)
        self.removed_devices.append(node)
        haunting = [topic for n, topic in self.migrated_triggers if n == node]
        self.migrated_triggers = [(n, t) for n, t in self.migrated_triggers if n != node]
        for topic in haunting:
            self.warnings.append(f"Unable to remove unknown dispatcher (a trigger of {topic})")
            self.receive(topic, b"")  # async_remove_discovery_payload

    def unique_ids(self) -> dict[str, str]:
        """Unique id (or trigger discovery id) -> the topic that owns it now."""
        return {
            str(self.configs[h].get("unique_id", h[1])): topic for h, topic in self.owner.items()
        }
