"""A new command is one module: registered, it is in every generated file and answered once.

``tests/fixtures/commands/echo.py`` is such a module (a test-only command). It is registered the
way the real commands are (``Commands.of`` over the modules of ``requests/commands/``, plus it),
and the generators, given that registry, render it everywhere with nothing else written: its
request, data and response schemas (field docstrings as descriptions), its index entries, its
rows in the contract's, the guide's and the README's tables, its AsyncAPI channels, which the
AsyncAPI parser accepts. A bridge running with it answers it exactly once.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
from bridge_harness import RunningBridge, make_config
from jsonschema import Draft202012Validator
from mqtt_broker import MosquittoBroker, MqttProbe
from referencing import Registry, Resource

from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.bridge.requests.commands import MODULES
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.registry import Commands
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from generators import asyncapi, command_tables, schemas  # noqa: E402
from generators.command_tables import MissingChineseError  # noqa: E402

ECHO = importlib.import_module("fixtures.commands.echo")
"""tests/fixtures/commands/echo.py (by name: the type checker reads it as a file of its own)."""
WITH_ECHO = Commands.of((*MODULES, ECHO))


def rendered_schemas() -> dict[str, Any]:
    """Every generated schema file (by path under schemas/) as the registry with echo gives it."""
    return {
        item.path.relative_to("schemas").as_posix(): json.loads(item.render())
        for item in schemas.generated(WITH_ECHO)
    }


def test_a_name_is_registered_once_per_scope() -> None:
    """Registering a module twice (or two commands of one name) is refused at once.

    The same name in the other scope is another command (``refresh`` is both a box's and the
    bridge's).
    """
    with pytest.raises(ValueError, match="two device commands named 'echo'"):
        Commands.of((*MODULES, ECHO, ECHO))
    assert "refresh" in WITH_ECHO.names("device") & WITH_ECHO.names("bridge")


def test_the_new_command_has_its_schemas() -> None:
    """Request, data and response schemas, described by the module's docstrings, and indexed."""
    files = rendered_schemas()
    request = files["request/echo.json"]
    assert request["title"] == "<base>/<dev>/request/echo (JSON form)"
    assert request["required"] == ["words"]
    assert request["properties"]["words"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 50,
        "description": "The words the answer repeats.",
    }
    assert set(request["properties"]) == {"words", "transaction"}
    data = files["data/echo.json"]
    assert data["properties"]["device"]["$ref"] == "../common.json#/$defs/device"
    assert data["description"] == "The answer: the words, and the box that heard them."
    assert files["response/echo.json"]["oneOf"][1]["allOf"][1] == {
        "properties": {"data": {"$ref": "../data/echo.json"}}
    }
    index = files["index.json"]
    assert index["requests"]["<base>/+/request/echo"] == "request/echo.json"
    topics = [entry["topic"] for entry in index["topics"]]
    assert topics.index("<base>/+/response/echo") < topics.index("<base>/+/response/+")


def test_the_new_command_is_in_the_docs_tables() -> None:
    """The contract's, the guide's and the API overview's tables list it, from its CommandDoc."""
    row = '| `echo` | `{"words": "…"}` | none (answered by the bridge) |'
    assert row in command_tables.render_page("docs/mqtt-contract.md", WITH_ECHO)
    guide = command_tables.render_page("docs/commands.md", WITH_ECHO)
    assert '| `echo` | `{"words": "…"}` | sends the words back: `{"words", "device"}` |' in guide
    overview = command_tables.render_page("docs/mqtt-api.md", WITH_ECHO)
    assert '| `echo` | `{"words": "…"}` | sends the words back |' in overview
    chinese = command_tables.render_page("docs/mqtt-api.zh.md", WITH_ECHO)
    assert '| `echo` | `{"words": "…"}` | 原样送回这些词 |' in chinese
    assert "`echo`" not in command_tables.render_page("docs/mqtt-contract.md")


def test_a_command_that_does_not_say_it_in_chinese_stops_the_chinese_table() -> None:
    """No ``does_zh`` (or no ``payload_zh`` for a payload in words): an error names the module."""
    echo = ECHO.COMMAND
    silent = replace(echo, doc=replace(echo.doc, does_zh=""))
    with pytest.raises(
        MissingChineseError, match=r"'echo' .*: add does_zh= to .*fixtures/commands/echo\.py"
    ):
        command_tables.overview_zh(Commands({"echo": silent}, {}))
    worded = replace(echo, doc=replace(echo.doc, payload="some words", does_zh=""))
    with pytest.raises(MissingChineseError, match=r"'echo' .*: add does_zh= and payload_zh= to"):
        command_tables.overview_zh(Commands({"echo": worded}, {}))


def test_the_new_command_is_in_the_asyncapi_document(tmp_path: Path) -> None:
    """Its request channel is received with its response channel as reply; the parser agrees."""
    document = asyncapi.document(WITH_ECHO)
    channel = document["channels"]["device-request-echo"]
    assert channel["address"] == "{base}/{device}/request/echo"
    message = document["components"]["messages"]["request-echo"]
    assert message["payload"]["schema"] == {"$ref": "../schemas/request/echo.json"}
    operation = document["operations"]["receive-device-request-echo"]
    assert operation["reply"] == {"channel": {"$ref": "#/channels/device-response-echo"}}
    assert operation["bindings"]["mqtt"]["qos"] == 1
    node = shutil.which("node")
    tools = ROOT / "tools" / "asyncapi"
    if node is None or not (tools / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.skip("the AsyncAPI parser is not installed (tests/test_asyncapi.py installs it)")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    for item in schemas.generated(WITH_ECHO):
        (tmp_path / item.path).write_text(item.render(), encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "asyncapi.yaml").write_text(asyncapi.render(WITH_ECHO), "utf-8")
    done = subprocess.run(  # noqa: S603 - node, our own script
        [node, "validate.mjs", str(tmp_path / "docs" / "asyncapi.yaml")],
        cwd=tools,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_an_interrupted_request_is_recovered_by_its_own_commands_hook() -> None:
    """The request memory asks the registry, which asks the command's ``recover`` hook.

    No command is special-cased: echo's hook answers for echo; a command without one (cancel)
    and a topic that is no request get None (the request runs again).
    """
    recover = WITH_ECHO.recoverer(Topics("lianke"), lambda: cast("RequestContext", None))
    assert await recover("lianke/office/request/echo", "t-9") == Answer(
        {
            "status": "ok",
            "data": {"words": "recovered t-9", "device": "office"},
            "transaction": "t-9",
        }
    )
    assert await recover("lianke/office/request/cancel", "t-9") is None
    assert await recover("lianke/office/state", "t-9") is None


async def test_a_bridge_with_the_new_command_answers_it_once(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """On a real broker: exactly one answer, as its generated response schema describes it."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config, commands=WITH_ECHO), probe)
        await bridge.start()
        try:
            answer = await bridge.request("office", "echo", {"words": "hi", "transaction": "e1"})
            refused = await bridge.request("office", "echo", {"word": "hi"})
        finally:
            await bridge.stop()
    assert answer == {
        "status": "ok",
        "data": {"words": "hi", "device": "office"},
        "transaction": "e1",
    }
    assert refused["error"]["code"] == "invalid_payload"
    assert "did you mean 'words'?" in refused["error"]["message"]
    files = rendered_schemas()
    shared = ("common.json", "envelope.json")
    on_disk = (json.loads((ROOT / "schemas" / name).read_text("utf-8")) for name in shared)
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema))
        for schema in (*on_disk, *(files[name] for name in files if name != "index.json"))
    )
    validator = Draft202012Validator(files["response/echo.json"], registry=registry)
    assert list(validator.iter_errors(answer)) == []
    assert list(validator.iter_errors(refused)) == []
