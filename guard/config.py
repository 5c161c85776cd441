"""Guard's configuration: one dataclass holding every setting, validated at construction.

Field names follow the public spec (``enable_penetration_detection``, ``detection_*``,
``auto_ban_*``, ``passive_mode``, ``agent_*``). Anything invalid raises
:class:`guard.errors.ConfigurationError` when the object is built, so a bad deployment fails at
start-up rather than on the first request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from guard.errors import ConfigurationError


@dataclass
class SecurityConfig:
    """Every Guard setting, with safe defaults.

    The detection settings (``detection_*``) steer the inline engine; the ban settings steer the
    strike counter; ``redis_url`` and ``broker_url`` switch from the embedded single-process
    default to shared state and Celery workers.
    """

    enable_penetration_detection: bool = True
    passive_mode: bool = False
    auto_ban_threshold: int = 5
    auto_ban_duration: int = 3600

    detection_compiler_timeout: float = 2.0
    detection_max_content_length: int = 10000
    detection_preserve_attack_patterns: bool = True
    detection_semantic_threshold: float = 0.7
    detection_anomaly_threshold: float = 3.0
    detection_slow_pattern_threshold: float = 0.1
    detection_monitor_history_size: int = 1000
    detection_max_tracked_patterns: int = 1000

    enable_agent: bool = False
    agent_api_key: str | None = None
    agent_endpoint: str = "http://127.0.0.1:8765/api/v1/events"
    agent_enable_events: bool = True
    agent_enable_metrics: bool = True

    redis_url: str | None = None
    redis_prefix: str = "guard:"
    broker_url: str | None = None

    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigurationError` naming the first invalid setting."""
        _require(self.auto_ban_threshold >= 1, "auto_ban_threshold must be >= 1")
        _require(self.auto_ban_duration >= 1, "auto_ban_duration must be >= 1 second")
        _require(
            0 < self.detection_compiler_timeout <= 60,
            "detection_compiler_timeout must be in (0, 60] seconds",
        )
        _require(
            self.detection_max_content_length >= 64,
            "detection_max_content_length must be >= 64 characters",
        )
        _require(
            0.0 <= self.detection_semantic_threshold <= 1.0,
            "detection_semantic_threshold must be within [0.0, 1.0]",
        )
        _require(self.detection_anomaly_threshold > 0, "detection_anomaly_threshold must be > 0")
        _require(
            self.detection_slow_pattern_threshold > 0,
            "detection_slow_pattern_threshold must be > 0",
        )
        _require(
            self.detection_monitor_history_size >= 10,
            "detection_monitor_history_size must be >= 10",
        )
        _require(
            self.detection_max_tracked_patterns >= 1,
            "detection_max_tracked_patterns must be >= 1",
        )
        if self.enable_agent:
            _require(bool(self.agent_api_key), "enable_agent=True requires agent_api_key")

    def replace(self, **changes: Any) -> SecurityConfig:
        """Return a validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)
