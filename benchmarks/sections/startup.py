"""Start-up and memory: import time, time to the first screened request, resident memory with
the engine loaded, and its growth over many requests from distinct clients.

Each figure comes from a fresh interpreter (a subprocess of the running one), so nothing this
run imported or compiled earlier is counted as free.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import textwrap

from benchmarks._report import Row
from benchmarks.sections._base import RunContext

SECTION = "startup"

_IMPORT = "import time; t = time.perf_counter(); import guard; print(time.perf_counter() - t)"

_PROBE = textwrap.dedent("""
    import json, logging, sys, time
    started = time.perf_counter()
    from flask import Flask
    from guard import FlaskAPIGuard, SecurityConfig
    logging.disable(logging.CRITICAL)
    app = Flask("probe")
    FlaskAPIGuard(app, config=SecurityConfig(event_sample_rate=0.0, auto_ban_threshold=10**9))
    app.add_url_rule("/q", "q", lambda: "ok")
    client = app.test_client()
    client.get("/q", query_string={"q": "hello"})
    first = time.perf_counter() - started

    def rss_mb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    for i in range(200):
        client.environ_base["REMOTE_ADDR"] = f"10.200.{i // 250}.{i % 250}"
        client.get("/q", query_string={"q": "warm up"})
    before = rss_mb()
    count = int(sys.argv[1])
    for i in range(count):
        client.environ_base["REMOTE_ADDR"] = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        client.get("/q", query_string={"q": "blue shoes", "page": str(i % 7)})
    print(json.dumps({"first": first, "rss": before, "growth": rss_mb() - before}))
""")


def _run(args: list[str]) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=900,
                          check=True)
    return done.stdout.strip().splitlines()[-1]


def run(ctx: RunContext) -> list[Row]:
    """Measure start-up and memory of ours (flaskapi-guard is not measured here)."""
    rounds = 3 if ctx.quick else 5
    imports = [float(_run(["-c", _IMPORT])) * 1000 for _ in range(rounds)]
    clients = 2_000 if ctx.quick else 100_000
    probe = json.loads(_run(["-c", _PROBE, str(clients)]))
    ctx.notes.append(
        f"startup: fresh interpreters; memory growth over {clients:,} requests, each from a "
        "distinct client address, with the in-memory store"
    )
    return [
        Row(SECTION, "import guard", "median ms", statistics.median(imports), None),
        Row(SECTION, "first screened request (import, build, compile or load database, "
            "load model)", "ms", probe["first"] * 1000, None),
        Row(SECTION, "web process with engine loaded", "RSS MB", probe["rss"], None),
        Row(SECTION, f"RSS growth over {clients:,} distinct clients", "MB", probe["growth"],
            None),
    ]
