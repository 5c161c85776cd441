"""Section ``flask``: what each guard adds to a whole request, through Flask's test client.

No server or socket is involved: the test client calls the WSGI app in-process, so the numbers
are the guard's CPU cost per request. Each row gives bare Flask's median µs/request as the
baseline and, for each guard, its median minus bare Flask's median taken in the same round.

Guard remembers values it has found clean (``guard.engine.memo``), so a request sent again
costs less than a new one. The cases therefore come in two kinds: the same request repeated,
and a request whose user data is new every time (a new search, the next order with a new id
and comment) while its headers, cookies, keys and product lines repeat, as a browser's or an
API client's do. Each app gets exactly the same sequence of requests.
"""

from __future__ import annotations

import functools
import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from benchmarks._apps import APP_NAMES, BARE, FORM_PATH, ITEMS_PATH, SEARCH_PATH, try_build
from benchmarks._engines import OURS, PEER
from benchmarks._report import Row
from benchmarks._timing import gc_paused, time_each, turn_order
from benchmarks._workloads import (
    ATTACK_VALUES,
    BENIGN_VALUES,
    VALUE_BYTES,
    fit,
    form_body,
    json_body,
)
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
    """One request shape; ``vary(n)`` gives the options of the ``n``-th request (the same for
    every ``n`` unless the case sends new user data each time)."""

    label: str
    method: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)
    vary: Callable[[int], dict[str, Any]] | None = None

    def request_options(self, n: int) -> dict[str, Any]:
        """The test client's keyword arguments for the ``n``-th request."""
        return self.options if self.vary is None else {**self.options, **self.vary(n)}


def _search(value: str) -> dict[str, Any]:
    return {"query_string": {"q": fit(value, VALUE_BYTES), "page": "2"}}


def cases() -> list[RequestCase]:
    """Benign GET with a query value and browser headers (repeated, and with a new search each
    time), 5 KB JSON POST (repeated, and the next order each time), 64 KB form POST, and a
    blocked attack GET."""
    json_options = {"content_type": "application/json", "headers": BROWSER_HEADERS}
    return [
        RequestCase(
            f"GET, {VALUE_BYTES} B benign query value + 4 headers",
            "GET",
            SEARCH_PATH,
            {**_search(BENIGN_VALUES[0]), "headers": BROWSER_HEADERS},
        ),
        RequestCase(
            f"GET, as above, a new {VALUE_BYTES} B query value each request",
            "GET",
            SEARCH_PATH,
            {"headers": BROWSER_HEADERS},
            vary=lambda n: _search(f"{BENIGN_VALUES[0]} {n}"),
        ),
        RequestCase("POST, 5 KB JSON body", "POST", ITEMS_PATH,
                    {"data": json_body(), **json_options}),
        RequestCase(
            "POST, 5 KB JSON body, a new order id and comment each request",
            "POST",
            ITEMS_PATH,
            json_options,
            vary=lambda n: {"data": json_body(n=n)},
        ),
        RequestCase(
            "POST, 64 KB urlencoded form (a blog post)",
            "POST",
            FORM_PATH,
            {"data": form_body(), "headers": BROWSER_HEADERS},
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
    # Every app gets the same numbered sequence of requests.
    counters = {name: itertools.count() for name in clients}
    statuses = {name: _send(client, case, next(counters[name]))
                for name, client in clients.items()}
    for name, client in clients.items():
        for _ in range(ctx.plan.warmup * REQUESTS_PER_REPEAT):
            _send(client, case, next(counters[name]))
    per_round: dict[str, list[float]] = {name: [] for name in clients}
    count = ctx.plan.repeat * REQUESTS_PER_REPEAT
    with gc_paused():
        for index in range(ctx.plan.rounds):
            for name in turn_order(list(clients), index):
                # A request's options are built before its clock starts.
                sends = [functools.partial(_open, clients[name], case,
                                           case.request_options(next(counters[name])))
                         for _ in range(count)]
                timings = [time_each(send) for send in sends]
                per_round[name].append(statistics.median(timings))
    return {name: statistics.median(m) for name, m in per_round.items()}, statuses


def _send(client: FlaskClient, case: RequestCase, n: int = 0) -> int:
    return _open(client, case, case.request_options(n))


def _open(client: FlaskClient, case: RequestCase, options: dict[str, Any]) -> int:
    response = client.open(case.path, method=case.method, **options)
    response.close()
    return response.status_code


def _over(value: float | None, bare: float) -> float | None:
    return None if value is None else value - bare
