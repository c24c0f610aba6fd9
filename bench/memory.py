"""Resident memory before and after many quotes, with progress on stderr."""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

_CHECK_EVERY = 1024  # quotes between clock reads


def rss_mb() -> float:
    """Current resident set size (VmRSS); the peak from getrusage where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_mb()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class MemoryRun:
    quotes: int
    warmup: int
    before_mb: float = 0.0
    after_mb: float = 0.0
    seconds: float = 0.0
    samples: list[tuple[int, float]] = field(default_factory=list)  # (quotes done, RSS MB)

    @property
    def growth_mb(self) -> float:
        return self.after_mb - self.before_mb


class Progress:
    """A bar redrawn in place on a terminal; a line every ``interval`` seconds otherwise."""

    def __init__(self, total: int, stream: TextIO, interval: float | None = None) -> None:
        self.total, self.stream = total, stream
        self.tty = stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 10.0)
        self.start = self.last = time.perf_counter()

    def due(self, now: float) -> bool:
        return now - self.last >= self.interval

    def show(self, done: int, rss: float, now: float) -> None:
        self.last = now
        elapsed = now - self.start
        speed = done / elapsed if elapsed else 0.0
        eta = (self.total - done) / speed if speed else 0.0
        filled = int(30 * done / self.total) if self.total else 30
        text = (
            f"memory [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{self.total:,} quotes"
            f"  {speed:,.0f}/s  RSS {rss:.1f} MB  ETA {eta:.0f} s"
        )
        self.stream.write(f"\r{text}" if self.tty else f"{text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def measure(quote: Callable[[], object], quotes: int, stream: TextIO | None = None) -> MemoryRun:
    """RSS after a warm-up (1% of ``quotes``, 1,000 to 10,000), then after ``quotes`` more."""
    run = MemoryRun(quotes, warmup=min(max(quotes // 100, 1_000), 10_000))
    for _ in range(run.warmup):
        quote()
    gc.collect()
    run.before_mb = rss_mb()
    run.samples.append((0, run.before_mb))
    progress = Progress(quotes, stream or sys.stderr)
    start = time.perf_counter()
    for done in range(1, quotes + 1):
        quote()
        if done % _CHECK_EVERY == 0 and progress.due(now := time.perf_counter()):
            run.samples.append((done, rss_mb()))
            progress.show(done, run.samples[-1][1], now)
    run.seconds = time.perf_counter() - start
    gc.collect()
    run.after_mb = rss_mb()
    run.samples.append((quotes, run.after_mb))
    progress.show(quotes, run.after_mb, time.perf_counter())
    progress.close()
    return run
