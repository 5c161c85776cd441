"""The in-process store: the embedded default, with the same semantics as the Redis store.

Entries expire on the monotonic clock, so a step of the wall clock never lengthens or cuts a
ban; wall time only fills in ``BanRecord.until`` and ``created``. Every map is bounded: when one
is full its expired entries go first, then the least recently written. Strike timestamps are
bounded across all keys too, because a passive-mode flood can add strikes without ever banning.

The analysis state (tallies, score indexes, incidents) follows the same rules: every map is an
``ExpiringMap``, every write is deduplicated by its token or event id.

One lock guards all state. Each operation is a few dictionary steps, so the lock is held
briefly, and holding it makes ``add_strike`` atomic just as the Lua script is on Redis.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from guard.store import _args
from guard.store.base import (
    BanRecord,
    GroupSnapshot,
    IncidentRecord,
    IncidentResult,
    IncidentUpdate,
    ScoreUpdate,
    StrikeResult,
    StrikeUpdate,
    Tally,
    TallyResult,
    TallyUpdate,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """A dictionary whose entries carry monotonic deadlines, holding at most ``max_size``.

    ``on_drop`` sees each value that leaves by expiry, eviction or ``pop``, not one replaced by
    ``put``. The caller holds the lock.
    """

    def __init__(self, max_size: int, on_drop: Callable[[V], None] | None = None) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self._on_drop = on_drop
        self._items: dict[K, tuple[V, float]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K, now: float) -> V | None:
        """The live value for ``key``, or None (an expired one is dropped)."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= now:
            self.pop(key)
            return None
        return item[0]

    def deadline(self, key: K) -> float:
        """The deadline of ``key``, which must be present."""
        return self._items[key][1]

    def put(self, key: K, value: V, deadline: float, now: float) -> None:
        """Store ``value`` until ``deadline``, making room first when the map is full."""
        if self._items.pop(key, None) is None and len(self._items) >= self.max_size:
            self._make_room(now)
        self._items[key] = (value, deadline)

    def pop(self, key: K) -> V | None:
        """Remove ``key`` and return its value, or None."""
        item = self._items.pop(key, None)
        if item is None:
            return None
        if self._on_drop is not None:
            self._on_drop(item[0])
        return item[0]

    def pop_oldest(self) -> None:
        """Remove the least recently written entry."""
        self.pop(next(iter(self._items)))

    def live(self, now: float) -> list[tuple[K, V, float]]:
        """Every live entry as ``(key, value, deadline)``, after dropping the expired ones."""
        self._sweep(now)
        return [(key, value, deadline) for key, (value, deadline) in self._items.items()]

    def clear(self) -> None:
        """Drop everything."""
        while self._items:
            self.pop_oldest()

    def _sweep(self, now: float) -> None:
        for key in [key for key, (_, deadline) in self._items.items() if deadline <= now]:
            self.pop(key)

    def _make_room(self, now: float) -> None:
        # Sweeping costs a pass over the map, so evict a tenth at once: later puts stay O(1).
        self._sweep(now)
        target = self.max_size - max(1, self.max_size // 10)
        while len(self._items) > target:
            self.pop_oldest()


@dataclass
class _Group:
    members: dict[str, int] = field(default_factory=dict)
    total: int = 0
    total_sq: float = 0.0

    def add(self, member: str, amount: int) -> None:
        old = self.members.get(member)
        if old is None and len(self.members) >= _args.MAX_GROUP_MEMBERS:
            return
        new = (old or 0) + amount
        self.members[member] = new
        self.total += amount
        self.total_sq += float(new * new - (old or 0) ** 2)

    def tally(self, member: str) -> Tally:
        return Tally(self.members.get(member, 0), len(self.members), self.total, self.total_sq)


@dataclass
class _Incident:
    incident_id: str
    client: str
    first_seen: float
    last_seen: float
    events: int = 0
    max_score: float = 0.0
    lists: dict[str, list[str]] = field(default_factory=dict)

    def add(self, update: IncidentUpdate) -> None:
        self.first_seen = min(self.first_seen, update.ts)
        self.last_seen = max(self.last_seen, update.ts)
        self.events += 1
        self.max_score = max(self.max_score, update.score)
        for name, item in _incident_items(update):
            items = self.lists.setdefault(name, [])
            if item and item not in items and len(items) < _args.MAX_INCIDENT_ITEMS:
                items.append(item)

    def record(self) -> IncidentRecord:
        def listed(name: str) -> tuple[str, ...]:
            return tuple(self.lists.get(name, ()))

        return IncidentRecord(
            incident_id=self.incident_id,
            client=self.client,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            events=self.events,
            max_score=self.max_score,
            clients=listed("clients"),
            correlation_ids=listed("correlation_ids"),
            parts=listed("parts"),
            classes=listed("classes"),
            actions=listed("actions"),
        )


def _trim(scores: dict[str, float], bound: int) -> None:
    """Drop the lowest members (ties: the first name, as a Redis sorted set orders them)."""
    while len(scores) > bound:
        del scores[min(scores, key=lambda key: (scores[key], key))]


def _incident_items(update: IncidentUpdate) -> tuple[tuple[str, str], ...]:
    return (
        ("clients", update.client),
        ("correlation_ids", update.correlation_id),
        ("parts", update.part),
        ("classes", update.attack_class),
        ("actions", update.action),
    )


class MemoryStore:
    """The :class:`~guard.store.base.Store` in this process only (``memory://``)."""

    def __init__(
        self,
        prefix: str = "guard:",
        *,
        max_keys: int = 100_000,
        max_strike_entries: int = 1_000_000,
        dedupe_ttl: float = 3600.0,
        counter_ttl: float = 86400.0,
        max_incidents: int = 10_000,
    ) -> None:
        self.url = "memory://"
        self.prefix = _args.prefix(prefix)
        self.dedupe_ttl = _args.seconds(dedupe_ttl, "dedupe_ttl")
        self.counter_ttl = _args.seconds(counter_ttl, "counter_ttl")
        self.max_strike_entries = max_strike_entries
        self._lock = threading.Lock()
        self._strike_total = 0
        self._bans: ExpiringMap[str, BanRecord] = ExpiringMap(max_keys)
        self._strikes: ExpiringMap[str, deque[float]] = ExpiringMap(max_keys, self._forget)
        self._seen: ExpiringMap[tuple[str, str], bool] = ExpiringMap(max_keys)
        self._counters: ExpiringMap[str, int] = ExpiringMap(max_keys)
        self._once: ExpiringMap[str, bool] = ExpiringMap(max_keys)
        self._groups: ExpiringMap[str, _Group] = ExpiringMap(max_keys)
        self._tallied: ExpiringMap[str, bool] = ExpiringMap(max_keys)
        self._scores: ExpiringMap[str, dict[str, float]] = ExpiringMap(max_keys)
        self._scored: ExpiringMap[str, bool] = ExpiringMap(max_keys)
        self._incidents: ExpiringMap[str, _Incident] = ExpiringMap(
            _args.count(max_incidents, "max_incidents")
        )
        self._incident_events: ExpiringMap[str, str] = ExpiringMap(max_keys)
        self._incident_links: ExpiringMap[tuple[str, str], str] = ExpiringMap(max_keys)

    def _forget(self, times: deque[float]) -> None:
        self._strike_total -= len(times)

    def get_ban(self, key: str) -> BanRecord | None:
        """The active ban on ``key``, or None."""
        member = _args.store_key(key)
        with self._lock:
            return self._bans.get(member, time.monotonic())

    def ban(self, key: str, duration: float, reason: str, source: str = "manual") -> BanRecord:
        """Ban ``key`` for ``duration`` seconds; a longer ban in force is kept and returned."""
        ban = _args.ban_args(key, duration, reason, source)
        with self._lock:
            now = time.monotonic()
            held = self._bans.get(ban.key, now)
            if held is not None and self._bans.deadline(ban.key) >= now + ban.duration:
                return held
            return self._write_ban(ban, now)

    def _write_ban(self, ban: _args.BanArgs, now: float) -> BanRecord:
        wall = time.time()
        record = BanRecord(ban.key, wall + ban.duration, ban.reason, wall, ban.source)
        self._bans.put(ban.key, record, now + ban.duration, now)
        return record

    def unban(self, key: str) -> bool:
        """Lift the ban on ``key``; True when there was one."""
        member = _args.store_key(key)
        with self._lock:
            held = self._bans.get(member, time.monotonic())
            self._bans.pop(member)
            return held is not None

    def list_bans(self, limit: int = 1000) -> list[BanRecord]:
        """Up to ``limit`` active bans, the soonest to expire first."""
        with self._lock:
            entries = self._bans.live(time.monotonic())
        entries.sort(key=lambda entry: entry[2])
        return [record for _, record, _ in entries[: max(0, limit)]]

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
        """Count one strike against ``key`` at most once per ``event_id``; ban at threshold."""
        strike = _args.strike_args(
            key, event_id, window, threshold, ban_duration, reason, can_ban, source
        )
        with self._lock:
            return self._strike(strike, time.monotonic())

    def add_strikes(self, batch: Sequence[StrikeUpdate]) -> list[StrikeResult]:
        """``add_strike`` for each update, in order (all checked before any is counted)."""
        checked = [_args.strike_update(update) for update in batch]
        with self._lock:
            return [self._strike(strike, time.monotonic()) for strike in checked]

    def _strike(self, strike: _args.StrikeArgs, now: float) -> StrikeResult:
        member, seen = strike.ban.key, (strike.ban.key, strike.event_id)
        if self._seen.get(seen, now):
            banned = self._bans.get(member, now) is not None
            count = self._count(member, strike.window, now)
            return StrikeResult(count, banned, duplicate=True)
        self._seen.put(seen, True, now + max(strike.window, self.dedupe_ttl), now)
        count = self._record_strike(member, strike.window, now)
        banned = self._bans.get(member, now) is not None
        if not banned and strike.can_ban and count >= strike.threshold:
            self._write_ban(strike.ban, now)
            banned = True
        return StrikeResult(count, banned, duplicate=False)

    def _record_strike(self, member: str, window: float, now: float) -> int:
        times = self._strikes.get(member, now)
        if times is None:
            times = deque()
        else:
            self._prune(times, now - window)
        times.append(now)
        self._strike_total += 1
        cap = min(_args.MAX_STRIKES, self.max_strike_entries)
        while len(times) > cap:
            times.popleft()
            self._strike_total -= 1
        self._strikes.put(member, times, now + window, now)
        while self._strike_total > self.max_strike_entries and len(self._strikes) > 1:
            self._strikes.pop_oldest()
        return len(times)

    def _prune(self, times: deque[float], since: float) -> None:
        while times and times[0] <= since:
            times.popleft()
            self._strike_total -= 1

    def _count(self, member: str, window: float, now: float) -> int:
        times = self._strikes.get(member, now)
        if times is None:
            return 0
        since = now - window
        return sum(1 for moment in times if moment > since)

    def strikes(self, key: str, window: float) -> int:
        """Strikes against ``key`` in the last ``window`` seconds."""
        member = _args.store_key(key)
        seconds = _args.seconds(window, "window")
        with self._lock:
            return self._count(member, seconds, time.monotonic())

    def ping(self) -> bool:
        """Always True: memory is always reachable."""
        return True

    def close(self) -> None:
        """Drop all state."""
        with self._lock:
            for table in self._tables():
                table.clear()

    def _tables(self) -> tuple[ExpiringMap[Any, Any], ...]:
        return (
            self._bans, self._strikes, self._seen, self._counters, self._once, self._groups,
            self._tallied, self._scores, self._scored, self._incidents, self._incident_events,
            self._incident_links,
        )

    def incr_counter(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to counter ``name``; the creating increment sets its TTL."""
        counter = _args.store_key(name, "name")
        seconds = self.counter_ttl if ttl is None else _args.seconds(ttl, "ttl")
        with self._lock:
            now = time.monotonic()
            value = self._counters.get(counter, now)
            if value is None:
                value, deadline = int(amount), now + seconds
            else:
                value, deadline = value + int(amount), self._counters.deadline(counter)
            self._counters.put(counter, value, deadline, now)
            return value

    def get_counter(self, name: str) -> int:
        """The value of counter ``name``, or 0."""
        counter = _args.store_key(name, "name")
        with self._lock:
            return self._counters.get(counter, time.monotonic()) or 0

    def once(self, token: str, ttl: float) -> bool:
        """True the first time ``token`` is seen within ``ttl`` seconds."""
        marker = _args.store_key(token, "token")
        seconds = _args.seconds(ttl, "ttl")
        with self._lock:
            now = time.monotonic()
            if self._once.get(marker, now):
                return False
            self._once.put(marker, True, now + seconds, now)
            return True

    def tally(self, token: str, updates: Sequence[TallyUpdate]) -> TallyResult:
        """Apply every update atomically, all at most once per ``token``."""
        marker = _args.store_key(token, "token")
        checked = _args.tally_updates(updates)
        with self._lock:
            now = time.monotonic()
            duplicate = bool(self._tallied.get(marker, now))
            if not duplicate:
                self._tallied.put(marker, True, now + self.dedupe_ttl, now)
            tallies = []
            for update in checked:
                group = self._groups.get(update.group, now)
                if not duplicate:
                    if group is None:
                        group = _Group()
                        self._groups.put(update.group, group, now + update.ttl, now)
                    group.add(update.member, update.amount)
                if update.track:
                    tallies.append(group.tally(update.member) if group else Tally(0, 0, 0, 0.0))
            return TallyResult(tuple(tallies), duplicate)

    def tally_many(
        self, batch: Sequence[tuple[str, Sequence[TallyUpdate]]]
    ) -> list[TallyResult]:
        """``tally(token, updates)`` for each pair, in order."""
        return [self.tally(token, updates) for token, updates in batch]

    def read_tally(self, group: str, limit: int = 100) -> GroupSnapshot:
        """The ``limit`` largest members of ``group`` and its moments (empty when absent)."""
        name = _args.store_key(group, "group")
        with self._lock:
            found = self._groups.get(name, time.monotonic())
            if found is None:
                return GroupSnapshot({}, 0, 0, 0.0)
            members = dict(found.members) if len(found.members) <= _args.MAX_LISTED_MEMBERS else {}
            count, total, total_sq = len(found.members), found.total, found.total_sq
        top = sorted(members.items(), key=lambda item: (-item[1], item[0]))[: max(0, limit)]
        return GroupSnapshot(dict(top), count, total, total_sq)

    def record_score(
        self, index: str, member: str, score: float, *, ttl: float, max_members: int = 1000
    ) -> float:
        """Keep the highest ``score`` seen for ``member`` in ``index`` and return it."""
        return self.record_scores([(index, member, score)], ttl=ttl, max_members=max_members)[0]

    def record_scores(
        self, batch: Sequence[tuple[str, str, float]], *, ttl: float, max_members: int = 1000
    ) -> list[float]:
        """``record_score(index, member, score)`` for each triple, in order."""
        checked = [_args.score_entry(index, member, score) for index, member, score in batch]
        seconds = _args.seconds(ttl, "ttl")
        bound = _args.count(max_members, "max_members")
        with self._lock:
            now = time.monotonic()
            return [self._record_score(*entry, seconds, bound, now) for entry in checked]

    def _record_score(
        self, name: str, entry: str, value: float, seconds: float, bound: int, now: float
    ) -> float:
        scores = self._scores.get(name, now)
        if scores is None:
            scores = {}
            self._scores.put(name, scores, now + seconds, now)
        held = scores.get(entry)
        if held is not None and held >= value:
            return held
        scores[entry] = value
        _trim(scores, bound)
        return value

    def add_scores(self, batch: Sequence[tuple[str, Sequence[ScoreUpdate]]]) -> list[bool]:
        """Apply each token's updates atomically, at most once per token."""
        checked = [(_args.store_key(token, "token"), _args.score_updates(updates))
                   for token, updates in batch]
        applied = []
        with self._lock:
            now = time.monotonic()
            # As on Redis, an index is trimmed after each run of tokens one script call takes.
            for run in _args.chunks(checked, lambda entry: len(entry[1])):
                bounds: dict[str, int] = {}
                for marker, updates in run:
                    fresh = not self._scored.get(marker, now)
                    applied.append(fresh)
                    if not fresh:
                        continue
                    self._scored.put(marker, True, now + self.dedupe_ttl, now)
                    for update in updates:
                        self._add_score(update, now)
                        bounds[update.index] = min(update.max_members,
                                                   bounds.get(update.index, update.max_members))
                for name, bound in bounds.items():
                    scores = self._scores.get(name, now)
                    if scores is not None:
                        _trim(scores, bound)
        return applied

    def _add_score(self, update: ScoreUpdate, now: float) -> None:
        scores = self._scores.get(update.index, now)
        if scores is None:
            scores = {}
            self._scores.put(update.index, scores, now + update.ttl, now)
        scores[update.member] = scores.get(update.member, 0.0) + update.amount

    def top_scores(self, index: str, limit: int = 100) -> list[tuple[str, float]]:
        """Up to ``limit`` members of ``index``, highest score first."""
        name = _args.store_key(index, "index")
        with self._lock:
            scores = dict(self._scores.get(name, time.monotonic()) or {})
        ranked = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)
        return ranked[: max(0, limit)]

    def record_incident(
        self, event_id: str, update: IncidentUpdate, *, gap: float, ttl: float
    ) -> IncidentResult:
        """Add one event to its incident, atomically and at most once per ``event_id``."""
        event = _args.store_key(event_id, "event_id")
        checked = _args.incident_update(update)
        quiet = _args.seconds(gap, "gap")
        seconds = _args.seconds(ttl, "ttl")
        with self._lock:
            now = time.monotonic()
            held = self._incident_events.get(event, now)
            if held is not None and self._incidents.get(held, now) is not None:
                return IncidentResult(held, duplicate=True)
            incident = self._current_incident(checked, now) or _Incident(
                event, checked.client, checked.ts, checked.ts
            )
            incident.add(checked)
            self._incidents.put(incident.incident_id, incident, now + seconds, now)
            self._incident_events.put(event, incident.incident_id, now + self.dedupe_ttl, now)
            if checked.correlation_id:
                link = ("correlation", checked.correlation_id)
                self._incident_links.put(link, incident.incident_id, now + quiet, now)
            self._incident_links.put(
                ("client", checked.client), incident.incident_id, now + quiet, now
            )
            return IncidentResult(incident.incident_id, duplicate=False)

    def record_incidents(
        self, batch: Sequence[tuple[str, IncidentUpdate]], *, gap: float, ttl: float
    ) -> list[IncidentResult]:
        """``record_incident(event_id, update)`` for each pair, in order."""
        return [
            self.record_incident(event_id, update, gap=gap, ttl=ttl) for event_id, update in batch
        ]

    def _current_incident(self, update: IncidentUpdate, now: float) -> _Incident | None:
        links = [("client", update.client)]
        if update.correlation_id:
            links.insert(0, ("correlation", update.correlation_id))
        for link in links:
            incident_id = self._incident_links.get(link, now)
            incident = None if incident_id is None else self._incidents.get(incident_id, now)
            if incident is not None:
                return incident
        return None

    def get_incident(self, incident_id: str) -> IncidentRecord | None:
        """The incident ``incident_id``, or None when it does not exist or has expired."""
        name = _args.store_key(incident_id, "incident_id")
        with self._lock:
            incident = self._incidents.get(name, time.monotonic())
            return None if incident is None else incident.record()

    def list_incidents(self, limit: int = 100) -> list[IncidentRecord]:
        """Up to ``limit`` live incidents, the most recently active first."""
        with self._lock:
            records = [item.record() for _, item, _ in self._incidents.live(time.monotonic())]
        records.sort(key=lambda record: (-record.last_seen, record.incident_id))
        return records[: max(0, limit)]
