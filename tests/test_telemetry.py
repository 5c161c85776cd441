"""OpenTelemetry: the request span, detection span events, metrics, and the trace carried in
events continuing in a worker-side span."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guard import FlaskAPIGuard, SecurityConfig
from guard.events import DetectionEvent
from guard.telemetry import continued_span, continued_spans, current_trace_carrier

ATTACK = "1' UNION SELECT secret_token FROM vault--"


class Captured:
    name = "captured"

    def __init__(self) -> None:
        self.events: list[DetectionEvent] = []

    def send(self, events: Sequence[DetectionEvent]) -> None:
        self.events.extend(events)

    def close(self) -> None:
        pass


def _setup() -> tuple[Flask, InMemorySpanExporter, InMemoryMetricReader, Captured, TracerProvider]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    captured = Captured()
    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(event_sample_rate=0.0), transport=captured,
                  tracer_provider=tracer_provider, meter_provider=meter_provider)

    @app.route("/q")
    def q() -> str:
        return "ok"

    return app, exporter, reader, captured, tracer_provider


def _metrics(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = list(metric.data.data_points)
    return found


def test_detection_span_event_and_worker_child_span() -> None:
    app, exporter, _reader, captured, provider = _setup()
    app.test_client().get("/q", query_string={"id": ATTACK})
    state = app.extensions["guard"]
    assert state.publisher.flush(5)
    spans = [s for s in exporter.get_finished_spans() if s.name == "guard.screen"]
    assert len(spans) == 1
    request_span = spans[0]
    detection = [e for e in request_span.events if e.name == "guard.detection"]
    assert len(detection) == 1
    attributes = dict(detection[0].attributes or {})
    assert attributes["guard.class"] == "sqli" and attributes["guard.action"] == "blocked"
    assert attributes["guard.part"] == "query"
    assert all("UNION" not in str(v) for v in attributes.values())

    assert len(captured.events) == 1
    event = DetectionEvent.decode(captured.events[0].encode())
    assert event.trace.get("traceparent")
    with continued_span(event.trace, "guard.analyze", tracer_provider=provider):
        pass
    worker = next(s for s in exporter.get_finished_spans() if s.name == "guard.analyze")
    assert worker.context.trace_id == request_span.context.trace_id
    assert worker.parent is not None and worker.parent.span_id == request_span.context.span_id


def test_metrics_have_no_address_labels() -> None:
    app, _exporter, reader, _captured, _provider = _setup()
    client = app.test_client()
    client.get("/q?id=fine")
    client.get("/q", query_string={"id": ATTACK})
    metrics = _metrics(reader)
    assert sum(p.value for p in metrics["guard.requests.screened"]) == 2
    assert sum(p.value for p in metrics["guard.blocks"]) == 1
    assert [dict(p.attributes) for p in metrics["guard.detections"]] == [{"guard.class": "sqli"}]
    assert "guard.screening.duration" in metrics and "guard.queue.depth" in metrics
    for points in metrics.values():
        for point in points:
            for value in dict(point.attributes or {}).values():
                assert "127.0.0.1" not in str(value)


def test_request_span_links_to_the_pipeline_span_through_the_event() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(event_sample_rate=0.0), tracer_provider=provider)
    app.add_url_rule("/q", "q", lambda: "ok")
    assert app.test_client().get("/q", query_string={"id": ATTACK}).status_code == 403
    assert app.extensions["guard"].publisher.flush(10)
    spans = exporter.get_finished_spans()
    request_span = next(s for s in spans if s.name == "guard.screen")
    pipeline = [s for s in spans if s.context.trace_id == request_span.context.trace_id
                and s.name != "guard.screen"]
    assert pipeline, [s.name for s in spans]
    assert any(s.parent is not None and s.parent.span_id == request_span.context.span_id
               for s in pipeline)


def test_the_request_span_leaves_other_instrumentation_context_alone() -> None:
    """Another extension that attaches a context in its before-request hook and detaches it in
    its teardown (as OpenTelemetry's Flask instrumentation does) must find the context stack as
    it left it: Guard's span is never made current, so nothing is left attached afterwards."""
    from opentelemetry import context, trace

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    other = provider.get_tracer("other")
    app = Flask(__name__)
    tokens: list[object] = []

    @app.before_request
    def attach() -> None:
        span = other.start_span("other.request")
        tokens.append((span, context.attach(trace.set_span_in_context(span))))

    @app.teardown_request
    def detach(_exc: BaseException | None) -> None:
        span, token = tokens.pop()
        span.end()
        context.detach(token)

    FlaskAPIGuard(app, config=SecurityConfig(event_sample_rate=0.0), transport=Captured(),
                  tracer_provider=provider)

    @app.route("/q")
    def q() -> str:
        return "ok"

    before = trace.get_current_span()
    assert app.test_client().get("/q").status_code == 200
    assert trace.get_current_span() is before
    names = [s.name for s in exporter.get_finished_spans()]
    assert "guard.screen" in names and "other.request" in names



def test_a_batch_of_spans_continues_each_trace_and_records_a_failure() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    parents = [tracer.start_span(f"request-{i}") for i in range(3)]
    carriers = [current_trace_carrier(span) for span in parents]
    with pytest.raises(RuntimeError), continued_spans(
        [*carriers, {}], "guard.pipeline", [{"n": i} for i in range(4)],
        tracer_provider=provider,
    ) as spans:
        assert len(spans) == 4 and trace.get_current_span() is trace.INVALID_SPAN
        raise RuntimeError("stage failed")
    done = [s for s in exporter.get_finished_spans() if s.name == "guard.pipeline"]
    assert [dict(s.attributes or {})["n"] for s in done] == [0, 1, 2, 3]
    for span, parent in zip(done, parents, strict=False):
        assert span.context.trace_id == parent.get_span_context().trace_id
        assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert done[3].parent is None
    assert all(s.status.status_code == trace.StatusCode.ERROR for s in done)
    assert all(e.name == "exception" for s in done for e in s.events)


def test_a_batch_of_spans_costs_nothing_without_a_provider() -> None:
    # No provider injected and none set globally: the invalid span, recording nothing.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    with continued_spans([{}, {}], "guard.pipeline", [{}, {}]) as spans:
        assert spans == [trace.INVALID_SPAN, trace.INVALID_SPAN]

