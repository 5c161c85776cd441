"""The bounded event queue and its transports, against a real Redis broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis

from guard.dispatch import ANALYSIS_QUEUE, CeleryTransport, EventPublisher, InProcessTransport
from guard.events import DetectionEvent
from tests.conftest import free_port


def _event(n: int) -> DetectionEvent:
    return DetectionEvent.build(client_ip=f"10.0.0.{n % 250}", ban_key=f"10.0.0.{n % 250}",
                                method="GET", path="/x", action="blocked")


class GatedTransport:
    """Holds every batch until released: stands in for a broker that stopped answering."""

    name = "gated"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.seen: list[DetectionEvent] = []

    def send(self, events: Sequence[DetectionEvent]) -> None:
        self.release.wait(10)
        self.seen.extend(events)

    def close(self) -> None:
        self.release.set()


def test_publish_never_blocks_and_drops_are_counted_exactly() -> None:
    transport = GatedTransport()
    publisher = EventPublisher(transport, maxsize=100, batch_size=10)
    started = time.perf_counter()
    accepted = sum(publisher.publish(_event(i)) for i in range(1000))
    assert time.perf_counter() - started < 1.0
    assert publisher.depth <= 100 and publisher.stats.max_depth <= 100
    assert accepted + publisher.stats.dropped_full == 1000
    transport.release.set()
    assert publisher.flush(10)
    assert len(transport.seen) == accepted == publisher.stats.delivered
    publisher.close()


def test_in_process_transport_runs_callback() -> None:
    processed: list[str] = []
    publisher = EventPublisher(
        InProcessTransport(lambda batch: processed.extend(e.event_id for e in batch))
    )
    events = [_event(i) for i in range(50)]
    for event in events:
        publisher.publish(event)
    assert publisher.flush(10)
    assert processed == [e.event_id for e in events]
    publisher.close()


def test_dead_broker_drops_and_counts_without_blocking_publishers() -> None:
    publisher = EventPublisher(CeleryTransport(f"redis://127.0.0.1:{free_port()}/0", 0.2),
                               maxsize=50)
    started = time.perf_counter()
    for i in range(500):
        publisher.publish(_event(i))
    assert time.perf_counter() - started < 1.0
    assert publisher.flush(20)
    stats = publisher.stats
    assert stats.delivered == 0
    assert stats.published + stats.dropped_full == 500
    assert stats.dropped == 500 and stats.transport_up is False
    publisher.close()


def test_celery_transport_puts_msgpack_tasks_on_the_broker(redis_url: str) -> None:
    broker = redis_url.rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(broker)
    client.delete(ANALYSIS_QUEUE)
    publisher = EventPublisher(CeleryTransport(broker))
    events = [_event(i) for i in range(20)]
    for event in events:
        publisher.publish(event)
    assert publisher.flush(10)
    publisher.close()
    try:
        import base64
        import json

        import msgpack

        messages = [json.loads(m) for m in client.lrange(ANALYSIS_QUEUE, 0, -1)]
        assert all(m["content-type"] == "application/x-msgpack" for m in messages)
        assert all(m["headers"]["task"] == "guard.analyze_batch" for m in messages)
        sent = []
        for message in messages:
            args = msgpack.unpackb(base64.b64decode(message["body"]))[0]
            sent.extend(DetectionEvent.decode(payload).event_id for payload in args[0])
        assert sent == [e.event_id for e in events]
    finally:
        client.delete(ANALYSIS_QUEUE)
        client.close()


class FlakyTransport:
    """Fails while ``down`` is set, counting every attempt."""

    name = "flaky"

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.seen: list[DetectionEvent] = []

    def send(self, events: Sequence[DetectionEvent]) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectionError("broker down")
        self.seen.extend(events)

    def close(self) -> None:
        pass


def test_a_failing_transport_is_retried_with_backoff_and_drops_stay_exact() -> None:
    transport = FlakyTransport()
    publisher = EventPublisher(transport, maxsize=10_000, batch_size=1)
    for i in range(200):
        publisher.publish(_event(i))
    assert publisher.flush(10)
    # One batch per event, but the transport is not asked again while it backs off.
    assert transport.attempts < 10
    assert publisher.stats.dropped_transport == 200
    transport.down = False
    time.sleep(0.3)
    publisher.publish(_event(0))
    deadline = time.monotonic() + 10
    while not transport.seen:
        assert time.monotonic() < deadline, "the transport was never tried again"
        publisher.publish(_event(1))
        time.sleep(0.05)
    assert publisher.flush(10)
    stats = publisher.stats
    assert stats.delivered + stats.dropped_transport == stats.published
    publisher.close()


def _context_switches(thread: threading.Thread) -> int:
    with open(f"/proc/self/task/{thread.native_id}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches line")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(),
                    reason="counts a thread's context switches in /proc (Linux only)")
def test_an_idle_publisher_sleeps_until_an_event_or_close() -> None:
    """The publisher's thread shares the process with the requests: an idle one must not wake
    up on its own, and close() must still stop it at once."""
    processed: list[str] = []
    publisher = EventPublisher(
        InProcessTransport(lambda batch: processed.extend(e.event_id for e in batch))
    )
    thread = publisher._thread
    time.sleep(0.05)
    before = _context_switches(thread)
    time.sleep(0.5)
    assert _context_switches(thread) - before == 0  # a 0.1 s poll would have woken it 5 times
    event = _event(1)
    publisher.publish(event)
    assert publisher.flush(5)
    assert processed == [event.event_id]
    started = time.monotonic()
    publisher.close(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2.0
    publisher.close(timeout=5)  # a second close leaves nothing behind in the queue
    assert publisher.depth == 0 and publisher.flush(1)
