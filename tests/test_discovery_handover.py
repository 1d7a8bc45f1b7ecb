"""Discovery plans as Home Assistant takes them: mode switches and removals. Pure.

``ha_discovery_model`` restates how Home Assistant 2025.4 keeps discovery ids; each plan the
bridge makes is fed to it in order, and the test reads what Home Assistant would log and do:
no warning, no entity deleted by a mode switch, every unique id and entity id kept.
"""

from __future__ import annotations

import pytest
from ha_discovery_model import HomeAssistantDiscovery
from test_discovery import CTX, ENTITY_CTX, INKJET, OFFICE, WAREHOUSE, fleet

from lianke_bridge.bridge.discovery import (
    DiscoveryContext,
    DiscoveryMessage,
    box_node_id,
    discovery_topics,
    node_of,
    plan_discovery,
    printer_discovery,
    published_index,
)

SWITCHES = [(CTX, ENTITY_CTX), (ENTITY_CTX, CTX)]
SWITCH_IDS = ["device-to-entity", "entity-to-device"]


def announced(ctx: DiscoveryContext) -> tuple[HomeAssistantDiscovery, list[DiscoveryMessage]]:
    """Home Assistant after the bridge's first announce of the sample fleet in ``ctx``'s mode."""
    ha = HomeAssistantDiscovery()
    wanted = fleet(ctx)
    ha.feed(plan_discovery(ctx, {}, wanted).messages())
    assert ha.warnings == []
    return ha, wanted


@pytest.mark.parametrize(("old", "new"), SWITCHES, ids=SWITCH_IDS)
def test_a_mode_switch_logs_nothing_and_keeps_every_entity(
    old: DiscoveryContext, new: DiscoveryContext
) -> None:
    """Switching either way: no warning, no entity deleted, every entity and trigger back.

    Home Assistant deletes an entity (its name, area and settings) on an empty payload from its
    own topic, and warns about one from another topic: every old topic must be cleared while
    nothing owns its discovery ids, before the new configs claim them. Device triggers (no
    registry entry, known by device, type and subtype) are removed and announced anew.
    """
    ha, before = announced(old)
    owned_before = ha.unique_ids()
    ha.feed(plan_discovery(new, published_index(before), fleet(new)).messages())
    assert ha.warnings == []
    assert all(" " in name for name in ha.deleted), "only device triggers deleted"
    owned_after = ha.unique_ids()
    assert set(owned_after) == set(owned_before)
    new_topics = discovery_topics(fleet(new))
    assert set(owned_after.values()) <= new_topics
    entities = [uid for uid in owned_before if " " not in uid]
    assert sorted(ha.unloaded) == sorted(entities), "every entity migrated, none deleted"
    assert ha.removed_devices == []


@pytest.mark.parametrize(("old", "new"), SWITCHES, ids=SWITCH_IDS)
def test_a_switch_after_a_restart_works_from_the_bare_topics(
    old: DiscoveryContext, new: DiscoveryContext
) -> None:
    """A store that remembers only topics (an older bridge's) hands over just as cleanly."""
    ha, before = announced(old)
    ha.feed(plan_discovery(new, discovery_topics(before), fleet(new)).messages())
    assert ha.warnings == []
    assert ha.migrated_triggers == [], "the triggers are known from the new configs"
    assert set(ha.unique_ids()) == set(announced(new)[0].unique_ids())


@pytest.mark.parametrize(("old", "new"), SWITCHES, ids=SWITCH_IDS)
def test_a_switch_never_clears_a_topic_after_the_new_mode_claimed_its_ids(
    old: DiscoveryContext, new: DiscoveryContext
) -> None:
    """Every clear of an old topic comes before the new configs in the plan's order."""
    before = fleet(old)
    plan = plan_discovery(new, published_index(before), fleet(new))
    order = plan.messages()
    old_topics = discovery_topics(before)
    clears = [i for i, m in enumerate(order) if m.payload is None and m.topic in old_topics]
    configs = [i for i, m in enumerate(order) if m.retain and m.payload is not None]
    assert clears
    assert configs
    assert max(clears) < min(configs)


