"""Who gets banned: spoofed ``X-Forwarded-For`` with and without a trusted proxy, 200,000
distinct clients, and an IPv6 /64 banned as one unit."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis

from guard.client_ip import ClientResolver
from guard.store import create_store
from tests.faults.conftest import Web
from tests.faults.proc import rss_kb
from tests.faults.traffic import BENIGN, SQLI

VICTIM = "203.0.113.50"
PROXY = "127.0.0.3"
THRESHOLD = 3


def _store(redis_url: str, key_prefix: str):  # type: ignore[no-untyped-def]
    return create_store(redis_url, prefix=key_prefix, timeout=2.0)


def test_spoofed_forwarded_for_without_a_trusted_proxy(
    web: Callable[..., Web], redis_url: str, key_prefix: str, report: Callable[..., None],
) -> None:
    server = web(redis_url=redis_url, redis_prefix=key_prefix, auto_ban_threshold=THRESHOLD,
                 share_patterns=False)
    attacker = "127.0.0.2"
    statuses = Counter(server.get(SQLI, headers={"X-Forwarded-For": VICTIM}, source=attacker
                                  ).status for _ in range(50))
    store = _store(redis_url, key_prefix)
    try:
        peer_banned, victim_banned = store.get_ban(attacker), store.get_ban(VICTIM)
    finally:
        store.close()
    report(attacks=50, statuses=dict(statuses), peer_banned=peer_banned is not None,
           victim_banned=victim_banned is not None)
    assert peer_banned is not None
    assert victim_banned is None


def test_spoofed_forwarded_for_through_a_trusted_proxy(
    web: Callable[..., Web], redis_url: str, key_prefix: str, report: Callable[..., None],
) -> None:
    server = web(redis_url=redis_url, redis_prefix=key_prefix, auto_ban_threshold=THRESHOLD,
                 trusted_proxies=[f"{PROXY}/32"], share_patterns=False)
    real = [f"198.51.100.{i}" for i in range(1, 251)]

    def attack(n: int) -> int:
        # The client prepends the victim (and the proxy's own address); the proxy appends the
        # address it saw.
        chain = f"{VICTIM}, {PROXY}, {real[n % len(real)]}"
        return server.get(SQLI, headers={"X-Forwarded-For": chain}, source=PROXY).status

    with ThreadPoolExecutor(4) as pool:
        statuses = Counter(pool.map(attack, range(1000)))
    # A request the proxy sends with no forwarding header at all (a health check gone wrong).
    for _ in range(THRESHOLD + 1):
        server.get(SQLI, source=PROXY)
    store = _store(redis_url, key_prefix)
    try:
        banned = {b.key for b in store.list_bans(limit=10_000)}
    finally:
        store.close()
    report(attacks=1000, statuses=dict(statuses), real_clients_banned=len(banned & set(real)),
           victim_bans=int(VICTIM in banned), proxy_bans=int(PROXY in banned))
    assert set(real) <= banned
    assert VICTIM not in banned
    assert PROXY not in banned, "a trusted proxy was banned"


def _get(port: int, path: str, client: str) -> int:
    request = (f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\n"
               "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        head = sock.recv(64)
        while sock.recv(65536):
            pass
    return int(head.split(b" ", 2)[1])


def test_many_clients(
    web: Callable[..., Web], redis_url: str, key_prefix: str, report: Callable[..., None],
) -> None:
    clients = 200_000
    server = web(redis_url=redis_url, redis_prefix=key_prefix, auto_ban_threshold=THRESHOLD,
                 trusted_proxies=1, ban_ipv6_prefix=64, share_patterns=False)

    def visit(n: int) -> int:
        return _get(server.port, BENIGN, f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")

    started = time.monotonic()
    rss: dict[int, list[int]] = {pid: [] for pid in server.pids}
    statuses: Counter[int] = Counter()
    with ThreadPoolExecutor(4) as pool:
        for start in range(0, clients, clients // 4):
            statuses.update(pool.map(visit, range(start, start + clients // 4)))
            for pid in server.pids:
                rss[pid].append(rss_kb(pid))
    elapsed = time.monotonic() - started

    # An IPv6 client owns its /64: three addresses in it earn one ban for all of it.
    for n in range(THRESHOLD):
        _get(server.port, SQLI, f"2001:db8:1:2::{n + 1:x}")
    time.sleep(1.1)
    same_net = _get(server.port, BENIGN, "2001:db8:1:2:ffff::9")
    other_net = _get(server.port, BENIGN, "2001:db8:1:3::1")

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
        without_ttl = [k for k in keys if client.ttl(k) == -1]
    finally:
        client.close()
    growth_mb = max(r[-1] - r[0] for r in rss.values()) / 1024
    report(clients=clients, seconds=elapsed, statuses=dict(statuses),
           rss_mb_by_quarter={p: [round(v / 1024, 1) for v in r] for p, r in rss.items()},
           rss_growth_after_first_quarter_mb=growth_mb, redis_keys=len(keys),
           keys_without_ttl=len(without_ttl), same_64_refused=same_net == 403,
           other_64_allowed=other_net == 200)
    assert statuses == {200: clients}
    assert growth_mb <= 10, "web memory keeps growing with the number of clients"
    assert not without_ttl, without_ttl[:5]
    assert same_net == 403 and other_net == 200
    # Configurable: at the default prefix (128) each IPv6 address is its own unit.
    assert ClientResolver(1, 128).ban_key("2001:db8:1:2::1") == "2001:db8:1:2::1"
    assert ClientResolver(1, 64).ban_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
