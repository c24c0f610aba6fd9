"""Scenario files: a programme's expected outcomes, checked by ``loyalty test``.

A scenario file (``schemas/scenario.schema.json``) lives in a ``scenarios/`` folder next to
its programme. Each scenario gives a member, a sale and, optionally, a what-if time, and
expects some fields of the quote (``points.total: 63``, ``totals.payable: "42.11"``) or a
refusal code (``error: redemption.exceeds_balance``). Every scenario is priced with the
programme's ``Evaluator`` and each expected field is compared with the JSON view of the quote
(``Quote.as_dict()``); a file's shape problems are reported like ``loyalty validate`` reports
a programme's, with file, line and column.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from pathlib import Path as FsPath
from typing import Any, Literal

import engine.outreach.templates  # noqa: F401 (registers the template check with the validator)
from engine.errors import InputError, LoyaltyError, PolicyError, ProblemsError, RedemptionError
from engine.policy.loader import YAML_SUFFIXES, _place, load_programme
from engine.policy.problems import Path, Problem, has_errors, sort_problems
from engine.policy.schema import describe, schema_problems
from engine.policy.source import Loaded, SourceMap, load_yaml
from engine.pricing import Evaluator, MatcherKind
from engine.pricing.model import Member, Transaction, parse_member, parse_transaction

SCENARIOS_FOLDER = "scenarios"
PROGRAMME_FILE = "programme.yaml"
SOURCE_LISTS = ("applied", "not_applied")  # compared by source, in any order
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
Status = Literal["passed", "failed", "invalid"]


class _Missing:
    """The value of a field the quote does not have."""

    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """One expected field that the quote does not match."""

    field: str
    expected: Any
    actual: Any
    note: str = ""
    line: int | None = None
    column: int | None = None

    @property
    def message(self) -> str:
        text = f"{self.field}: expected {show(self.expected)}, got {show(self.actual)}"
        return f"{text} ({self.note})" if self.note else text

    def as_record(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "expected": _plain(self.expected),
            "actual": _plain(self.actual),
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True)
class Outcome:
    """What became of one scenario: passed, failed (with its mismatches), or invalid."""

    name: str
    line: int | None = None
    column: int | None = None
    mismatches: tuple[Mismatch, ...] = ()
    ran: bool = True

    @property
    def status(self) -> Status:
        if not self.ran:
            return "invalid"
        return "failed" if self.mismatches else "passed"

    def as_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "line": self.line,
            "column": self.column,
            "mismatches": [m.as_record() for m in self.mismatches],
        }


@dataclass
class FileResult:
    """One scenario file: the programme it tested, its outcomes and its problems."""

    file: str
    programme: str | None = None  # id@version
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "programme": self.programme,
            "scenarios": [o.as_record() for o in self.outcomes],
        }


@dataclass
class ScenarioReport:
    """Every scenario file run together."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for f in self.files for o in f.outcomes]

    @property
    def problems(self) -> list[Problem]:
        found = [p for f in self.files for p in f.problems]
        return sort_problems(list(dict.fromkeys(found)))

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def ok(self) -> bool:
        passed = all(o.status == "passed" for o in self.outcomes)
        return bool(self.files) and passed and not has_errors(self.problems)

    def summary(self) -> str:
        files = f"{len(self.files)} file{'s' * (len(self.files) != 1)}"
        total = len(self.outcomes)
        if not self.files:
            return "failed: no scenario files found (they live in a scenarios/ folder)"
        if self.ok:
            return f"passed: {total} scenario{'s' * (total != 1)} in {files}"
        errors = sum(p.is_error for p in self.problems)
        return (
            f"failed: {self.count('failed')} of {total} scenarios failed, "
            f"{self.count('invalid')} could not run, {errors} error"
            f"{'s' * (errors != 1)} in {files}"
        )

    def text_lines(self) -> Iterator[tuple[str, Status]]:
        """The report for people, line by line, each with the status that colours it."""
        labels = {"passed": "ok   ", "failed": "FAIL ", "invalid": "ERROR"}
        for result in self.files:
            programme = f"  ({result.programme})" if result.programme else ""
            yield f"{result.file}{programme}", "passed"
            for outcome in result.outcomes:
                where = f"  (line {outcome.line})" if outcome.status != "passed" else ""
                yield f"  {labels[outcome.status]} {outcome.name}{where}", outcome.status
                for mismatch in outcome.mismatches:
                    yield f"          {mismatch.message}  (line {mismatch.line})", "failed"

    def as_record(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": {
                "files": len(self.files),
                "scenarios": len(self.outcomes),
                "passed": self.count("passed"),
                "failed": self.count("failed"),
                "invalid": self.count("invalid"),
            },
            "files": [f.as_record() for f in self.files],
            "problems": [p.as_record() for p in self.problems],
        }


