"""Correlation stage: detections linked by correlation ID and by client into incidents.

An incident is one attacker's story: its first and last event, how many, which request parts,
attack classes and actions, the correlation IDs involved. A detection joins the incident its
correlation ID was last linked to, else its client's current incident, else opens a new one
named after the event; a link lapses after ``INCIDENT_GAP`` of quiet. Incidents expire
``INCIDENT_TTL`` after their last event. Clean sampled events never open incidents.
"""

from __future__ import annotations

from guard.events import DetectionEvent
from guard.store import IncidentRecord, IncidentUpdate, Store
from pipelines.anomaly import client_key
from pipelines.context import PipelineContext

INCIDENT_GAP = 30 * 60
INCIDENT_TTL = 24 * 3600


def correlate(event: DetectionEvent, ctx: PipelineContext, *, attack_class: str) -> str:
    """Add the detection ``event`` to its incident (once per event id); return the incident id."""
    return correlate_many([(event, attack_class)], ctx)[0]


def correlate_many(
    detections: list[tuple[DetectionEvent, str]], ctx: PipelineContext
) -> list[str]:
    """:func:`correlate` for each ``(event, attack_class)``, in order, in one store round trip."""
    batch = [(event.event_id, _update(event, attack_class)) for event, attack_class in detections]
    results = ctx.store.record_incidents(batch, gap=INCIDENT_GAP, ttl=INCIDENT_TTL)
    return [result.incident_id for result in results]


def _update(event: DetectionEvent, attack_class: str) -> IncidentUpdate:
    return IncidentUpdate(
        client=client_key(event),
        correlation_id=event.correlation_id,
        ts=event.ts,
        part=f"{event.part_location}:{event.part_name}" if event.part_location else "",
        attack_class=attack_class,
        action=event.action,
        score=event.score,
    )


def get_incident(store: Store, incident_id: str) -> IncidentRecord | None:
    """The incident ``incident_id``, or None."""
    return store.get_incident(incident_id)


def list_incidents(store: Store, limit: int = 50) -> list[IncidentRecord]:
    """Up to ``limit`` live incidents, the most recently active first."""
    return store.list_incidents(limit)
