"""What to publish, migrate and clear, given what was published before. Pure.

The service persists :func:`published_index` and gives it back to :func:`plan_discovery` after a
restart, so what vanished (a box, a printer, an ink cartridge) is removed from Home Assistant.

A switch of discovery mode keeps every entity's discovery id (``<node> <key>``: the same in a
device config's component and in a per-entity topic), so Home Assistant only accepts the hand
over in this order: ``{"migrate_discovery": true}`` on the old topic (it unloads the entities and
keeps their registry entries), then the old topic cleared while nothing owns its ids, then the
new configs. Cleared after the new configs, the old topic would reach the entities that now own
those ids from the new topic: Home Assistant logs a "conflicting MQTT discovery message" for
each. Home Assistant also warns about a cleared device config that holds no component any more,
so before clearing one, a placeholder device trigger is announced in it, for the clear to remove.

Device triggers are removed, never migrated: they have no registry entry to keep (automations
know them by device, type and subtype, and the device stays, held by its entities), and Home
Assistant 2025.4 keeps a migrated trigger waiting for its device's removal. When the printer
was unplugged or the box removed later, each such trigger logged "Unable to remove unknown
dispatcher" and cleared its old topic again ("No device components to cleanup" on a device
topic). So a device config's triggers are removed (``{"platform": "device_automation"}``) before
its migrate, and a per-entity trigger's topic is only cleared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lianke_bridge.bridge.discovery.model import (
    TRIGGER_PLATFORM,
    DiscoveryContext,
    DiscoveryMessage,
    box_node_id,
)

MIGRATE_PAYLOAD: dict[str, Any] = {"migrate_discovery": True}
HANDOVER_KEY = "discovery_handover"
"""The placeholder component a device config holds for the moment before it is cleared."""
DIGEST = "digest:"
"""Marks the entry of a published index that fingerprints the config (not a component)."""


def discovery_topics(messages: Iterable[DiscoveryMessage]) -> set[str]:
    """The config topics these messages fill (what to remember as published)."""
    return {m.topic for m in messages if m.payload is not None and m.retain}


def removal_messages(topics: Iterable[str]) -> list[DiscoveryMessage]:
    """Empty retained payloads: Home Assistant removes what these topics configured."""
    return [DiscoveryMessage(topic, None) for topic in sorted(set(topics))]


def config_digest(message: DiscoveryMessage) -> str:
    """``digest:<hex>``: a fingerprint of a config, to tell a changed one after a restart."""
    return DIGEST + hashlib.blake2b(message.encode(), digest_size=8).hexdigest()


def read_topics(messages: Iterable[DiscoveryMessage]) -> set[str]:
    """The topics the configured entities read: states, attributes, availability."""
    topics: set[str] = set()
    for message in messages:
        payload = message.payload or {}
        components = payload.get("components")
        configs = components.values() if isinstance(components, dict) else [payload]
        for config in configs:
            topics.update(
                config[key] for key in ("state_topic", "json_attributes_topic") if key in config
            )
            topics.update(a["topic"] for a in config.get("availability", ()))
    return topics


def published_index(messages: Iterable[DiscoveryMessage]) -> dict[str, list[str]]:
    """Topic -> its component keys (``platform/key``; none for per-entity topics) and digest.

    JSON-friendly: persist it, and give it back to :func:`plan_discovery` after a restart so
    components that vanished from a device config (an ink cartridge, say) are removed too, and
    configs that changed meanwhile are known (``DiscoveryPlan.updated``).
    """
    index: dict[str, list[str]] = {}
    for message in messages:
        if message.payload is None or not message.retain:
            continue
        components = message.payload.get("components")
        refs: list[str] = []
        if isinstance(components, dict):
            refs = sorted(
                f"{config['platform']}/{key}"
                for key, config in components.items()
                if len(config) > 1  # a bare {"platform": ...} is a removal, not a component
            )
        index[message.topic] = [*refs, config_digest(message)]
    return index


@dataclass(frozen=True)
class _ConfigTopic:
    platform: str
    node_id: str
    key: str | None


def _parse_topic(prefix: str, topic: str) -> _ConfigTopic | None:
    head = f"{prefix}/"
    if not topic.startswith(head) or not topic.endswith("/config"):
        return None
    parts = topic[len(head) : -len("/config")].split("/")
    if len(parts) == 2 and parts[0] == "device":  # noqa: PLR2004
        return _ConfigTopic("device", parts[1], None)
    if len(parts) == 3:  # noqa: PLR2004
        return _ConfigTopic(parts[0], parts[1], parts[2])
    return None


def node_of(prefix: str, topic: str) -> str | None:
    """The node id a discovery config topic belongs to (None: not a config topic)."""
    parsed = _parse_topic(prefix, topic)
    return None if parsed is None else parsed.node_id


@dataclass(frozen=True)
class DiscoveryPlan:
    """What to send, in order: ``migrate``, ``handover``, ``publish``, then ``clear``.

    ``migrate`` (not retained) hands entities over when the discovery mode changed, keeping
    their registry entries (names, areas), after removing the device triggers of a device
    config; ``handover`` clears the old topics (a device config first gets a placeholder, not
    retained, for the clear to remove) before ``publish`` sends the new configs. Leave a second
    or so after ``migrate``. ``clear`` removes what is gone.
    """

    migrate: tuple[DiscoveryMessage, ...]
    publish: tuple[DiscoveryMessage, ...]
    clear: tuple[DiscoveryMessage, ...]
    published: dict[str, list[str]]
    """The index to persist once the plan went out."""
    handover: tuple[DiscoveryMessage, ...] = ()
    updated: tuple[DiscoveryMessage, ...] = ()
    """Configs in ``publish`` that changed since they were published (a language, a firmware).

    Home Assistant takes an entity with ``expire_after`` as expired when its config changes,
    until its next state message: the states these read (:func:`read_topics`) are to be sent
    again once Home Assistant has taken the configs in.
    """

    def messages(self) -> list[DiscoveryMessage]:
        """Every message in order."""
        return [*self.migrate, *self.handover, *self.publish, *self.clear]


def is_printer_of(node_id: str, device_id: str) -> bool:
    """Whether a node id is one of a box's printers (``lianke_<device_id>_p<port>``)."""
    head = f"{box_node_id(device_id)}_p"
    return node_id.startswith(head) and node_id[len(head) :].isdigit()


