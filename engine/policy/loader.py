"""Find, read, merge and validate programme files.

A programme is a YAML file with a top-level ``programme:`` key. It may list
other files under ``include:``; those *fragments* hold only ``rules``,
``campaigns`` and ``outreach``, which are appended to the programme's own.
Every problem of every file is collected in one pass; nothing stops at the
first.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path as FsPath
from typing import Any

from engine.errors import PolicyError
from engine.policy.model import (
    BurnPolicy,
    EarnPolicy,
    ExpiryPolicy,
    Identity,
    ProgrammeModel,
    TierPolicy,
)
from engine.policy.problems import Path, Problem, has_errors, sort_problems
from engine.policy.schema import schema_problems
from engine.policy.semantic import semantic_problems
from engine.policy.source import Loaded, Position, SourceMap, load_yaml

MERGED_SECTIONS = ("rules", "campaigns", "outreach")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, eq=False)
class Programme:
    """A validated programme: its merged document and the files it came from."""

    document: Mapping[str, Any]
    version: str
    files: tuple[str, ...]
    positions: SourceMap = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.document["programme"]["id"])

    @property
    def ruleset_name(self) -> str:
        """A name unique to this version: durable-rules cannot replace a ruleset."""
        return f"{self.id}@{self.version}"

    @cached_property
    def model(self) -> ProgrammeModel:
        """Every section as a typed view, read once: what the engine reads, never ``document``."""
        return ProgrammeModel.of(self.document)

    def raw(self) -> Mapping[str, Any]:
        """The validated mapping itself, for tests and tools that build variants of a programme.

        Whoever holds it may change it, so the views are read again from it on their next use.
        The engine reads the views only (tests/policy/test_raw_reads.py).
        """
        self.__dict__.pop("model", None)
        return self.document

    @property
    def identity(self) -> Identity:
        return self.model.identity

    @property
    def tiers(self) -> TierPolicy:
        return self.model.tiers

    @property
    def earn(self) -> EarnPolicy:
        return self.model.earn

    @property
    def burn(self) -> BurnPolicy | None:
        return self.model.burn

    @property
    def expiry(self) -> ExpiryPolicy:
        return self.model.expiry


@dataclass
class Report:
    """The outcome of validating some paths: programmes that passed, and all problems."""

    programmes: list[Programme] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # The bytes each file was validated from, so a programme can be stored exactly as checked.
    sources: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)


def validate_paths(paths: Iterable[str | os.PathLike[str]]) -> Report:
    """Validate every policy file under ``paths`` (files or folders)."""
    files = _discover(paths)
    return _Session(files).run()


def load_programmes(folder: str | os.PathLike[str]) -> list[Programme]:
    """Every programme under ``folder``; raises PolicyError if any file is invalid."""
    report = validate_paths([folder])
    if not report.ok:
        raise PolicyError(f"{folder} has invalid policy files", report.problems)
    return report.programmes


def load_programme(path: str | os.PathLike[str]) -> Programme:
    """The one programme whose main file is ``path``; raises PolicyError if invalid."""
    report = validate_paths([path])
    if not report.ok:
        raise PolicyError(f"{path} is invalid", report.problems)
    if len(report.programmes) != 1:
        raise PolicyError(f"{path} does not declare a programme", report.problems)
    return report.programmes[0]


def validate_document(raw: bytes, name: str = "<document>") -> Report:
    """Validate one programme sent as text (no includes are read)."""
    session = _Session([])
    loaded = load_yaml(raw, name)
    session.cache[name] = loaded
    session.check_root(name, loaded, read_includes=False)
    return session.finish()


def validate_texts(main: str, texts: Mapping[str, bytes]) -> Report:
    """Validate the programme whose main file is ``main``, reading every file from ``texts``.

    ``texts`` maps relative paths, as the includes name them from the main file's folder,
    to the files' bytes: a programme stored as text (the database's last good version)
    is rebuilt without its rules folder, to the same version hash.
    """
    return _TextSession(main, texts).run()


def _discover(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    found: list[str] = []
    for given in paths:
        path = FsPath(given)
        if path.is_dir():
            found += sorted(str(p) for p in path.rglob("*") if _is_policy_file(p, path))
        else:
            found.append(str(path))
    return list(dict.fromkeys(_display(f) for f in found))


def _is_policy_file(path: FsPath, root: FsPath) -> bool:
    """YAML under ``root``, except scenario files (``loyalty test``) and reviewers' decisions."""
    return (
        path.suffix in YAML_SUFFIXES
        and "scenarios" not in path.relative_to(root).parts[:-1]
        and not path.name.endswith((".review.yaml", ".review.yml"))
    )


