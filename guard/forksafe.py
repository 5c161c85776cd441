"""Background threads that come back after a fork.

gunicorn with ``preload_app`` (like any fork-based server or pool) builds the app, and so
Guard's threads, in a parent process; a fork copies only the thread that called it, so each
child would hold a publish queue nobody drains and counters nobody flushes. Work registered here
runs again in every forked child, right after the fork.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_after_fork: list[Callable[[], None]] = []


def on_fork(restart: Callable[[], None]) -> None:
    """Call ``restart`` in every child forked from now on."""
    _after_fork.append(restart)


def start_daemon(name: str, target: Callable[..., Any], *args: Any) -> None:
    """Run ``target(*args)`` in a daemon thread now, and again in every forked child."""

    def start() -> None:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()

    start()
    on_fork(start)


def _run_after_fork() -> None:
    for restart in list(_after_fork):
        try:
            restart()
        except Exception:
            log.exception("restarting %s after fork failed", getattr(restart, "__qualname__", "?"))


os.register_at_fork(after_in_child=_run_after_fork)