def plan_discovery(
    ctx: DiscoveryContext,
    previous: Mapping[str, Sequence[str]] | Iterable[str],
    wanted: Sequence[DiscoveryMessage],
    *,
    unknown_printers: Iterable[str] = (),
    unknown_boxes: Iterable[str] = (),
    elsewhere: Iterable[str] = (),
) -> DiscoveryPlan:
    """Compare what was published before (index or bare topics) with what is wanted now.

    ``unknown_printers`` names boxes (device ids) whose printer list has not been read yet, at
    start-up or while the box is offline: their printers published before are left alone
    (neither cleared nor forgotten), since clearing makes Home Assistant delete the entities
    with their names, areas and history. The next plan, once the list is known, decides.
    ``unknown_boxes`` likewise names boxes not announced yet (no device_info answer so far):
    their own configs published before are kept, like their printers'.
    ``elsewhere`` names boxes (device ids) another instance of a scaled-out bridge owns now
    (after a change of the shard count): what this instance published for them before is
    forgotten, never cleared, since their owner publishes the same topics.
    """
    before: dict[str, list[str]] = (
        {topic: list(refs) for topic, refs in previous.items()}
        if isinstance(previous, Mapping)
        else {topic: [] for topic in previous}
    )
    pending = (*unknown_printers, *unknown_boxes)
    unannounced = {box_node_id(box) for box in unknown_boxes}
    foreign = tuple(elsewhere)
    kept: dict[str, list[str]] = {}
    for topic in set(before) - {m.topic for m in wanted}:
        parsed = _parse_topic(ctx.prefix, topic)
        if parsed is not None and any(
            parsed.node_id == box_node_id(box) or is_printer_of(parsed.node_id, box)
            for box in foreign
        ):
            del before[topic]
            continue
        if parsed is not None and (
            parsed.node_id in unannounced
            or any(is_printer_of(parsed.node_id, box) for box in pending)
        ):
            kept[topic] = before.pop(topic)
    migrate, handover, clear = _hand_over(ctx, before, _Wanted.of(ctx, wanted))

    publish = [_with_removed_components(m, before.get(m.topic, [])) for m in wanted]
    published = {**kept, **published_index(wanted)}
    updated = [
        m
        for m in wanted
        if m.payload is not None and m.topic in before and config_digest(m) not in before[m.topic]
    ]
    return DiscoveryPlan(
        tuple(migrate),
        tuple(publish),
        tuple(clear),
        published,
        handover=tuple(handover),
        updated=tuple(updated),
    )


