"""End to end: simulator -> bridge -> a real Mosquitto -> a probe, for every topic and command."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, calls_for, make_config, until
from mqtt_broker import MqttProbe

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.print_options import PrintOptions
from lianke_bridge.simulator import Simulator

OFFICE_ID = "lc01demo000001"


def ok(envelope: dict[str, Any]) -> Any:
    """The data of an ok envelope (fails the test with the error otherwise)."""
    assert envelope["status"] == "ok", envelope
    return envelope["data"]


def submissions(simulator: Simulator) -> list[Any]:
    """The print jobs the simulator received, oldest first."""
    return [r for r in simulator.requests if r.path == "/api/print/job" and r.method == "POST"]


def error_code(envelope: dict[str, Any]) -> Any:
    """The error code of an error envelope."""
    assert envelope["status"] == "error", envelope
    assert envelope["error"]["message"]
    return envelope["error"]["code"]


# ---- state topics -------------------------------------------------------------------------
async def test_bridge_state_and_info_are_retained(running_bridge: RunningBridge) -> None:
    """bridge/state says online and bridge/info lists devices, both retained, without secrets."""
    state = await running_bridge.probe.wait_for(f"{running_bridge.base}/bridge/state")
    assert (state.text, state.retain) == ("online", True)
    info = await running_bridge.wait_json("bridge/info")
    assert info["devices"] == ["office", "warehouse", "spare"]
    assert info["base_topic"] == running_bridge.base
    assert "demo-api-key" not in str(info)


async def test_clean_stop_publishes_offline(running_bridge: RunningBridge) -> None:
    """A clean shutdown leaves bridge/state retained as offline."""
    await running_bridge.stop()
    async with MqttProbe(
        running_bridge.probe.host,
        running_bridge.probe.port,
        subscribe=[f"{running_bridge.base}/bridge/state"],
    ) as late:
        message = await late.wait_for(f"{running_bridge.base}/bridge/state")
    assert message.text == "offline"
    assert message.retain


async def test_box_state_availability_and_printers(running_bridge: RunningBridge) -> None:
    """The office box is online with its printers; each printer has a state snapshot."""
    availability = await running_bridge.probe.wait_for(
        f"{running_bridge.base}/office/availability", lambda m: m.text == "online"
    )
    assert availability.retain
    state = await running_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    assert state["online"] is True
    assert state["firmware"] == "2.1.113"
    assert state["printers"] == [1, 2, 631]
    laser = await running_bridge.wait_json("office/printer/1/state", lambda s: s["live_status"])
    assert laser["kind"] == "laser"
    assert laser["status"] == "idle"
    receipt = await running_bridge.wait_json("office/printer/2/state")
    assert receipt["kind"] == "receipt"
    assert receipt["live_status"] is False
    network = await running_bridge.wait_json("office/printer/631/state")
    assert network["markers"]["Yellow"] == 18
    queue = await running_bridge.probe.wait_for(f"{running_bridge.base}/office/queue")
    assert queue.text == "0"


async def test_never_booted_box_is_offline_and_only_asked_device_info(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """The spare box never booted: availability offline, and no printer calls for it."""
    await running_bridge.probe.wait_for(
        f"{running_bridge.base}/spare/availability", lambda m: m.text == "offline"
    )
    state = await running_bridge.wait_json("spare/state")
    assert state["online"] is False
    spare_id = simulator.fleet.boxes[2].device_id
    # Three device_info rounds: printer calls, if any, would have come with the first two.
    await until(lambda: calls_for(simulator, spare_id, "/api/device/device_info") >= 3)
    asked = {r.path for r in simulator.requests if r.fields.get("deviceId") == spare_id}
    asked |= {r.path for r in simulator.requests if r.query.get("deviceId") == spare_id}
    assert asked == {"/api/device/device_info"}


async def test_every_box_has_a_retained_queue_even_one_that_never_booted(
    running_bridge: RunningBridge, mosquitto: Any
) -> None:
    """The spare box never booted: its queue is still published, retained, as 0."""
    await running_bridge.probe.wait_for(f"{running_bridge.base}/spare/queue")
    topic = f"{running_bridge.base}/spare/queue"
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[topic]) as late:
        retained = await late.wait_for(topic, lambda m: m.retain)
    assert retained.text == "0"


async def test_printer_problem_is_published_with_an_event(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Paper running out on the laser shows in its state and fires printer_problem, then ok."""
    await running_bridge.wait_json("office/printer/1/state", lambda s: s["live_status"])
    simulator.faults.printer_problem(OFFICE_ID, 1, paper_out=True)
    state = await running_bridge.wait_json(
        "office/printer/1/state", lambda s: s["status"] == "paper_out"
    )
    assert state["problems"]["paper_out"] is True
    event = await running_bridge.wait_json(
        "office/event", lambda e: e["event"] == "printer_problem"
    )
    assert (event["port"], event["status"]) == (1, "paper_out")
    simulator.faults.printer_problem(OFFICE_ID, 1)
    await running_bridge.wait_json("office/event", lambda e: e["event"] == "printer_ok")


