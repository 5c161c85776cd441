"""Agent shipping against the real receiver, run as ``python -m pipelines.agent_receiver``.

Covers batching, metrics, deduplication by event id, a wrong API key, and a receiver that is
down (retries with backoff, then the batch is dropped and counted, and offering never blocks).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks._processes import stop_processes
from guard.config import SecurityConfig
from guard.events import DetectionEvent
from guard.store import create_store
from pipelines import PipelineContext, process_events
from pipelines.shipping import (
    AgentShipper,
    ShippingError,
    ShippingPolicy,
    backoff_delay,
    decode_batch,
    encode_batch,
    event_record,
    post_batch,
)

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "test-agent-key"
FAST = ShippingPolicy(batch_size=10, flush_interval=0.05, attempts=3, backoff=0.05, timeout=2.0)


class Receiver:
    """The receiver subprocess and what it has accepted."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.endpoint = f"{url}/api/v1/events"

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/api/v1/stats", timeout=5) as response:
            stats: dict[str, int] = json.loads(response.read())
            return stats

    def events(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/events?limit=1000", timeout=5) as response:
            events: list[dict[str, Any]] = json.loads(response.read())["events"]
            return events


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.agent_receiver", "--port", "0", "--api-key", API_KEY],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        yield Receiver(process, line.split()[-1])
    finally:
        stop_processes(process, timeout=10)


def agent_config(endpoint: str, key: str = API_KEY, **changes: Any) -> SecurityConfig:
    return SecurityConfig(enable_agent=True, agent_api_key=key, agent_endpoint=endpoint,
                          **changes)


def record(i: int) -> dict[str, Any]:
    return {"event_id": f"ev-{i}", "action": "blocked", "n": i}


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_batches_and_metrics_arrive(receiver: Receiver) -> None:
    shipper = AgentShipper(agent_config(receiver.endpoint), FAST, node="n1")
    for i in range(25):
        assert shipper.offer(record(i), {"events": 1, "detections": 1})
    eventually(lambda: receiver.stats()["events"] == 25)
    shipper.close()
    stats = receiver.stats()
    assert stats["batches"] >= 3 and stats["duplicates"] == 0
    assert sorted(e["n"] for e in receiver.events()) == list(range(25))
    assert stats["metrics"] >= 1
    assert shipper.stats.events_sent == 25 and shipper.stats.batches_dropped == 0


def test_a_batch_sent_twice_is_kept_once(receiver: Receiver) -> None:
    body = encode_batch([record(1), record(2)], [{"metric_id": "m1", "counters": {}}],
                        node="n1", sent_at=time.time())
    for _ in range(2):
        post_batch(body, endpoint=receiver.endpoint, api_key=API_KEY, timeout=5)
    overlapping = encode_batch([record(2), record(3)], [], node="n1", sent_at=time.time())
    post_batch(overlapping, endpoint=receiver.endpoint, api_key=API_KEY, timeout=5)
    stats = receiver.stats()
    assert (stats["batches"], stats["events"], stats["metrics"]) == (3, 3, 1)
    assert stats["duplicates"] == 4


def test_wrong_api_key_is_rejected_and_not_retried(receiver: Receiver) -> None:
    body = encode_batch([record(1)], [], node="n1", sent_at=time.time())
    with pytest.raises(ShippingError) as info:
        post_batch(body, endpoint=receiver.endpoint, api_key="wrong", timeout=5)
    assert info.value.status == 401 and not info.value.retryable
    shipper = AgentShipper(agent_config(receiver.endpoint, key="wrong"), FAST)
    shipper.offer(record(2), {})
    shipper.close()
    assert shipper.stats.batches_rejected == 1 and shipper.stats.retries == 0
    assert receiver.stats()["rejected"] == 2 and receiver.stats()["events"] == 0


def test_garbage_is_a_bad_request(receiver: Receiver) -> None:
    with pytest.raises(ShippingError) as info:
        post_batch(b"\xc1not msgpack", endpoint=receiver.endpoint, api_key=API_KEY, timeout=5)
    assert info.value.status == 400
    with pytest.raises(ValueError):
        decode_batch(b"\x80")


def test_receiver_down_retries_then_drops_without_blocking(receiver: Receiver) -> None:
    endpoint = receiver.endpoint
    receiver.process.terminate()
    receiver.process.wait(timeout=10)
    shipper = AgentShipper(agent_config(endpoint), FAST)
    started = time.perf_counter()
    for i in range(30):
        shipper.offer(record(i), {"events": 1})
    assert time.perf_counter() - started < 0.05
    eventually(lambda: shipper.stats.events_dropped == 30)
    shipper.close()
    assert shipper.stats.batches_dropped == 3
    assert shipper.stats.retries == 3 * (FAST.attempts - 1)


def test_a_full_buffer_drops_and_counts() -> None:
    policy = ShippingPolicy(batch_size=10, flush_interval=60, max_buffer=5)
    shipper = AgentShipper(agent_config("http://127.0.0.1:9/x"), policy,
                           send=lambda body, events: "sent")
    accepted = [shipper.offer(record(i), {}) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert shipper.stats.events_overflowed == 3
    shipper.close()
    assert shipper.stats.events_sent == 5


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    policy = ShippingPolicy(backoff=0.5, backoff_max=4.0)
    delays = [[backoff_delay(n, policy) for n in range(6)] for _ in range(50)]
    for row in delays:
        for n, delay in enumerate(row):
            ceiling = min(4.0, 0.5 * 2**n)
            assert ceiling / 2 <= delay <= ceiling
    assert len({row[2] for row in delays}) > 1


def test_pipeline_ships_processed_events(receiver: Receiver) -> None:
    config = agent_config(receiver.endpoint, inline_semantic=False)
    shipper = AgentShipper(config, FAST, node="n1")
    ctx = PipelineContext(config=config, store=create_store("memory://"), shipper=shipper)
    events = [
        DetectionEvent.build(client_ip="192.0.2.1", ban_key="192.0.2.1", method="GET",
                             path="/", action="blocked", value="<script>", attack_class="xss",
                             strike_counted=True, fragments=["<script>"])
        for _ in range(12)
    ]
    summaries = process_events(events + events, ctx)
    assert all(s["shipped"] for s in summaries)
    ctx.close()
    stats = receiver.stats()
    assert stats["events"] == 12 and stats["duplicates"] == 12
    shipped = receiver.events()[0]
    assert shipped["attack_class"] == "xss" and shipped["fragments"] == ["<script>"]
    assert "value" not in shipped and shipped["incident_id"]
    assert shipped == {**event_record(events[0], {}), **{k: shipped[k] for k in (
        "semantic", "banned", "anomalies", "incident_id", "node")}}
