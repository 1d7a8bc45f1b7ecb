"""Every option of the configuration file, read from the code that checks and holds it.

The voluptuous schema (lianke_bridge/config/schema.py) says which keys exist, which are required
and what each accepts; the dataclasses (config/model.py, and ``PrintOptions`` for a port's
``print_defaults``) hold the defaults and, in the first paragraph of each docstring, the English
descriptions; config/descriptions_zh.py holds the Chinese ones; config/overrides.py says which
environment variables and ``<key>_file`` secrets stand in for a key. A key that cannot be
described in both languages stops the walk with :class:`MissingDescriptionError`, which says where
to write: the reference cannot leave a key out, or carry one the schema dropped.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import voluptuous as vol

from generators import ROOT
from lianke_bridge.config import descriptions_zh
from lianke_bridge.config.model import LOG_LEVELS, PRINTER_TYPES, Config
from lianke_bridge.config.overrides import ENV_OVERRIDES, SECRET_FILE_KEYS
from lianke_bridge.config.schema import CONFIG_BASE_SCHEMA
from lianke_bridge.print_options import PrintOptions
from lianke_bridge.print_options import words as print_options

UNSET: Any = dataclasses.MISSING
"""The default of a key the bridge leaves unset (or works out) when the file says nothing."""


class MissingDescriptionError(Exception):
    """A key of the schema has no English or no Chinese description, or a validator is unknown."""


@dataclass(frozen=True)
class Accepts:
    """What a key accepts, as its validator checks it."""

    kind: str
    """``duration``, ``integer``, ``choice``, ``mapping``…: the words of the reference's table."""
    low: float | None = None
    high: float | None = None
    words: tuple[str, ...] = ()
    """A ``choice``'s words (or a ``scale``'s, a ``pages``'s)."""
    secret: bool = False


@dataclass(frozen=True)
class Option:
    """One key of the file."""

    path: str
    """Like ``mqtt.tls.ca_certs``; a list's item is ``[]``, a port number ``<port>``."""
    accepts: Accepts
    required: bool
    default: Any
    """The model's default (:data:`UNSET` when it has none, or the bridge works one out)."""
    file_key: str | None
    """``api_key_file`` for ``api_key``: the secret read from a file instead."""
    env: tuple[str, ...]
    en: str
    zh: str
    opens: Block | None
    """The section this key holds (``mqtt.tls``, ``devices[].poll``…), if it holds one."""


@dataclass(frozen=True)
class Block:
    """A section of the file: a heading of the reference, and its keys."""

    path: str
    en: str
    zh: str
    options: tuple[Option, ...]


# ---- reading the code ----------------------------------------------------------------------------
def paragraphs(text: str) -> list[str]:
    """A docstring's paragraphs, each on one line."""
    return [" ".join(part.split()) for part in inspect.cleandoc(text).split("\n\n")]


def attribute_docs(cls: type[Any]) -> tuple[str, dict[str, str]]:
    """A class's docstring (every paragraph) and the first paragraph of each field's.

    A field's docstring is the string after it; its later paragraphs are for developers.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)  # noqa: S101 - getsource of a class is its definition
    docs: dict[str, str] = {}
    for item, after in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(item, ast.AnnAssign)
            and isinstance(item.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[item.target.id] = paragraphs(after.value.value)[0]
    return "\n\n".join(paragraphs(ast.get_docstring(node) or "")), docs


def _closure(function: Any) -> dict[str, Any]:
    """The variables a validator closes over, and the module globals it names."""
    found = inspect.getclosurevars(function)
    return {**found.globals, **found.nonlocals}


_WRAPPERS = {"each": "list", "port_map": "ports", "section": "mapping", "every": "mapping"}
"""schema.py's combinators (``<name>.<locals>.validate``) and what they make of their schema."""


def _combinator(value: Any) -> str | None:
    qualname = getattr(value, "__qualname__", "")
    name, _, rest = qualname.partition(".<locals>.")
    return _WRAPPERS.get(name) if rest == "validate" else None


def _is_schema(value: Any) -> bool:
    return isinstance(value, vol.Schema) or _combinator(value) is not None


