"""Python types -> JSON Schema: how the typed requests and answers become published schemas.

A dataclass is an object with its fields as properties (described by their attribute
docstrings), ``X | None`` adds null, ``list``/``tuple`` are arrays, ``dict``/``Mapping`` objects
keyed by strings, ``Literal`` a const or enum, ``bool``/``int``/``float``/``str`` their JSON
types. ``Annotated[T, hint]`` (:mod:`lianke_bridge.wire`) replaces (``Schema``) or extends
(``Extra``) what the type gives. The contract's own records (a job, a box's or a printer's
snapshot) are the definitions of ``schemas/common.json`` (:data:`COMMON`).
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields, is_dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from lianke_bridge.bridge.records.state import BoxState, JobRecord, PrinterState
from lianke_bridge.wire import Extra, Schema, ref

COMMON: Mapping[type, str] = {
    JobRecord: "job",
    BoxState: "box_state",
    PrinterState: "printer_state",
}
"""Records with a hand-made ``to_json()``: described once, in ``schemas/common.json``."""

_JSON_TYPES: Mapping[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}


def schema_of(tp: Any) -> dict[str, Any]:  # noqa: PLR0911 - one return per kind of type
    """The JSON Schema of a value of type ``tp``."""
    if get_origin(tp) is not None:
        return _generic(tp)
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}
    if tp in COMMON:
        return dict(ref(COMMON[tp]).schema)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [member.value for member in tp]}
    if isinstance(tp, type) and is_dataclass(tp):
        return object_schema(tp)
    raise TypeError(f"no JSON Schema for {tp!r}")


def _generic(tp: Any) -> dict[str, Any]:
    """``Annotated``, unions, ``Literal``, arrays and mappings."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        base, *hints = args
        replaced = [hint.schema for hint in hints if isinstance(hint, Schema)]
        schema = dict(replaced[-1]) if replaced else schema_of(base)
        for hint in hints:
            if isinstance(hint, Extra):
                schema.update(hint.keywords)
        return schema
    if origin in (Union, types.UnionType):
        return _union([schema_of(member) for member in args])
    if origin is Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin in (list, tuple, Sequence):
        return {"type": "array", "items": schema_of(args[0])}
    if origin in (dict, Mapping):
        values = schema_of(args[1])
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    raise TypeError(f"no JSON Schema for {tp!r}")


def _union(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"type": [a, b], …}`` when the parts are plain JSON types of their own, else anyOf.

    Keywords of one type (``minimum``, ``pattern``) only apply to values of that type, so
    parts of distinct types merge into one schema without changing what it accepts.
    """
    typed = all(isinstance(part.get("type"), str) for part in parts)
    names = [part["type"] for part in parts] if typed else []
    keywords = [key for part in parts for key in part if key != "type"]
    if typed and len(set(names)) == len(names) and len(set(keywords)) == len(keywords):
        merged: dict[str, Any] = {"type": names}
        for part in parts:
            merged.update({key: value for key, value in part.items() if key != "type"})
        return merged
    return {"anyOf": parts}


def object_schema(cls: type, *, optional_absent: bool = False) -> dict[str, Any]:
    """A dataclass as a closed object: each field a property, described by its docstring.

    ``optional_absent`` (a request's JSON form): a field with a default may be left out and
    is described by the value it takes when given (its ``None`` dropped); otherwise (an
    answer) every field is always there.
    """
    hints = get_type_hints(cls, include_extras=True)
    docs = attribute_docs(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in fields(cls):
        has_default = field.default is not MISSING or field.default_factory is not MISSING
        tp = hints[field.name]
        if optional_absent and has_default:
            tp = _without_none(tp)
        else:
            required.append(field.name)
        properties[field.name] = described(schema_of(tp), docs.get(field.name))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = sorted(required)
    schema["additionalProperties"] = False
    return described(schema, class_doc(cls), override=False)


def _without_none(tp: Any) -> Any:
    """``X | None`` -> ``X`` (an ``Annotated`` around the union keeps its hints)."""
    if get_origin(tp) in (Union, types.UnionType):
        members = [member for member in get_args(tp) if member is not type(None)]
        return members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
    return tp


def described(schema: dict[str, Any], doc: str | None, *, override: bool = True) -> dict[str, Any]:
    """``schema`` with ``description`` (kept if it has one and ``override`` is False)."""
    if not doc or (not override and "description" in schema):
        return schema
    return {**schema, "description": doc}


def class_doc(cls: type) -> str | None:
    """A class's docstring, first paragraph, as one line (not the one dataclass makes up)."""
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    return plain(inspect.cleandoc(doc).split("\n\n")[0])


@cache
def attribute_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string under it), from the class and its bases' source."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        node = ast.parse(inspect.cleandoc(source) if source[0].isspace() else source).body[0]
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        for here, after in itertools.pairwise(body):
            if (
                isinstance(here, ast.AnnAssign)
                and isinstance(here.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[here.target.id] = plain(inspect.cleandoc(after.value.value))
    return docs


def plain(text: str) -> str:
    """A docstring as one line of plain text (``code`` marks dropped, lines joined)."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return " ".join(text.replace("``", "").split())
