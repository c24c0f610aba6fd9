"""A backtest: the period replayed under each version, from one rebuilt starting state.

History before the period is replayed once, under the live version, into a scratch ledger:
that rebuilds every member's state at the period's start (lots, tiers, caps, budgets) as the
ledger holds it. Each version then gets a copy of that scratch ledger and replays the
period. The source ledger is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from engine.backtest.figures import Figures, figures
from engine.backtest.history import History, read_history
from engine.backtest.replay import Result, replay
from engine.backtest.scratch import Scratch, scratch_folder, seed
from engine.errors import InputError
from engine.ledger import jobs
from engine.policy.problems import Problem
from engine.pricing import Evaluator

Progress = Callable[[str, int, int], None]
MAX_VERSIONS = 8


@dataclass
class VersionRun:
    label: str  # "live", or the proposal's file name
    evaluator: Evaluator
    results: list[Result]
    figures: Figures


@dataclass
class Backtest:
    programme: str
    start: datetime
    end: datetime
    events: int  # replayed in the period, per version
    warmup_events: int  # replayed before the period to rebuild the starting state
    runs: list[VersionRun]


def backtest(
    source: Engine,
    versions: Sequence[tuple[str, Evaluator]],
    start: datetime,
    end: datetime,
    *,
    keep_responses: bool = False,
    progress: Progress | None = None,
    history: History | None = None,
) -> Backtest:
    """Replay ``[start, end)`` of ``source`` under each version; the first is the live one."""
    _check(versions, start, end)
    live = versions[0][1]
    history = history or read_history(source, live.programme.id, live.tz, until=end)
    warmup, period = history.before(start), history.between(start, end)
    runs: list[VersionRun] = []
    with scratch_folder() as folder:
        base = Scratch(folder, "base")
        seed(base, history, live.levels[0]["id"] if live.levels else None, start)
        replay(base, live, warmup, progress=_stage(progress, "history before the period"))
        for index, (label, evaluator) in enumerate(versions):
            copy = base.copy(f"v{index}")
            try:
                results = replay(
                    copy,
                    evaluator,
                    period,
                    keep_responses=keep_responses,
                    progress=_stage(progress, label),
                )
                jobs.expire_lots(copy.engine, evaluator.programme.id, end, now=end)
                runs.append(
                    VersionRun(
                        label, evaluator, results, figures(copy, evaluator, results, start, end)
                    )
                )
            finally:
                copy.close()
        base.close()
    return Backtest(live.programme.id, start, end, len(period), len(warmup), runs)


def _stage(progress: Progress | None, label: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(label, done, total)


def _check(versions: Sequence[tuple[str, Evaluator]], start: datetime, end: datetime) -> None:
    problems = []
    if not versions:
        problems.append(Problem("give the live version and at least one proposal", ("versions",)))
    if len(versions) > MAX_VERSIONS:
        problems.append(Problem(f"at most {MAX_VERSIONS} versions at once", ("versions",)))
    ids = {e.programme.id for _, e in versions}
    if len(ids) > 1:
        problems.append(
            Problem(f"every version must be the same programme, not {sorted(ids)}", ("versions",))
        )
    if start.tzinfo is None or end.tzinfo is None:
        problems.append(Problem("the period's bounds need a time zone", ("period",)))
    elif not start < end:
        problems.append(Problem("the period must end after it starts", ("period",)))
    if problems:
        raise InputError("the backtest is invalid", problems)


def now() -> datetime:
    return datetime.now(UTC)


def as_dict(test: Backtest) -> dict[str, Any]:
    return {
        "programme": test.programme,
        "period": {"start": test.start.isoformat(), "end": test.end.isoformat()},
        "events": test.events,
        "history_before_period": test.warmup_events,
        "versions": [{"label": r.label, **r.figures.as_dict()} for r in test.runs],
    }
