"""The Flask extension: screen every request, block or log, count strikes, enforce bans.

Order of work for one request (the cheap refusals come first):

1. excluded path or exempt route: nothing but the correlation ID;
2. client address (socket peer unless trusted proxies are configured);
3. ban check: local cache, then at most one store call behind a circuit breaker;
4. size check: a declared body over ``max_request_size`` is refused with 413 unread;
5. screening of every part of the request through the shared detection engine;
6. verdict: 403 (active) or one ``[PASSIVE MODE]`` log line; a strike for the client, and a ban
   at ``auto_ban_threshold`` strikes (never in passive mode, never for whitelisted clients).

Guard's own failures never turn into a 500: an unexpected error while screening is logged and
the request continues (fail-open), and an unreachable store degrades as ``fail_mode`` says.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import (
    Flask,
    Request,
    Response,
    after_this_request,
    current_app,
    has_request_context,
    jsonify,
    request,
)
from opentelemetry import metrics, trace
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from guard import forksafe
from guard.bancache import BanCache, Breaker
from guard.client_ip import ClientResolver, in_networks, parse_networks
from guard.config import SecurityConfig
from guard.dispatch import CeleryTransport, EventPublisher, InProcessTransport, Transport
from guard.engine import normalize
from guard.engine.memo import RAW_MAX_CHARS, CleanMemo, rememberable
from guard.errors import StorageError
from guard.events import DetectionEvent, RuleHit
from guard.handlers.suspatterns_handler import sus_patterns_handler
from guard.logsafe import safe
from guard.request_parts import Limits, Part, content_length, request_parts
from guard.store import Store, create_store
from guard.telemetry import Telemetry, current_trace_carrier, detection_attributes
from guard.utils import describe

log = logging.getLogger("guard")
F = TypeVar("F", bound=Callable[..., Any])

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_LOWER = REQUEST_ID_HEADER.lower()
_REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
_CID_ENVIRON = "guard.correlation_id"
_SPAN_ENVIRON = "guard.span"
_ENTERED_ENVIRON = "guard.entered"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_ROUTE_ATTR = "_guard_route"
SEMANTIC_PARTS = frozenset(
    {"query", "form", "json", "body", "cookie", "filename", "file_content"}
)
"""Parts the model reads inline: user data. Paths, names and headers get the rules only, which
keeps the model off every request's fixed headers. A JSON body's strings are read one distinct
string at a time (:meth:`DetectionEngine.strings_are_clean`), so a value is judged alike in a query
and in a JSON body."""
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RouteRules:
    """Per-route overrides set with :meth:`FlaskAPIGuard.route`."""

    exempt: bool = False
    passive: bool | None = None
    semantic: bool | None = None
    min_score: float | None = None
    max_request_size: int | None = None


@dataclass
class Verdict:
    """What screening decided for one request."""

    blocked: bool = False
    deferred: str = ""
    part: Part | None = None
    result: dict[str, Any] | None = None
    truncated: bool = False
    elapsed: float = 0.0


@dataclass
class GuardState:
    """Everything the extension keeps for one Flask app (``app.extensions["guard"]``)."""

    config: SecurityConfig
    store: Store
    resolver: ClientResolver
    bans: BanCache
    breaker: Breaker
    whitelist: tuple[Any, ...]
    limits: Limits
    excluded_params: frozenset[str]
    excluded_headers: frozenset[str]
    publisher: EventPublisher
    telemetry: Telemetry
    counters: dict[str, int] = field(default_factory=dict)
    budget: CpuBudget | None = None
    """The embedded pipeline's CPU budget; None with a broker or an injected transport."""

    def count(self, name: str) -> None:
        """Bump an in-process counter (reported by status and tests)."""
        self.counters[name] = self.counters.get(name, 0) + 1

    def analysis_shed(self) -> int:
        """Analyses of passed requests the embedded pipeline left undone to keep its budget."""
        return (self.budget.shed if self.budget else 0) + self.counters.get("analysis_shed", 0)


