"""Argument checks shared by every backend: bounded keys, bounded text, sane durations.

Keys (client addresses, event ids, counter names, tokens) are influenced by attackers, so each is
bounded before it becomes part of a Redis key or a dictionary key: a printable string of at most
``MAX_KEY_LENGTH`` characters is kept as it is; anything longer, or holding control or other
unprintable characters, is replaced by a SHA-256 digest of itself. Hashing rather than truncating
means two different long keys can never share one ban or one strike window.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from guard.errors import ConfigurationError
from guard.logsafe import safe
from guard.store.base import IncidentUpdate, ScoreUpdate, StrikeUpdate, TallyUpdate

MAX_KEY_LENGTH = 256
MAX_REASON_LENGTH = 200
MAX_SOURCE_LENGTH = 32
MAX_PREFIX_LENGTH = 64
MAX_SECONDS = 10 * 365 * 24 * 3600.0
MAX_STRIKES = 10_000
HASHED_KEY_MARK = "sha256:"
SCRIPT_BATCH = 64
"""Tokens, strikes or events per call of a batch script: one call holds the server for a
bounded time; a larger batch is several calls sent in the same round trip."""
SCRIPT_WEIGHT = 1024
"""Updates per call of a batch script (a token carries up to 256): 64 full tokens would hold
the server past a client's socket timeout."""
_T = TypeVar("_T")


def store_key(value: str, what: str = "key") -> str:
    """``value`` bounded for use in a store key; ``ValueError`` when it is empty or not text."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    if _fits(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return HASHED_KEY_MARK + digest


def bounded_text(value: str, limit: int) -> str:
    """``value`` with control characters escaped, cut to at most ``limit`` characters."""
    return safe(value, limit)[:limit]


def seconds(value: float, what: str) -> float:
    """``value`` checked to be a finite positive duration, cut to ``MAX_SECONDS`` (ten years,
    which is forever for a ban and keeps every millisecond TTL an exact integer in Lua)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds, not {value!r}")
    if value <= 0:
        raise ValueError(f"{what} must be positive, not {value!r}")
    return min(float(value), MAX_SECONDS)


def strike_threshold(value: int) -> int:
    """``value`` checked to be a strike count of at least 1.

    A window holds at most ``MAX_STRIKES`` strikes, so a larger threshold is never reached:
    that is how a caller counts strikes without ever banning.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"threshold must be an integer of at least 1, not {value!r}")
    # Any threshold past MAX_STRIKES means the same (never), and a huge one would not pack.
    return min(value, MAX_STRIKES + 1)


def prefix(value: str) -> str:
    """A key prefix checked once at start-up: short, printable, without spaces."""
    ok = (
        isinstance(value, str)
        and 0 < len(value) <= MAX_PREFIX_LENGTH
        and value.isprintable()
        and not any(ch.isspace() for ch in value)
    )
    if not ok:
        raise ConfigurationError(
            f"store prefix must be 1-{MAX_PREFIX_LENGTH} printable characters without spaces, "
            f"not {safe(value, 80)!r}"
        )
    return value


@dataclass(frozen=True)
class BanArgs:
    """A ban's arguments, checked and bounded."""

    key: str
    duration: float
    reason: str
    source: str


@dataclass(frozen=True)
class StrikeArgs:
    """A strike's arguments, checked and bounded; ``ban`` is the ban it may create."""

    ban: BanArgs
    event_id: str
    window: float
    threshold: int
    can_ban: bool


def ban_args(key: str, duration: float, reason: str, source: str) -> BanArgs:
    """The arguments of ``Store.ban``, checked and bounded."""
    return BanArgs(
        key=store_key(key),
        duration=seconds(duration, "duration"),
        reason=bounded_text(reason, MAX_REASON_LENGTH),
        source=bounded_text(source, MAX_SOURCE_LENGTH),
    )


def strike_args(
    key: str,
    event_id: str,
    window: float,
    threshold: int,
    ban_duration: float,
    reason: str,
    can_ban: bool,
    source: str,
) -> StrikeArgs:
    """The arguments of ``Store.add_strike``, checked and bounded."""
    return StrikeArgs(
        ban=ban_args(key, ban_duration, reason, source),
        event_id=store_key(event_id, "event_id"),
        window=seconds(window, "window"),
        threshold=strike_threshold(threshold),
        can_ban=bool(can_ban),
    )


def strike_update(update: StrikeUpdate) -> StrikeArgs:
    """The arguments of one ``Store.add_strikes`` entry, checked and bounded."""
    return strike_args(
        update.key, update.event_id, update.window, update.threshold, update.ban_duration,
        update.reason, update.can_ban, update.source,
    )


MAX_GROUP_MEMBERS = 100_000
MAX_LISTED_MEMBERS = 10_000
MAX_TALLY_UPDATES = 256
MAX_TALLY_AMOUNT = 2**53
"""Lua adds numbers exactly up to here; Redis would refuse a larger increment mid-script, after
the batch's earlier tokens were marked as counted."""
MAX_INCIDENT_ITEMS = 16
MAX_ITEM_LENGTH = 160


