"""Timing primitives shared by the speed sections: plans, timed loops and summaries.

Each call is timed on its own with ``perf_counter_ns``. A measurement is several rounds; engines
take turns inside every round (the first engine alternates), so drift in machine load hits both
alike and every ratio compares numbers taken in the same run. The reported median is the median
of the per-round medians; p99 is taken over all calls pooled. As in ``timeit``, the garbage
collector is off while calls are timed.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """How hard to measure: warm-up passes, rounds, and passes over the inputs per round."""

    warmup: int
    rounds: int
    repeat: int


FULL = Plan(warmup=3, rounds=20, repeat=5)
QUICK = Plan(warmup=1, rounds=3, repeat=1)


@dataclass(frozen=True)
class Summary:
    """Median (of round medians) and p99 (of all calls), in microseconds."""

    median_us: float
    p99_us: float
    calls: int


def time_each(call: Callable[[], object]) -> float:
    """Microseconds one call of ``call`` took."""
    start = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - start) / 1000


def summarize(rounds: list[list[float]]) -> Summary:
    """Summarise per-round lists of per-call microseconds."""
    pooled = sorted(us for one_round in rounds for us in one_round)
    return Summary(
        median_us=statistics.median(statistics.median(r) for r in rounds),
        p99_us=percentile(pooled, 0.99),
        calls=len(pooled),
    )


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile of already sorted values (nearest rank)."""
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def turn_order(names: list[str], round_index: int) -> list[str]:
    """``names`` rotated by the round number, so no engine always goes first."""
    shift = round_index % len(names) if names else 0
    return names[shift:] + names[:shift]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect garbage, then keep the collector off for the block."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
