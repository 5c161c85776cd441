"""Operator patterns reach every process through Redis within a second, even without pub/sub."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
import redis

from guard.engine.detector import DetectionEngine
from guard.pattern_sync import PatternSync

PATTERN = r"zzsecret-token-\d{4}"


@pytest.fixture
def pair(redis_url: str, key_prefix: str) -> Iterator[tuple[PatternSync, PatternSync]]:
    first = PatternSync(DetectionEngine(), redis_url, key_prefix, interval=0.2).start()
    second = PatternSync(DetectionEngine(), redis_url, key_prefix, interval=0.2).start()
    yield first, second
    first.stop()
    second.stop()


def _wait(condition, timeout: float = 3.0) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "did not converge"
        time.sleep(0.02)
    return time.monotonic() - started


def test_add_and_remove_reach_the_other_engine(pair: tuple[PatternSync, PatternSync]) -> None:
    first, second = pair
    first.add(PATTERN, custom=True)
    elapsed = _wait(lambda: second.engine.detect("x zzsecret-token-1234")["is_threat"])
    assert elapsed < 1.0
    first.remove(PATTERN, custom=True)
    _wait(lambda: not second.engine.detect("x zzsecret-token-1234")["is_threat"])
    assert PATTERN not in second.engine.get_custom_patterns()


def test_timer_recovers_a_lost_message(
    pair: tuple[PatternSync, PatternSync], redis_url: str, key_prefix: str
) -> None:
    _first, second = pair
    client = redis.Redis.from_url(redis_url)
    client.hset(f"{key_prefix}patterns:set", json.dumps([PATTERN, True]), "1")
    client.incr(f"{key_prefix}patterns:version")
    client.close()
    assert _wait(lambda: PATTERN in second.engine.get_custom_patterns()) < 1.0


def test_reaches_another_process(redis_url: str, key_prefix: str) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from guard.engine.detector import DetectionEngine
        from guard.pattern_sync import PatternSync
        sync = PatternSync(DetectionEngine(), {redis_url!r}, {key_prefix!r}, interval=0.2).start()
        print("ready", flush=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sync.engine.detect("id zzsecret-token-9876")["is_threat"]:
                print("seen", flush=True)
                break
            time.sleep(0.02)
        sync.stop()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        local = PatternSync(DetectionEngine(), redis_url, key_prefix).start()
        started = time.monotonic()
        local.add(PATTERN, custom=True)
        assert proc.stdout.readline().strip() == "seen"
        assert time.monotonic() - started < 1.5
        local.stop()
    finally:
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def test_invalid_pattern_is_not_shared(pair: tuple[PatternSync, PatternSync]) -> None:
    first, second = pair
    with pytest.raises(ValueError):
        first.add("(unclosed", custom=True)
    time.sleep(0.5)
    assert second.engine.get_custom_patterns() == []
