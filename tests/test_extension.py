"""The Flask extension through Flask's test client, over the memory and a real Redis store."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify

from guard import ConfigurationError, FlaskAPIGuard, SecurityConfig
from guard.engine.normalize import normalize
from guard.extension import state_for
from guard.handlers.suspatterns_handler import sus_patterns_handler
from tests.conftest import free_port

SQLI = "1' UNION SELECT password FROM users--"


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest, redis_url: str) -> str | None:
    return redis_url if request.param == "redis" else None


def make_app(store_url: str | None = None, prefix: str = "guard:", **settings: Any) -> Flask:
    app = Flask(__name__)
    settings.setdefault("auto_ban_threshold", 3)
    settings.setdefault("share_patterns", False)
    config = SecurityConfig(redis_url=store_url, redis_prefix=prefix, **settings)
    guard = FlaskAPIGuard(app, config=config)

    @app.route("/", methods=["GET", "POST", "PUT"])
    def index():  # type: ignore[no-untyped-def]
        return jsonify({"ok": True})

    @app.route("/search")
    def search():  # type: ignore[no-untyped-def]
        return jsonify({"ok": True})

    @app.route("/raw", methods=["POST"])
    @guard.exempt
    def raw():  # type: ignore[no-untyped-def]
        return jsonify({"ok": True})

    @app.route("/lenient")
    @guard.route(min_score=0.999)
    def lenient():  # type: ignore[no-untyped-def]
        return jsonify({"ok": True})

    return app


@pytest.fixture
def app(store_url: str | None, key_prefix: str) -> Flask:
    return make_app(store_url, key_prefix)


def client_from(app: Flask, ip: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_spec_passive_mode_example(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    config = SecurityConfig(enable_penetration_detection=True, passive_mode=True)
    FlaskAPIGuard(app, config=config)

    @app.route("/q")
    def q():  # type: ignore[no-untyped-def]
        return "fine"

    with caplog.at_level(logging.WARNING, logger="guard"):
        response = app.test_client().get("/q", query_string={"id": SQLI})
    assert response.status_code == 200
    lines = [r.getMessage() for r in caplog.records if "[PASSIVE MODE]" in r.getMessage()]
    assert len(lines) == 1
    line = lines[0]
    for expected in ("127.0.0.1", "GET", "/q?id=", "part=query id", "class=sqli", "rule=",
                     "score=", "detection_ms="):
        assert expected in line, (expected, line)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": "/search", "query_string": {"q": SQLI}},
        {"path": "/", "method": "POST", "json": {"user": {"bio": "<script>alert(1)</script>"}}},
        {"path": "/", "headers": {"User-Agent": "() { :;}; /bin/bash -c 'cat /etc/passwd'"}},
        {"path": "/", "method": "POST", "data": {"file": "../../../../etc/shadow"}},
        {"path": "/search?next=%250d%250aSet-Cookie:%20x=1"},
        {"path": "/", "method": "PUT", "data": "{broken " + SQLI,
         "content_type": "application/json"},
    ],
    ids=["query", "json", "header", "form", "crlf", "malformed-json"],
)
def test_attacks_blocked_with_403(app: Flask, kwargs: dict[str, Any]) -> None:
    method = kwargs.pop("method", "GET")
    response = app.test_client().open(method=method, **kwargs)
    assert response.status_code == 403
    body = response.get_json()
    assert set(body) == {"error", "correlation_id"}
    assert body["correlation_id"] == response.headers["X-Request-ID"]
    assert "SELECT" not in response.get_data(as_text=True)
    assert "\\b" not in body["error"]


def test_benign_passes_with_correlation_id(app: Flask) -> None:
    response = app.test_client().post(
        "/", json={"name": "Seán O'Brien", "comment": "Select the blue one & ship it"},
        headers={"X-Request-ID": "req-123.abc"},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-123.abc"


@pytest.mark.parametrize("bad", ["x" * 200, "a b", "<script>", "-leading", ""])
def test_invalid_request_id_is_replaced(app: Flask, bad: str) -> None:
    response = app.test_client().get("/", headers={"X-Request-ID": bad} if bad else {})
    rid = response.headers["X-Request-ID"]
    assert rid != bad and len(rid) == 32


def test_auto_ban_then_refused_before_screening(app: Flask) -> None:
    attacker = client_from(app, "203.0.113.7")
    for _ in range(3):
        assert attacker.get("/search", query_string={"q": SQLI}).status_code == 403
    refused = attacker.get("/search", query_string={"q": "shoes"})
    assert refused.status_code == 403
    assert "banned" in refused.get_json()["error"]
    assert client_from(app, "203.0.113.8").get("/search?q=shoes").status_code == 200
    assert state_for(app).store.get_ban("203.0.113.7") is not None


def test_passive_counts_strikes_never_bans(store_url: str | None, key_prefix: str) -> None:
    app = make_app(store_url, key_prefix, passive_mode=True)
    client = client_from(app, "198.51.100.9")
    for _ in range(6):
        assert client.get("/search", query_string={"q": SQLI}).status_code == 200
    store = state_for(app).store
    assert store.get_ban("198.51.100.9") is None
    assert store.strikes("198.51.100.9", window=3600) == 6


def test_whitelisted_client_never_banned(store_url: str | None, key_prefix: str) -> None:
    app = make_app(store_url, key_prefix, whitelist=["10.9.0.0/16"])
    client = client_from(app, "10.9.8.7")
    for _ in range(5):
        assert client.get("/search", query_string={"q": SQLI}).status_code == 403
    assert client.get("/search?q=ok").status_code == 200
    assert state_for(app).store.get_ban("10.9.8.7") is None


def test_xff_ignored_without_trusted_proxies(app: Flask) -> None:
    client = client_from(app, "192.0.2.50")
    for _ in range(3):
        client.get("/search", query_string={"q": SQLI}, headers={"X-Forwarded-For": "1.2.3.4"})
    store = state_for(app).store
    assert store.get_ban("1.2.3.4") is None
    assert store.get_ban("192.0.2.50") is not None


def test_trusted_proxy_hop_uses_appended_address(store_url: str | None, key_prefix: str) -> None:
    app = make_app(store_url, key_prefix, trusted_proxies=1)
    proxy = client_from(app, "10.0.0.2")
    for _ in range(3):
        proxy.get("/search", query_string={"q": SQLI},
                  headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.99"})
    store = state_for(app).store
    assert store.get_ban("203.0.113.99") is not None
    assert store.get_ban("6.6.6.6") is None and store.get_ban("10.0.0.2") is None


def test_exclusions(store_url: str | None, key_prefix: str) -> None:
    app = make_app(store_url, key_prefix, exclude_paths=["/search"], excluded_params=["html"])
    client = app.test_client()
    assert client.get("/search", query_string={"q": SQLI}).status_code == 200
    assert client.post("/", json={"html": "<b onclick=x()>hi</b>"}).status_code == 200
    assert client.post("/", json={"other": "<b onclick=x()>hi</b>"}).status_code == 403
    assert client.post("/raw", data={"q": SQLI}).status_code == 200
    # A route blocking from 0.999 reads on past the first conclusive hit: the query's whole
    # evidence reaches the floor (the first hit alone would not), a lone template tag does not.
    union = "1' UNION SELECT username, password FROM users WHERE '1'='1' -- "
    assert client.get("/lenient", query_string={"q": union}).status_code == 403
    assert client.get("/lenient", query_string={"q": "{php}echo `id`;{/php}"}).status_code == 200


def test_oversized_body_is_413(app: Flask) -> None:
    app = make_app(max_request_size=2048)
    response = app.test_client().post("/", data="a" * 5000)
    assert response.status_code == 413
    assert "correlation_id" in response.get_json()


def test_invalid_utf8_and_binary_never_500(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/", data=b"\xff\xfe\x00\x01" * 100,
                       content_type="application/octet-stream").status_code == 200
    assert client.post("/", data=b"\xc3(<script>alert(1)</script>",
                       content_type="text/plain").status_code == 403
    assert client.post("/", data="[" * 20000, content_type="application/json").status_code == 200


def test_log_line_is_escaped(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="guard"):
        app.test_client().get("/search", query_string={"q": "<script>\x1b[2J\r\nalert(1)"},
                              headers={"User-Agent": "curl\x1b[31m"})
        app.test_client().get("/a%0d%0aINJECTED%1b[31m/<script>alert(1)</script>")
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message and "\x1b" not in message


def test_settings_from_app_config() -> None:
    app = Flask(__name__)
    app.config.update(GUARD_PASSIVE_MODE=True, GUARD_AUTO_BAN_THRESHOLD=2)
    FlaskAPIGuard(app)
    state = state_for(app)
    assert state.config.passive_mode is True and state.config.auto_ban_threshold == 2
    app2 = Flask(__name__)
    app2.config.update(GUARD_PASSIVE_MODE=True)
    FlaskAPIGuard(app2, passive_mode=False)
    assert state_for(app2).config.passive_mode is False


def test_invalid_configuration_fails_at_start() -> None:
    app = Flask(__name__)
    app.config["GUARD_FAIL_MODE"] = "sideways"
    with pytest.raises(ConfigurationError, match="fail_mode"):
        FlaskAPIGuard(app)
    with pytest.raises(ConfigurationError, match="redis_url"):
        FlaskAPIGuard(Flask(__name__), config=SecurityConfig(redis_url="http://x"))


@pytest.fixture
def dead_redis() -> Iterator[str]:
    yield f"redis://127.0.0.1:{free_port()}/0"


def test_store_down_fail_open(dead_redis: str, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(dead_redis)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="guard"):
        for _ in range(20):
            started = time.perf_counter()
            assert client.get("/search?q=shoes").status_code == 200
            assert client.get("/search", query_string={"q": SQLI}).status_code == 403
            assert time.perf_counter() - started < 1.0
    failures = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(failures) == 1


def test_store_down_fail_closed(dead_redis: str) -> None:
    app = make_app(dead_redis, fail_mode="closed")
    assert app.test_client().get("/search?q=shoes").status_code == 503


def test_extension_catches_what_detect_catches() -> None:
    from tests.conftest import CORPUS

    with CORPUS.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    attacks = [r["payload"] for r in rows if r["label"] == "attack"][::40]
    captured: list[Any] = []

    class Capture:
        name = "capture"

        def send(self, events: Any) -> None:
            captured.extend(events)

        def close(self) -> None:
            pass

    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(auto_ban_threshold=10**6, event_sample_rate=0.0),
                  transport=Capture())
    app.add_url_rule("/", "i", lambda: "ok", methods=["GET", "POST"])
    client = app.test_client()
    publisher = state_for(app).publisher
    missed = []
    for payload in attacks:
        if not sus_patterns_handler.detect(payload)["is_threat"]:
            continue
        if client.get("/", query_string={"q": payload}).status_code != 403:
            missed.append(("query", payload))
        captured.clear()
        if client.post("/", json={"field": payload}).status_code == 403:
            continue
        # Inline, JSON bodies get the rules; the model reads them in the pipeline.
        assert publisher.flush(5)
        expected = normalize(payload)[:40]
        if not any(e.action == "allowed" and expected in e.value for e in captured):
            missed.append(("json", payload))
    assert missed == []


def test_the_embedded_pipeline_sheds_passed_requests_past_its_cpu_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from guard import extension

    monkeypatch.setattr(extension, "EMBEDDED_CPU_BURST", 1e-9)
    monkeypatch.setattr(extension, "EMBEDDED_CPU_SHARE", 0.0)
    # With the inline model off, passed requests are left for the pipeline's model.
    app = make_app(None, auto_ban_threshold=1000, inline_semantic=False)
    state = state_for(app)
    client = app.test_client()
    body = {"note": "Please wrap it; it's a present for O'Neil & family."}
    for _ in range(20):
        assert client.post("/", json=body).status_code == 200
        assert state.publisher.flush(5)
    assert client.get("/search", query_string={"q": "1' UNION SELECT password FROM users--"}
                      ).status_code == 403
    assert state.publisher.flush(5)
    # Passed requests beyond the budget were shed and counted; the detection never is.
    assert state.analysis_shed() >= 19
    assert [i.classes for i in state.store.list_incidents()] == [("sqli",)]


def test_a_trusted_proxy_is_blocked_but_never_banned() -> None:
    app = make_app(None, trusted_proxies=["10.0.0.0/8"], auto_ban_threshold=2)
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    attack = {"q": "1' UNION SELECT password FROM users--"}
    for _ in range(5):
        response = client.get("/search", query_string=attack, environ_base=proxy)
        assert response.status_code == 403
    assert client.get("/", environ_base=proxy).status_code == 200
    assert state_for(app).store.get_ban("10.0.0.5") is None
    # A client the proxy names is still banned as usual.
    named = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for _ in range(2):
        client.get("/search", query_string=attack, environ_base=named)
    assert client.get("/", environ_base=named).status_code == 403


def test_a_forked_child_publishes_and_flushes_as_the_parent_would(redis_url: str,
                                                                    key_prefix: str) -> None:
    """gunicorn --preload builds the app before forking; the child must still publish events
    (to the embedded pipeline) and flush its counters to the shared store."""
    import os

    from guard import extension

    app = make_app(redis_url, key_prefix)
    state = state_for(app)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            client = app.test_client()
            attack = {"q": "1' UNION SELECT password FROM users--"}
            ok = client.get("/search", query_string=attack).status_code == 403
            ok = ok and state.publisher.flush(10) and state.publisher.stats.delivered >= 1
            deadline = time.monotonic() + extension.STATS_FLUSH_INTERVAL * 3 + 5
            while ok and state.store.get_counter("events:published") < 1:
                ok = time.monotonic() < deadline
                time.sleep(0.1)
            code = 0 if ok else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_with_a_hop_count_a_client_naming_no_one_is_banned_as_itself() -> None:
    # The proxies' addresses are unknown in hop mode, so a direct client cannot hide behind
    # "I might be the proxy".
    app = make_app(None, trusted_proxies=1, auto_ban_threshold=2)
    client = app.test_client()
    direct = {"REMOTE_ADDR": "203.0.113.9"}
    for _ in range(2):
        client.get("/search", query_string={"q": "1' UNION SELECT password FROM users--"},
                   environ_base=direct)
    assert client.get("/", environ_base=direct).status_code == 403
    assert state_for(app).store.get_ban("203.0.113.9") is not None


def test_a_failing_teardown_does_not_leave_the_request_counted_in_flight() -> None:
    app = make_app(None)

    @app.teardown_request
    def broken(_exc: BaseException | None) -> None:
        raise RuntimeError("another extension's teardown")

    budget = state_for(app).budget
    assert budget is not None
    with pytest.raises(RuntimeError):
        app.test_client().get("/")
    assert budget._in_flight == 0


def test_the_correlation_id_header_and_budget_hold_when_another_hook_fails() -> None:
    """The request scope is a WSGI layer: an after-request hook of the app that raises still
    leaves a 500 with the correlation ID, and the request is not left counted in flight."""
    app = make_app(None)

    @app.after_request
    def broken(_response: Any) -> Any:
        raise RuntimeError("another extension's after_request")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    budget = state_for(app).budget
    assert budget is not None
    response = app.test_client().get("/", headers={"X-Request-ID": "req-7"})
    assert response.status_code == 500
    assert response.headers.get_all("X-Request-ID") == ["req-7"]
    assert budget._in_flight == 0


def test_a_view_cannot_replace_the_correlation_id_header() -> None:
    app = make_app(None)

    @app.route("/own-id")
    def own_id():  # type: ignore[no-untyped-def]
        return "x", 200, {"x-request-id": "spoofed"}

    response = app.test_client().get("/own-id", headers={"X-Request-ID": "req-8"})
    assert response.headers.get_all("X-Request-ID") == ["req-8"]


def test_a_saturated_process_does_not_build_events_it_would_shed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no quiet moment for the pipeline's whole wait, a sampled event would wait out its
    deadline and be shed: it is counted as shed at once instead of waking the pipeline."""
    from guard import extension

    app = make_app(None, event_sample_rate=1.0)
    state = state_for(app)
    budget = state.budget
    assert budget is not None
    client = app.test_client()
    assert state.publisher.flush(5)
    published = state.publisher.stats.published
    assert client.get("/", query_string={"q": "garden chairs"}).status_code == 200
    assert state.publisher.stats.published == published + 1  # a quiet process samples
    assert state.publisher.flush(5)

    budget.enter(time.monotonic())  # another request stays in flight past the pipeline's wait
    try:
        time.sleep(extension.EMBEDDED_WAIT * 1.5)
        assert not budget.accepts(time.monotonic())
        shed = state.analysis_shed()
        for _ in range(5):
            assert client.get("/", query_string={"q": "garden chairs"}).status_code == 200
        assert state.publisher.stats.published == published + 1
        assert state.analysis_shed() == shed + 5
    finally:
        budget.leave()
    time.sleep(extension.EMBEDDED_QUIET * 2)
    assert client.get("/", query_string={"q": "garden chairs"}).status_code == 200
    assert state.publisher.stats.published == published + 2  # quiet again: sampled again