def shape(validator: Any) -> tuple[str, Any]:
    """``("mapping" | "list" | "ports", the inner dict)``, or ``("leaf", validator)``."""
    if isinstance(validator, vol.Schema):
        return shape(validator.schema)
    if isinstance(validator, dict):
        return "mapping", validator
    if isinstance(validator, vol.All):
        inner = shape(validator.validators[0])
        return inner if inner[0] != "leaf" else ("leaf", validator)
    kind = _combinator(validator)
    if kind is not None:
        inner_kind, inner = shape(_closure(validator)["compiled"])
        return (kind if kind != "mapping" else inner_kind), inner
    if inspect.isfunction(validator):  # a plain function over one schema, like schema.tls
        schemas = [value for value in _closure(validator).values() if _is_schema(value)]
        if len(schemas) == 1:
            return shape(schemas[0])
    return "leaf", validator


_NAMED: Mapping[str, Accepts] = {
    "boolean": Accepts("boolean"),
    "text": Accepts("text"),
    "secret": Accepts("text", secret=True),
    "host": Accepts("host"),
    "http_url": Accepts("url"),
    "callback_url": Accepts("https_url", secret=True),
    "callback_path": Accepts("url_path"),
    "valid_base_topic": Accepts("topic"),
    "valid_own_topic": Accepts("topic"),
    "device_name": Accepts("slug"),
    "device_id": Accepts("text"),
    "qr_credentials": Accepts("qr", secret=True),
    "mqtt_protocol": Accepts("choice", words=("5", "3.1.1")),
    "log_level": Accepts("choice", words=LOG_LEVELS),
    "language": Accepts("choice", words=("en", "zh-Hans")),
    "printer_type": Accepts("choice", words=("1", "2", "3", *PRINTER_TYPES)),
    "existing_file": Accepts("file"),
    "directory": Accepts("folder"),
    "host_list": Accepts("hosts"),
    "shard_spec": Accepts("shard"),
    "tls": Accepts("tls"),
}
"""The validators of validators.py (and schema.py) that take no parameters, by name."""

_PRINT_OPTIONS: Mapping[str, Accepts] = {
    "copies": Accepts("integer", 1, print_options.MAX_COPIES),
    "paper": Accepts("paper"),
    "color": Accepts("choice", words=tuple(print_options.COLORS)),
    "duplex": Accepts("choice", words=tuple(print_options.DUPLEX)),
    "orientation": Accepts("choice", words=tuple(print_options.ORIENTATIONS)),
    "scale": Accepts("scale", 1, print_options.MAX_SCALE_PERCENT, print_options.SCALES),
    "align": Accepts("choice", words=tuple(print_options.ALIGNMENTS)),
    "pages": Accepts("pages", 1, print_options.MAX_PAGE, tuple(print_options.PAGE_SETS)),
    "reverse": Accepts("boolean"),
    "auto_rotate": Accepts("boolean"),
    "file_ext": Accepts("extension"),
    "options": Accepts("mapping"),
}
"""A port's print options, read by the ``print`` command's own readers (print_options)."""


def accepts(validator: Any) -> Accepts:
    """What a leaf validator takes; MissingDescriptionError for one this module does not know."""
    if isinstance(validator, vol.All):
        found = accepts(validator.validators[0])
        for rule in validator.validators[1:]:
            if isinstance(rule, vol.Length):
                low, high = cast("int | None", rule.min), cast("int | None", rule.max)
                found = dataclasses.replace(found, low=low, high=high)
        return found
    qualname = getattr(validator, "__qualname__", repr(validator))
    name, _, inner = qualname.partition(".<locals>.")
    values = _closure(validator) if inspect.isfunction(validator) else {}
    if inner != "validate" and name in _NAMED:
        return _NAMED[name]
    factories = {
        "optional": lambda: accepts(values["validator"]),
        "seconds": lambda: Accepts("duration", values["minimum"], values["maximum"]),
        "integer": lambda: Accepts("integer", values["minimum"], values["maximum"]),
        "positive_number": lambda: Accepts("positive", None, values["maximum"]),
        "byte_size": lambda: Accepts("size", values["minimum"], values["maximum"]),
        "one_of": lambda: Accepts("choice", words=values["words"]),
        "print_option": lambda: _PRINT_OPTIONS[values["key"]],
    }
    if inner == "validate" and name in factories:
        try:
            return factories[name]()
        except KeyError:
            pass
    raise MissingDescriptionError(
        f"no words for the validator {qualname}: teach scripts/generators/config_keys.py"
    )


