"""One regression test per durable-rules trap the durable matcher guards against.

Cases that crash a process when their guard regresses run in a subprocess, so a segfault or a
hang fails the test instead of killing pytest.
"""

from __future__ import annotations

import threading

import pytest

import engine.rules.durable as durable_module
from engine.errors import EngineError
from engine.rules import Match, build_matcher
from engine.rules.durable import DurableMatcher
from tests.rules.helpers import condition, facts, line, run_python, unique_name


def durable(**whens: object) -> DurableMatcher:
    conditions = [condition(rule_id, when) for rule_id, when in whens.items()]  # type: ignore[arg-type]
    matcher = build_matcher("durable", unique_name("trap"), conditions)
    assert isinstance(matcher, DurableMatcher)
    return matcher


def test_an_evaluation_that_matches_no_rule_deletes_its_session_without_crashing() -> None:
    result = run_python(
        """
        from engine.rules import build_matcher
        from tests.rules.helpers import condition, facts, line

        never = [condition("never", {"transaction": {"channel": "nowhere"}})]
        for name, conditions in {"never@1": never, "empty@1": []}.items():
            matcher = build_matcher("durable", name, conditions)
            for _ in range(5):
                assert matcher.match(facts(lines=[line(0)])) == []
            assert not any(matcher.session_exists(str(sid)) for sid in range(1, 6))
        print("survived")
        """
    )
    assert (result.returncode, result.stdout) == (0, "survived\n"), result.stderr


def test_more_than_1024_evaluations_with_failures_leave_no_session_behind() -> None:
    result = run_python(
        """
        import engine.rules.durable as durable_module
        from engine.errors import EngineError
        from engine.rules import Match, build_matcher
        from tests.rules.helpers import condition, facts, line

        matcher = build_matcher("durable", "many@1", [condition("latte", {"lines": [{"sku": "latte"}]})])
        failures = 0
        for n in range(1, 1201):
            if n % 10 == 0:
                durable_module.Match = None  # the action raises TypeError
            try:
                assert matcher.match(facts(lines=[line(0)])) == [Match("latte", (0,))]
            except EngineError:
                failures += 1
            finally:
                durable_module.Match = Match
        left = [sid for sid in range(1, 1201) if matcher.session_exists(str(sid))]
        print(failures, left)
        """
    )
    assert (result.returncode, result.stdout) == (0, "120 []\n"), result.stderr


def test_an_exception_inside_an_action_raises_engine_error_and_still_deletes_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = durable(latte={"lines": [{"sku": "latte"}]})

    def broken(rule_id: str, lines: tuple[int, ...]) -> Match:
        raise ValueError("broken action")

    monkeypatch.setattr(durable_module, "Match", broken)
    with pytest.raises(EngineError, match=r"a durable-rules action failed in .*broken action"):
        matcher.match(facts(lines=[line(0)]))
    assert not matcher.session_exists("1")
    monkeypatch.undo()
    assert matcher.match(facts(lines=[line(0)])) == [Match("latte", (0,))]


def test_an_assert_that_fails_after_creating_the_session_still_deletes_it() -> None:
    result = run_python(
        """
        import durable_rules_engine
        import engine.rules.durable as durable_module
        from engine.errors import EngineError
        from engine.rules import build_matcher
        from tests.rules.helpers import condition, facts

        real = durable_rules_engine.assert_facts

        class Failing:
            error = durable_rules_engine.error
            get_state = staticmethod(durable_rules_engine.get_state)

            @staticmethod
            def assert_facts(handle, payload):
                real(handle, payload)
                raise RuntimeError("lost connection")

        matcher = build_matcher("durable", "fails@1", [condition("never", {"member": {"tier": "x"}})])
        durable_module.durable_rules_engine = Failing
        try:
            matcher.match(facts())
        except EngineError as error:
            print("raised", "lost connection" in str(error))
        durable_module.durable_rules_engine = durable_rules_engine
        print("left", matcher.session_exists("1"))
        print("next", matcher.match(facts()))
        """
    )
    assert (result.returncode, result.stdout) == (0, "raised True\nleft False\nnext []\n"), (
        result.stderr
    )


def test_facts_that_cannot_reach_the_engine_raise_without_creating_a_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = durable(store={"transaction": {"store": "s1"}})
    monkeypatch.setattr(durable_module, "_project", lambda record, fields: {"x": "\ud800"})
    with pytest.raises(EngineError, match="durable-rules failed"):
        matcher.match(facts())
    monkeypatch.undo()
    assert not matcher.session_exists("1")
    assert matcher.match(facts()) == [Match("store", ())]


def test_matches_are_complete_and_immediate_when_some_facts_match_nothing() -> None:
    # Host.post_batch raises MessageNotHandled before any action when one fact matches
    # nothing, then runs the rest later on a timer thread; here every match is returned now.
    matcher = durable(
        latte={"lines": [{"sku": "latte"}]},
        gold={"member": {"tier": "gold"}},
    )
    basket = facts(member={"tier": "gold"}, lines=[line(0, "tea"), line(1), line(2, "bun")])
    for _ in range(200):
        assert matcher.match(basket) == [Match("gold", ()), Match("latte", (1,))]


def test_no_timer_thread_is_started() -> None:
    matcher = durable(always=None)
    matcher.match(facts())
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer)]


