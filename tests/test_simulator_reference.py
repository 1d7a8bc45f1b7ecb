"""The simulator's answers against the reference's example responses: same keys, same types.

A client written against the simulator must work against the real cloud, so every call's
answer is compared with the example the reference gives for it.
"""

from __future__ import annotations

import uuid

from sim_api import SimApi, assert_same_shape, example

from lianke_bridge.cloud.models import FilePages, JobStatus, Printer, PrinterParams


async def test_printer_list_rows_have_the_example_fields(sim_api: SimApi) -> None:
    """USB rows carry exactly the example row's fields; network rows add ip_addr and markers."""
    answer = await sim_api.get("/api/external_api/printer_list", **sim_api.creds(), printerType=3)
    reference = example("GET", "/api/external_api/printer_list")
    usb = {**answer, "data": {**answer["data"], "row": answer["data"]["row"][:2]}}
    assert_same_shape(usb, reference)
    network = answer["data"]["row"][2]
    assert network["port"] == 631
    assert set(network) - set(reference["data"]["row"][0]) == {"ip_addr", "markers"}
    assert network["markers"][0] == {"name": "Black", "level": 72, "color": "#000000"}
    assert network["printer_state"] == "idle"
    assert answer["data"]["total"] == 3


async def test_printer_list_filters_by_printer_type(sim_api: SimApi) -> None:
    """PrinterType 1 lists USB printers, 2 network printers, 3 both; the default is USB."""
    ports = {}
    for printer_type in (1, 2, 3):
        answer = await sim_api.get(
            "/api/external_api/printer_list", **sim_api.creds(), printerType=printer_type
        )
        ports[printer_type] = [row["port"] for row in answer["data"]["row"]]
    default = await sim_api.get("/api/external_api/printer_list", **sim_api.creds())
    assert ports == {1: [1, 2], 2: [631], 3: [1, 2, 631]}
    assert [row["port"] for row in default["data"]["row"]] == [1, 2]


async def test_printer_list_kinds_parse(sim_api: SimApi) -> None:
    """The demo fleet has laser, receipt, inkjet and label printers, with and without status."""
    rows = []
    for box in sim_api.sim.fleet.boxes[:2]:
        answer = await sim_api.get(
            "/api/external_api/printer_list", **sim_api.creds(box), printerType=3
        )
        rows += answer["data"]["row"]
    printers = [Printer.from_api(row) for row in rows]
    assert [(p.kind, p.support_status) for p in printers] == [
        ("laser", True),
        ("receipt", False),
        ("inkjet", False),
        ("label", True),
    ]
    assert printers[2].device_port == 1


async def test_printer_params_of_the_laser_is_the_reference_example(sim_api: SimApi) -> None:
    """The demo laser answers with the reference's own printer_params data."""
    answer = await sim_api.get("/api/print/printer_params", printerModel="Kyocera MA2000w GX")
    reference = example("GET", "/api/print/printer_params")
    assert_same_shape(answer, reference)
    assert answer["data"]["Capabilities"] == reference["data"]["Capabilities"]
    assert answer["data"]["DevMode"] == reference["data"]["DevMode"]


async def test_printer_params_of_every_demo_model_has_the_example_shape(sim_api: SimApi) -> None:
    """Receipt, inkjet and label models answer in the example's shape; the inkjet has colour."""
    reference = example("GET", "/api/print/printer_params")
    free = tuple(
        f"data.Capabilities.{key}" for key in ("Bins", "Color", "Duplex", "MediaTypes", "Papers")
    )
    params = {}
    for model in ("ESC/POS通用驱动(203dpi) 模式2", "EPSON L6160 Series", "TSC TTP-244 Pro"):
        answer = await sim_api.get("/api/print/printer_params", printerModel=model)
        assert_same_shape(answer, reference, free_keys=free)
        params[model] = PrinterParams.from_api(model, answer["data"])
    inkjet = params["EPSON L6160 Series"]
    assert inkjet.supports_color
    assert inkjet.supports_duplex
    assert not params["TSC TTP-244 Pro"].supports_color
    assert params["ESC/POS通用驱动(203dpi) 模式2"].default_paper in (
        params["ESC/POS通用驱动(203dpi) 模式2"].papers.values()
    )


