"""Configuration files: YAML aliases are kept bounded (an alias bomb is refused, naming its line).

Pure tests: files in tmp_path, an explicit ``environ``, no network.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from config_files import MINIMAL, write

from lianke_bridge.config import check_config, load_config
from lianke_bridge.errors import ConfigError


def _bomb(levels: int, key: str = "x") -> str:
    """The "billion laughs": each level is nine aliases of the level before (9**levels values)."""
    lines = [f"{key}0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{key}{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


# ---- YAML aliases ---------------------------------------------------------------------------
def test_alias_bomb_is_refused_with_its_line(tmp_path: Path) -> None:
    """A few hundred bytes that expand to millions of values are refused, naming the line."""
    text = MINIMAL + _bomb(6)
    assert len(text.encode()) < 1024
    with pytest.raises(ConfigError, match=r"line 10, column \d+: too many aliases"):
        load_config(write(tmp_path, text), environ={})


def test_check_config_reports_an_alias_bomb(tmp_path: Path) -> None:
    """``check-config`` answers a 1 kB bomb (9**8 values) with one clear problem."""
    ok, report = check_config(write(tmp_path, MINIMAL + _bomb(8)), environ={})
    assert not ok
    assert "too many aliases" in report
    assert report.count("\n") == 1


def test_alias_bomb_in_secrets_is_refused(tmp_path: Path) -> None:
    """secrets.yaml goes through the same limit."""
    write(tmp_path, "api: key\n" + _bomb(8, "s"), "secrets.yaml")
    text = MINIMAL.replace("test-api-key-123", "!secret api")
    with pytest.raises(ConfigError, match="too many aliases"):
        load_config(write(tmp_path, text), environ={})


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    """Sharing settings with an anchor and ``<<:`` merge keys is still fine."""
    text = """\
lianke:
  api_key: test-api-key-123
devices:
  - &box
    device_id: LC01TEST0001
    device_key: test-device-key-1
    poll: &slow {device_info: 120, tasks: 120}
  - <<: *box
    name: second
    device_id: LC01TEST0002
    poll: *slow
"""
    config = load_config(write(tmp_path, text), environ={})
    assert [d.poll.tasks for d in config.devices] == [120, 120]
    assert config.devices[1].device_key == "test-device-key-1"


def test_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    """A self-referencing list is refused instead of becoming an endless structure."""
    text = MINIMAL + "x: &loop [a, *loop]\n"
    with pytest.raises(ConfigError, match=r"line 6, column \d+: the alias \*loop is inside"):
        load_config(write(tmp_path, text), environ={})
