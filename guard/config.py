"""Guard's configuration: one dataclass holding every setting, validated at construction.

Field names follow the public spec (``enable_penetration_detection``, ``detection_*``,
``auto_ban_*``, ``passive_mode``, ``agent_*``). Anything invalid raises
:class:`guard.errors.ConfigurationError` when the object is built, so a bad deployment fails at
start-up rather than on the first request.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from guard.errors import ConfigurationError

CONFIG_PREFIX = "GUARD_"
"""``app.config`` keys are the field names, upper-cased, behind this prefix."""


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
    store_timeout: float = 0.05
    fail_mode: Literal["open", "closed"] = "open"
    ban_cache_ttl: float = 1.0

    trusted_proxies: int | list[str] = 0
    whitelist: list[str] = field(default_factory=list)
    ban_ipv6_prefix: int = 128

    exclude_paths: list[str] = field(default_factory=list)
    excluded_params: list[str] = field(default_factory=list)
    excluded_headers: list[str] = field(default_factory=list)
    max_request_size: int = 10 * 1024 * 1024
    inspect_max_parts: int = 512
    inspect_max_json_depth: int = 64
    inspect_upload_bytes: int = 4096
    inline_semantic: bool = True
    strike_window: int = 3600
    share_patterns: bool = True
    event_queue_size: int = 10_000
    event_sample_rate: float = 0.01
    dashboard_enabled: bool = False
    dashboard_path: str = "/_guard"
    dashboard_token: str | None = None

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
        _require(self.fail_mode in ("open", "closed"), "fail_mode must be 'open' or 'closed'")
        _require(0 < self.store_timeout <= 5, "store_timeout must be in (0, 5] seconds")
        _require(self.ban_cache_ttl >= 0, "ban_cache_ttl must be >= 0")
        _require(self.max_request_size >= 1024, "max_request_size must be >= 1024 bytes")
        _require(self.inspect_max_parts >= 1, "inspect_max_parts must be >= 1")
        _require(self.inspect_max_json_depth >= 1, "inspect_max_json_depth must be >= 1")
        _require(self.strike_window >= 1, "strike_window must be >= 1 second")
        _require(self.event_queue_size >= 1, "event_queue_size must be >= 1")
        _require(0.0 <= self.event_sample_rate <= 1.0, "event_sample_rate must be in [0, 1]")
        if self.dashboard_enabled:
            _require(
                bool(self.dashboard_token) and len(self.dashboard_token or "") >= 16,
                "dashboard_enabled=True requires a dashboard_token of at least 16 characters",
            )
        _require(
            self.dashboard_path.startswith("/") and self.dashboard_path != "/",
            "dashboard_path must start with '/' and not be '/'",
        )
        _require(8 <= self.ban_ipv6_prefix <= 128, "ban_ipv6_prefix must be within [8, 128]")
        if isinstance(self.trusted_proxies, bool) or not isinstance(self.trusted_proxies, int):
            for cidr in _as_list(self.trusted_proxies, "trusted_proxies"):
                _require_network(cidr, "trusted_proxies")
        else:
            _require(self.trusted_proxies >= 0, "trusted_proxies hop count must be >= 0")
        for cidr in _as_list(self.whitelist, "whitelist"):
            _require_network(cidr, "whitelist")
        for path in _as_list(self.exclude_paths, "exclude_paths"):
            _require(path.startswith("/"), f"exclude_paths entry {path!r} must start with '/'")
        for url, name in ((self.redis_url, "redis_url"), (self.broker_url, "broker_url")):
            if url is not None:
                _require(
                    url.split("://", 1)[0] in ("redis", "rediss", "unix", "memory"),
                    f"{name} must be a redis://, rediss://, unix:// or memory:// URL",
                )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], **overrides: Any) -> SecurityConfig:
        """Build from ``GUARD_*`` keys of ``mapping`` (e.g. ``app.config``); ``overrides`` win."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = CONFIG_PREFIX + f.name.upper()
            if key in mapping:
                values[f.name] = mapping[key]
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> SecurityConfig:
        """Return a validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)


def _as_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ConfigurationError(f"{name} must be a list of strings")
    return [str(v) for v in value]


def _require_network(value: str, name: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ConfigurationError(f"{name} entry {value!r} is not an IP address or CIDR") from exc
