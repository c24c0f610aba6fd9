"""Baseline A: durable-rules driven raw, the ceiling of the durable matcher.

The adapter's compiled ruleset (``DurableMatcher.compiled.definition``) is registered once
more, as ``<name>.raw`` on the adapter's host, with actions that only count; the payload is
the exact JSON the adapter asserts for the benchmarked facts (captured from one
``match`` call), with only the session id spliced in per evaluation. Timed loops:

* ``evaluate`` (A): ``assert_facts`` → ``Ruleset.do_actions`` in this thread (durable-rules'
  own Python action protocol: a Closure, a JSON state round trip per action) →
  ``delete_state``. No projection or encoding of facts, no ``Match`` objects, no checks.
* ``evaluate_c`` (A'): the same session driven through the C calls alone
  (``start_action_for_state``/``complete_and_start_action``, each bound-facts message
  decoded) with no Python action: what an adapter could reach without ``do_actions``.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine

from engine.rules import durable as adapter
from engine.rules.facts import Facts

_REGISTERED: dict[str, tuple[durable_engine.Ruleset, list[str]]] = {}


class RawDurable:
    """Drives the ``.raw`` twin of a ``DurableMatcher`` with fixed facts."""

    def __init__(self, matcher: adapter.DurableMatcher, facts: Facts) -> None:
        self._ruleset, self._fired = _register(matcher)
        self._handle = self._ruleset._handle
        self._parts = _payload_template(matcher, facts)
        self._sids = itertools.count(1)

    def evaluate(self) -> None:
        """A: assert, run the actions through durable-rules' Python protocol, delete."""
        sid = str(next(self._sids))
        self._fired.clear()
        _, state = durable_rules_engine.assert_facts(self._handle, sid.join(self._parts))
        self._ruleset.do_actions(state, _ignore)
        durable_rules_engine.delete_state(self._handle, sid)

    def evaluate_c(self) -> list[dict[str, Any]]:
        """A': assert, start and complete every action in C, decode each message, delete."""
        sid = str(next(self._sids))
        messages = []
        _, state = durable_rules_engine.assert_facts(self._handle, sid.join(self._parts))
        started = durable_rules_engine.start_action_for_state(self._handle, state)
        message = started[1] if started else None
        while message:
            messages.append(json.loads(message))
            message = durable_rules_engine.complete_and_start_action(self._handle, state)
        durable_rules_engine.delete_state(self._handle, sid)
        return messages

    def fired(self) -> list[str]:
        """Rules fired by one checked ``evaluate`` (the sentinel ``end`` among them)."""
        errors: list[Any] = []
        sid = str(next(self._sids))
        self._fired.clear()
        code, state = durable_rules_engine.assert_facts(self._handle, sid.join(self._parts))
        self._ruleset.do_actions(state, lambda error, _: errors.append(error))
        durable_rules_engine.delete_state(self._handle, sid)
        if code not in (0, 1) or any(errors):
            raise RuntimeError(f"raw durable-rules evaluation failed: {code}, {errors}")
        return sorted(self._fired)

    def fired_c(self) -> list[str]:
        """Rules fired by one ``evaluate_c``."""
        return sorted(name for message in self.evaluate_c() for name in message)


def _ignore(error: Any, state: Any) -> None:
    pass


def _register(matcher: adapter.DurableMatcher) -> tuple[durable_engine.Ruleset, list[str]]:
    """Once per process and name: durable-rules cannot register a name twice."""
    name = f"{matcher.name}.raw"
    if name not in _REGISTERED:
        fired: list[str] = []
        definition = copy.deepcopy(dict(matcher.compiled.definition))
        for rule_name, rule in definition.items():
            rule["run"] = _counter(fired, rule_name)
        with adapter._LOCK:
            host = adapter._host()
            host.set_rulesets({name: definition})
            _REGISTERED[name] = (host.get_ruleset(name), fired)
    return _REGISTERED[name]


def _counter(fired: list[str], rule_name: str) -> Callable[[Any], None]:
    def action(c: Any) -> None:
        fired.append(rule_name)

    return action


def _payload_template(matcher: adapter.DurableMatcher, facts: Facts) -> list[str]:
    """The adapter's payload for ``facts``, split where its session id goes."""
    with _spy_on_asserts() as payloads:
        matcher.match(facts)
    if len(payloads) != 1:
        raise RuntimeError(f"expected one assert_facts call per match, saw {len(payloads)}")
    documents = json.loads(payloads[0])
    sid_field = json.dumps({"sid": documents[0]["sid"]})[1:-1]  # '"sid": "<sid>"'
    parts = payloads[0].split(sid_field)
    if len(parts) != len(documents) + 1:
        raise RuntimeError("could not find the session id in every asserted fact")
    head, tail = '"sid": "', '"'  # sid.join(template) puts the session id between them
    return [parts[0] + head, *(tail + part + head for part in parts[1:-1]), tail + parts[-1]]


class _Spy:
    """Stands in for the adapter's ``durable_rules_engine`` and records asserted payloads."""

    def __init__(self, real: Any, payloads: list[str]) -> None:
        self._real, self._payloads = real, payloads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def assert_facts(self, handle: int, payload: str) -> Any:
        self._payloads.append(payload)
        return self._real.assert_facts(handle, payload)


@contextlib.contextmanager
def _spy_on_asserts() -> Iterator[list[str]]:
    payloads: list[str] = []
    real = adapter.durable_rules_engine
    adapter.durable_rules_engine = _Spy(real, payloads)
    try:
        yield payloads
    finally:
        adapter.durable_rules_engine = real
