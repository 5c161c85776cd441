"""The Celery app: ``celery -A workers.app worker`` (or ``python -m workers``).

Tasks are thin: decode the event, call :func:`pipelines.runner.process_event`, return nothing.

=======================  ==================  =============================================
task                     queue               argument
=======================  ==================  =============================================
``guard.analyze``        ``guard.analysis``  one event's msgpack bytes
``guard.analyze_batch``  ``guard.analysis``  a list of events' msgpack bytes
``guard.ship``           ``guard.shipping``  one encoded agent batch (:mod:`pipelines.shipping`)
=======================  ==================  =============================================

Tasks are acknowledged after they finish (``acks_late``), and a task whose worker dies is
redelivered (``reject_on_worker_lost``, and the broker's visibility timeout for a worker killed
outright). Redelivery is safe because every store write is idempotent by event id. A store
failure retries the task with exponential backoff and jitter. Each worker process builds one
:class:`~pipelines.context.PipelineContext` on its first task; its agent shipper hands batches
to ``guard.ship`` tasks, so a slow agent only ever delays the shipping queue. Once ready, a
worker records a heartbeat in the store every few seconds (:func:`pipelines.activity.beat`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery import Celery, Task
from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from guard.engine.semantic import default_analyzer
from guard.errors import StorageError
from guard.events import DetectionEvent, EventDecodeError
from guard.logsafe import safe
from guard.telemetry import configure_from_env
from pipelines.activity import HEARTBEAT_INTERVAL, beat
from pipelines.context import PipelineContext
from pipelines.runner import process_events
from pipelines.shipping import AgentShipper, Outcome, ShippingError, backoff_delay, post_batch
from workers.settings import ANALYSIS_QUEUE, SHIPPING_QUEUE, WorkerSettings

log = logging.getLogger(__name__)

ANALYZE = "guard.analyze"
ANALYZE_BATCH = "guard.analyze_batch"
SHIP = "guard.ship"
STORE_RETRY: dict[str, Any] = {
    "autoretry_for": (StorageError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 10,
}


def make_app(settings: WorkerSettings) -> Celery:
    """A Celery app configured from ``settings`` (also what producers use to send tasks)."""
    celery = Celery("guard", set_as_current=False)
    celery.conf.update(settings.celery_config())
    celery.conf.task_routes = {
        ANALYZE: {"queue": ANALYSIS_QUEUE},
        ANALYZE_BATCH: {"queue": ANALYSIS_QUEUE},
        SHIP: {"queue": SHIPPING_QUEUE},
    }
    return celery


SETTINGS = WorkerSettings.from_env(os.environ)
app = make_app(SETTINGS)
_contexts: dict[int, PipelineContext] = {}


def context(node: str) -> PipelineContext:
    """This process's pipeline context, built on first use (after any fork)."""
    ctx = _contexts.get(os.getpid())
    if ctx is None:
        _contexts.clear()
        ctx = PipelineContext(
            config=SETTINGS.config,
            store=SETTINGS.store(),
            node=node,
            shipper=_shipper(node) if SETTINGS.config.enable_agent else None,
        )
        _contexts[os.getpid()] = ctx
        _follow_patterns()
    return ctx


def _follow_patterns() -> None:
    # Started per process after any fork: threads do not survive one.
    config = SETTINGS.config
    if config.redis_url and config.share_patterns:
        from guard.handlers.suspatterns_handler import sus_patterns_handler

        try:
            sus_patterns_handler.share_patterns(config.redis_url, config.redis_prefix)
        except Exception as exc:
            log.error("worker pattern sharing unavailable: %s", exc)


def _shipper(node: str) -> AgentShipper:
    def publish(body: bytes, _events: int) -> Outcome:
        try:
            ship.apply_async(args=[body], queue=SHIPPING_QUEUE)
        except Exception as exc:
            log.warning("could not queue an agent batch: %s", safe(exc, 120))
            return "dropped"
        return "sent"

    return AgentShipper(SETTINGS.config, SETTINGS.shipping, node=node, send=publish)


