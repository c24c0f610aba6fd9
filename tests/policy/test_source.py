"""Reading YAML safely: positions, hostile input, and values kept as written."""

from __future__ import annotations

from decimal import Decimal

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
    assert "nested too deeply" in message


def test_deeply_nested_flow_collections_are_refused():
    [(_, _, message)] = problems_of(b"[" * 5000 + b"]" * 5000)
    assert "nested too deeply" in message


def test_merge_keys_are_refused_with_a_hint():
    loaded = load_yaml(b"base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yaml")
    [problem] = loaded.problems
    assert (problem.line, problem.message) == (3, "YAML merge keys (<<) are not supported")
