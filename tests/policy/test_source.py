"""Reading YAML safely: positions, hostile input, and values kept as written."""

from __future__ import annotations

from decimal import Decimal

from engine.policy import source
from engine.policy.source import MAX_FILE_BYTES, load_yaml


def problems_of(raw: bytes) -> list[tuple[int | None, int | None, str]]:
    return [(p.line, p.column, p.message) for p in load_yaml(raw, "f.yaml").problems]


def test_floats_become_exact_decimals_and_dates_stay_text():
    loaded = load_yaml(b"price: 0.10\nwhen: 2026-12-01\ncount: 3\n", "f.yaml")
    assert loaded.data == {"price": Decimal("0.10"), "when": "2026-12-01", "count": 3}
    assert isinstance(loaded.data["price"], Decimal)


def test_yes_no_words_are_kept_as_written_instead_of_becoming_booleans():
    loaded = load_yaml(b"country: NO\nflag: true\nswitch: on\n", "f.yaml")
    assert loaded.data == {"country": "NO", "flag": True, "switch": "on"}


def test_positions_of_keys_and_values_are_one_based():
    loaded = load_yaml(b"a:\n  b: [x, y]\n", "f.yaml")
    assert (loaded.positions.keys[("a", "b")].line, loaded.positions.keys[("a", "b")].column) == (
        2,
        3,
    )
    assert (
        loaded.positions.values[("a", "b", 1)].line,
        loaded.positions.values[("a", "b", 1)].column,
    ) == (2, 10)


def test_duplicate_keys_are_reported_at_the_second_occurrence():
    assert problems_of(b"a: 1\nb: 2\na: 3\n") == [
        (
            3,
            1,
            "duplicate key 'a' (first defined on line 1); YAML would silently keep only the last one",
        )
    ]


def test_python_object_tags_are_refused_without_running_anything():
    [(line, column, message)] = problems_of(b"x: !!python/object/apply:os.system [echo hi]\n")
    assert (line, column) == (1, 4)
    assert message.startswith("unsupported YAML")


def test_syntax_errors_are_located():
    [(line, column, message)] = problems_of(b"a: [1, 2\nb: 3\n")
    assert (line, column) == (2, 2)
    assert message.startswith("YAML syntax error")


def test_non_utf8_bytes_are_located_and_explained():
    [(line, column, message)] = problems_of("a: ok\nb: caf\u00e9\n".encode("latin-1"))
    assert (line, column) == (2, 7)
    assert "not UTF-8" in message


def test_a_utf8_byte_order_mark_is_accepted():
    assert load_yaml(b"\xef\xbb\xbfa: 1\n", "f.yaml").data == {"a": 1}


def test_empty_and_comment_only_files_are_reported_as_empty():
    for raw in (b"", b"   \n", b"# nothing\n\n# here\n"):
        assert problems_of(raw) == [(1, 1, "file is empty: it declares nothing")]


def test_oversized_files_are_refused_before_parsing():
    [(_, _, message)] = problems_of(b"a: 1\n" * (MAX_FILE_BYTES // 5 + 1))
    assert "policy files may be at most" in message


def test_an_alias_bomb_is_refused():
    lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = b", ".join([b"*a%d" % (i - 1)] * 10)
        lines.append(b"a%d: &a%d [%s]" % (i, i, refs))
    [(_, _, message)] = problems_of(b"\n".join(lines))
    assert "too many values" in message


def test_a_self_referencing_alias_is_refused():
    [(_, _, message)] = problems_of(b"&a [*a]\n")
    assert "refers to its own anchor" in message


def test_deeply_nested_flow_collections_are_refused():
    [(_, _, message)] = problems_of(b"[" * 5000 + b"]" * 5000)
    assert "nested too deeply" in message


def test_merge_keys_are_refused_with_a_hint():
    loaded = load_yaml(b"base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yaml")
    [problem] = loaded.problems
    assert (problem.line, problem.message) == (3, "YAML merge keys (<<) are not supported")


def _composed_nodes(
    monkeypatch, raw: bytes
) -> tuple[int, list[tuple[int | None, int | None, str]]]:
    """How many nodes the loader composed before answering, and its problems."""
    calls = []
    original = source._Limits.compose_node

    def counting(self, parent, index):
        calls.append(1)
        return original(self, parent, index)

    monkeypatch.setattr(source._Limits, "compose_node", counting)
    problems = problems_of(raw)
    return len(calls), problems


def test_a_billion_laughs_is_refused_while_composing_after_a_few_nodes(monkeypatch):
    # 9 levels of 10 aliases each expand to 10**9 values; composing refuses at the alias
    # that crosses MAX_VALUES, having composed only a few dozen nodes (no expansion at all).
    lines = [b"a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [b"a%d: &a%d [%s]" % (i, i, b", ".join([b"*a%d" % (i - 1)] * 10)) for i in range(1, 9)]
    composed, [(line, column, message)] = _composed_nodes(monkeypatch, b"\n".join(lines))
    assert composed < 100
    assert "too many values" in message and (line, column) == (6, 10)  # a5: 10**6 values


def test_a_flat_bomb_of_many_aliases_to_one_big_anchor_stops_at_the_limit(monkeypatch):
    anchor = b"a: &a [" + b", ".join([b"x"] * 1000) + b"]\n"
    raw = anchor + b"b: [" + b", ".join([b"*a"] * 5000) + b"]\n"
    composed, [(line, _, message)] = _composed_nodes(monkeypatch, raw)
    assert "too many values" in message and line == 2
    assert composed < 1000 + source.MAX_VALUES // 1000 + 10  # the anchor, then ~200 aliases


def test_deep_nesting_is_refused_at_the_depth_limit_not_after_reading_it_all(monkeypatch):
    for raw in (b"[" * 5000 + b"]" * 5000, b"- " * 5000 + b"x", b"{a: " * 5000 + b"}" * 5000):
        composed, [(line, _, message)] = _composed_nodes(monkeypatch, raw)
        assert "nested too deeply" in message and line == 1
        assert composed <= 2 * (source.MAX_DEPTH + 2)  # a key and a value per level at most


def test_block_nesting_beyond_the_limit_names_the_line_where_it_crosses(monkeypatch):
    raw = b"".join(b"  " * i + b"k%d:\n" % i for i in range(200)) + b"  " * 200 + b"end\n"
    composed, [(line, _, message)] = _composed_nodes(monkeypatch, raw)
    assert "nested too deeply" in message
    assert line == source.MAX_DEPTH + 1 and composed <= 2 * (source.MAX_DEPTH + 2)


def test_anchors_and_aliases_within_the_limits_still_load():
    loaded = load_yaml(b"a: &a [1, 2]\nb: *a\nc: {d: *a}\n", "f.yaml")
    assert loaded.problems == [] and loaded.data == {"a": [1, 2], "b": [1, 2], "c": {"d": [1, 2]}}
