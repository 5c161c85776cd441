"""A bounded memory of values already screened clean.

Real traffic repeats itself: every browser sends the same handful of ``User-Agent``, ``Accept``
and ``Host`` values, cookie and parameter names recur on every request, and JSON APIs resend the
same keys and enum values. A verdict is a pure function of the value, where it was found, whether
the model reads it, the pattern set and the settings, so a value that was clean once is clean
again, and remembering it saves the scan.

Only clean verdicts are remembered: an attack is always screened in full (its event needs the
whole result, and attacks are the rare case). The memory belongs to one pattern set and one set
of settings (:class:`guard.engine.detector.DetectionEngine` starts a new one whenever either
changes), so a new pattern applies to the very next request. Nothing is remembered while a
backtracking custom pattern is installed, whose verdict can depend on a timeout.

The memory is two generations of at most :data:`CAPACITY` entries each, for short values only
(:data:`MAX_CHARS`): a lookup checks the young generation, then the old one, and promotes what
it finds there; when the young generation is full it becomes the old one and the previous old
one is dropped. That keeps the values in use without any per-lookup bookkeeping or lock, and
bounds memory however many distinct values an attacker sends: flooding it only evicts, which
costs a scan, never a wrong verdict.
"""

from __future__ import annotations

from collections.abc import Hashable

CAPACITY = 4096
"""Entries per generation."""

MAX_CHARS = 256
"""Longer values are not remembered: they rarely repeat, and they would make the bound loose.
Nor are values that are not ASCII (``str.isascii`` is a flag lookup): one character of those can
take four bytes, which would make the bound four times looser."""

RAW_CAPACITY = 1024
RAW_MAX_CHARS = 2048
"""Bounds of the memory of whole raw request components (a query string, a Cookie header)."""


def rememberable(text: str, max_chars: int = MAX_CHARS) -> bool:
    """Whether a clean ``text`` may be remembered: short and ASCII (see :data:`MAX_CHARS`)."""
    return len(text) <= max_chars and text.isascii()


class CleanMemo:
    """Keys of values screened clean; thread-safe under the GIL without a lock (a race loses
    at most an entry, which costs one more scan)."""

    __slots__ = ("_capacity", "_old", "_young")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._young: dict[Hashable, None] = {}
        self._old: dict[Hashable, None] = {}

    def __contains__(self, key: Hashable) -> bool:
        if key in self._young:
            return True
        if key in self._old:
            self.add(key)
            return True
        return False

    def add(self, key: Hashable) -> None:
        """Remember ``key`` as clean."""
        young = self._young
        young[key] = None
        if len(young) >= self._capacity:
            self._old, self._young = young, {}

    def unseen(self, keys: dict[str, None]) -> list[str]:
        """The ``keys`` not remembered, with set operations at C speed: a JSON body's hundred
        distinct lines are checked in a few microseconds."""
        # set.difference(dict) walks the set and probes the dict, so it costs the size of
        # ``keys``; a view's ``keys() - other`` walks ``other``, a whole generation.
        rest = set(keys).difference(self._young)
        if not rest:
            return []
        fresh = rest.difference(self._old)
        if len(fresh) < len(rest):
            # One at a time, so that the young generation turns over at its bound even when
            # one body revives thousands of keys.
            for key in rest - fresh:
                self.add(key)
        return list(fresh)

    def __len__(self) -> int:
        return len(self._young) + len(self._old)


class Memos:
    """The memories of one pattern set: request values as ``(value, context, semantic)``, JSON
    body strings clear of every pattern (``lines``, for screening without the model) and clear
    of every pattern and the model (``strings``), and ``raw`` request components (a whole query
    string or Cookie header, with the model setting) every part of which was clean, which the
    extension then neither parses nor screens again."""

    __slots__ = ("lines", "raw", "strings", "values")

    def __init__(self) -> None:
        self.values = CleanMemo()
        self.lines = CleanMemo()
        self.strings = CleanMemo()
        self.raw = CleanMemo(RAW_CAPACITY)
