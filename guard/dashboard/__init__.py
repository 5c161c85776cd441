"""The live dashboard: one page under ``dashboard_path`` that polls ``{path}/api/state``.

Off unless ``dashboard_enabled``; every route but the login page and the two static files
wants the ``dashboard_token`` (see :mod:`guard.dashboard._auth`). The views are exempt from
Guard's screening by their endpoints, not by a path prefix, so nothing else on the app is
exempted and bans still apply to them; their own token check stands in for screening. Every
response carries a strict CSP (no inline script or style), ``X-Frame-Options: DENY`` and
``Cache-Control: no-store``.

Routes (``P`` is ``dashboard_path``)::

    GET  P/             the page (without a session: redirect to P/login)
    GET  P/login        the login form;  POST P/login  sets the session cookie
    POST P/logout       ends the session (CSRF-checked)
    GET  P/api/state    the JSON document the page draws (:mod:`guard.dashboard._data`)
    POST P/api/unban    {"key": ...} lifts a ban (CSRF-checked for cookie sessions)
    GET  P/static/dashboard.js, P/static/dashboard.css
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, redirect, request
from jinja2 import Environment, PackageLoader, select_autoescape
from redis import RedisError

from guard import forksafe
from guard.dashboard import _auth, _data
from guard.errors import StorageError
from guard.extension import FlaskAPIGuard, GuardState
from guard.logsafe import safe
from pipelines.activity import PatternFlush, publish_pattern_stats

__all__ = ["init_dashboard"]

log = logging.getLogger("guard.dashboard")
CACHE_SECONDS = 2.0
PATTERN_FLUSH_INTERVAL = 10.0
MAX_FORM_BYTES = 4096
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
_templates = Environment(
    loader=PackageLoader("guard.dashboard", "templates"),
    autoescape=select_autoescape(default=True),
)


def init_dashboard(app: Flask, state: GuardState) -> None:
    """Register the dashboard blueprint on ``app`` at ``state.config.dashboard_path``."""
    token = state.config.dashboard_token
    if not token:
        raise ValueError("the dashboard needs a dashboard_token")
    base = state.config.dashboard_path.rstrip("/")
    blueprint = Blueprint("guard_dashboard", __name__, url_prefix=base)
    _Dashboard(state, token, base).register(blueprint)
    app.register_blueprint(blueprint)
    forksafe.start_daemon("guard-pattern-stats", _publish_patterns, state)


class _Dashboard:
    """The views of one app's dashboard."""

    def __init__(self, state: GuardState, token: str, base: str) -> None:
        self.state = state
        self.token = token
        self.base = base
        self._cache: tuple[float, dict[str, Any]] | None = None
        self._cache_lock = threading.Lock()

    def register(self, blueprint: Blueprint) -> None:
        routes: list[tuple[str, Callable[..., Any], list[str]]] = [
            ("/", self.page, ["GET"]),
            ("/login", self.login, ["GET", "POST"]),
            ("/logout", self.logout, ["POST"]),
            ("/api/state", self.api_state, ["GET"]),
            ("/api/unban", self.api_unban, ["POST"]),
            ("/static/<any(dashboard.js, dashboard.css):name>", self.static, ["GET"]),
        ]
        for rule, view, methods in routes:
            endpoint = view.__name__
            exempt = FlaskAPIGuard.exempt(_plain(view))
            blueprint.add_url_rule(rule, endpoint, exempt, methods=methods,
                                   strict_slashes=False)
        blueprint.after_request(_secure)

    def page(self) -> Any:
        session = _auth.authenticate(self.token, request)
        if session is None:
            return redirect(f"{self.base}/login")
        return self._html("page.html", csrf=_auth.csrf_token(self.token, session))

    def login(self) -> Any:
        if request.method == "GET":
            return self._html("login.html")
        given = request.form.get("token", "") if _small_form() else ""
        if not _auth.same_origin(request) or not _auth.token_matches(self.token, given):
            log.warning("dashboard login refused for %s", safe(request.remote_addr, 64))
            return self._html("login.html", error="Wrong token."), 401
        response = redirect(f"{self.base}/")
        response.set_cookie(
            _auth.COOKIE_NAME, _auth.new_cookie(self.token), max_age=_auth.SESSION_SECONDS,
            path=self.base or "/", secure=request.is_secure, httponly=True, samesite="Strict",
        )
        return response

    def logout(self) -> Any:
        session = self._checked_post()
        if isinstance(session, Response):
            return session
        response = redirect(f"{self.base}/login")
        response.delete_cookie(_auth.COOKIE_NAME, path=self.base or "/")
        return response

    def api_state(self) -> Any:
        if _auth.authenticate(self.token, request) is None:
            return _unauthorized()
        try:
            return jsonify(self._snapshot())
        except (StorageError, RedisError) as exc:
            log.warning("dashboard state unavailable: %s", safe(exc, 120))
            return jsonify({"error": "store unavailable"}), 503

    def api_unban(self) -> Any:
        session = self._checked_post()
        if isinstance(session, Response):
            return session
        body = request.get_json(silent=True) if request.is_json else None
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key or len(key) > 256:
            return jsonify({"error": "a ban key is required"}), 400
        try:
            lifted = self.state.store.unban(key)
        except StorageError:
            return jsonify({"error": "store unavailable"}), 503
        self.state.bans.forget(key)
        self._invalidate()
        client = self.state.resolver.client(request.remote_addr,
                                            request.headers.get("X-Forwarded-For"))
        who = f"{session.method} session {session.sid[:8]} from {client}"
        log.warning("dashboard: %s %s the ban on %s at %s", safe(who, 120),
                    "lifted" if lifted else "found no", safe(key, 64),
                    time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        if not lifted:
            return jsonify({"error": "not banned", "key": key}), 404
        return jsonify({"unbanned": key})

    def static(self, name: str) -> Any:
        body = resources.files("guard.dashboard").joinpath("static", name).read_bytes()
        return Response(body, mimetype=STATIC[name])

    def _checked_post(self) -> _auth.Session | Response:
        """The session of a state-changing request, or the refusal: no session is 401; a
        cookie session needs a same-origin request and its CSRF token (a bearer token cannot
        be sent by another site's page, so it needs neither)."""
        session = _auth.authenticate(self.token, request)
        if session is None:
            return _unauthorized()
        if session.is_cookie:
            given = request.headers.get(_auth.CSRF_HEADER) or (
                request.form.get("csrf", "") if _small_form() else "")
            if not _auth.same_origin(request) or not _auth.csrf_ok(self.token, session, given):
                response = jsonify({"error": "cross-site request refused"})
                response.status_code = 403
                return response
        return session

    def _snapshot(self) -> dict[str, Any]:
        """The document, shared by every viewer of this process for ``CACHE_SECONDS``."""
        with self._cache_lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
                self._cache = (now, _data.snapshot(self.state))
            return self._cache[1]

    def _invalidate(self) -> None:
        with self._cache_lock:
            self._cache = None

    def _html(self, name: str, **values: Any) -> Response:
        page = _templates.get_template(name).render(base=self.base, **values)
        return Response(page, mimetype="text/html")


def _plain(view: Callable[..., Any]) -> Callable[..., Any]:
    # A bound method cannot carry Guard's exempt marker; a plain function can.
    def call(**kwargs: Any) -> Any:
        return view(**kwargs)

    call.__name__ = view.__name__
    return call


def _small_form() -> bool:
    return (request.content_length or 0) <= MAX_FORM_BYTES


def _unauthorized() -> Response:
    response = jsonify({"error": "dashboard token required"})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="guard-dashboard"'
    return response


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def _publish_patterns(state: GuardState) -> None:
    """Add this process's pattern timings to the shared figures every few seconds (started in
    every process, forked children included, by :func:`guard.forksafe.start_daemon`)."""
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    flushed = PatternFlush(f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}")
    while True:
        time.sleep(PATTERN_FLUSH_INTERVAL)
        try:
            stats = sus_patterns_handler.engine.get_performance_stats()
            publish_pattern_stats(state.store, stats, flushed)
        except Exception as exc:
            # A monitoring thread must outlive any one failure, as the stats flusher does.
            log.info("pattern figures not shared this time: %s", safe(exc, 120))
