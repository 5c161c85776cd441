"""A small Flask app protected by Guard, configured only from GUARD_* environment variables;
what the Procfile and the compose file serve."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request

from guard import FlaskAPIGuard
from workers.settings import config_from_env

app = Flask("guard-example")
FlaskAPIGuard(app, config=config_from_env(os.environ))


@app.route("/", methods=["GET", "POST"])
def index():  # type: ignore[no-untyped-def]
    """Echo how much was received."""
    return jsonify({"ok": True, "bytes": len(request.get_data())})


@app.route("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Liveness probe."""
    return jsonify({"ok": True})
