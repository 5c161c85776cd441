"""Content limits: cut long input to the inspection budget without hiding an attack.

Cutting a value to its first N characters lets an attacker pad a payload past the limit. When
``preserve`` is on, the kept text is built from windows around every attack indicator found in
the whole input (one linear scan), then from the head of the input with whatever budget is left.
The caller always learns that the input was cut; a silent pass never happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

WINDOW = 256
SEPARATOR = "\n"


def limit_content(
    text: str,
    max_length: int,
    preserve: bool,
    indicators: Callable[[str], Iterable[int]],
) -> tuple[str, bool]:
    """Return ``(kept_text, truncated)`` with ``len(kept_text) <= max_length``.

    ``indicators(text)`` yields character offsets of suspicious regions; it must be linear.
    """
    if len(text) <= max_length:
        return text, False
    if not preserve:
        return text[:max_length], True
    spans = _merge(
        (max(0, pos - WINDOW), min(len(text), pos + WINDOW)) for pos in indicators(text)
    )
    kept: list[str] = []
    budget = max_length
    for start, end in spans:
        if budget <= len(SEPARATOR):
            break
        piece = text[start : min(end, start + budget - len(SEPARATOR))]
        kept.append(piece)
        budget -= len(piece) + len(SEPARATOR)
    if budget > len(SEPARATOR):
        kept.insert(0, text[: budget - len(SEPARATOR)])
    return SEPARATOR.join(kept)[:max_length], True


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