async def test_paper_dimension_list_matches_the_example(sim_api: SimApi) -> None:
    """The laser's sizes are the reference's; other models use the same shape per size."""
    reference = example("GET", "/api/print/paper_dimension_list")
    laser = await sim_api.get("/api/print/paper_dimension_list", printerModel="Kyocera MA2000w GX")
    assert laser == reference
    label = await sim_api.get("/api/print/paper_dimension_list", printerModel="TSC TTP-244 Pro")
    assert_same_shape(label, reference, free_keys=("data",))
    assert label["data"]["60x40mm"]["physical_width"] == 600


async def test_unknown_model_is_refused(sim_api: SimApi) -> None:
    """A model the cloud does not know gets an error code, not made-up parameters."""
    answer = await sim_api.get("/api/print/printer_params", printerModel="No Such Printer 9000")
    assert answer["code"] != 200


async def test_printer_enum_lists_the_reference_models_and_the_fleets(sim_api: SimApi) -> None:
    """GET printer_enum: the reference's list, plus every model of the fleet."""
    answer = await sim_api.get("/api/print/printer_enum")
    assert_same_shape(answer, example("GET", "/api/print/printer_enum"))
    assert set(example("GET", "/api/print/printer_enum")["data"]) <= set(answer["data"])
    assert "TSC TTP-244 Pro" in answer["data"]


async def test_printer_enum_search_finds_the_examples_models(sim_api: SimApi) -> None:
    """POST printer_enum {"query": "HP 1020"} finds the example's models, best match first."""
    answer = await sim_api.post_json("/api/print/printer_enum", {"query": "HP 1020"})
    reference = example("POST", "/api/print/printer_enum")
    assert_same_shape(answer, reference)
    assert set(reference["data"]) <= set(answer["data"])
    assert answer["data"][0].startswith("HP")
    assert "EPSON L6160 Series" not in answer["data"]


async def test_submit_and_status_match_the_examples(sim_api: SimApi) -> None:
    """The job answer carries a uuid task_id; the finished status has the example's fields."""
    answer = await sim_api.submit()
    assert_same_shape(answer, example("POST", "/api/print/job"))
    task_id = answer["data"]["task_id"]
    assert str(uuid.UUID(task_id)) == task_id
    await sim_api.wait_final(task_id)
    status = await sim_api.job(task_id)
    assert_same_shape(status, example("GET", "/api/print/job"))
    assert status["data"]["task_done_time"].endswith(" GMT")
    parsed = JobStatus.from_api(task_id, status["data"])
    assert parsed.state == "succeeded"
    assert parsed.total_pages is not None
    assert parsed.total_pages >= 1


async def test_cancel_matches_the_example(sim_api: SimApi) -> None:
    """DELETE /api/print/job answers exactly like the example."""
    task_id = await sim_api.submit_ok()
    answer = await sim_api.request(
        "DELETE", "/api/print/job", query={**sim_api.creds(), "devicePort": 1, "task_id": task_id}
    )
    assert answer == example("DELETE", "/api/print/job")


async def test_device_info_matches_the_example(sim_api: SimApi) -> None:
    """device_info has the example's info, network and version blocks."""
    answer = await sim_api.get("/api/device/device_info", **sim_api.creds())
    assert_same_shape(answer, example("GET", "/api/device/device_info"))
    assert answer["data"]["info"]["online"] == 1
    assert answer["data"]["info"]["usb_port_num"] == 3


async def test_printer_status_matches_the_paper_out_example(sim_api: SimApi) -> None:
    """With paper out, printer_status reads like the reference's paper-out example."""
    sim_api.sim.faults.printer_problem(sim_api.box.device_id, 1, paper_out=True)
    answer = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=1)
    reference = example("GET", "/api/device/printer_status")
    assert_same_shape(answer, reference)
    assert answer["data"] == reference["data"]


