"""Process fixtures for the fault suite: private Redis servers, gunicorn, Celery workers.

Every process is started in its own session and stopped through its pid or process group, in
fixture teardown, whether the test passed or not. Each case hands its figures to ``report``;
they are printed together at the end of the run (``fault-injection figures``).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgpack
import pytest
import redis

from tests.conftest import free_port
from tests.test_store_outage import PrivateRedis
from tests.test_workers import Cluster
from workers.settings import ANALYSIS_QUEUE

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "ops" / "gunicorn.conf.py"
WEB_PROCESSES = 2
_FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every case's figures in one section at the end of the run."""
    if _FIGURES:
        terminalreporter.section("fault-injection figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def report(request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
           ) -> Callable[..., None]:
    """``report(name=value, ...)``: the case's measured figures, for the end-of-run summary."""
    def add(**figures: object) -> None:
        for name, value in figures.items():
            record_property(name, value)
        add_figures(request.node.name, **figures)

    return add


def add_figures(case: str, **figures: object) -> None:
    """Add ``case``'s figures to the end-of-run summary (for module-scoped reporting)."""
    _FIGURES.append(f"{case}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in figures.items()))


def _fmt(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def stop_process(process: subprocess.Popen[Any], sig: int = signal.SIGTERM,
                 timeout: float = 20.0) -> None:
    """Stop ``process`` and its process group by pid: ``sig``, then SIGKILL after ``timeout``."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)


class Redis(PrivateRedis):
    """A private redis-server that a case may kill, stop and restart; started in its own
    session so that signals reach it alone."""

    def __init__(self, *options: str) -> None:
        super().__init__()
        self.options = options

    def start(self) -> None:
        """Start (or restart) the server on its port and wait until it accepts connections."""
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.port)

    @property
    def url(self) -> str:
        """``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the server by pid."""
        assert self.process is not None
        self.process.send_signal(sig)

    def stop(self) -> None:
        """Stop the server for good (SIGTERM, then SIGKILL)."""
        if self.process is not None:
            stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


T = TypeVar("T")


def _factory(make: Callable[..., T], stop: Callable[[T], None],
             ready: Callable[[T], None] | None = None) -> Iterator[Callable[..., T]]:
    """A fixture body: yields ``build(*args)`` (``make(index, *args)``, then ``ready``), and
    calls ``stop`` on everything built once the test is over, failed or not."""
    made: list[T] = []

    def build(*args: Any, **kwargs: Any) -> T:
        item = make(len(made), *args, **kwargs)
        made.append(item)
        if ready is not None:
            ready(item)
        return item

    try:
        yield build
    finally:
        for item in made:
            stop(item)


@pytest.fixture
def private_redis() -> Iterator[Callable[..., Redis]]:
    """Factory of private Redis servers (``private_redis(*options)``), stopped at teardown."""
    yield from _factory(lambda _, *options: Redis(*options), Redis.stop, Redis.start)


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on the loopback ``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.05)


@dataclass
class Response:
    """One HTTP exchange as the client saw it."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    @property
    def pid(self) -> int:
        """The web process that answered."""
        return int(self.headers.get("x-pid", "0"))


def http_request(port: int, path: str = "/", *, method: str = "GET",
                 headers: dict[str, str] | None = None, body: bytes | None = None,
                 source: str = "127.0.0.1", timeout: float = 30.0) -> Response:
    """One request on a fresh connection from the loopback address ``source``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                    elapsed)


class Web:
    """A gunicorn master with ``WEB_PROCESSES`` sync workers serving ``tests.faults.app``."""

    def __init__(self, settings: dict[str, object], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        environ = {**os.environ, **env, "GUARD_WEB_BIND": f"127.0.0.1:{self.port}",
                   "GUARD_WEB_WORKERS": str(WEB_PROCESSES), "PYTHONUNBUFFERED": "1"}
        environ.update({f"GUARD_{k.upper()}": json.dumps(v) for k, v in settings.items()})
        self._log_file = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "tests.faults.app:app"],
            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=self._log_file,
            start_new_session=True)
        try:
            wait_for_port(self.port, timeout=60)
            self.pids = self._wait_for_workers()
        except BaseException:
            self.stop()
            raise

    def _wait_for_workers(self) -> set[int]:
        deadline = time.monotonic() + 60
        while True:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = {int(p) for p in children.read_text().split()}
            if len(pids) == WEB_PROCESSES and self.each_process("/pid", hold=0.3):
                return pids
            assert self.process.poll() is None, f"gunicorn exited: {self.log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "gunicorn workers did not start"
            time.sleep(0.2)

    def get(self, path: str = "/", **kwargs: Any) -> Response:
        """One request to this server (see :func:`http_request`)."""
        return http_request(self.port, path, **kwargs)

    def each_process(self, path: str, hold: float = 0.3, headers: dict[str, str] | None = None,
                     source: str = "127.0.0.1") -> dict[int, Response]:
        """Send ``path`` until every web process has answered it once; concurrent requests held
        for ``hold`` seconds each go to a different (idle) process."""
        from concurrent.futures import ThreadPoolExecutor

        answers: dict[int, Response] = {}
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(WEB_PROCESSES) as pool:
            while len(answers) < WEB_PROCESSES:
                assert time.monotonic() < deadline, "a web process never answered"
                batch = [pool.submit(self.get, path, headers={**(headers or {}),
                                                              "X-Hold": str(hold)},
                                     source=source) for _ in range(WEB_PROCESSES)]
                for future in batch:
                    response = future.result()
                    answers.setdefault(response.pid, response)
        return answers

    def stats(self) -> dict[int, dict[str, Any]]:
        """``/_faults/stats`` of every web process, by pid."""
        return {pid: json.loads(r.body) for pid, r in self.each_process("/_faults/stats").items()}

    def log_text(self) -> str:
        """Everything the web processes logged so far."""
        self._log_file.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop gunicorn and its workers by process group (SIGQUIT: gunicorn's quick
        shutdown, which does not wait for exporters retrying a dead endpoint)."""
        stop_process(self.process, signal.SIGQUIT)
        self._log_file.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Callable[..., Web]]:
    """Factory: ``web(env={...}, **settings)`` starts a gunicorn server with ``GUARD_*``
    settings; each is stopped at teardown."""
    def make(index: int, env: dict[str, str] | None = None, **settings: object) -> Web:
        return Web(settings, env or {}, tmp_path / f"web-{index}.log")

    yield from _factory(make, Web.stop)


def worker_env(broker_url: str, redis_url: str, key_prefix: str, **extra: str) -> dict[str, str]:
    """Environment for ``guard worker`` processes sharing a broker and a store."""
    return {**os.environ, "GUARD_BROKER_URL": broker_url, "GUARD_REDIS_URL": redis_url,
            "GUARD_REDIS_PREFIX": key_prefix, "GUARD_BROKER_VISIBILITY_TIMEOUT": "3",
            "GUARD_BROKER_RESTORE_INTERVAL": "1", **extra}


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Cluster]]:
    """Factory of worker clusters (see :class:`tests.test_workers.Cluster`), stopped at
    teardown."""
    def make(index: int, env: dict[str, str]) -> Cluster:
        logs = tmp_path / f"workers-{index}"
        logs.mkdir()
        return Cluster(env, logs)

    yield from _factory(make, Cluster.stop)


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def queued_batches(broker_url: str) -> dict[str, list[bytes]]:
    """Task id -> event payloads of every ``guard.analyze_batch`` task waiting on the broker."""
    client = redis.Redis.from_url(broker_url)
    try:
        messages = client.lrange(ANALYSIS_QUEUE, 0, -1)
    finally:
        client.close()
    batches = {}
    for raw in messages:
        message = json.loads(raw)
        args, _kwargs, _embed = msgpack.unpackb(base64.b64decode(message["body"]))
        batches[message["headers"]["id"]] = list(args[0])
    return batches
