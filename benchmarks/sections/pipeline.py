"""Section ``pipeline``: events per second through the analysis pipeline.

Rows, all in events/s (the "ours" column):

* the semantic stage alone, in-process (the model, no store);
* ``process_events`` in-process over ``memory://`` and over a real Redis, one event per call
  and 50 per call (what a worker task does with ``guard.analyze_batch``);
* real Celery workers (``--pool=solo``, one process each) on a private ``redis-server``: one
  worker fed ``guard.analyze`` (one event per task) and ``guard.analyze_batch`` (50 per task),
  then two workers fed batches. Workers are started and warmed up first; the clock runs from the
  first task sent to the last event counted in the shared store.

Events come from the labelled corpus (``tests/corpora/dev.jsonl``) with ``inline_semantic``
off, so the model reads every value: 45% blocked attacks, 5% attacks the patterns let through
(each a semantic strike), 30% clean values the web process sent for a semantic look, 20%
sampled clean requests without a value; 200 clients. The machine's cores are shared by the
workers, the producer and redis-server, so a note gives the core count next to the speed-up.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._processes import stop_processes
from benchmarks._report import Row
from benchmarks.sections._base import RunContext
from guard.config import SecurityConfig
from guard.events import DetectionEvent, RuleHit
from guard.store import Store, create_store
from pipelines import PipelineContext, process_events, semantic

SECTION = "pipeline"
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpora" / "dev.jsonl"
BATCH = 50
NO_BAN = 10**9


def run(ctx: RunContext) -> list[Row]:
    """Measure in-process, then with one and two real workers when redis-server is available."""
    events = workload(4_000 if ctx.quick else 20_000)
    rows = [_row("semantic stage only, in-process", _semantic_only(events))]
    rows.append(_row("process_events, memory://, 50 per call",
                     _in_process(create_store("memory://"), events, BATCH)))
    with redis_server() as url:
        if url is None:
            ctx.notes.append(f"{SECTION} section: redis-server not found; Redis rows are n/a")
            return rows
        for size in (1, BATCH):
            store = create_store(url, prefix=f"guardbench:{uuid.uuid4().hex[:8]}:", timeout=2.0)
            rate = _in_process(store, events[: len(events) // (4 if size == 1 else 1)], size)
            rows.append(_row(f"process_events, redis://, {size} per call", rate))
            store.close()
        single = _workers(url, 1, events[: len(events) // 4], batch=1)
        one = _workers(url, 1, events, batch=BATCH)
        two = _workers(url, 2, events, batch=BATCH)
    cores = len(os.sched_getaffinity(0))
    rows.append(_row("1 worker, guard.analyze (1 event/task)", single))
    rows.append(_row(f"1 worker, guard.analyze_batch ({BATCH} events/task)", one))
    speedup = f"{two / one:.2f}x one worker; " if one and two else ""
    rows.append(_row(f"2 workers, guard.analyze_batch ({BATCH} events/task)", two,
                     f"{speedup}{cores} usable cores shared with redis-server"))
    ctx.notes.append(
        f"{SECTION} section: {len(events):,} corpus events (45% blocked, 5% missed attacks, 30% "
        f"clean values, 20% sampled), inline_semantic off; workers --pool=solo, one process "
        f"each, on a private redis-server; {cores} usable cores"
    )
    return rows


def _row(case: str, rate: float | None, note: str = "") -> Row:
    return Row(SECTION, case, "events/s", rate, None, note=note)


def workload(count: int, seed: int = 7) -> list[DetectionEvent]:
    """``count`` events built from the corpus, the same for every run."""
    rng = random.Random(seed)
    with CORPUS.open(encoding="utf-8") as corpus:
        rows = [json.loads(line) for line in corpus]
    attacks = [r for r in rows if r["label"] == "attack"]
    clean = [r for r in rows if r["label"] == "benign"]
    now = time.time()
    events = []
    for i in range(count):
        client = f"10.{i % 200}.0.1"
        roll = rng.random()
        common = {"client_ip": client, "ban_key": client, "method": "GET", "path": "/search",
                  "part_location": "query", "part_name": "q", "inline_semantic": False,
                  "correlation_id": f"bench-{i}", "ts": now, "screening_ms": 0.2}
        if roll < 0.5:
            row = rng.choice(attacks)
            missed = roll >= 0.45
            events.append(DetectionEvent.build(
                action="allowed" if missed else "blocked", value=row["payload"],
                hits=[] if missed else [RuleHit(f"{row['class']}-rule", row["class"], 3.0)],
                attack_class=None if missed else row["class"], strike_counted=not missed,
                **common))
        elif roll < 0.8:
            events.append(DetectionEvent.build(action="allowed", value=rng.choice(clean)["payload"],
                                               **common))
        else:
            events.append(DetectionEvent.build(action="sampled", **common))
    return events


def _context(store: Store) -> PipelineContext:
    return PipelineContext(config=SecurityConfig(auto_ban_threshold=NO_BAN), store=store,
                           node="bench")


def _fresh(events: list[DetectionEvent]) -> list[DetectionEvent]:
    """Copies under new ids, for warming up without deduplicating the timed events."""
    return [dataclasses.replace(event, event_id=uuid.uuid4().hex) for event in events]


def _semantic_only(events: list[DetectionEvent]) -> float:
    ctx = _context(create_store("memory://"))
    for event in _fresh(events[:500]):
        semantic.analyze(event, ctx)
    started = time.perf_counter()
    for event in events:
        semantic.analyze(event, ctx)
    return len(events) / (time.perf_counter() - started)


def _in_process(store: Store, events: list[DetectionEvent], size: int) -> float:
    ctx = _context(store)
    process_events(_fresh(events[:200]), ctx)
    started = time.perf_counter()
    for i in range(0, len(events), size):
        process_events(events[i : i + size], ctx)
    return len(events) / (time.perf_counter() - started)


def _workers(url: str, count: int, events: list[DetectionEvent], batch: int) -> float | None:
    from workers.app import ANALYZE, ANALYZE_BATCH, make_app
    from workers.settings import ANALYSIS_QUEUE, WorkerSettings

    prefix = f"guardbench:{uuid.uuid4().hex[:8]}:"
    env = {**os.environ, "GUARD_BROKER_URL": url, "GUARD_BROKER_KEY_PREFIX": f"{prefix}broker:",
           "GUARD_REDIS_URL": url, "GUARD_REDIS_PREFIX": prefix,
           "GUARD_AUTO_BAN_THRESHOLD": str(NO_BAN)}
    app = make_app(WorkerSettings.from_env(env))
    store = create_store(url, prefix=prefix, timeout=2.0)
    payloads = [e.encode() for e in events]
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as logs, _started(
        env, count, Path(logs)
    ):
        warm = [event.encode() for event in _fresh(events[: 20 * count])]
        for i in range(count):
            app.send_task(ANALYZE_BATCH, args=[warm[i * 20 : (i + 1) * 20]], queue=ANALYSIS_QUEUE)
        if not _wait(lambda: _processed(store) >= len(warm), timeout=120):
            return None
        started = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for i in range(0, len(payloads), batch):
                name, args = (ANALYZE, [payloads[i]]) if batch == 1 else (
                    ANALYZE_BATCH, [payloads[i : i + batch]])
                app.send_task(name, args=args, queue=ANALYSIS_QUEUE, producer=producer)
        done = _wait(lambda: _processed(store) >= len(warm) + len(payloads), timeout=600)
        elapsed = time.perf_counter() - started
    app.close()
    store.close()
    return len(payloads) / elapsed if done else None


def _processed(store: Store) -> int:
    hour = int(time.time() // 3600)
    return sum(store.read_tally(f"nodes:{h}", limit=0).total for h in (hour - 1, hour))


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@contextmanager
def _started(env: dict[str, str], count: int, logs: Path) -> Iterator[None]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool=solo",
             "-Q", "guard.analysis", "-n", f"bench{i}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-l", "warning",
             f"--logfile={logs / f'bench{i}.log'}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    try:
        yield
    finally:
        stop_processes(*processes, timeout=30)


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A private redis-server on a free loopback port, or None when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="guard-bench-redis-") as folder:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            if not _wait(lambda: _listening(port), timeout=10):
                yield None
                return
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
