"""A small protected app served by a real HTTP server, for tests that need real sockets.

Run as ``python -m tests.servers.guarded_app PORT``; settings come from ``GUARD_*`` environment
variables (JSON-decoded when possible), exactly as they would from ``app.config``.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from guard import FlaskAPIGuard


def build_app() -> Flask:
    app = Flask(__name__)
    for key, value in os.environ.items():
        if key.startswith("GUARD_"):
            try:
                app.config[key] = json.loads(value)
            except ValueError:
                app.config[key] = value
    FlaskAPIGuard(app)

    @app.route("/", methods=["GET", "POST"])
    def index():  # type: ignore[no-untyped-def]
        return jsonify({"ok": True, "size": len(request.get_data())})

    @app.route("/pid")
    def pid():  # type: ignore[no-untyped-def]
        return jsonify({"pid": os.getpid()})

    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    server = make_server("127.0.0.1", int(sys.argv[1]), build_app(), threaded=True)
    print("ready", flush=True)
    server.serve_forever()
