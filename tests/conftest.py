"""Shared fixtures: a real Redis for the whole session, and per-test key isolation.

The Redis is the one named by ``GUARD_TEST_REDIS_URL``, or a private ``redis-server`` started on a
free loopback port for this session (and stopped at its end). With neither, the session stops
with a message that says what to install or set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks._processes import stop_processes

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpora" / "dev.jsonl"

_redis_process: subprocess.Popen[bytes] | None = None
_redis_dir: str | None = None


def read_status(sock: socket.socket, until: bytes = b"\r\n") -> tuple[int, bytes]:
    """Read an HTTP response from ``sock`` as far as ``until`` (or the peer closing): its
    status code and the bytes read."""
    data = b""
    while until not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis() -> str:
    global _redis_process, _redis_dir
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit(
            "No Redis for the tests: set GUARD_TEST_REDIS_URL=redis://host:port/db, or install "
            "redis-server (e.g. `apt-get install redis-server`) so the suite can start its own.",
            returncode=3,
        )
    port = free_port()
    _redis_dir = tempfile.mkdtemp(prefix="guard-test-redis-")
    _redis_process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", _redis_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    pytest.exit(f"redis-server did not start on port {port} within 10 s", returncode=3)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get("GUARD_TEST_REDIS_URL"):
        os.environ["GUARD_TEST_REDIS_URL"] = _start_redis()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _redis_process is not None:
        stop_processes(_redis_process, timeout=10)
    if _redis_dir is not None:
        shutil.rmtree(_redis_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the session's real Redis server."""
    return os.environ["GUARD_TEST_REDIS_URL"]


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix for one test; every key under it is deleted afterwards."""
    import redis

    prefix = f"guardtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