def test_a_slow_request_to_an_idle_process_is_still_analysed() -> None:
    """The request's own time is not "busy": a body that trickles in for longer than the
    pipeline's wait, to an otherwise idle process, still gets its analysis queued."""
    from guard import extension

    budget = extension.CpuBudget()
    started = time.monotonic()
    budget.enter(started)
    time.sleep(extension.EMBEDDED_WAIT * 1.5)
    assert budget.accepts(started)
    # A second request arriving while the first is still in flight is not a quiet moment.
    later = time.monotonic()
    budget.enter(later)
    assert not budget.accepts(later + extension.EMBEDDED_WAIT)
    budget.leave()
    budget.leave()


def test_a_guarded_app_inside_another_keeps_one_correlation_id() -> None:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    inner = make_app(None)
    outer = Flask("outer")
    outer.wsgi_app = DispatcherMiddleware(outer.wsgi_app, {"/b": inner})  # type: ignore[method-assign]
    FlaskAPIGuard(outer, config=SecurityConfig(share_patterns=False))
    response = outer.test_client().get("/b/search", query_string={"q": "1' OR '1'='1"})
    assert response.status_code == 403
    assert response.headers.get_all("X-Request-ID") == [response.get_json()["correlation_id"]]


def test_a_request_driven_by_hand_still_gets_its_scope() -> None:
    """``test_request_context`` plus ``preprocess_request`` bypass the WSGI layer: the hook
    does its work, so the header is set and the request leaves the budget."""
    app = make_app(None)
    budget = state_for(app).budget
    assert budget is not None
    with app.test_request_context("/search", query_string={"q": "shoes"},
                                  headers={"X-Request-ID": "by-hand-1"}):
        assert app.preprocess_request() is None
        assert budget._in_flight == 1
        response = app.process_response(app.make_response("ok"))
    assert response.headers["X-Request-ID"] == "by-hand-1"
    assert budget._in_flight == 0


