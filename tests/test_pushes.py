"""The cloud's pushes without a network: reading them, their options, the token, the schedule.

The end-to-end behaviour (simulator -> bridge -> Mosquitto) is in tests/test_callbacks.py.
"""

from __future__ import annotations

import json
import logging
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from lianke_bridge.bridge.jobs.polls import JobPolls
from lianke_bridge.bridge.memory.push_token import TOKEN_FILE, push_token
from lianke_bridge.bridge.records.push import (
    MAX_PUSH_BYTES,
    JobPush,
    MessagePush,
    PushLedger,
    Unreadable,
    read_push,
)
from lianke_bridge.cloud.codes import TaskState
from lianke_bridge.config import JobsConfig, MqttConfig, validate_config
from lianke_bridge.errors import ConfigError
from lianke_bridge.simulator.jobs import Job
from lianke_bridge.simulator.state import message_body

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
JOB = {"device_id": "lc01demo000001", "task_id": "t-1", "task_state": "SUCCESS"}


@pytest.mark.parametrize(
    ("body", "read"),
    [
        (json.dumps(JOB), JobPush("lc01demo000001", "t-1", TaskState.SUCCESS)),
        ('{"msg_type": "device_offline", "device_id": "lc01"}', MessagePush("lc01")),
        ('{"type": 3, "data": {"deviceId": " lc01 "}}', MessagePush("lc01")),
        ('{"task_id": "t-1", "device_id": "lc01"}', Unreadable("bad_job", "")),
        ('{"hello": "world"}', Unreadable("unknown_shape", "")),
        ('["lc01"]', Unreadable("unknown_shape", "")),
        ("{'device_id': 'lc01'}", Unreadable("bad_json", "")),
        ("[" * 100_000, Unreadable("too_large", "")),
    ],
    ids=["job", "message", "nested-message", "job-without-state", "other", "list", "python", "big"],
)
def test_a_push_is_told_by_its_shape(body: str, read: Any) -> None:
    """A task_id makes a job's result; a box named elsewhere, a message; the rest is refused."""
    push = read_push(body.encode())
    if isinstance(read, Unreadable):
        assert isinstance(push, Unreadable)
        assert push.reason == read.reason
        assert len(push.shown) <= max(300, len(str(MAX_PUSH_BYTES)) + 6)
    else:
        assert push == read


def callback_schema() -> Draft202012Validator:
    """The validator of schemas/bridge-callback.json (it refers to nothing outside)."""
    return Draft202012Validator(
        json.loads((SCHEMAS / "bridge-callback.json").read_text(encoding="utf-8"))
    )


def test_the_simulators_pushes_match_the_callback_topics_schema() -> None:
    """Both kinds the simulator sends fit bridge-callback.json; a job without its box does not."""
    job = Job("t-1", "lc01demo000001", 1, 1, datetime.now().astimezone(), 10, 1)
    job.result_code, job.result_msg = 200, "success"
    validator = callback_schema()
    validator.validate(job.callback_body())
    validator.validate(
        message_body("lc01demo000001", "printer_unplugged", 2, "2024-01-01 10:00:00")
    )
    assert not validator.is_valid({"task_id": "t-1", "task_state": "SUCCESS"})


def raw(callback_url: str, **http: Any) -> dict[str, Any]:
    """A configuration with pushes to ``callback_url``."""
    return {
        "lianke": {"api_key": "test-api-key-123", "callback_url": callback_url},
        "devices": [{"device_id": "LC01TEST0001", "device_key": "test-device-key-1"}],
        "http": http,
    }


def test_the_bridges_own_endpoint_gets_its_token_and_path(tmp_path: Path) -> None:
    """``{token}`` ends the address: the path served is the URL's, or http.callback_path."""
    config = validate_config(raw("https://print.example.com/a/lianke/{token}", enabled=True))
    assert (config.push_mode, config.push_path) == ("http", "/a/lianke")
    assert config.push_url("T0KEN") == "https://print.example.com/a/lianke/T0KEN"
    assert "T0KEN" not in repr(config)
    assert "print.example.com" not in repr(config)
    moved = validate_config(
        raw("https://print.example.com/{token}", enabled="yes", callback_path="/hooks/lianke/")
    )
    assert (moved.push_path, moved.push_url("T")) == (
        "/hooks/lianke",
        "https://print.example.com/T",
    )
    relay = validate_config(raw("https://x.ui.nabu.casa/api/webhook/lianke-1?a=1"))
    assert (relay.push_mode, relay.push_path) == ("relay", None)
    assert relay.push_url("T") == "https://x.ui.nabu.casa/api/webhook/lianke-1?a=1"


@pytest.mark.parametrize(
    ("url", "http", "said"),
    [
        ("http://print.example.com/{token}", {"enabled": True}, "must start with https://"),
        ("https://localhost/{token}", {"enabled": True}, "a local name (localhost)"),
        ("https://printer.local/hook", {}, "a local name (printer.local)"),
        ("https://192.168.1.5/hook", {}, "a private or reserved address (192.168.1.5)"),
        ("https://[fd00::1]/hook", {}, "a private or reserved address"),
        ("https://a.example/{token}/x", {"enabled": True}, "{token} only once, as its last part"),
        ("https://a.example/x/{token}?t=1", {"enabled": True}, "as its last part"),
        ("https://u:p@a.example/hook", {}, "no user:password@"),
        ("https://a.example/{token}", {}, "http.enabled: must be true: lianke.callback_url ends"),
        ("https://a.example/hook", {"callback_path": "/x"}, "http.callback_path: is used only"),
        ("https://a.example/{token}", {"enabled": True, "callback_path": "x/../y"}, "a path like"),
    ],
    ids=[
        "http",
        "localhost",
        "mdns",
        "private",
        "private-v6",
        "token-inside",
        "token-query",
        "userinfo",
        "token-without-http",
        "path-without-token",
        "bad-path",
    ],
)
def test_a_callback_url_the_cloud_cannot_reach_is_refused(
    url: str, http: dict[str, Any], said: str
) -> None:
    """Only https, reachable from the internet, {token} last and with the HTTP endpoint on."""
    with pytest.raises(ConfigError) as caught:
        validate_config(raw(url, **http), environ={})
    assert said in str(caught.value)


