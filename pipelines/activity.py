"""Activity: the small bounded indexes the dashboard draws, written here and read back here.

Every index is a ``Store`` score index (``top_scores`` reads it), bounded and expiring:

============================  ======================================  ==========  =========
index                         members (score)                         bound       lifetime
============================  ======================================  ==========  =========
``activity:classes:{hour}``   ``{minute}|{class}`` (detections)       2,000       2 h
``activity:paths:{bucket}``   request path (detections)               200         2 h
``activity:parts:{bucket}``   ``{location}:{name}`` (detections)      200         2 h
``heartbeats:{bucket}``       node name (its last beat, epoch s)      256         15 min
``pattern-perf:{kind}:{h}``   pattern id (counts, or the worst time)  500         2 h
============================  ======================================  ==========  =========

Paths and parts are counted per ten-minute bucket; a full index drops its smallest member, so
the most attacked ones stay however many distinct paths an attacker invents. Each detection's
writes are one ``add_scores`` update deduplicated by ``{event_id}:activity``, so a redelivered
event counts once. Workers beat every ``HEARTBEAT_INTERVAL`` seconds (:func:`beat`); web
processes add what their pattern monitor saw since the last flush (:func:`publish_pattern_stats`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from guard.events import DetectionEvent
from guard.store import ScoreUpdate, Store
from pipelines.context import PipelineContext

MINUTE = 60
HOUR = 3600
TOP_BUCKET = 600
ACTIVITY_TTL = 2 * HOUR
CLASS_MEMBERS = 2000
TOP_MEMBERS = 200
HEARTBEAT_INTERVAL = 10.0
HEARTBEAT_BUCKET = 300
HEARTBEAT_TTL = 900
HEARTBEAT_MEMBERS = 256
PATTERN_MEMBERS = 500
PATTERN_COUNTS = ("evaluations", "matches", "timeouts", "anomalies")
PATTERN_WORST = ("avg_ms", "max_ms")


def record_many(detections: list[tuple[DetectionEvent, str]], ctx: PipelineContext) -> None:
    """Count each ``(event, attack_class)`` detection by minute and class, path and part."""
    ctx.store.add_scores([
        (f"{event.event_id}:activity", _updates(event, attack_class))
        for event, attack_class in detections
    ])


def _updates(event: DetectionEvent, attack_class: str) -> list[ScoreUpdate]:
    minute, bucket = int(event.ts // MINUTE), int(event.ts // TOP_BUCKET)
    updates = [ScoreUpdate(f"activity:classes:{int(event.ts // HOUR)}",
                           f"{minute}|{attack_class}", 1, ACTIVITY_TTL, CLASS_MEMBERS)]
    if event.path:
        updates.append(ScoreUpdate(f"activity:paths:{bucket}", event.path, 1, ACTIVITY_TTL,
                                   TOP_MEMBERS))
    if event.part_location:
        part = f"{event.part_location}:{event.part_name}"
        updates.append(ScoreUpdate(f"activity:parts:{bucket}", part, 1, ACTIVITY_TTL,
                                   TOP_MEMBERS))
    return updates


def detections_by_minute(
    store: Store, *, minutes: int = 60, now: float | None = None
) -> dict[int, dict[str, int]]:
    """Detections per class for each of the last ``minutes`` minutes (epoch minute -> class ->
    count); minutes without detections are absent."""
    now = time.time() if now is None else now
    newest = int(now // MINUTE)
    oldest = newest - minutes + 1
    series: dict[int, dict[str, int]] = {}
    for hour in range(oldest * MINUTE // HOUR, newest * MINUTE // HOUR + 1):
        for member, count in store.top_scores(f"activity:classes:{hour}", CLASS_MEMBERS):
            minute_text, _, attack_class = member.partition("|")
            minute = int(minute_text)
            if oldest <= minute <= newest:
                series.setdefault(minute, {})[attack_class] = int(count)
    return series


def top_attacked(
    store: Store, what: str, *, minutes: int = 60, limit: int = 10, now: float | None = None
) -> list[tuple[str, int]]:
    """The ``limit`` most detected ``what`` ("paths" or "parts") over about the last
    ``minutes`` minutes (whole ten-minute buckets), most first."""
    now = time.time() if now is None else now
    newest = int(now // TOP_BUCKET)
    totals: Counter[str] = Counter()
    for bucket in range(newest - max(1, minutes * MINUTE // TOP_BUCKET) + 1, newest + 1):
        for member, count in store.top_scores(f"activity:{what}:{bucket}", TOP_MEMBERS):
            totals[member] += int(count)
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]


def beat(store: Store, node: str, now: float | None = None) -> None:
    """Record that ``node`` is alive now."""
    now = time.time() if now is None else now
    store.record_score(f"heartbeats:{int(now // HEARTBEAT_BUCKET)}", node, now,
                       ttl=HEARTBEAT_TTL, max_members=HEARTBEAT_MEMBERS)


def heartbeats(store: Store, now: float | None = None) -> dict[str, float]:
    """Each node that beat in the last ten to fifteen minutes, with its last beat (epoch s)."""
    now = time.time() if now is None else now
    newest = int(now // HEARTBEAT_BUCKET)
    last: dict[str, float] = {}
    for bucket in range(newest - HEARTBEAT_TTL // HEARTBEAT_BUCKET + 1, newest + 1):
        for node, at in store.top_scores(f"heartbeats:{bucket}", HEARTBEAT_MEMBERS):
            last[node] = max(at, last.get(node, at))
    return last


@dataclass
class PatternFlush:
    """What one process has already added to the shared pattern counts (see
    :func:`publish_pattern_stats`)."""

    process: str
    sent: dict[str, dict[str, int]] = field(default_factory=dict)
    flushes: int = 0


def publish_pattern_stats(
    store: Store, stats: dict[str, Any], flushed: PatternFlush, now: float | None = None
) -> None:
    """Add what a pattern monitor counted since the last call to this hour's shared indexes,
    and raise each pattern's worst average and maximum time there.

    ``stats`` is ``PerformanceMonitor.stats()`` (only its slow and problematic patterns are
    shared: the ones the dashboard lists); ``flushed`` remembers what was sent already.
    """
    now = time.time() if now is None else now
    hour = int(now // HOUR)
    rows = {row["pattern"]: row for row in
            stats["slow_patterns"] + stats["problematic_patterns"]}
    updates = []
    for pattern, row in rows.items():
        sent = flushed.sent.setdefault(pattern, {})
        for kind in PATTERN_COUNTS:
            delta = int(row[kind]) - sent.get(kind, 0)
            if delta > 0:
                updates.append(ScoreUpdate(f"pattern-perf:{kind}:{hour}", pattern, delta,
                                           ACTIVITY_TTL, PATTERN_MEMBERS))
            sent[kind] = int(row[kind])
        for kind, seconds in (("avg_ms", row["avg_time"]), ("max_ms", row["max_time"])):
            store.record_score(f"pattern-perf:{kind}:{hour}", pattern, round(seconds * 1000, 3),
                               ttl=ACTIVITY_TTL, max_members=PATTERN_MEMBERS)
    flushed.flushes += 1
    for start in range(0, len(updates), 256):
        store.add_scores([(f"pattern-perf:{flushed.process}:{flushed.flushes}:{start}",
                           updates[start:start + 256])])


def pattern_performance(
    store: Store, *, slow_ms: float, now: float | None = None, limit: int = 20
) -> dict[str, list[dict[str, Any]]]:
    """Shared pattern figures of this hour and the last: ``slow`` (a worst average or maximum
    time above ``slow_ms``), slowest first, and ``problematic`` (timeouts or timing anomalies),
    most first."""
    now = time.time() if now is None else now
    hour = int(now // HOUR)
    rows: dict[str, dict[str, Any]] = {}
    for h in (hour - 1, hour):
        for kind in PATTERN_COUNTS + PATTERN_WORST:
            for pattern, value in store.top_scores(f"pattern-perf:{kind}:{h}", PATTERN_MEMBERS):
                row = rows.setdefault(pattern, {"pattern": pattern, **dict.fromkeys(
                    PATTERN_COUNTS, 0), **dict.fromkeys(PATTERN_WORST, 0.0)})
                if kind in PATTERN_WORST:
                    row[kind] = max(row[kind], value)
                else:
                    row[kind] += int(value)
    slow = [r for r in rows.values() if max(r["avg_ms"], r["max_ms"]) > slow_ms]
    problematic = [r for r in rows.values() if r["timeouts"] or r["anomalies"]]
    slow.sort(key=lambda r: (-r["avg_ms"], -r["max_ms"], r["pattern"]))
    problematic.sort(key=lambda r: (-r["timeouts"], -r["anomalies"], r["pattern"]))
    return {"slow": slow[:limit], "problematic": problematic[:limit]}
