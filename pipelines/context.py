"""``PipelineContext``: what every stage receives besides the event.

One context serves one process (a worker process, or the web process's publisher thread in the
embedded default): the settings, the shared store, the semantic model, a clock, the name of the
node doing the work, and the agent shipper when ``enable_agent`` is on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry.trace import TracerProvider

from guard.config import SecurityConfig
from guard.engine.semantic import SemanticAnalyzer, default_analyzer
from guard.store import Store

if TYPE_CHECKING:
    from pipelines.shipping import AgentShipper


@dataclass
class PipelineContext:
    """Settings, state and collaborators shared by the stages of one process.

    ``shipper`` is built from ``config`` when the agent is enabled and none is given; call
    :meth:`close` to flush it on shutdown. ``tracer_provider`` None means the global provider.
    """

    config: SecurityConfig
    store: Store
    analyzer: SemanticAnalyzer = field(default_factory=default_analyzer)
    clock: Callable[[], float] = time.time
    node: str = "in-process"
    shipper: AgentShipper | None = None
    tracer_provider: TracerProvider | None = None

    def __post_init__(self) -> None:
        if self.shipper is None and self.config.enable_agent:
            from pipelines.shipping import AgentShipper

            self.shipper = AgentShipper(self.config, node=self.node, clock=self.clock)

    def close(self, timeout: float = 5.0) -> None:
        """Flush and stop the shipper, if any; the store belongs to the caller."""
        if self.shipper is not None:
            self.shipper.close(timeout)