def test_the_token_is_made_once_kept_private_and_replaced_when_broken(tmp_path: Path) -> None:
    """Made at first, the same at the next start, 0600; a damaged file makes a new one."""
    first = push_token(tmp_path / "state")
    assert first is not None
    assert len(first) == 32
    path = tmp_path / "state" / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert push_token(tmp_path / "state") == first
    path.write_text('{"token": "short"}', encoding="utf-8")
    assert push_token(tmp_path / "state", create=False) is None
    second = push_token(tmp_path / "state")
    assert second not in (None, first)
    assert push_token(tmp_path / "state", create=False) == second


def test_a_state_dir_without_writes_gives_a_token_for_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The folder cannot be written: a token anyway, and a WARNING that never shows it."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    token = push_token(blocked / "state")
    assert token is not None
    assert "cannot keep the push token" in caplog.text
    assert token not in caplog.text


def test_a_job_ending_without_its_push_brings_frequent_polls_back() -> None:
    """Rare polls while pushes arrive; the first miss says so (WARNING) and polls come sooner."""
    ledger = PushLedger(mode="http")
    polls = JobPolls(JobsConfig(poll_interval=10, push_poll_interval=60), ledger)
    polls.later("a", now=0.0)
    assert (polls.interval, polls.due("a", 59.0), polls.due("a", 60.0)) == (60, False, True)
    polls.missed("b", now=5.0)
    assert (ledger.arriving, ledger.missed, polls.interval) == (False, 1, 10)
    assert polls.due("a", 15.0)
    polls.arrived()
    assert (ledger.arriving, polls.interval) == (True, 60)
    silent = JobPolls(JobsConfig(poll_interval=10), PushLedger(mode="off"))
    silent.missed("c", now=0.0)
    assert (silent.pushes.arriving, silent.interval) == (True, 10)


def test_a_pushed_end_is_confirmed_once_at_a_time_and_not_again_soon() -> None:
    """One confirmation per job in flight, none again within poll_interval."""
    polls = JobPolls(JobsConfig(poll_interval=10), PushLedger(mode="http"))
    assert polls.may_confirm("a", now=0.0) is None
    assert polls.may_confirm("a", now=1.0) == "duplicate"
    assert not polls.due("a", now=100.0)  # no poll while its confirmation runs
    polls.confirmed("a", now=2.0)
    assert polls.may_confirm("a", now=9.0) == "too_soon"
    assert polls.may_confirm("a", now=10.5) is None


def test_the_ledger_is_health_json() -> None:
    """bridge/health's ``pushes``: counts by way and reason, nothing of the address."""
    ledger = PushLedger(mode="relay")
    ledger.received["mqtt"] += 2
    ledger.rejected["bad_json"] += 1
    assert ledger.to_json() == {
        "mode": "relay",
        "arriving": True,
        "received": {"mqtt": 2},
        "rejected": {"bad_json": 1},
        "confirmed": 0,
        "missed": 0,
        "duplicates": 0,
        "messages": 0,
        "refreshes": 0,
        "last_at": None,
    }


def test_nothing_logs_below_debug_for_a_strangers_push(caplog: pytest.LogCaptureFixture) -> None:
    """Reading a push logs nothing by itself (the receiver says it, at DEBUG only)."""
    caplog.set_level(logging.DEBUG)
    read_push(b"garbage")
    assert not caplog.records


BLUEPRINT = SCHEMAS.parent / "blueprints" / "automation" / "lianke_bridge" / "cloud_push_relay.yaml"


def test_the_relay_blueprint_publishes_each_push_to_the_callback_topic() -> None:
    """The webhook takes POSTs from the internet; each body goes to <base>/bridge/callback."""

    class BlueprintLoader(yaml.SafeLoader):
        """Home Assistant's ``!input`` tag, read as its input's name."""

    BlueprintLoader.add_constructor("!input", lambda _loader, node: ("input", node.value))
    blueprint = yaml.load(BLUEPRINT.read_text(encoding="utf-8"), BlueprintLoader)  # noqa: S506
    meta = blueprint["blueprint"]
    assert meta["domain"] == "automation"
    assert meta["source_url"].endswith("blueprints/automation/lianke_bridge/cloud_push_relay.yaml")
    assert meta["input"]["base_topic"]["default"] == MqttConfig().base_topic
    (trigger,) = blueprint["triggers"]
    assert trigger == {
        "trigger": "webhook",
        "webhook_id": ("input", "webhook_id"),
        "allowed_methods": ["POST"],
        "local_only": False,
    }
    (action,) = blueprint["actions"]
    assert action["action"] == "mqtt.publish"
    assert action["data"]["topic"] == "{{ base_topic }}/bridge/callback"
    assert action["data"]["retain"] is False
