"""``DetectionEvent``: building bounds every field, and decoding reads only what it knows."""

from __future__ import annotations

import dataclasses

import msgpack
import pytest

from guard.events import (
    PATH_LIMIT,
    SCHEMA_VERSION,
    DetectionEvent,
    EventDecodeError,
    RuleHit,
)


def event(**changes: object) -> DetectionEvent:
    values: dict[str, object] = {"client_ip": "192.0.2.7", "ban_key": "192.0.2.7",
                                 "method": "GET", "path": "/q", "action": "blocked"}
    values.update(changes)
    return DetectionEvent.build(**values)


def test_round_trip_keeps_every_field() -> None:
    original = event(value="1 OR 1=1", hits=[RuleHit("sqli-or", "sqli", 3.0)],
                     fragments=["OR 1=1"], trace={"traceparent": "00-ab-cd-01"},
                     attack_class="sqli", score=3.0, screening_ms=0.4)
    copy = DetectionEvent.decode(original.encode())
    assert copy == original
    assert dataclasses.asdict(copy) == dataclasses.asdict(original)


def test_built_events_are_frozen_and_own_their_defaults() -> None:
    first, second = event(), event()
    assert first.event_id != second.event_id and first.trace is not second.trace
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.action = "allowed"  # type: ignore[misc]
    assert dataclasses.replace(first, action="allowed").action == "allowed"


def test_build_bounds_fields_and_refuses_what_it_does_not_know() -> None:
    assert len(event(path="/" * 10_000).path) == PATH_LIMIT
    with pytest.raises(ValueError):
        event(action="exploded")
    with pytest.raises(TypeError):
        event(surprise=1)
    with pytest.raises(TypeError):
        DetectionEvent.build(client_ip="192.0.2.7", action="blocked")


def test_decode_ignores_unknown_fields_and_refuses_malformed_ones() -> None:
    data = msgpack.unpackb(event().encode(), raw=False)
    data["from_the_future"] = [1, 2, 3]
    assert DetectionEvent.decode(msgpack.packb(data)).path == "/q"
    for broken in (
        {**data, "version": SCHEMA_VERSION + 1},
        {**data, "hits": [["only-two", "fields"]]},
        {k: v for k, v in data.items() if k != "method"},
        {**data, "action": "exploded"},
    ):
        with pytest.raises(EventDecodeError):
            DetectionEvent.decode(msgpack.packb(broken))
    for garbage in (b"", b"\xc1", msgpack.packb([1, 2]), b"\x81\x01\x02"):
        with pytest.raises(EventDecodeError):
            DetectionEvent.decode(garbage)
