"""Discovery plans as Home Assistant takes them: mode switches and removals. Pure.

``ha_discovery_model`` restates how Home Assistant 2025.4 keeps discovery ids; each plan the
bridge makes is fed to it in order, and the test reads what Home Assistant would log and do:
no warning, no entity deleted by a mode switch, every unique id and entity id kept.
"""

from __future__ import annotations

import pytest
from ha_discovery_model import HomeAssistantDiscovery
from test_discovery import CTX, ENTITY_CTX, INKJET, OFFICE, fleet

from lianke_bridge.bridge.discovery import (
    DiscoveryContext,
    DiscoveryMessage,
    discovery_topics,
    plan_discovery,
    printer_discovery,
    published_index,
)
from lianke_bridge.bridge.discovery.plan import HANDOVER_KEY

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
    """Switching either way: no warning, nothing deleted, every entity and trigger handed over.

    Home Assistant deletes an entity (its name, area and settings) on an empty payload from its
    own topic, and warns about one from another topic: every old topic must be cleared while
    nothing owns its discovery ids, before the new configs claim them.
    """
    ha, before = announced(old)
    owned_before = ha.unique_ids()
    ha.feed(plan_discovery(new, published_index(before), fleet(new)).messages())
    assert ha.warnings == []
    assert {uid.split(" ")[-1] for uid in ha.deleted} <= {HANDOVER_KEY}, "only the placeholder"
    owned_after = ha.unique_ids()
    assert set(owned_after) == set(owned_before)
    new_topics = discovery_topics(fleet(new))
    assert set(owned_after.values()) <= new_topics
    assert sorted(ha.unloaded) == sorted(owned_before), "every entity migrated, none deleted"


@pytest.mark.parametrize(("old", "new"), SWITCHES, ids=SWITCH_IDS)
def test_a_switch_after_a_restart_works_from_the_bare_topics(
    old: DiscoveryContext, new: DiscoveryContext
) -> None:
    """A store that remembers only topics (an older bridge's) hands over just as cleanly."""
    ha, before = announced(old)
    ha.feed(plan_discovery(new, discovery_topics(before), fleet(new)).messages())
    assert ha.warnings == []
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