# --- finding and running ------------------------------------------------------------------


def find_scenario_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files given as such, and every YAML file in a ``scenarios/`` folder under the folders."""
    found: list[str] = []
    for given in paths:
        path = FsPath(given)
        if path.is_dir():
            found += sorted(str(p) for p in path.rglob("*") if _in_scenarios_folder(p, path))
        else:
            found.append(str(path))
    return list(dict.fromkeys(_display(f) for f in found))


def _in_scenarios_folder(file: FsPath, searched: FsPath) -> bool:
    folders = (searched.name, *file.relative_to(searched).parts[:-1])
    return file.suffix in YAML_SUFFIXES and SCENARIOS_FOLDER in folders


def run_scenarios(
    paths: Iterable[str | os.PathLike[str]], *, matcher: MatcherKind = "durable"
) -> ScenarioReport:
    """Run every scenario under ``paths`` with the given matcher."""
    runner = _Runner(matcher)
    return ScenarioReport([runner.run_file(file) for file in find_scenario_files(paths)])


class _Runner:
    """Runs scenario files, compiling each programme once."""

    def __init__(self, matcher: MatcherKind) -> None:
        self.matcher = matcher
        self.compiled: dict[str, Evaluator | list[Problem]] = {}

    def run_file(self, file: str) -> FileResult:
        result = FileResult(file)
        loaded = _read(file)
        document = loaded.data
        result.problems += _file_problems(loaded)
        broken = _broken_scenarios(result.problems)
        if document is None or None in broken:
            return result
        evaluator = self.evaluator(file, loaded, result)
        if evaluator is None:
            return result
        result.programme = evaluator.programme.ruleset_name
        for index, scenario in enumerate(document["scenarios"]):
            head = _head(scenario, index, loaded.positions)
            if index in broken:
                result.outcomes.append(replace(head, ran=False))
            else:
                result.outcomes.append(_run(evaluator, scenario, head, index, loaded, result))
        return result

    def evaluator(self, file: str, loaded: Loaded, result: FileResult) -> Evaluator | None:
        target = _programme_of(file, loaded.data)
        if isinstance(target, Problem):
            result.problems.append(_place_in(target, loaded))
            return None
        key = str(target.resolve())
        if key not in self.compiled:
            self.compiled[key] = _compile(target, self.matcher)
        compiled = self.compiled[key]
        if isinstance(compiled, Evaluator):
            return compiled
        refusal = Problem(
            f"the programme {_display(str(target))} is invalid, so no scenario can run",
            ("programme",) if "programme" in loaded.data else (),
            hint=f"see its problems: loyalty validate {_display(str(target))}",
            code="scenario.programme",
        )
        result.problems += [_place_in(refusal, loaded), *compiled]
        return None


def _read(file: str) -> Loaded:
    try:
        raw = FsPath(file).read_bytes()
    except OSError as exc:
        problem = Problem(f"cannot read the file: {exc.strerror}", code="io")
        return Loaded(file, None, SourceMap(), [problem.at(file, None, None)])
    return load_yaml(raw, file)


def _file_problems(loaded: Loaded) -> list[Problem]:
    if loaded.data is None:
        return list(loaded.problems)
    if not isinstance(loaded.data, dict):
        message = "a scenario file must be a mapping with a scenarios: list"
        return [Problem(message, code="not_a_mapping").at(loaded.file, 1, 1)]
    found = list(schema_problems(loaded.data, "scenario")) or list(_semantic(loaded.data))
    return [*loaded.problems, *(_place_in(p, loaded) for p in found)]


def _broken_scenarios(problems: Sequence[Problem]) -> set[int | None]:
    """Indexes of scenarios with errors; ``None`` when the file as a whole has one."""
    broken: set[int | None] = set()
    for problem in problems:
        if problem.is_error:
            path = problem.path
            index = path[1] if len(path) > 1 and path[0] == "scenarios" else None
            broken.add(index if isinstance(index, int) else None)
    return broken


def _place_in(problem: Problem, loaded: Loaded) -> Problem:
    placed = _place(problem, loaded.positions)
    return placed if placed.file else placed.at(loaded.file, 1, 1)


def _semantic(document: Mapping[str, Any]) -> Iterator[Problem]:
    """What the schema cannot say: unique names, and an expected error stands alone."""
    names: set[str] = set()
    for index, scenario in enumerate(document["scenarios"]):
        where: Path = ("scenarios", index)
        if scenario["name"] in names:
            yield Problem(
                f"another scenario in this file is also called '{scenario['name']}'",
                (*where, "name"),
                hint="give each scenario its own name: reports name them",
                code="scenario.duplicate_name",
            )
        names.add(scenario["name"])
        yield from _error_alone(scenario["expect"], (*where, "expect"))


def _error_alone(expect: Mapping[str, Any], where: Path) -> Iterator[Problem]:
    if "error" not in expect:
        return
    for key in expect:
        if key != "error":
            yield Problem(
                "a refused sale has no quote: expect either an error or fields of the quote",
                (*where, key),
                hint="put the refusal and the quote in two scenarios",
                code="scenario.error_alone",
            )


def _programme_of(file: str, document: Mapping[str, Any]) -> FsPath | Problem:
    """The programme file a scenario file tests: named, or the nearest programme.yaml above."""
    if "programme" in document:
        target = FsPath(file).parent / document["programme"]
        if target.is_file():
            return target
        return Problem(
            f"programme file '{document['programme']}' does not exist (looked for {target})",
            ("programme",),
            code="scenario.programme",
        )
    for folder in FsPath(file).resolve().parents:
        if (folder / PROGRAMME_FILE).is_file():
            return folder / PROGRAMME_FILE
    return Problem(
        f"no {PROGRAMME_FILE} in this file's folder or any folder above it",
        hint="name the programme file: programme: ../programme.yaml",
        code="scenario.programme",
    )


def _compile(target: FsPath, matcher: MatcherKind) -> Evaluator | list[Problem]:
    try:
        return Evaluator(load_programme(target), matcher=matcher)
    except PolicyError as exc:
        return [p for p in exc.problems if isinstance(p, Problem)]
    except LoyaltyError as exc:
        return [Problem(str(exc), code="scenario.programme").at(_display(str(target)), 1, 1)]


def _head(scenario: Any, index: int, positions: SourceMap) -> Outcome:
    name = scenario.get("name") if isinstance(scenario, dict) else None
    where = positions.locate(("scenarios", index))
    return Outcome(
        name if isinstance(name, str) else f"scenario {index + 1}",
        where.line if where else None,
        where.column if where else None,
    )


def _run(
    evaluator: Evaluator,
    scenario: Mapping[str, Any],
    head: Outcome,
    index: int,
    loaded: Loaded,
    result: FileResult,
) -> Outcome:
    where: Path = ("scenarios", index)
    try:
        member, sale = _inputs(evaluator, scenario)
        quote = _quote(evaluator, member, sale, scenario.get("at"))
    except RedemptionError as refusal:
        return replace(head, mismatches=_refused(scenario["expect"], refusal, where, loaded))
    except LoyaltyError as exc:
        result.problems += [_place_in(p, loaded) for p in _problems_of(exc, where)]
        return replace(head, ran=False)
    return replace(head, mismatches=_compare(scenario["expect"], quote, where, loaded))


def _inputs(evaluator: Evaluator, scenario: Mapping[str, Any]) -> tuple[Member, Transaction]:
    """The member and the sale; every problem of both, with its path inside the scenario."""
    problems: list[Problem] = []
    member: Member | None = None
    sale: Transaction | None = None
    try:
        member = parse_member(scenario["member"], evaluator.currency)
    except InputError as exc:
        problems += _under(exc.problems, ("member",))
    try:
        sale = parse_transaction(scenario["transaction"], evaluator.currency)
    except InputError as exc:
        problems += _under(exc.problems, ("transaction",))
    if member is None or sale is None:
        raise InputError("the scenario's member or transaction is invalid", problems)
    return member, sale


def _quote(
    evaluator: Evaluator, member: Member, sale: Transaction, at: str | None
) -> dict[str, Any]:
    moment = _what_if(at, evaluator.tz)
    if at is not None and moment is None:
        hint = 'write "2026-11-24" or "2026-11-24T08:15" (local time) or add an offset'
        problem = Problem(f"'{at}' is not a real date or time", ("at",), hint=hint, code="input")
        raise InputError("the what-if time is invalid", [problem])
    try:
        quote = evaluator.quote(member, sale, at=moment, explain=True)
    except InputError as exc:  # the member's tier is not one of the programme's
        raise InputError(str(exc), _under(exc.problems, ("member",))) from exc
    return quote.as_dict()


def _under(problems: Sequence[Any], prefix: Path) -> list[Problem]:
    return [p.under(prefix) for p in problems if isinstance(p, Problem)]


def _problems_of(exc: LoyaltyError, where: Path) -> list[Problem]:
    problems = exc.problems if isinstance(exc, ProblemsError) else []
    found = [p.under(where) for p in problems if isinstance(p, Problem)]
    return found or [Problem(str(exc), where, code="scenario.engine")]


def _what_if(text: str | None, tz: tzinfo | None) -> datetime | None:
    """The what-if time: a date is the start of that local day; no offset means local time."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time.min)
        else:
            moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    return moment if moment.tzinfo or tz is None else moment.replace(tzinfo=tz)


