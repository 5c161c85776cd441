"""The extension through a Redis outage: a private redis-server is killed and restarted by pid."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from guard import FlaskAPIGuard, SecurityConfig
from guard.extension import state_for
from tests.conftest import free_port

ATTACK = "1' UNION SELECT password FROM users--"


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="guard-outage-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()
    shutil.rmtree(server.dir, ignore_errors=True)


def test_outage_degrades_and_recovers(
    redis_server: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(
        redis_url=f"redis://127.0.0.1:{redis_server.port}/0", auto_ban_threshold=2,
        share_patterns=False, event_sample_rate=0.0))
    app.add_url_rule("/q", "q", lambda: "ok")

    def client(ip: str):  # type: ignore[no-untyped-def]
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = ip
        return c

    banned = client("203.0.113.1")
    for _ in range(2):
        assert banned.get("/q", query_string={"q": ATTACK}).status_code == 403
    assert banned.get("/q?q=hello").status_code == 403

    redis_server.kill()
    honest, attacker = client("198.51.100.2"), client("203.0.113.3")
    with caplog.at_level(logging.ERROR, logger="guard"):
        for _ in range(30):
            started = time.perf_counter()
            assert honest.get("/q?q=hello").status_code == 200
            assert attacker.get("/q", query_string={"q": ATTACK}).status_code == 403
            assert banned.get("/q?q=hello").status_code == 403
            assert time.perf_counter() - started < 0.5
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1

    redis_server.start()
    late = client("203.0.113.4")
    deadline = time.monotonic() + 30
    while state_for(app).store.get_ban("203.0.113.4") is None:
        assert time.monotonic() < deadline, "strikes never reached the restarted store"
        late.get("/q", query_string={"q": ATTACK})
        time.sleep(0.2)
    # The breaker probes the store again within its back-off (at most 10 s).
    deadline = time.monotonic() + 15
    while late.get("/q?q=hello").status_code != 403:
        assert time.monotonic() < deadline, "the web app never saw the ban after recovery"
        time.sleep(0.2)