def analyze_payloads(payloads: Sequence[bytes], node: str) -> None:
    """Decode the payloads and process the events together; an undecodable one is logged and
    skipped."""
    events = []
    for payload in payloads:
        try:
            events.append(DetectionEvent.decode(payload))
        except EventDecodeError as exc:
            log.warning("dropping an unreadable event: %s", safe(exc, 120))
    process_events(events, context(node))
    if SETTINGS.test_task_delay:
        time.sleep(SETTINGS.test_task_delay * len(events))


def _analyze(self: Task, payload: bytes) -> None:
    """Run the pipeline on one event."""
    analyze_payloads([payload], self.request.hostname or "worker")


def _analyze_batch(self: Task, payloads: list[bytes]) -> None:
    """Run the pipeline on each event of a batch (a retry repeats the finished ones as no-ops)."""
    analyze_payloads(payloads, self.request.hostname or "worker")


def _ship(self: Task, body: bytes) -> None:
    """POST one agent batch; retry a transient failure later, count a final one."""
    config, policy = SETTINGS.config, SETTINGS.shipping
    store = context(self.request.hostname or "worker").store
    try:
        post_batch(
            body, endpoint=config.agent_endpoint, api_key=config.agent_api_key or "",
            timeout=policy.timeout,
        )
    except ShippingError as exc:
        if exc.retryable and self.request.retries < (self.max_retries or 0):
            raise self.retry(countdown=backoff_delay(self.request.retries, policy)) from exc
        outcome = "batches_dropped" if exc.retryable else "batches_rejected"
        log.warning("agent batch %s: %s", outcome.removeprefix("batches_"), safe(exc, 120))
        store.incr_counter(f"agent:{outcome}")
        return
    store.incr_counter("agent:batches_sent")


analyze = app.task(name=ANALYZE, bind=True, **STORE_RETRY)(_analyze)
analyze_batch = app.task(name=ANALYZE_BATCH, bind=True, **STORE_RETRY)(_analyze_batch)
ship = app.task(name=SHIP, bind=True, max_retries=max(0, SETTINGS.shipping.attempts - 1))(_ship)


def _load_model(**_: Any) -> None:
    # Before the pool starts (and, for prefork, before it forks): no task pays for the load.
    default_analyzer()


def _close_context(**_: Any) -> None:
    ctx = _contexts.pop(os.getpid(), None)
    if ctx is not None:
        ctx.close(timeout=2.0)


def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    # In the worker's main process, so the beat says the worker (not one pool child) is up.
    node = str(getattr(sender, "hostname", None) or "worker")
    store = SETTINGS.store()

    def run() -> None:
        while True:
            try:
                beat(store, node)
            except StorageError as exc:
                log.warning("heartbeat not recorded: %s", safe(exc, 120))
            time.sleep(HEARTBEAT_INTERVAL)

    threading.Thread(target=run, name="guard-heartbeat", daemon=True).start()


def _configure_telemetry(**_: Any) -> None:
    # After the fork (exporter threads do not survive one): in each prefork child as it starts.
    outcome = configure_from_env(os.environ, "guard-worker", str(os.getpid()))
    if outcome not in ("off", "otlp"):
        log.warning(outcome)


def _configure_main_process(sender: Any = None, **_: Any) -> None:
    # The solo and threads pools run tasks in the main process. A prefork main process runs
    # none, and must stay unconfigured: a child forked later to replace a dead one would
    # inherit its providers, with their exporter threads gone.
    pool = getattr(getattr(sender, "controller", None), "pool_cls", None)
    if "prefork" not in f"{getattr(pool, '__module__', '')}.{pool!r}":
        _configure_telemetry()


worker_init.connect(_load_model)
worker_process_init.connect(_configure_telemetry)
worker_ready.connect(_configure_main_process)
worker_ready.connect(_start_heartbeat)
worker_process_shutdown.connect(_close_context)
worker_shutdown.connect(_close_context)


def run_worker(argv: Sequence[str] | None = None) -> None:
    """Start a worker, as ``celery -A workers.app worker [argv]``; consumes both queues unless
    ``-Q``/``--queues`` is given."""
    args = list(argv or ())
    if not any(arg == "-Q" or arg.startswith(("-Q", "--queues")) for arg in args):
        args += ["-Q", f"{ANALYSIS_QUEUE},{SHIPPING_QUEUE}"]
    app.worker_main(["worker", *args])
