"""Semantic stage: the model's second look at what the inline patterns let through.

The web process screens with linear-time patterns and, unless ``inline_semantic`` is set, leaves
the model to the pipeline. Here the model reads the event's normalised value; when it finds an
attack at or above ``detection_semantic_threshold`` in a request the patterns allowed, the
client gets a strike (``{event_id}:semantic``, so a redelivered event strikes once), which may
ban it. Passive mode counts the strike and never bans.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from guard.events import DetectionEvent
from guard.store import StrikeResult
from pipelines import strikes
from pipelines.context import PipelineContext

MISSED_ACTIONS = frozenset({"allowed", "sampled"})
"""Actions of events the inline screen let through."""


@dataclass(frozen=True)
class SemanticOutcome:
    """The model's verdict on one event and what the stage did about it."""

    ran: bool
    """The model read the value (False: semantic already ran inline, or nothing to read)."""
    attack_type: str
    probability: float
    flagged: bool
    """An attack at or above the threshold."""
    missed: bool
    """Flagged in a request the inline patterns let through."""
    strike: StrikeResult | None = None


NOT_RUN = SemanticOutcome(False, "benign", 0.0, False, False)


def analyze(event: DetectionEvent, ctx: PipelineContext) -> SemanticOutcome:
    """Score ``event.value`` and strike the client for an attack the patterns missed."""
    outcome = assess(event, ctx)
    return struck(outcome, strikes.strike_many([missed_strike(event, outcome)], ctx)[0])


def assess(event: DetectionEvent, ctx: PipelineContext) -> SemanticOutcome:
    """Score ``event.value`` without striking: :func:`analyze` before its strike."""
    if event.inline_semantic or not event.value:
        return NOT_RUN
    analyzer = ctx.analyzer
    if not analyzer.worth_analyzing(event.value):
        return SemanticOutcome(True, "benign", 0.0, False, False)
    verdict = analyzer.analyze(event.value)
    flagged = (
        verdict.attack_type != "benign"
        and verdict.probability >= ctx.config.detection_semantic_threshold
    )
    missed = flagged and event.action in MISSED_ACTIONS
    return SemanticOutcome(True, verdict.attack_type, verdict.probability, flagged, missed)


def missed_strike(event: DetectionEvent, outcome: SemanticOutcome) -> strikes.PendingStrike | None:
    """The strike :func:`analyze` counts for ``outcome``: one for an attack the patterns
    missed, under ``{event_id}:semantic``."""
    if not outcome.missed:
        return None
    reason = (
        f"semantic analysis: {outcome.attack_type} (p={outcome.probability:.2f}) "
        f"in {event.part_location or 'request'}"
    )
    return strikes.PendingStrike(event, f"{event.event_id}:semantic", reason, can_ban=True)


def struck(outcome: SemanticOutcome, result: StrikeResult | None) -> SemanticOutcome:
    """``outcome`` with the result of its :func:`missed_strike`."""
    return outcome if result is None else replace(outcome, strike=result)
