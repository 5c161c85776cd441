"""The whole loop as a user runs it: a web app publishing to a real Redis broker, a real Celery
worker analysing the events and banning through the shared store, the web app refusing the
banned client, and ``guard status --json`` reporting it all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from flask import Flask

from benchmarks._processes import stop_processes
from guard import FlaskAPIGuard, SecurityConfig
from guard.cli import main
from guard.extension import state_for

ROOT = Path(__file__).resolve().parent.parent
SEMANTIC_ONLY = '1")) rlike sleep(5)#'
BROKER_DB = 11


@pytest.fixture
def broker_url(redis_url: str) -> Iterator[str]:
    url = redis_url.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def worker(broker_url: str, redis_url: str, key_prefix: str, tmp_path: Path) -> Iterator[None]:
    log = tmp_path / "worker.log"
    env = {**os.environ, "GUARD_BROKER_URL": broker_url, "GUARD_REDIS_URL": redis_url,
           "GUARD_REDIS_PREFIX": key_prefix, "GUARD_AUTO_BAN_THRESHOLD": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "guard", "worker", "--pool=solo", "--concurrency=1",
         "-n", "e2e@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-l", "info", f"--logfile={log}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and " ready." in log.read_text()):
            assert process.poll() is None, "worker exited"
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.1)
        yield
    finally:
        stop_processes(process)


def test_worker_ban_refuses_the_client_and_status_reports_it(
    worker: None, broker_url: str, redis_url: str, key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(
        redis_url=redis_url, redis_prefix=key_prefix, broker_url=broker_url,
        auto_ban_threshold=2, inline_semantic=False, ban_cache_ttl=0.1,
        event_sample_rate=0.0, share_patterns=False))
    app.add_url_rule("/search", "search", lambda: "ok")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    assert not sus_patterns_handler.engine.detect(SEMANTIC_ONLY, semantic=False)["is_threat"]
    assert sus_patterns_handler.detect(SEMANTIC_ONLY)["is_threat"]
    for _ in range(3):
        assert client.get("/search", query_string={"q": SEMANTIC_ONLY}).status_code == 200
    assert state_for(app).publisher.flush(10)

    deadline = time.monotonic() + 30
    while client.get("/search?q=shoes").status_code != 403:
        assert time.monotonic() < deadline, "the worker's ban never reached the web app"
        time.sleep(0.2)
    ban = state_for(app).store.get_ban("203.0.113.77")
    assert ban is not None

    for key, value in {"GUARD_REDIS_URL": redis_url, "GUARD_REDIS_PREFIX": key_prefix,
                       "GUARD_BROKER_URL": broker_url}.items():
        monkeypatch.setenv(key, value)
    deadline = time.monotonic() + 10
    while True:
        result = CliRunner().invoke(main, ["status", "--json"])
        report = json.loads(result.output)
        if report["events"]["published"] >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert result.exit_code == 0, result.output
    assert report["broker"]["reachable"] is True
    assert report["broker"]["queues"]["guard.analysis"] == 0
    assert report["events"]["processed"] >= 3
    assert report["events"]["published"] >= 3 and report["events"]["dropped"] == 0
    assert report["bans"]["active"] >= 1
    assert report["incidents"]["active"] >= 1