async def test_printer_status_without_printer_is_the_497_example(sim_api: SimApi) -> None:
    """An unplugged printer answers exactly the reference's 497 example."""
    sim_api.sim.faults.unplug_printer(sim_api.box.device_id, 1)
    answer = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=1)
    assert answer == example("GET", "/api/device/printer_status", 1)


async def test_query_device_task_rows_match_the_example(sim_api: SimApi) -> None:
    """The day's task rows have the example's fields and types."""
    await sim_api.wait_final(await sim_api.submit_ok())
    answer = await sim_api.post_json("/api/print/query_device_task", sim_api.creds())
    assert_same_shape(answer, example("POST", "/api/print/query_device_task"))
    assert len(answer["data"]["task_list"]) == 1


async def test_uninstall_driver_event_matches_both_examples(sim_api: SimApi) -> None:
    """An adaptation request: a valid phone is success, a bad one the 403 example."""
    body = {**sim_api.creds(), "printerId": "611809"}
    good = await sim_api.post_json(
        "/api/driver/uninstall_driver_event", {**body, "phone": "13512345678"}
    )
    bad = await sim_api.post_json("/api/driver/uninstall_driver_event", {**body, "phone": "12345"})
    assert good == example("POST", "/api/driver/uninstall_driver_event", 1)
    assert bad == example("POST", "/api/driver/uninstall_driver_event", 0)


async def test_async_refresh_device_info_matches_the_example(sim_api: SimApi) -> None:
    """async_refresh_device_info answers exactly like the example."""
    answer = await sim_api.get("/api/device/async_refresh_device_info", **sim_api.creds())
    assert answer == example("GET", "/api/device/async_refresh_device_info")


async def test_flush_jobs_matches_the_example(sim_api: SimApi) -> None:
    """flush_jobs answers data.queue_num like the example."""
    body = {**sim_api.creds(), "devicePort": 1}
    answer = await sim_api.post_json("/api/print/flush_jobs", body)
    assert_same_shape(answer, example("POST", "/api/print/flush_jobs"))
    assert answer["data"]["queue_num"] == 0


async def test_calls_without_examples_answer_the_envelope(sim_api: SimApi) -> None:
    """refresh_network_printer counts network printers; reboot and reset answer code and msg."""
    network = await sim_api.get("/api/printer/refresh_network_printer", **sim_api.creds())
    assert network == {"code": 200, "msg": "success", "data": {"total": 1}}
    reboot = await sim_api.post_json("/api/device/async_device_reboot", sim_api.creds())
    assert reboot == {"code": 200, "msg": "success"}


async def test_file_pages_answers_the_page_count(sim_api: SimApi) -> None:
    """file_pages answers {"code": 200, "data": {"pages": N}}, as the real cloud does."""
    pdf = b"%PDF-1.4\n" + b"1 0 obj << /Type /Page >> endobj\n" * 3 + b"<< /Type /Pages >>"
    answer = await sim_api.post_form(
        "/api/print/file_pages",
        {
            **sim_api.creds(),
            "devicePort": 1,
            "printerModel": "Kyocera MA2000w GX",
            "dmPaperSize": 9,
        },
        ("doc.pdf", pdf),
    )
    assert answer == {"code": 200, "msg": "success", "data": {"pages": 3}}
    assert FilePages.from_api(answer["data"]) == FilePages(task_id=None, pages=3)
    assert sim_api.sim.state.jobs == {}


async def test_file_pages_as_a_task_when_the_fault_asks(sim_api: SimApi) -> None:
    """The pages_as_task fault answers a task_id whose result holds total_page."""
    sim_api.sim.faults.pages_as_task()
    pdf = b"%PDF-1.4\n" + b"1 0 obj << /Type /Page >> endobj\n" * 3
    answer = await sim_api.post_form("/api/print/file_pages", sim_api.creds(), ("doc.pdf", pdf))
    counted = FilePages.from_api(answer["data"])
    assert counted.task_id is not None
    done = await sim_api.wait_final(counted.task_id)
    assert done["task_result"]["data"]["total_page"] == 3
    assert_same_shape(
        {"code": 200, "msg": "success", "data": done}, example("GET", "/api/print/job")
    )
