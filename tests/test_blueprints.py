"""The blueprints and the Home Assistant examples are what Home Assistant can import and open.

Blueprints (``blueprints/automation/lianke_bridge``): YAML with Home Assistant's ``!input`` tag;
every input used is declared and every declared one used, each with a selector and a name in
English and Chinese; ``source_url`` (the address "Import blueprint" and "Re-import" use) is the
file's own address in the repository, as is the link in its header and in docs/home-assistant.md.
Examples (``examples/homeassistant``): every automation has an id, unique across the files (Home
Assistant's editor and traces need one), the README they point to exists and names them, and the
job failed message says the cloud's reason in words. scripts/ha_check.py runs all of them in a
real Home Assistant.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINT_DIR = ROOT / "blueprints" / "automation" / "lianke_bridge"
BLUEPRINTS = sorted(BLUEPRINT_DIR.glob("*.yaml"))
EXAMPLES = ROOT / "examples" / "homeassistant"
CJK = re.compile(r"[\u4e00-\u9fff]")
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "urls"
]["Repository"]


@dataclass(frozen=True)
class InputRef:
    """One ``!input name`` in a blueprint."""

    name: str


class BlueprintLoader(yaml.SafeLoader):
    """Home Assistant's blueprint YAML: ``!input`` marks where an input's value goes."""


BlueprintLoader.add_constructor(
    "!input",
    lambda loader, node: InputRef(str(loader.construct_scalar(node))),  # type: ignore[arg-type]
)


def load_blueprint(path: Path) -> dict[str, Any]:
    """A blueprint file as Home Assistant parses it."""
    data = yaml.load(path.read_text(encoding="utf-8"), BlueprintLoader)  # noqa: S506
    assert isinstance(data, dict)
    return data


def declared_inputs(blueprint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input of the blueprint, those in sections (``input:`` inside an input) included."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in (blueprint["blueprint"].get("input") or {}).items():
        if isinstance(value, dict) and "input" in value:
            found.update(value["input"])
        else:
            found[key] = value or {}
    return found


def used_inputs(node: object) -> set[str]:
    """The inputs a blueprint's automation refers to."""
    if isinstance(node, InputRef):
        return {node.name}
    if isinstance(node, dict):
        return set().union(*(used_inputs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(used_inputs(v) for v in node))
    return set()


def test_the_promised_blueprints_ship_and_the_page_links_them() -> None:
    """Maintenance page, to-do list, needs attention, job failed, the push relay: all linked."""
    assert {path.stem for path in BLUEPRINTS} == {
        "cloud_push_relay",
        "maintenance_page",
        "print_todo_list",
        "printer_needs_attention",
        "job_failed",
    }
    page = (ROOT / "docs" / "home-assistant.md").read_text(encoding="utf-8")
    for path in BLUEPRINTS:
        assert load_blueprint(path)["blueprint"]["source_url"] in page, path.name


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[p.stem for p in BLUEPRINTS])
def test_a_blueprint_imports_from_its_own_address(path: Path) -> None:
    """An automation blueprint whose source_url (and header link) is its file on main."""
    text = path.read_text(encoding="utf-8")
    meta = load_blueprint(path)["blueprint"]
    address = f"{REPOSITORY}/blob/main/{path.relative_to(ROOT).as_posix()}"
    assert meta["source_url"] == address
    assert f"# {address}\n" in text  # the header says where to import it from
    assert meta["domain"] == "automation"
    assert meta["author"] == "lianke-bridge"
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", meta["homeassistant"]["min_version"])
    assert CJK.search(meta["description"])
    assert re.search(r"[A-Za-z]{4,} [a-z]{3,}", meta["description"])


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[p.stem for p in BLUEPRINTS])
def test_every_input_of_a_blueprint_is_declared_used_and_named_in_both_languages(
    path: Path,
) -> None:
    """What ``!input`` names exists, what exists is used; each input has a selector."""
    blueprint = load_blueprint(path)
    declared = declared_inputs(blueprint)
    automation = {k: v for k, v in blueprint.items() if k != "blueprint"}
    assert used_inputs(automation) == set(declared)
    assert used_inputs(blueprint["blueprint"]) == set()
    for name, spec in declared.items():
        assert isinstance(spec.get("selector"), dict), f"{name} has no selector"
        assert CJK.search(spec["name"]), f"{name}: {spec['name']!r} has no Chinese"
        assert re.search("[A-Za-z]{3,}", spec["name"]), f"{name}: {spec['name']!r}"
    assert automation["triggers"]
    assert automation["actions"]
    assert automation["mode"] in {"single", "restart", "queued", "parallel"}


