"""Operator patterns shared by every process through Redis.

The shared set lives in one hash (``{prefix}patterns:set``) next to a version counter
(``{prefix}patterns:version``). A change writes both in one transaction and then publishes the
new version on ``{prefix}patterns``. Every process listens on that channel and, because pub/sub
drops messages whenever a connection blips, also reads the version on a timer; either way a
process that sees a newer version reloads the whole set and converges on it. So a change made
in one process is in force everywhere within ``interval`` seconds even if every message is lost.

The set is bounded (:data:`MAX_SHARED_PATTERNS`) rather than expiring: patterns are
configuration, and losing one to a TTL would silently unprotect every process.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import redis

from guard import forksafe
from guard.engine.detector import DetectionEngine
from guard.errors import PatternError, StorageError

log = logging.getLogger("guard")
MAX_SHARED_PATTERNS = 1000


class PatternSync:
    """Keeps one engine's operator patterns equal to the shared set."""

    def __init__(
        self,
        engine: DetectionEngine,
        redis_url: str,
        prefix: str = "guard:",
        interval: float = 0.5,
        timeout: float = 0.5,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self._client = redis.Redis.from_url(
            redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._set_key = f"{prefix}patterns:set"
        self._version_key = f"{prefix}patterns:version"
        self._channel = f"{prefix}patterns"
        self.version = -1
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ writing
    def add(self, pattern: str, custom: bool = True) -> int:
        """Validate, apply locally, then share ``pattern``; returns the new shared version."""
        self.engine.add_pattern(pattern, custom=custom)
        field = _field(pattern, custom)
        try:
            if self._client.hlen(self._set_key) >= MAX_SHARED_PATTERNS and not (
                self._client.hexists(self._set_key, field)
            ):
                raise PatternError(f"shared pattern set is full ({MAX_SHARED_PATTERNS})")
            return self._write(lambda pipe: pipe.hset(self._set_key, field, "1"))
        except redis.RedisError as exc:
            raise StorageError(f"could not share pattern: {exc}") from exc

    def remove(self, pattern: str, custom: bool = True) -> int:
        """Remove locally and from the shared set; returns the new shared version."""
        self.engine.remove_pattern(pattern, custom=custom)
        try:
            return self._write(lambda pipe: pipe.hdel(self._set_key, _field(pattern, custom)))
        except redis.RedisError as exc:
            raise StorageError(f"could not unshare pattern: {exc}") from exc

    def _write(self, change: Any) -> int:
        with self._client.pipeline(transaction=True) as pipe:
            change(pipe)
            pipe.incr(self._version_key)
            version = int(pipe.execute()[-1])
        self._client.publish(self._channel, str(version))
        return version

    # ------------------------------------------------------------------ reading
    def start(self) -> PatternSync:
        """Load the shared set now and keep following it in background threads."""
        self.refresh()
        self._start_threads()
        forksafe.on_fork(self._start_threads)
        return self

    def _start_threads(self) -> None:
        if self._stop.is_set():
            return
        # Also the child's side of a fork, where the parent's threads may have held the lock.
        self._lock = threading.Lock()
        self._threads = []
        for target, name in ((self._listen, "guard-pattern-listen"),
                             (self._poll, "guard-pattern-poll")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop following the shared set."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._client.close()

    def refresh(self) -> bool:
        """Reload when the shared version moved; True when the local set changed."""
        try:
            version = int(self._client.get(self._version_key) or 0)
            if version == self.version:
                return False
            shared = self._client.hgetall(self._set_key)
        except redis.RedisError as exc:
            log.debug("pattern sync: shared set unreachable: %s", exc)
            return False
        with self._lock:
            changed = self._converge({_text(k) for k in shared})
            self.version = version
        return changed

    def _converge(self, fields: set[str]) -> bool:
        wanted = {item for item in map(_parse_field, fields) if item is not None}
        local = {(e.regex, e.custom) for e in self.engine.pattern_entries() if e.user_added}
        changed = False
        for pattern, custom in local - wanted:
            changed |= self.engine.remove_pattern(pattern, custom=custom)
        for item in wanted - local:
            try:
                self.engine.add_pattern(item[0], custom=item[1])
                changed = True
            except PatternError as exc:
                log.warning("pattern sync: shared pattern rejected locally: %s", exc)
        return changed

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self._channel)
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=self.interval) is not None:
                        self.refresh()
            except redis.RedisError:
                self._stop.wait(self.interval)

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _field(pattern: str, custom: bool) -> str:
    return json.dumps([pattern, bool(custom)], ensure_ascii=False)


def _parse_field(field: str) -> tuple[str, bool] | None:
    try:
        pattern, custom = json.loads(field)
    except (ValueError, TypeError):
        return None
    return (pattern, bool(custom)) if isinstance(pattern, str) else None