def test_the_app_can_read_the_correlation_id() -> None:
    """The application's own hooks and views can log the ID the response header carries."""
    from guard import correlation_id

    app = make_app(None)
    seen: list[str | None] = []

    @app.route("/whoami")
    def whoami():  # type: ignore[no-untyped-def]
        seen.append(correlation_id())
        return "ok"

    @app.after_request
    def log_it(response: Any) -> Any:
        seen.append(correlation_id())
        return response

    response = app.test_client().get("/whoami", headers={"X-Request-ID": "app-log-1"})
    assert seen == ["app-log-1", "app-log-1"]
    generated = app.test_client().get("/whoami").headers["X-Request-ID"]
    assert seen[-1] == generated and len(generated) == 32
    assert correlation_id() is None
    assert response.headers["X-Request-ID"] == "app-log-1"


def test_event_ids_do_not_repeat_when_the_app_seeds_random() -> None:
    import random

    from guard.extension import _new_id

    random.seed(1)
    first = _new_id()
    random.seed(1)
    assert _new_id() != first


def test_cpu_budget_loses_no_spending_to_concurrent_refills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pipeline's thread spends while request threads refill: every spend must land."""
    import sys
    import threading

    from guard import extension

    monkeypatch.setattr(extension, "EMBEDDED_CPU_SHARE", 0.0)
    budget = extension.CpuBudget()
    spends, step = 20_000, 1e-5
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        done = threading.Event()

        def refill() -> None:
            while not done.is_set():
                budget.available()

        refillers = [threading.Thread(target=refill) for _ in range(3)]
        for thread in refillers:
            thread.start()
        for _ in range(spends):
            budget.spend(step)
        done.set()
        for thread in refillers:
            thread.join(timeout=30)
    finally:
        sys.setswitchinterval(interval)
    expected = extension.EMBEDDED_CPU_BURST
    for _ in range(spends):
        expected -= step
    assert budget._tokens == pytest.approx(expected, abs=1e-9)


