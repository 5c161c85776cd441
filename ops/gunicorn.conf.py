"""gunicorn settings for Guard's web processes.

OpenTelemetry is initialised in ``post_fork``: exporters run background threads, and threads do
not survive a fork, so each worker builds its own providers after it is forked.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUARD_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUARD_WEB_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
accesslog = "-"


def post_fork(server: Any, worker: Any) -> None:
    """Give this worker its own tracer and meter providers (OTLP when an endpoint is set)."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        server.log.warning("OTEL_EXPORTER_OTLP_ENDPOINT set but opentelemetry-exporter-otlp "
                           "is not installed; telemetry stays off")
        return
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "guard-web"),
                                "service.instance.id": str(worker.pid)})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