@dataclass(frozen=True)
class _Wanted:
    """What the wanted configs tell of each node, for handing its old topics over."""

    topics: set[str]
    device_keys: dict[str, set[str]]
    """Node -> the component keys of its device config."""
    entity_nodes: dict[str, Mapping[str, Any]]
    """Node -> one of its per-entity configs (its device and origin blocks)."""
    triggers: dict[str, set[str]]
    """Node -> the keys of its device triggers, in either mode."""

    @classmethod
    def of(cls, ctx: DiscoveryContext, wanted: Sequence[DiscoveryMessage]) -> _Wanted:
        found = cls({m.topic for m in wanted}, {}, {}, {})
        for message in wanted:
            parsed = _parse_topic(ctx.prefix, message.topic)
            if parsed is None or message.payload is None:
                continue
            triggers = found.triggers.setdefault(parsed.node_id, set())
            if parsed.key is None:
                components = message.payload.get("components", {})
                found.device_keys[parsed.node_id] = set(components)
                triggers.update(
                    k for k, c in components.items() if c.get("platform") == TRIGGER_PLATFORM
                )
            else:
                found.entity_nodes.setdefault(parsed.node_id, message.payload)
                if parsed.platform == TRIGGER_PLATFORM:
                    triggers.add(parsed.key)
        return found


def _hand_over(
    ctx: DiscoveryContext, before: Mapping[str, Sequence[str]], wanted: _Wanted
) -> tuple[list[DiscoveryMessage], list[DiscoveryMessage], list[DiscoveryMessage]]:
    """``migrate``, ``handover`` and ``clear`` for the topics published before, not wanted now."""
    migrate: list[DiscoveryMessage] = []
    handover: list[DiscoveryMessage] = []
    clear: list[DiscoveryMessage] = []
    for topic in sorted(set(before) - wanted.topics):
        parsed = _parse_topic(ctx.prefix, topic)
        if parsed is not None and parsed.key is None and parsed.node_id in wanted.entity_nodes:
            sample = wanted.entity_nodes[parsed.node_id]
            gone = wanted.triggers.get(parsed.node_id, set()) | {
                key
                for platform, _, key in (ref.partition("/") for ref in before[topic])
                if platform == TRIGGER_PLATFORM
            }
            if gone:  # removed, not migrated: see the module's docstring
                removal = {key: {"platform": TRIGGER_PLATFORM} for key in sorted(gone)}
                migrate.append(_device_config(topic, sample, removal))
            migrate.append(DiscoveryMessage(topic, dict(MIGRATE_PAYLOAD), retain=False))
            handover.append(_device_config(topic, sample, {HANDOVER_KEY: _placeholder(ctx)}))
            handover.append(DiscoveryMessage(topic, None))
        elif parsed is not None and parsed.key in wanted.device_keys.get(parsed.node_id, ()):
            if parsed.platform != TRIGGER_PLATFORM:
                migrate.append(DiscoveryMessage(topic, dict(MIGRATE_PAYLOAD), retain=False))
            handover.append(DiscoveryMessage(topic, None))
        else:
            clear.append(DiscoveryMessage(topic, None))
    return migrate, handover, clear


def _placeholder(ctx: DiscoveryContext) -> dict[str, Any]:
    """A device trigger nothing fires: what a device config holds for its clear to remove."""
    return {
        "platform": TRIGGER_PLATFORM,
        "automation_type": "trigger",
        "type": "bridge",
        "subtype": HANDOVER_KEY,
        "topic": f"{ctx.base_topic}/bridge/{HANDOVER_KEY}",
        "payload": HANDOVER_KEY,
    }


def _device_config(
    topic: str, sample: Mapping[str, Any], components: Mapping[str, Any]
) -> DiscoveryMessage:
    """A device config of these components only, not retained: a step of a hand over.

    It only has to reach Home Assistant before the next step (the migrate, the clear). The
    device block is the device's own (``sample`` is one of its new per-entity configs).
    """
    payload = {
        "device": sample.get("device", {}),
        "origin": sample.get("origin", {}),
        "components": dict(components),
    }
    return DiscoveryMessage(topic, payload, retain=False)


def _with_removed_components(message: DiscoveryMessage, refs: Sequence[str]) -> DiscoveryMessage:
    """Add ``{"platform": p}`` for components published before but gone now (HA removes them)."""
    if message.payload is None or not refs:
        return message
    components = message.payload.get("components")
    if not isinstance(components, dict):
        return message
    removed: dict[str, dict[str, str]] = {}
    for ref in refs:
        platform, _, key = ref.partition("/")
        if key and key not in components:
            removed[key] = {"platform": platform}
    if not removed:
        return message
    payload = {**message.payload, "components": {**components, **removed}}
    return DiscoveryMessage(message.topic, payload, message.retain)
