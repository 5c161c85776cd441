"""The dashboard: what the pipeline records for it, its auth, its JSON, and the page in Chromium.

State is real: a Redis under this test's key prefix (or the memory store), filled by running
the pipeline on events and by the store's own calls. The browser test serves the app with a
real HTTP server and drives Debian's Chromium through Playwright; without a Chromium it fails
and says how to install one, unless ``GUARD_SKIP_BROWSER_TESTS=1``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask, jsonify
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from guard import FlaskAPIGuard, SecurityConfig
from guard.dashboard import _auth
from guard.engine.monitor import PerformanceMonitor
from guard.events import DetectionEvent, RuleHit
from guard.extension import GuardState, state_for
from guard.store import Store, create_store
from pipelines import PipelineContext, process_events
from pipelines.activity import (
    TOP_MEMBERS,
    PatternFlush,
    beat,
    detections_by_minute,
    heartbeats,
    pattern_performance,
    publish_pattern_stats,
    top_attacked,
)
from tests.conftest import free_port
from tests.test_pipelines_store import both, store  # noqa: F401
from tests.test_workers import Cluster, cluster, eventually  # noqa: F401

TOKEN = "correct-horse-battery-staple-42"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ORIGIN = {"Origin": "http://localhost"}
XSS_PATH = '/<img src=x onerror="window.__pwned=1">'
XSS_PART = "<script>window.__pwned=1</script>"


def detection(client: str, attack_class: str, path: str = "/search", part: str = "q",
              ts: float | None = None, **fields: Any) -> DetectionEvent:
    return DetectionEvent.build(
        client_ip=client, ban_key=client, method="GET", path=path, action="blocked",
        value="1' OR '1'='1", part_location="query", part_name=part,
        hits=[RuleHit(f"{attack_class}-rule", attack_class, 4.0)], attack_class=attack_class,
        score=4.0, strike_counted=True, screening_ms=0.42, ts=time.time() if ts is None else ts,
        **fields,
    )


def run_pipeline(target: Store, events: list[DetectionEvent], node: str = "worker-1@host") -> None:
    config = SecurityConfig(auto_ban_threshold=100_000)
    process_events(events, PipelineContext(config=config, store=target, node=node))


# ------------------------------------------------------------------ what the pipeline records
@both
def test_the_pipeline_counts_classes_paths_and_parts_once_per_event(
    store: Store,  # noqa: F811
) -> None:
    now = time.time()
    events = [detection("192.0.2.1", "sqli", ts=now - 120) for _ in range(3)]
    events += [detection("192.0.2.2", "xss", path="/comments", part="text", ts=now)]
    run_pipeline(store, events)
    run_pipeline(store, events)
    series = detections_by_minute(store, now=now)
    assert series[int((now - 120) // 60)] == {"sqli": 3}
    assert series[int(now // 60)] == {"xss": 1}
    assert top_attacked(store, "paths", now=now) == [("/search", 3), ("/comments", 1)]
    assert top_attacked(store, "parts", now=now) == [("query:q", 3), ("query:text", 1)]
    assert detections_by_minute(store, minutes=1, now=now) == {int(now // 60): {"xss": 1}}


def test_activity_keys_are_bounded_and_expire(redis_url: str, key_prefix: str) -> None:
    shared = create_store(redis_url, prefix=key_prefix, timeout=2.0)
    raw = redis.Redis.from_url(redis_url)
    try:
        run_pipeline(shared, [detection("192.0.2.9", "path", path=f"/p{i}", part=f"x{i}")
                             for i in range(TOP_MEMBERS + 50)])
        beat(shared, "worker-1@host")
        monitor = PerformanceMonitor(slow_threshold=0.001)
        monitor.record("custom:1", 0.01, timed_out=True)
        publish_pattern_stats(shared, monitor.stats(), PatternFlush("proc"))
        keys = [k.decode() for k in raw.scan_iter(match=f"{key_prefix}*")]
        dashboard_keys = [k for k in keys if ":activity:" in k or ":heartbeats:" in k
                          or ":pattern-perf:" in k]
        assert len(dashboard_keys) >= 5
        assert all(raw.pttl(key) > 0 for key in keys), {k: raw.pttl(k) for k in keys}
        paths = [k for k in dashboard_keys if ":activity:paths:" in k]
        assert paths and all(raw.zcard(k) <= TOP_MEMBERS for k in paths)
    finally:
        raw.close()
        shared.close()


@both
def test_pattern_figures_add_up_across_processes_and_flushes(store: Store) -> None:  # noqa: F811
    first, second = PerformanceMonitor(slow_threshold=0.05), PerformanceMonitor(slow_threshold=0.05)
    first.record("custom:slow", 0.2)
    second.record("custom:slow", 0.4, timed_out=True)
    flushed = [PatternFlush("a"), PatternFlush("b")]
    publish_pattern_stats(store, first.stats(), flushed[0])
    publish_pattern_stats(store, second.stats(), flushed[1])
    publish_pattern_stats(store, first.stats(), flushed[0])
    first.record("custom:slow", 0.1)
    publish_pattern_stats(store, first.stats(), flushed[0])
    figures = pattern_performance(store, slow_ms=50)
    [slow] = figures["slow"]
    assert slow["pattern"] == "custom:slow"
    assert slow["evaluations"] == 3 and slow["timeouts"] == 1
    assert slow["max_ms"] == pytest.approx(400) and slow["avg_ms"] == pytest.approx(400)
    assert [p["pattern"] for p in figures["problematic"]] == ["custom:slow"]
    assert pattern_performance(store, slow_ms=500)["slow"] == []


def test_a_worker_beats_while_it_runs(cluster: Cluster) -> None:  # noqa: F811
    cluster.start("w1")
    eventually(lambda: any(node.startswith("w1@") for node in heartbeats(cluster.store)),
               timeout=30)
    [(node, last)] = heartbeats(cluster.store).items()
    assert node.startswith("w1@") and time.time() - last < 30


# ------------------------------------------------------------------------------ the app
def build_app(**settings: Any) -> Flask:
    values: dict[str, Any] = {"dashboard_enabled": True, "dashboard_token": TOKEN,
                              "share_patterns": False, "auto_ban_threshold": 100_000}
    values.update(settings)
    app = Flask("dashboard-test")
    FlaskAPIGuard(app, config=SecurityConfig(**values))

    @app.route("/<path:page>")
    def page(page: str) -> Any:
        return jsonify({"page": page})

    return app


@pytest.fixture
def app(redis_url: str, key_prefix: str) -> Iterator[Flask]:
    built = build_app(redis_url=redis_url, redis_prefix=key_prefix)
    yield built
    state_for(built).store.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient) -> str:
    response = client.post("/_guard/login", data={"token": TOKEN}, headers=ORIGIN)
    assert response.status_code == 302
    page = client.get("/_guard/")
    assert page.status_code == 200
    marker = 'name="guard-csrf" content="'
    text = page.get_data(as_text=True)
    return text[text.index(marker) + len(marker):].split('"', 1)[0]


def test_the_dashboard_is_off_by_default() -> None:
    app = Flask("plain")
    FlaskAPIGuard(app, config=SecurityConfig())
    assert app.test_client().get("/_guard/api/state", headers=BEARER).status_code == 404


def test_every_route_but_login_wants_the_token(client: FlaskClient) -> None:
    assert client.get("/_guard/").headers["Location"] == "/_guard/login"
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"},
                    {"Authorization": f"Basic {TOKEN}"}):
        refused = client.get("/_guard/api/state", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    client.set_cookie(_auth.COOKIE_NAME, f"{'0' * 32}.{int(time.time())}.{'f' * 64}",
                      path="/_guard")
    assert client.get("/_guard/api/state").status_code == 401
    assert client.post("/_guard/api/unban", json={"key": "192.0.2.1"}).status_code == 401
    allowed = client.get("/_guard/api/state", headers=BEARER)
    assert allowed.status_code == 200
    assert allowed.headers["Cache-Control"] == "no-store"
    assert allowed.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in allowed.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in allowed.headers["Content-Security-Policy"]


def test_login_sets_a_strict_httponly_cookie_without_the_token(client: FlaskClient) -> None:
    wrong = client.post("/_guard/login", data={"token": "not-the-token"}, headers=ORIGIN)
    assert wrong.status_code == 401 and "Wrong token" in wrong.get_data(as_text=True)
    cross_site = client.post("/_guard/login", data={"token": TOKEN},
                             headers={"Origin": "http://evil.example"})
    assert cross_site.status_code == 401
    response = client.post("/_guard/login", data={"token": TOKEN}, headers=ORIGIN)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/_guard" in cookie
    assert TOKEN not in cookie
    assert client.get("/_guard/api/state").status_code == 200
    page = client.get("/_guard/")
    assert page.status_code == 200 and "<script" in page.get_data(as_text=True)
    assert 'src="/_guard/static/dashboard.js"' in page.get_data(as_text=True)
    assert "onclick" not in page.get_data(as_text=True)


def test_unban_wants_the_csrf_token_and_the_same_origin(
    client: FlaskClient, app: Flask, redis_url: str, key_prefix: str
) -> None:
    shared = state_for(app).store
    shared.ban("192.0.2.77", 600, "test ban")
    raw = redis.Redis.from_url(redis_url)
    ban_key = f"{key_prefix}ban:192.0.2.77"
    try:
        csrf = login(client)
        body = {"key": "192.0.2.77"}
        assert client.post("/_guard/api/unban", json=body, headers=ORIGIN).status_code == 403
        assert client.post("/_guard/api/unban", json=body,
                           headers={"X-CSRF-Token": csrf}).status_code == 403
        assert client.post("/_guard/api/unban", json=body, headers={
            "X-CSRF-Token": csrf, "Origin": "http://evil.example"}).status_code == 403
        assert client.post("/_guard/api/unban", json=body, headers={
            **ORIGIN, "X-CSRF-Token": "0" * 64}).status_code == 403
        assert raw.exists(ban_key) == 1
        good = {**ORIGIN, "X-CSRF-Token": csrf}
        done = client.post("/_guard/api/unban", json=body, headers=good)
        assert done.status_code == 200 and done.json == {"unbanned": "192.0.2.77"}
        assert raw.exists(ban_key) == 0
        assert raw.zscore(f"{key_prefix}bans", "192.0.2.77") is None
        again = client.post("/_guard/api/unban", json=body, headers=good)
        assert again.status_code == 404
        shared.ban("192.0.2.78", 600, "second")
        bearer = app.test_client().post("/_guard/api/unban", json={"key": "192.0.2.78"},
                                        headers=BEARER)
        assert bearer.status_code == 200 and raw.exists(f"{key_prefix}ban:192.0.2.78") == 0
    finally:
        raw.close()


def test_unban_is_logged_with_who_and_when(
    client: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    state_for(app).store.ban("192.0.2.79", 600, "test ban")
    csrf = login(client)
    with caplog.at_level("WARNING", logger="guard.dashboard"):
        client.post("/_guard/api/unban", json={"key": "192.0.2.79"},
                    headers={**ORIGIN, "X-CSRF-Token": csrf})
    [line] = [r.getMessage() for r in caplog.records if "192.0.2.79" in r.getMessage()]
    assert "cookie session" in line and "from 127.0.0.1" in line and "lifted" in line
    assert time.strftime("%Y-%m-%dT") in line


def test_the_state_document_reads_the_shared_redis(app: Flask, redis_url: str) -> None:
    state = state_for(app)
    shared = state.store
    now = time.time()
    run_pipeline(shared, [detection("203.0.113.5", "sqli", ts=now - 60) for _ in range(4)]
                 + [detection("203.0.113.6", "xss", path=XSS_PATH, part=XSS_PART, ts=now)])
    shared.ban("203.0.113.5", 900, "5 strikes: sqli in query:q")
    shared.incr_counter("events:published", 42)
    shared.incr_counter("events:dropped", 2)
    beat(shared, "worker-1@host", now=now - 5)
    beat(shared, "worker-2@host", now=now - 200)
    document = app.test_client().get("/_guard/api/state", headers=BEARER).json
    assert document["store"]["reachable"] is True
    assert document["detections"]["totals"] == {"sqli": 4, "xss": 1}
    assert len(document["detections"]["minutes"]) == 60
    assert document["detections"]["minutes"][-1]["counts"] == {"xss": 1}
    assert {"value": "/search", "count": 4} in document["top_paths"]
    assert {"value": XSS_PATH, "count": 1} in document["top_paths"]
    assert {"value": f"query:{XSS_PART}", "count": 1} in document["top_parts"]
    [ban] = document["bans"]
    assert ban["key"] == "203.0.113.5" and ban["reason"] == "5 strikes: sqli in query:q"
    assert 880 < ban["remaining"] <= 900
    clients = {i["client"]: i for i in document["incidents"]}
    assert clients["203.0.113.5"]["events"] == 4 and clients["203.0.113.5"]["classes"] == ["sqli"]
    pipeline = document["pipeline"]
    assert pipeline["events"]["published"] == 42 and pipeline["events"]["dropped"] == 2
    assert pipeline["events"]["processed"] == 5
    workers = {w["node"]: w for w in pipeline["workers"]}
    assert workers["worker-1@host"]["alive"] and workers["worker-1@host"]["processed"] == 5
    assert not workers["worker-2@host"]["alive"]
    assert pipeline["broker"]["url"] is None
    rules = {r["pattern"]: r["hits"] for r in document["patterns"]["rules"]}
    assert rules == {"sqli-rule": 4, "xss-rule": 1}


def test_long_hostile_values_are_capped_and_escaped(app: Flask) -> None:
    shared = state_for(app).store
    run_pipeline(shared, [detection("203.0.113.7", "path", path="/" + "a\x1b" * 200)])
    document = app.test_client().get("/_guard/api/state", headers=BEARER).json
    [path] = document["top_paths"]
    assert "\x1b" not in path["value"] and len(path["value"]) < 200


def test_only_the_dashboard_routes_skip_screening(app: Flask) -> None:
    client = app.test_client()
    attack = {"q": "1' UNION SELECT password FROM users--"}
    assert client.get("/_guard/api/state", query_string=attack, headers=BEARER).status_code == 200
    assert client.get("/_guard/api/state", query_string=attack).status_code == 401
    for path in ("/_guardx", "/_guard-admin/x", "/_guard/../admin", "/_guard/api/other"):
        assert client.get(path, query_string=attack).status_code == 403, path
    state_for(app).store.ban("127.0.0.1", 600, "banned admin")
    eventually(lambda: client.get("/_guard/api/state", headers=BEARER).status_code == 403,
               timeout=10)


def test_the_path_is_configurable(redis_url: str, key_prefix: str) -> None:
    app = build_app(redis_url=redis_url, redis_prefix=key_prefix, dashboard_path="/ops/guard/")
    client = app.test_client()
    assert client.get("/ops/guard/api/state", headers=BEARER).status_code == 200
    assert client.get("/ops/guard").headers["Location"] == "/ops/guard/login"
    assert client.get("/ops/guard/static/dashboard.css").mimetype == "text/css"
    assert client.get("/_guard/api/state", headers=BEARER).json == {"page": "_guard/api/state"}


def test_an_unreachable_store_is_a_503_not_a_crash() -> None:
    app = build_app(redis_url=f"redis://127.0.0.1:{free_port()}/0", store_timeout=0.2)
    response = app.test_client().get("/_guard/api/state", headers=BEARER)
    assert response.status_code == 503 and response.json == {"error": "store unavailable"}


def test_the_embedded_memory_store_serves_the_same_document() -> None:
    app = build_app()
    run_pipeline(state_for(app).store, [detection("198.51.100.3", "cmdi")])
    document = app.test_client().get("/_guard/api/state", headers=BEARER).json
    assert document["store"]["url"] == "memory://"
    assert document["detections"]["totals"] == {"cmdi": 1}
    assert document["pipeline"]["pattern_version"] is None


# ------------------------------------------------------------------------- the browser
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
INSTALL_HINT = ("install Chromium (Debian: `apt-get install chromium`; .ci/run does it) and the "
                "test extra (`pip install -e '.[test]'`, which brings playwright), or set "
                "GUARD_SKIP_BROWSER_TESTS=1 to skip the browser tests")


def chromium_path() -> str:
    """Debian's Chromium (or ``GUARD_CHROMIUM``); fails loudly when there is none."""
    skip = os.environ.get("GUARD_SKIP_BROWSER_TESTS") == "1"
    configured = os.environ.get("GUARD_CHROMIUM")
    candidates = [configured] if configured else [
        "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    found = next((path for path in candidates if path and os.access(path, os.X_OK)), None)
    if found is None:
        if skip:
            pytest.skip("GUARD_SKIP_BROWSER_TESTS=1: browser tests skipped")
        pytest.fail(f"no Chromium found for the dashboard browser test: {INSTALL_HINT}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if skip:
            pytest.skip("GUARD_SKIP_BROWSER_TESTS=1: browser tests skipped")
        pytest.fail(f"playwright is not installed: {INSTALL_HINT}")
    return found


@pytest.fixture
def served(redis_url: str, key_prefix: str) -> Iterator[tuple[str, GuardState]]:
    app = build_app(redis_url=redis_url, redis_prefix=key_prefix, broker_url=redis_url)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", state_for(app)
    server.shutdown()
    thread.join(timeout=10)
    state_for(app).store.close()


def seed(target: Store) -> None:
    """An hour of varied attacks, two bans, two workers, one slow custom pattern."""
    now = time.time()
    plan = [("sqli", "/search", "q", 9), ("xss", "/comments", "text", 5),
            ("path", "/files", "name", 4), ("cmdi", "/ping", "host", 3),
            ("ssti", "/render", "tpl", 2), ("sqli", "/login", "user", 3)]
    events = []
    for minute in range(0, 60, 3):
        for index, (attack_class, path, part, weight) in enumerate(plan):
            for n in range((weight * (minute % 7 + 1) + index) % 5):
                events.append(detection(f"203.0.113.{index * 10 + n % 3}", attack_class,
                                        path=path, part=part, ts=now - 3600 + 60 * minute + 30,
                                        correlation_id=f"req-{minute}-{index}-{n}"))
    events.append(detection("198.51.100.66", "xss", path=XSS_PATH, part=XSS_PART, ts=now))
    half = len(events) // 2
    run_pipeline(target, events[:half], node="worker-1@web-a")
    run_pipeline(target, events[half:], node="worker-2@web-b")
    target.ban("203.0.113.10", 3600, "5 strikes within 60 s: xss in query:text", source="auto")
    target.ban("198.51.100.66", 900, 'manual: <img src=x onerror="window.__pwned=1">')
    target.incr_counter("events:published", len(events))
    target.incr_counter("events:dropped", 3)
    beat(target, "worker-1@web-a")
    beat(target, "worker-2@web-b", now=now - 95)
    monitor = PerformanceMonitor(slow_threshold=0.1)
    for duration in (0.18, 0.22, 0.31):
        monitor.record("custom:(a|aa)+$", duration, timed_out=duration > 0.3)
    publish_pattern_stats(target, monitor.stats(), PatternFlush("seed"))


def test_the_page_in_a_real_browser(served: tuple[str, GuardState], tmp_path: Path) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    url, state = served
    seed(state.store)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1500}, timeout=60_000,
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/_guard/")
            assert page.url.endswith("/_guard/login")
            page.fill("#token", "wrong-token-wrong-token")
            page.click("button[type=submit]")
            page.wait_for_selector("p.error")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_selector("body[data-loaded]")
            check_panels(page)
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            if os.environ.get("GUARD_DASHBOARD_SCREENSHOT"):
                shutil.copy(tmp_path / "dashboard.png", os.environ["GUARD_DASHBOARD_SCREENSHOT"])
            check_unban(page, state)
            assert page.evaluate("window.__pwned") is None
            assert errors == []
        finally:
            browser.close()


def check_panels(page: Any) -> None:
    bans = page.locator("#bans tbody")
    assert "203.0.113.10" in bans.inner_text()
    assert page.locator("#incidents tbody tr", has_text="203.0.113.0").count() == 1
    sqli = page.locator('#legend li[data-class="sqli"] .count').inner_text()
    assert int(sqli) > 0
    assert page.locator('#chart rect[data-class="xss"]').count() > 0
    paths = page.locator("#paths tbody").inner_text()
    assert "/search" in paths and XSS_PATH in paths
    assert XSS_PART in page.locator("#parts tbody").inner_text()
    assert 'onerror="window.__pwned=1"' in bans.inner_text()
    assert page.locator("main img, main script").count() == 0
    assert "custom:(a|aa)+$" in page.locator("#slow tbody").inner_text()
    assert "custom:(a|aa)+$" in page.locator("#problematic tbody").inner_text()
    workers = page.locator("#workers tbody").inner_text()
    assert "worker-1@web-a" in workers and "alive" in workers and "silent" in workers
    assert "guard.analysis" in page.locator("#queues tbody").inner_text()


def check_unban(page: Any, state: GuardState) -> None:
    button = page.locator('#bans button[data-key="203.0.113.10"]')
    button.click()
    eventually(lambda: state.store.get_ban("203.0.113.10") is None, timeout=10)
    page.wait_for_function(
        "() => !document.querySelector('#bans tbody').innerText.includes('203.0.113.10')")
    page.reload()
    page.wait_for_selector("body[data-loaded]")
    assert "203.0.113.10" not in page.locator("#bans tbody").inner_text()
    assert "198.51.100.66" in page.locator("#bans tbody").inner_text()
