"""The analysis pipeline under worker faults: a worker killed mid-task, every event delivered
twice, and a 10,000-event backlog built while no worker runs."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from guard.events import DetectionEvent
from pipelines import list_incidents
from tests.faults.conftest import Redis, Web, queued_batches, worker_env
from tests.faults.proc import rss_kb
from tests.faults.traffic import SQLI, forwarded
from tests.test_workers import (
    TASK,
    Cluster,
    attacks,
    eventually,
    strike_totals,
    task_ids,
)
from workers.app import ANALYZE_BATCH
from workers.settings import ANALYSIS_QUEUE

CLIENTS = 10
PER_CLIENT = 20


def _cluster(build: Callable[[dict[str, str]], Cluster], redis_url: str, key_prefix: str,
             **extra: str) -> Cluster:
    env = worker_env(redis_url, redis_url, key_prefix, GUARD_BROKER_KEY_PREFIX=f"{key_prefix}b:",
                     GUARD_AUTO_BAN_THRESHOLD=str(PER_CLIENT), **extra)
    return build(env)


def _bans(cluster: Cluster) -> int:
    return len(cluster.store.list_bans())


def test_worker_killed_mid_analysis(
    cluster_factory: Callable[[dict[str, str]], Cluster], redis_url: str, key_prefix: str,
    report: Callable[..., None],
) -> None:
    cluster = _cluster(cluster_factory, redis_url, key_prefix)
    victim = cluster.start("w1", GUARD_TEST_TASK_DELAY="0.5")
    cluster.start("w2", GUARD_TEST_TASK_DELAY="0.05")
    events = attacks(CLIENTS * PER_CLIENT, CLIENTS)
    cluster.send(events)

    def in_flight() -> set[str]:
        return task_ids(cluster.log("w1"), "received") - task_ids(cluster.log("w1"), "succeeded")

    # Killed while it holds a task: on a slow host the other worker alone could process the
    # first events before this one has taken any, and its tasks last long enough to be hit.
    eventually(lambda: cluster.processed() >= 40 and bool(in_flight()))
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    cut_short = in_flight()
    eventually(lambda: cluster.processed() == len(events))
    eventually(lambda: cut_short <= task_ids(cluster.log("w2"), "succeeded"), timeout=30)
    strikes = strike_totals(cluster.store, CLIENTS)
    incidents = sum(r.events for r in list_incidents(cluster.store))
    report(events=len(events), killed_mid_task=len(cut_short), processed=cluster.processed(),
           strikes=sum(strikes), bans=_bans(cluster), incident_events=incidents)
    assert cut_short, "the worker was not mid-task"
    assert strikes == [PER_CLIENT] * CLIENTS
    assert _bans(cluster) == CLIENTS
    assert incidents == len(events)


def test_duplicate_delivery(
    cluster_factory: Callable[[dict[str, str]], Cluster], redis_url: str, key_prefix: str,
    report: Callable[..., None],
) -> None:
    cluster = _cluster(cluster_factory, redis_url, key_prefix)
    cluster.start("w1")
    cluster.start("w2")
    events = attacks(CLIENTS * PER_CLIENT, CLIENTS)
    half = len(events) // 2
    # Twice each: once alone, once in a batch, in two orders, to two workers at once.
    cluster.send(events[:half] + events[::-1])
    cluster.app.send_task(ANALYZE_BATCH, args=[[e.encode() for e in events[half:]]],
                          queue=ANALYSIS_QUEUE)
    done = lambda: sum(len(task_ids(cluster.log(w), "succeeded")) for w in ("w1", "w2"))  # noqa: E731
    eventually(lambda: done() == half + len(events) + 1)
    strikes = strike_totals(cluster.store, CLIENTS)
    incidents = sum(r.events for r in list_incidents(cluster.store))
    report(events=len(events), deliveries=2 * len(events), processed=cluster.processed(),
           strikes=sum(strikes), bans=_bans(cluster), incident_events=incidents)
    assert cluster.processed() == len(events)
    assert strikes == [PER_CLIENT] * CLIENTS
    assert _bans(cluster) == CLIENTS
    assert incidents == len(events)


def test_backlog(
    web: Callable[..., Web], private_redis: Callable[..., Redis],
    cluster_factory: Callable[[dict[str, str]], Cluster], redis_url: str, key_prefix: str,
    report: Callable[..., None], tmp_path: Path,
) -> None:
    requests = 10_000
    broker = private_redis()
    cluster = cluster_factory(worker_env(broker.url, redis_url, key_prefix,
                                         GUARD_AUTO_BAN_THRESHOLD="1000000"))
    # Events are counted exactly, so the stats probes below must not be sampled as clean
    # traffic (1% of them would be, by default).
    server = web(redis_url=redis_url, redis_prefix=key_prefix, broker_url=broker.url,
                 trusted_proxies=1, auto_ban_threshold=1_000_000, share_patterns=False,
                 event_sample_rate=0.0)
    for name in ("w1", "w2"):
        cluster.start(name)
    cluster.stop_workers()

    def attack(n: int) -> int:
        client = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        return server.get(SQLI, headers=forwarded(client)).status

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(attack, range(requests, requests + 400))) == {403}
        rss_before = {pid: rss_kb(pid) for pid in server.pids}
        statuses = Counter(pool.map(attack, range(requests)))
    rss_after = {pid: rss_kb(pid) for pid in server.pids}
    eventually(lambda: all(s["queue"]["idle"] for s in server.stats().values()), timeout=30)
    queues = [s["queue"] for s in server.stats().values()]
    queued = {task: [DetectionEvent.decode(p).event_id for p in payloads]
              for task, payloads in queued_batches(broker.url).items()}
    queued_events = [e for ids in queued.values() for e in ids]
    events = requests + 400

    started = time.monotonic()
    for name in ("w3", "w4"):
        cluster.start(name)
    eventually(lambda: cluster.processed() == events, timeout=240)
    drained = time.monotonic() - started
    logs = cluster.log("w3") + cluster.log("w4")
    received = Counter(m[2] for m in TASK.finditer(logs) if m[3] == "received")
    growth_mb = max(rss_after[p] - rss_before[p] for p in server.pids) / 1024
    report(requests=requests, rss_growth_mb=growth_mb, queued_tasks=len(queued),
           queued_events=len(queued_events), drain_s=drained,
           most_deliveries_of_a_task=max(received.values()))
    assert statuses == {403: requests}
    assert sum(q["delivered"] for q in queues) == events
    assert sum(q["dropped_full"] + q["dropped_transport"] for q in queues) == 0
    assert len(queued_events) == len(set(queued_events)) == events
    assert growth_mb <= 20
    eventually(lambda: set(received) == set(queued) and not queued_batches(broker.url))
    assert set(received.values()) == {1}, "a task was delivered twice"
    assert set(task_ids(logs, "succeeded")) == set(queued)
