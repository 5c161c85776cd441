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
    """Screen requests at all. False keeps ban enforcement (a banned client is still refused) but
    inspects nothing.
    """
    passive_mode: bool = False
    """Detect and log (`[PASSIVE MODE] …` lines), count strikes, but never block or ban. Start
    here, then switch off.
    """
    auto_ban_threshold: int = 5
    """Strikes within `strike_window` that ban a client. Each blocked request, and each attack the
    pipeline's model finds in an allowed one, is one strike.
    """
    auto_ban_duration: int = 3600
    """Seconds an automatic ban lasts."""

    detection_compiler_timeout: float = 2.0
    """Seconds an operator pattern that needs backtracking may run on one value before the match is
    stopped; a timeout counts as a hit. The built-in rules are linear-time and never need it.
    """
    detection_max_content_length: int = 10000
    """Characters of one value the engine inspects; a longer value is cut (see
    `detection_preserve_attack_patterns`) and its result says `truncated: true`.
    """
    detection_preserve_attack_patterns: bool = True
    """When cutting a long value, keep the windows around every rule match and encoded run instead
    of only the head, so padding cannot push a payload out of view.
    """
    detection_semantic_threshold: float = 0.7
    """Probability at or above which the semantic model alone makes a value a threat. Higher means
    fewer false positives and more misses.
    """
    detection_anomaly_threshold: float = 3.0
    """z-score at or above which an anomaly is flagged: a pattern's timing in the engine, or in the
    pipeline a client's or rule's count for the minute against everyone else's.
    """
    detection_slow_pattern_threshold: float = 0.1
    """Seconds of mean evaluation time above which a pattern is reported as slow by
    `get_performance_stats()`.
    """
    detection_monitor_history_size: int = 1000
    """Timings kept per pattern for the performance statistics (mean, deviation, anomalies)."""
    detection_max_tracked_patterns: int = 1000
    """Patterns the performance monitor keeps statistics for; the least recently used are evicted
    beyond this.
    """

    enable_agent: bool = False
    """Ship detection events and metrics to the agent endpoint, in batches, from the pipeline
    (never from the request). Requires `agent_api_key`.
    """
    agent_api_key: str | None = None
    """Key sent to the agent endpoint. Required when `enable_agent` is on."""
    agent_endpoint: str = "http://127.0.0.1:8765/api/v1/events"
    """URL the pipeline POSTs event and metric batches to."""
    agent_enable_events: bool = True
    """With the agent on, ship one record per detection event."""
    agent_enable_metrics: bool = True
    """With the agent on, ship the pipeline's counters with each batch."""

    redis_url: str | None = None
    """Store for bans, strikes, counters, incidents and shared patterns (`redis://`, `rediss://`,
    `unix://`). None, or `memory://`, keeps them in this process only.
    """
    redis_prefix: str = "guard:"
    """Prefix of every key Guard writes in the store, so several apps can share one Redis."""
    broker_url: str | None = None
    """Celery broker (Redis) the web processes publish events to for the workers. None runs the
    pipeline on a background thread in each web process.
    """
    store_timeout: float = 0.05
    """Socket timeout, in seconds, of every store call from a web process. After a failure the
    circuit breaker skips the store until a probe succeeds.
    """
    fail_mode: Literal["open", "closed"] = "open"
    """What requests get while the store is unreachable: `open` screens them and enforces the bans
    this process already knows; `closed` refuses them with 503.
    """
    ban_cache_ttl: float = 1.0
    """Seconds a web process trusts a "not banned" answer before asking the store again, so a ban
    made elsewhere takes effect here within about this long.
    """

    trusted_proxies: int | list[str] = 0
    """How far to believe `X-Forwarded-For`: 0 ignores it; a hop count n takes the n-th address
    from the right; a list of CIDRs walks from the socket peer past trusted addresses.
    """
    whitelist: list[str] = field(default_factory=list)
    """Addresses or CIDRs that are screened (and blocked) as usual but never struck or banned."""
    ban_ipv6_prefix: int = 128
    """Prefix length an IPv6 ban covers: 128 bans one address, 64 the client's whole /64. IPv4 bans
    are always one address.
    """

    exclude_paths: list[str] = field(default_factory=list)
    """Path prefixes that are not screened at all (health checks, trusted static files). Each must
    start with `/`.
    """
    excluded_params: list[str] = field(default_factory=list)
    """Query, form and JSON field names whose values are not screened."""
    excluded_headers: list[str] = field(default_factory=list)
    """Header names (any case) whose values are not screened."""
    max_request_size: int = 10 * 1024 * 1024
    """Largest request body in bytes; a larger one gets 413 without being read. A route can set its
    own with `@guard.route(max_request_size=…)`.
    """
    inspect_max_parts: int = 512
    """Values one request is taken apart into; whatever is left over is screened together as one
    raw value.
    """
    inspect_max_json_depth: int = 64
    """Nesting levels of a JSON body walked value by value; deeper content is screened as raw text.
    """
    inspect_upload_bytes: int = 4096
    """Bytes read from the start of each uploaded file and screened along with its file name."""
    inline_semantic: bool = True
    """Run the semantic model in the request as well as the patterns. False leaves it to the
    pipeline, which strikes the client for attacks it finds later.
    """
    strike_window: int = 3600
    """Seconds a strike counts towards `auto_ban_threshold`."""
    share_patterns: bool = True
    """With a store, keep operator patterns added or removed in any process (or with `guard
    patterns`) in step across every web process and worker.
    """
    event_queue_size: int = 10_000
    """Events a web process holds for publishing; when the queue is full new events are dropped and
    counted (`guard.events.dropped`), never waited for.
    """
    event_sample_rate: float = 0.01
    """Fraction of clean requests sent to the pipeline as `sampled` events, which feed the per-
    client baselines of the anomaly statistics.
    """
    dashboard_enabled: bool = False
    """Serve the operator dashboard at `dashboard_path`. Requires `dashboard_token`."""
    dashboard_path: str = "/_guard"
    """URL path of the dashboard; must start with `/` and not be `/`."""
    dashboard_token: str | None = None
    """Secret the dashboard asks for (at least 16 characters). Required when `dashboard_enabled` is
    on.
    """

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
