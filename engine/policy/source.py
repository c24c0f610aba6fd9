"""Safe YAML loading that remembers where every value came from.

PyYAML's loaders lose positions and silently keep the last of duplicate keys,
so we compose the node graph ourselves (safe tags only) and build plain Python
data from it, recording the line and column of every key and value.

Floats become ``Decimal`` straight from their text, so ``0.1`` stays exact;
dates stay strings (the schema checks their format) so that YAML's own date
parsing never changes what the marketer wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from engine.policy.problems import Path, Problem

MAX_FILE_BYTES = 1024 * 1024
# Values built from the node graph; an alias "billion laughs" bomb expands far
# beyond this while any real programme stays well under it.
MAX_VALUES = 200_000
MAX_DEPTH = 64

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_COLLECTIONS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass(frozen=True)
class Position:
    file: str
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceMap:
    """Positions of values (by path) and of mapping keys (by the path they introduce)."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position | None:
        """The position of ``path``, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        for cut in range(len(path), -1, -1):
            found = table.get(path[:cut]) or self.values.get(path[:cut])
            if found:
                return found
        return None

    def merge(self, other: SourceMap, shift: dict[Path, Path]) -> None:
        """Copy ``other`` in, re-rooting paths that start with a key of ``shift``."""
        for mine, theirs in ((self.values, other.values), (self.keys, other.keys)):
            for path, pos in theirs.items():
                mine[_reroot(path, shift)] = pos


def _reroot(path: Path, shift: dict[Path, Path]) -> Path:
    for prefix, target in shift.items():
        if path[: len(prefix)] == prefix:
            return (*target, *path[len(prefix) :])
    return path


@dataclass
class Loaded:
    """A YAML file read into data, with its positions and any problems found."""

    file: str
    data: Any
    positions: SourceMap
    problems: list[Problem]
    raw: bytes = b""


class _Abort(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def load_yaml(raw: bytes, file: str) -> Loaded:
    """Parse ``raw`` safely. Never raises for bad input: problems are returned."""
    positions = SourceMap()
    try:
        text = _decode(raw)
        node = _compose(text)
        builder = _Builder(file, positions)
        data = builder.build(node, (), 0)
    except _Abort as abort:
        return Loaded(
            file,
            None,
            positions,
            [abort.problem.at(file, abort.problem.line, abort.problem.column)],
            raw,
        )
    return Loaded(file, data, positions, builder.problems, raw)


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise _Abort(
            Problem(
                f"file is {len(raw):,} bytes; policy files may be at most {MAX_FILE_BYTES:,} bytes",
                code="too_large",
                hint="split the programme with `include:`",
            )
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _Abort(
            Problem(
                f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read)",
                code="encoding",
                line=line,
                column=column,
                hint="save the file as UTF-8 in your editor",
            )
        ) from exc
    if not text.strip() or all(
        ln.strip().startswith("#") or not ln.strip() for ln in text.splitlines()
    ):
        raise _Abort(Problem("file is empty: it declares nothing", code="empty", line=1, column=1))
    return text


def _compose(text: str) -> Node:
    try:
        loader = _BoundedLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "maximum nesting depth" in str(exc.problem) and mark:  # libyaml's own limit
            raise _Abort(_limit_problem(mark, _TOO_DEEP)) from exc
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            message = f"YAML syntax error: {exc.problem} ({exc.context})"
        raise _Abort(
            Problem(
                message,
                code="syntax",
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
                hint="check indentation, colons and quotes on this line and the one before",
            )
        ) from exc
    except yaml.YAMLError as exc:
        raise _Abort(Problem(f"YAML error: {exc}", code="syntax")) from exc
    except RecursionError as exc:
        raise _Abort(Problem("the document is nested too deeply to read", code="too_deep")) from exc
    if node is None:
        raise _Abort(Problem("file is empty: it declares nothing", code="empty", line=1, column=1))
    return node


if TYPE_CHECKING:  # the mixin is used with a reader, scanner and parser (Python's or libyaml's)

    class _Composing(Reader, Scanner, Parser, Composer): ...

else:
    _Composing = Composer


class _Limits(_Composing):
    """Composing with limits: refuses a hostile document *while composing it*, in milliseconds.

    PyYAML composes an alias as a second reference to the anchored node, so a "billion
    laughs" bomb composes into a few dozen nodes and only explodes when the graph is turned
    into data. Here every composed node knows how many values it expands to (an alias counts
    the full size of its anchor), and nesting is counted on the way down, so a document that
    would expand beyond ``MAX_VALUES`` or nest beyond ``MAX_DEPTH`` is refused at the node
    that crosses the limit, with its line, before the rest is even scanned.
    """

    def start_limits(self) -> None:
        self.depth = 0
        self.expanded: dict[int, int] = {}  # id(node) -> values it expands to
        self.total = 0  # values the whole document expands to, so far

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # The scanner looks up to 1,024 characters ahead for a possible key at each open
        # bracket, at a cost that grows with the depth: refuse deep flow nesting as it is read.
        if self.flow_level >= MAX_DEPTH:
            raise _Abort(_limit_problem(self.get_mark(), _TOO_DEEP))
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        mark = self.peek_event().start_mark
        alias = self.check_event(AliasEvent)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:  # the root is at depth 1, as deep as the builder allows
                raise _Abort(_limit_problem(mark, _TOO_DEEP))
            # typed Node | None, but a node is composed for every event it is called on
            node = cast(Node, super().compose_node(parent, index))
        finally:
            self.depth -= 1
        if alias:  # the document grows by the anchor's whole size
            self.total += self._size(node, mark)
        else:
            self.expanded[id(node)] = 1 + sum(self._size(child, mark) for child in _children(node))
            self.total += 1
        if self.total > MAX_VALUES:
            raise _Abort(_limit_problem(mark, _TOO_MANY))
        return node

    def _size(self, node: Node, mark: yaml.Mark) -> int:
        size = self.expanded.get(id(node))
        if size is None:  # an alias inside its own anchor: it would expand forever
            raise _Abort(_limit_problem(mark, _SELF_ALIAS))
        return size


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _BoundedLoader(_Limits, CParser, SafeConstructor, Resolver):
        """libyaml scans and parses (C: linear, fast); the composing above stays in Python."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.start_limits()

