"""A catastrophic custom pattern added to running web processes, attacked while a probe makes
20 benign requests a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from guard.engine.detector import DetectionEngine
from guard.pattern_sync import PatternSync
from tests.faults.conftest import Web, percentile
from tests.faults.traffic import BENIGN

TIMEOUT = 0.5
EVIL = "a" * 40 + "!"
PATTERNS = {
    "table": r"^(a+)+$",
    # A blow-up the regex module does not optimise away (it does for (a+)+), behind a
    # look-ahead, which no linear engine takes: the backtracking path.
    "backtracking": r"^(a|aa)+(?=$)",
}


def _probe(server: Web, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        out.append(server.get(BENIGN, source="127.0.0.9").elapsed * 1000)
        time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_redos_custom_pattern(
    web: Callable[..., Web], redis_url: str, key_prefix: str, name: str,
    report: Callable[..., None],
) -> None:
    pattern = PATTERNS[name]
    linear = DetectionEngine().add_pattern(pattern, custom=True).linear
    server = web(redis_url=redis_url, redis_prefix=key_prefix, share_patterns=True,
                 detection_compiler_timeout=TIMEOUT, auto_ban_threshold=1_000_000)
    sync = PatternSync(DetectionEngine(), redis_url, key_prefix).start()
    try:
        sync.add(pattern, custom=True)
        deadline = time.monotonic() + 10
        while {r.status for r in server.each_process("/?q=aaaa").values()} != {403}:
            assert time.monotonic() < deadline, "the pattern never reached every web process"
            time.sleep(0.2)

        baseline: list[float] = []
        during: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=_probe, args=(server, stop, baseline), daemon=True)
        probe.start()
        time.sleep(3.0)
        stop.set()
        probe.join(10)
        stop.clear()
        probe = threading.Thread(target=_probe, args=(server, stop, during), daemon=True)
        probe.start()
        attacks = []
        until = time.monotonic() + 3.0
        while time.monotonic() < until:
            attacks.append(server.get(f"/?q={EVIL}"))
        stop.set()
        probe.join(10)
    finally:
        sync.remove(pattern, custom=True)
        sync.stop()

    slowest = max(a.elapsed for a in attacks)
    report(pattern=pattern, linear_engine=linear, attacks=len(attacks),
           attack_statuses=sorted({a.status for a in attacks}),
           slowest_attack_ms=slowest * 1000, probe_baseline_p99_ms=percentile(baseline, 99),
           probe_during_p99_ms=percentile(during, 99), probes=len(baseline) + len(during))
    assert slowest <= TIMEOUT + 0.05
    if linear:
        # A linear engine cannot backtrack: no timeout exists to count, and the honest verdict
        # on input the pattern does not match is no hit (see README, decisions).
        assert {a.status for a in attacks} == {200}
    else:
        assert {a.status for a in attacks} == {403}, "a timed-out pattern must count as a hit"
    # "Unaffected": no probe waited behind the stalled match, which would cost it ~TIMEOUT.
    assert percentile(during, 99) <= percentile(baseline, 99) + TIMEOUT * 1000 / 2