def test_the_lianke_entity_inputs_offer_only_the_bridges_entities() -> None:
    """Entity selectors for the bridge's entities list MQTT entities of the right domain only."""
    wanted = {
        ("maintenance_page", "printers"): "button",
        ("printer_needs_attention", "printers"): "sensor",
        ("job_failed", "boxes"): "event",
        ("print_todo_list", "printer"): "notify",
    }
    for (stem, name), domain in wanted.items():
        spec = declared_inputs(load_blueprint(BLUEPRINT_DIR / f"{stem}.yaml"))[name]
        (only,) = spec["selector"]["entity"]["filter"]
        assert only["integration"] == "mqtt"
        assert only["domain"] == domain


# ---- the examples -----------------------------------------------------------------------------
def example_automations() -> list[tuple[str, dict[str, Any]]]:
    """Every automation of the example packages, with its file's name."""
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found += [(path.name, item) for item in data.get("automation", [])]
    return found


def test_every_example_automation_has_its_own_id() -> None:
    """Home Assistant shows traces (and the editor opens) only automations with an id."""
    automations = example_automations()
    assert len(automations) >= 4
    ids = [item.get("id") for _, item in automations]
    assert all(isinstance(i, str) and re.fullmatch("[a-z0-9_]+", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    aliases = [item["alias"] for _, item in automations]
    assert len(set(aliases)) == len(aliases)


def test_every_example_package_has_a_name_home_assistant_accepts() -> None:
    """``!include_dir_named packages`` names a package after its file: a slug, or it is refused."""
    for path in EXAMPLES.glob("*.yaml"):
        assert re.fullmatch("[a-z0-9_]+", path.stem), path.name


def test_the_examples_readme_exists_and_names_every_file() -> None:
    """The README the shopping list example points to, naming each example, in two languages."""
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "README.md" in (EXAMPLES / "print_shopping_list.yaml").read_text(encoding="utf-8")
    for path in EXAMPLES.glob("*.yaml"):
        assert f"({path.name})" in readme, path.name
    assert "中文" in readme


JOB = {
    "event_type": "failed",
    "task_id": "5f0c2b9e",
    "device": "office",
    "port": 1,
    "state": "failed",
    "result": {"code": 502, "message": "转换文件格式失败: 无法旋转文件方向"},
}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            JOB["result"],
            "Job 5f0c2b9e on port 1 failed: 转换文件格式失败: 无法旋转文件方向 (code 502)",
        ),
        (None, "Job 5f0c2b9e on port 1 failed: no reason given"),
    ],
)
def test_the_job_failed_example_says_the_reason_in_words(
    result: dict[str, Any] | None, expected: str
) -> None:
    """Not the result's dict: its message and code, as a sentence (HA strips the result)."""
    data = yaml.safe_load((EXAMPLES / "job_failed.yaml").read_text(encoding="utf-8"))
    (automation,) = data["automation"]
    (action,) = automation["actions"]
    template = jinja2.Environment(autoescape=False).from_string(action["data"]["message"])  # noqa: S701
    attributes = {**JOB, "result": result}
    text = template.render(trigger={"to_state": {"attributes": attributes}}).strip()
    assert text == expected