async def test_box_going_offline_and_back(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A box dropping off the cloud turns availability offline with events, then back."""
    await running_bridge.probe.wait_for(
        f"{running_bridge.base}/office/availability", lambda m: m.text == "online"
    )
    simulator.faults.box_offline(OFFICE_ID)
    await running_bridge.probe.wait_for(
        f"{running_bridge.base}/office/availability", lambda m: m.text == "offline"
    )
    await running_bridge.wait_json("office/event", lambda e: e["event"] == "device_offline")
    await running_bridge.wait_json("bridge/event", lambda e: e["event"] == "device_offline")
    simulator.faults.box_offline(OFFICE_ID, offline=False)
    await running_bridge.wait_json("office/event", lambda e: e["event"] == "device_online")


# ---- print and jobs -----------------------------------------------------------------------
async def test_print_url_is_submitted_and_followed_to_success(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A URL print reaches the API with mapped fields; the job topic ends succeeded."""
    envelope = await running_bridge.request(
        "office",
        "print",
        {
            "url": "https://example.com/menu.pdf",
            "copies": 2,
            "paper": "A4",
            "duplex": "long",
            "transaction": "t-1",
        },
    )
    data = ok(envelope)
    assert envelope["transaction"] == "t-1"
    task_id = data["task_id"]
    submitted = submissions(simulator)
    assert len(submitted) == 1
    fields = submitted[0].fields
    assert fields["jobFile"] == "https://example.com/menu.pdf"
    assert fields["dmCopies"] == "2"
    assert fields["dmPaperSize"] == "9"
    assert fields["dmDuplex"] == "2"
    assert fields["devicePort"] == "1"
    job = await running_bridge.wait_json(
        f"office/job/{task_id}", lambda j: j["state"] == "succeeded"
    )
    assert job["transaction"] == "t-1"
    assert job["source"] == "url"
    assert job["pages"] >= 1
    event = await running_bridge.wait_json("office/event", lambda e: e["event"] == "job_finished")
    assert event["job"]["task_id"] == task_id


async def test_failed_job_is_reported(running_bridge: RunningBridge, simulator: Simulator) -> None:
    """A job the printer fails ends failed, with the cloud's result and a job_failed event."""
    simulator.faults.jobs_fail(OFFICE_ID)
    task_id = ok(await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))[
        "task_id"
    ]
    job = await running_bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "failed")
    assert job["result"]["code"] != 200
    await running_bridge.wait_json("office/event", lambda e: e["event"] == "job_failed")