@pytest.mark.parametrize("ctx", [CTX, ENTITY_CTX], ids=["device", "entity"])
def test_a_vanished_printer_takes_its_triggers_along(ctx: DiscoveryContext) -> None:
    """A printer gone from printer_list: its entities and device triggers are removed, quietly."""
    ha, before = announced(ctx)
    gone = {m.topic for m in printer_discovery(ctx, OFFICE, INKJET)}
    ha.feed(
        plan_discovery(
            ctx, published_index(before), [m for m in before if m.topic not in gone]
        ).messages()
    )
    assert ha.warnings == []
    node = "lianke_lc01demo000001_p631"
    assert not [h for h in ha.owner if h[1].startswith(f"{node} ")]
    deleted_triggers = [d for d in ha.deleted if d.startswith(f"{node} printer_")]
    assert len(deleted_triggers) == 5  # four problems and the error limit
    assert [h for h in ha.owner if h[1].startswith("lianke_lc01demo000001_p1 ")], "p1 stays"


def without(
    ctx: DiscoveryContext, messages: list[DiscoveryMessage], gone: str
) -> list[DiscoveryMessage]:
    """The configs left once a node (a printer's, or a box's with its printers') is gone."""
    return [
        m
        for m in messages
        if not (node := node_of(ctx.prefix, m.topic) or "").startswith(f"{gone}_p") and node != gone
    ]


def switched(
    old: DiscoveryContext, new: DiscoveryContext
) -> tuple[HomeAssistantDiscovery, list[DiscoveryMessage]]:
    """Home Assistant after the bridge announced in ``old``'s mode, then switched to ``new``'s."""
    ha, before = announced(old)
    now = fleet(new)
    ha.feed(plan_discovery(new, published_index(before), now).messages())
    assert ha.warnings == []
    return ha, now


@pytest.mark.parametrize(("old", "new"), SWITCHES, ids=SWITCH_IDS)
def test_a_mode_switch_removes_the_device_triggers_instead_of_migrating_them(
    old: DiscoveryContext, new: DiscoveryContext
) -> None:
    """Triggers have no registry entry to keep: migrated, each would linger in Home Assistant.

    A migrated device trigger keeps waiting for its device's removal: when the printer or box
    goes later, it logs "Unable to remove unknown dispatcher" and clears its old topic again.
    """
    ha, _ = switched(old, new)
    assert ha.migrated_triggers == []
    assert not [u for u in ha.unloaded if " " in u], "only entities (with unique ids) migrated"


PRINTER_NODE = "lianke_lc01demo000001_p631"
BOX_NODE = box_node_id(WAREHOUSE.device_id)


@pytest.mark.parametrize("gone", [PRINTER_NODE, BOX_NODE], ids=["printer", "box"])
@pytest.mark.parametrize(("old", "new"), SWITCHES, ids=SWITCH_IDS)
def test_a_removal_after_a_mode_switch_is_quiet(
    old: DiscoveryContext, new: DiscoveryContext, gone: str
) -> None:
    """A printer unplugged (a box removed) after a switch: its devices go, nothing is logged."""
    ha, now = switched(old, new)
    ha.feed(plan_discovery(new, published_index(now), without(new, now, gone)).messages())
    assert ha.warnings == []
    assert gone in ha.removed_devices
    assert not [h for h in ha.owner if h[1].split(" ")[0].startswith(gone)]


@pytest.mark.parametrize("gone", [PRINTER_NODE, BOX_NODE], ids=["printer", "box"])
@pytest.mark.parametrize("ctx", [CTX, ENTITY_CTX], ids=["device", "entity"])
def test_a_removal_after_switching_there_and_back_is_quiet(
    ctx: DiscoveryContext, gone: str
) -> None:
    """Switched to the other mode and back, then a removal: still nothing logged."""
    other = ENTITY_CTX if ctx is CTX else CTX
    ha, there = switched(ctx, other)
    ha.feed(plan_discovery(ctx, published_index(there), fleet(ctx)).messages())
    assert ha.warnings == []
    now = fleet(ctx)
    ha.feed(plan_discovery(ctx, published_index(now), without(ctx, now, gone)).messages())
    assert ha.warnings == []
    assert gone in ha.removed_devices
