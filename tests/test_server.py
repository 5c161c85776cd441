"""Real HTTP servers in subprocesses: size limits on the wire, headers, and two processes
sharing one Redis."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks._processes import stop_processes
from tests.conftest import free_port, read_status

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def serve() -> Iterator[Callable[..., int]]:
    processes: list[subprocess.Popen[str]] = []

    def start(**settings: object) -> int:
        port = free_port()
        env = dict(os.environ)
        env.update({f"GUARD_{k.upper()}": json.dumps(v) for k, v in settings.items()})
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.guarded_app", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        processes.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    yield start
    stop_processes(*processes, timeout=10)


def raw_request(port: int, payload: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_status(sock, b"\r\n\r\n")


def http(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return raw_request(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def test_declared_oversize_body_is_refused_unread(serve: Callable[..., int]) -> None:
    port = serve(max_request_size=1_000_000)
    started = time.perf_counter()
    status, _ = raw_request(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 10485760\r\nConnection: close\r\n\r\n",
    )
    assert status == 413
    assert time.perf_counter() - started < 5.0


def test_chunked_oversize_body_is_413(serve: Callable[..., int]) -> None:
    port = serve(max_request_size=100_000)
    chunk = b"a" * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(4)) + b"0\r\n\r\n"
    status, _ = raw_request(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body,
    )
    assert status == 413


def test_headers_over_the_wire(serve: Callable[..., int]) -> None:
    port = serve()
    status, data = http(port, "/", {"X-Request-ID": "trace-42"})
    assert status == 200 and b"X-Request-ID: trace-42" in data
    status, _ = http(port, "/", {"Referer": "http://x/?q=<script>alert(1)</script>"})
    assert status == 403
    status, data = http(port, "/", {"X-Request-ID": "bad id with spaces"})
    assert status == 200 and b"bad id" not in data


def test_ban_in_one_process_refuses_in_the_other(
    serve: Callable[..., int], redis_url: str, key_prefix: str
) -> None:
    settings = {"redis_url": redis_url, "redis_prefix": key_prefix, "auto_ban_threshold": 2,
                "trusted_proxies": 1, "ban_cache_ttl": 0.2}
    first, second = serve(**settings), serve(**settings)
    attacker = f"203.0.113.{uuid.uuid4().int % 200 + 1}"
    forwarded = {"X-Forwarded-For": attacker}
    assert http(second, "/?q=hello", forwarded)[0] == 200
    for _ in range(2):
        assert http(first, "/?q=1%27%20OR%20%271%27%3D%271", forwarded)[0] == 403
    deadline = time.monotonic() + 5
    while http(second, "/?q=hello", forwarded)[0] != 403:
        assert time.monotonic() < deadline, "ban never reached the second process"
        time.sleep(0.1)
    assert http(second, "/?q=hello", {"X-Forwarded-For": "198.51.100.1"})[0] == 200


def test_custom_pattern_reaches_a_running_web_process(
    serve: Callable[..., int], redis_url: str, key_prefix: str
) -> None:
    from guard.engine.detector import DetectionEngine
    from guard.pattern_sync import PatternSync

    port = serve(redis_url=redis_url, redis_prefix=key_prefix, auto_ban_threshold=100)
    assert http(port, "/?q=acme-internal-0042")[0] == 200
    sync = PatternSync(DetectionEngine(), redis_url, key_prefix).start()
    try:
        sync.add(r"acme-internal-\d{4}", custom=True)
        started = time.monotonic()
        while http(port, "/?q=acme-internal-0042")[0] != 403:
            assert time.monotonic() - started < 1.5, "pattern did not reach the web process"
            time.sleep(0.05)
        sync.remove(r"acme-internal-\d{4}", custom=True)
        while http(port, "/?q=acme-internal-0042")[0] != 200:
            assert time.monotonic() - started < 3.0, "removal did not reach the web process"
            time.sleep(0.05)
    finally:
        sync.stop()
