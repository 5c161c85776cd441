"""A small agent endpoint for the tests and the demo: receives batches, keeps them in memory.

``POST`` (any path) takes one msgpack batch as :mod:`pipelines.shipping` sends it. The API key
must match (``X-API-Key``, or ``Authorization: Bearer``), else 401. Events are kept once per
``event_id`` and metrics records once per ``metric_id``, so a batch delivered twice adds
nothing the second time. ``GET /stats`` answers the totals as JSON, ``GET /events?limit=N`` the
latest events. Everything is bounded: the body size, the events kept, the ids remembered.

Run it with ``python -m pipelines.agent_receiver --port 8765 --api-key KEY``; ``--port 0``
picks a free port. The first line printed is ``listening on http://HOST:PORT``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import signal
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipelines.shipping import API_KEY_HEADER, decode_batch

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
MAX_KEPT_EVENTS = 100_000
MAX_REMEMBERED_IDS = 1_000_000


class _SeenIds:
    """Ids seen, oldest forgotten first beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, item: str) -> bool:
        """True when ``item`` is new."""
        if item in self._ids:
            return False
        self._ids[item] = None
        if len(self._ids) > self.limit:
            self._ids.popitem(last=False)
        return True


class AgentInbox:
    """What the receiver has accepted: deduplicated events and metrics, and totals."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT_EVENTS)
        self.metrics: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT_EVENTS)
        self.totals = {
            "batches": 0, "events": 0, "metrics": 0, "duplicates": 0, "rejected": 0,
            "bad_requests": 0,
        }
        self._event_ids = _SeenIds(MAX_REMEMBERED_IDS)
        self._metric_ids = _SeenIds(MAX_REMEMBERED_IDS)
        self._lock = threading.Lock()

    def authorised(self, presented: str) -> bool:
        """True when ``presented`` is the API key (compared in constant time)."""
        return hmac.compare_digest(presented.encode(), self.api_key.encode())

    def count(self, name: str) -> None:
        """Bump one total."""
        with self._lock:
            self.totals[name] += 1

    def accept(self, body: bytes) -> dict[str, int]:
        """Store one batch; ``ValueError`` when it is not one."""
        batch = decode_batch(body)
        accepted = duplicates = 0
        with self._lock:
            self.totals["batches"] += 1
            for kind, seen, kept, id_field in (
                ("events", self._event_ids, self.events, "event_id"),
                ("metrics", self._metric_ids, self.metrics, "metric_id"),
            ):
                for record in batch[kind]:
                    if not isinstance(record, dict) or not isinstance(record.get(id_field), str):
                        continue
                    if seen.add(record[id_field]):
                        kept.append(record)
                        self.totals[kind] += 1
                        accepted += 1
                    else:
                        self.totals["duplicates"] += 1
                        duplicates += 1
        return {"accepted": accepted, "duplicates": duplicates}

    def snapshot(self) -> dict[str, int]:
        """The totals now."""
        with self._lock:
            return dict(self.totals)

    def latest(self, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` latest events."""
        with self._lock:
            return list(self.events)[-limit:] if limit > 0 else []


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        inbox = self.server.inbox
        if not inbox.authorised(self._presented_key()):
            inbox.count("rejected")
            self._answer(401, {"error": "invalid API key"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            inbox.count("bad_requests")
            self._answer(413 if length > MAX_BODY else 400, {"error": "bad body length"})
            return
        try:
            result = inbox.accept(self.rfile.read(length))
        except ValueError as exc:
            inbox.count("bad_requests")
            self._answer(400, {"error": str(exc)[:200]})
            return
        self._answer(200, result)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        inbox = self.server.inbox
        if parts.path.endswith("/stats"):
            self._answer(200, inbox.snapshot())
        elif parts.path.endswith("/events"):
            limit = parse_qs(parts.query).get("limit", ["100"])[0]
            self._answer(200, {"events": inbox.latest(int(limit) if limit.isdigit() else 100)})
        else:
            self._answer(404, {"error": "not found"})

    def _presented_key(self) -> str:
        key = self.headers.get(API_KEY_HEADER)
        if key:
            return key
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return token if scheme.lower() == "bearer" else ""

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("agent receiver: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], inbox: AgentInbox) -> None:
        super().__init__(address, _Handler)
        self.inbox = inbox


class AgentReceiver:
    """The receiver, served on a background thread: ``start()``, ``url``, ``stop()``."""

    def __init__(self, api_key: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.inbox = AgentInbox(api_key)
        self._server = _Server((host, port), self.inbox)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="guard-agent-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> AgentReceiver:
        """Serve on the background thread."""
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` (or SIGTERM in ``main``)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.agent_receiver", description="Guard's demo agent endpoint."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("GUARD_AGENT_API_KEY"),
        help="key senders must present (default: $GUARD_AGENT_API_KEY)",
    )
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("an API key is required: --api-key or $GUARD_AGENT_API_KEY")
    receiver = AgentReceiver(args.api_key, args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=receiver.stop).start())
    sys.stdout.write(f"listening on {receiver.url}\n")
    sys.stdout.flush()
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
