"""Section ``flask``: what each guard adds to a whole request, through Flask's test client.

No server or socket is involved: the test client calls the WSGI app in-process, so the numbers
are the guard's CPU cost per request. Each row gives bare Flask's median µs/request as the
baseline and, for each guard, its median minus bare Flask's median taken in the same round.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from benchmarks._apps import APP_NAMES, BARE, ITEMS_PATH, SEARCH_PATH, try_build
from benchmarks._engines import OURS, PEER
from benchmarks._report import Row
from benchmarks._timing import gc_paused, time_each, turn_order
from benchmarks._workloads import ATTACK_VALUES, BENIGN_VALUES, VALUE_BYTES, fit, json_body
from benchmarks.sections._base import RunContext

SECTION = "flask"
REQUESTS_PER_REPEAT = 2

BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.7",
    "Cookie": "session=7f3c2a9e41d04b6f; theme=dark",
}


@dataclass(frozen=True)
class RequestCase:
    """One request shape, sent identically to every app."""

    label: str
    method: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)


def cases() -> list[RequestCase]:
    """Benign GET with a query value and browser headers, 5 KB JSON POST, blocked attack GET."""
    return [
        RequestCase(
            f"GET, {VALUE_BYTES} B benign query value + 4 headers",
            "GET",
            SEARCH_PATH,
            {
                "query_string": {"q": fit(BENIGN_VALUES[0], VALUE_BYTES), "page": "2"},
                "headers": BROWSER_HEADERS,
            },
        ),
        RequestCase(
            "POST, 5 KB JSON body",
            "POST",
            ITEMS_PATH,
            {"data": json_body(), "content_type": "application/json", "headers": BROWSER_HEADERS},
        ),
        RequestCase(
            "GET, SQLi in query value (blocked)",
            "GET",
            SEARCH_PATH,
            {"query_string": {"q": ATTACK_VALUES[0]}, "headers": BROWSER_HEADERS},
        ),
    ]


def run(ctx: RunContext) -> list[Row]:
    """Time every case on bare Flask and on each guard that can be built."""
    clients: dict[str, FlaskClient] = {}
    for name in APP_NAMES:
        app, reason = try_build(name)
        if app is None:
            ctx.notes.append(f"{SECTION} section, {name}: n/a ({reason})")
        else:
            clients[name] = app.test_client()
    rows = []
    for case in cases():
        medians, statuses = _measure(clients, case, ctx)
        bare = medians[BARE]
        rows.append(
            Row(
                SECTION,
                case.label,
                "median µs/request over bare",
                _over(medians.get(OURS), bare),
                _over(medians.get(PEER), bare),
                baseline=bare,
                note="HTTP " + "/".join(str(statuses.get(n, "-")) for n in APP_NAMES),
                extra={"status": statuses},
            )
        )
    return rows


def _measure(
    clients: dict[str, FlaskClient], case: RequestCase, ctx: RunContext
) -> tuple[dict[str, float], dict[str, int]]:
    statuses = {name: _send(client, case) for name, client in clients.items()}
    for client in clients.values():
        for _ in range(ctx.plan.warmup * REQUESTS_PER_REPEAT):
            _send(client, case)
    per_round: dict[str, list[float]] = {name: [] for name in clients}
    count = ctx.plan.repeat * REQUESTS_PER_REPEAT
    with gc_paused():
        for index in range(ctx.plan.rounds):
            for name in turn_order(list(clients), index):
                send = functools.partial(_send, clients[name], case)
                timings = [time_each(send) for _ in range(count)]
                per_round[name].append(statistics.median(timings))
    return {name: statistics.median(m) for name, m in per_round.items()}, statuses


def _send(client: FlaskClient, case: RequestCase) -> int:
    response = client.open(case.path, method=case.method, **case.options)
    response.close()
    return response.status_code


def _over(value: float | None, bare: float) -> float | None:
    return None if value is None else value - bare