def test_waiting_for_a_quiet_moment_backs_off_while_the_process_is_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each look for a quiet moment takes the GIL from the requests: a busy process must pay a
    handful per batch, not one per millisecond, and an idle one must still be found at once."""
    import threading
    import time

    from guard import extension

    budget = extension.CpuBudget()
    pauses: list[float] = []
    real_sleep = time.sleep

    waiter = threading.get_ident()

    def counted_sleep(seconds: float) -> None:
        # time.sleep is the module's own: other threads of the test process sleep through it.
        if threading.get_ident() == waiter:
            pauses.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(extension.time, "sleep", counted_sleep)
    budget.enter(time.monotonic())  # a request stays in flight for the whole wait
    assert not budget.wait_quiet(time.monotonic() + extension.EMBEDDED_WAIT)
    assert pauses[0] == extension.EMBEDDED_QUIET / 2
    assert max(pauses) <= extension.EMBEDDED_POLL_MAX
    assert len(pauses) <= 8, pauses  # one per half quiet period would be 50

    # Busy for 30 ms, then quiet: the wait ends soon after, well before its deadline.
    pauses.clear()
    threading.Timer(0.03, budget.leave).start()
    started = time.monotonic()
    assert budget.wait_quiet(started + 1.0)
    assert time.monotonic() - started < 0.03 + extension.EMBEDDED_POLL_MAX + 0.2