class FlaskAPIGuard:
    """Protects a Flask app: ``FlaskAPIGuard(app, config=SecurityConfig(...))`` or ``init_app``.

    Settings come from ``config`` when given, else from ``GUARD_*`` keys in ``app.config``;
    keyword ``overrides`` beat both.
    """

    def __init__(
        self,
        app: Flask | None = None,
        config: SecurityConfig | None = None,
        *,
        store: Store | None = None,
        transport: Transport | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        **overrides: Any,
    ) -> None:
        self._config = config
        self._store = store
        self._transport = transport
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._overrides = overrides
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, config: SecurityConfig | None = None) -> None:
        """Register the request hooks and the per-app state on ``app``."""
        config = config or self._config
        if config is None:
            config = SecurityConfig.from_mapping(app.config, **self._overrides)
        elif self._overrides:
            config = config.replace(**self._overrides)
        store = self._store or create_store(
            config.redis_url, prefix=config.redis_prefix, timeout=config.store_timeout
        )
        telemetry = Telemetry(self._tracer_provider, self._meter_provider)
        budget = CpuBudget()
        publisher = EventPublisher(
            self._transport or _default_transport(config, store, self._tracer_provider, budget),
            maxsize=config.event_queue_size,
            on_drop=telemetry.dropped.add,
        )
        telemetry.watch_queue(lambda: publisher.depth)
        state = GuardState(
            config=config,
            publisher=publisher,
            telemetry=telemetry,
            store=store,
            resolver=ClientResolver(config.trusted_proxies, config.ban_ipv6_prefix),
            bans=BanCache(ttl=config.ban_cache_ttl),
            breaker=Breaker(f"guard store {store.url}"),
            whitelist=parse_networks(config.whitelist),
            limits=Limits(
                max_parts=config.inspect_max_parts,
                max_json_depth=config.inspect_max_json_depth,
                max_body_bytes=config.max_request_size,
                upload_sniff_bytes=config.inspect_upload_bytes,
            ),
            excluded_params=frozenset(config.excluded_params),
            excluded_headers=frozenset(h.lower() for h in config.excluded_headers),
            budget=None if self._transport or config.broker_url else budget,
        )
        sus_patterns_handler.configure(config)
        sus_patterns_handler.attach_store(store)
        _start_stats_flusher(state)
        if config.redis_url and config.share_patterns:
            try:
                sus_patterns_handler.share_patterns(config.redis_url, config.redis_prefix)
            except Exception as exc:
                log.error("pattern sharing unavailable, local patterns only: %s", exc)
        first = "guard" not in app.extensions
        app.extensions["guard"] = state
        if config.dashboard_enabled:
            from guard.dashboard import init_dashboard

            init_dashboard(app, state)
        if first:
            app.before_request(_before_request)
            app.wsgi_app = _RequestScope(app.wsgi_app, app)  # type: ignore[method-assign]

    @staticmethod
    def route(**rules: Any) -> Callable[[F], F]:
        """Decorate a view to exempt it or tighten its rules, e.g. ``@guard.route(passive=False)``.

        Keywords: ``exempt``; ``passive``; ``semantic`` (run the model inline); ``min_score``
        (block only at or above this threat score, to silence a noisy route);
        ``max_request_size``.
        """
        route_rules = RouteRules(**rules)

        def decorate(view: F) -> F:
            setattr(view, _ROUTE_ATTR, route_rules)
            return view

        return decorate

    @staticmethod
    def exempt(view: F) -> F:
        """Decorate a view so that Guard never screens it (bans still apply)."""
        return FlaskAPIGuard.route(exempt=True)(view)


Guard = FlaskAPIGuard


STATS_FLUSH_INTERVAL = 2.0
STATS_TTL = 7 * 86400


