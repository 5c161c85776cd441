"""Per-pattern performance monitoring with bounded memory.

The hot path pays for one clock read around the whole database scan, plus one per confirmation
and per custom backtracking pattern (those are the parts whose cost differs by pattern). Each
tracked pattern keeps a bounded ring of recent durations; the set of tracked patterns is itself
bounded, evicting the least recently seen.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

DATABASE_KEY = "__database__"
SCAN_SAMPLE_EVERY = 16
PENDING_LIMIT = 256
"""Scans with hits whose match credits may wait before they are added (see ``record_scan``)."""


@dataclass
class PatternStats:
    """Counters and a bounded timing history for one pattern."""

    history: deque[float]
    evaluations: int = 0
    matches: int = 0
    timeouts: int = 0
    total_time: float = 0.0
    last_time: float = 0.0
    anomalies: int = 0
    window_sum: float = 0.0
    window_sumsq: float = 0.0

    def push(self, duration: float) -> None:
        """Append to the ring, keeping its running sums in O(1)."""
        if self.history.maxlen is not None and len(self.history) == self.history.maxlen:
            oldest = self.history[0]
            self.window_sum -= oldest
            self.window_sumsq -= oldest * oldest
        self.history.append(duration)
        self.window_sum += duration
        self.window_sumsq += duration * duration

    def mean_std(self) -> tuple[float, float]:
        """Mean and population standard deviation of the durations in the ring."""
        n = len(self.history)
        if n == 0:
            return 0.0, 0.0
        mean = self.window_sum / n
        return mean, math.sqrt(max(0.0, self.window_sumsq / n - mean * mean))


@dataclass
class PerformanceMonitor:
    """Tracks match counts, durations, timeouts and timing anomalies per pattern."""

    slow_threshold: float = 0.1
    anomaly_threshold: float = 3.0
    history_size: int = 1000
    max_tracked: int = 1000
    _stats: OrderedDict[str, PatternStats] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _scans: int = 0
    _scan_time: float = 0.0
    _sampled: int = 0
    _checks: int = 0
    _pending: list[list[str]] = field(default_factory=list)
    """Match credits not yet added to their patterns (see :meth:`record_scan`)."""
    _check_counts: dict[str, list[int]] = field(default_factory=dict)
    """Confirmations (evaluations, matches) not yet added to their patterns."""

    def configure(
        self,
        slow_threshold: float,
        anomaly_threshold: float,
        history_size: int,
        max_tracked: int,
    ) -> None:
        """Apply new limits; existing histories are trimmed to the new size."""
        with self._lock:
            self.slow_threshold = slow_threshold
            self.anomaly_threshold = anomaly_threshold
            self.max_tracked = max_tracked
            if history_size != self.history_size:
                self.history_size = history_size
                for stats in self._stats.values():
                    stats.history = deque(stats.history, maxlen=history_size)
                    stats.window_sum = sum(stats.history)
                    stats.window_sumsq = sum(x * x for x in stats.history)
            self._evict()

    def record(
        self, key: str, duration: float, matched: bool = False, timed_out: bool = False
    ) -> None:
        """Record one evaluation of ``key`` taking ``duration`` seconds."""
        with self._lock:
            self._observe(self._tracked(key), duration, matched, timed_out)

    def record_check(self, key: str, duration: float, matched: bool) -> None:
        """Record one confirmation of ``key``'s match: every one is counted, and one in
        :data:`SCAN_SAMPLE_EVERY` goes into the timing ring (and its anomaly test)."""
        self._checks += 1
        if self._checks % SCAN_SAMPLE_EVERY == 0:
            self.record(key, duration, matched)
            return
        with self._lock:
            # Counted aside, like match credits, and added to the pattern's figures in batches.
            counts = self._check_counts.get(key)
            if counts is None:
                counts = self._check_counts[key] = [0, 0]
            counts[0] += 1
            counts[1] += matched

    def record_sampled(self, key: str, duration: float) -> None:
        """Like :meth:`record`, for a hot-path step: one call in :data:`SCAN_SAMPLE_EVERY`."""
        self._sampled += 1
        if self._sampled % SCAN_SAMPLE_EVERY == 0:
            self.record(key, duration)

    def record_scan(self, duration: float, matched_keys: list[str]) -> None:
        """Record one whole-database scan and credit a match to each pattern that hit.

        Totals and match counts are kept for every scan; the timing ring (and its anomaly
        test) takes one scan in :data:`SCAN_SAMPLE_EVERY`, which keeps monitoring to a few
        percent of a scan.
        """
        self._scans += 1
        self._scan_time += duration
        sampled = self._scans % SCAN_SAMPLE_EVERY == 0
        if not matched_keys and not sampled:
            return
        with self._lock:
            # Crediting each pattern at once costs a dictionary reordering per hit; the credits
            # wait in a list instead and are added in batches, and before any report.
            if matched_keys:
                self._pending.append(matched_keys)
                if len(self._pending) >= PENDING_LIMIT:
                    self._credit_pending()
            if sampled:
                self._observe(self._tracked(DATABASE_KEY), duration, bool(matched_keys), False)

    def _credit_pending(self) -> None:
        pending, self._pending = self._pending, []
        for keys in pending:
            for key in keys:
                self._tracked(key).matches += 1
        checks, self._check_counts = self._check_counts, {}
        for key, (evaluations, matches) in checks.items():
            stats = self._tracked(key)
            stats.evaluations += evaluations
            stats.matches += matches

    def _tracked(self, key: str) -> PatternStats:
        stats = self._stats.get(key)
        if stats is None:
            stats = PatternStats(history=deque(maxlen=self.history_size))
            self._stats[key] = stats
            self._evict()
        else:
            self._stats.move_to_end(key)
        return stats

    def _observe(
        self, stats: PatternStats, duration: float, matched: bool, timed_out: bool
    ) -> None:
        mean, std = stats.mean_std()
        if len(stats.history) >= 30 and std > 0 and (duration - mean) / std > (
            self.anomaly_threshold
        ):
            stats.anomalies += 1
        stats.push(duration)
        stats.evaluations += 1
        stats.total_time += duration
        stats.last_time = duration
        stats.matches += matched
        stats.timeouts += timed_out

    def _evict(self) -> None:
        while len(self._stats) > self.max_tracked:
            self._stats.popitem(last=False)

    def stats(self) -> dict[str, Any]:
        """Return ``slow_patterns``, ``problematic_patterns`` and a ``summary``."""
        with self._lock:
            self._credit_pending()
            items = list(self._stats.items())
            scans, scan_time = self._scans, self._scan_time
        slow: list[dict[str, Any]] = []
        problematic: list[dict[str, Any]] = []
        for key, stats in items:
            mean, _std = stats.mean_std()
            entry = {
                "pattern": key,
                "evaluations": stats.evaluations,
                "matches": stats.matches,
                "timeouts": stats.timeouts,
                "avg_time": mean,
                "max_time": max(stats.history, default=0.0),
                "anomalies": stats.anomalies,
            }
            if mean > self.slow_threshold or stats.last_time > self.slow_threshold:
                slow.append(entry)
            if stats.timeouts or stats.anomalies:
                problematic.append(entry)
        slow.sort(key=lambda e: e["avg_time"], reverse=True)
        problematic.sort(key=lambda e: (e["timeouts"], e["anomalies"]), reverse=True)
        return {
            "slow_patterns": slow,
            "problematic_patterns": problematic,
            "summary": {
                "scans": scans,
                "avg_scan_time": scan_time / scans if scans else 0.0,
                "tracked_patterns": len(items),
                "total_matches": sum(s.matches for _, s in items if _ != DATABASE_KEY),
                "total_timeouts": sum(s.timeouts for _, s in items),
                "slow_threshold": self.slow_threshold,
                "anomaly_threshold": self.anomaly_threshold,
            },
        }

    def reset(self) -> None:
        """Forget every recorded figure."""
        with self._lock:
            self._stats.clear()
            self._pending.clear()
            self._check_counts.clear()
            self._scans = 0
            self._scan_time = 0.0