async def test_cancel_moves_the_job_to_cancelled(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Cancelling a queued job calls DELETE /api/print/job and the job ends cancelled."""
    simulator.state.timing = replace(simulator.state.timing, ready=5.0)
    task_id = ok(await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))[
        "task_id"
    ]
    data = ok(await running_bridge.request("office", "cancel", {"task_id": task_id}))
    assert data["state"] == "cancelling"
    assert simulator.count("/api/print/job", method="DELETE") == 1
    await running_bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "cancelled")


async def test_a_cancelled_job_is_announced_as_job_cancelled(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """The device events of a cancelled job: job_submitted, then job_cancelled (never finished)."""
    simulator.state.timing = replace(simulator.state.timing, ready=5.0)
    task_id = ok(await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))[
        "task_id"
    ]
    ok(await running_bridge.request("office", "cancel", {"task_id": task_id}))
    event = await running_bridge.wait_json("office/event", lambda e: e["event"] == "job_cancelled")
    assert (event["job"]["task_id"], event["job"]["state"]) == (task_id, "cancelled")
    ended = [
        m.json()["event"]
        for m in running_bridge.probe.messages(f"{running_bridge.base}/office/event")
        if m.json().get("job", {}).get("task_id") == task_id
    ]
    assert ended == ["job_submitted", "job_cancelled"]


async def test_print_text_uploads_an_html_page(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Text is rendered to an HTML page and uploaded as a file, never sent as a URL."""
    ok(await running_bridge.request("office", "print", {"text": "- milk\n- bread", "port": 2}))
    submitted = submissions(simulator)[-1]
    assert submitted.fields["devicePort"] == "2"
    assert submitted.fields["jobFile"]["filename"].endswith(".html")


async def test_print_base64_file(running_bridge: RunningBridge, simulator: Simulator) -> None:
    """A base64 file is uploaded with its name."""
    content = base64.b64encode(b"%PDF-1.4\n1 0 obj<</Type /Page>>endobj\n").decode()
    data = ok(
        await running_bridge.request("office", "print", {"file": content, "filename": "note.pdf"})
    )
    assert data["task_id"]
    submitted = submissions(simulator)[-1]
    assert submitted.fields["jobFile"]["filename"] == "note.pdf"


async def test_bare_url_payload_prints(running_bridge: RunningBridge, simulator: Simulator) -> None:
    """A plain URL (what Home Assistant's text entity sends) is printed on the default port."""
    ok(await running_bridge.request("office", "print", "https://example.com/a.png"))
    submitted = submissions(simulator)[-1]
    assert submitted.fields["jobFile"] == "https://example.com/a.png"


# ---- other device commands ----------------------------------------------------------------
async def test_flush_reboot_and_reset(running_bridge: RunningBridge, simulator: Simulator) -> None:
    """flush, reboot and reset_error_limit each reach their API call and answer ok."""
    flushed = ok(await running_bridge.request("office", "flush", {"port": 1}))
    assert flushed["flushed"] == 0
    assert simulator.count("/api/print/flush_jobs") == 1
    code = error_code(await running_bridge.request("office", "reset_error_limit", {"port": 1}))
    assert code == 11201
    assert simulator.count("/api/print/reset_printing_error_limit") == 1
    simulator.state.timing = replace(simulator.state.timing, reboot=5.0)
    assert ok(await running_bridge.request("office", "reboot", "PRESS")) == {"rebooting": True}
    assert simulator.count("/api/device/async_device_reboot") == 1
    again = await running_bridge.request("office", "reboot", "PRESS")
    assert error_code(again) == 401  # already rebooting: the cloud's own answer


async def test_flush_without_port_flushes_every_port(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Flush with no port empties every port of the box."""
    await running_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    data = ok(await running_bridge.request("office", "flush", "PRESS"))
    assert set(data["ports"]) == {"1", "2"}
    assert simulator.count("/api/print/flush_jobs") == 2


async def test_queries(running_bridge: RunningBridge, simulator: Simulator) -> None:
    """job, tasks, printer_params, paper_sizes, refresh, refresh_network_printers answer data."""
    task_id = ok(await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))[
        "task_id"
    ]
    job = ok(await running_bridge.request("office", "job", {"task_id": task_id}))
    assert job["task_id"] == task_id
    tasks = ok(await running_bridge.request("office", "tasks"))["tasks"]
    assert task_id in {t["task_id"] for t in tasks}
    params = ok(await running_bridge.request("office", "printer_params", {"port": 1}))
    assert "A4" in params["papers"]
    sizes = ok(await running_bridge.request("office", "paper_sizes", {"port": 1}))
    assert any(p["name"] == "A4" for p in sizes["papers"])
    before = simulator.count("/api/print/printer_params")
    ok(await running_bridge.request("office", "printer_params", {"port": 1}))
    assert simulator.count("/api/print/printer_params") == before  # cached per model
    refreshed = ok(await running_bridge.request("office", "refresh"))
    assert refreshed["state"]["online"] is True
    total = ok(await running_bridge.request("office", "refresh_network_printers"))["total"]
    assert total >= 1


async def test_tasks_answer_in_the_job_topics_formats(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Task times are ISO 8601 with the cloud clock's zone; an unknown result is null."""
    simulator.state.timing = replace(simulator.state.timing, ready=5.0)
    before = datetime.now(UTC)
    task_id = ok(await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))[
        "task_id"
    ]
    tasks = {t["task_id"]: t for t in ok(await running_bridge.request("office", "tasks"))["tasks"]}
    task = tasks[task_id]
    created = datetime.fromisoformat(task["created_at"])
    assert created.tzinfo is not None
    assert before - timedelta(seconds=2) <= created <= datetime.now(UTC) + timedelta(seconds=2)
    assert datetime.fromisoformat(task["updated_at"]).tzinfo is not None
    assert (task["state"], task["result"]) == ("queued", None)


async def test_page_count(running_bridge: RunningBridge, simulator: Simulator) -> None:
    """page_count goes through file_pages and answers the number of pages."""
    pdf = b"%PDF-1.4\n" + b"<</Type /Page>>\n" * 3
    data = ok(
        await running_bridge.request(
            "office",
            "page_count",
            {"file": base64.b64encode(pdf).decode(), "filename": "three.pdf"},
        )
    )
    assert data["pages"] == 3
    assert simulator.count("/api/print/file_pages") == 1


async def test_bridge_requests(running_bridge: RunningBridge) -> None:
    """health_check, printer_models, decode_qr, refresh and republish answer on bridge topics."""
    health = ok(await running_bridge.request("bridge", "health_check"))
    assert health["mqtt"]["connected"] is True
    assert set(health["devices"]) == {"office", "warehouse", "spare"}
    models = ok(await running_bridge.request("bridge", "printer_models", {"query": "HP"}))
    assert models["models"]
    assert all("HP" in m.upper() for m in models["models"])
    token = base64.b64encode(b"lc01demo000001:secret-key").decode()
    decoded = ok(
        await running_bridge.request("bridge", "decode_qr", f"https://x.test/qr?token={token}")
    )
    assert decoded == {"device_id": "lc01demo000001"}
    refreshed = ok(await running_bridge.request("bridge", "refresh"))
    assert refreshed["devices"]["office"]["online"] is True
    assert ok(await running_bridge.request("bridge", "republish")) == {"republished": True}


# ---- request rules ------------------------------------------------------------------------
async def test_retained_request_is_ignored(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A retained print request is never acted on (it would print at every restart)."""
    topic = f"{running_bridge.base}/office/request/print"
    await running_bridge.probe.publish(topic, {"url": "https://x.test/a.pdf"}, retain=True)
    await running_bridge.settle()
    assert not running_bridge.probe.messages(f"{running_bridge.base}/office/response/#")
    assert simulator.count("/api/print/job", method="POST") == 0


async def test_duplicate_transaction_is_not_repeated(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """The same transaction twice prints once; the second is answered duplicate."""
    request = {"url": "https://x.test/a.pdf", "transaction": "same"}
    ok(await running_bridge.request("office", "print", request))
    again = await running_bridge.request("office", "print", request)
    assert error_code(again) == "duplicate"
    assert again["transaction"] == "same"
    assert simulator.count("/api/print/job", method="POST") == 1


async def test_bad_requests_get_clear_errors_and_the_bridge_goes_on(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Each bad payload is answered with a clear error; a good request still works after."""
    await running_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    cases: list[tuple[str, Any, str]] = [
        ("cancel", "not json", "invalid_payload"),
        ("print", {"url": "https://x.test/a.pdf", "copies": "two"}, "invalid_payload"),
        ("print", {"url": "ftp://x.test/a"}, "invalid_payload"),
        ("print", {"url": "https://x.test/a.pdf", "port": 9}, "unknown_port"),
        ("print", [1, 2], "invalid_payload"),
        ("explode", {}, "unknown_command"),
        # over the payload limit (26.7 MiB), within the packet the broker may send (28 MiB)
        ("print", {"file": "A" * (27 * 1024 * 1024), "filename": "big.pdf"}, "invalid_payload"),
    ]
    for command, payload, expected in cases:
        envelope = await running_bridge.request("office", command, payload)
        assert error_code(envelope) == expected, (command, envelope)
    assert simulator.count("/api/print/job", method="POST") == 0
    ok(await running_bridge.request("office", "print", {"url": "https://x.test/ok.pdf"}))


async def test_unknown_device_is_answered(running_bridge: RunningBridge) -> None:
    """A request for a box that is not configured gets an error naming the configured ones."""
    envelope = await running_bridge.request("kitchen", "print", {"url": "https://x.test/a.pdf"})
    assert error_code(envelope) == "unknown_device"
    assert "office" in envelope["error"]["message"]


async def test_unknown_device_name_is_echoed_cut_short(running_bridge: RunningBridge) -> None:
    """A 3,000-character device name is not repeated whole in the error."""
    envelope = await running_bridge.request("k" * 3000, "print", {"url": "https://x.test/a.pdf"})
    assert error_code(envelope) == "unknown_device"
    assert len(envelope["error"]["message"]) < 200


async def test_cloud_error_codes_reach_the_response(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A print to an offline box is answered with the cloud's 5002 and its own message."""
    await running_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    simulator.faults.box_offline(OFFICE_ID)
    envelope = await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
    assert error_code(envelope) == 5002
    assert envelope["error"]["api_message"]


async def test_mqtt5_response_topic_and_correlation_data(running_bridge: RunningBridge) -> None:
    """A request carrying a response topic is answered there with its correlation data."""
    reply_to = f"{running_bridge.base}/replies/node-red-1"
    message = await running_bridge.probe.request(
        f"{running_bridge.base}/office/request/tasks",
        {},
        response_topic=reply_to,
        correlation_data=b"corr-42",
        settle=running_bridge.settle,
    )
    assert message.topic == reply_to
    assert message.correlation_data == b"corr-42"
    assert message.json()["status"] == "ok"


async def test_broker_restart_reconnects_and_republishes(
    running_bridge: RunningBridge, mosquitto: Any
) -> None:
    """After the broker restarts (losing retained state), the bridge comes back and re-publishes."""
    await running_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    mosquitto.restart()
    await mosquitto.wait_ready()
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{running_bridge.base}/#"]
    ) as fresh:
        state = await fresh.wait_for(f"{running_bridge.base}/bridge/state", timeout=15)
        assert state.text == "online"
        box = await fresh.wait_for(f"{running_bridge.base}/office/state", timeout=15)
        assert box.json()["online"] is True
        await fresh.wait_for(f"{running_bridge.base}/office/printer/1/state", timeout=15)
    assert running_bridge.service.counters.reconnects >= 1


async def test_print_defaults_apply_per_port(
    simulator: Simulator, mosquitto: Any, base_topic: str, tmp_path: Path
) -> None:
    """A port's print defaults fill what a request leaves out; the request's own options win.

    The default paper "16K" is only in the laser's paper_dimension_list (id 257), not in its
    printer_params, so the bridge must look it up there for a default too.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    office = replace(config.devices[0], print_defaults={1: PrintOptions(paper="16K", copies=3)})
    config = replace(config, devices=(office, *config.devices[1:]))
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            ok(await bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))
            ok(
                await bridge.request(
                    "office", "print", {"url": "https://x.test/b.pdf", "copies": 1}
                )
            )
        finally:
            await bridge.stop()
    first, second = submissions(simulator)
    assert (first.fields["dmPaperSize"], first.fields["dmCopies"]) == ("257", "3")
    assert (second.fields["dmPaperSize"], second.fields["dmCopies"]) == ("257", "1")