# --- comparing ----------------------------------------------------------------------------


def _refused(
    expect: Mapping[str, Any], refusal: RedemptionError, where: Path, loaded: Loaded
) -> tuple[Mismatch, ...]:
    if expect.get("error") == refusal.code:
        return ()
    key = "error" if "error" in expect else next(iter(expect))
    wanted = expect.get("error", "a quote")
    mismatch = Mismatch("error", wanted, refusal.code, note=str(refusal))
    return (_at(mismatch, (*where, "expect", key), loaded),)


def _compare(
    expect: Mapping[str, Any], quote: Mapping[str, Any], where: Path, loaded: Loaded
) -> tuple[Mismatch, ...]:
    found = []
    for keys, segments, expected in _flatten(expect, ()):
        mismatch = _check(segments, expected, quote)
        if mismatch is not None:
            found.append(_at(mismatch, (*where, "expect", *keys), loaded))
    return tuple(found)


def _flatten(
    expect: Mapping[str, Any], keys: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...], Any]]:
    """(YAML keys, field segments, expected value): ``points: {total: 1}`` = ``points.total: 1``."""
    for key, value in expect.items():
        here = (*keys, key)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, here)
        else:
            yield here, tuple(part for k in here for part in k.split(".")), value


def _check(segments: tuple[str, ...], expected: Any, quote: Mapping[str, Any]) -> Mismatch | None:
    name = ".".join(segments)
    if segments == ("error",):
        return Mismatch(name, expected, "a quote", note="the sale was not refused")
    if len(segments) == 2 and segments[0] in SOURCE_LISTS and segments[1] == "contains":
        return _contains(segments[0], expected, quote)
    actual, note = resolve(quote, segments)
    if len(segments) == 1 and segments[0] in SOURCE_LISTS and isinstance(actual, list):
        actual = [entry["source"] for entry in actual]
        if isinstance(expected, list) and sorted(map(str, expected)) == sorted(actual):
            return None
    elif same(expected, actual):
        return None
    return Mismatch(name, expected, actual, note=note)


