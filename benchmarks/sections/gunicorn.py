"""A real server: gunicorn with two sync workers serving the bare app and ours in turn, driven
over loopback by two client processes with keep-alive connections for a fixed time.

Both servers and the clients share the machine's cores, so the figure is a ratio taken under
the same contention, not an absolute capacity.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._processes import stop_processes
from benchmarks._report import Row
from benchmarks.sections._base import RunContext

SECTION = "gunicorn"
ROOT = Path(__file__).resolve().parents[2]
PATH = "/search?q=blue+running+shoes+size+10&page=2"
HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
           "Accept": "text/html", "Connection": "keep-alive"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(app: str) -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", f"benchmarks._apps:{app}()"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", PATH, headers=HEADERS)
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn serving {app} did not start")
            time.sleep(0.2)
        yield port
    finally:
        stop_processes(process)


def _drive(port: int, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    latencies: list[float] = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        connection.request("GET", PATH, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.close()
    out.put(latencies)


def _load(port: int, seconds: float, clients: int = 2) -> tuple[float, float, float]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    drivers = [multiprocessing.Process(target=_drive, args=(port, seconds, queue))
               for _ in range(clients)]
    for driver in drivers:
        driver.start()
    latencies = [x for _ in drivers for x in queue.get(timeout=seconds + 60)]
    for driver in drivers:
        driver.join(timeout=30)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / seconds, statistics.median(latencies) * 1000, p99 * 1000


def run(ctx: RunContext) -> list[Row]:
    """Requests/s and latency through gunicorn for bare Flask and ours."""
    seconds = 2.0 if ctx.quick else 10.0
    results = {}
    for name, factory in (("bare", "bare_app"), ("ours", "ours_app")):
        with _server(factory) as port:
            _load(port, 1.0)
            results[name] = _load(port, seconds)
    bare, ours = results["bare"], results["ours"]
    ctx.notes.append(
        f"gunicorn: 2 sync workers, 2 keep-alive client processes for {seconds:.0f} s per app, "
        f"all on {os.cpu_count()} cores; GET {PATH} with browser headers"
    )
    note = f"{ours[0] / bare[0]:.0%} of bare Flask's throughput"
    return [
        Row(SECTION, "GET through gunicorn", "requests/s", ours[0], None, baseline=bare[0],
            note=note),
        Row(SECTION, "GET through gunicorn", "p50 ms", ours[1], None, baseline=bare[1]),
        Row(SECTION, "GET through gunicorn", "p99 ms", ours[2], None, baseline=bare[2]),
    ]
