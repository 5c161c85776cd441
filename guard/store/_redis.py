"""The Redis store: shared state for every web process and worker, one Lua script per update.

Each multi-key update (a strike, a ban, an unban, a listing that prunes) is a Lua script, so it
is atomic without locks and costs one round trip. The scripts ship as package data in
``guard/store/lua/`` and are registered once per store; redis-py sends each by SHA and loads it
again on its own after a server restart. They read the server's clock, so all processes agree
on when a strike leaves its window.

The batch calls (``add_strikes``, ``tally_many``, ``add_scores``, ``record_incidents``) give a
whole batch to one script call: each entry still takes effect as its own call would, but the
batch costs one command instead of one per entry, and keys the entries share (a time bucket, a
client) travel once. A batch of more than ``_args.SCRIPT_BATCH`` entries is several calls in the
same round trip, so no call holds the server for long. The single calls are batches of one.

Key layout (every key has a TTL)::

    {prefix}ban:{key}        hash until/reason/created/source   expires with the ban
    {prefix}bans             zset key -> until (the ban index)  expires with its longest ban
    {prefix}strikes:{key}    zset event_id -> time              one window after the last strike
    {prefix}seen:{digest}    "1"; digest of (key, event_id)     max(window, dedupe_ttl)
    {prefix}counter:{name}   integer                            ttl of the creating increment
    {prefix}once:{token}     "1"                                ttl

    {prefix}tally:{group}              hash member -> count, and the    ttl of the creating call
                                       moments "\\0n", "\\0sum", "\\0sq"
    {prefix}tallied:{token}            "1"                              dedupe_ttl
    {prefix}scores:{index}             zset member -> highest score     ttl of the creating call
                                       (record_score) or running total
                                       (add_scores), bounded
    {prefix}scored:{token}             "1"                              dedupe_ttl
    {prefix}incident:{id}              hash (see IncidentRecord)        ttl after its last event
    {prefix}incidents:index            zset id -> last_seen (bounded)   ttl after the last event
    {prefix}incident-event:{event_id}  incident id                      dedupe_ttl
    {prefix}incident-corr:{corr_id}    incident id                      gap (quiet time)
    {prefix}incident-client:{key}      incident id                      gap (quiet time)

Calls fail fast: tight socket timeouts, no retry on a timeout (a stalled server would double
every wait) and one immediate retry on a dropped connection (a pooled socket the server
closed). Every redis-py error becomes a ``StorageError``; what to do about it is the caller's
failure policy, not the store's.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgpack
import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from guard.errors import ConfigurationError, StorageError
from guard.logsafe import safe
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

_SCRIPTS = (
    "add_strike", "ban", "unban", "list_bans", "count_strikes", "incr_counter",
    "tally", "read_tally", "record_score", "add_scores", "record_incident", "list_incidents",
)
_INCIDENT_LISTS = ("clients", "correlation_ids", "parts", "classes", "actions")
_Call = tuple[list[str], list[str | int | bytes]]
_BAN_FIELDS = ("until", "reason", "created", "source")


@functools.cache
def lua_source(name: str) -> str:
    """The text of script ``name``: the shared ``_lib.lua`` followed by ``{name}.lua``."""
    folder = resources.files("guard.store").joinpath("lua")
    library = folder.joinpath("_lib.lua").read_text("utf-8")
    return library + "\n" + folder.joinpath(f"{name}.lua").read_text("utf-8")


def redact(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:***"
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


@contextmanager
def _wrapped(operation: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StorageError(f"redis {operation} failed: {type(exc).__name__}: {exc}") from exc
    except (ValueError, TypeError, IndexError, msgpack.UnpackException) as exc:
        raise StorageError(f"redis {operation} answered wrongly: {exc}") from exc


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _packed(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=False)
    return packed


class _KeyList:
    """The distinct keys of one script call, numbered from 1 in the order first named: a key
    that many entries share (a time bucket, a client) is sent once."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._numbers: dict[str, int] = {}

    def number(self, name: str) -> int:
        """The number of ``name``, added at the end when new."""
        found = self._numbers.get(name)
        if found is None:
            self.names.append(name)
            found = self._numbers[name] = len(self.names)
        return found


