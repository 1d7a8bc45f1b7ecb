"""What to publish, migrate and clear, given what was published before. Pure.

The service persists :func:`published_index` and gives it back to :func:`plan_discovery` after a
restart, so what vanished (a box, a printer, an ink cartridge) is removed from Home Assistant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lianke_bridge.bridge.discovery.model import DiscoveryContext, DiscoveryMessage, box_node_id

MIGRATE_PAYLOAD: dict[str, Any] = {"migrate_discovery": True}


def discovery_topics(messages: Iterable[DiscoveryMessage]) -> set[str]:
    """The config topics these messages fill (what to remember as published)."""
    return {m.topic for m in messages if m.payload is not None and m.retain}


def removal_messages(topics: Iterable[str]) -> list[DiscoveryMessage]:
    """Empty retained payloads: Home Assistant removes what these topics configured."""
    return [DiscoveryMessage(topic, None) for topic in sorted(set(topics))]


def published_index(messages: Iterable[DiscoveryMessage]) -> dict[str, list[str]]:
    """Topic -> its component keys (``platform/key``; empty for per-entity topics).

    JSON-friendly: persist it, and give it back to :func:`plan_discovery` after a restart so
    components that vanished from a device config (an ink cartridge, say) are removed too.
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
        index[message.topic] = refs
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
    """What to send, in order: ``migrate``, then ``publish``, then ``clear``.

    ``migrate`` (not retained) hands entities over when the discovery mode changed, keeping
    their registry entries (names, areas); Home Assistant wants the new configs next and the
    old topics cleared after that. Leave a second or so after ``migrate`` before ``publish``.
    """

    migrate: tuple[DiscoveryMessage, ...]
    publish: tuple[DiscoveryMessage, ...]
    clear: tuple[DiscoveryMessage, ...]
    published: dict[str, list[str]]
    """The index to persist once the plan went out."""

    def messages(self) -> list[DiscoveryMessage]:
        """Every message in order."""
        return [*self.migrate, *self.publish, *self.clear]


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
    wanted_topics = {m.topic for m in wanted}
    device_keys: dict[str, set[str]] = {}
    entity_nodes: set[str] = set()
    for message in wanted:
        parsed = _parse_topic(ctx.prefix, message.topic)
        if parsed is None or message.payload is None:
            continue
        if parsed.key is None:
            device_keys[parsed.node_id] = set(message.payload.get("components", {}))
        else:
            entity_nodes.add(parsed.node_id)

    migrate: list[DiscoveryMessage] = []
    clear: list[DiscoveryMessage] = []
    for topic in sorted(set(before) - wanted_topics):
        parsed = _parse_topic(ctx.prefix, topic)
        moved = parsed is not None and (
            (parsed.key is None and parsed.node_id in entity_nodes)
            or (parsed.key is not None and parsed.key in device_keys.get(parsed.node_id, ()))
        )
        if moved:
            migrate.append(DiscoveryMessage(topic, dict(MIGRATE_PAYLOAD), retain=False))
        clear.append(DiscoveryMessage(topic, None))

    publish = [_with_removed_components(m, before.get(m.topic, [])) for m in wanted]
    published = {**kept, **published_index(wanted)}
    return DiscoveryPlan(tuple(migrate), tuple(publish), tuple(clear), published)


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
