"""Agent shipping: events and metrics, batched, msgpack-encoded and POSTed to the agent.

When ``enable_agent`` is on, every processed event is offered to the process's
:class:`AgentShipper` (``agent_enable_events``), and so are its counts, which the shipper sums
into one metrics record per flush (``agent_enable_metrics``). Offering never blocks and never
fails analysis: the buffer is bounded and what does not fit is dropped and counted.

A background thread cuts the buffer into batches of at most ``batch_size`` events, every
``flush_interval`` seconds or as soon as a batch is full, and hands each encoded batch to a
sender. The default sender POSTs it (:func:`deliver`): the ``agent_api_key`` travels in the
``X-API-Key`` header, a network error or a 5xx answer is retried with exponential backoff and
jitter, and after ``attempts`` tries the batch is dropped and counted; a 4xx answer (a wrong key)
is final. A worker swaps in a sender that publishes the batch as a ``guard.ship`` task instead.

Delivery is at least once: a batch may arrive twice after a lost answer or a redelivered event.
Every event carries its ``event_id`` and every metrics record a ``metric_id``, and the receiver
keeps each id once. The event's full normalised value is not shipped, only its bounded fragments.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgpack

from guard.config import SecurityConfig
from guard.events import DetectionEvent
from guard.logsafe import safe
from pipelines.context import PipelineContext

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
CONTENT_TYPE = "application/msgpack"
BATCH_FORMAT = "guard-agent/1"

Outcome = Literal["sent", "rejected", "dropped"]
Sender = Callable[[bytes, int], Outcome]
"""Takes an encoded batch and its event count; says what became of it."""


@dataclass(frozen=True)
class ShippingPolicy:
    """Batching and retry settings of the shipper."""

    batch_size: int = 100
    flush_interval: float = 1.0
    max_buffer: int = 10_000
    attempts: int = 5
    backoff: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 5.0


class ShippingError(Exception):
    """A batch did not reach the agent; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass
class ShippingStats:
    """Totals since the shipper started."""

    batches_sent: int = 0
    events_sent: int = 0
    retries: int = 0
    batches_dropped: int = 0
    events_dropped: int = 0
    batches_rejected: int = 0
    events_overflowed: int = 0


def event_record(event: DetectionEvent, summary: Mapping[str, Any]) -> dict[str, Any]:
    """What the agent receives for one event: its bounded fields and the analysis summary."""
    return {
        "event_id": event.event_id,
        "ts": event.ts,
        "correlation_id": event.correlation_id,
        "trace": dict(event.trace),
        "client_ip": event.client_ip,
        "method": event.method,
        "path": event.path,
        "action": event.action,
        "part": f"{event.part_location}:{event.part_name}" if event.part_location else "",
        "fragments": list(event.fragments),
        "hits": [[h.pattern_id, h.attack_class, h.score] for h in event.hits],
        "score": event.score,
        "attack_class": event.attack_class,
        "screening_ms": event.screening_ms,
        **summary,
    }


def encode_batch(
    events: list[dict[str, Any]], metrics: list[dict[str, Any]], *, node: str, sent_at: float
) -> bytes:
    """One batch as msgpack bytes, with a fresh ``batch_id``."""
    body: bytes = msgpack.packb(
        {
            "format": BATCH_FORMAT,
            "batch_id": uuid.uuid4().hex,
            "node": node,
            "sent_at": sent_at,
            "events": events,
            "metrics": metrics,
        },
        use_bin_type=True,
    )
    return body


def decode_batch(body: bytes) -> dict[str, Any]:
    """A batch read back; ``ValueError`` when it is not one."""
    try:
        batch = msgpack.unpackb(body, raw=False)
    except Exception as exc:
        raise ValueError(f"not msgpack: {exc}") from exc
    if not isinstance(batch, dict) or batch.get("format") != BATCH_FORMAT:
        raise ValueError("not a guard agent batch")
    if not isinstance(batch.get("events"), list) or not isinstance(batch.get("metrics"), list):
        raise ValueError("batch without events and metrics lists")
    return batch


