"""What every speed section receives: the mode, the timing plan and the loaded engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks._engines import Engine
from benchmarks._report import Row
from benchmarks._timing import Plan


@dataclass
class RunContext:
    """Shared state of one ``python -m benchmarks`` run.

    ``engines`` maps each engine name to its loaded detector, or None when it is unavailable.
    A section appends to ``notes`` anything the reader needs to interpret its rows.
    """

    quick: bool
    plan: Plan
    engines: dict[str, Engine | None]
    notes: list[str] = field(default_factory=list)

    def available(self) -> dict[str, Engine]:
        """The engines that loaded."""
        return {name: e for name, e in self.engines.items() if e is not None}


Section = Callable[[RunContext], list[Row]]
