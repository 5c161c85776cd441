"""Request mixes the fault cases send: a background load and the attack strings it uses."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.faults.conftest import Response, Web

SQLI = "/?q=1%27%20UNION%20SELECT%20password%20FROM%20users--"
"""A query every rule set blocks (a UNION-based SQL injection)."""
BENIGN = "/?q=running+shoes"


def forwarded(address: str) -> dict[str, str]:
    """Headers of a request that our one trusted proxy forwarded for ``address``."""
    return {"X-Forwarded-For": address}


@dataclass
class Sample:
    """One request of a load: when it started, what it was, what came back."""

    started: float
    kind: str
    client: str
    response: Response


@dataclass
class Load:
    """Background threads sending ``pick(n) -> (kind, path, client)`` requests until stopped."""

    web: Web
    pick: Callable[[int], tuple[str, str, str]]
    threads: int = 2
    pause: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(self.threads)]

    def __enter__(self) -> Load:
        for thread in self._workers:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            kind, path, client = self.pick(next(self._counter))
            started = time.monotonic()
            try:
                response = self.web.get(path, headers=forwarded(client), timeout=10)
            except Exception as exc:
                with self._lock:
                    self.errors.append(exc)
                continue
            with self._lock:
                self.samples.append(Sample(started, kind, client, response))
            if self.pause:
                time.sleep(self.pause)

    def between(self, start: float, end: float) -> list[Sample]:
        """Samples whose request started within ``[start, end)`` (monotonic clock)."""
        with self._lock:
            return [s for s in self.samples if start <= s.started < end]


def interleaved_p99(servers: dict[str, Web], pick: Callable[[int], tuple[str, str, str]],
                    rounds: int, per_round: int
                    ) -> tuple[dict[str, list[float]], dict[str, Counter[str]]]:
    """Per-round p99 latency (ms) of each server, and how many requests of each kind it got;
    the servers take turns request by request from one client thread, so that whatever else
    loads the machine loads them alike. Which one goes first alternates, because the second of
    a pair runs while the first one's after-response work still holds a core."""
    from tests.faults.conftest import percentile

    p99s: dict[str, list[float]] = {name: [] for name in servers}
    kinds: dict[str, Counter[str]] = {name: Counter() for name in servers}
    counter = itertools.count()
    order = list(servers.items())
    for _ in range(rounds):
        latencies: dict[str, list[float]] = {name: [] for name in servers}
        for turn in range(per_round):
            for name, server in order if turn % 2 else order[::-1]:
                kind, path, client = pick(next(counter))
                kinds[name][kind] += 1
                response = server.get(path, headers=forwarded(client), timeout=10)
                assert response.status < 500, (name, response.status, response.body[:200])
                latencies[name].append(response.elapsed * 1000)
        for name, samples in latencies.items():
            p99s[name].append(percentile(samples, 99))
    return p99s, kinds


def p99_ratio(servers: dict[str, Web], pick: Callable[[int], tuple[str, str, str]],
              bound: float, rounds: int, per_round: int, batches: int = 3,
              ) -> tuple[float, dict[str, list[float]], dict[str, Counter[str]]]:
    """The median per-round p99 of ``servers["faulty"]`` over that of ``servers["normal"]``,
    with the per-round p99s and request kinds behind it.

    Sequential sampling: when a batch of ``rounds`` leaves the ratio above ``bound``, another
    batch is measured and the ratio is taken again over every round so far, up to ``batches``.
    The failing batch stays in the pool, so a twin that is really slower stays above the bound,
    while a few scheduler stalls on a loaded machine (each moves a 400-sample p99 by itself)
    are outvoted by the rounds around them."""
    from tests.faults.conftest import median

    p99s: dict[str, list[float]] = {name: [] for name in servers}
    kinds: dict[str, Counter[str]] = {name: Counter() for name in servers}
    for _ in range(batches):
        more_p99s, more_kinds = interleaved_p99(servers, pick, rounds, per_round)
        for name in servers:
            p99s[name] += more_p99s[name]
            kinds[name] += more_kinds[name]
        ratio = median(p99s["faulty"]) / median(p99s["normal"])
        if ratio <= bound:
            break
    return ratio, p99s, kinds


def mixed(n: int) -> tuple[str, str, str]:
    """Every third request an attack, the rest benign; each from a new client."""
    client = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return ("attack", SQLI, client) if n % 3 == 0 else ("benign", BENIGN, client)
