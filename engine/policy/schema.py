"""JSON Schema validation of policy documents, reported in plain words.

jsonschema sees plain Python data, so its errors carry paths but no lines;
the loader places them with the source map. Here we only turn each error into
a message a marketer can act on ("unknown field 'multipler' — did you mean
'multipliers'?") instead of the validator's own wording.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path as FsPath
from typing import Any, Protocol, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from engine.policy.problems import Path, Problem


def _schema_dir() -> FsPath:
    """``engine/schemas/`` in an installed wheel (copied there by setup.py), else the
    checkout's ``schemas/``. The installed copy comes first: beside an installed package,
    ``../../schemas`` is site-packages and could hold anything."""
    packaged = FsPath(__file__).resolve().parents[1] / "schemas"
    if packaged.is_dir():
        return packaged
    return FsPath(__file__).resolve().parents[2] / "schemas"


SCHEMA_DIR = _schema_dir()
BASE_URI = "https://loyalty-rules.dev/schemas/"
YAML_BOOLEAN_WORDS = {"yes", "no", "on", "off", "y", "n"}


@cache
def registry() -> Registry:
    """Every schema in ``schemas/``, addressable by its ``$id`` (and so by relative refs)."""
    resources = []
    for file in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(file.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for ``schemas/{name}.schema.json`` (formats such as ``date`` checked)."""
    schema = registry().contents(f"{BASE_URI}{name}.schema.json")
    return Draft202012Validator(
        schema, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def schema_problems(document: Any, schema: str) -> Iterator[Problem]:
    """Every structural problem of ``document`` against the named schema."""
    for error in validator(schema).iter_errors(document):
        yield from _explain(_most_specific(error))


def _most_specific(error: ValidationError) -> ValidationError:
    # anyOf/oneOf failures hide the useful error among their alternatives.
    while error.validator in ("anyOf", "oneOf") and error.context:
        # Prefer the alternative whose type fits the value: its error is the real one.
        fitting = [
            e
            for e in error.context
            if not (e.validator == "type" and e.absolute_path == error.absolute_path)
        ]
        error = best_match(fitting or error.context)
    return error


class _Reported(Protocol):
    """The fields of a reported ValidationError that the explainers read (our schemas are all
    objects, never ``true``/``false``, so ``schema`` is a mapping)."""

    message: str
    validator: Any
    validator_value: Any
    instance: Any
    schema: Mapping[str, Any]
    context: Sequence[_Reported]


def _explain(error: ValidationError) -> Iterator[Problem]:
    path: Path = tuple(error.absolute_path)
    explain = _EXPLAINERS.get(str(error.validator))
    if explain is None:
        yield Problem(error.message, path, code=f"schema.{error.validator}")
        return
    # jsonschema sets every field of the errors it reports; the stubs allow unset ones.
    yield from explain(cast(_Reported, error), path)


def _required(error: _Reported, path: Path) -> Iterator[Problem]:
    hint = error.schema.get("description") if isinstance(error.schema, dict) else None
    # jsonschema reports each missing property as an error of its own, named first in the message.
    name = next((n for n in error.validator_value if error.message.startswith(repr(n))), None)
    if name is not None:
        yield Problem(f"missing required field '{name}'", path, hint=hint, code="schema.required")


def _additional(error: _Reported, path: Path) -> Iterator[Problem]:
    allowed = sorted(error.schema.get("properties", {}))
    for key in error.instance:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
        yield Problem(
            f"unknown field '{key}'", (*path, key), hint=hint, code="schema.unknown_field"
        )


def _type(error: _Reported, path: Path) -> Iterator[Problem]:
    expected = error.validator_value
    names = [expected] if isinstance(expected, str) else list(expected)
    if "number" in names and "integer" in names:
        names.remove("integer")
    wanted = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
    hint = None
    value = error.instance
    if "boolean" in names and isinstance(value, str) and value.lower() in YAML_BOOLEAN_WORDS:
        hint = "write true or false"
    elif isinstance(value, str) and _looks_numeric(value):
        hint = "remove the quotes around the number"
    yield Problem(f"expected {wanted}, got {describe(value)}", path, hint=hint, code="schema.type")


def _enum(error: _Reported, path: Path) -> Iterator[Problem]:
    choices = [str(c) for c in error.validator_value]
    close = difflib.get_close_matches(str(error.instance), choices, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else None
    yield Problem(
        f"{describe(error.instance)} is not allowed here; choose one of: {', '.join(choices)}",
        path,
        hint=hint,
        code="schema.enum",
    )


def _bound(error: _Reported, path: Path) -> Iterator[Problem]:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
    }[str(error.validator)]
    yield Problem(
        f"must be {words} {error.validator_value}, got {describe(error.instance)}",
        path,
        code="schema.range",
    )


def _items(error: _Reported, path: Path) -> Iterator[Problem]:
    n = error.validator_value
    if error.validator == "minItems":
        message = f"needs at least {n} entr{'y' if n == 1 else 'ies'}"
    else:
        message = f"may have at most {n} entries, got {len(error.instance)}"
    yield Problem(message, path, code="schema.count")


def _properties_count(error: _Reported, path: Path) -> Iterator[Problem]:
    options = sorted(error.schema.get("properties", {}))
    if error.validator == "minProperties":
        message = f"is empty; give at least {error.validator_value} of: {', '.join(options)}"
        if error.validator_value == 2:
            message = "needs more than one field: what to match and what to change"
    else:
        given = ", ".join(sorted(error.instance))
        message = f"give only {error.validator_value} of these fields, not all of: {given}"
    hint = error.schema.get("description")
    yield Problem(message, path, hint=hint, code="schema.count")


def _pattern(error: _Reported, path: Path) -> Iterator[Problem]:
    rule = error.schema.get("description") or f"the pattern {error.validator_value}"
    yield Problem(
        f"{describe(error.instance)} is not valid: use {rule}", path, code="schema.pattern"
    )


def _format(error: _Reported, path: Path) -> Iterator[Problem]:
    if error.validator_value == "date":
        message = f"{describe(error.instance)} is not a real date"
        yield Problem(message, path, hint="write dates as YYYY-MM-DD", code="schema.format")
    else:
        yield Problem(error.message, path, code="schema.format")


def _length(error: _Reported, path: Path) -> Iterator[Problem]:
    if error.validator == "minLength":
        yield Problem("must not be empty", path, code="schema.length")
    else:
        n = error.validator_value
        yield Problem(f"is too long (at most {n} characters)", path, code="schema.length")


def _property_names(error: _Reported, path: Path) -> Iterator[Problem]:
    key = error.instance
    inner = error.context[0] if error.context else None
    rule = inner.schema.get("description") if inner is not None else None
    message = f"'{key}' is not a valid name" + (f": use {rule}" if rule else "")
    yield Problem(message, (*path, key), code="schema.name")


def _const(error: _Reported, path: Path) -> Iterator[Problem]:
    message = f"must be {error.validator_value!r}, got {describe(error.instance)}"
    yield Problem(message, path, code="schema.const")


_EXPLAINERS = {
    "required": _required,
    "additionalProperties": _additional,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "minItems": _items,
    "maxItems": _items,
    "minProperties": _properties_count,
    "maxProperties": _properties_count,
    "pattern": _pattern,
    "format": _format,
    "minLength": _length,
    "maxLength": _length,
    "propertyNames": _property_names,
}

_TYPE_WORDS = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing",
}


def describe(value: Any) -> str:
    """A short, plain description of a YAML value for messages."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _looks_numeric(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True
