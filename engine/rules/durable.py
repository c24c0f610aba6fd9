"""The durable-rules matcher: the rule tree compiled into a Rete network, evaluated statelessly.

Each ``match`` call is one durable-rules session, guarded against the engine's traps
(measured in shared/research/durable-rules.md):

* one process-wide ``Host`` whose timer threads are never started (they crash under threads);
* one process-wide lock around every engine call (the C engine is not thread-safe);
* facts asserted with the engine's low-level ``assert_facts`` and actions run in the calling
  thread (``Host.assert_facts``/``post_batch`` defer or lose actions when a fact matches nothing);
* those actions driven through the engine's C calls (``start_action_for_state``, then
  ``complete_and_start_action`` until none is left), each bound-facts message read here, not
  through ``Ruleset.do_actions`` (a Closure, a Promise and a JSON state round trip per action,
  about 3x the cost): no action writes the session state, so there is nothing to write back;
* a sentinel rule that fires last in every session, because ``delete_state`` on a session in
  which no action ever started is a SIGSEGV; the state is deleted only once it has fired;
* ``delete_state`` in ``finally``, so sessions never pile up to the 1024-per-ruleset cap;
* exceptions swallowed by durable-rules' action runner are raised as ``EngineError``;
* fact ids unique per session ("t<group>", "m<group>", "l<group>.<position>", "end");
* the definition is copied before ``set_rulesets`` (it deletes ``run`` from its input);
* durable-rules' own limits (hang past 512 tests under a node, 32 expressions per pattern,
  64 pending alpha nodes per fact...) are kept by ``network.py`` before the engine is called.

Names: registering a name twice in one process is impossible in durable-rules. Asking again
for a name with the same compiled rules returns the existing matcher; asking for it with
different rules raises ``EngineError`` (callers version names: ``programme@hash``).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import durable_rules_engine
from durable import engine as durable_engine

from engine.errors import EngineError
from engine.rules.facts import Facts
from engine.rules.matching import Match, ordered
from engine.rules.network import (
    END,
    KIND,
    LINE,
    LINE_INDEX,
    MEMBER,
    SENTINEL_RULE,
    TRANSACTION,
    CompiledRuleset,
    compile_ruleset,
    kind_of,
    tag_field,
)
from engine.rules.tree import Condition

# "Not handled" only means some fact matched no pattern; "observed" means a reused fact id.
_RESULT_OK, _RESULT_NOT_HANDLED, _RESULT_OBSERVED = 0, 1, 2
_LOCK = threading.Lock()
_HOST: _QuietHost | None = None
_MATCHERS: dict[str, DurableMatcher] = {}


class _QuietHost(durable_engine.Host):
    def _run(self) -> None:
        """Start no timer threads: with request threads they crash the process."""


def durable_matcher(name: str, conditions: Sequence[Condition]) -> DurableMatcher:
    """The matcher registered under ``name``, built on first use (see module docstring)."""
    compiled = compile_ruleset(conditions)
    with _LOCK:
        existing = _MATCHERS.get(name)
        if existing is not None:
            if existing.compiled == compiled:
                return existing
            raise EngineError(
                f"ruleset {name!r} is already registered in this process with other rules; "
                "durable-rules cannot replace it: give the new version a new name"
            )
        matcher = DurableMatcher(name, compiled, _host())
        _MATCHERS[name] = matcher
        return matcher


def _host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        _HOST = _QuietHost()
    return _HOST


class DurableMatcher:
    """Build through ``build_matcher("durable", ...)``; construction must hold the lock.

    Thread-safe: evaluations are serialised by the process-wide lock.
    """

    def __init__(self, name: str, compiled: CompiledRuleset, host: _QuietHost) -> None:
        self.name = name
        self.compiled = compiled
        self._found: list[Match] = []
        self._sentinel_fired = False
        self._sessions = itertools.count(1)
        definition = copy.deepcopy(dict(compiled.definition))
        for rule_name, rule in definition.items():
            rule["run"] = self._action(rule_name)
        try:
            host.set_rulesets({name: definition})
        except Exception as error:
            raise EngineError(f"durable-rules refused ruleset {name!r}: {error}") from error
        self._ruleset = host.get_ruleset(name)

    def _action(self, rule_name: str) -> Callable[[Any], None]:
        if rule_name == SENTINEL_RULE:

            def sentinel(c: Any) -> None:
                self._sentinel_fired = True

            return sentinel
        rule = self.compiled.rules[rule_name]

        def found(c: Any) -> None:
            bound = c._m  # alias -> fact; Closure exposes no public accessor for it
            lines = tuple(bound[alias][LINE_INDEX] for alias in rule.line_aliases)
            self._found.append(Match(rule.rule_id, lines))

        return found

    def match(self, facts: Facts) -> list[Match]:
        sid = str(next(self._sessions))
        payload = json.dumps(_documents(self.compiled, facts, sid), ensure_ascii=False)
        with _LOCK:
            return self._evaluate(sid, payload)

    def _evaluate(self, sid: str, payload: str) -> list[Match]:
        self._found, self._sentinel_fired = [], False
        try:
            code, state = durable_rules_engine.assert_facts(self._ruleset._handle, payload)
            failure = self._run_actions(state)
        except Exception as error:
            raise EngineError(f"durable-rules failed in {self.name!r}: {error!r}") from error
        finally:
            self._close(sid)
        if code not in (_RESULT_OK, _RESULT_NOT_HANDLED):
            reason = "a fact id was seen twice" if code == _RESULT_OBSERVED else f"code {code}"
            raise EngineError(f"durable-rules refused facts of {self.name!r}: {reason}")
        if failure:
            raise EngineError(f"a durable-rules action failed in {self.name!r}: {failure}")
        if not self._sentinel_fired:
            raise EngineError(f"the sentinel rule of {self.name!r} did not fire")
        return ordered(self._found)

    def _run_actions(self, state_handle: int) -> str | None:
        """Every queued action of the session, in the engine's order; the first failure.

        As ``do_actions`` does, a failing action does not stop the others: the sentinel still
        fires last, so the session can be deleted, and the failure is raised after.
        """
        handle = self._ruleset._handle
        started = durable_rules_engine.start_action_for_state(handle, state_handle)
        text = started[1] if started else None
        failure: str | None = None
        while text:
            try:
                # One action per message, as durable-rules' own runner reads it.
                rule_name, bound = next(iter(json.loads(text).items()))
                self._fire(rule_name, bound)
            except Exception as error:
                failure = failure or repr(error)
            text = durable_rules_engine.complete_and_start_action(handle, state_handle)
        return failure

    def _fire(self, rule_name: str, bound: Mapping[str, Any]) -> None:
        if rule_name == SENTINEL_RULE:
            self._sentinel_fired = True
            return
        rule = self.compiled.rules[rule_name]
        lines = tuple(bound[alias][LINE_INDEX] for alias in rule.line_aliases)
        self._found.append(Match(rule.rule_id, lines))

    def _close(self, sid: str) -> None:
        if not self._sentinel_fired:
            self._start_pending_actions()
        if self._sentinel_fired:
            try:
                self._ruleset.delete_state(sid)
            except Exception as error:
                raise EngineError(f"durable-rules kept session {sid} of {self.name!r}") from error
        # Otherwise the session does not exist or never started an action: deleting it
        # would be a SIGSEGV; leaving it costs one of 1024 slots, and match() raises.

    def _start_pending_actions(self) -> None:
        # Only reached when assert_facts itself failed; under the lock the only pending
        # actions are this session's, so dispatch() runs them (the sentinel among them).
        with contextlib.suppress(Exception):  # the original failure is what propagates
            self._ruleset.dispatch()

    def session_exists(self, sid: str) -> bool:
        """Whether durable-rules still holds state for session ``sid`` (a diagnostic)."""
        with _LOCK:
            try:
                durable_rules_engine.get_state(self._ruleset._handle, sid)
            except durable_rules_engine.error:
                return False
        return True


def _documents(compiled: CompiledRuleset, facts: Facts, sid: str) -> list[dict[str, Any]]:
    # The sentinel comes first: once the session exists its action is queued, so an assert
    # that fails on a later fact still leaves a session that can be safely deleted.
    documents = [{"sid": sid, "id": END, KIND: END}]
    transaction = _project(facts.transaction, compiled.transaction_fields)
    member = _project(facts.member, compiled.member_fields)
    member.update(_tags(facts.member, compiled.tag_names))
    lines = [_project(line, compiled.line_fields) for line in facts.lines]
    for group in range(compiled.groups):
        documents.append(
            {**transaction, "sid": sid, "id": f"t{group}", KIND: kind_of(TRANSACTION, group)}
        )
        documents.append({**member, "sid": sid, "id": f"m{group}", KIND: kind_of(MEMBER, group)})
        line_kind = kind_of(LINE, group)
        if compiled.line_fields:
            documents += [
                {**fields, "sid": sid, "id": f"l{group}.{position}", KIND: line_kind}
                for position, fields in enumerate(lines)
            ]
    return documents


def _project(record: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: record[name] for name in fields if record.get(name) is not None}


def _tags(member: Mapping[str, Any], names: Sequence[str]) -> dict[str, list[str]]:
    tags = member.get("tags") or {}
    # Empty lists are left out: $iall is false on an empty list, and "none of" must hold.
    return {tag_field(name): list(tags[name]) for name in names if tags.get(name)}
