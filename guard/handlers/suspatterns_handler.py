"""The spec's direct-use detection API: ``sus_patterns_handler``.

``sus_patterns_handler`` is the process-wide :class:`SusPatternsManager`. It wraps one
:class:`guard.engine.detector.DetectionEngine`, so patterns added through it are seen by the
Flask extension in the same process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from guard.config import SecurityConfig
from guard.engine.detector import DetectionEngine

if TYPE_CHECKING:
    from guard.pattern_sync import PatternSync


class SusPatternsManager:
    """Suspicious-pattern detection: ``detect()``, pattern management, stats and status."""

    def __init__(self, config: SecurityConfig | None = None) -> None:
        self._config = config
        self._engine: DetectionEngine | None = None
        self._lock = threading.Lock()
        self._sync: PatternSync | None = None
        self._store: Any = None

    def attach_store(self, store: Any) -> None:
        """Read the pipeline's shared figures from ``store`` in :meth:`get_performance_stats`."""
        self._store = store

    def share_patterns(self, redis_url: str, prefix: str = "guard:") -> PatternSync:
        """Share operator patterns with every process on ``redis_url`` (idempotent)."""
        engine = self.engine
        with self._lock:
            if self._sync is None:
                from guard.pattern_sync import PatternSync

                self._sync = PatternSync(engine, redis_url, prefix).start()
            return self._sync

    @property
    def engine(self) -> DetectionEngine:
        """The engine, built on first use so that importing Guard stays cheap."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = DetectionEngine(self._config)
        return self._engine

    def configure(self, config: SecurityConfig) -> None:
        """Apply the ``detection_*`` settings of ``config``."""
        self._config = config
        if self._engine is not None:
            self._engine.configure(config)

    def detect(
        self,
        content: Any,
        ip_address: str | None = None,
        context: str = "unknown",
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        """Screen ``content`` and return the verdict dictionary.

        Keys: ``is_threat``, ``threat_score`` (0..1), ``threats`` (each ``type`` "regex" with
        ``pattern``, or "semantic" with ``attack_type`` and ``probability``; both with ``class``
        and a bounded ``fragment``), ``context``, ``original_length``, ``processed_length``,
        ``truncated``, ``execution_time``, ``timeouts`` and ``correlation_id``.
        """
        return self.engine.detect(content, ip_address, context, correlation_id)

    def add_pattern(self, pattern: str, custom: bool = False) -> None:
        """Add a regex; raises ``ValueError`` naming the problem when it cannot compile.

        When patterns are shared (see :meth:`share_patterns`), every process gets it too.
        """
        if self._sync is not None:
            self._sync.add(pattern, custom=custom)
        else:
            self.engine.add_pattern(pattern, custom=custom)

    def remove_pattern(self, pattern: str, custom: bool = False) -> bool:
        """Remove a regex added earlier; returns False when it was not present."""
        present = pattern in (self.get_custom_patterns() if custom else self.get_default_patterns())
        if self._sync is not None:
            self._sync.remove(pattern, custom=custom)
            return present
        return self.engine.remove_pattern(pattern, custom=custom)

    def get_all_patterns(self) -> list[str]:
        """Every pattern in force: built-in and default ones first, then custom ones."""
        return self.engine.get_all_patterns()

    def get_default_patterns(self) -> list[str]:
        """The built-in patterns plus any added with ``custom=False``."""
        return self.engine.get_default_patterns()

    def get_custom_patterns(self) -> list[str]:
        """The patterns added with ``custom=True``."""
        return self.engine.get_custom_patterns()

    def get_performance_stats(self) -> dict[str, Any]:
        """``slow_patterns``, ``problematic_patterns`` and a ``summary`` of this process, plus
        ``shared``: the figures the pipeline keeps for every process (when a store is attached
        and reachable)."""
        stats = self.engine.get_performance_stats()
        if self._store is not None:
            try:
                from pipelines import shared_performance_stats

                stats["shared"] = shared_performance_stats(self._store, hours=1)
            except Exception as exc:
                stats["shared"] = {"error": type(exc).__name__}
        return stats

    def configure_semantic_threshold(self, threshold: float) -> None:
        """Set the semantic model's flagging threshold (0.0–1.0)."""
        self.engine.configure_semantic_threshold(threshold)

    def get_component_status(self) -> dict[str, bool]:
        """``compiler``, ``preprocessor``, ``semantic_analyzer``, ``performance_monitor``."""
        return self.engine.get_component_status()


sus_patterns_handler = SusPatternsManager()
"""The process-wide detection handler."""