else:  # pragma: no cover - PyYAML built without libyaml

    class _BoundedLoader(_Limits, yaml.SafeLoader):  # type: ignore[no-redef]  # either/or by build
        def __init__(self, text: str) -> None:
            yaml.SafeLoader.__init__(self, text)
            self.start_limits()


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


_TOO_DEEP = f"the document is nested too deeply (more than {MAX_DEPTH} levels)"
_TOO_MANY = f"the document expands to too many values (more than {MAX_VALUES:,}): an alias bomb?"
_SELF_ALIAS = "an alias refers to its own anchor: the document would expand forever"


def _limit_problem(mark: yaml.Mark, message: str) -> Problem:
    return Problem(
        message,
        (),
        code="too_large",
        line=mark.line + 1,
        column=mark.column + 1,
        hint="use anchors (&name) and aliases (*name) sparingly, and nest less deeply",
    )


class _Builder:
    """Turns a composed node graph into plain data, recording positions."""

    def __init__(self, file: str, positions: SourceMap) -> None:
        self.file = file
        self.positions = positions
        self.problems: list[Problem] = []
        self.count = 0
        self.scalars = SafeConstructor()

    def position(self, node: Node) -> Position:
        return Position(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(
        self, node: Node, path: Path, message: str, code: str, hint: str | None = None
    ) -> None:
        pos = self.position(node)
        self.problems.append(
            Problem(message, path, hint=hint, code=code).at(self.file, pos.line, pos.column)
        )

    def build(self, node: Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES or depth > MAX_DEPTH:
            pos = self.position(node)
            raise _Abort(
                Problem(
                    "the document expands to too many values (an alias/anchor bomb?)"
                    if self.count > MAX_VALUES
                    else "the document is nested too deeply",
                    (),
                    code="too_large",
                    line=pos.line,
                    column=pos.column,
                    hint="use anchors (&name) and aliases (*name) sparingly",
                )
            )
        self.positions.values.setdefault(path, self.position(node))
        if not isinstance(node, ScalarNode) and node.tag not in _PLAIN_COLLECTIONS:
            self.problem(
                node,
                path,
                f"unsupported YAML tag '{node.tag}'",
                "yaml_tag",
                "only plain text, numbers, true/false, lists and mappings are allowed",
            )
            return None
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.problem(
                    key_node,
                    path,
                    "YAML merge keys (<<) are not supported",
                    "merge_key",
                    "write the fields out, or repeat the anchor's content",
                )
                continue
            key = self.scalar(key_node, path) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.problem(
                    key_node,
                    path,
                    f"keys must be words, not {_kind(key)}",
                    "key_type",
                    "put the key in quotes",
                )
                continue
            child = (*path, key)
            if key in out:
                first = self.positions.keys[child]
                self.problem(
                    key_node,
                    child,
                    f"duplicate key '{key}' (first defined on line "
                    f"{first.line}); YAML would silently keep only the last one",
                    "duplicate_key",
                    "remove one of them or merge their contents",
                )
                continue
            self.positions.keys[child] = self.position(key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # the schema checks dates as text
        if node.tag == _FLOAT:
            try:
                return Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                return node.value  # .inf / .nan: left as text for the schema to refuse
        if node.tag == _BOOL and node.value.lower() not in ("true", "false"):
            # YAML 1.1 reads yes/no/on/off as booleans (country code NO becomes false);
            # keep the word as written: the schema refuses it where true/false is due.
            return node.value
        try:
            return self.scalars.construct_object(node)
        except ConstructorError as exc:
            self.problem(
                node,
                path,
                f"unsupported YAML value: {exc.problem}",
                "yaml_tag",
                "only plain text, numbers, true/false, lists and mappings are allowed",
            )
            return None


def _kind(value: object) -> str:
    if value is None:
        return "empty"
    return {bool: "true/false", int: "numbers", Decimal: "numbers"}.get(
        type(value), "lists or mappings"
    )
