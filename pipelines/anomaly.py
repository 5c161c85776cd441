"""Anomaly stage: shared per-client and per-pattern statistics, z-scores and anomaly flags.

Every event adds, in one atomic ``Store.tally`` call deduplicated by ``{event_id}:anomaly``
(one round trip to Redis for a whole batch; only the per-minute groups keep the moments
z-scores need, the hourly ones are plain counters):

* per minute: the client's events and detections, and each rule's hits (``rate:*`` groups);
* per hour: totals by action, detections, semantic checks and attacks, screening time, events
  processed per node, and per rule its hits, semantic checks, confirmations and screening time
  (``totals:``, ``nodes:`` and ``patterns:`` groups).

A z-score compares one member of a minute group with the *other* members of the same group
(leave-one-out, so one loud client cannot hide in a small population): the client's events
against other clients', its detections against other clients', a rule's hits against other
rules'. It needs at least ``MIN_OTHERS`` others, and the others' standard deviation is floored
at one event, so a quiet population does not turn two requests into an anomaly. A z-score at or
above ``detection_anomaly_threshold`` is written to a ten-minute anomaly index, keeping the
highest score per subject. :func:`shared_performance_stats` reads it all back for any process.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from guard.events import DetectionEvent
from guard.store import Store, Tally, TallyUpdate
from pipelines.context import PipelineContext
from pipelines.semantic import SemanticOutcome

RATE_BUCKET = 60
RATE_TTL = 15 * 60.0
STATS_BUCKET = 3600
STATS_TTL = 26 * 3600.0
FLAG_BUCKET = 600
FLAG_TTL = 2 * 3600
FLAG_LIMIT = 1000
MIN_OTHERS = 3
STD_FLOOR = 1.0


@dataclass(frozen=True)
class AnomalyOutcome:
    """The z-scores of one event's client and rules, and the flags they raised."""

    duplicate: bool
    client_events_z: float | None
    client_detections_z: float | None
    pattern_z: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


def client_key(event: DetectionEvent) -> str:
    """The unit statistics are kept per: the ban key, else the address."""
    return event.ban_key or event.client_ip or "unknown"


@dataclass(frozen=True)
class Observation:
    """One event to count, with what the earlier stages made of it."""

    event: DetectionEvent
    detection: bool
    semantic: SemanticOutcome


def record(
    event: DetectionEvent, ctx: PipelineContext, *, detection: bool, semantic: SemanticOutcome
) -> AnomalyOutcome:
    """Count the event, compute its z-scores and flag the anomalous ones."""
    return record_many([Observation(event, detection, semantic)], ctx)[0]


def record_many(observations: list[Observation], ctx: PipelineContext) -> list[AnomalyOutcome]:
    """:func:`record` for each observation, with one store round trip for all the counts and
    one more for all the flags, if any."""
    batch = []
    pattern_lists = []
    for item in observations:
        patterns = list(dict.fromkeys(h.pattern_id for h in item.event.hits if h.pattern_id))
        pattern_lists.append(patterns)
        batch.append((f"{item.event.event_id}:anomaly", _updates(item, ctx, patterns)))
    results = ctx.store.tally_many(batch)
    flagged: list[tuple[str, str, float]] = []
    outcomes = [
        _flag(item.event, ctx, patterns, result.tallies, result.duplicate, flagged)
        for item, patterns, result in zip(observations, pattern_lists, results, strict=True)
    ]
    if flagged:
        ctx.store.record_scores(flagged, ttl=FLAG_TTL, max_members=FLAG_LIMIT)
    return outcomes


def _flag(
    event: DetectionEvent,
    ctx: PipelineContext,
    patterns: list[str],
    tallies: tuple[Tally, ...],
    duplicate: bool,
    flagged_scores: list[tuple[str, str, float]],
) -> AnomalyOutcome:
    """The event's outcome; its flags are added to ``flagged_scores`` as (index, subject, z)."""
    events_z, detections_z = zscore(tallies[0]), zscore(tallies[1])
    pattern_z = {
        pattern: z
        for pattern, tally in zip(patterns, tallies[2:], strict=True)
        if (z := zscore(tally)) is not None
    }
    threshold = ctx.config.detection_anomaly_threshold
    flagged = [
        (f"{kind}:{client_key(event)}", z)
        for kind, z in (("client-events", events_z), ("client-detections", detections_z))
        if z is not None and z >= threshold
    ]
    flagged += [(f"pattern-hits:{pattern}", z) for pattern, z in pattern_z.items()
                if z >= threshold]
    if flagged:
        index = f"anomalies:{int(event.ts // FLAG_BUCKET)}"
        flagged_scores += [(index, name, z) for name, z in flagged]
    flags = tuple(name for name, _ in flagged)
    return AnomalyOutcome(duplicate, events_z, detections_z, pattern_z, flags)


