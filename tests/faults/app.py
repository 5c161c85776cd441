"""The app the fault suite serves with gunicorn: ``gunicorn tests.faults.app:app``.

It is :func:`tests.servers.guarded_app.build_app` (settings from ``GUARD_*`` variables) plus
what the tests read from inside each web process:

* every response carries ``X-Pid``, so a test knows which web process answered;
* a request with ``X-Hold: SECONDS`` is held before Guard sees it, so that concurrent held
  requests land on different web processes (a busy sync worker accepts nothing);
* the store is wrapped to time each call, and ``X-Store-Wait-Ms`` says how long the request
  waited on it;
* ``GET /_faults/stats`` reports the process's RSS, Guard's counters and publisher statistics,
  and the longest store wait so far.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from flask import Flask, g, jsonify, request

from guard.extension import state_for
from tests.faults.proc import rss_kb
from tests.servers.guarded_app import build_app

LOG_FORMAT = "%(asctime)s pid=%(process)d %(levelname)s %(name)s: %(message)s"


class TimedStore:
    """The real store, with the time spent in each call added to the current request."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.longest = 0.0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                self._add(time.perf_counter() - started)

        return timed

    def _add(self, elapsed: float) -> None:
        try:
            g._faults_store_wait = g.get("_faults_store_wait", 0.0) + elapsed
        except RuntimeError:
            return
        with self._lock:
            self.longest = max(self.longest, g._faults_store_wait)


def create() -> Flask:
    """The guarded app with the suite's probes."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    flask_app = build_app()
    state = state_for(flask_app)
    timed = TimedStore(state.store)
    state.store = timed

    def hold() -> None:
        seconds = request.headers.get("X-Hold")
        if seconds:
            time.sleep(min(float(seconds), 5.0))

    flask_app.before_request_funcs.setdefault(None, []).insert(0, hold)

    @flask_app.after_request
    def mark(response: Any) -> Any:
        response.headers["X-Pid"] = str(os.getpid())
        wait = g.get("_faults_store_wait", 0.0)
        response.headers["X-Store-Wait-Ms"] = f"{wait * 1000:.3f}"
        return response

    @flask_app.route("/_faults/stats")
    def stats() -> Any:
        publisher = state.publisher
        return jsonify({
            "pid": os.getpid(),
            "rss_kb": rss_kb(os.getpid()),
            "counters": dict(state.counters),
            "store_wait_max_ms": timed.longest * 1000,
            "breaker_open": state.breaker.is_open,
            "ban_cache": len(state.bans),
            "queue": {"depth": publisher.depth, "maxsize": publisher.maxsize,
                      "max_depth": publisher.stats.max_depth,
                      "published": publisher.stats.published,
                      "dropped_full": publisher.stats.dropped_full,
                      "dropped_transport": publisher.stats.dropped_transport,
                      "delivered": publisher.stats.delivered,
                      "idle": publisher.flush(0.01)},
        })

    return flask_app


app = create()
