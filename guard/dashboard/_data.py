"""What the dashboard shows, read from the shared store (and the broker), as one JSON document.

Everything comes from state every process shares, so each web process serves the same page:
the store's bans, incidents and counters, the pipeline's activity and statistics
(:mod:`pipelines.activity`, :func:`pipelines.shared_performance_stats`), and the broker's queue
depths as ``guard status`` reads them. Text that an attacker chose (paths, part names, ban
reasons, incident details) is cut to ``TEXT_LIMIT`` characters with control characters escaped;
the page adds it as text, never as markup.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from guard.cli import _broker_status, _pattern_version
from guard.dispatch import ANALYSIS_QUEUE
from guard.logsafe import safe
from guard.store import BanRecord, IncidentRecord, Store
from pipelines import activity, shared_performance_stats

if TYPE_CHECKING:
    from guard.extension import GuardState

TEXT_LIMIT = 160
MINUTES = 60
TOP_LIMIT = 10
BAN_LIMIT = 200
INCIDENT_LIMIT = 50
STATS_HOURS = 2
QUEUES = (ANALYSIS_QUEUE, "guard.shipping")
ALIVE_AFTER = 3 * activity.HEARTBEAT_INTERVAL


def text(value: object) -> str:
    """``value`` as bounded display text."""
    return safe(value, TEXT_LIMIT)


def snapshot(state: GuardState, now: float | None = None) -> dict[str, Any]:
    """The whole dashboard document."""
    now = time.time() if now is None else now
    store, config = state.store, state.config
    shared = shared_performance_stats(store, hours=STATS_HOURS, now=now, limit=TOP_LIMIT)
    return {
        "generated": now,
        "store": {"url": store.url, "reachable": store.ping()},
        "detections": detections(store, now),
        "top_paths": _top(store, "paths", now),
        "top_parts": _top(store, "parts", now),
        "bans": [_ban(record, now) for record in store.list_bans(limit=BAN_LIMIT)],
        "incidents": [_incident(record) for record in store.list_incidents(INCIDENT_LIMIT)],
        "patterns": {
            **activity.pattern_performance(
                store, slow_ms=config.detection_slow_pattern_threshold * 1000, now=now),
            "slow_ms": config.detection_slow_pattern_threshold * 1000,
            "rules": [{**row, "pattern": text(row["pattern"])} for row in shared["patterns"]],
        },
        "pipeline": pipeline(state, shared, now),
    }


def detections(store: Store, now: float) -> dict[str, Any]:
    """Detections per class per minute over the last hour, oldest minute first."""
    series = activity.detections_by_minute(store, minutes=MINUTES, now=now)
    newest = int(now // activity.MINUTE)
    totals: Counter[str] = Counter()
    for counts in series.values():
        totals.update(counts)
    return {
        "minutes": [
            {"t": minute * activity.MINUTE, "counts": series.get(minute, {})}
            for minute in range(newest - MINUTES + 1, newest + 1)
        ],
        "totals": dict(totals.most_common()),
    }


def _top(store: Store, what: str, now: float) -> list[dict[str, Any]]:
    return [{"value": text(value), "count": count} for value, count in
            activity.top_attacked(store, what, minutes=MINUTES, limit=TOP_LIMIT, now=now)]


def _ban(record: BanRecord, now: float) -> dict[str, Any]:
    return {
        "key": record.key,
        "shown": text(record.key),
        "reason": text(record.reason),
        "source": text(record.source),
        "created": record.created,
        "until": record.until,
        "remaining": max(0.0, record.until - now),
    }


def _incident(record: IncidentRecord) -> dict[str, Any]:
    return {
        "id": text(record.incident_id),
        "client": text(record.client),
        "first_seen": record.first_seen,
        "last_seen": record.last_seen,
        "events": record.events,
        "max_score": record.max_score,
        **{name: [text(item) for item in getattr(record, name)]
           for name in ("clients", "parts", "classes", "actions")},
    }


def pipeline(state: GuardState, shared: dict[str, Any], now: float) -> dict[str, Any]:
    """Queue depths, event counts, workers and their heartbeats, the pattern version."""
    store, config = state.store, state.config
    beats = activity.heartbeats(store, now)
    by_node = shared["events"]["by_node"]
    workers = [
        {"node": text(node), "last_seen": at, "age": max(0.0, now - at),
         "alive": now - at <= ALIVE_AFTER, "processed": by_node.get(node, 0)}
        for node, at in sorted(beats.items())
    ]
    return {
        "broker": _broker_status(config.broker_url, QUEUES),
        "local_queue": state.publisher.depth,
        "events": {
            "published": store.get_counter("events:published"),
            "dropped": store.get_counter("events:dropped"),
            "processed": shared["events"]["processed"],
            "detections": shared["events"]["detections"],
        },
        "workers": workers,
        "pattern_version": _pattern_version(config),
    }
