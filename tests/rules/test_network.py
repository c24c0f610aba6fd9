"""Compiling conditions into durable-rules' ruleset-as-data, and its limits checked up front."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import PolicyError
from engine.rules import Condition, Test, build_matcher
from engine.rules.network import KIND, MAX_STACK, SENTINEL_RULE, check_limits, compile_ruleset
from tests.rules.helpers import condition, records, run_python, unique_name


def pattern(when: dict[str, Any] | None, alias: str) -> Any:
    rule = compile_ruleset([condition("r", when)]).definition["r0"]
    return next(p[alias] for p in rule["all"] if alias in p)


def compiled_tests(when: dict[str, Any], alias: str) -> list[Any]:
    return pattern(when, alias)["$and"][1:]


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# --- shapes -------------------------------------------------------------------------------


def test_the_operator_goes_outside_the_field() -> None:
    assert compiled_tests({"transaction": {"amount": {"gte": 100}}}, "t") == [
        {"$gte": {"amount": 10000}}
    ]


def test_ne_compiles_to_neq_and_eq_to_a_bare_field_placed_first() -> None:
    assert compiled_tests({"member": {"tier": {"ne": "gold", "eq": "silver"}}}, "m") == [
        {"tier": "silver"},
        {"$neq": {"tier": "gold"}},
    ]


def test_in_compiles_to_an_or_of_equalities() -> None:
    assert compiled_tests({"member": {"tier": ["gold", "silver"]}}, "m") == [
        {"$or": [{"tier": "gold"}, {"tier": "silver"}]}
    ]


def test_in_with_one_value_is_a_plain_equality() -> None:
    assert compiled_tests({"member": {"tier": ["gold"]}}, "m") == [{"tier": "gold"}]


def test_not_in_compiles_to_a_chain_of_neq() -> None:
    assert compiled_tests({"lines": [{"sku": {"not_in": ["a", "b"]}}]}, "l0") == [
        {"$neq": {"sku": "a"}},
        {"$neq": {"sku": "b"}},
    ]


def test_between_compiles_to_gte_and_lte() -> None:
    assert compiled_tests({"transaction": {"hour": {"between": [7, 9]}}}, "t") == [
        {"$gte": {"hour": 7}},
        {"$lte": {"hour": 9}},
    ]


def test_tag_in_compiles_to_one_iany_per_value() -> None:
    assert compiled_tests({"member": {"tags": {"band": ["a", "b"], "g": "f"}}}, "m") == [
        {"$or": [{"$iany": {"tag__band": {"$i": "a"}}}, {"$iany": {"tag__band": {"$i": "b"}}}]},
        {"$iany": {"tag__g": {"$i": "f"}}},
    ]


def test_tag_not_in_holds_when_the_tag_is_absent_or_has_none_of_the_values() -> None:
    assert compiled_tests({"member": {"tags": {"seg": {"not_in": ["a", "b"]}}}}, "m") == [
        {
            "$or": [
                {"$nex": {"tag__seg": 1}},
                {"$iall": {"tag__seg": {"$and": [{"$neq": {"$i": "a"}}, {"$neq": {"$i": "b"}}]}}},
            ]
        }
    ]


def test_every_pattern_starts_with_its_fact_kind() -> None:
    when = {"transaction": {"amount": 1}, "member": {"tier": "x"}, "lines": [{"sku": "a"}] * 2}
    rule = compile_ruleset([condition("r", when)]).definition["r0"]
    kinds = [(alias, p["$and"][0]) for item in rule["all"] for alias, p in item.items()]
    assert kinds == [
        ("t", {KIND: "transaction"}),
        ("m", {KIND: "member"}),
        ("l0", {KIND: "line"}),
        ("l1", {KIND: "line"}),
    ]


def test_distinct_lines_come_from_the_engines_dist_flag_not_from_joins() -> None:
    rule = compile_ruleset([condition("r", {"lines": [{"sku": "a"}] * 3})]).definition["r0"]
    assert rule["dist"] == 1
    comparisons = [n for n in walk(rule) if isinstance(n, dict) and "$neq" in n]
    assert comparisons == []


def test_no_test_ever_compares_two_facts() -> None:
    when = {"transaction": {"amount": {"between": [1, 2]}}, "lines": [{"sku": ["a", "b"]}] * 4}
    definition = compile_ruleset([condition("r", when)]).definition
    for node in walk(definition):
        if isinstance(node, dict) and len(node) == 1:
            [(key, value)] = node.items()
            if key.startswith("$") and isinstance(value, dict):
                assert not any(isinstance(v, dict) for v in value.values()) or key in (
                    "$and",
                    "$or",
                    "$iany",
                    "$iall",
                ), node


def test_a_condition_without_tests_matches_the_transaction_fact() -> None:
    assert pattern(None, "t") == {KIND: "transaction"}


def test_a_sentinel_rule_fires_last_on_the_end_fact() -> None:
    definition = compile_ruleset([]).definition
    assert definition == {SENTINEL_RULE: {"all": [{"end": {KIND: "end"}}], "pri": 10000}}


def test_money_never_reaches_the_engine_as_a_float() -> None:
    when = {"transaction": {"amount": {"gte": 12.5, "lt": Decimal("1E+3")}}}
    values = [n for n in walk(compile_ruleset([condition("r", when)]).definition)]
    assert not any(isinstance(v, float | Decimal) for v in values)
    assert compiled_tests(when, "t") == [{"$gte": {"amount": 1250}}, {"$lt": {"amount": 100000}}]


def test_only_tested_fields_are_projected_into_facts() -> None:
    compiled = compile_ruleset(
        [
            condition("a", {"transaction": {"amount": 1}, "member": {"tags": {"g": "f"}}}),
            condition("b", {"member": {"birthday": "today"}, "lines": [{"sku": "x"}]}),
        ]
    )
    assert compiled.transaction_fields == ("amount",)
    assert compiled.member_fields == ("birthday_today",)
    assert compiled.tag_names == ("g",)
    assert compiled.line_fields == ("index", "sku")


def test_rules_keep_their_ids_and_line_aliases() -> None:
    compiled = compile_ruleset(
        [condition("a", None), condition("b", {"lines": [{"sku": "x"}] * 2})]
    )
    assert [(r.rule_id, r.line_aliases) for r in compiled.rules.values()] == [
        ("a", ()),
        ("b", ("l0", "l1")),
    ]


# --- limits ---------------------------------------------------------------------------------


def skus(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def sku_rules(*lists: list[str]) -> list[Condition]:
    return [condition(f"r{i}", {"lines": [{"sku": values}]}) for i, values in enumerate(lists)]


def kinds(compiled: Any) -> list[str]:
    rules = [compiled.definition[name] for name in compiled.rules]
    return [rule["all"][0]["l0"]["$and"][0][KIND] for rule in rules]


def test_a_small_programme_is_one_group() -> None:
    compiled = compile_ruleset(sku_rules(skus("a", 10), skus("b", 10)))
    assert (compiled.groups, kinds(compiled)) == (1, ["line", "line"])


def test_rules_that_together_would_hang_durable_rules_go_to_separate_groups() -> None:
    conditions = sku_rules(skus("a", 300), skus("b", 300))
    assert records(check_limits(conditions)) == []
    compiled = compile_ruleset(conditions)
    assert (compiled.groups, kinds(compiled)) == (2, ["line", "line.1"])


def test_rules_sharing_their_values_share_a_group() -> None:
    assert compile_ruleset(sku_rules(skus("a", 300), skus("a", 300))).groups == 1


def test_a_group_holds_at_most_64_rules() -> None:
    compiled = compile_ruleset(sku_rules(*[["latte"]] * 65))
    assert kinds(compiled) == ["line"] * 64 + ["line.1"]


def test_thresholds_that_could_all_match_one_fact_are_split_before_the_engine_stack_fills() -> None:
    conditions = [condition(f"r{i}", {"transaction": {"amount": {"gte": i}}}) for i in range(60)]
    compiled = compile_ruleset(conditions)
    rules = [compiled.definition[name] for name in compiled.rules]
    transaction_kinds = [rule["all"][0]["t"]["$and"][0][KIND] for rule in rules]
    assert transaction_kinds == ["transaction"] * MAX_STACK + ["transaction.1"] * 4


def test_a_rule_whose_tag_list_could_match_too_many_ways_is_refused() -> None:
    values = skus("v", MAX_STACK + 1)
    with pytest.raises(PolicyError) as raised:
        condition("tags", {"member": {"tags": {"interest": values}}})
    assert records(raised.value.problems) == [
        {
            "path": "when",
            "message": f"rule tags: one fact could make durable-rules follow {MAX_STACK + 1} "
            f"branches at once (at most {MAX_STACK}; it fails beyond 64); shorten its in/tag lists",
        }
    ]


def test_a_pattern_needing_more_than_30_expression_slots_is_refused() -> None:
    tags = {f"t{i}": {"not_in": ["a", "b"]} for i in range(8)}
    with pytest.raises(PolicyError) as raised:
        condition("many-tags", {"member": {"tags": tags}})
    assert records(raised.value.problems) == [
        {
            "path": "when",
            "message": "rule many-tags: one pattern needs 34 durable-rules expressions "
            "(at most 30); move some in/tag lists to another rule",
        }
    ]


def test_too_many_tags_for_one_fact_are_refused() -> None:
    conditions = [condition(f"r{i}", {"member": {"tags": {f"t{i}": "x"}}}) for i in range(198)]
    [problem] = records(check_limits(conditions))
    assert problem["message"] == (
        "the rules test 198 member fields and tags; durable-rules facts hold at most 200"
    )


def test_too_many_rules_are_refused() -> None:
    conditions = [condition(f"r{i}", {"transaction": {"amount": i}}) for i in range(4001)]
    assert records(check_limits(conditions)) == [
        {"path": "when", "message": "4001 rules; durable-rules holds at most 4000"}
    ]


def test_both_matchers_refuse_a_rule_durable_rules_cannot_hold(kind: str) -> None:
    too_wide = Condition("wide", member=(Test("tags.x", "in", tuple(skus("v", 60))),))
    with pytest.raises(PolicyError) as raised:
        build_matcher(kind, unique_name(), [too_wide])  # type: ignore[arg-type]
    assert "branches at once" in raised.value.problems[0].message


def test_programmes_beyond_one_networks_limits_build_and_match_in_durable_rules() -> None:
    result = run_python(
        """
        from engine.rules import Facts, build_matcher
        from tests.rules.helpers import condition, facts, line

        def sku_rules(*lists):
            return [condition(f"r{i}", {"lines": [{"sku": v}]}) for i, v in enumerate(lists)]

        cases = {
            "branch": sku_rules([f"a{i}" for i in range(300)], [f"b{i}" for i in range(300)]
                                + ["latte"]),
            "endings": [condition(f"r{i}", {"member": {"tier": "silver"}}) for i in range(300)],
            "shared": sku_rules(*[["latte", f"own{i}"] for i in range(150)]),
            "stack": [condition(f"r{i}", {"transaction": {"amount": {"lte": i}}})
                      for i in range(100)],
            "slots": [condition("r", {"member": {"tags": {
                f"t{i}": {"not_in": ["a", "b"]} for i in range(7)}}})],
            "width": [condition(f"r{i}", {"member": {"tags": {f"t{i}": "x"}}})
                      for i in range(197)],
        }
        for name, conditions in cases.items():
            durable = build_matcher("durable", f"limits-{name}@1", conditions)
            python = build_matcher("python", f"limits-{name}@1", conditions)
            basket = facts(transaction={"amount": 5000}, lines=[line(0), line(1, "b7")])
            found = durable.match(basket)
            assert found == python.match(basket), name
            print(name, durable.compiled.groups, len(found))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n") == [
        "branch 2 2",
        "endings 5 300",
        "shared 3 150",
        "stack 2 50",
        "slots 1 1",
        "width 4 0",
        "",
    ]


def test_rules_needing_more_than_100_groups_are_refused() -> None:
    conditions = sku_rules(*[skus(f"g{g}-", 300) for g in range(101)])
    assert records(check_limits(conditions)) == [
        {
            "path": "when",
            "message": "the rules need 101 separate durable-rules networks (at most 100); "
            "share values between rules or drop some",
        }
    ]
