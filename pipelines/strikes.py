"""Strikes the pipeline adds: helpers shared by the stages, and the inline backfill.

Every strike's event id is derived from the event's id and the reason it is counted
(``{event_id}`` for the inline detection, ``{event_id}:semantic`` for the model's), so the
store counts each at most once however often the event is delivered. A stage describes its
strike as a :class:`PendingStrike`, so that ``process_events`` counts a whole batch's strikes
in one store round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from guard.client_ip import IPNetwork, in_networks, parse_networks
from guard.events import DetectionEvent
from guard.store import StrikeResult, StrikeUpdate
from pipelines.context import PipelineContext

SOURCE = "pipeline"
DETECTED_ACTIONS = frozenset({"blocked", "logged"})
"""Actions of events the inline screen already called attacks."""


@cache
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(entries)


def whitelisted(event: DetectionEvent, ctx: PipelineContext) -> bool:
    """True when the event's client is in the configured whitelist (never struck)."""
    entries = tuple(ctx.config.whitelist)
    return bool(entries) and in_networks(event.client_ip, _networks(entries))


@dataclass(frozen=True)
class PendingStrike:
    """A strike a stage counts against ``event``'s ban key, once per ``event_id``."""

    event: DetectionEvent
    event_id: str
    reason: str
    can_ban: bool


def strike(
    event: DetectionEvent, ctx: PipelineContext, *, event_id: str, reason: str, can_ban: bool
) -> StrikeResult | None:
    """Count one strike against the event's ban key, once per ``event_id``; None if exempt."""
    return strike_many([PendingStrike(event, event_id, reason, can_ban)], ctx)[0]


def strike_many(
    pending: Sequence[PendingStrike | None], ctx: PipelineContext
) -> list[StrikeResult | None]:
    """:func:`strike` for each pending strike, in order, in one store round trip; None for no
    strike and for an exempt client."""
    updates = [_update(item, ctx) for item in pending]
    counted = [update for update in updates if update is not None]
    results = iter(ctx.store.add_strikes(counted) if counted else [])
    return [None if update is None else next(results) for update in updates]


def _update(item: PendingStrike | None, ctx: PipelineContext) -> StrikeUpdate | None:
    if item is None or not item.event.ban_key or whitelisted(item.event, ctx):
        return None
    config = ctx.config
    return StrikeUpdate(
        item.event.ban_key,
        item.event_id,
        window=config.strike_window,
        threshold=config.auto_ban_threshold,
        ban_duration=config.auto_ban_duration,
        reason=item.reason,
        can_ban=item.can_ban and not config.passive_mode,
        source=SOURCE,
    )


def inline_strike(event: DetectionEvent) -> PendingStrike | None:
    """The inline detection's strike when the web process could not count it
    (``strike_counted`` false), under the event's own id: the id the web process uses, so it is
    never counted twice."""
    if event.strike_counted or event.action not in DETECTED_ACTIONS:
        return None
    reason = f"{event.attack_class or 'attack'} in {event.part_location or 'request'}"
    return PendingStrike(event, event.event_id, reason, can_ban=event.action == "blocked")


def backfill_inline(event: DetectionEvent, ctx: PipelineContext) -> StrikeResult | None:
    """Add the :func:`inline_strike`, if any."""
    return strike_many([inline_strike(event)], ctx)[0]
