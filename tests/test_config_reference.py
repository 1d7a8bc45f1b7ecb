"""docs/configuration.md cannot drift: every key described twice, its defaults the bridge's own.

The page itself is checked against its generator by tests/test_generated.py; these tests check
what the generator reads: that no key of the schema lacks an English or a Chinese description
(adding one without both fails here), that the defaults the page shows are those the bridge
uses, and that config.example.yaml shows every key and no other.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml

from lianke_bridge.config import descriptions_zh, schema, validate_config
from lianke_bridge.config.schema import CONFIG_BASE_SCHEMA, MQTT_BASE_SCHEMA, section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from generators.config_keys import UNSET, MissingDescriptionError, Option, every_option, walk
from generators.config_reference import default_yaml

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
MINIMAL: dict[str, Any] = {
    "lianke": {"api_key": "test-api-key-123"},
    "devices": [{"device_id": "LC01TEST0001", "device_key": "test-device-key-1"}],
}


def options() -> list[Option]:
    """Every key of the schema, as the reference lists them."""
    return every_option(walk())


def reference_paths() -> set[str]:
    """Every key the reference lists, and the ``<key>_file`` of each secret."""
    found = set()
    for option in options():
        found.add(option.path)
        if option.file_key:
            found.add(f"{option.path.rpartition('.')[0]}.{option.file_key}")
    return found


def test_every_key_has_an_english_and_a_chinese_description() -> None:
    """Each key and section reads in both languages, and the Chinese table has no stale entry."""
    every = options()
    sections = [option.opens for option in every if option.opens is not None]
    texts = [(o.path, o.en, o.zh) for o in every] + [(b.path, b.en, b.zh) for b in sections]
    for path, en, zh in texts:
        assert en.strip(), path
        assert CHINESE.search(zh), f"{path}: the Chinese description is not Chinese"
    assert set(descriptions_zh.OPTIONS) <= {option.path for option in every}
    assert set(descriptions_zh.SECTIONS) == {block.path for block in sections}


def test_a_key_added_without_its_descriptions_stops_the_reference() -> None:
    """A new key, at the top or inside a section, needs an English and a Chinese description."""
    bare = CONFIG_BASE_SCHEMA.extend({vol.Optional("brand_new"): bool})
    with pytest.raises(MissingDescriptionError, match=r"brand_new has no description"):
        walk(bare)
    nested = CONFIG_BASE_SCHEMA.extend(
        {vol.Optional("mqtt"): section(MQTT_BASE_SCHEMA.extend({vol.Optional("new_key"): bool}))}
    )
    with pytest.raises(MissingDescriptionError, match=r"mqtt\.new_key has no description"):
        walk(nested)
    english_only = CONFIG_BASE_SCHEMA.extend(
        {vol.Optional("brand_new", description="A new option."): bool}
    )
    with pytest.raises(MissingDescriptionError, match=r"brand_new has no Chinese description"):
        walk(english_only)


def _put(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a reference path (``devices[]`` is the one box of MINIMAL)."""
    where: Any = raw
    parts = path.split(".")
    for part in parts[:-1]:
        name = part.removesuffix("[]")
        where = where.setdefault(name, {})
        if part.endswith("[]"):
            where = where[0]
    where[parts[-1]] = value


def _shown(option: Option) -> bool:
    """Whether the reference shows a value as the key's default."""
    default = option.default
    return not (
        option.required
        or option.opens is not None
        or default is UNSET
        or default is None
        or default == {}
    )


def test_the_defaults_shown_are_the_defaults_the_bridge_uses() -> None:
    """Writing every default the reference shows gives the configuration that writing none gives."""
    explicit: dict[str, Any] = {
        "lianke": dict(MINIMAL["lianke"]),
        "devices": [dict(MINIMAL["devices"][0])],
    }
    unset_sections = {o.path for o in options() if o.opens is not None and o.default is None}
    written = 0
    for option in options():
        if _shown(option) and not any(option.path.startswith(f"{s}.") for s in unset_sections):
            _put(explicit, option.path, yaml.safe_load(default_yaml(option)))
            written += 1
    assert written > 30
    assert validate_config(explicit, environ={}) == validate_config(MINIMAL, environ={})


_COMMENTED_KEY = re.compile(r"^(\s*)# (\s*[a-z_]+:(?:\s|$))")
"""A key shown commented out (``# pages: odd``): its place is where the ``#`` is."""


def _paths(data: Any, prefix: str, sections: set[str]) -> set[str]:
    """The key paths of loaded YAML, down to the keys the reference lists as values."""
    if isinstance(data, list):
        return set().union(*(_paths(item, f"{prefix}[]", sections) for item in data))
    if not isinstance(data, dict) or (prefix and prefix not in sections):
        return set()
    found = set()
    for key, value in data.items():
        path = f"{prefix}.<port>" if isinstance(key, int) else ".".join(filter(None, (prefix, key)))
        if not isinstance(key, int):
            found.add(path)
        found |= _paths(value, path, sections)
    return found


def test_the_example_shows_every_key_and_no_other() -> None:
    """config.example.yaml has each key of the reference (commented out or not), and no other."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    uncommented = "\n".join(_COMMENTED_KEY.sub(r"\1\2", line) for line in lines[start:])
    sections = {o.opens.path for o in options() if o.opens is not None}
    sections |= {o.path for o in options() if o.accepts.kind == "ports"}
    shown, listed = _paths(yaml.safe_load(uncommented), "", sections), reference_paths()
    assert not listed - shown, f"missing from config.example.yaml: {sorted(listed - shown)}"
    assert not shown - listed, f"not options, in config.example.yaml: {sorted(shown - listed)}"


def test_the_did_you_mean_hints_know_every_key() -> None:
    """A misspelt key is matched against every key the reference lists (and no other name)."""
    assert {path.rpartition(".")[2] for path in reference_paths()} == schema._ALL_KEYS
