"""The deployment files: checked statically, and the Procfile run for real against local Redis."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jsonschema
import yaml

from guard.config import CONFIG_PREFIX, SecurityConfig
from tests.conftest import free_port
from workers.settings import config_from_env

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "ops"


def test_compose_file_matches_the_compose_spec_schema() -> None:
    compose = yaml.safe_load((OPS / "docker-compose.yml").read_text())
    schema = json.loads((OPS / "schema" / "compose_spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)
    services = compose["services"]
    assert {"redis", "web", "otel-collector"} <= set(services)
    assert sum(1 for name in services if name.startswith("worker")) == 2
    assert "gunicorn" in services["web"]["command"]


def test_collector_config_names_what_it_uses() -> None:
    config = yaml.safe_load((OPS / "otel-collector.yaml").read_text())
    assert "otlp" in config["receivers"] and "debug" in config["exporters"]
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert pipeline[kind], kind
            assert set(pipeline[kind]) <= set(config[kind]), (kind, pipeline[kind])


def _env_example() -> tuple[dict[str, str], str]:
    text = (OPS / ".env.example").read_text()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values, text


def test_env_example_lists_every_setting_with_its_default() -> None:
    values, text = _env_example()
    for field in dataclasses.fields(SecurityConfig):
        assert f"{CONFIG_PREFIX}{field.name.upper()}=" in text, field.name
    assert config_from_env(values) == SecurityConfig()


def test_procfile_checks_and_runs(redis_url: str, key_prefix: str) -> None:
    honcho = [sys.executable, "-m", "honcho"]
    checked = subprocess.run([*honcho, "check", "-f", "ops/Procfile"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    port = free_port()
    broker = redis_url.rsplit("/", 1)[0] + "/12"
    env = {**os.environ, "GUARD_WEB_BIND": f"127.0.0.1:{port}", "GUARD_REDIS_URL": redis_url,
           "GUARD_REDIS_PREFIX": key_prefix, "GUARD_BROKER_URL": broker,
           "GUARD_BROKER_KEY_PREFIX": f"{key_prefix}broker:",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen([*honcho, "start", "-f", "ops/Procfile", "-d", "."], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert process.poll() is None, "honcho exited"
                assert time.monotonic() < deadline, "web process did not come up"
                time.sleep(0.3)
        attack = f"http://127.0.0.1:{port}/?q=%3Cscript%3Ealert(1)%3C/script%3E"
        try:
            urllib.request.urlopen(attack, timeout=5)
            raise AssertionError("attack was not blocked")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate(timeout=10)
    assert "worker" in output and "web" in output