def _contains(field: str, expected: Any, quote: Mapping[str, Any]) -> Mismatch | None:
    """``applied: {contains: [...]}``: these sources are in the list, whatever else is."""
    actual, note = resolve(quote, (field,))
    if not isinstance(actual, list):
        return Mismatch(f"{field}.contains", expected, actual, note=note)
    sources = [entry["source"] for entry in actual]
    missing = [source for source in map(str, expected) if source not in sources]
    if not missing:
        return None
    return Mismatch(
        f"{field}.contains", expected, sources, note=f"not in {field}: {', '.join(missing)}"
    )


def _at(mismatch: Mismatch, path: Path, loaded: Loaded) -> Mismatch:
    where = loaded.positions.keys.get(path) or loaded.positions.locate(path)
    return replace(mismatch, line=where.line, column=where.column) if where else mismatch


def resolve(data: Any, segments: Sequence[str]) -> tuple[Any, str]:
    """The value at a dotted path of the quote, or ``MISSING`` and a note saying why."""
    value = data
    for depth, segment in enumerate(segments):
        if isinstance(value, list):
            found = _item(value, segment)
        elif isinstance(value, Mapping):
            found = value.get(segment, MISSING)
        else:
            found = MISSING
        if found is MISSING:
            return MISSING, _no_such(value, segments[:depth], segment)
        value = found
    return value, ""