def _start_stats_flusher(state: GuardState) -> None:
    """Add this process's publish, drop and shed counts to the shared counters every few
    seconds, so ``guard status`` in any process sees the totals of all web processes."""
    flushed = {"published": 0, "dropped": 0, "shed": 0}

    def run() -> None:
        while True:
            time.sleep(STATS_FLUSH_INTERVAL)
            current = {"published": state.publisher.stats.published,
                       "dropped": state.publisher.stats.dropped,
                       "shed": state.analysis_shed()}
            for name, value in current.items():
                delta = value - flushed[name]
                if delta <= 0:
                    continue
                try:
                    state.store.incr_counter(f"events:{name}", delta, ttl=STATS_TTL)
                except StorageError:
                    break
                flushed[name] = value

    forksafe.start_daemon("guard-stats", run)


def _default_transport(
    config: SecurityConfig, store: Store, tracer_provider: trace.TracerProvider | None,
    budget: CpuBudget,
) -> Transport:
    """Celery when a broker is configured, else the pipeline on the publisher thread."""
    if config.broker_url:
        return CeleryTransport(config.broker_url)
    return InProcessTransport(_in_process_pipeline(config, store, tracer_provider, budget))


EMBEDDED_CPU_SHARE = 0.1
"""Most of one core the embedded pipeline (no broker) may spend on analysing requests that
passed inline, so that it never makes the web process it shares slow."""

EMBEDDED_CPU_BURST = 1.0
"""CPU seconds the embedded pipeline may spend at once before the share paces it."""

_SHEDDABLE = frozenset({"allowed", "sampled"})


EMBEDDED_QUIET = 0.002
"""Seconds without a request in flight before the embedded pipeline analyses a passed request."""

EMBEDDED_WAIT = 0.05
"""Longest the embedded pipeline waits, per batch, for quiet moments before it sheds the rest."""

EMBEDDED_POLL_MAX = 0.016
"""Longest pause between two looks for a quiet moment (see :meth:`CpuBudget.wait_quiet`)."""


class CpuBudget:
    """When the embedded pipeline may analyse requests that passed inline.

    A token bucket of CPU seconds (refilled at :data:`EMBEDDED_CPU_SHARE` of wall time, holding
    at most :data:`EMBEDDED_CPU_BURST`) bounds the work, and a count of requests in flight keeps
    it to quiet moments: the pipeline shares the GIL with the requests, and a request arriving
    while the model runs would wait for it.
    """

    def __init__(self) -> None:
        self._tokens = EMBEDDED_CPU_BURST
        self._at = time.monotonic()
        self._in_flight = 0
        self._last_request = 0.0
        self._quiet_at = self._at
        self._lock = threading.Lock()
        self.shed = 0
        """Analyses of passed requests not done for lack of budget or of a quiet moment."""

    def available(self) -> bool:
        """True while the bucket holds any CPU time."""
        # Request threads refill while the pipeline's thread spends: without the lock, a
        # refill that read the tokens before a spend would write the spend away.
        with self._lock:
            now = time.monotonic()
            self._tokens = min(EMBEDDED_CPU_BURST,
                               self._tokens + (now - self._at) * EMBEDDED_CPU_SHARE)
            self._at = now
            return self._tokens > 0

    def spend(self, seconds: float) -> None:
        """Take ``seconds`` of CPU time out of the bucket."""
        with self._lock:
            self._tokens -= seconds

    def accepts(self, entered: float) -> bool:
        """Whether an analysis of a passed request that started at ``entered`` (monotonic) is
        worth queueing: the bucket holds CPU time and the process had a quiet moment within
        :data:`EMBEDDED_WAIT` before that request started.

        A process busy for longer than that would make the analysis wait out its deadline and
        shed it anyway, and meanwhile the pipeline's thread would keep waking to look for a
        quiet moment, which costs the running requests (see :meth:`wait_quiet`). The request's
        own time does not count: a slow upload to an idle process is still analysed."""
        return entered - self._quiet_at <= EMBEDDED_WAIT and self.available()

    def enter(self, now: float) -> None:
        """A request started at ``now`` (monotonic)."""
        with self._lock:
            if not self._in_flight and now - self._last_request >= EMBEDDED_QUIET:
                self._quiet_at = now
            self._in_flight += 1

    def leave(self) -> None:
        """A request ended."""
        with self._lock:
            self._in_flight -= 1
            self._last_request = time.monotonic()

    def wait_quiet(self, deadline: float) -> bool:
        """Wait, until ``deadline`` (monotonic) at most, for no request in flight during
        :data:`EMBEDDED_QUIET`; False if that moment did not come.

        Each look takes the GIL from the requests, and handing it back costs the request that
        was running tens of microseconds. The looks start every half quiet period and back off
        to :data:`EMBEDDED_POLL_MAX` while the process stays busy, so that a busy process pays
        a few of them per batch, not one per millisecond."""
        pause = EMBEDDED_QUIET / 2
        while True:
            now = time.monotonic()
            if not self._in_flight and now - self._last_request >= EMBEDDED_QUIET:
                self._quiet_at = now
                return True
            if now >= deadline:
                return False
            time.sleep(min(pause, max(deadline - now, 0.0)))
            pause = min(pause * 2, EMBEDDED_POLL_MAX)


