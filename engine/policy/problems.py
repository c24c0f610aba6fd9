"""Problem records: what is wrong, where, in plain words.

Checks yield problems with a *path* inside the document; the file, line and
column are filled in once, at the end, from the source map (so no check ever
deals with positions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Literal

Path = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy file."""

    message: str
    path: Path = ()
    severity: Severity = "error"
    hint: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str = "invalid"

    def __post_init__(self) -> None:
        # A path given as text ("when.transaction.amount") would otherwise be rendered one
        # character at a time (w.h.e.n...) and point at no line: read it as a rendered path.
        if isinstance(self.path, str):
            object.__setattr__(self, "path", parse_path(self.path))
        elif not isinstance(self.path, tuple):
            object.__setattr__(self, "path", tuple(self.path))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def at(self, file: str | None, line: int | None, column: int | None) -> Problem:
        return replace(self, file=file, line=line, column=column)

    def under(self, prefix: Path) -> Problem:
        """The same problem with its path moved under ``prefix``."""
        return replace(self, path=(*prefix, *self.path))

    def as_record(self) -> dict[str, object]:
        record = asdict(self)
        record["path"] = render_path(self.path)
        return record

    def render(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        text = (
            f"{where}: {self.severity}: {self.message}"
            if where
            else f"{self.severity}: {self.message}"
        )
        if self.path:
            text += f" [{render_path(self.path)}]"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def render_path(path: Path) -> str:
    """``('tiers', 'levels', 2, 'threshold')`` → ``tiers.levels[2].threshold``."""
    if isinstance(path, str):  # already rendered: iterating it would dot every character
        return path
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_SEGMENT = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def parse_path(text: str) -> Path:
    """``tiers.levels[2].threshold`` → ``('tiers', 'levels', 2, 'threshold')``."""
    return tuple(int(index) if index else name for index, name in _SEGMENT.findall(text))


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.message))
