"""Property tests: ``detect()`` never raises and always returns a well-formed verdict."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.engine.detector import DetectionEngine

ENGINE = DetectionEngine()
HOSTILE_ALPHABET = st.sampled_from(list("%&#;\\'\"<>{}$()[]|`/.*=-+ \r\n\t\x00uxXaA0123456789"))
hostile_text = st.lists(HOSTILE_ALPHABET, max_size=300).map("".join)
SETTINGS = settings(
    derandomize=True, max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _check(result: dict[str, Any]) -> None:
    assert isinstance(result["is_threat"], bool)
    assert 0.0 <= result["threat_score"] <= 1.0
    assert result["processed_length"] <= max(result["original_length"], 0) or result["truncated"]
    for threat in result["threats"]:
        assert threat["type"] in ("regex", "semantic")
        assert len(threat["fragment"]) <= 120


@SETTINGS
@given(st.text(max_size=2000))
def test_arbitrary_text(value: str) -> None:
    _check(ENGINE.detect(value))


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(value: bytes) -> None:
    _check(ENGINE.detect(value))


@SETTINGS
@given(hostile_text)
def test_hostile_alphabet(value: str) -> None:
    _check(ENGINE.detect(value))
