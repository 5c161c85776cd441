"""Evasion regression set: every technique is caught, and every decoder is needed for its own.

Each case names the decoder that undoes it. With that decoder replaced by the identity, the
same value must slip past the rules: proof that the decoder, not some other rule, catches it.
Cases without a decoder are handled by the matcher itself (case-insensitive matching) or by
rules for the construct (``CHAR()``, hex literals, concatenation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guard.engine import normalize
from guard.engine.detector import DetectionEngine

CASES = json.loads((Path(__file__).parent / "cases" / "evasions.json").read_text("utf-8"))
ENGINE = DetectionEngine()


def _verdict(value: str) -> str | None:
    result = ENGINE.detect(value, semantic=False)
    return result["attack_class"] if result["is_threat"] else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["technique"])
def test_technique_is_caught(case: dict[str, Any]) -> None:
    assert _verdict(case["input"]) == case["class"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["decoder"]], ids=lambda c: c["technique"]
)
def test_technique_needs_its_decoder(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Some techniques are undone by more than one view; all of them must go for it to slip.
    names = case["decoder"] if isinstance(case["decoder"], list) else [case["decoder"]]

    def identity(text: str) -> str:
        return text

    for name in names:
        monkeypatch.setattr(normalize, name, identity)
    for table in ("_CANONICAL_STEPS", "_VIEW_STEPS"):
        steps = getattr(normalize, table)
        monkeypatch.setattr(normalize, table, tuple(
            (step, identity if fn.__name__ in names else fn, needs) for step, fn, needs in steps))
    assert _verdict(case["input"]) is None, f"caught without {names}"