def _display(path: str) -> str:
    """Paths relative to the working directory when they are under it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path


class _Session:
    """One validation run: reads each file once and collects every problem."""

    def __init__(self, files: list[str]) -> None:
        self.files = files
        self.cache: dict[str, Loaded] = {}
        self.problems: list[Problem] = []
        self.programmes: list[Programme] = []
        self.included: set[str] = set()

    def run(self) -> Report:
        roots, fragments = [], []
        for file in self.files:
            loaded = self.read(file)
            if loaded.problems and loaded.data is None:
                self.problems += loaded.problems
            elif isinstance(loaded.data, dict) and "programme" in loaded.data:
                roots.append(file)
            else:
                fragments.append(file)
        for file in roots:
            self.check_root(file, self.cache[file], read_includes=True)
        for file in fragments:
            if file not in self.included:
                self.check_orphan(file)
        self.check_programme_ids()
        return self.finish()

    def finish(self) -> Report:
        sources = {file: loaded.raw for file, loaded in self.cache.items()}
        return Report(self.programmes, sort_problems(self.problems), list(self.cache), sources)

    def exists(self, file: str) -> bool:
        return FsPath(file).is_file()

    def read(self, file: str) -> Loaded:
        if file not in self.cache:
            try:
                raw = FsPath(file).read_bytes()
            except OSError as exc:
                problem = Problem(f"cannot read the file: {exc.strerror}", code="io")
                self.cache[file] = Loaded(file, None, SourceMap(), [problem.at(file, None, None)])
            else:
                self.cache[file] = load_yaml(raw, file)
        return self.cache[file]

    def check_root(self, file: str, loaded: Loaded, *, read_includes: bool) -> None:
        document = dict(loaded.data) if isinstance(loaded.data, dict) else loaded.data
        positions = SourceMap(dict(loaded.positions.values), dict(loaded.positions.keys))
        problems = list(loaded.problems)
        sources = [loaded]
        if not isinstance(document, dict):
            problems.append(_not_a_mapping(file))
        elif read_includes:
            sources += self.merge_includes(file, document, positions, problems)
        if isinstance(document, dict):
            problems += self.validate(document, "programme", positions)
        self.problems += problems
        if not has_errors(problems):
            self.programmes.append(
                Programme(document, _version(sources), tuple(s.file for s in sources), positions)
            )

    def merge_includes(
        self, file: str, document: dict[str, Any], positions: SourceMap, problems: list[Problem]
    ) -> list[Loaded]:
        includes = document.get("include")
        if not isinstance(includes, list):
            return []  # the schema reports a wrong type
        merged = []
        for index, name in enumerate(includes):
            fragment = self.fragment(file, index, name, positions, problems)
            if fragment is not None:
                _append_sections(document, positions, fragment)
                merged.append(fragment)
        return merged

    def fragment(
        self, root: str, index: int, name: Any, positions: SourceMap, problems: list[Problem]
    ) -> Loaded | None:
        if not isinstance(name, str):
            return None
        target = _display(str(FsPath(root).parent / name))
        where = positions.locate(("include", index))

        def refuse(message: str) -> None:
            pos = (where.line, where.column) if where else (None, None)
            problems.append(Problem(message, ("include", index), code="include").at(root, *pos))

        if not self.exists(target):
            refuse(f"included file '{name}' does not exist (looked for {target})")
            return None
        loaded = self.read(target)
        self.included.add(target)
        if loaded.data is None:
            self.problems += [p for p in loaded.problems if p not in self.problems]
            refuse(f"included file '{name}' could not be read")
            return None
        if isinstance(loaded.data, dict) and "programme" in loaded.data:
            refuse(f"'{name}' is a programme of its own and cannot be included")
            return None
        fragment_problems = list(loaded.problems)
        if isinstance(loaded.data, dict):
            fragment_problems += self.validate(loaded.data, "fragment", loaded.positions)
        else:
            fragment_problems.append(_not_a_mapping(target))
        new = [p for p in fragment_problems if p not in problems and p not in self.problems]
        problems += new
        return None if has_errors(fragment_problems) else loaded

    def validate(
        self, document: dict[str, Any], schema: str, positions: SourceMap
    ) -> list[Problem]:
        found = list(schema_problems(document, schema))
        if not found and schema == "programme":
            found = list(semantic_problems(document))
        return [_place(p, positions) for p in found]

    def check_orphan(self, file: str) -> None:
        loaded = self.cache[file]
        if not isinstance(loaded.data, dict):
            self.problems.append(_not_a_mapping(file))
            return
        self.problems += loaded.problems
        self.problems += self.validate(loaded.data, "fragment", loaded.positions)
        self.problems.append(
            Problem(
                "this file is not included by any programme, so nothing uses it",
                severity="warning",
                hint="list it under include: in a programme file",
                code="orphan",
            ).at(file, 1, 1)
        )

    def check_programme_ids(self) -> None:
        seen: dict[str, Programme] = {}
        for programme in self.programmes:
            first = seen.setdefault(programme.id, programme)
            if first is not programme:
                problem = Problem(
                    f"programme id '{programme.id}' is also used by {first.files[0]}",
                    ("programme", "id"),
                )
                self.problems.append(_place(problem, programme.positions))
        duplicated = {p.id for p in self.programmes if seen[p.id] is not p}
        self.programmes = [p for p in self.programmes if p.id not in duplicated]


class _TextSession(_Session):
    """A validation run over files given as text instead of read from disk."""

    def __init__(self, main: str, texts: Mapping[str, bytes]) -> None:
        super().__init__([_display(main)])
        self.texts = {_display(name): raw for name, raw in texts.items()}

    def exists(self, file: str) -> bool:
        return file in self.texts

    def read(self, file: str) -> Loaded:
        if file not in self.cache:
            if file in self.texts:
                self.cache[file] = load_yaml(self.texts[file], file)
            else:
                problem = Problem("the file is not among the stored texts", code="io")
                self.cache[file] = Loaded(file, None, SourceMap(), [problem.at(file, None, None)])
        return self.cache[file]


def _append_sections(document: dict[str, Any], positions: SourceMap, fragment: Loaded) -> None:
    for section in MERGED_SECTIONS:
        extra = fragment.data.get(section)
        if not isinstance(extra, list) or not isinstance(document.get(section, []), list):
            continue
        offset = len(document.get(section, []))
        document[section] = [*document.get(section, []), *extra]
        shift: dict[Path, Path] = {(section, i): (section, offset + i) for i in range(len(extra))}
        only_items = SourceMap(
            {
                k: v
                for k, v in fragment.positions.values.items()
                if k[:1] == (section,) and len(k) > 1
            },
            {
                k: v
                for k, v in fragment.positions.keys.items()
                if k[:1] == (section,) and len(k) > 1
            },
        )
        positions.merge(only_items, shift)


def _place(problem: Problem, positions: SourceMap) -> Problem:
    """Fill in file, line and column from the source map."""
    if problem.line is not None:
        return problem
    key, value = positions.keys.get(problem.path), positions.values.get(problem.path)
    # A value on its key's line is pointed at itself; a block value or a key, at the key.
    where: Position | None
    if key and (problem.code == "schema.unknown_field" or not value or value.line != key.line):
        where = key
    else:
        where = value or positions.locate(problem.path)
    if where is None:
        return problem
    return problem.at(where.file, where.line, where.column)


def _not_a_mapping(file: str) -> Problem:
    return Problem(
        "a policy file must be a mapping of sections (programme:, tiers:, rules: ...)",
        code="not_a_mapping",
    ).at(file, 1, 1)


def _version(sources: list[Loaded]) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update(FsPath(source.file).name.encode() + b"\0" + source.raw + b"\0")
    return digest.hexdigest()[:12]