def _item(items: list[Any], segment: str) -> Any:
    """A list's item by its ``id`` (``lines.<line id>``), or by position from 0."""
    if items and all(isinstance(i, Mapping) and "id" in i for i in items):
        return next((i for i in items if str(i["id"]) == segment), MISSING)
    if segment.isdigit() and int(segment) < len(items):
        return items[int(segment)]
    return MISSING


def _no_such(value: Any, parent: Sequence[str], segment: str) -> str:
    where = ".".join(parent) or "the quote"
    if isinstance(value, list):
        ids = [str(i["id"]) for i in value if isinstance(i, Mapping) and "id" in i]
        known = f"ids: {', '.join(ids)}" if ids else f"{len(value)} entries, from 0"
        return f"{where} has no entry '{segment}'; {known}"
    if isinstance(value, Mapping):
        close = difflib.get_close_matches(segment, [str(k) for k in value], n=1, cutoff=0.6)
        if close:
            return f"{where} has no field '{segment}'; did you mean '{close[0]}'?"
        if not value:
            return f"{where} has no field '{segment}'; it is empty"
        return f"{where} has no field '{segment}'; it has: {', '.join(map(str, value))}"
    return f"{where} is {show(value)}, which has no fields"


def same(expected: Any, actual: Any) -> bool:
    """Whether a quote value matches what a scenario expects.

    Numbers and money compare as exact decimals (``42.1`` = ``"42.10"``); a date matches a
    time on that day (``"2027-11-30"`` matches ``"2027-11-30T23:59:59+08:00"``); lists
    compare in order; a mapping inside a list must match exactly.
    """
    if expected is None or isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and set(expected) == set(actual)
            and all(same(expected[k], actual[k]) for k in expected)
        )
    wanted, got = _number(expected), _number(actual)
    if wanted is not None and got is not None:
        return wanted == got
    return isinstance(expected, str) and isinstance(actual, str) and _same_text(expected, actual)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return Decimal(value)
    return None


def _same_text(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    wanted, got = _what_if(expected, None), _what_if(actual, None)
    if wanted is None or got is None or got.tzinfo is None:
        return False
    if len(expected) == 10:
        return wanted.date() == got.date()
    if wanted.tzinfo is None:
        return wanted == got.replace(tzinfo=None)
    return wanted == got


def show(value: Any) -> str:
    """A value as a marketer would write it in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if value is MISSING:
        return "nothing"
    return str(value) if not isinstance(value, str) or value else describe(value)


def _plain(value: Any) -> Any:
    """JSON-ready: decimals as text, the missing marker as null."""
    if value is MISSING:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _display(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