def _in_process_pipeline(
    config: SecurityConfig, store: Store, tracer_provider: trace.TracerProvider | None,
    budget: CpuBudget,
) -> Callable[[Sequence[DetectionEvent]], None]:
    """The pipeline as a function of a batch, for :class:`InProcessTransport`.

    Detections (blocked or logged requests) are always processed, in a quiet moment if one
    comes within :data:`EMBEDDED_WAIT`. Events of requests that passed inline ("allowed",
    "sampled") are analysed one at a time, each in a quiet moment and only while ``budget``
    holds CPU time; otherwise they are shed and counted. Web requests read
    the same budget and do not even build such an event while it is empty, or while the process
    has had no quiet moment for :data:`EMBEDDED_WAIT` (it would be shed). With workers none of
    this applies: they run on their own cores.
    """
    context: list[Any] = []

    def run(events: Sequence[DetectionEvent]) -> None:
        from pipelines import PipelineContext, process_events

        if not context:
            context.append(PipelineContext(config=config, store=store,
                                           tracer_provider=tracer_provider))
        started = time.thread_time()
        try:
            process_events(events, context[0])
        finally:
            budget.spend(time.thread_time() - started)

    def process(events: Sequence[DetectionEvent]) -> None:
        # One wait per batch, so that a busy process sheds quickly instead of letting the
        # publish queue fill up behind these events and drop detections.
        deadline = time.monotonic() + EMBEDDED_WAIT
        detections = [event for event in events if event.action not in _SHEDDABLE]
        if detections:
            # Their strikes were counted inline; the rest of their analysis can wait for a
            # quiet moment, but never longer than the batch's deadline, and is never shed.
            budget.wait_quiet(deadline)
            run(detections)
        for event in events:
            if event.action not in _SHEDDABLE:
                continue
            if budget.available() and budget.wait_quiet(deadline):
                run([event])
            else:
                budget.shed += 1

    return process


def state_for(app: Flask) -> GuardState:
    """The Guard state registered on ``app``."""
    state: GuardState = app.extensions["guard"]
    return state


