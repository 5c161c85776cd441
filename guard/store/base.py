"""The store protocol: bans, strike windows and small counters shared by every process.

A store is chosen by URL (see :func:`guard.store.create_store`). Every implementation has the
same semantics, which ``tests/test_store.py`` checks against each backend:

- a ban is keyed by its ban unit (an IP, or an IPv6 network such as ``2001:db8:1:2::/64``) and
  disappears by itself at ``until``;
- ``add_strike`` is one atomic step: it drops strikes older than ``window``, counts the new one
  unless its ``event_id`` was already counted for that key, and creates the ban at ``threshold``;
- every piece of state expires by itself, so nothing grows without bound.

Keys are bounded by :func:`guard.store._args.store_key` before use, so the ``key`` of a returned
:class:`BanRecord` is the bounded form (equal to the argument for every ordinary address).
Backend failures raise :class:`guard.errors.StorageError`; bad arguments raise ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BanRecord:
    """One active ban. Times are epoch seconds (the Redis server's clock on Redis)."""

    key: str
    until: float
    reason: str
    created: float
    source: str


@dataclass(frozen=True)
class StrikeResult:
    """What one ``add_strike`` call did."""

    strikes: int
    """Strikes inside the window after this call."""
    banned: bool
    """The key is banned after this call: this strike created the ban, or one already existed."""
    duplicate: bool
    """``event_id`` was already counted for this key, so nothing changed."""


class Store(Protocol):
    """Shared ban and strike state. Implementations are safe to use from many threads."""

    url: str
    """The store's URL, with any password replaced by ``***``."""

    def get_ban(self, key: str) -> BanRecord | None:
        """The active ban on ``key``, or None."""
        ...

    def ban(self, key: str, duration: float, reason: str, source: str = "manual") -> BanRecord:
        """Ban ``key`` for ``duration`` seconds and return the ban now in force.

        A ban already in force that lasts longer is kept (and returned) as it is, so a short
        automatic ban never cuts a long manual one; to shorten a ban, unban first.
        """
        ...

    def unban(self, key: str) -> bool:
        """Lift the ban on ``key``; True when there was one."""
        ...

    def list_bans(self, limit: int = 1000) -> list[BanRecord]:
        """Up to ``limit`` active bans, the soonest to expire first."""
        ...

    def add_strike(
        self,
        key: str,
        event_id: str,
        *,
        window: float,
        threshold: int,
        ban_duration: float,
        reason: str,
        can_ban: bool = True,
        source: str = "auto",
    ) -> StrikeResult:
        """Count one strike against ``key``, atomically and at most once per ``event_id``.

        Strikes older than ``window`` seconds no longer count. When ``threshold`` strikes are
        inside the window and ``can_ban`` is true, ``key`` is banned for ``ban_duration``
        seconds; with ``can_ban`` false (passive mode) strikes are counted but nobody is banned.
        A window holds at most 10,000 strikes (the oldest go first), so a larger threshold is
        never reached. Durations must be positive and are cut to ten years.
        """
        ...

    def strikes(self, key: str, window: float) -> int:
        """Strikes against ``key`` in the last ``window`` seconds (at most the strike window)."""
        ...

    def ping(self) -> bool:
        """True when the backend answers; never raises."""
        ...

    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""
        ...

    def incr_counter(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to counter ``name`` and return its new value.

        The counter expires ``ttl`` seconds (or the store's default counter TTL) after the
        increment that created it: a fixed window, not extended by later increments.
        """
        ...

    def get_counter(self, name: str) -> int:
        """The value of counter ``name``; 0 when it does not exist or has expired."""
        ...

    def once(self, token: str, ttl: float) -> bool:
        """True the first time ``token`` is seen within ``ttl`` seconds, False after that."""
        ...