def tally_updates(
    updates: Sequence[TallyUpdate], plain: set[str] | None = None
) -> list[TallyUpdate]:
    """``tally`` updates with bounded names, non-negative amounts and sane TTLs.

    ``plain`` holds names already found to stand as they are; the names found here join it, so
    one set shared by a batch's calls checks each name once.
    """
    if len(updates) > MAX_TALLY_UPDATES:
        raise ValueError(f"at most {MAX_TALLY_UPDATES} updates per tally")
    checked = []
    plain = set() if plain is None else plain
    for update in updates:
        group, member, amount, ttl, track = update
        if (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0
                or amount > MAX_TALLY_AMOUNT):
            raise ValueError(f"tally amount must be an integer from 0 to {MAX_TALLY_AMOUNT}, "
                             f"not {amount!r}")
        if (type(ttl) is float and 0 < ttl <= MAX_SECONDS and type(track) is bool
                and _plain_key(group, plain) and _plain_key(member, plain)):
            # The pipeline's own updates are already in bounds: checked, not rebuilt.
            checked.append(update)
            continue
        checked.append(TallyUpdate(
            store_key(group, "group"),
            store_key(member, "member"),
            amount,
            seconds(ttl, "ttl"),
            bool(track),
        ))
    return checked


def _plain_key(value: object, plain: set[str]) -> bool:
    """Whether ``value`` is a key :func:`store_key` returns unchanged: one of ``plain``, the
    keys already found so, or found now and added to it."""
    if type(value) is not str:
        return False
    if value in plain:
        return True
    if value != "" and _fits(value):
        plain.add(value)
        return True
    return False


def _fits(value: str) -> bool:
    """Whether the text ``value`` can stand in a store key as it is."""
    return len(value) <= MAX_KEY_LENGTH and value.isprintable()


def score_updates(
    updates: Sequence[ScoreUpdate], plain: set[str] | None = None
) -> list[ScoreUpdate]:
    """``add_scores`` updates with bounded names, finite amounts, sane TTLs and bounds;
    ``plain`` as for :func:`tally_updates`."""
    if len(updates) > MAX_TALLY_UPDATES:
        raise ValueError(f"at most {MAX_TALLY_UPDATES} updates per token")
    plain = set() if plain is None else plain
    checked = []
    for update in updates:
        index, member, amount, ttl, bound = (update.index, update.member, update.amount,
                                             update.ttl, update.max_members)
        if (((type(amount) is float and math.isfinite(amount))
             or (type(amount) is int and -MAX_TALLY_AMOUNT <= amount <= MAX_TALLY_AMOUNT))
                and (type(ttl) is float or type(ttl) is int) and 0 < ttl <= MAX_SECONDS
                and type(bound) is int and bound >= 1
                and _plain_key(index, plain) and _plain_key(member, plain)):
            # Already in bounds (the pipeline's own): kept, not rebuilt.
            checked.append(update)
            continue
        checked.append(ScoreUpdate(
            store_key(index, "index"),
            store_key(member, "member"),
            score(amount),
            seconds(ttl, "ttl"),
            count(bound, "max_members"),
        ))
    return checked


def score_entry(index: str, member: str, value: float) -> tuple[str, str, float]:
    """A ``record_score`` index, member and score, checked and bounded."""
    return store_key(index, "index"), store_key(member, "member"), score(value)


def score(value: float) -> float:
    """``value`` checked to be a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"score must be a finite number, not {value!r}")
    return float(value)


def count(value: int, what: str) -> int:
    """``value`` checked to be an integer of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be an integer of at least 1, not {value!r}")
    return value


def incident_update(update: IncidentUpdate) -> IncidentUpdate:
    """``update`` with its client checked and every text field bounded."""
    return IncidentUpdate(
        client=store_key(update.client, "client"),
        correlation_id=bounded_text(update.correlation_id, MAX_ITEM_LENGTH),
        ts=score(update.ts),
        part=bounded_text(update.part, MAX_ITEM_LENGTH),
        attack_class=bounded_text(update.attack_class, MAX_ITEM_LENGTH),
        action=bounded_text(update.action, MAX_ITEM_LENGTH),
        score=score(update.score),
    )


def chunks(
    items: Sequence[_T], weight: Callable[[_T], int] = lambda _: 1
) -> Iterator[Sequence[_T]]:
    """``items`` in runs of at most ``SCRIPT_BATCH`` entries and ``SCRIPT_WEIGHT`` units of
    ``weight`` (a token's updates), so that one script call stays short. The memory store
    cuts a batch the same way where the cut shows (where ``add_scores`` trims)."""
    start = total = 0
    for end, item in enumerate(items):
        units = max(1, weight(item))
        if end > start and (end - start >= SCRIPT_BATCH or total + units > SCRIPT_WEIGHT):
            yield items[start:end]
            start, total = end, 0
        total += units
    if start < len(items):
        yield items[start:]
