"""The store's Redis killed (SIGKILL, restarted 10 s later) or hung (SIGSTOP for 10 s) while two
gunicorn processes serve steady traffic."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from collections.abc import Callable

from guard.store import create_store
from tests.faults.conftest import Redis, Web
from tests.faults.traffic import BENIGN, SQLI, Load, forwarded

OUTAGE = 10.0
BANNED = [f"203.0.113.{i}" for i in range(1, 6)]
SETTINGS = {"trusted_proxies": 1, "auto_ban_threshold": 2, "redis_prefix": "faults:"}


def _steady(n: int) -> tuple[str, str, str]:
    """Benign clients (each new), attackers, and the clients banned before the fault."""
    if n % 5 == 0:
        return "banned", BENIGN, BANNED[n // 5 % len(BANNED)]
    if n % 5 == 1:
        return "attack", SQLI, f"198.18.{n // 256 % 256}.{n % 256}"
    return "benign", BENIGN, f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _ban_before_the_fault(server: Web, redis: Redis) -> None:
    for client in BANNED:
        for _ in range(SETTINGS["auto_ban_threshold"]):
            assert server.get(SQLI, headers=forwarded(client)).status == 403
    store = create_store(redis.url, prefix="faults:", timeout=1.0)
    assert all(store.get_ban(client) is not None for client in BANNED)
    store.close()
    # Once a process's negative cache entry is stale (ban_cache_ttl, 1 s), every web process
    # looks each ban up, as a banned client's retries make it do.
    time.sleep(1.1)
    for client in BANNED:
        answers = server.each_process(BENIGN, headers=forwarded(client))
        assert {r.status for r in answers.values()} == {403}


def _refusals_per_process(server: Web) -> dict[int, set[int]]:
    statuses: dict[int, set[int]] = {}
    for client in BANNED:
        for pid, response in server.each_process(BENIGN, headers=forwarded(client)).items():
            statuses.setdefault(pid, set()).add(response.status)
    return statuses


def test_redis_killed_mid_load(
    web: Callable[..., Web], private_redis: Callable[..., Redis],
    report: Callable[..., None],
) -> None:
    redis = private_redis()
    server = web(redis_url=redis.url, **SETTINGS)
    _ban_before_the_fault(server, redis)

    with Load(server, _steady, threads=2) as load:
        time.sleep(2.0)
        killed = time.monotonic()
        redis.signal(signal.SIGKILL)
        assert redis.process is not None
        redis.process.wait(10)
        time.sleep(1.0)
        during = _refusals_per_process(server)
        time.sleep(max(0.0, killed + OUTAGE - time.monotonic()))
        redis.start()
        restarted = time.monotonic()

        # Recovery: a ban made now, in whichever process, reaches the other one.
        late = "198.51.100.99"
        store = create_store(redis.url, prefix="faults:", timeout=1.0)
        try:
            while store.get_ban(late) is None:
                assert time.monotonic() - restarted < 30, "strikes never reached the new Redis"
                server.get(SQLI, headers=forwarded(late))
                time.sleep(0.2)
            recovered = time.monotonic() - restarted
            while {r.status for r in server.each_process(BENIGN, headers=forwarded(late)).values()
                   } != {403}:
                assert time.monotonic() - restarted < 30, "a web process never saw the new ban"
                time.sleep(0.2)
            seen_everywhere = time.monotonic() - restarted
        finally:
            store.close()
        time.sleep(1.0)

    stats = server.stats()
    outage = load.between(killed, restarted)
    statuses = Counter(s.response.status for s in load.samples)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    banned_outage = [s for s in outage if s.kind == "banned"]
    report(requests=len(load.samples), during_outage=len(outage), responses_5xx=server_errors,
           banned_refused_during_outage=f"{sum(s.response.status == 403 for s in banned_outage)}"
                                        f"/{len(banned_outage)}",
           new_ban_stored_after_s=recovered, new_ban_everywhere_after_s=seen_everywhere)
    assert not load.errors, load.errors[:3]
    assert server_errors == 0, statuses
    assert len(during) == len(server.pids) and all(s == {403} for s in during.values()), during
    assert banned_outage and all(s.response.status == 403 for s in banned_outage)
    assert not any(s["breaker_open"] for s in stats.values()), "a process never recovered"


def test_redis_hung(
    web: Callable[..., Web], private_redis: Callable[..., Redis],
    report: Callable[..., None],
) -> None:
    redis = private_redis()
    server = web(redis_url=redis.url, **SETTINGS)
    with Load(server, _steady, threads=2) as load:
        time.sleep(1.0)
        stopped = time.monotonic()
        redis.signal(signal.SIGSTOP)
        try:
            time.sleep(OUTAGE)
        finally:
            redis.signal(signal.SIGCONT)
        resumed = time.monotonic()
        time.sleep(12.0)  # the breaker's longest back-off, so every process probes again

    waits = [float(s.response.headers["x-store-wait-ms"]) for s in load.samples]
    stall = load.between(stopped, resumed)
    log = server.log_text()
    failures = Counter(re.findall(r"pid=(\d+) ERROR guard: guard store .* unreachable", log))
    recoveries = Counter(re.findall(r"pid=(\d+) WARNING guard: guard store .* reachable again",
                                    log))
    stats = server.stats()
    report(requests=len(load.samples), during_stall=len(stall),
           longest_store_wait_ms=max(waits), longest_request_ms=max(
               s.response.elapsed for s in load.samples) * 1000,
           failure_log_lines=dict(failures), recovery_log_lines=dict(recoveries))
    assert not load.errors, load.errors[:3]
    assert len(stall) > 100
    assert max(waits) <= 150.0
    assert all(s.response.status < 500 for s in load.samples)
    assert failures and all(n == 1 for n in failures.values()), failures
    assert set(failures) <= {str(pid) for pid in server.pids}
    assert not any(s["breaker_open"] for s in stats.values())

