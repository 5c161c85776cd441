"""Analysis stages that run outside the request path: semantic analysis, anomaly statistics,
correlation and agent shipping. Pure functions and classes over events and a store; they import
neither Flask nor Celery.

:func:`process_event` runs them all for one event and is what both the Celery task and the
in-process transport call, with a :class:`PipelineContext` built once per process.
"""

from __future__ import annotations

from pipelines.anomaly import shared_performance_stats as shared_performance_stats
from pipelines.context import PipelineContext as PipelineContext
from pipelines.correlation import get_incident as get_incident
from pipelines.correlation import list_incidents as list_incidents
from pipelines.runner import process_event as process_event
from pipelines.runner import process_events as process_events

__all__ = [
    "PipelineContext",
    "get_incident",
    "list_incidents",
    "process_event",
    "process_events",
    "shared_performance_stats",
]