# ---------------------------------------------------------------------- request hooks
class _RequestScope:
    """The WSGI layer around the app that brackets each request: it counts the request in
    flight for the embedded pipeline's CPU budget, gives it its correlation ID, writes that ID
    into the response headers and ends the request's span.

    One wrapper call replaces an after-request and a teardown hook. Those cost about 9 µs per
    request between them (Flask dispatches each hook through its own machinery, and every
    ``g`` or ``request`` access is a context-local lookup), while this costs about 2; and a
    ``finally`` here runs whatever another hook raises. Per-request values live in the environ,
    not ``g``, which nested requests of one app context share.
    """

    __slots__ = ("app", "wsgi_app")

    def __init__(self, wsgi_app: Callable[..., Any], app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Serve one request through the wrapped app."""
        state: GuardState | None = self.app.extensions.get("guard")
        budget = state.budget if state is not None else None
        cid = _open_scope(environ, budget)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers[:] = [h for h in headers if h[0].lower() != _REQUEST_ID_LOWER]
            headers.append((REQUEST_ID_HEADER, cid))
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            _close_scope(environ, budget)


def _open_scope(environ: dict[str, Any], budget: CpuBudget | None) -> str:
    """Name the request and count it in flight; returns its correlation ID. An outer Guard
    layer (another app dispatching to this one) may have named it already."""
    cid: str = environ.get(_CID_ENVIRON) or _correlation_id(environ)
    environ[_CID_ENVIRON] = cid
    if budget is not None:
        environ[_ENTERED_ENVIRON] = entered = time.monotonic()
        budget.enter(entered)
    return cid


def _close_scope(environ: dict[str, Any], budget: CpuBudget | None) -> None:
    """The request ends: it leaves the budget, and its span ends."""
    if budget is not None:
        budget.leave()
    span = environ.pop(_SPAN_ENVIRON, None)
    if span is not None:
        span.end()


def _before_request() -> Response | tuple[Response, int] | None:
    # One lookup of each context-local: every access through the proxies costs a lookup.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    state = state_for(app)
    config = state.config
    if _CID_ENVIRON not in environ:
        _scope_by_hand(state, environ)
    path = req.path
    if config.exclude_paths and any(path.startswith(p) for p in config.exclude_paths):
        return None
    if state.telemetry.tracing():
        method = req.method if req.method in _METHODS else "OTHER"
        url_rule = req.url_rule
        environ[_SPAN_ENVIRON] = state.telemetry.start_request_span(
            "guard.screen",
            {"http.request.method": method,
             "http.route": url_rule.rule[:128] if url_rule is not None else "unmatched"},
        )
    rules = _route_rules(app, req)
    client = state.resolver.client(
        req.remote_addr,
        environ.get("HTTP_X_FORWARDED_FOR") if state.resolver.trusts_proxies else None,
    )
    key = state.resolver.ban_key(client)
    whitelisted = in_networks(client, state.whitelist)
    if not whitelisted and state.resolver.is_proxy(client):
        # Screened and blocked like anyone, but never struck: the ban would cover everyone
        # behind the proxy. An empty ban key tells the pipeline the same.
        whitelisted, key = True, ""
    if not whitelisted:
        refused = _check_ban(state, key, client)
        if refused is not None:
            return refused
    if rules.exempt or not config.enable_penetration_detection:
        return None
    limit = rules.max_request_size or config.max_request_size
    length = content_length(environ)
    if length is not None and length > limit:
        state.count("too_large")
        return _error(413, "Request body too large")
    try:
        if _streamed_body_exceeds(req, length, limit):
            state.count("too_large")
            return _error(413, "Request body too large")
        verdict = _screen(state, rules, client)
    except RequestEntityTooLarge:
        state.count("too_large")
        return _error(413, "Request body too large")
    except HTTPException:
        raise
    except Exception:
        state.count("screening_errors")
        log.exception("screening failed; request allowed (fail-open)")
        return None
    state.telemetry.screened.add(1)
    state.telemetry.latency.record(verdict.elapsed * 1000)
    if verdict.result is None:
        if verdict.deferred:
            _emit(state, verdict, client, key, "allowed", strike_counted=False,
                  value=verdict.deferred, inline_semantic=False)
        else:
            _maybe_sample(state, client, key)
        return None
    return _act(state, rules, verdict, client, key, whitelisted)


def _scope_by_hand(state: GuardState, environ: dict[str, Any]) -> None:
    """What the WSGI layer does, for a request dispatched without it (a request context
    driven by hand: ``test_request_context`` and ``preprocess_request``). Flask's
    ``after_this_request`` ends it, so an exception in the view leaves it counted in flight;
    served requests always pass the layer."""
    budget = state.budget
    cid = _open_scope(environ, budget)

    def end(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = cid
        _close_scope(environ, budget)
        return response

    after_this_request(end)


def _accepts(state: GuardState, environ: dict[str, Any]) -> bool:
    """Whether the embedded pipeline takes an analysis of this passed request (always, with
    workers)."""
    budget = state.budget
    return budget is None or budget.accepts(environ.get(_ENTERED_ENVIRON, 0.0))


def _current_span() -> Any:
    span = request.environ.get(_SPAN_ENVIRON)
    return span if span is not None else trace.get_current_span()


def correlation_id() -> str | None:
    """The correlation ID of the request being handled: the client's well-formed
    ``X-Request-ID``, else the one Guard made up. It is the ID in the response header, the logs
    and the events, so an application's own logging can carry it. ``None`` outside a request,
    or in an app Guard does not guard."""
    if not has_request_context():
        return None
    cid: str | None = request.environ.get(_CID_ENVIRON)
    return cid


def _streamed_body_exceeds(req: Request, length: int | None, limit: int) -> bool:
    """For a body without Content-Length (chunked), read at most ``limit + 1`` bytes and say
    whether there was more: the stream stops at the cap instead of raising, so one extra byte is
    how an oversize body shows itself."""
    if length is not None or "HTTP_TRANSFER_ENCODING" not in req.environ:
        req.max_content_length = limit
        return False
    req.max_content_length = limit + 1
    return len(req.get_data(cache=True)) > limit


def _correlation_id(environ: dict[str, Any]) -> str:
    supplied = str(environ.get(_REQUEST_ID_ENVIRON) or "")
    if supplied and _REQUEST_ID.match(supplied):
        return supplied
    return _new_id()


_IDS = random.Random(os.urandom(32))
forksafe.on_fork(lambda: _IDS.seed(os.urandom(32)))


def _new_id() -> str:
    """A random 128-bit id in hex, for correlation and event ids.

    These need to be unique, not secret. ``os.urandom`` is a system call, and releasing the GIL
    for it on every request lets the publisher thread take over for a whole switch interval.
    Guard's own generator is seeded from it, reseeded in every forked child, and out of reach
    of an application that seeds the global ``random``.
    """
    return f"{_IDS.getrandbits(128):032x}"


def _route_rules(app: Flask, req: Request) -> RouteRules:
    view = app.view_functions.get(req.endpoint or "")
    rules = getattr(view, _ROUTE_ATTR, None)
    return rules if isinstance(rules, RouteRules) else _NO_RULES


_NO_RULES = RouteRules()


def _check_ban(state: GuardState, key: str, client: str) -> tuple[Response, int] | None:
    cached = state.bans.lookup(key)
    if cached is None:
        try:
            record = state.breaker.call(lambda: state.store.get_ban(key))
        except StorageError:
            state.count("store_unavailable")
            if state.config.fail_mode == "closed":
                return _error(503, "Service temporarily unavailable")
            return None
        state.bans.remember(key, record.until if record is not None else 0.0)
        cached = record is not None
    if cached:
        state.count("banned_refused")
        return _error(403, "Forbidden: client is banned")
    return None


def _screen(state: GuardState, rules: RouteRules, client: str) -> Verdict:
    started = time.perf_counter()
    engine = sus_patterns_handler.engine
    semantic = state.config.inline_semantic if rules.semantic is None else rules.semantic
    json_strings: list[list[str]] = []

    def json_body_is_clean(strings: list[str]) -> bool:
        json_strings.append(strings)
        return engine.strings_are_clean(strings, semantic=semantic)

    limits = state.limits
    if rules.max_request_size and rules.max_request_size > limits.max_body_bytes:
        # A route that accepts bigger bodies gets them read whole, not cut at the app's limit.
        limits = dataclasses.replace(limits, max_body_bytes=rules.max_request_size)
    memo = engine.memo.raw
    # The request itself, not the context-local proxy: the walk reads a dozen attributes.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    skip, unseen = ((frozenset(), []) if not engine.remembers_clean else
                    _remembered_components(req, semantic, memo, state))
    parts, truncated = request_parts(req, limits, json_body_is_clean, skip)
    verdict = Verdict(truncated=truncated)
    if state.excluded_params or state.excluded_headers:
        parts = [p for p in parts if not _excluded(state, p)]
    values = [p.value for p in parts]
    contexts = [p.location for p in parts]
    found = False
    floor = rules.min_score
    for index, result in engine.screen_many(values, contexts, semantic=semantic,
                                            semantic_contexts=SEMANTIC_PARTS, floor=floor):
        found = True
        if result["truncated"]:
            verdict.truncated = True
        if result["is_threat"] and (floor is None or result["threat_score"] >= floor):
            verdict.part, verdict.result = parts[index], result
            break
    if not found and not truncated:
        for key in unseen:
            memo.add(key)
    if verdict.result is None and not semantic:
        # With the inline model on it has read everything; otherwise the pipeline's does.
        if _accepts(state, req.environ):
            verdict.deferred = _deferred_value(engine, parts, json_strings)
        else:
            state.count("analysis_shed")
    verdict.elapsed = time.perf_counter() - started
    state.count("screened")
    if verdict.truncated:
        state.count("truncated")
        log.info("request from %s inspected partially (limits reached)", safe(client, 64))
    return verdict


def _remembered_components(
    req: Request, semantic: bool, memo: CleanMemo, state: GuardState
) -> tuple[frozenset[str], list[tuple[str, str, bool, type]]]:
    """Which of the query string and the Cookie header are remembered clean as a whole (their
    parts are then neither parsed nor screened), and the keys of the others, to remember when
    the request turns out clean. Exclusions make "every part was clean" a statement about one
    configuration only, so with exclusions nothing is remembered. Neither is anything with the
    inline model off: then every request that passes hands a value to the pipeline's model,
    which may still strike the client for it, so its parts must be there to choose from.
    The key holds the request class too: the memory is shared by every app in the process, and
    an app with its own request class may parse a query string or cookies its own way."""
    if not semantic or state.excluded_params or state.excluded_headers:
        return frozenset(), []
    environ = req.environ
    skip: list[str] = []
    unseen: list[tuple[str, str, bool, type]] = []
    for component, environ_key in _REMEMBERED_COMPONENTS:
        raw = environ.get(environ_key)
        if not raw or not rememberable(raw, RAW_MAX_CHARS):
            continue
        key = (component, raw, semantic, type(req))
        if key in memo:
            skip.append(component)
        else:
            unseen.append(key)
    return frozenset(skip), unseen


_REMEMBERED_COMPONENTS = (("query", "QUERY_STRING"), ("cookie", "HTTP_COOKIE"))


def _deferred_value(engine: Any, parts: list[Part], json_strings: list[list[str]]) -> str:
    """What the pipeline's model should read for a request that passed inline with the inline
    model off: the JSON body's strings, else the first user-data value the model's gate wants
    to read. Empty when there is nothing worth a look."""
    analyzer = engine.analyzer
    if not analyzer.loaded:
        return ""
    if json_strings:
        strings = normalize.normalize("\n".join(json_strings[0]))
        if analyzer.worth_analyzing(strings):
            return strings
    for part in parts:
        if part.location in SEMANTIC_PARTS:
            value = normalize.normalize(part.value[:8192])
            if analyzer.worth_analyzing(value):
                return value
    return ""


def _excluded(state: GuardState, part: Part) -> bool:
    if part.location in ("query", "query_key", "form", "form_key", "json", "json_key"):
        return part.name in state.excluded_params or part.name.rsplit(".", 1)[-1] in (
            state.excluded_params
        )
    if part.location == "header":
        return part.name.lower() in state.excluded_headers
    return False


def _act(
    state: GuardState,
    rules: RouteRules,
    verdict: Verdict,
    client: str,
    key: str,
    whitelisted: bool,
) -> tuple[Response, int] | None:
    config = state.config
    passive = config.passive_mode if rules.passive is None else rules.passive
    assert verdict.part is not None and verdict.result is not None
    reason = describe(verdict.part, verdict.result)
    if passive:
        state.count("passive_detections")
        _log_passive(client, verdict)
    else:
        state.count("blocked")
        log.warning(
            "Suspicious activity detected from %s: %s %s - Reason: %s",
            safe(client, 64), request.method, safe(request.path, 200), reason,
        )
    action = "logged" if passive else "blocked"
    result = verdict.result
    top = result["threats"][0] if result["threats"] else {}
    attack_class = result["attack_class"]
    _current_span().add_event("guard.detection", detection_attributes(
        attack_class, top.get("pattern_id") or "semantic", verdict.part.location,
        result["threat_score"], action))
    state.telemetry.detections.add(1, {"guard.class": attack_class or "unknown"})
    event_id = _new_id()
    counted = whitelisted or _strike(state, key, event_id, reason, can_ban=not passive)
    _emit(state, verdict, client, key, action, strike_counted=counted, event_id=event_id)
    if passive:
        return None
    state.telemetry.blocks.add(1)
    return _error(403, "Forbidden: request blocked by security policy")


def _emit(
    state: GuardState, verdict: Verdict, client: str, key: str, action: str,
    strike_counted: bool, event_id: str | None = None, value: str | None = None,
    inline_semantic: bool | None = None,
) -> None:
    part, result = verdict.part, verdict.result or {}
    threats = result.get("threats", [])
    event = DetectionEvent.build(
        event_id=event_id or _new_id(),
        client_ip=client,
        ban_key=key,
        method=request.method,
        path=request.path,
        action=action,
        correlation_id=correlation_id() or "",
        trace=current_trace_carrier(request.environ.get(_SPAN_ENVIRON)),
        part_location=part.location if part else "",
        part_name=part.name if part else "",
        value=value if value is not None else (
            normalize.normalize(part.value[:8192]) if part else ""),
        fragments=[t["fragment"] for t in threats],
        hits=[RuleHit(t["pattern_id"], t["class"], float(t["score"]))
              for t in threats if t["type"] == "regex"],
        score=float(result.get("threat_score", 0.0)),
        attack_class=result.get("attack_class"),
        inline_semantic=(state.config.inline_semantic if inline_semantic is None
                         else inline_semantic),
        strike_counted=strike_counted,
        screening_ms=verdict.elapsed * 1000,
    )
    state.publisher.publish(event)


def _maybe_sample(state: GuardState, client: str, key: str) -> None:
    rate = state.config.event_sample_rate
    if rate and random.random() < rate:
        if not _accepts(state, request.environ):
            state.count("analysis_shed")
            return
        _emit(state, Verdict(), client, key, "sampled", strike_counted=False)


def _strike(state: GuardState, key: str, event_id: str, reason: str, can_ban: bool) -> bool:
    """Count a strike under the event's id (so the pipeline can tell it is done); False when
    the store could not take it, which tells the pipeline to add it later."""
    config = state.config
    try:
        outcome = state.breaker.call(
            lambda: state.store.add_strike(
                key, event_id, window=config.strike_window, threshold=config.auto_ban_threshold,
                ban_duration=config.auto_ban_duration, reason=reason[:200], can_ban=can_ban,
            )
        )
    except StorageError:
        state.count("strikes_deferred")
        return False
    if outcome.banned and can_ban:
        state.bans.remember(key, time.time() + config.auto_ban_duration)
        state.count("bans")
        state.telemetry.bans.add(1)
        log.warning("client %s banned for %d s after %d strikes", safe(key, 64),
                    config.auto_ban_duration, outcome.strikes)
    return True


def _log_passive(client: str, verdict: Verdict) -> None:
    assert verdict.part is not None and verdict.result is not None
    result = verdict.result
    top = result["threats"][0] if result["threats"] else {}
    rule = top.get("pattern_id") or f"semantic:{top.get('attack_type', '?')}"
    log.warning(
        "[PASSIVE MODE] Suspicious activity from %s: %s %s - part=%s %s class=%s rule=%s "
        "score=%.3f detection_ms=%.2f timeouts=%d correlation_id=%s",
        safe(client, 64), request.method, safe(request.url, 300), verdict.part.location,
        safe(verdict.part.name, 64), result["attack_class"], safe(rule, 64),
        result["threat_score"], verdict.elapsed * 1000, len(result["timeouts"]),
        safe(correlation_id() or "", 128),
    )


def _error(status: int, message: str) -> tuple[Response, int]:
    body = jsonify({"error": message, "correlation_id": correlation_id()})
    return body, status
