"""The store contract, run against both backends: ``memory://`` and a real Redis.

Expiry tests use short durations and poll with a generous deadline rather than sleeping an exact
amount, so a slow machine makes them slower, not flaky. The failure tests point a RedisStore at
a closed port and at a stopped (SIGSTOP) private redis-server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from benchmarks._processes import stop_processes
from guard.errors import ConfigurationError, StorageError
from guard.store import BanRecord, MemoryStore, RedisStore, Store, StrikeUpdate, create_store
from guard.store._args import MAX_KEY_LENGTH, MAX_SECONDS
from tests.conftest import free_port

BACKENDS = ["memory", "redis"]
both = pytest.mark.parametrize("store", BACKENDS, indirect=True)
STRIKE: dict[str, Any] = {
    "window": 60.0,
    "threshold": 10_000,
    "ban_duration": 60.0,
    "reason": "test",
}


@pytest.fixture
def store(request: pytest.FixtureRequest, redis_url: str, key_prefix: str) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else redis_url
    built = create_store(url, prefix=key_prefix)
    yield built
    built.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@both
def test_ban_get_unban_list(store: Store) -> None:
    assert store.get_ban("192.0.2.1") is None
    before = time.time()
    record = store.ban("192.0.2.1", 30, "manual block", source="manual")
    assert isinstance(record, BanRecord)
    assert record.key == "192.0.2.1"
    assert record.reason == "manual block" and record.source == "manual"
    assert before - 5 <= record.created <= time.time() + 5
    assert record.until == pytest.approx(record.created + 30, abs=0.01)
    assert store.get_ban("192.0.2.1") == record
    assert store.get_ban("192.0.2.2") is None

    store.ban("2001:db8:1:2::/64", 10, "network")
    store.ban("192.0.2.3", 20, "third")
    assert [r.key for r in store.list_bans()] == ["2001:db8:1:2::/64", "192.0.2.3", "192.0.2.1"]
    assert [r.key for r in store.list_bans(limit=2)] == ["2001:db8:1:2::/64", "192.0.2.3"]
    assert store.list_bans(limit=0) == []

    assert store.unban("192.0.2.3") is True
    assert store.unban("192.0.2.3") is False
    assert store.get_ban("192.0.2.3") is None
    assert [r.key for r in store.list_bans()] == ["2001:db8:1:2::/64", "192.0.2.1"]


@both
def test_longer_ban_is_kept_shorter_one_replaced(store: Store) -> None:
    long = store.ban("192.0.2.9", 600, "long", source="manual")
    assert store.ban("192.0.2.9", 5, "short", source="worker") == long
    longer = store.ban("192.0.2.9", 1200, "longer", source="worker")
    assert longer.until > long.until and longer.reason == "longer"
    assert store.get_ban("192.0.2.9") == longer


@both
def test_ban_reason_and_source_are_bounded(store: Store) -> None:
    record = store.ban("192.0.2.4", 30, "x" * 5000 + "\r\n", source="s" * 500)
    assert len(record.reason) <= 200 and len(record.source) <= 32
    assert store.get_ban("192.0.2.4") == record
    escaped = store.ban("192.0.2.5", 30, "line\nbreak\x1b[31m")
    assert "\n" not in escaped.reason and "\x1b" not in escaped.reason


@both
def test_ban_expires(store: Store) -> None:
    store.ban("192.0.2.10", 1, "short")
    store.ban("192.0.2.11", 60, "long")
    assert store.get_ban("192.0.2.10") is not None
    eventually(lambda: store.get_ban("192.0.2.10") is None)
    assert [r.key for r in store.list_bans()] == ["192.0.2.11"]
    assert store.unban("192.0.2.10") is False


@both
@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True])
def test_bad_durations_are_rejected(store: Store, bad: float) -> None:
    with pytest.raises(ValueError):
        store.ban("192.0.2.12", bad, "bad")
    with pytest.raises(ValueError):
        store.add_strike("192.0.2.12", "e", **{**STRIKE, "window": bad})
    with pytest.raises(ValueError):
        store.add_strike("192.0.2.12", "e", **{**STRIKE, "threshold": 0})


@both
def test_huge_durations_are_cut_to_ten_years(store: Store) -> None:
    record = store.ban("192.0.2.13", 10**12, "forever")
    assert record.until - record.created == pytest.approx(MAX_SECONDS, abs=0.01)
    auto = {**STRIKE, "threshold": 1, "ban_duration": 10**12, "window": 10**12}
    assert store.add_strike("192.0.2.14", "e", **auto).banned


@both
def test_threshold_above_window_capacity_never_bans(store: Store) -> None:
    result = store.add_strike("192.0.2.15", "e", **{**STRIKE, "threshold": 10**6})
    assert result.strikes == 1 and not result.banned
    # Past what any packing holds: still "never", on both backends, not an error.
    huge = {**STRIKE, "threshold": 2**64}
    assert not store.add_strike("192.0.2.15", "f", **huge).banned
    assert not store.add_strikes([StrikeUpdate("192.0.2.15", "g", **huge)])[0].banned


@both
def test_threshold_creates_ban(store: Store) -> None:
    args = {**STRIKE, "threshold": 3, "ban_duration": 30.0, "reason": "sqli in q"}
    results = [store.add_strike("198.51.100.1", f"e{i}", **args) for i in range(4)]
    assert [r.strikes for r in results] == [1, 2, 3, 4]
    assert [r.banned for r in results] == [False, False, True, True]
    assert not any(r.duplicate for r in results)
    record = store.get_ban("198.51.100.1")
    assert record is not None
    assert record.source == "auto" and record.reason == "sqli in q"
    assert record.until - record.created == pytest.approx(30, abs=0.01)
    assert [r.key for r in store.list_bans()] == ["198.51.100.1"]


@both
def test_strike_on_banned_key_reports_ban(store: Store) -> None:
    store.ban("198.51.100.2", 30, "manual")
    result = store.add_strike("198.51.100.2", "e1", **{**STRIKE, "threshold": 5})
    assert result.banned and result.strikes == 1


@both
def test_passive_mode_counts_but_never_bans(store: Store) -> None:
    args = {**STRIKE, "threshold": 3, "can_ban": False}
    results = [store.add_strike("198.51.100.3", f"e{i}", **args) for i in range(10)]
    assert [r.strikes for r in results] == list(range(1, 11))
    assert not any(r.banned for r in results)
    assert store.get_ban("198.51.100.3") is None
    assert store.list_bans() == []


@both
def test_duplicate_event_ids_count_once(store: Store) -> None:
    args = {**STRIKE, "threshold": 3}
    seen = []
    for i in range(3):
        first = store.add_strike("198.51.100.4", f"event-{i}", **args)
        again = store.add_strike("198.51.100.4", f"event-{i}", **args)
        assert not first.duplicate and again.duplicate
        assert again.strikes == first.strikes and again.banned == first.banned
        seen.append(first)
    assert [r.strikes for r in seen] == [1, 2, 3]
    assert [r.banned for r in seen] == [False, False, True]
    assert store.strikes("198.51.100.4", 60) == 3


@both
def test_add_strikes_counts_each_in_order(store: Store) -> None:
    args = {**STRIKE, "threshold": 3, "reason": "batched"}
    batch = [StrikeUpdate("198.51.100.8", f"e{i % 4}", **args) for i in range(6)]
    batch.append(StrikeUpdate("198.51.100.9", "e0", **{**args, "can_ban": False}))
    results = store.add_strikes(batch)
    assert [(r.strikes, r.banned, r.duplicate) for r in results] == [
        (1, False, False), (2, False, False), (3, True, False), (4, True, False),
        (4, True, True), (4, True, True), (1, False, False),
    ]
    assert store.add_strikes([]) == []
    record = store.get_ban("198.51.100.8")
    assert record is not None and record.reason == "batched"
    with pytest.raises(ValueError):
        store.add_strikes([StrikeUpdate("198.51.100.10", "ok", **args),
                           StrikeUpdate("198.51.100.10", "", **args)])
    assert store.strikes("198.51.100.10", 60) == 0


@both
def test_event_ids_are_scoped_to_their_key(store: Store) -> None:
    # One detection may strike an address and its /64; both must count.
    assert not store.add_strike("2001:db8::1", "event-1", **STRIKE).duplicate
    assert not store.add_strike("2001:db8::/64", "event-1", **STRIKE).duplicate
    assert store.add_strike("2001:db8::/64", "event-1", **STRIKE).duplicate


@both
def test_strikes_decay_out_of_the_window(store: Store) -> None:
    args = {**STRIKE, "window": 1.0, "threshold": 100}
    for i in range(3):
        store.add_strike("198.51.100.5", f"e{i}", **args)
    assert store.strikes("198.51.100.5", 1.0) == 3
    eventually(lambda: store.strikes("198.51.100.5", 1.0) == 0)
    assert store.add_strike("198.51.100.5", "e-late", **args).strikes == 1


@both
def test_decayed_strikes_do_not_reach_threshold(store: Store) -> None:
    args = {**STRIKE, "window": 1.0, "threshold": 3}
    store.add_strike("198.51.100.6", "a", **args)
    store.add_strike("198.51.100.6", "b", **args)
    eventually(lambda: store.strikes("198.51.100.6", 1.0) == 0)
    result = store.add_strike("198.51.100.6", "c", **args)
    assert result.strikes == 1 and not result.banned


@both
def test_concurrent_strikes_are_atomic(store: Store) -> None:
    counts: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(50):
            result = store.add_strike("198.51.100.7", f"t{n}-e{i}", **STRIKE)
            with lock:
                counts.append(result.strikes)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert store.strikes("198.51.100.7", 60) == 400
    # Each call saw a distinct count: no two increments interleaved.
    assert sorted(counts) == list(range(1, 401))


@both
def test_counters(store: Store) -> None:
    assert store.get_counter("requests") == 0
    assert store.incr_counter("requests") == 1
    assert store.incr_counter("requests", 5) == 6
    assert store.get_counter("requests") == 6
    assert store.get_counter("other") == 0


@both
def test_counter_ttl_is_a_fixed_window(store: Store) -> None:
    assert store.incr_counter("short", ttl=1) == 1
    assert store.incr_counter("short", ttl=60) == 2
    eventually(lambda: store.get_counter("short") == 0)
    assert store.incr_counter("short", ttl=1) == 1


@both
def test_once(store: Store) -> None:
    assert store.once("task-1", 60) is True
    assert store.once("task-1", 60) is False
    assert store.once("task-2", 60) is True
    assert store.once("short", 0.5) is True
    eventually(lambda: store.once("short", 0.5))


@both
def test_long_and_hostile_keys(store: Store) -> None:
    long_a = "a" * 10_000
    long_b = "a" * 9_999 + "b"
    record = store.ban(long_a, 30, "long")
    assert len(record.key) <= MAX_KEY_LENGTH
    assert store.get_ban(long_a) == record
    assert store.get_ban(long_b) is None
    assert store.get_ban(long_a[:MAX_KEY_LENGTH]) is None

    hostile = ["1.2.3.4\r\nSET x y", "*", "bans", "ban:*", "{tag}", "\x00", "\u202e1.2.3.4"]
    for key in hostile:
        store.add_strike(key, "e" * 5000, **{**STRIKE, "threshold": 1})
        assert store.add_strike(key, "e" * 5000, **STRIKE).duplicate
        banned = store.get_ban(key)
        assert banned is not None and banned.key.isprintable()
    assert store.get_ban("1.2.3.4") is None
    assert len(store.list_bans()) == len(hostile) + 1
    for key in hostile:
        assert store.unban(key)
    assert [r.key for r in store.list_bans()] == [record.key]


@both
def test_empty_key_is_rejected(store: Store) -> None:
    with pytest.raises(ValueError):
        store.get_ban("")
    with pytest.raises(ValueError):
        store.add_strike("192.0.2.1", "", **STRIKE)


def test_redis_keys_are_bounded_and_prefixed(
    redis_url: str, key_prefix: str, raw: redis.Redis
) -> None:
    store = create_store(redis_url, prefix=key_prefix)
    try:
        store.add_strike("x" * 100_000, "y" * 100_000, **{**STRIKE, "threshold": 1})
        store.incr_counter("z" * 100_000)
        store.once("w" * 100_000, 60)
    finally:
        store.close()
    keys = list(raw.scan_iter(match=f"{key_prefix}*"))
    assert len(keys) == 6
    assert all(len(key) <= len(key_prefix) + 16 + MAX_KEY_LENGTH for key in keys)


def test_every_redis_key_has_a_ttl(redis_url: str, key_prefix: str, raw: redis.Redis) -> None:
    store = create_store(redis_url, prefix=key_prefix)
    try:
        store.ban("192.0.2.1", 30, "manual")
        store.ban("192.0.2.2", 1, "short")
        store.unban("192.0.2.2")
        for i in range(3):
            store.add_strike("198.51.100.1", f"e{i}", **{**STRIKE, "threshold": 2})
            store.add_strike("198.51.100.2", f"e{i}", **{**STRIKE, "can_ban": False})
        store.add_strike("198.51.100.1", "e0", **STRIKE)
        store.incr_counter("hits")
        store.incr_counter("hits", ttl=5)
        store.incr_counter("windowed", ttl=5)
        store.once("token", 30)
        store.list_bans()
    finally:
        store.close()
    keys = sorted(key.decode() for key in raw.scan_iter(match=f"{key_prefix}*"))
    kinds = {key[len(key_prefix) :].split(":", 1)[0] for key in keys}
    assert kinds == {"ban", "bans", "strikes", "seen", "counter", "once"}
    ttls = {key: raw.pttl(key) for key in keys}
    assert all(ttl > 0 for ttl in ttls.values()), ttls


def test_ban_index_is_pruned_and_follows_its_longest_ban(
    redis_url: str, key_prefix: str, raw: redis.Redis
) -> None:
    store = create_store(redis_url, prefix=key_prefix)
    index = f"{key_prefix}bans"
    try:
        store.ban("192.0.2.1", 1, "short")
        assert 0 < raw.pttl(index) <= 1000
        store.ban("192.0.2.2", 120, "long")
        assert 110_000 < raw.pttl(index) <= 120_000
        eventually(lambda: store.get_ban("192.0.2.1") is None)
        assert raw.zcard(index) == 2
        store.list_bans()
        assert raw.zrange(index, 0, -1) == [b"192.0.2.2"]
        raw.delete(f"{key_prefix}ban:192.0.2.2")
        assert store.list_bans() == []
        assert raw.exists(index) == 0
    finally:
        store.close()


def test_redis_url_password_is_redacted(redis_url: str) -> None:
    url = redis_url.replace("redis://", "redis://user:secret@", 1)
    store = create_store(url, socket_timeout=0.2)
    try:
        assert "secret" not in store.url and "***" in store.url
    finally:
        store.close()


def test_factory_chooses_backend_by_url(redis_url: str, key_prefix: str) -> None:
    assert isinstance(create_store(None), MemoryStore)
    assert isinstance(create_store("memory://", timeout=0.05), MemoryStore)
    for url in (redis_url, redis_url.replace("redis://", "REDIS://")):
        store = create_store(url, prefix=key_prefix, timeout=0.1)
        try:
            assert isinstance(store, RedisStore) and store.ping()
        finally:
            store.close()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mongodb://localhost/guard", "'mongodb'"),
        ("memcached://127.0.0.1:11211", "'memcached'"),
        ("http://redis:6379", "'http'"),
        ("localhost", "no scheme"),
        ("", "no scheme"),
    ],
)
def test_unknown_scheme_is_rejected_by_name(url: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match=named) as info:
        create_store(url)
    assert "redis://" in str(info.value)


@pytest.mark.parametrize("url", ["memory://", "redis://127.0.0.1:1/0"])
def test_unknown_option_and_bad_prefix_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="bogus"):
        create_store(url, bogus=1)
    with pytest.raises(ConfigurationError, match="prefix"):
        create_store(url, prefix="has space:")


def test_memory_store_stays_bounded() -> None:
    store = MemoryStore(max_keys=50, max_strike_entries=500)
    for i in range(1000):
        store.ban(f"10.0.{i // 256}.{i % 256}", 60, "flood")
        store.add_strike(f"10.1.{i // 256}.{i % 256}", f"e{i}", **STRIKE)
        store.incr_counter(f"c{i}")
        store.once(f"t{i}", 60)
    for i in range(2000):
        store.add_strike("10.2.0.1", f"p{i}", **{**STRIKE, "can_ban": False})
    assert len(store.list_bans()) <= 50
    assert store.get_ban("10.0.3.231") is not None
    assert store.strikes("10.2.0.1", 60) == 500
    for table in (store._bans, store._strikes, store._seen, store._counters, store._once):
        assert len(table) <= 50
    assert store._strike_total <= 500


def operations(store: Store) -> list[Callable[[], Any]]:
    return [
        lambda: store.get_ban("192.0.2.1"),
        lambda: store.ban("192.0.2.1", 10, "x"),
        lambda: store.unban("192.0.2.1"),
        store.list_bans,
        lambda: store.add_strike("192.0.2.1", "e1", **STRIKE),
        lambda: store.strikes("192.0.2.1", 60),
        lambda: store.incr_counter("c"),
        lambda: store.get_counter("c"),
        lambda: store.once("t", 10),
    ]


def assert_fails_fast(store: Store, limit: float) -> None:
    started = time.perf_counter()
    assert store.ping() is False
    assert time.perf_counter() - started < limit
    for operation in operations(store):
        started = time.perf_counter()
        with pytest.raises(StorageError) as info:
            operation()
        assert time.perf_counter() - started < limit
        assert isinstance(info.value.__cause__, redis.RedisError)


@pytest.mark.parametrize("where", ["closed port", "missing socket"])
def test_unreachable_redis_fails_fast_with_storage_error(where: str, tmp_path: Path) -> None:
    if where == "closed port":
        url = f"redis://127.0.0.1:{free_port()}/0"
    else:
        url = f"unix://{tmp_path}/absent.sock"
    store = create_store(url)
    assert isinstance(store, RedisStore)
    try:
        assert_fails_fast(store, 0.2)
    finally:
        store.close()


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    binary = shutil.which("redis-server")
    assert binary is not None
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="guard-stop-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        probe = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            eventually(lambda: _answers(probe))
        finally:
            probe.close()
        yield process, url
    finally:
        os.kill(process.pid, signal.SIGCONT)
        stop_processes(process, timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def test_stalled_redis_fails_fast_then_recovers(
    private_redis: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, url = private_redis
    store = create_store(url, prefix="stall:")
    try:
        assert store.ping()
        store.ban("192.0.2.1", 30, "before")
        os.kill(process.pid, signal.SIGSTOP)
        try:
            for _ in range(3):
                assert_fails_fast(store, 0.15)
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert store.ping()
        assert store.get_ban("192.0.2.1") is not None
        assert not store.add_strike("192.0.2.2", "after", **STRIKE).duplicate
    finally:
        store.close()
