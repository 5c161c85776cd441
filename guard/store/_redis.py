"""The Redis store: shared state for every web process and worker, one Lua script per update.

Each multi-key update (a strike, a ban, an unban, a listing that prunes) is a Lua script, so it
is atomic without locks and costs one round trip. The scripts ship as package data in
``guard/store/lua/`` and are registered once per store; redis-py sends each by SHA and loads it
again on its own after a server restart. They read the server's clock, so all processes agree
on when a strike leaves its window.

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
        strike = _args.strike_args(
            key, event_id, window, threshold, ban_duration, reason, can_ban, source
        )
        ban = strike.ban
        keys = [
            self._seen_key(ban.key, strike.event_id),
            self._key("strikes", ban.key),
            self._key("ban", ban.key),
            self._index_key,
        ]
        args: list[str | int] = [
            ban.key,
            strike.event_id,
            repr(strike.window),
            strike.threshold,
            repr(ban.duration),
            ban.reason,
            "1" if strike.can_ban else "0",
            ban.source,
            repr(max(strike.window, self.dedupe_ttl)),
            _args.MAX_STRIKES,
        ]
        reply = self._run("add_strike", keys, args)
        with _wrapped("add_strike"):
            strikes, banned, duplicate = reply
            return StrikeResult(int(strikes), bool(banned), bool(duplicate))

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
        return _tally_result(self._run("tally", *self._tally_call(token, updates)))

    def tally_many(
        self, batch: Sequence[tuple[str, Sequence[TallyUpdate]]]
    ) -> list[TallyResult]:
        """``tally(token, updates)`` for each pair, in order, in one round trip."""
        calls = [self._tally_call(token, updates) for token, updates in batch]
        return [_tally_result(reply) for reply in self._run_many("tally", calls)]

    def _tally_call(self, token: str, updates: Sequence[TallyUpdate]) -> _Call:
        marker = self._key("tallied", _args.store_key(token, "token"))
        checked = _args.tally_updates(updates)
        keys = [marker, *(self._key("tally", update.group) for update in checked)]
        params = [[u.member, u.amount, u.ttl, int(u.track)] for u in checked]
        args: list[str | int | bytes] = [
            repr(self.dedupe_ttl),
            _args.MAX_GROUP_MEMBERS,
            msgpack.packb(params, use_bin_type=False),
        ]
        return keys, args

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
        key = self._key("scores", _args.store_key(index, "index"))
        args: list[str | int] = [
            _args.store_key(member, "member"),
            repr(_args.score(score)),
            repr(_args.seconds(ttl, "ttl")),
            _args.count(max_members, "max_members"),
        ]
        reply = self._run("record_score", [key], args)
        with _wrapped("record_score"):
            return float(reply)

    def add_scores(self, batch: Sequence[tuple[str, Sequence[ScoreUpdate]]]) -> list[bool]:
        """Apply each token's updates atomically, at most once per token, in one round trip."""
        calls: list[_Call] = []
        for token, updates in batch:
            checked = _args.score_updates(updates)
            keys = [self._key("scored", _args.store_key(token, "token")),
                    *(self._key("scores", update.index) for update in checked)]
            params = [[u.member, u.amount, u.ttl, u.max_members] for u in checked]
            packed = msgpack.packb(params, use_bin_type=False)
            calls.append((keys, [repr(self.dedupe_ttl), packed]))
        return [bool(reply) for reply in self._run_many("add_scores", calls)]

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
        call = self._incident_call(event_id, update, gap, ttl)
        return _incident_result(self._run("record_incident", *call))

    def record_incidents(
        self, batch: Sequence[tuple[str, IncidentUpdate]], *, gap: float, ttl: float
    ) -> list[IncidentResult]:
        """``record_incident(event_id, update)`` for each pair, in order, in one round trip."""
        calls = [self._incident_call(event_id, update, gap, ttl) for event_id, update in batch]
        return [_incident_result(reply) for reply in self._run_many("record_incident", calls)]

    def _incident_call(
        self, event_id: str, update: IncidentUpdate, gap: float, ttl: float
    ) -> _Call:
        event = _args.store_key(event_id, "event_id")
        checked = _args.incident_update(update)
        keys = [
            self._key("incident-event", event),
            self._key("incident-corr", checked.correlation_id or "-"),
            self._key("incident-client", checked.client),
            self._key("incidents", "index"),
        ]
        args: list[str | int | bytes] = [
            event,
            self._key("incident", ""),
            checked.client,
            checked.correlation_id,
            repr(checked.ts),
            checked.part,
            checked.attack_class,
            checked.action,
            repr(checked.score),
            repr(_args.seconds(gap, "gap")),
            repr(_args.seconds(ttl, "ttl")),
            repr(self.dedupe_ttl),
            self.max_incidents,
            _args.MAX_INCIDENT_ITEMS,
        ]
        return keys, args

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


def _tally_result(reply: Any) -> TallyResult:
    with _wrapped("tally"):
        duplicate, rows = msgpack.unpackb(reply, raw=False)
        tallies = tuple(
            Tally(int(value), int(members), int(total), float(total_sq))
            for value, members, total, total_sq in rows
        )
        return TallyResult(tallies, bool(duplicate))


def _incident_result(reply: Any) -> IncidentResult:
    with _wrapped("record_incident"):
        duplicate, incident_id = reply
        return IncidentResult(_text(incident_id), bool(duplicate))


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