def post_batch(body: bytes, *, endpoint: str, api_key: str, timeout: float) -> None:
    """POST one batch; raise :class:`ShippingError` unless the agent answers 2xx."""
    request = urllib.request.Request(
        endpoint,
        data=body,
        method="POST",
        headers={"Content-Type": CONTENT_TYPE, API_KEY_HEADER: api_key},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise ShippingError(
            f"agent answered {exc.code}", retryable=exc.code >= 500 or exc.code == 429,
            status=exc.code,
        ) from exc
    except (OSError, ValueError) as exc:
        raise ShippingError(f"agent unreachable: {exc}", retryable=True) from exc


def backoff_delay(attempt: int, policy: ShippingPolicy, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): exponential, capped, with jitter
    over its upper half so retrying senders spread out."""
    ceiling = min(policy.backoff_max, policy.backoff * 2.0**attempt)
    return ceiling * (0.5 + 0.5 * (rng or random).random())


def deliver(
    body: bytes,
    config: SecurityConfig,
    policy: ShippingPolicy,
    *,
    wait: Callable[[float], bool] | None = None,
    on_retry: Callable[[], None] | None = None,
) -> Outcome:
    """POST ``body`` with retries; ``wait(seconds)`` returning True stops retrying early."""
    last: ShippingError | None = None
    for attempt in range(policy.attempts):
        try:
            post_batch(
                body,
                endpoint=config.agent_endpoint,
                api_key=config.agent_api_key or "",
                timeout=policy.timeout,
            )
            return "sent"
        except ShippingError as exc:
            if not exc.retryable:
                log.warning("agent refused a batch: %s", safe(exc, 120))
                return "rejected"
            last = exc
        if attempt + 1 < policy.attempts:
            if on_retry is not None:
                on_retry()
            if (wait or _sleep)(backoff_delay(attempt, policy)):
                break
    log.warning("agent batch dropped after %d attempts: %s", policy.attempts, safe(last, 120))
    return "dropped"


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


class AgentShipper:
    """Per-process buffer and flushing thread in front of a :data:`Sender`."""

    def __init__(
        self,
        config: SecurityConfig,
        policy: ShippingPolicy | None = None,
        *,
        node: str = "",
        clock: Callable[[], float] = time.time,
        send: Sender | None = None,
    ) -> None:
        self.config = config
        self.policy = policy or ShippingPolicy()
        self.node = node
        self.stats = ShippingStats()
        self._clock = clock
        self._send = send or self._post
        self._events: deque[dict[str, Any]] = deque()
        self._counts: Counter[str] = Counter()
        self._since = clock()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def offer(self, record: Mapping[str, Any] | None, counts: Mapping[str, int]) -> bool:
        """Buffer one event record and its counts; never blocks. False when the record did not
        fit (counted in ``stats.events_overflowed``) or events are not shipped."""
        accepted = False
        with self._cond:
            if self.config.agent_enable_metrics:
                self._counts.update(counts)
            if record is not None and self.config.agent_enable_events:
                if len(self._events) < self.policy.max_buffer:
                    self._events.append(dict(record))
                    accepted = True
                else:
                    self.stats.events_overflowed += 1
            if len(self._events) >= self.policy.batch_size:
                self._cond.notify()
        self._ensure_thread()
        return accepted

    def flush(self) -> None:
        """Send everything buffered now, on the calling thread."""
        while self._send_one():
            pass

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread, then send what is left (one attempt per batch at most)."""
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stop.is_set():
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="guard-agent-shipper", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(
                    lambda: self._stop.is_set() or len(self._events) >= self.policy.batch_size,
                    timeout=self.policy.flush_interval,
                )
            if not self._stop.is_set():
                self.flush()

    def _send_one(self) -> bool:
        with self._cond:
            events = [self._events.popleft() for _ in range(min(len(self._events),
                                                                 self.policy.batch_size))]
            metrics = self._take_metrics()
        if not events and not metrics:
            return False
        body = encode_batch(events, metrics, node=self.node, sent_at=self._clock())
        outcome = self._send(body, len(events))
        with self._cond:
            if outcome == "sent":
                self.stats.batches_sent += 1
                self.stats.events_sent += len(events)
            elif outcome == "rejected":
                self.stats.batches_rejected += 1
                self.stats.events_dropped += len(events)
            else:
                self.stats.batches_dropped += 1
                self.stats.events_dropped += len(events)
        return bool(events)

    def _take_metrics(self) -> list[dict[str, Any]]:
        if not self._counts:
            return []
        now = self._clock()
        record = {
            "metric_id": uuid.uuid4().hex,
            "ts": now,
            "node": self.node,
            "interval_s": round(now - self._since, 3),
            "counters": dict(self._counts),
        }
        self._counts.clear()
        self._since = now
        return [record]

    def _post(self, body: bytes, _events: int) -> Outcome:
        # While stopping, one attempt per batch: shutdown must not wait out a dead agent.
        policy = self.policy
        if self._stop.is_set():
            policy = ShippingPolicy(attempts=1, timeout=min(policy.timeout, 1.0))
        return deliver(body, self.config, policy, wait=self._stop.wait, on_retry=self._retried)

    def _retried(self) -> None:
        with self._cond:
            self.stats.retries += 1


def queue_event(
    event: DetectionEvent, ctx: PipelineContext, summary: Mapping[str, Any],
    counts: Mapping[str, int],
) -> bool:
    """Offer the processed event to the shipper; True when its record was buffered."""
    if ctx.shipper is None or not ctx.config.enable_agent:
        return False
    return ctx.shipper.offer(event_record(event, summary), counts)
