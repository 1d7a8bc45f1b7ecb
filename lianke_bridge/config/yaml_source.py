"""Reading the YAML file: ``!secret`` and ``!env``, line numbers, duplicate keys, an alias limit.

The loader keeps going after a problem so that one run reports every problem of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from lianke_bridge import inputfile
from lianke_bridge.config.report import Problem
from lianke_bridge.errors import ConfigError, InputFileError

SECRETS_FILE = "secrets.yaml"
"""``!secret name`` looks ``name`` up in this file, beside the configuration file."""


class Unresolved:
    """A ``!secret`` or ``!env`` (or ``*_file``) that could not be resolved.

    It stands in for the value so the rest of the file is still checked; its own problem is
    reported once, and schema complaints about its place are dropped.
    """

    def __init__(self, message: str | None, line: int | None) -> None:
        self.message = message
        self.line = line

    def __repr__(self) -> str:
        return "<unresolved>"


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key."""

    line: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}


class _LineList(list[Any]):
    """A YAML sequence that remembers the line of each item."""

    line: int | None = None

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self.lines: list[int] = []


MAX_YAML_NODES = 20_000
"""Nodes a configuration may hold with every alias expanded: a large fleet needs a few
thousand, an "alias bomb" (a kilobyte of nested ``*alias`` lists) billions."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses a document growing past ``MAX_YAML_NODES`` through aliases.

    Aliases stay allowed (``<<: *defaults`` is a fine habit); each one is counted as the size
    of what it expands to, so the check costs one visit per distinct node.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded_nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Count every node, an alias as all the nodes it stands for."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = cast("yaml.Mark | None", event.start_mark)
        grows = 1
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, f"the alias *{event.anchor} is inside its own anchor", mark
                )
            grows = self._size(target) if target is not None else 1
        self._expanded_nodes += grows
        if self._expanded_nodes > MAX_YAML_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"too many aliases: with every alias expanded the file would hold more than "
                f"{MAX_YAML_NODES:,} values",
                mark,
            )
        node = super().compose_node(parent, index)
        if node is not None:
            self._size(node)  # complete now: an alias may refer to it
        return node

    def _size(self, node: yaml.Node) -> int:
        """Nodes in ``node`` with aliases expanded (memoised: a node is measured once)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._size(key) + self._size(value) for key, value in node.value)
        self._sizes[id(node)] = size
        return size


def _safe_load(content: str) -> Any:
    """``yaml.safe_load`` with the alias limit (for secrets.yaml)."""
    loader = _BoundedLoader(content)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _Loader(_BoundedLoader):
    """SafeLoader with ``!secret`` and ``!env``, line numbers and duplicate-key detection."""

    def __init__(self, stream: str, *, path: Path | None, environ: Mapping[str, str]) -> None:
        super().__init__(stream)
        self.config_path = path
        self.environ = environ
        self.problems: list[Problem] = []
        self._secrets: dict[Any, Any] | str | None = None

    def secrets(self) -> dict[Any, Any] | str:
        """The secrets file beside the configuration, or why it cannot be used."""
        if self._secrets is None:
            self._secrets = _read_secrets(self.config_path)
        return self._secrets


def _read_secrets(config_path: Path | None) -> dict[Any, Any] | str:  # noqa: PLR0911 - one reason each
    """The secrets file, or a sentence saying why it cannot be used."""
    if config_path is None:
        return f"!secret needs a configuration file (with a {SECRETS_FILE} beside it)"
    path = config_path.parent / SECRETS_FILE
    try:
        content = inputfile.read_text(path, inputfile.MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return f"there is no {SECRETS_FILE} beside {config_path.name} (looked for {path})"
    except InputFileError as err:
        return str(err)
    try:
        data = _safe_load(content)
    except yaml.MarkedYAMLError as err:
        return f"{path} is not valid YAML: {_yaml_problem(err)}"
    except yaml.YAMLError:
        return f"{path} is not valid YAML"
    if data is None:
        return f"{path} is empty"
    if not isinstance(data, dict):
        return f"{path} must be a mapping of 'name: value' lines"
    return data


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    own_keys = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)
    data = LineDict()
    data.line = node.start_mark.line + 1
    first_seen: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                "found a key that is not text",
                key_node.start_mark,
            ) from None
        if id(key_node) in own_keys:
            if key in first_seen:
                loader.problems.append(
                    Problem(
                        (),
                        f"'{key}' is given twice in the same section (first on line "
                        f"{first_seen[key]}); remove one",
                        line,
                    )
                )
            first_seen[key] = line
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = line
    return data


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    data = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    data.line = node.start_mark.line + 1
    data.lines = [child.start_mark.line + 1 for child in node.value]
    return data


def _construct_secret(loader: _Loader, node: yaml.Node) -> Any:
    """``!secret name``: the entry ``name`` of secrets.yaml beside the configuration file."""
    line = node.start_mark.line + 1
    name = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    name = str(name).strip()
    if not name:
        return Unresolved("!secret needs the name of an entry in secrets.yaml", line)
    secrets = loader.secrets()
    if isinstance(secrets, str):
        return Unresolved(f"!secret {name}: {secrets}", line)
    if name not in secrets:
        return Unresolved(f"!secret {name}: {SECRETS_FILE} has no entry '{name}'", line)
    return secrets[name]


def _construct_env(loader: _Loader, node: yaml.Node) -> Any:
    """``!env VAR`` or ``!env VAR default``: an environment variable (empty counts as unset)."""
    line = node.start_mark.line + 1
    spec = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    parts = str(spec).split(maxsplit=1)
    if not parts:
        return Unresolved("!env needs the name of an environment variable", line)
    value = loader.environ.get(parts[0])
    if value:
        return value
    if len(parts) == 2:  # noqa: PLR2004 - name and default
        return parts[1]
    return Unresolved(f"!env {parts[0]}: the environment variable is not set", line)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("!secret", _construct_secret)
_Loader.add_constructor("!env", _construct_env)


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    """A YAML error without its snippet of the file (the line might hold a secret)."""
    mark = err.problem_mark or err.context_mark
    what = err.problem or err.context or "not valid YAML"
    if mark is None:
        return what
    return f"line {mark.line + 1}, column {mark.column + 1}: {what}"


def read_yaml(path: Path, environ: Mapping[str, str]) -> tuple[Any, list[Problem]]:
    """The file's data and the problems found while reading it (a bad file raises at once)."""
    try:
        content = inputfile.read_text(path, inputfile.MAX_CONFIG_BYTES)
    except FileNotFoundError as err:
        raise ConfigError(f"there is no file {path} (start from config.example.yaml)") from err
    except InputFileError as err:
        raise ConfigError(str(err)) from err
    loader = _Loader(content, path=path.absolute(), environ=environ)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(err)}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML") from err
    finally:
        loader.dispose()
    return data, loader.problems


def line_of(raw: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest part of ``path`` that is in the file."""
    node, line = raw, getattr(raw, "line", None)
    for part in path:
        if isinstance(node, LineDict):
            key = part
            if key not in node and isinstance(part, str) and part.isdigit():
                key = int(part)
            if key not in node:
                break
            line, node = node.lines.get(key, line), node[key]
        elif isinstance(node, _LineList) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.lines[part], node[part]
        else:
            break
    return line