def test_eight_threads_evaluating_at_once_neither_crash_nor_disagree() -> None:
    result = run_python(
        """
        import threading
        from engine.rules import build_matcher
        from tests.rules.helpers import condition, facts, line

        whens = {
            "big": {"transaction": {"amount": {"gte": 40}}},
            "gold": {"member": {"tier": ["gold", "platinum"]}},
            "combo": {"lines": [{"category": "coffee"}, {"category": "pastry"}]},
            "pair": {"lines": [{"sku": "latte"}, {"sku": "latte"}]},
        }
        conditions = [condition(rule_id, when) for rule_id, when in whens.items()]
        durable = build_matcher("durable", "threads@1", conditions)
        python = build_matcher("python", "threads@1", conditions)
        tiers = ["gold", "silver", "platinum"]
        baskets = [
            facts({"amount": 1000 * n}, {"tier": tiers[n % 3]},
                  [line(i, "latte" if i % 2 else "bun", "coffee" if i % 2 else "pastry")
                   for i in range(n % 5)])
            for n in range(10)
        ]
        expected = [python.match(b) for b in baskets]
        wrong = []

        def work(offset):
            for n in range(300):
                k = (n + offset) % len(baskets)
                if durable.match(baskets[k]) != expected[k]:
                    wrong.append(k)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        left = [s for s in range(1, 2401) if durable.session_exists(str(s))]
        print(len(wrong), len(left))
        """,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, "0 0\n"), result.stderr


def test_a_condition_over_512_tests_is_refused_before_durable_rules_can_hang() -> None:
    result = run_python(
        """
        from engine.errors import PolicyError
        from engine.rules import build_matcher
        from engine.rules import Condition, Test
        from tests.rules.helpers import condition

        try:
            condition("huge", {"lines": [{"sku": [f"s{i}" for i in range(513)]}]})
        except PolicyError as error:
            print(error.problems[0].message)
        huge = Condition("huge", lines=((Test("sku", "in", tuple(f"s{i}" for i in range(513))),),))
        try:
            build_matcher("durable", "huge@1", [huge])
        except PolicyError as error:
            print(error.problems[0].message)
        """,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("this rule lists 513 values; at most 400 per rule")
    assert second.startswith("rule huge: 513 different tests under one branch")


def test_identical_lines_are_different_facts_to_the_engine() -> None:
    matcher = durable(pair={"lines": [{"sku": "latte"}, {"sku": "latte"}]})
    assert matcher.match(facts(lines=[line(0), line(1)])) == [
        Match("pair", (0, 1)),
        Match("pair", (1, 0)),
    ]


def test_set_rulesets_leaves_the_compiled_definition_intact() -> None:
    matcher = durable(latte={"lines": [{"sku": "latte"}]})
    assert all("run" not in rule for rule in matcher.compiled.definition.values())


def test_asking_again_for_a_name_with_the_same_rules_returns_the_same_matcher() -> None:
    name = unique_name()
    conditions = [condition("latte", {"lines": [{"sku": "latte"}]})]
    assert build_matcher("durable", name, conditions) is build_matcher("durable", name, conditions)


def test_asking_again_for_a_name_with_other_rules_raises() -> None:
    name = unique_name()
    build_matcher("durable", name, [condition("latte", {"lines": [{"sku": "latte"}]})])
    with pytest.raises(EngineError, match="already registered in this process with other rules"):
        build_matcher("durable", name, [condition("latte", {"lines": [{"sku": "mocha"}]})])


def test_a_session_that_never_started_an_action_is_not_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = durable(always=None)
    deleted: list[str] = []
    # As if the engine queued no action: none is started, the sentinel never fires.
    monkeypatch.setattr(matcher, "_run_actions", lambda state: None)
    monkeypatch.setattr(matcher._ruleset, "dispatch", lambda: None)
    monkeypatch.setattr(matcher._ruleset, "delete_state", deleted.append)
    with pytest.raises(EngineError, match=r"sentinel rule .* did not fire"):
        matcher.match(facts())
    assert deleted == []


def test_the_layout_that_crashed_with_join_expressions_runs_clean() -> None:
    # With {"$neq": {"index": {"l0": "index"}}} joins this sequence was a SIGSEGV in
    # reduceExpressionSequence (events.c:614), depending on how many rulesets came before.
    result = run_python(
        """
        from engine.rules import build_matcher
        from tests.rules.helpers import condition, facts, line

        for n in range(12):
            build_matcher("durable", f"before{n}@1", [condition("r", {"transaction": {"amount": 50}})])
            pair = build_matcher("durable", f"pair{n}@1", [condition("pair", {"lines": [{"sku": "latte"}] * 2})])
            assert pair.match(facts(lines=[line(0)])) == []
            assert len(pair.match(facts(lines=[line(0), line(1)]))) == 2
        print("clean")
        """
    )
    assert (result.returncode, result.stdout) == (0, "clean\n"), result.stderr


def test_more_than_64_rules_matching_one_fact_do_not_overflow_the_engine_stack() -> None:
    # One alpha node with 65 matching children is error 303 at assert time; such rules are
    # split into groups, each matching its own copy of the facts.
    conditions = [
        condition(f"r{i:03}", {"transaction": {"amount": {"gte": i}}}) for i in range(100)
    ]
    matcher = build_matcher("durable", unique_name(), conditions)
    assert isinstance(matcher, DurableMatcher) and matcher.compiled.groups == 2
    assert [m.rule_id for m in matcher.match(facts({"amount": 10000}))] == [
        f"r{i:03}" for i in range(100)
    ]


def test_a_reused_fact_id_raises_engine_error_and_deletes_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = durable(latte={"lines": [{"sku": "latte"}]})
    real = durable_module._documents

    def duplicated(*args: object) -> list[dict[str, object]]:
        documents = real(*args)  # type: ignore[arg-type]
        return [*documents, documents[-1]]

    monkeypatch.setattr(durable_module, "_documents", duplicated)
    with pytest.raises(EngineError, match="a fact id was seen twice"):
        matcher.match(facts(lines=[line(0)]))
    assert not matcher.session_exists("1")
