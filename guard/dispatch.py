"""Getting events off the request thread: a bounded queue, a publisher thread, transports.

The request thread only ever calls :meth:`EventPublisher.publish`, which puts the event on a
bounded in-process queue without blocking. When the queue is full the event is dropped and
counted, and nothing else changes: the request never waits for the broker.

A background thread drains the queue in batches and hands them to a :class:`Transport`:

* :class:`CeleryTransport` sends each event as a ``guard.analyze`` task to the broker (Celery is
  imported only when this transport is built, never by ``import guard``);
* :class:`InProcessTransport` runs the pipeline stages right there, on the publisher thread:
  the embedded default, with the same code above it.

A batch the transport cannot take (broker down) is dropped and counted; the failure is logged
once per outage, and the publisher keeps draining so the queue never backs up into requests.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from guard import forksafe
from guard.events import DetectionEvent

log = logging.getLogger("guard")

ANALYSIS_TASK = "guard.analyze"
ANALYSIS_BATCH_TASK = "guard.analyze_batch"
ANALYSIS_QUEUE = "guard.analysis"


class Transport(Protocol):
    """Where drained events go."""

    name: str

    def send(self, events: Sequence[DetectionEvent]) -> None:
        """Deliver ``events``; raise on failure (the publisher counts them as dropped)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class InProcessTransport:
    """Runs the pipeline on the publisher thread (no broker, no worker)."""

    name = "in-process"

    def __init__(self, process: Callable[[Sequence[DetectionEvent]], Any]) -> None:
        self._process = process

    def send(self, events: Sequence[DetectionEvent]) -> None:
        """Process the batch now."""
        self._process(events)

    def close(self) -> None:
        """Nothing to release."""


class CeleryTransport:
    """Publishes ``guard.analyze`` tasks (msgpack event bytes) to the broker at ``broker_url``.

    Publishing uses short socket timeouts and no connection retries, so a dead broker fails a
    batch in about ``timeout`` seconds on the publisher thread, never in a request.
    """

    name = "celery"

    def __init__(self, broker_url: str, timeout: float = 0.5) -> None:
        from celery import Celery

        self.broker_url = broker_url
        self._app = Celery("guard-publisher", broker=broker_url, set_as_current=False)
        self._app.conf.update(
            task_serializer="msgpack",
            accept_content=["msgpack"],
            broker_connection_retry=False,
            broker_connection_retry_on_startup=False,
            broker_connection_max_retries=0,
            broker_transport_options={
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "max_retries": 0,
            },
            task_publish_retry=False,
        )

    def send(self, events: Sequence[DetectionEvent]) -> None:
        """Send the batch as one ``guard.analyze_batch`` task (one broker round trip; a worker
        then writes its state in a few Redis round trips per batch)."""
        self._app.send_task(
            ANALYSIS_BATCH_TASK,
            args=[[event.encode() for event in events]],
            queue=ANALYSIS_QUEUE,
            serializer="msgpack",
            retry=False,
        )

    def close(self) -> None:
        """Close the broker connection pool."""
        self._app.close()


@dataclass
class PublisherStats:
    """Counters of the publisher; all totals since start."""

    published: int = 0
    dropped_full: int = 0
    dropped_transport: int = 0
    delivered: int = 0
    max_depth: int = 0
    transport_up: bool = True
    last_error: str = ""
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        """Every event that never reached the transport."""
        return self.dropped_full + self.dropped_transport


RETRY_MIN = 0.25
"""Seconds the publisher waits before trying a failed transport again; doubled per failure."""

RETRY_MAX = 5.0
"""Longest wait between two attempts on a transport that keeps failing."""


class EventPublisher:
    """Bounded queue plus background thread feeding a :class:`Transport`."""

    def __init__(
        self,
        transport: Transport,
        maxsize: int = 10_000,
        batch_size: int = 64,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        self.transport = transport
        self.maxsize = maxsize
        self.batch_size = batch_size
        self.stats = PublisherStats()
        self._queue: queue.Queue[DetectionEvent | None]
        self._on_drop = on_drop
        self._closed = False
        self._backoff = 0.0
        self._retry_at = 0.0
        self._start()
        forksafe.on_fork(self._start)

    def _start(self) -> None:
        if self._closed:
            return
        # Also the child's side of a fork: the queue and locks may have been held by the
        # parent's publisher thread, which the child does not have.
        self._queue = queue.Queue(maxsize=self.maxsize)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="guard-publisher", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Events waiting in the queue now."""
        return self._queue.qsize()

    def publish(self, event: DetectionEvent) -> bool:
        """Queue ``event`` without blocking; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self.stats.dropped_full += 1
            if self._on_drop is not None:
                self._on_drop(1)
            return False
        with self._lock:
            self.stats.published += 1
            depth = self._queue.qsize()
            if depth > self.stats.max_depth:
                self.stats.max_depth = depth
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queue is drained (for tests and shutdown); True when it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float = 5.0) -> None:
        """Drain what can be drained within ``timeout``, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self.flush(timeout)
        self._stop.set()
        # A full queue: the thread sees the stop flag after its current batch instead.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout)
        self.transport.close()

    def _run(self) -> None:
        # The thread sleeps in get() until an event or the stop marker comes. A timeout here
        # would wake it on the other core several times a second, and each wake makes the
        # next GIL hand-off in a request measurably slower.
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                break
            batch = [first]
            while len(batch) < self.batch_size:
                try:
                    event = self._queue.get_nowait()
                except queue.Empty:
                    break
                if event is None:
                    self._stop.set()
                    self._queue.task_done()
                    break
                batch.append(event)
            self._deliver(batch)
            for _ in batch:
                self._queue.task_done()

    def _deliver(self, batch: list[DetectionEvent]) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            # The transport failed a moment ago: dropping at once (counted) costs the web
            # process nothing, where another connection attempt per batch costs CPU the
            # requests share.
            self._dropped(batch)
            return
        try:
            self.transport.send(batch)
        except Exception as exc:
            with self._lock:
                if self.stats.transport_up:
                    log.error("event transport %s failed; dropping events until it recovers: %s",
                              self.transport.name, exc)
                self.stats.transport_up = False
                self.stats.last_error = type(exc).__name__
            self._backoff = min(self._backoff * 2, RETRY_MAX) if self._backoff else RETRY_MIN
            self._retry_at = time.monotonic() + self._backoff
            self._dropped(batch)
            return
        self._backoff = 0.0
        with self._lock:
            self.stats.delivered += len(batch)
            if not self.stats.transport_up:
                log.warning("event transport %s recovered", self.transport.name)
            self.stats.transport_up = True

    def _dropped(self, batch: list[DetectionEvent]) -> None:
        with self._lock:
            self.stats.dropped_transport += len(batch)
        if self._on_drop is not None:
            self._on_drop(len(batch))
