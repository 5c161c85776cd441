"""Real Celery workers (subprocesses) on the session's Redis, fed with ``send_task``.

Each worker runs ``python -m celery -A workers.app worker`` with its environment pointing at
this test's key prefix, for both the shared state and the broker's own keys, so tests never see
each other's queues. Events are blocked requests whose web process could not count the strike
(``strike_counted=False``): the pipeline adds exactly one strike per event, whatever the
semantic model says, so every count below is exact.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from benchmarks._processes import stop_processes
from guard.events import DetectionEvent, RuleHit
from guard.store import Store, create_store
from pipelines import list_incidents, shared_performance_stats
from tests.test_pipelines_shipping import API_KEY, Receiver, receiver  # noqa: F401
from workers.app import ANALYZE, ANALYZE_BATCH, make_app
from workers.settings import ANALYSIS_QUEUE, WorkerSettings

ROOT = Path(__file__).resolve().parent.parent
TASK = re.compile(r"Task (guard\.\w+)\[([0-9a-f-]+)\] (received|succeeded)")


class Cluster:
    """Workers started for one test, the producer app and the shared store they use."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.app: Celery = make_app(WorkerSettings.from_env(env))
        self.store: Store = create_store(env["GUARD_REDIS_URL"], prefix=env["GUARD_REDIS_PREFIX"],
                                         timeout=2.0)
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, pool: str = "solo", **env: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", "worker", f"--pool={pool}",
             "-Q", "guard.analysis,guard.shipping", "--concurrency=1", "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
             f"--logfile={log}"],
            cwd=ROOT, env={**self.env, **env}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.workers[name] = process
        eventually(lambda: log.exists() and " ready." in log.read_text(), timeout=60)
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def send(self, events: list[DetectionEvent]) -> None:
        with self.app.producer_or_acquire() as producer:
            for event in events:
                self.app.send_task(ANALYZE, args=[event.encode()], queue=ANALYSIS_QUEUE,
                                   producer=producer)

    def processed(self) -> int:
        count: int = shared_performance_stats(self.store)["events"]["processed"]
        return count

    def by_node(self) -> dict[str, int]:
        nodes: dict[str, int] = shared_performance_stats(self.store)["events"]["by_node"]
        return nodes

    def stop(self) -> None:
        self.stop_workers()
        self.store.close()
        self.app.close()

    def stop_workers(self) -> None:
        """Stop every worker started so far (warm shutdown, SIGKILL after 20 s)."""
        stop_processes(*self.workers.values())


@pytest.fixture
def cluster(redis_url: str, key_prefix: str, tmp_path: Path) -> Iterator[Cluster]:
    env = {
        **os.environ,
        "GUARD_BROKER_URL": redis_url,
        "GUARD_BROKER_KEY_PREFIX": f"{key_prefix}broker:",
        "GUARD_BROKER_VISIBILITY_TIMEOUT": "3",
        "GUARD_BROKER_RESTORE_INTERVAL": "1",
        "GUARD_REDIS_URL": redis_url,
        "GUARD_REDIS_PREFIX": key_prefix,
        "GUARD_AUTO_BAN_THRESHOLD": "100000",
    }
    built = Cluster(env, tmp_path)
    yield built
    built.stop()


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def attacks(count: int, clients: int) -> list[DetectionEvent]:
    return [
        DetectionEvent.build(
            client_ip=f"198.51.100.{i % clients}", ban_key=f"198.51.100.{i % clients}",
            method="GET", path="/search", action="blocked", value="1' OR '1'='1' --",
            part_location="query", part_name="q", hits=[RuleHit("sqli-tautology", "sqli", 4.0)],
            attack_class="sqli", score=4.0, strike_counted=False, correlation_id=f"req-{i}",
        )
        for i in range(count)
    ]


def strike_totals(store: Store, clients: int) -> list[int]:
    return [store.strikes(f"198.51.100.{i}", 3600) for i in range(clients)]


def task_ids(log: str, state: str) -> set[str]:
    return {match[2] for match in TASK.finditer(log) if match[3] == state}


def test_a_worker_consumes_sent_events(cluster: Cluster) -> None:
    cluster.start("w1")
    events = attacks(40, 4)
    cluster.send(events[:30])
    cluster.app.send_task(ANALYZE_BATCH, args=[[e.encode() for e in events[30:]]],
                          queue=ANALYSIS_QUEUE)
    cluster.app.send_task(ANALYZE, args=[b"\xc1 not an event"], queue=ANALYSIS_QUEUE)
    eventually(lambda: cluster.processed() == 40)
    assert strike_totals(cluster.store, 4) == [10, 10, 10, 10]
    [(node, count)] = cluster.by_node().items()
    assert node.startswith("w1@") and count == 40
    incidents = list_incidents(cluster.store)
    assert sorted(r.events for r in incidents) == [10, 10, 10, 10]
    eventually(lambda: "unreadable event" in cluster.log("w1"))


