"""The store protocol: bans, strike windows and small counters shared by every process.

A store is chosen by URL (see :func:`guard.store.create_store`). Every implementation has the
same semantics, which ``tests/test_store.py`` checks against each backend:

- a ban is keyed by its ban unit (an IP, or an IPv6 network such as ``2001:db8:1:2::/64``) and
  disappears by itself at ``until``;
- ``add_strike`` is one atomic step: it drops strikes older than ``window``, counts the new one
  unless its ``event_id`` was already counted for that key, and creates the ban at ``threshold``;
- every piece of state expires by itself, so nothing grows without bound.

The analysis pipeline adds three kinds of shared state, each written at most once per token or
event id (remembered for the store's ``dedupe_ttl``, an hour by default, as strike event ids
are), so a redelivered event changes nothing twice:

- ``tally``: counters grouped per time bucket (a group holds members, such as clients or
  pattern ids, and the running count, sum and sum of squares over its members, from which a
  z-score is one division away);
- ``record_score``: small ranked indexes (the highest score per member is kept);
- ``add_scores``: small ranked indexes of running totals (the largest members are kept);
- ``record_incident``: incident records linking events by correlation ID and by client.

Keys are bounded by :func:`guard.store._args.store_key` before use, so the ``key`` of a returned
:class:`BanRecord` is the bounded form (equal to the argument for every ordinary address).
Backend failures raise :class:`guard.errors.StorageError`; bad arguments raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol


@dataclass(frozen=True)
class BanRecord:
    """One active ban. Times are epoch seconds (the Redis server's clock on Redis)."""

    key: str
    until: float
    reason: str
    created: float
    source: str


@dataclass(frozen=True)
class StrikeUpdate:
    """The arguments of one ``add_strike`` call, for ``add_strikes``."""

    key: str
    event_id: str
    window: float
    threshold: int
    ban_duration: float
    reason: str
    can_ban: bool = True
    source: str = "auto"


@dataclass(frozen=True)
class StrikeResult:
    """What one ``add_strike`` call did."""

    strikes: int
    """Strikes inside the window after this call."""
    banned: bool
    """The key is banned after this call: this strike created the ban, or one already existed."""
    duplicate: bool
    """``event_id`` was already counted for this key, so nothing changed."""


class TallyUpdate(NamedTuple):
    """Add ``amount`` to ``member`` of ``group``."""

    group: str
    member: str
    amount: int
    ttl: float
    """The group's lifetime, set by the call that creates it (a fixed window)."""
    track: bool = True
    """Keep the group's moments and return this member's :class:`Tally`. An untracked update
    is a plain counter: cheaper, and it returns nothing. Update a group one way only."""


class Tally(NamedTuple):
    """One member of a group after a ``tally`` call, and the group's moments over its members."""

    value: int
    """The member's count."""
    members: int
    """Members in the group."""
    total: int
    """Sum of every member's count."""
    total_sq: float
    """Sum of every member's squared count."""


class TallyResult(NamedTuple):
    """What one ``tally`` call did: one :class:`Tally` per tracked update, in order."""

    tallies: tuple[Tally, ...]
    duplicate: bool
    """The token was already applied, so nothing changed; the tallies are current values."""


@dataclass(frozen=True)
class GroupSnapshot:
    """A group read back: its largest members and its moments."""

    members: dict[str, int]
    """Up to the requested number of members, largest count first."""
    count: int
    total: int
    total_sq: float


@dataclass(frozen=True)
class ScoreUpdate:
    """Add ``amount`` to ``member``'s score in ``index`` (read back with ``top_scores``)."""

    index: str
    member: str
    amount: float
    ttl: float
    """The index's lifetime, set by the call that creates it (a fixed window)."""
    max_members: int = 1000
    """The index keeps this many members, the highest scores; the lowest go first."""


@dataclass(frozen=True)
class IncidentUpdate:
    """What one event adds to an incident."""

    client: str
    correlation_id: str
    ts: float
    part: str
    attack_class: str
    action: str
    score: float


@dataclass(frozen=True)
class IncidentRecord:
    """Events linked by correlation ID and by client: one story per attacker.

    Times are the events' own (epoch seconds); each list holds at most 16 distinct items in the
    order they were first seen.
    """

    incident_id: str
    client: str
    first_seen: float
    last_seen: float
    events: int
    max_score: float
    clients: tuple[str, ...]
    correlation_ids: tuple[str, ...]
    parts: tuple[str, ...]
    classes: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class IncidentResult:
    """What one ``record_incident`` call did (read the record with ``get_incident``)."""

    incident_id: str
    duplicate: bool
    """The event was already recorded, so nothing changed."""


class Store(Protocol):
    """Shared ban and strike state. Implementations are safe to use from many threads."""

    url: str
    """The store's URL, with any password replaced by ``***``."""

    def get_ban(self, key: str) -> BanRecord | None:
        """The active ban on ``key``, or None."""
        ...

    def ban(self, key: str, duration: float, reason: str, source: str = "manual") -> BanRecord:
        """Ban ``key`` for ``duration`` seconds and return the ban now in force.

        A ban already in force that lasts longer is kept (and returned) as it is, so a short
        automatic ban never cuts a long manual one; to shorten a ban, unban first.
        """
        ...

    def unban(self, key: str) -> bool:
        """Lift the ban on ``key``; True when there was one."""
        ...

    def list_bans(self, limit: int = 1000) -> list[BanRecord]:
        """Up to ``limit`` active bans, the soonest to expire first."""
        ...

    def add_strike(
        self,
        key: str,
        event_id: str,
        *,
        window: float,
        threshold: int,
        ban_duration: float,
        reason: str,
        can_ban: bool = True,
        source: str = "auto",
    ) -> StrikeResult:
        """Count one strike against ``key``, atomically and at most once per ``event_id``.

        Strikes older than ``window`` seconds no longer count. When ``threshold`` strikes are
        inside the window and ``can_ban`` is true, ``key`` is banned for ``ban_duration``
        seconds; with ``can_ban`` false (passive mode) strikes are counted but nobody is banned.
        A window holds at most 10,000 strikes (the oldest go first), so a larger threshold is
        never reached. Durations must be positive and are cut to ten years.
        """
        ...

    def add_strikes(self, batch: Sequence[StrikeUpdate]) -> list[StrikeResult]:
        """``add_strike`` for each update, in order: each atomic and idempotent on its own, all
        in one round trip on Redis."""
        ...

    def strikes(self, key: str, window: float) -> int:
        """Strikes against ``key`` in the last ``window`` seconds (at most the strike window)."""
        ...

    def ping(self) -> bool:
        """True when the backend answers; never raises."""
        ...

    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""
        ...

    def incr_counter(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to counter ``name`` and return its new value.

        The counter expires ``ttl`` seconds (or the store's default counter TTL) after the
        increment that created it: a fixed window, not extended by later increments.
        """
        ...

    def get_counter(self, name: str) -> int:
        """The value of counter ``name``; 0 when it does not exist or has expired."""
        ...

    def once(self, token: str, ttl: float) -> bool:
        """True the first time ``token`` is seen within ``ttl`` seconds, False after that."""
        ...

    def tally(self, token: str, updates: Sequence[TallyUpdate]) -> TallyResult:
        """Apply every update atomically, all at most once per ``token``.

        A group expires its update's ``ttl`` seconds after the call that created it (a fixed
        window, like a counter). Amounts are non-negative; an amount of 0 still makes the member
        part of the group. A group holds at most 100,000 members: a new member of a full group
        is not added and reads 0. At most 256 updates per call.
        """
        ...

    def tally_many(
        self, batch: Sequence[tuple[str, Sequence[TallyUpdate]]]
    ) -> list[TallyResult]:
        """``tally(token, updates)`` for each pair, in order: each atomic and idempotent on its
        own, all in one round trip on Redis."""
        ...

    def read_tally(self, group: str, limit: int = 100) -> GroupSnapshot:
        """The ``limit`` largest members of ``group`` and its moments (empty when absent).

        Members are listed only while the group has at most 10,000 of them; a larger group
        reports its moments alone.
        """
        ...

    def record_score(
        self, index: str, member: str, score: float, *, ttl: float, max_members: int = 1000
    ) -> float:
        """Keep the highest ``score`` seen for ``member`` in ``index`` and return it.

        The index expires ``ttl`` seconds after the call that created it and holds at most
        ``max_members`` members (the lowest scores go first).
        """
        ...

    def record_scores(
        self, batch: Sequence[tuple[str, str, float]], *, ttl: float, max_members: int = 1000
    ) -> list[float]:
        """``record_score(index, member, score)`` for each triple, in order, all in one round
        trip on Redis."""
        ...

    def add_scores(self, batch: Sequence[tuple[str, Sequence[ScoreUpdate]]]) -> list[bool]:
        """For each ``(token, updates)`` pair, in order, apply every update atomically and at
        most once per ``token``; True where the updates were applied, False for a token already
        applied. One round trip on Redis.

        An index expires its update's ``ttl`` seconds after the call that created it. After
        the additions of each run of at most 64 tokens (one script call on Redis), an index
        past the smallest ``max_members`` the run named for it drops its lowest members (ties:
        the first name), so a new member with a small total may leave at once while the largest
        stay: a bounded top list. At most 256 updates per token.
        """
        ...

    def top_scores(self, index: str, limit: int = 100) -> list[tuple[str, float]]:
        """Up to ``limit`` members of ``index``, highest score first."""
        ...

    def record_incident(
        self, event_id: str, update: IncidentUpdate, *, gap: float, ttl: float
    ) -> IncidentResult:
        """Add one event to its incident, atomically and at most once per ``event_id``.

        The incident is the one its correlation ID or its client was last linked to, unless
        that link has been quiet for ``gap`` seconds; else a new incident whose id is
        ``event_id``. An incident expires ``ttl`` seconds after its last event; the index of
        incidents is bounded.
        """
        ...

    def record_incidents(
        self, batch: Sequence[tuple[str, IncidentUpdate]], *, gap: float, ttl: float
    ) -> list[IncidentResult]:
        """``record_incident(event_id, update)`` for each pair, in order: each atomic and
        idempotent on its own, all in one round trip on Redis."""
        ...

    def get_incident(self, incident_id: str) -> IncidentRecord | None:
        """The incident ``incident_id``, or None when it does not exist or has expired."""
        ...

    def list_incidents(self, limit: int = 100) -> list[IncidentRecord]:
        """Up to ``limit`` live incidents, the most recently active first."""
        ...
