"""Section ``detect``: microseconds per ``detect()`` call, ours against flaskapi-guard's."""

from __future__ import annotations

import time

from benchmarks._engines import OURS, PEER, Engine
from benchmarks._report import Row
from benchmarks._timing import Plan, Summary, gc_paused, summarize, turn_order
from benchmarks._workloads import Workload, detect_workloads
from benchmarks.sections._base import RunContext

SECTION = "detect"


def run(ctx: RunContext) -> list[Row]:
    """Time every workload on every available engine; two rows (median, p99) per workload."""
    engines = ctx.available()
    rows: list[Row] = []
    for workload in detect_workloads(ctx.quick):
        summaries = measure(engines, workload, ctx.plan)
        ours, peer = summaries.get(OURS), summaries.get(PEER)
        rows.append(Row(SECTION, workload.label, "median µs/value", _median(ours), _median(peer)))
        rows.append(Row(SECTION, workload.label, "p99 µs/value", _p99(ours), _p99(peer)))
    return rows


def measure(engines: dict[str, Engine], workload: Workload, plan: Plan) -> dict[str, Summary]:
    """Warm every engine up on the workload, then time it in alternating rounds."""
    for engine in engines.values():
        for _ in range(plan.warmup):
            _time_calls(engine, workload, 1)
    samples: dict[str, list[list[float]]] = {name: [] for name in engines}
    with gc_paused():
        for index in range(plan.rounds):
            for name in turn_order(list(engines), index):
                samples[name].append(_time_calls(engines[name], workload, plan.repeat))
    return {name: summarize(rounds) for name, rounds in samples.items()}


def _time_calls(engine: Engine, workload: Workload, repeat: int) -> list[float]:
    detect, context, clock = engine.detect, workload.context, time.perf_counter_ns
    timings = []
    for _ in range(repeat):
        for value in workload.values:
            start = clock()
            detect(value, context)
            timings.append((clock() - start) / 1000)
    return timings


def _median(summary: Summary | None) -> float | None:
    return None if summary is None else summary.median_us


def _p99(summary: Summary | None) -> float | None:
    return None if summary is None else summary.p99_us