def test_duplicate_deliveries_through_a_worker_count_once(cluster: Cluster) -> None:
    cluster.start("w1")
    events = attacks(30, 3)
    cluster.send(events + events)
    eventually(lambda: len(task_ids(cluster.log("w1"), "succeeded")) == 60)
    assert cluster.processed() == 30
    assert strike_totals(cluster.store, 3) == [10, 10, 10]


def test_two_workers_share_the_work_and_the_counts(cluster: Cluster) -> None:
    cluster.start("w1")
    cluster.start("w2")
    events = attacks(300, 20)
    cluster.send(events)
    eventually(lambda: cluster.processed() == 300)
    nodes = cluster.by_node()
    assert sorted(name.split("@")[0] for name in nodes) == ["w1", "w2"]
    assert sum(nodes.values()) == 300 and min(nodes.values()) > 0
    assert strike_totals(cluster.store, 20) == [15] * 20
    assert sum(r.events for r in list_incidents(cluster.store)) == 300


def test_a_worker_killed_mid_task_loses_nothing_and_counts_nothing_twice(
    cluster: Cluster,
) -> None:
    slow = cluster.start("w1", GUARD_TEST_TASK_DELAY="0.3")
    events = attacks(20, 2)
    cluster.send(events)
    eventually(lambda: cluster.processed() >= 3)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(timeout=10)
    cut_short = task_ids(cluster.log("w1"), "received") - task_ids(cluster.log("w1"), "succeeded")
    assert cut_short, "the worker was not mid-task"
    cluster.start("w2")
    eventually(lambda: cluster.processed() == 20)
    eventually(lambda: cut_short <= task_ids(cluster.log("w2"), "succeeded"))
    assert strike_totals(cluster.store, 2) == [10, 10]
    assert sum(cluster.by_node().values()) == 20


def test_a_prefork_child_killed_mid_task_is_redelivered(cluster: Cluster) -> None:
    parent = cluster.start("w1", pool="prefork", GUARD_TEST_TASK_DELAY="0.3")
    events = attacks(12, 3)
    cluster.send(events)
    eventually(lambda: cluster.processed() >= 2)
    child = int(Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()[0])
    os.kill(child, signal.SIGKILL)
    eventually(lambda: cluster.processed() == 12)
    eventually(lambda: len(task_ids(cluster.log("w1"), "succeeded")) == 12)
    assert "WorkerLostError" in cluster.log("w1")
    assert strike_totals(cluster.store, 3) == [4, 4, 4]


def test_a_worker_ships_to_the_agent(cluster: Cluster, receiver: Receiver) -> None:  # noqa: F811
    cluster.start(
        "w1", GUARD_ENABLE_AGENT="true", GUARD_AGENT_API_KEY=API_KEY,
        GUARD_AGENT_ENDPOINT=receiver.endpoint, GUARD_AGENT_FLUSH_INTERVAL="0.1",
    )
    events = attacks(20, 2)
    cluster.send(events + events)
    eventually(lambda: receiver.stats()["events"] == 20 and receiver.stats()["duplicates"] == 20)
    assert cluster.store.get_counter("agent:batches_sent") >= 1
    shipped: list[dict[str, Any]] = receiver.events()
    assert {e["event_id"] for e in shipped} == {e.event_id for e in events}
    assert all(e["node"].startswith("w1@") for e in shipped)


class _OtlpReceiver:
    """An OTLP/HTTP endpoint on loopback that keeps every request body by path."""

    def __init__(self) -> None:
        import http.server
        import threading

        bodies: dict[str, list[bytes]] = {}
        self.bodies = bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                bodies.setdefault(self.path, []).append(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_worker_exports_the_continued_trace_over_otlp(cluster: Cluster, pool: str) -> None:
    otlp = _OtlpReceiver()
    try:
        cluster.start("w1", pool=pool, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
                      OTEL_BSP_SCHEDULE_DELAY="200", OTEL_METRIC_EXPORT_INTERVAL="500")
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        [event] = attacks(1, 1)
        event = DetectionEvent.build(**{
            **{f: getattr(event, f) for f in event.__dataclass_fields__},
            "trace": {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        })
        cluster.send([event])
        eventually(lambda: cluster.processed() == 1)

        def exported() -> bool:
            spans = b"".join(otlp.bodies.get("/v1/traces", []))
            return b"guard.pipeline" in spans and bytes.fromhex(trace_id) in spans

        eventually(exported, timeout=30)
    finally:
        otlp.close()
