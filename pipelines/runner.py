"""``process_event``: the pipeline's one entry point, for Celery tasks and in-process transports.

Stages run in order: the inline strike the web process could not count, semantic analysis,
anomaly statistics, correlation, the dashboard's activity counts, and queuing for the agent.
The Celery task and the in-process transport both call :func:`process_event` (or
:func:`process_events`) with a :class:`PipelineContext` built once per process.

Idempotence is per write, not per event: each stage's store update is one atomic step keyed by
the event id (``{id}`` and ``{id}:semantic`` strikes, ``{id}:anomaly`` and ``{id}:stats``
tallies, the ``{id}`` incident entry, the ``{id}:activity`` scores). A worker killed between
two writes and redelivered the event therefore repeats the finished writes as no-ops and
completes the rest, and strikes, bans, counters and incidents change once. Only the agent may
see an event twice, and it keeps each event id once. Each event's stages run inside a span
continuing the request's trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from guard.events import DetectionEvent
from guard.store import StrikeResult
from guard.telemetry import continued_spans
from pipelines import activity, anomaly, correlation, semantic, shipping, strikes
from pipelines.context import PipelineContext

__all__ = ["PipelineContext", "process_event", "process_events"]


def process_event(event: DetectionEvent, ctx: PipelineContext) -> dict[str, Any]:
    """Run every stage on ``event``; returns a summary of what each did."""
    return process_events([event], ctx)[0]


def process_events(events: Iterable[DetectionEvent], ctx: PipelineContext) -> list[dict[str, Any]]:
    """Run every stage on each event, in order; one summary per event.

    The strikes, counts, anomaly flags, incident entries and activity scores of the whole batch
    each go to the store in one round trip; each entry is still its own atomic, idempotent
    update.
    """
    batch = list(events)
    with continued_spans(
        [event.trace for event in batch],
        "guard.pipeline",
        [{"guard.action": event.action, "guard.class": event.attack_class or "none"}
         for event in batch],
        tracer_provider=ctx.tracer_provider,
    ) as spans:
        verdicts = [semantic.assess(event, ctx) for event in batch]
        # The inline backfills, then the semantic strikes, as the stages would count them one
        # by one, in one round trip.
        struck = strikes.strike_many(
            [strikes.inline_strike(event) for event in batch]
            + [semantic.missed_strike(e, v) for e, v in zip(batch, verdicts, strict=True)],
            ctx,
        )
        inline = struck[: len(batch)]
        verdicts = [
            semantic.struck(verdict, result)
            for verdict, result in zip(verdicts, struck[len(batch):], strict=True)
        ]
        detections = [
            event.action in strikes.DETECTED_ACTIONS or verdict.missed
            for event, verdict in zip(batch, verdicts, strict=True)
        ]
        stats = anomaly.record_many(
            [anomaly.Observation(*item) for item in zip(batch, detections, verdicts, strict=True)],
            ctx,
        )
        classes = [
            event.attack_class or (verdict.attack_type if verdict.flagged else None)
            for event, verdict in zip(batch, verdicts, strict=True)
        ]
        detected = [i for i, detection in enumerate(detections) if detection]
        found = [(batch[i], classes[i] or "unknown") for i in detected]
        incident_ids = correlation.correlate_many(found, ctx)
        activity.record_many(found, ctx)
        incidents = dict(zip(detected, incident_ids, strict=True))
        summaries = []
        for i, event in enumerate(batch):
            added = [(kind, s) for kind, s in (("inline", inline[i]),
                                                ("semantic", verdicts[i].strike)) if s]
            summary = _summary(event, ctx, verdicts[i], detections[i], classes[i], added,
                               stats[i], incidents.get(i))
            summary["shipped"] = shipping.queue_event(
                event, ctx, _shipped_summary(summary), _counts(summary, added)
            )
            _annotate(spans[i], summary)
            summaries.append(summary)
    return summaries


def _summary(
    event: DetectionEvent,
    ctx: PipelineContext,
    verdict: semantic.SemanticOutcome,
    detection: bool,
    attack_class: str | None,
    added: list[tuple[str, StrikeResult]],
    stats: anomaly.AnomalyOutcome,
    incident_id: str | None,
) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "node": ctx.node,
        "detection": detection,
        "attack_class": attack_class,
        "semantic": {
            "ran": verdict.ran,
            "attack_type": verdict.attack_type,
            "probability": verdict.probability,
            "flagged": verdict.flagged,
            "missed": verdict.missed,
        },
        "strikes": [_strike(kind, result) for kind, result in added],
        "banned": any(result.banned for _, result in added),
        "anomaly": {
            "duplicate": stats.duplicate,
            "client_events_z": stats.client_events_z,
            "client_detections_z": stats.client_detections_z,
            "flags": list(stats.flags),
        },
        "incident_id": incident_id,
    }


def _annotate(span: Any, summary: dict[str, Any]) -> None:
    span.set_attribute("guard.detection", summary["detection"])
    span.set_attribute("guard.semantic.probability", summary["semantic"]["probability"])
    span.set_attribute("guard.banned", summary["banned"])
    span.set_attribute("guard.anomalies", len(summary["anomaly"]["flags"]))


def _strike(kind: str, result: StrikeResult) -> dict[str, Any]:
    return {
        "kind": kind,
        "strikes": result.strikes,
        "banned": result.banned,
        "duplicate": result.duplicate,
    }


def _shipped_summary(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "semantic": summary["semantic"],
        "banned": summary["banned"],
        "anomalies": summary["anomaly"]["flags"],
        "incident_id": summary["incident_id"],
        "node": summary["node"],
    }


def _counts(summary: dict[str, Any], added: list[tuple[str, StrikeResult]]) -> dict[str, int]:
    counts = {
        "events": 1,
        "detections": int(summary["detection"]),
        "semantic_attacks": int(summary["semantic"]["flagged"]),
        "semantic_missed": int(summary["semantic"]["missed"]),
        "strikes": sum(1 for _, result in added if not result.duplicate),
        "anomalies": len(summary["anomaly"]["flags"]),
    }
    if summary["attack_class"]:
        counts[f"class:{summary['attack_class']}"] = 1
    return counts
