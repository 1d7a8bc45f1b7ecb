"""The site's page of the AsyncAPI document lists every channel, by direction, with its schema."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from generators.asyncapi_page import render_document

MESSAGES = {
    "box-state": {"payload": {"schema": {"$ref": "../schemas/box-state.json"}}},
    "request-print": {"payload": {"schema": {"$ref": "../schemas/request/print.json"}}},
}
DOCUMENT = {
    "channels": {
        "device-state": {
            "address": "{base}/{device}/state",
            "summary": "The box's snapshot.",
            "messages": {"box-state": {"$ref": "#/components/messages/box-state"}},
        },
        "device-request-print": {
            "address": "{base}/{device}/request/print",
            "messages": {"request-print": {"$ref": "#/components/messages/request-print"}},
        },
    },
    "operations": {
        "send-device-state": {
            "action": "send",
            "channel": {"$ref": "#/channels/device-state"},
            "bindings": {"mqtt": {"qos": 1, "retain": True}},
        },
        "receive-device-request-print": {
            "action": "receive",
            "channel": {"$ref": "#/channels/device-request-print"},
            "summary": "Prints a document | a page.",
            "bindings": {"mqtt": {"qos": 1}},
        },
    },
    "components": {
        "messages": MESSAGES,
        "parameters": {"base": {"description": "The configuration's mqtt.base_topic."}},
    },
}
SCHEMAS = "https://github.com/lianke-bridge/lianke-bridge/blob/main/schemas"


def test_each_channel_is_listed_under_its_direction_with_its_schema() -> None:
    """What the bridge publishes and what it listens to, each with QoS, retain and schema."""
    page = render_document(DOCUMENT)
    publishes, listens = page.split("## The bridge publishes")[1].split("## The bridge listens")
    assert (
        f"| `{{base}}/{{device}}/state` | 1 | yes | The box's snapshot. "
        f"| [`box-state.json`]({SCHEMAS}/box-state.json) |"
    ) in publishes
    assert (
        f"| `{{base}}/{{device}}/request/print` | 1 | no | Prints a document \\| a page. "
        f"| [`request/print.json`]({SCHEMAS}/request/print.json) |"
    ) in listens
    assert "request/print" not in publishes
    assert "- `{base}`: The configuration's mqtt.base_topic." in page
