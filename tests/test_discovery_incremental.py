"""Discovery built per box and printer, remembered by digest.

One printer's change never re-renders the whole fleet; payloads are not kept as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.simulator import Simulator

OFFICE_ID = "lc01demo000001"


async def test_a_printer_change_announces_its_box_only(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """Unplugging and plugging a printer clears and brings back its config, fleet not rebuilt."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", homeassistant=True)
    prefix = config.homeassistant.prefix
    topic = f"{prefix}/device/{discovery.printer_node_id(OFFICE_ID, 2)}/config"
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#", f"{prefix}/#"]
    ) as probe:
        service = BridgeService(config)
        full_renders: list[int] = []
        render = service.announcer.messages

        def counting() -> list[Any]:
            full_renders.append(1)
            return render()

        service.announcer.messages = counting  # type: ignore[method-assign]
        bridge = RunningBridge(service, probe)
        await bridge.start()
        try:
            await probe.wait_for(topic, lambda m: bool(m.payload))
            before, reconnects = len(full_renders), service.counters.reconnects
            start = probe.mark()
            simulator.faults.unplug_printer(OFFICE_ID, 2)
            await probe.wait_for(topic, lambda m: not m.payload, since=start)
            simulator.faults.plug_printer(OFFICE_ID, 2)
            back = await probe.wait_for(topic, lambda m: bool(m.payload), since=start)
            assert back.retain
            # only a reconnect (a loaded machine can miss a keepalive) re-renders everything
            assert len(full_renders) - before <= service.counters.reconnects - reconnects
            # what was published is still known to the store (cleared at a removal, and so on);
            # the announce records it after its last publish, so wait until it let go of the lock
            async with service.announcer.lock:
                assert topic in service.store.discovery
        finally:
            await bridge.stop()


async def test_discovery_payloads_are_not_kept_as_text(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A thousand boxes' configs would be tens of MiB: only a digest of each is remembered."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", homeassistant=True)
    prefix = config.homeassistant.prefix
    topic = f"{prefix}/device/{discovery.printer_node_id(OFFICE_ID, 1)}/config"
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{prefix}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await probe.wait_for(topic, lambda m: bool(m.payload))
            published = [topic, *bridge.service.store.discovery]
            assert len(published) > 3  # the bridge, boxes and printers
            assert all(bridge.service.publisher.retained(t) is None for t in published)
        finally:
            await bridge.stop()