def _dataclass_in(hint: Any) -> type[Any] | None:
    """The dataclass a field holds (``TlsConfig | None``, ``tuple[DeviceConfig, ...]``)."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    for arg in typing.get_args(hint):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None


_FIELD_OF: Mapping[tuple[type[Any], str], str] = {(PrintOptions, "options"): "api_fields"}
"""Keys whose field has another name."""


def _source(cls: type[Any]) -> str:
    """Where a class is written, from the repository's root when it is in the repository."""
    path = Path(inspect.getsourcefile(cls) or "?").resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# ---- the walk ------------------------------------------------------------------------------------
def _chinese(path: str, table: Mapping[str, str], name: str) -> str:
    if not table.get(path):
        raise MissingDescriptionError(
            f"{path} has no Chinese description: add {path!r} to {name} in "
            "lianke_bridge/config/descriptions_zh.py"
        )
    return table[path]


def _default(field: dataclasses.Field[Any] | None) -> Any:
    if field is None:
        return UNSET
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return UNSET


def _option(
    key: str,
    marker: Any,
    validator: Any,
    *,
    kind: str,
    model: type[Any] | None,
    opens: Block | None,
) -> Option:
    """One key, described from its field's docstring (or its marker's ``description``)."""
    name = str(marker)
    fields = {field.name: field for field in dataclasses.fields(model)} if model else {}
    field = fields.get(_FIELD_OF.get((model, name), name)) if model is not None else None
    docs = attribute_docs(model)[1] if model is not None else {}
    en = (docs.get(field.name) if field is not None else None) or getattr(
        marker, "description", None
    )
    if en:
        zh = _chinese(key, descriptions_zh.OPTIONS, "OPTIONS")
    elif opens is not None:  # a section's key (``lianke``): its section's words say it
        en, zh = opens.en, opens.zh
    else:
        where = (
            f"a docstring under {model.__name__}.{field.name} in {_source(model)}"
            if model is not None and field is not None
            else f"a description= on the vol.Optional({name!r}) of its schema"
        )
        raise MissingDescriptionError(f"{key} has no description: write {where}")
    qualname = getattr(validator, "__qualname__", "")
    files = SECRET_FILE_KEYS.get(key.rpartition(".")[0].removesuffix("[]"), ())
    return Option(
        path=key,
        accepts=accepts(validator) if opens is None else _NAMED.get(qualname, Accepts(kind)),
        required=isinstance(marker, vol.Required),
        default=_default(field),
        file_key=f"{name}_file" if name in files else None,
        env=tuple(var for var, at in ENV_OVERRIDES.items() if ".".join(at) == key),
        en=en,
        zh=zh,
        opens=opens,
    )


def _block(path: str, mapping: Mapping[Any, Any], model: type[Any] | None) -> Block:
    """A section and everything under it."""
    en = zh = ""
    if path:
        en = attribute_docs(model)[0] if model is not None else ""
        if not en:
            raise MissingDescriptionError(
                f"the section {path} has no description: write the docstring of its dataclass"
            )
        zh = _chinese(path, descriptions_zh.SECTIONS, "SECTIONS")
    hints = typing.get_type_hints(model) if model is not None else {}
    options = []
    for marker, validator in mapping.items():
        name = str(marker)
        key = f"{path}.{name}" if path else name
        kind, inner = shape(validator)
        opens = None
        if kind != "leaf":
            field_name = _FIELD_OF.get((model, name), name) if model else name
            section_model = _dataclass_in(hints.get(field_name))
            child = key + {"list": "[]", "ports": ".<port>"}.get(kind, "")
            opens = _block(child, inner, section_model)
        options.append(_option(key, marker, validator, kind=kind, model=model, opens=opens))
    return Block(path, en, zh, tuple(options))


def walk(schema: vol.Schema = CONFIG_BASE_SCHEMA, model: type[Any] = Config) -> Block:
    """The whole file: the top-level keys, each section under the key that holds it."""
    return _block("", shape(schema)[1], model)


def every_option(block: Block) -> list[Option]:
    """Every key under ``block``, depth first, in the schema's order."""
    found: list[Option] = []
    for option in block.options:
        found.append(option)
        if option.opens is not None:
            found.extend(every_option(option.opens))
    return found
