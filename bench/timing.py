"""Calls per second in several interleaved rounds (the machine is shared and noisy)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping

Operation = Callable[[], object]
_MAX_BATCH = 256


def rate(operation: Operation, seconds: float) -> float:
    """Calls per second of ``operation`` over at least ``seconds`` (and at least one call)."""
    gc.collect()
    calls, batch = 0, 1
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            operation()
        calls += batch
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)
        batch = min(batch * 2, _MAX_BATCH)


def interleaved(
    operations: Mapping[str, Operation], rounds: int, seconds: float
) -> dict[str, list[float]]:
    """Per operation, its rate in each round; each round runs every operation once, the
    starting one rotating, so slow phases of the machine hit all of them alike."""
    names = list(operations)
    for operation in operations.values():
        operation()  # warm caches and lazy initialisation outside the timed slices
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(rate(operations[name], seconds))
    return samples
