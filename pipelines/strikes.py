"""Strikes the pipeline adds: one helper shared by the stages, and the inline backfill.

Every strike's event id is derived from the event's id and the reason it is counted
(``{event_id}`` for the inline detection, ``{event_id}:semantic`` for the model's), so the
store counts each at most once however often the event is delivered.
"""

from __future__ import annotations

from functools import cache

from guard.client_ip import IPNetwork, in_networks, parse_networks
from guard.events import DetectionEvent
from guard.store import StrikeResult
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


def strike(
    event: DetectionEvent, ctx: PipelineContext, *, event_id: str, reason: str, can_ban: bool
) -> StrikeResult | None:
    """Count one strike against the event's ban key, once per ``event_id``; None if exempt."""
    if whitelisted(event, ctx) or not event.ban_key:
        return None
    config = ctx.config
    return ctx.store.add_strike(
        event.ban_key,
        event_id,
        window=config.strike_window,
        threshold=config.auto_ban_threshold,
        ban_duration=config.auto_ban_duration,
        reason=reason,
        can_ban=can_ban and not config.passive_mode,
        source=SOURCE,
    )


def backfill_inline(event: DetectionEvent, ctx: PipelineContext) -> StrikeResult | None:
    """Add the inline detection's strike when the web process could not (``strike_counted``
    false), under the event's own id: the id the web process uses, so it is never counted twice.
    """
    if event.strike_counted or event.action not in DETECTED_ACTIONS:
        return None
    reason = f"{event.attack_class or 'attack'} in {event.part_location or 'request'}"
    return strike(
        event, ctx, event_id=event.event_id, reason=reason, can_ban=event.action == "blocked"
    )
