"""The Flask applications the request-level measurements drive: bare, ours, flaskapi-guard's.

All three serve the same two routes. Ours is built from ``guard.FlaskAPIGuard`` and raises
:class:`EngineUnavailable` until that exists. Both guards block (they are not in passive mode) but
never ban, so a run of attacks from one client address keeps exercising detection instead of the
ban list.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask, request

from benchmarks._engines import OURS, PEER, PEER_CONFIG, EngineUnavailable, silence_peer_logging

BARE = "bare Flask"
APP_NAMES = (BARE, OURS, PEER)

SEARCH_PATH = "/search"
ITEMS_PATH = "/api/items"
FORM_PATH = "/posts"

# Large enough that the benchmark's own attacks never trigger a ban.
OURS_CONFIG: dict[str, Any] = {"auto_ban_threshold": 1_000_000_000}


def build(name: str) -> Flask:
    """The application called ``name`` (one of :data:`APP_NAMES`)."""
    if name == OURS:
        return ours_app()
    if name == PEER:
        return peer_app()
    return bare_app(name)


def bare_app(name: str = BARE) -> Flask:
    """A Flask app with a search route (GET), a JSON API route and a form route (POST), and no
    guard. Each view reads its input the way such a view does: the query argument, the parsed
    JSON document (``get_json``), the parsed form."""
    app = Flask(name.replace(" ", "_"))

    @app.get(SEARCH_PATH)
    def search() -> str:
        return f"{len(request.args.get('q', ''))} characters searched"

    @app.post(ITEMS_PATH)
    def items() -> dict[str, int]:
        document = request.get_json(silent=True)
        return {"received": len(request.get_data()), "keys": len(document or ())}

    @app.post(FORM_PATH)
    def posts() -> dict[str, int]:
        return {"fields": len(request.form), "received": len(request.get_data())}

    return app


def ours_app() -> Flask:
    """The bare app behind ``guard.FlaskAPIGuard``."""
    try:
        guard = importlib.import_module("guard")
        config_module = importlib.import_module("guard.config")
    except ImportError as exc:
        raise EngineUnavailable(f"cannot import guard: {exc}") from exc
    extension = getattr(guard, "FlaskAPIGuard", None)
    if extension is None:
        raise EngineUnavailable("guard.FlaskAPIGuard does not exist yet")
    config_class = getattr(guard, "SecurityConfig", None) or config_module.SecurityConfig
    app = bare_app(OURS)
    extension(app, config=config_class(**OURS_CONFIG))
    return app


def peer_app() -> Flask:
    """The bare app behind flaskapi-guard's ``FlaskAPIGuard``, configured offline."""
    try:
        peer = importlib.import_module("flaskapi_guard")
    except ImportError as exc:
        raise EngineUnavailable(f"cannot import flaskapi_guard: {exc}") from exc
    app = bare_app(PEER)
    peer.FlaskAPIGuard(app, config=peer.SecurityConfig(**PEER_CONFIG))
    silence_peer_logging()
    return app


def try_build(name: str) -> tuple[Flask | None, str]:
    """Build ``name``; return ``(app, "")`` or ``(None, why it is unavailable)``."""
    try:
        return build(name), ""
    except EngineUnavailable as exc:
        return None, str(exc)
