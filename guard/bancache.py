"""The local ban cache and the store circuit breaker: what keeps ban checks off the network.

Every request asks "is this client banned?". A positive answer is cached until the ban expires;
a negative one for ``ttl`` seconds, so a ban made in another process is seen within that time
while a clean client costs at most one store round trip per ``ttl``. The cache is bounded.

When the store fails, the breaker opens: calls are skipped (no request waits on a dead Redis),
the failure is logged once, and one probe is let through per back-off interval until the store
answers again, which closes the breaker and logs the recovery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from guard.errors import StorageError

log = logging.getLogger("guard")
T = TypeVar("T")


class BanCache:
    """Bounded LRU of ``key -> (banned_until, checked_at)``."""

    def __init__(self, ttl: float = 1.0, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, key: str, now: float | None = None) -> bool | None:
        """True (banned), False (known clean, fresh), or None (unknown or stale)."""
        now = time.time() if now is None else now
        entry = self._entries.get(key)
        if entry is None:
            return None
        until, checked = entry
        if until > now:
            return True
        if now - checked < self.ttl:
            return False
        return None

    def remember(self, key: str, banned_until: float, now: float | None = None) -> None:
        """Record the store's answer: ``banned_until`` is 0 for a client that is not banned."""
        now = time.time() if now is None else now
        with self._lock:
            self._entries[key] = (banned_until, now)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        """Drop ``key`` (after an unban)."""
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class StoreUnavailable(StorageError):
    """The breaker is open: the store was not called."""


class Breaker:
    """Skips store calls while the store is down; probes it with exponential back-off."""

    def __init__(self, name: str, base_delay: float = 0.5, max_delay: float = 10.0) -> None:
        self.name = name
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._delay = base_delay
        self._lock = threading.Lock()
        self.failures = 0

    @property
    def is_open(self) -> bool:
        """True while the store is considered down."""
        return self._down_since is not None

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` unless the breaker is open and no probe is due; raise StorageError else."""
        now = time.monotonic()
        if self._down_since is not None:
            with self._lock:
                if now < self._next_probe:
                    raise StoreUnavailable(f"{self.name} unavailable (breaker open)")
                self._next_probe = now + self._delay
        try:
            result = fn()
        except StorageError as exc:
            self._failed(now, exc)
            raise
        if self._down_since is not None:
            self._recovered(now)
        return result

    def _failed(self, now: float, exc: Exception) -> None:
        with self._lock:
            self.failures += 1
            if self._down_since is None:
                self._down_since = now
                self._delay = self.base_delay
                log.error("%s unreachable, degrading as configured: %s", self.name, exc)
            else:
                self._delay = min(self._delay * 2, self.max_delay)
            self._next_probe = now + self._delay

    def _recovered(self, now: float) -> None:
        with self._lock:
            if self._down_since is None:
                return
            log.warning("%s reachable again after %.1f s", self.name, now - self._down_since)
            self._down_since = None
            self._delay = self.base_delay
