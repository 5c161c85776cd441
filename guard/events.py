"""``DetectionEvent``: what a web process tells the analysis pipeline about one request.

Events are versioned and encoded with msgpack as a map of short field names, so a worker can
read an event written by an older or newer web process: unknown fields are ignored, missing
ones take their defaults, and an unknown major version is refused. Every text field is bounded
when the event is built, never later: an event can be put on a queue as it is.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import msgpack

SCHEMA_VERSION = 1
FRAGMENT_LIMIT = 120
VALUE_LIMIT = 8192
PATH_LIMIT = 512
NAME_LIMIT = 128
MAX_FRAGMENTS = 8
MAX_HITS = 16

ACTIONS = ("blocked", "logged", "allowed", "sampled")
"""``blocked`` (403), ``logged`` (passive mode), ``allowed`` (a clean request whose value is
worth a semantic look), ``sampled`` (a clean request kept for statistics only)."""


class EventDecodeError(ValueError):
    """The bytes are not a DetectionEvent this version can read."""


@dataclass(frozen=True)
class RuleHit:
    """One inline rule that fired: id, class and the score it contributed."""

    pattern_id: str
    attack_class: str
    score: float


@dataclass(frozen=True)
class DetectionEvent:
    """One screened request (or sampled clean one), as the pipeline sees it."""

    client_ip: str
    ban_key: str
    method: str
    path: str
    action: str
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: float = field(default_factory=time.time)
    correlation_id: str = ""
    trace: dict[str, str] = field(default_factory=dict)
    part_location: str = ""
    part_name: str = ""
    value: str = ""
    fragments: tuple[str, ...] = ()
    hits: tuple[RuleHit, ...] = ()
    score: float = 0.0
    attack_class: str | None = None
    inline_semantic: bool = False
    strike_counted: bool = False
    screening_ms: float = 0.0
    version: int = SCHEMA_VERSION

    @classmethod
    def build(cls, **values: Any) -> DetectionEvent:
        """Build an event with every attacker-influenced field cut to its bound."""
        bounded = dict(values)
        for name, limit in (("path", PATH_LIMIT), ("part_name", NAME_LIMIT),
                            ("value", VALUE_LIMIT), ("correlation_id", NAME_LIMIT),
                            ("client_ip", 64), ("ban_key", 64), ("method", 16)):
            if name in bounded and isinstance(bounded[name], str):
                bounded[name] = bounded[name][:limit]
        bounded["fragments"] = tuple(
            str(f)[:FRAGMENT_LIMIT] for f in bounded.get("fragments", ())[:MAX_FRAGMENTS]
        )
        bounded["hits"] = tuple(
            h if isinstance(h, RuleHit) else RuleHit(**h)
            for h in bounded.get("hits", ())[:MAX_HITS]
        )
        if bounded.get("action") not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        return _construct(bounded) if cls is DetectionEvent else cls(**bounded)

    def encode(self) -> bytes:
        """msgpack bytes of this event."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["hits"] = [[h.pattern_id, h.attack_class, h.score] for h in self.hits]
        data["fragments"] = list(self.fragments)
        packed: bytes = msgpack.packb(data, use_bin_type=True)
        return packed

    @classmethod
    def decode(cls, payload: bytes) -> DetectionEvent:
        """Read an event; raises :class:`EventDecodeError` for anything unreadable."""
        try:
            data = msgpack.unpackb(payload, raw=False, strict_map_key=True)
        except Exception as exc:
            raise EventDecodeError(f"not msgpack: {exc}") from exc
        if not isinstance(data, dict):
            raise EventDecodeError("event is not a map")
        version = data.get("version", 0)
        if version != SCHEMA_VERSION:
            raise EventDecodeError(f"unsupported event version {version!r}")
        values = {k: v for k, v in data.items() if k in _FIELDS}
        try:
            values["hits"] = tuple(RuleHit(str(p), str(c), float(s))
                                   for p, c, s in values.get("hits", ()))
            values["fragments"] = tuple(str(f) for f in values.get("fragments", ()))
            values["trace"] = {str(k): str(v) for k, v in dict(values.get("trace", {})).items()}
            return cls.build(**values)
        except (TypeError, ValueError) as exc:
            raise EventDecodeError(f"malformed event: {exc}") from exc


def _same(value: Any) -> Any:
    return value


_FIELDS = frozenset(f.name for f in fields(DetectionEvent))
_REQUIRED = frozenset(f.name for f in fields(DetectionEvent)
                      if f.default is MISSING and f.default_factory is MISSING)
_DEFAULTS: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
    (f.name, f.default_factory if f.default_factory is not MISSING
     else functools.partial(_same, f.default))
    for f in fields(DetectionEvent) if f.name not in _REQUIRED
)


def _construct(values: dict[str, Any]) -> DetectionEvent:
    """``DetectionEvent(**values)`` without the frozen ``__init__``'s ``object.__setattr__`` per
    field, which makes it three times as slow as a plain one: an event is built for each
    request the web process reports and again for each event a worker reads."""
    if not values.keys() <= _FIELDS:
        raise TypeError(f"unknown event fields: {sorted(values.keys() - _FIELDS)}")
    if not values.keys() >= _REQUIRED:
        raise TypeError(f"missing event fields: {sorted(_REQUIRED - values.keys())}")
    event = object.__new__(DetectionEvent)
    state = event.__dict__
    for name, make in _DEFAULTS:
        if name not in values:
            state[name] = make()
    state.update(values)
    return event
