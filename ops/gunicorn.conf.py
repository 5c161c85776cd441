"""gunicorn settings for Guard's web processes.

OpenTelemetry is initialised in ``post_fork``: exporters run background threads, and threads do
not survive a fork, so each worker builds its own providers after it is forked.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUARD_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUARD_WEB_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 10
accesslog = "-"


def post_fork(server: Any, worker: Any) -> None:
    """Give this worker its own tracer and meter providers (OTLP when an endpoint is set)."""
    from guard.telemetry import configure_from_env

    outcome = configure_from_env(os.environ, "guard-web", str(worker.pid))
    if outcome not in ("off", "otlp"):
        server.log.warning(outcome)
