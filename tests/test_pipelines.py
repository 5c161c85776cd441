"""The pipeline stages and ``process_event``, run directly (no broker) over both store backends.

The semantic stage uses the shipped model; everything else is deterministic. Idempotence is
tested the way it fails in production: every event delivered twice, and a run interrupted
between two stages then redelivered.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from guard.config import SecurityConfig
from guard.events import DetectionEvent, RuleHit
from guard.store import Store, Tally, create_store
from pipelines import (
    PipelineContext,
    anomaly,
    correlation,
    get_incident,
    list_incidents,
    process_event,
    process_events,
    semantic,
    shared_performance_stats,
    strikes,
)

both = pytest.mark.parametrize("store", ["memory", "redis"], indirect=True)
SQLI = "1' OR '1'='1' --"
BENIGN = "spring jacket in blue"
_ids = itertools.count()


@pytest.fixture
def store(request: pytest.FixtureRequest, redis_url: str, key_prefix: str) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else redis_url
    built = create_store(url, prefix=key_prefix, timeout=2.0)
    yield built
    built.close()


def context(store: Store, **settings: Any) -> PipelineContext:
    values: dict[str, Any] = {"auto_ban_threshold": 3}
    values.update(settings)
    return PipelineContext(config=SecurityConfig(**values), store=store, node="test-node")


def event(client: str = "192.0.2.10", action: str = "allowed", value: str = SQLI,
          **fields: Any) -> DetectionEvent:
    values: dict[str, Any] = {
        "client_ip": client, "ban_key": client, "method": "GET", "path": "/search",
        "action": action, "value": value, "part_location": "query", "part_name": "q",
        "correlation_id": f"req-{next(_ids)}", "inline_semantic": False,
        "strike_counted": action in ("blocked", "logged"),
    }
    values.update(fields)
    return DetectionEvent.build(**values)


def blocked(client: str = "192.0.2.20", action: str = "blocked", **fields: Any) -> DetectionEvent:
    values: dict[str, Any] = {
        "hits": [RuleHit("sqli-tautology", "sqli", 4.0)], "attack_class": "sqli", "score": 4.0,
        "screening_ms": 0.25, "strike_counted": True,
    }
    values.update(fields)
    return event(client, action, **values)


def strikes_of(store: Store, client: str) -> int:
    return store.strikes(client, 3600)


# semantic stage


@both
def test_semantic_strikes_and_bans_an_attack_the_patterns_missed(store: Store) -> None:
    ctx = context(store)
    outcomes = [semantic.analyze(event(), ctx) for _ in range(3)]
    assert all(o.ran and o.flagged and o.missed for o in outcomes)
    assert outcomes[0].attack_type == "sqli"
    assert outcomes[0].probability >= ctx.config.detection_semantic_threshold
    assert [o.strike.strikes for o in outcomes if o.strike] == [1, 2, 3]
    ban = store.get_ban("192.0.2.10")
    assert ban is not None and ban.source == strikes.SOURCE and "sqli" in ban.reason


@both
def test_semantic_strike_is_idempotent_per_event(store: Store) -> None:
    ctx = context(store)
    once = event()
    first, second = semantic.analyze(once, ctx), semantic.analyze(once, ctx)
    assert first.strike is not None and not first.strike.duplicate
    assert second.strike is not None and second.strike.duplicate
    assert strikes_of(store, "192.0.2.10") == 1


@both
def test_semantic_leaves_benign_values_and_blocked_requests_alone(store: Store) -> None:
    ctx = context(store)
    clean = semantic.analyze(event(value=BENIGN), ctx)
    assert not clean.flagged and clean.strike is None
    inline = semantic.analyze(blocked(), ctx)
    assert inline.flagged and not inline.missed and inline.strike is None
    assert strikes_of(store, "192.0.2.10") == strikes_of(store, "192.0.2.20") == 0


@both
def test_semantic_skips_events_already_scored_inline(store: Store) -> None:
    outcome = semantic.analyze(event(inline_semantic=True), context(store))
    assert outcome == semantic.NOT_RUN


@both
def test_passive_mode_counts_semantic_strikes_but_never_bans(store: Store) -> None:
    ctx = context(store, passive_mode=True)
    for _ in range(4):
        semantic.analyze(event(), ctx)
    assert strikes_of(store, "192.0.2.10") == 4
    assert store.get_ban("192.0.2.10") is None


@both
def test_whitelisted_clients_are_never_struck(store: Store) -> None:
    ctx = context(store, whitelist=["192.0.2.0/24"])
    assert semantic.analyze(event(), ctx).strike is None
    assert strikes.backfill_inline(blocked(strike_counted=False), ctx) is None
    assert strikes_of(store, "192.0.2.10") == 0


@both
def test_inline_strike_is_backfilled_once_under_the_event_id(store: Store) -> None:
    ctx = context(store)
    lost = blocked(strike_counted=False)
    store.add_strike(lost.ban_key, lost.event_id, window=3600, threshold=3,
                     ban_duration=60, reason="the web process's own strike")
    result = strikes.backfill_inline(lost, ctx)
    assert result is not None and result.duplicate
    assert strikes.backfill_inline(blocked(strike_counted=True), ctx) is None
    fresh = strikes.backfill_inline(blocked(strike_counted=False), ctx)
    assert fresh is not None and fresh.strikes == 2
    passive = strikes.backfill_inline(
        blocked("192.0.2.21", action="logged", strike_counted=False), ctx)
    assert passive is not None and not passive.banned


# anomaly stage


def test_zscore_compares_a_member_with_the_others() -> None:
    assert anomaly.zscore(Tally(5, 3, 7, 27.0)) is None
    assert anomaly.zscore(Tally(10, 5, 14, 104.0)) == 9.0
    spread = Tally(10, 5, 10 + 2 + 4 + 2 + 4, 100 + 4 + 16 + 4 + 16)
    assert anomaly.zscore(spread) == pytest.approx(7.0)
    assert anomaly.zscore(Tally(1, 5, 5, 5.0)) == 0.0


@both
def test_a_loud_client_is_flagged_and_shared_stats_show_it(store: Store) -> None:
    ctx = context(store, detection_anomaly_threshold=3.0)
    now = time.time()
    quiet = [blocked(f"198.51.100.{i}", ts=now) for i in range(8)]
    loud = [blocked("203.0.113.66", ts=now) for _ in range(12)]
    summaries = process_events([*quiet, *loud], ctx)
    last = summaries[-1]["anomaly"]
    assert last["client_detections_z"] == pytest.approx(11.0)
    assert "client-detections:203.0.113.66" in last["flags"]
    stats = shared_performance_stats(store, now=now)
    assert stats["events"]["processed"] == 20
    assert stats["events"]["by_action"] == {"blocked": 20}
    assert stats["events"]["by_node"] == {"test-node": 20}
    assert stats["events"]["avg_screening_ms"] == pytest.approx(0.25)
    assert stats["clients"][0] == {"client": "203.0.113.66", "events": 12, "detections": 12,
                                   "window_seconds": 120}
    subjects = {row["subject"]: row["z"] for row in stats["anomalies"]}
    assert subjects["client-detections:203.0.113.66"] == pytest.approx(11.0)
    assert not any("198.51.100" in subject for subject in subjects)
    [pattern] = stats["patterns"]
    assert pattern["pattern"] == "sqli-tautology" and pattern["hits"] == 20
    assert pattern["semantic_checked"] == 20 and pattern["avg_screening_ms"] == 0.25


@both
def test_anomaly_counts_once_per_event(store: Store) -> None:
    ctx = context(store)
    one = blocked()
    first = anomaly.record(one, ctx, detection=True, semantic=semantic.NOT_RUN)
    again = anomaly.record(one, ctx, detection=True, semantic=semantic.NOT_RUN)
    assert not first.duplicate and again.duplicate
    assert shared_performance_stats(store)["events"]["processed"] == 1


# correlation stage


@both
def test_detections_of_one_client_form_one_incident(store: Store) -> None:
    ctx = context(store)
    first = blocked("192.0.2.30")
    second = blocked("192.0.2.30", part_location="header", part_name="user-agent",
                     attack_class="xss", action="logged", ts=first.ts + 5)
    ids = {correlation.correlate(e, ctx, attack_class=e.attack_class or "") for e in
           (first, second, second)}
    assert ids == {first.event_id}
    record = get_incident(store, first.event_id)
    assert record is not None and record.events == 2
    assert record.parts == ("query:q", "header:user-agent")
    assert record.classes == ("sqli", "xss") and record.actions == ("blocked", "logged")
    assert record.last_seen - record.first_seen == pytest.approx(5)
    assert [r.incident_id for r in list_incidents(store)] == [first.event_id]


@both
def test_clean_sampled_events_open_no_incident(store: Store) -> None:
    summary = process_event(event(action="sampled", value=""), context(store))
    assert summary["incident_id"] is None and not summary["detection"]
    assert list_incidents(store) == []


# the whole pipeline


def workload() -> list[DetectionEvent]:
    now = time.time()
    events = []
    for i in range(30):
        client = f"198.51.100.{i % 6}"
        if i % 3 == 0:
            events.append(event(client, ts=now))
        elif i % 3 == 1:
            events.append(blocked(client, strike_counted=False, ts=now))
        else:
            events.append(event(client, action="sampled", value="", ts=now))
    return events


def totals(store: Store) -> dict[str, Any]:
    stats = shared_performance_stats(store)
    clients = [f"198.51.100.{i}" for i in range(6)]
    return {
        "strikes": sum(strikes_of(store, c) for c in clients),
        "banned": sorted(c for c in clients if store.get_ban(c)),
        "processed": stats["events"]["processed"],
        "by_action": stats["events"]["by_action"],
        "detections": stats["events"]["detections"],
        "incidents": sorted((r.incident_id, r.events) for r in list_incidents(store)),
    }


@both
def test_every_event_delivered_twice_counts_once(store: Store) -> None:
    events = workload()
    ctx = context(store, auto_ban_threshold=100)
    first = process_events(events, ctx)
    once = totals(store)
    second = [process_event(e, ctx) for e in events]
    assert totals(store) == once
    assert once["strikes"] == 20 and once["processed"] == 30 and once["detections"] == 20
    assert sum(count for _, count in once["incidents"]) == 20
    assert not any(s["anomaly"]["duplicate"] for s in first)
    assert all(s["anomaly"]["duplicate"] for s in second)
    assert [s["incident_id"] for s in first] == [s["incident_id"] for s in second]


@both
def test_a_run_killed_between_stages_completes_on_redelivery(store: Store) -> None:
    events = workload()
    ctx = context(store, auto_ban_threshold=100)
    for e in events[:15]:
        strikes.backfill_inline(e, ctx)
        semantic.analyze(e, ctx)
    process_events(events, ctx)
    reference_store = create_store("memory://")
    process_events(events, context(reference_store, auto_ban_threshold=100))
    assert totals(store)["strikes"] == totals(reference_store)["strikes"] == 20
    assert totals(store)["processed"] == 30


@both
def test_process_event_summary(store: Store) -> None:
    ctx = context(store)
    summary = process_event(event(), ctx)
    assert summary["detection"] and summary["attack_class"] == "sqli"
    assert summary["semantic"]["missed"] and summary["strikes"][0]["kind"] == "semantic"
    assert summary["incident_id"] and summary["node"] == "test-node"
    assert summary["shipped"] is False
