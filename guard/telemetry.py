"""OpenTelemetry: spans for screening, span events for detections, metrics, context in events.

Library code depends only on ``opentelemetry-api``; providers are injected (or the global ones
are used), so an application that configures nothing pays for no-op objects. Nothing an attacker
sends becomes an attribute or label: detections carry the class, rule id, part location, score
and action, all from fixed vocabularies, and no metric is labelled with an address.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, propagate, trace

INSTRUMENTATION = "guard"
TRACING_RECHECK = 1.0
"""Seconds between two looks for a global tracer provider while there is none."""


class Telemetry:
    """Tracer and instruments for one Guard instance."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(INSTRUMENTATION, tracer_provider=tracer_provider)
        self._tracing = tracer_provider is not None
        self._tracing_checked = 0.0
        meter = metrics.get_meter(INSTRUMENTATION, meter_provider=meter_provider)
        self.screened = meter.create_counter("guard.requests.screened", "{request}",
                                             "Requests screened")
        self.detections = meter.create_counter("guard.detections", "{detection}",
                                               "Detections, by attack class")
        self.blocks = meter.create_counter("guard.blocks", "{request}", "Requests refused")
        self.bans = meter.create_counter("guard.bans", "{ban}", "Bans created")
        self.dropped = meter.create_counter("guard.events.dropped", "{event}",
                                            "Events dropped before reaching the pipeline")
        self.latency = meter.create_histogram("guard.screening.duration", "ms",
                                              "Time spent screening one request")
        self._queue_depth: Callable[[], int] | None = None
        meter.create_observable_gauge(
            "guard.queue.depth", [self._observe_depth], "{event}", "Events waiting to publish"
        )

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Report ``depth()`` as the ``guard.queue.depth`` gauge."""
        self._queue_depth = depth

    def _observe_depth(self, _options: metrics.CallbackOptions) -> Iterator[metrics.Observation]:
        if self._queue_depth is not None:
            yield metrics.Observation(self._queue_depth())

    def tracing(self) -> bool:
        """False while no tracer provider exists (none injected, no global one set yet): a span
        then records nothing, and starting one and making it current would cost a request
        more than all the hooks around it. Read per request, because an application may set
        the global provider after Guard was set up (gunicorn's ``post_fork`` does), at most
        every :data:`TRACING_RECHECK` seconds: looking costs an environment lookup."""
        if self._tracing:
            return True
        now = time.monotonic()
        if now - self._tracing_checked >= TRACING_RECHECK:
            self._tracing_checked = now
            self._tracing = not isinstance(trace.get_tracer_provider(),
                                           trace.ProxyTracerProvider)
        return self._tracing

    def start_request_span(self, name: str, attributes: dict[str, Any]) -> Any:
        """Start a span as a child of the current one (or a new trace); the caller ends it.

        The span is not made current: Guard ends it in its WSGI layer, after every hook of the
        request has run, and a context attached in a hook and detached there would not be
        last-in-first-out with another instrumentation's hooks. Events carry it explicitly
        (:func:`current_trace_carrier`).
        """
        return self.tracer.start_span(name, attributes=attributes, kind=trace.SpanKind.INTERNAL)


def detection_attributes(
    attack_class: str | None, pattern_id: str, part: str, score: float, action: str
) -> dict[str, Any]:
    """The bounded attributes of a detection span event (never the payload)."""
    return {
        "guard.class": attack_class or "unknown",
        "guard.pattern_id": pattern_id[:64],
        "guard.part": part[:32],
        "guard.score": round(float(score), 4),
        "guard.action": action,
    }


def current_trace_carrier(span: Any = None) -> dict[str, str]:
    """The trace context of ``span`` (else the current one) as W3C headers, to ride inside an
    event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=None if span is None else trace.set_span_in_context(span))
    return carrier


@contextmanager
def continued_span(
    carrier: dict[str, str],
    name: str,
    attributes: dict[str, Any] | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> Iterator[Any]:
    """A span whose parent is the trace carried in ``carrier`` (a worker's side of the link)."""
    tracer = trace.get_tracer(INSTRUMENTATION, tracer_provider=tracer_provider)
    parent = propagate.extract(carrier)
    with tracer.start_as_current_span(
        name, context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes or {}
    ) as span:
        yield span


@contextmanager
def continued_spans(
    carriers: Sequence[dict[str, str]],
    name: str,
    attributes: Sequence[dict[str, Any]],
    tracer_provider: trace.TracerProvider | None = None,
) -> Iterator[list[Any]]:
    """:func:`continued_span` for each carrier at once, for a batch: the spans are ended
    together on leaving, and none is made current, since they overlap. An exception leaving
    the block is recorded on every span. With no tracer provider at all they are the invalid
    span, which records nothing and costs nothing."""
    if tracer_provider is None and isinstance(trace.get_tracer_provider(),
                                              trace.ProxyTracerProvider):
        yield [trace.INVALID_SPAN] * len(carriers)
        return
    tracer = trace.get_tracer(INSTRUMENTATION, tracer_provider=tracer_provider)
    spans = [
        tracer.start_span(name, context=propagate.extract(carrier),
                          kind=trace.SpanKind.CONSUMER, attributes=attrs)
        for carrier, attrs in zip(carriers, attributes, strict=True)
    ]
    try:
        yield spans
    except BaseException as exc:
        status = trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
        for span in spans:
            span.record_exception(exc)
            span.set_status(status)
        raise
    finally:
        for span in spans:
            span.end()


def configure_from_env(
    environ: dict[str, str] | Any, default_service: str, instance_id: str
) -> str:
    """Install OTLP/HTTP tracer and meter providers when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

    Call it once per process after any fork (gunicorn's ``post_fork``, Celery's
    ``worker_process_init``): exporters run background threads, which a fork does not copy.
    Returns what was done, for the process's log: ``"off"`` without an endpoint, a sentence
    naming the missing package when ``guard[otlp]`` is not installed, else ``"otlp"``. It never
    raises, so a telemetry problem cannot stop a web or worker process from starting.
    """
    if not environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "off"
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        return ("OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-exporter-otlp-proto-http "
                "is not installed (pip install 'guard[otlp]'); telemetry stays off")
    resource = Resource.create({
        "service.name": environ.get("OTEL_SERVICE_NAME") or default_service,
        "service.instance.id": instance_id,
    })
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    return "otlp"
