"""The commands' JSON Schemas and ``schemas/index.json``, from the commands' typed definitions.

For each command of the registry: ``request/<file>`` (the payload's JSON object form, from its
request or payload class), ``data/<file>`` (its answer's type) and ``response/<file>`` (the
envelope around that data); ``<file>`` is ``<command>.json``, ``bridge-<command>.json`` for a
bridge command. The index maps every published topic to its schema: the hand-kept topics of
:mod:`.published`, each command's response topic, and each request topic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from generators import Generated
from generators.published import (
    BRIDGE_TOPICS,
    DEVICE_TOPICS,
    HOME_ASSISTANT_TOPICS,
    RECEIVED_TOPICS,
)
from generators.typeschema import class_doc, described, object_schema, plain, schema_of
from lianke_bridge.bridge.requests.command import Command
from lianke_bridge.bridge.requests.model import Request
from lianke_bridge.bridge.requests.registry import COMMANDS, Commands

ID_ROOT = "https://github.com/lianke-bridge/lianke-bridge/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
BARE_FORMS = (
    "The JSON object form. docs/commands.md lists the bare forms too (PRESS, a bare port, "
    "a bare URL)."
)
INDEX_COMMENT = (
    "Which schema each published topic is checked against. <base> is mqtt.base_topic, <prefix> "
    "homeassistant.prefix; + is one topic level. format text: the payload is plain text (a "
    "number is read as JSON). retained topics may also be cleared (an empty payload). "
    "received: what the bridge listens to besides requests (the schema of what may come)."
)


def file_name(command: Command[Any]) -> str:
    """``print.json``; a bridge command's ``bridge-refresh.json``."""
    return f"{'bridge-' if command.scope == 'bridge' else ''}{command.name}.json"


def request_topic(command: Command[Any], *, device: str = "<dev>") -> str:
    """``<base>/<dev>/request/print`` (``device`` for the box's level)."""
    return f"<base>/{device if command.scope == 'device' else 'bridge'}/request/{command.name}"


def response_topic(command: Command[Any], *, device: str = "<dev>") -> str:
    """``<base>/<dev>/response/print``."""
    return f"<base>/{device if command.scope == 'device' else 'bridge'}/response/{command.name}"


def _head(kind: str, name: str, title: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": f"{ID_ROOT}{kind}/{name}", "title": title}


def request_schema(command: Command[Any]) -> dict[str, Any]:
    """The JSON object form of a command's payload, ``transaction`` last."""
    form = command.json_form
    body = object_schema(form, optional_absent=True)
    body.pop("description", None)
    properties = {k: v for k, v in body["properties"].items() if k != "transaction"}
    transaction = object_schema(Request, optional_absent=True)["properties"]["transaction"]
    does = plain(command.doc.does)
    return {
        **_head("request", file_name(command), f"{request_topic(command)} (JSON form)"),
        "description": f"{does[0].upper()}{does[1:]}. {BARE_FORMS}",
        "type": "object",
        "properties": {**properties, "transaction": transaction},
        "required": body["required"],
        "additionalProperties": False,
        **getattr(form, "SCHEMA_RULES", {}),
    }


def data_schema(command: Command[Any]) -> dict[str, Any]:
    """The ``data`` of a command's ``ok`` answer: its handler's return type."""
    answer = command.answer
    schema = schema_of(answer)
    if isinstance(answer, type):
        schema = described(schema, class_doc(answer), override=False)
    scope = "bridge " if command.scope == "bridge" else ""
    head = _head("data", file_name(command), f"data of an ok answer to {scope}{command.name}")
    return {**head, **schema}


def response_schema(command: Command[Any]) -> dict[str, Any]:
    """A command's response topic: an error, or ``ok`` with its ``data``."""
    ok = {"properties": {"data": {"$ref": f"../data/{file_name(command)}"}}}
    return {
        **_head("response", file_name(command), response_topic(command)),
        "oneOf": [
            {"$ref": "../envelope.json#/$defs/error"},
            {"allOf": [{"$ref": "../envelope.json#/$defs/ok"}, ok]},
        ],
    }


def unknown_response() -> dict[str, Any]:
    """The response topic of a command that does not exist: always ``unknown_command``."""
    return {
        **_head(
            "response",
            "unknown.json",
            "An answer on the response topic of a command that does not exist",
        ),
        "description": "Always an error (unknown_command).",
        "$ref": "../envelope.json#/$defs/error",
    }


def index(commands: Commands = COMMANDS) -> dict[str, Any]:
    """``schemas/index.json``: topic filters to schemas, the first match wins."""

    def entry(topic: str, schema: str, *, retained: bool = False, text: bool = False) -> Any:
        return {
            "topic": topic,
            "schema": schema,
            **({"format": "text"} if text else {}),
            **({"retained": True} if retained else {}),
        }

    def published(topics: Any) -> list[Any]:
        return [entry(t.topic_filter, t.schema, retained=t.retained, text=t.text) for t in topics]

    def responses(scope: Any, device: str) -> list[Any]:
        listed = [
            entry(response_topic(c, device=device), f"response/{file_name(c)}")
            for c in scope.values()
        ]
        unknown = "bridge" if device == "bridge" else device
        return [*listed, entry(f"<base>/{unknown}/response/+", "response/unknown.json")]

    homeassistant = {t.topic_filter: t for t in HOME_ASSISTANT_TOPICS}
    return {
        "$comment": INDEX_COMMENT,
        "topics": [
            *published(BRIDGE_TOPICS),
            *responses(commands.bridge, "bridge"),
            *published(DEVICE_TOPICS),
            *responses(commands.device, "+"),
            *published(homeassistant.values()),
        ],
        "requests": {request_topic(c, device="+"): f"request/{file_name(c)}" for c in commands},
        "received": {t.topic_filter: t.schema for t in RECEIVED_TOPICS},
    }


def generated(commands: Commands = COMMANDS) -> tuple[Generated, ...]:
    """Every schema file of the commands, and the index."""
    kinds = (("request", request_schema), ("data", data_schema), ("response", response_schema))
    files = [
        Generated(Path("schemas", kind, file_name(command)), partial(_text, render, command))
        for command in commands
        for kind, render in kinds
    ]
    unknown = Generated(Path("schemas/response/unknown.json"), partial(_text, unknown_response))
    return (*files, unknown, Generated(Path("schemas/index.json"), partial(_text, index, commands)))


def _text(render: Callable[..., Any], *args: Any) -> str:
    """A schema file's text: two-space indents, UTF-8 as is, a final newline."""
    return json.dumps(render(*args), indent=2, ensure_ascii=False) + "\n"


GENERATED = generated()