class RedisStore:
    """The :class:`~guard.store.base.Store` on a Redis server (``redis://``, ``rediss://``,
    ``unix://``)."""

    def __init__(
        self,
        url: str,
        prefix: str = "guard:",
        *,
        socket_timeout: float = 0.05,
        socket_connect_timeout: float = 0.05,
        health_check_interval: int = 30,
        max_connections: int = 64,
        dedupe_ttl: float = 3600.0,
        counter_ttl: float = 86400.0,
        max_incidents: int = 10_000,
    ) -> None:
        scheme = urlsplit(url).scheme
        url = scheme.lower() + url[len(scheme) :]
        self.url = redact(url)
        self.prefix = _args.prefix(prefix)
        self.dedupe_ttl = _args.seconds(dedupe_ttl, "dedupe_ttl")
        self.counter_ttl = _args.seconds(counter_ttl, "counter_ttl")
        self.max_incidents = _args.count(max_incidents, "max_incidents")
        try:
            self._pool = redis.ConnectionPool.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_connect_timeout,
                health_check_interval=health_check_interval,
                max_connections=max_connections,
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            )
        except ValueError as exc:
            raise ConfigurationError(f"invalid Redis URL {safe(self.url)!r}: {exc}") from exc
        self._client = redis.Redis(connection_pool=self._pool)
        self._scripts: dict[str, Script] = {
            name: self._client.register_script(lua_source(name)) for name in _SCRIPTS
        }

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    @property
    def _index_key(self) -> str:
        return f"{self.prefix}bans"

    def _seen_key(self, key: str, event_id: str) -> str:
        # Bounded keys are printable, so a newline cannot occur in either and the pair is exact.
        digest = hashlib.sha256(f"{key}\n{event_id}".encode()).hexdigest()[:32]
        return self._key("seen", digest)

    def _run(
        self, name: str, keys: Sequence[str], args: Sequence[str | int | float | bytes]
    ) -> Any:
        with _wrapped(name):
            return self._scripts[name](keys=list(keys), args=list(args))

    def _run_many(self, name: str, calls: Sequence[_Call]) -> list[Any]:
        # Sent by SHA in one pipeline. Every script here is idempotent, so after a restarted
        # server forgot the script the whole pipeline is simply sent again once it is loaded.
        if not calls:
            return []
        if len(calls) == 1:
            return [self._run(name, *calls[0])]
        script = self._scripts[name]
        with _wrapped(name):
            for attempt in range(2):
                pipe = self._client.pipeline(transaction=False)
                for keys, args in calls:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                try:
                    return list(pipe.execute())
                except redis.exceptions.NoScriptError:
                    if attempt:
                        raise
                    self._client.script_load(script.script)
        raise AssertionError("unreachable")

    def get_ban(self, key: str) -> BanRecord | None:
        """The active ban on ``key``, or None."""
        member = _args.store_key(key)
        with _wrapped("get_ban"):
            fields = self._client.hmget(self._key("ban", member), list(_BAN_FIELDS))
            return None if fields[0] is None else _record(member, fields)

    def ban(self, key: str, duration: float, reason: str, source: str = "manual") -> BanRecord:
        """Ban ``key`` for ``duration`` seconds; a longer ban in force is kept and returned."""
        ban = _args.ban_args(key, duration, reason, source)
        keys = [self._key("ban", ban.key), self._index_key]
        fields = self._run("ban", keys, [ban.key, repr(ban.duration), ban.reason, ban.source])
        with _wrapped("ban"):
            return _record(ban.key, fields)

    def unban(self, key: str) -> bool:
        """Lift the ban on ``key``; True when there was one."""
        member = _args.store_key(key)
        lifted = self._run("unban", [self._key("ban", member), self._index_key], [member])
        return bool(lifted)

    def list_bans(self, limit: int = 1000) -> list[BanRecord]:
        """Up to ``limit`` active bans, the soonest to expire first."""
        if limit <= 0:
            return []
        rows = self._run("list_bans", [self._index_key], [limit, self._key("ban", "")])
        with _wrapped("list_bans"):
            return [_record(_text(row[0]), row[1:]) for row in rows]

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
        update = StrikeUpdate(key, event_id, window, threshold, ban_duration, reason, can_ban,
                              source)
        return self.add_strikes([update])[0]

    def add_strikes(self, batch: Sequence[StrikeUpdate]) -> list[StrikeResult]:
        """``add_strike`` for each update, in order, in one round trip."""
        checked = [_args.strike_update(update) for update in batch]
        calls = [self._strike_call(chunk) for chunk in _args.chunks(checked)]
        replies = self._run_many("add_strike", calls)
        with _wrapped("add_strike"):
            return [
                StrikeResult(int(strikes), bool(banned), bool(duplicate))
                for reply in replies
                for strikes, banned, duplicate in msgpack.unpackb(reply, raw=False)
            ]

    def _strike_call(self, strikes: Sequence[_args.StrikeArgs]) -> _Call:
        keys = _KeyList()
        entries = []
        for strike in strikes:
            ban = strike.ban
            entries.append([
                keys.number(self._seen_key(ban.key, strike.event_id)),
                keys.number(self._key("strikes", ban.key)),
                keys.number(self._key("ban", ban.key)),
                ban.key,
                strike.event_id,
                strike.window,
                strike.threshold,
                ban.duration,
                ban.reason,
                int(strike.can_ban),
                ban.source,
                max(strike.window, self.dedupe_ttl),
            ])
        return [self._index_key, *keys.names], [_args.MAX_STRIKES, _packed(entries)]

    def strikes(self, key: str, window: float) -> int:
        """Strikes against ``key`` in the last ``window`` seconds."""
        member = _args.store_key(key)
        seconds = _args.seconds(window, "window")
        reply = self._run("count_strikes", [self._key("strikes", member)], [repr(seconds)])
        with _wrapped("strikes"):
            return int(reply)

    def ping(self) -> bool:
        """True when Redis answers within the socket timeout; never raises."""
        try:
            return bool(self._client.ping())
        except Exception:
            return False

    def close(self) -> None:
        """Close every pooled connection."""
        self._client.close()
        self._pool.disconnect()

    def incr_counter(self, name: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to counter ``name``; the creating increment sets its TTL."""
        seconds = self.counter_ttl if ttl is None else _args.seconds(ttl, "ttl")
        counter = self._key("counter", _args.store_key(name, "name"))
        reply = self._run("incr_counter", [counter], [int(amount), repr(seconds)])
        with _wrapped("incr_counter"):
            return int(reply)

    def get_counter(self, name: str) -> int:
        """The value of counter ``name``, or 0."""
        counter = self._key("counter", _args.store_key(name, "name"))
        with _wrapped("get_counter"):
            value = self._client.get(counter)
            return 0 if value is None else int(value)

    def once(self, token: str, ttl: float) -> bool:
        """True the first time ``token`` is seen within ``ttl`` seconds."""
        marker = self._key("once", _args.store_key(token, "token"))
        milliseconds = math.ceil(_args.seconds(ttl, "ttl") * 1000)
        with _wrapped("once"):
            return bool(self._client.set(marker, b"1", nx=True, px=milliseconds))

    def tally(self, token: str, updates: Sequence[TallyUpdate]) -> TallyResult:
        """Apply every update atomically, all at most once per ``token``."""
        return self.tally_many([(token, updates)])[0]

    def tally_many(
        self, batch: Sequence[tuple[str, Sequence[TallyUpdate]]]
    ) -> list[TallyResult]:
        """``tally(token, updates)`` for each pair, in order, in one round trip."""
        plain: set[str] = set()
        checked = [(_args.store_key(token, "token"), _args.tally_updates(updates, plain))
                   for token, updates in batch]
        chunks = _args.chunks(checked, lambda entry: len(entry[1]))
        replies = self._run_many("tally", [self._tally_call(c) for c in chunks])
        return [result for reply in replies for result in _tally_results(reply)]

    def _tally_call(self, batch: Sequence[tuple[str, list[TallyUpdate]]]) -> _Call:
        groups = _KeyList()
        tracked: list[list[list[Any]]] = []
        # Untracked counts, summed over the batch per group and member, and each token's own
        # (read by the script only when some token was seen before).
        numbered: dict[tuple[int, str], int] = {}
        counts: list[list[Any]] = []
        own: list[list[Any]] = []
        for _, updates in batch:
            rows: list[list[Any]] = []
            flat: list[Any] = []
            for group, member, amount, ttl, track in updates:
                number = groups.number(group)
                if track:
                    rows.append([number, member, amount, ttl])
                    continue
                count = numbered.get((number, member))
                if count is None:
                    counts.append([number, member, amount, ttl])
                    count = numbered[number, member] = len(counts)
                else:
                    counts[count - 1][2] += amount
                flat += (count, amount, ttl)
            tracked.append(rows)
            own.append(flat)
        keys = [self._key("tallied", token) for token, _ in batch]
        keys += [self._key("tally", group) for group in groups.names]
        return keys, [repr(self.dedupe_ttl), _args.MAX_GROUP_MEMBERS, _packed(tracked),
                      _packed(counts), _packed(own)]

    def read_tally(self, group: str, limit: int = 100) -> GroupSnapshot:
        """The ``limit`` largest members of ``group`` and its moments (empty when absent)."""
        key = self._key("tally", _args.store_key(group, "group"))
        reply = self._run("read_tally", [key], [_args.MAX_LISTED_MEMBERS])
        with _wrapped("read_tally"):
            count, total, total_sq, flat = reply
            members = {
                _text(flat[i]): int(flat[i + 1])
                for i in range(0, len(flat), 2)
                if not flat[i].startswith(b"\0")
            }
            if int(count) == 0 and members:
                count, total = len(members), sum(members.values())
                total_sq = sum(value * value for value in members.values())
            top = sorted(members.items(), key=lambda item: (-item[1], item[0]))
            return GroupSnapshot(
                dict(top[: max(0, limit)]), int(count), int(total), float(total_sq)
            )

    def record_score(
        self, index: str, member: str, score: float, *, ttl: float, max_members: int = 1000
    ) -> float:
        """Keep the highest ``score`` seen for ``member`` in ``index`` and return it."""
        return self.record_scores([(index, member, score)], ttl=ttl, max_members=max_members)[0]

    def record_scores(
        self, batch: Sequence[tuple[str, str, float]], *, ttl: float, max_members: int = 1000
    ) -> list[float]:
        """``record_score(index, member, score)`` for each triple, in order, in one round
        trip."""
        checked = [_args.score_entry(index, member, score) for index, member, score in batch]
        seconds = repr(_args.seconds(ttl, "ttl"))
        bound = _args.count(max_members, "max_members")
        calls: list[_Call] = [
            ([self._key("scores", index)], [member, repr(score), seconds, bound])
            for index, member, score in checked
        ]
        replies = self._run_many("record_score", calls)
        with _wrapped("record_score"):
            return [float(reply) for reply in replies]

    def add_scores(self, batch: Sequence[tuple[str, Sequence[ScoreUpdate]]]) -> list[bool]:
        """Apply each token's updates atomically, at most once per token, in one round trip."""
        plain: set[str] = set()
        checked = [(_args.store_key(token, "token"), _args.score_updates(updates, plain))
                   for token, updates in batch]
        chunks = _args.chunks(checked, lambda entry: len(entry[1]))
        replies = self._run_many("add_scores", [self._scores_call(c) for c in chunks])
        with _wrapped("add_scores"):
            return [bool(applied) for reply in replies for applied in reply]

    def _scores_call(self, batch: Sequence[tuple[str, list[ScoreUpdate]]]) -> _Call:
        indexes = _KeyList()
        entries = [
            [[indexes.number(u.index), u.member, u.amount, u.ttl, u.max_members]
             for u in updates]
            for _, updates in batch
        ]
        keys = [self._key("scored", token) for token, _ in batch]
        keys += [self._key("scores", index) for index in indexes.names]
        return keys, [repr(self.dedupe_ttl), _packed(entries)]

    def top_scores(self, index: str, limit: int = 100) -> list[tuple[str, float]]:
        """Up to ``limit`` members of ``index``, highest score first."""
        if limit <= 0:
            return []
        key = self._key("scores", _args.store_key(index, "index"))
        with _wrapped("top_scores"):
            rows: Any = self._client.zrange(key, 0, limit - 1, desc=True, withscores=True)
            return [(_text(member), float(score)) for member, score in rows]

    def record_incident(
        self, event_id: str, update: IncidentUpdate, *, gap: float, ttl: float
    ) -> IncidentResult:
        """Add one event to its incident, atomically and at most once per ``event_id``."""
        return self.record_incidents([(event_id, update)], gap=gap, ttl=ttl)[0]

    def record_incidents(
        self, batch: Sequence[tuple[str, IncidentUpdate]], *, gap: float, ttl: float
    ) -> list[IncidentResult]:
        """``record_incident(event_id, update)`` for each pair, in order, in one round trip."""
        checked = [(_args.store_key(event_id, "event_id"), _args.incident_update(update))
                   for event_id, update in batch]
        settings: list[str | int | bytes] = [
            self._key("incident", ""),
            repr(_args.seconds(gap, "gap")),
            repr(_args.seconds(ttl, "ttl")),
            repr(self.dedupe_ttl),
            self.max_incidents,
            _args.MAX_INCIDENT_ITEMS,
        ]
        calls = [self._incident_call(chunk, settings) for chunk in _args.chunks(checked)]
        replies = self._run_many("record_incident", calls)
        with _wrapped("record_incident"):
            return [
                IncidentResult(incident_id, bool(duplicate))
                for reply in replies
                for duplicate, incident_id in msgpack.unpackb(reply, raw=False)
            ]

    def _incident_call(
        self, batch: Sequence[tuple[str, IncidentUpdate]], settings: list[str | int | bytes]
    ) -> _Call:
        keys = _KeyList()
        entries = [
            [
                keys.number(self._key("incident-event", event)),
                keys.number(self._key("incident-corr", update.correlation_id or "-")),
                keys.number(self._key("incident-client", update.client)),
                event,
                update.client,
                update.correlation_id,
                update.ts,
                update.part,
                update.attack_class,
                update.action,
                update.score,
            ]
            for event, update in batch
        ]
        return [self._key("incidents", "index"), *keys.names], [*settings, _packed(entries)]

    def get_incident(self, incident_id: str) -> IncidentRecord | None:
        """The incident ``incident_id``, or None when it does not exist or has expired."""
        name = _args.store_key(incident_id, "incident_id")
        with _wrapped("get_incident"):
            flat: Any = self._client.hgetall(self._key("incident", name))
            return _incident(name, flat) if flat else None

    def list_incidents(self, limit: int = 100) -> list[IncidentRecord]:
        """Up to ``limit`` live incidents, the most recently active first."""
        if limit <= 0:
            return []
        keys = [self._key("incidents", "index")]
        rows = self._run("list_incidents", keys, [limit, self._key("incident", "")])
        with _wrapped("list_incidents"):
            return [_incident(_text(incident_id), flat) for incident_id, flat in rows]


def _tally_results(reply: Any) -> list[TallyResult]:
    with _wrapped("tally"):
        return [
            TallyResult(
                tuple(Tally(int(value), int(members), int(total), float(total_sq))
                      for value, members, total, total_sq in rows),
                bool(duplicate),
            )
            for duplicate, rows in msgpack.unpackb(reply, raw=False)
        ]


def _incident(incident_id: str, flat: Sequence[Any]) -> IncidentRecord:
    if isinstance(flat, dict):
        fields = {_text(k): _text(v) for k, v in flat.items()}
    else:
        fields = {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}
    lists = {
        name: tuple(item for item in fields.get(name, "").split("\x1f") if item)
        for name in _INCIDENT_LISTS
    }
    return IncidentRecord(
        incident_id=incident_id,
        client=fields["client"],
        first_seen=float(fields["first_seen"]),
        last_seen=float(fields["last_seen"]),
        events=int(fields["events"]),
        max_score=float(fields["max_score"]),
        **lists,
    )


def _record(member: str, fields: Sequence[Any]) -> BanRecord:
    until, reason, created, source = fields
    if reason is None or created is None or source is None:
        raise ValueError("incomplete ban record")
    return BanRecord(
        key=member,
        until=float(until),
        reason=_text(reason),
        created=float(created),
        source=_text(source),
    )