def _updates(item: Observation, ctx: PipelineContext, patterns: list[str]) -> list[TallyUpdate]:
    event = item.event
    minute = int(event.ts // RATE_BUCKET)
    client = client_key(event)
    rates = [
        TallyUpdate(f"rate:events:{minute}", client, 1, RATE_TTL),
        TallyUpdate(f"rate:detections:{minute}", client, int(item.detection), RATE_TTL),
        *(TallyUpdate(f"rate:patterns:{minute}", pattern, 1, RATE_TTL) for pattern in patterns),
    ]
    return rates + _hourly(event, ctx, patterns, item.detection, item.semantic)


def _hourly(
    event: DetectionEvent,
    ctx: PipelineContext,
    patterns: list[str],
    detection: bool,
    semantic: SemanticOutcome,
) -> list[TallyUpdate]:
    hour = int(event.ts // STATS_BUCKET)
    totals, per_pattern = f"totals:{hour}", f"patterns:{hour}"
    screening_us = max(0, round(event.screening_ms * 1000))
    counts = [
        (totals, f"action:{event.action}", 1),
        (totals, "detections", int(detection)),
        (totals, "semantic_checked", int(semantic.ran)),
        (totals, "semantic_attacks", int(semantic.flagged)),
        (totals, "semantic_missed", int(semantic.missed)),
        (totals, "screening_us", screening_us),
        (f"nodes:{hour}", ctx.node, 1),
    ]
    for pattern in patterns:
        counts += [
            (per_pattern, f"{pattern}|hits", 1),
            (per_pattern, f"{pattern}|checked", int(semantic.ran)),
            (per_pattern, f"{pattern}|confirmed", int(semantic.flagged)),
            (per_pattern, f"{pattern}|screening_us", screening_us),
        ]
    return [
        TallyUpdate(group, member, amount, STATS_TTL, False)
        for group, member, amount in counts
        if amount
    ]


def zscore(tally: Tally) -> float | None:
    """How far the member stands from the group's other members, in their standard deviations
    (at least ``STD_FLOOR``); None with fewer than ``MIN_OTHERS`` others."""
    others = tally.members - 1
    if others < MIN_OTHERS:
        return None
    mean = (tally.total - tally.value) / others
    variance = max((tally.total_sq - tally.value**2) / others - mean**2, 0.0)
    return round((tally.value - mean) / max(math.sqrt(variance), STD_FLOOR), 3)


def shared_performance_stats(
    store: Store, *, hours: int = 24, now: float | None = None, limit: int = 20
) -> dict[str, Any]:
    """The pipeline's shared figures over the last ``hours`` hours, for any process to merge
    into ``get_performance_stats()``: event totals, per-node counts, per-rule effectiveness and
    timing, the busiest clients of the last two minutes, and the anomalies flagged in the last
    two hours."""
    now = time.time() if now is None else now
    hour = int(now // STATS_BUCKET)
    totals: Counter[str] = Counter()
    nodes: Counter[str] = Counter()
    patterns: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for h in range(hour - hours + 1, hour + 1):
        totals.update(store.read_tally(f"totals:{h}", limit=100).members)
        nodes.update(store.read_tally(f"nodes:{h}", limit=1000).members)
        for member, value in store.read_tally(f"patterns:{h}", limit=10_000).members.items():
            pattern, _, kind = member.rpartition("|")
            patterns[pattern][kind] += value
    by_action = {k.split(":", 1)[1]: v for k, v in totals.items() if k.startswith("action:")}
    processed = sum(by_action.values())
    return {
        "source": store.url,
        "window_hours": hours,
        "events": {
            "processed": processed,
            "by_action": by_action,
            "detections": totals["detections"],
            "by_node": dict(nodes.most_common(limit)),
            "avg_screening_ms": _ratio(totals["screening_us"], processed * 1000),
        },
        "semantic": {
            "checked": totals["semantic_checked"],
            "attacks": totals["semantic_attacks"],
            "missed_by_patterns": totals["semantic_missed"],
        },
        "patterns": _pattern_rows(patterns, limit),
        "clients": _client_rows(store, now, limit),
        "anomalies": _anomalies(store, now, limit),
    }


def _pattern_rows(patterns: dict[str, Counter[str]], limit: int) -> list[dict[str, Any]]:
    ranked = sorted(patterns.items(), key=lambda item: (-item[1]["hits"], item[0]))[:limit]
    return [
        {
            "pattern": pattern,
            "hits": c["hits"],
            "semantic_checked": c["checked"],
            "semantic_confirmed": c["confirmed"],
            "confirmation_rate": _ratio(c["confirmed"], c["checked"]),
            "avg_screening_ms": _ratio(c["screening_us"], c["hits"] * 1000),
        }
        for pattern, c in ranked
    ]


def _client_rows(store: Store, now: float, limit: int) -> list[dict[str, Any]]:
    minute = int(now // RATE_BUCKET)
    events: Counter[str] = Counter()
    detections: Counter[str] = Counter()
    for m in (minute - 1, minute):
        events.update(store.read_tally(f"rate:events:{m}", limit=limit).members)
        detections.update(store.read_tally(f"rate:detections:{m}", limit=limit).members)
    ranked = sorted(events, key=lambda c: (-detections[c], -events[c], c))[:limit]
    return [
        {"client": c, "events": events[c], "detections": detections[c],
         "window_seconds": 2 * RATE_BUCKET}
        for c in ranked
    ]


def _anomalies(store: Store, now: float, limit: int) -> list[dict[str, Any]]:
    newest = int(now // FLAG_BUCKET)
    best: dict[str, float] = {}
    for bucket in range(newest - FLAG_TTL // FLAG_BUCKET + 1, newest + 1):
        for subject, z in store.top_scores(f"anomalies:{bucket}", limit):
            best[subject] = max(z, best.get(subject, z))
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [{"subject": subject, "z": z} for subject, z in ranked]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None
