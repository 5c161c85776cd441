"""The ``guard`` command line.

``guard detect`` screens values given as arguments, in a file, or on standard input (plain lines
or JSON Lines with a ``payload`` key) and prints the verdicts as a table or as JSON. The other
commands run the demo, report status, explain a verdict, and manage bans, incidents, patterns
and settings. Every command that prints data takes ``--json``.

Long operations draw a :class:`Progress` bar on standard error, only when standard error is a
terminal; the bar erases itself, so neither a pipe nor the ``--json`` output ever contains it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, ClassVar, TextIO

import click

from guard.logsafe import safe

PROGRESS_MIN_ITEMS = 200
"""``guard detect`` draws a bar from this many values on; fewer finish before it would show."""


class Progress:
    """A one-line progress bar on standard error, drawn only when standard error is a terminal.

    Use as a context manager and call :meth:`advance` after each step; :meth:`echo` prints a
    line to standard output without tearing the bar. On exit the bar is erased, so whatever the
    command prints afterwards is exactly what it would print without one.
    """

    WIDTH = 24
    INTERVAL = 0.05
    _active: ClassVar[Progress | None] = None

    def __init__(
        self, label: str, total: int, *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.step = ""
        self.enabled = enabled and _is_terminal(self.stream)
        self._drawn_at = 0.0

    def __enter__(self) -> Progress:
        Progress._active = self
        self._draw(force=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        Progress._active = None
        self._erase()

    @classmethod
    def pause(cls) -> None:
        """Erase the bar in progress, if any, so an error message gets a line of its own."""
        if cls._active is not None:
            cls._active._erase()

    def advance(self, step: str = "") -> None:
        """Count one step done; ``step`` names the one now running (a fixed label, not data)."""
        self.done = min(self.done + 1, self.total)
        # A new step name is drawn at once; plain counting is drawn at most every INTERVAL.
        changed, self.step = step != self.step, step
        self._draw(force=changed or self.done == self.total)

    def start(self, step: str) -> None:
        """Name the step now running without counting one done."""
        self.step = step
        self._draw(force=True)

    def echo(self, line: str) -> None:
        """Print ``line`` to standard output, clearing the bar first and redrawing it after."""
        self._erase()
        click.echo(line)
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn_at < self.INTERVAL):
            return
        self._drawn_at = now
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = f"{self.label} [{bar}] {self.done}/{self.total} {self.step}".rstrip()
        columns = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + text[: max(columns - 1, 10)] + "\x1b[K")
        self.stream.flush()

    def _erase(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Guard: penetration-attempt detection for Flask."""


def _values_from_lines(lines: Iterable[str]) -> Iterator[str]:
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            continue
        if line[:1] in ("{", '"'):
            try:
                doc = json.loads(line)
            except ValueError:
                yield line
                continue
            if isinstance(doc, dict) and "payload" in doc:
                yield str(doc["payload"])
                continue
            if isinstance(doc, str):
                yield doc
                continue
        yield line


def _collect(values: tuple[str, ...], file: TextIO | None) -> list[str]:
    if values:
        return list(values)
    source = file if file is not None else sys.stdin
    return list(_values_from_lines(source))


def _row(value: str, result: dict[str, Any]) -> dict[str, Any]:
    top = result["threats"][0] if result["threats"] else {}
    return {
        "value": value,
        "is_threat": result["is_threat"],
        "threat_score": result["threat_score"],
        "attack_class": result["attack_class"],
        "rule": top.get("pattern_id") or top.get("attack_type") or "",
        "truncated": result["truncated"],
        "execution_time_us": round(result["execution_time"] * 1e6, 1),
    }


@main.command()
@click.argument("values", nargs=-1)
@click.option("--file", "-f", type=click.File("r", encoding="utf-8", errors="replace"),
              help="Read values from a file: one per line, or JSON Lines with a payload key.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per value.")
@click.option("--context", default="cli", show_default=True, help="Context label for results.")
@click.option("--fail-on-threat", is_flag=True,
              help="Exit with status 1 when any value is a threat.")
def detect(
    values: tuple[str, ...], file: TextIO | None, as_json: bool, context: str, fail_on_threat: bool
) -> None:
    """Screen VALUES (or a file, or standard input) and print each verdict."""
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    items = _collect(values, file)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with Progress("screening", len(items), enabled=len(items) >= PROGRESS_MIN_ITEMS) as progress:
        for value in items:
            rows.append(_row(value, sus_patterns_handler.detect(value, context=context)))
            progress.advance()
    elapsed = time.perf_counter() - started
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        _print_table(rows)
    _print_summary(rows, elapsed, as_json)
    if fail_on_threat and any(r["is_threat"] for r in rows):
        sys.exit(1)


def _print_table(rows: list[dict[str, Any]]) -> None:
    click.echo(f"{'VERDICT':8} {'SCORE':>6} {'CLASS':15} {'RULE':28} VALUE")
    for row in rows:
        verdict = "THREAT" if row["is_threat"] else "ok"
        colour = "red" if row["is_threat"] else "green"
        click.echo(
            click.style(f"{verdict:8}", fg=colour)
            + f" {row['threat_score']:6.3f} {row['attack_class'] or '-':15} "
            f"{safe(row['rule'] or '-', 28):28} {safe(row['value'], 70)}"
        )


def _print_summary(rows: list[dict[str, Any]], elapsed: float, as_json: bool) -> None:
    threats = [r for r in rows if r["is_threat"]]
    by_class = Counter(r["attack_class"] for r in threats)
    summary = {
        "values": len(rows),
        "threats": len(threats),
        "by_class": dict(by_class.most_common()),
        "truncated": sum(r["truncated"] for r in rows),
        "seconds": round(elapsed, 4),
    }
    if as_json:
        click.echo(json.dumps({"summary": summary}), err=True)
        return
    classes = ", ".join(f"{k}={v}" for k, v in by_class.most_common()) or "none"
    click.echo(
        f"\n{summary['values']} values, {summary['threats']} threats ({classes}), "
        f"{summary['truncated']} truncated, {elapsed * 1000:.1f} ms"
    )


_SQLI = "1' UNION SELECT password FROM users--"
_XSS = "<img src=x onerror=alert(document.cookie)>"
_SSTI = "{{ config.__class__.__init__.__globals__ }}"
DEMO_SCRIPT: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("198.51.100.10", "GET", "/products", {"query_string": {"q": "blue running shoes"}}),
    ("198.51.100.10", "POST", "/comments",
     {"json": {"author": "Seán O'Brien", "text": "Ben & Jerry's, select flavours"}}),
    ("203.0.113.66", "GET", "/products", {"query_string": {"q": _SQLI}}),
    ("198.51.100.11", "GET", "/files", {"query_string": {"name": "report-2024.pdf"}}),
    ("203.0.113.66", "POST", "/comments", {"json": {"text": _XSS}}),
    ("203.0.113.66", "GET", "/files",
     {"query_string": {"name": "..%252f..%252f..%252fetc%252fpasswd"}}),
    ("203.0.113.66", "GET", "/products", {"query_string": {"q": "running shoes"}}),
    ("192.0.2.44", "GET", "/search", {"headers": {"User-Agent": "() { :;}; /bin/bash -c 'id'"}}),
    ("192.0.2.44", "POST", "/login",
     {"json": {"user": {"$ne": None}, "password": {"$ne": None}}}),
    ("198.51.100.12", "GET", "/search", {"query_string": {"q": "how to drop a union in SQL"}}),
    ("192.0.2.44", "GET", "/render", {"query_string": {"tpl": _SSTI}}),
    ("192.0.2.44", "GET", "/products", {"query_string": {"q": "shoes"}}),
)


def build_demo_app(config: Any = None) -> Any:
    """A small shop app protected by Guard on embedded defaults (memory store)."""
    from flask import Flask, jsonify

    from guard import FlaskAPIGuard, SecurityConfig

    app = Flask("guard-demo")
    FlaskAPIGuard(app, config=config or SecurityConfig(auto_ban_threshold=3))

    @app.route("/<path:page>", methods=["GET", "POST"])
    def page(page: str) -> Any:
        return jsonify({"page": page, "ok": True})

    return app


@main.command()
@click.option("--serve", is_flag=True, help="Keep serving the demo app on 127.0.0.1.")
@click.option("--port", default=8000, show_default=True, help="Port for --serve.")
def demo(serve: bool, port: int) -> None:
    """Run a protected demo app and fire a scripted mix of requests at it."""
    app = build_demo_app()
    if serve:
        click.echo(f"Guard demo serving on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        app.run(host="127.0.0.1", port=port)
        return
    import logging

    logging.getLogger("guard").setLevel(logging.CRITICAL)
    from guard.extension import state_for
    from pipelines import list_incidents, shared_performance_stats

    state = state_for(app)
    click.echo(f"{'CLIENT':15} {'REQUEST':44} {'STATUS':6} VERDICT")
    with Progress("demo", len(DEMO_SCRIPT) + 1) as progress:
        progress.start("requests")
        for client_ip, method, path, kwargs in DEMO_SCRIPT:
            test_client = app.test_client()
            test_client.environ_base["REMOTE_ADDR"] = client_ip
            response = test_client.open(path, method=method, **kwargs)
            body = response.get_json(silent=True) or {}
            verdict = _demo_verdict(response.status_code, body)
            shown = safe(_demo_request(method, path, kwargs), 400)
            shown = shown if len(shown) <= 44 else shown[:43] + "…"
            progress.echo(f"{client_ip:15} {shown:44} {response.status_code:<6} {verdict}")
            progress.advance("requests")
        progress.start("pipeline")
        state.publisher.flush(10)
        progress.advance()
    bans = state.store.list_bans()
    click.echo(f"\nActive bans: {len(bans)}")
    for ban in bans:
        click.echo(f"  {ban.key} until {time.strftime('%H:%M:%S', time.localtime(ban.until))}"
                   f" - {safe(ban.reason, 80)}")
    processed = shared_performance_stats(state.store, hours=1)["events"]["processed"]
    incidents = list_incidents(state.store)
    click.echo(f"\nPipeline (in-process): {state.publisher.stats.published} events published, "
               f"{processed} analysed, {len(incidents)} incidents")
    for incident in incidents:
        click.echo(f"  {incident.client}: {incident.events} events, "
                   f"classes {', '.join(incident.classes)}, actions {', '.join(incident.actions)}")


def _demo_request(method: str, path: str, kwargs: dict[str, Any]) -> str:
    if "query_string" in kwargs:
        return f"{method} {path}?" + "&".join(f"{k}={v}" for k, v in kwargs["query_string"].items())
    if "json" in kwargs:
        return f"{method} {path} {json.dumps(kwargs['json'])}"
    return f"{method} {path} {kwargs.get('headers', '')}"


def _demo_verdict(status: int, body: dict[str, Any]) -> str:
    if status == 200:
        return click.style("allowed", fg="green")
    if "banned" in str(body.get("error", "")):
        return click.style("refused: client banned", fg="magenta")
    return click.style("blocked", fg="red")


def _settings(redis_url: str | None, broker_url: str | None, prefix: str | None) -> Any:
    import os

    from workers.settings import config_from_env

    config = config_from_env(os.environ)
    changes = {k: v for k, v in (("redis_url", redis_url), ("broker_url", broker_url),
                                 ("redis_prefix", prefix)) if v is not None}
    return config.replace(**changes) if changes else config


def _fail(message: str) -> None:
    Progress.pause()
    click.echo(f"guard: {message}", err=True)
    sys.exit(2)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--redis-url", default=None, help="Store URL (default: GUARD_REDIS_URL).")
@click.option("--broker-url", default=None, help="Broker URL (default: GUARD_BROKER_URL).")
@click.option("--prefix", default=None, help="Key prefix (default: GUARD_REDIS_PREFIX).")
def status(as_json: bool, redis_url: str | None, broker_url: str | None,
           prefix: str | None) -> None:
    """Report broker, queues, events, bans, incidents and the pattern version."""
    from guard.errors import GuardError

    try:
        config = _settings(redis_url, broker_url, prefix)
        with Progress("status", len(STATUS_STEPS)) as progress:
            report = _status_report(config, progress)
    except (GuardError, ValueError) as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        for section, values in report.items():
            click.echo(f"{section}:")
            for key, value in values.items():
                click.echo(f"  {key}: {value}")
    if not report["store"]["reachable"] or report["broker"]["reachable"] is False:
        sys.exit(1)


STATUS_STEPS = ("store", "broker", "events", "bans", "incidents", "patterns", "agent")
"""The sections of ``guard status``, in the order they are gathered."""


def _status_report(config: Any, progress: Progress) -> dict[str, dict[str, Any]]:
    from guard.dispatch import ANALYSIS_QUEUE
    from guard.store import create_store
    from pipelines import list_incidents, shared_performance_stats

    progress.start("store")
    store = create_store(config.redis_url, prefix=config.redis_prefix, timeout=1.0)
    reachable = store.ping()
    report: dict[str, dict[str, Any]] = {"store": {"url": store.url, "reachable": reachable}}
    progress.advance("broker")
    report["broker"] = _broker_status(config.broker_url, (ANALYSIS_QUEUE, "guard.shipping"))
    progress.advance("events")
    if not reachable:
        report["events"] = {"error": "store unreachable"}
        return report
    shared = shared_performance_stats(store, hours=24)
    report["events"] = {
        "published": store.get_counter("events:published"),
        "dropped": store.get_counter("events:dropped"),
        "shed": store.get_counter("events:shed"),
        "processed": shared["events"]["processed"],
    }
    progress.advance("bans")
    report["bans"] = {"active": len(store.list_bans(limit=100_000))}
    progress.advance("incidents")
    report["incidents"] = {"active": len(list_incidents(store, limit=10_000))}
    progress.advance("patterns")
    report["patterns"] = {"version": _pattern_version(config)}
    progress.advance("agent")
    report["agent"] = {name: store.get_counter(f"agent:batches_{name}")
                       for name in ("sent", "dropped", "rejected")}
    progress.advance()
    return report


def _broker_status(
    url: str | None, queues: tuple[str, ...], key_prefix: str | None = None
) -> dict[str, Any]:
    """Reachability and queue depths; queue keys carry the workers' ``GUARD_BROKER_KEY_PREFIX``
    (kombu's ``global_keyprefix``) unless ``key_prefix`` says otherwise."""
    if key_prefix is None:
        key_prefix = os.environ.get("GUARD_BROKER_KEY_PREFIX", "")
    if not url:
        return {"url": None, "reachable": None, "note": "embedded (no broker configured)"}
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        depths = {queue: int(client.llen(key_prefix + queue)) for queue in queues}
    except redis.RedisError as exc:
        return {"url": _hide_password(url), "reachable": False, "error": type(exc).__name__}
    finally:
        client.close()
    return {"url": _hide_password(url), "reachable": True, "queues": depths}


def _pattern_version(config: Any) -> int | None:
    if not config.redis_url:
        return None
    import redis

    client = redis.Redis.from_url(config.redis_url, socket_timeout=1.0,
                                  socket_connect_timeout=1.0)
    try:
        return int(client.get(f"{config.redis_prefix}patterns:version") or 0)
    finally:
        client.close()


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Start a Celery worker on Guard's queues (extra arguments go to Celery)."""
    from workers import run_worker

    run_worker(list(ctx.args))


_DISCOUNTS = {"prose": "prose", "model_doubt": "model doubt"}
"""How ``guard explain`` names the discounts a rule's score went through."""


@main.command()
@click.argument("value")
@click.option("--context", default="query", show_default=True, help="Part the value came from.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(value: str, context: str, as_json: bool) -> None:
    """Show how VALUE is decoded, which rules and model features fire, and the final score."""
    from guard.engine import normalize
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    engine = sus_patterns_handler.engine
    result = engine.detect(value, context=context, exhaustive=True)
    canonical = normalize.normalize(value)
    verdict = engine.analyzer.explain(canonical) if engine.analyzer.loaded else None
    report: dict[str, Any] = {
        "steps": [{"step": name, "output": out} for name, out in normalize.trace(value)],
        "rules": [{"id": t["pattern_id"], "class": t["class"], "score": t["score"],
                   "fragment": t["fragment"], "discounts": t["discounts"]}
                  for t in result["threats"] if t["type"] == "regex"]
        + [{"id": s["pattern_id"], "class": s["class"], "score": s["score"], "fragment": "",
            "discounts": s["discounts"]}
           for s in result["signals"] if s["pattern_id"] != "semantic"],
        "model": None if verdict is None else {
            "attack_type": verdict.attack_type, "probability": verdict.probability,
            "threshold": engine.config.detection_semantic_threshold,
            "features": [{"feature": f, "weight": w} for f, w in verdict.features],
        },
        "verdict": {"is_threat": result["is_threat"], "threat_score": result["threat_score"],
                    "attack_class": result["attack_class"], "threat_at": 0.5},
    }
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo("Normalisation:")
    for step in report["steps"]:
        click.echo(f"  {step['step']:12} {safe(step['output'], 100)}")
    click.echo("Rules:" if report["rules"] else "Rules: none fired")
    for rule in report["rules"]:
        discounted = "".join(f" ×{_DISCOUNTS[d]}" for d in rule["discounts"])
        click.echo(f"  {rule['id']:30} {rule['class']:15} {rule['score']:.2f}  "
                   f"{safe(rule['fragment'], 50)}{discounted}")
    if any(rule["discounts"] for rule in report["rules"]):
        click.echo("  (×prose: the value reads as prose quoting this; ×model doubt: the model "
                   "reads the value and the text around the hit as benign)")
    model = report["model"]
    if model is not None:
        click.echo(f"Model: {model['attack_type']} p={model['probability']:.4f} "
                   f"(threshold {model['threshold']})")
        for feature in model["features"]:
            click.echo(f"  {safe(feature['feature'], 40):40} {feature['weight']:+.4f}")
    verdict_line = report["verdict"]
    click.echo(f"Verdict: {'THREAT' if verdict_line['is_threat'] else 'clean'} "
               f"score={verdict_line['threat_score']:.4f} (a threat at 0.5, or the model alone "
               f"at its threshold) class={verdict_line['attack_class']}")


def _store_from(redis_url: str | None, prefix: str | None) -> Any:
    from guard.store import create_store

    config = _settings(redis_url, None, prefix)
    store = create_store(config.redis_url, prefix=config.redis_prefix, timeout=1.0)
    if not store.ping():
        _fail(f"store {store.url} is unreachable")
    return store


def _store_options(command: Any) -> Any:
    command = click.option("--prefix", default=None,
                           help="Key prefix (default: GUARD_REDIS_PREFIX).")(command)
    return click.option("--redis-url", default=None,
                        help="Store URL (default: GUARD_REDIS_URL).")(command)


def _json_option(command: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(command)


@main.group()
def bans() -> None:
    """List, add and remove bans in the shared store."""


def _list_records(
    label: str, redis_url: str | None, prefix: str | None, as_json: bool,
    read: Callable[[Any], Sequence[Any]], line: Callable[[Any], str], noun: str,
) -> None:
    """Read records from the store behind a progress bar, then print them as JSON or lines."""
    with Progress(label, 2) as progress:
        progress.start("connecting")
        store = _store_from(redis_url, prefix)
        progress.advance("reading")
        records = read(store)
        progress.advance()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in records], indent=2))
        return
    for record in records:
        click.echo(line(record))
    click.echo(f"{len(records)} {noun}")


@bans.command("list")
@_store_options
@_json_option
def bans_list(redis_url: str | None, prefix: str | None, as_json: bool) -> None:
    """Active bans, soonest to expire first."""
    _list_records(
        "bans", redis_url, prefix, as_json, lambda store: store.list_bans(),
        lambda r: f"{r.key:40} until {_when(r.until)}  {r.source:8} {safe(r.reason, 80)}",
        "active bans",
    )


@bans.command("add")
@click.argument("address")
@click.option("--duration", type=click.IntRange(min=1), default=3600, show_default=True,
              help="Seconds.")
@click.option("--reason", default="manual ban", show_default=True, help="Why, for the record.")
@_store_options
@_json_option
def bans_add(address: str, duration: int, reason: str, redis_url: str | None,
             prefix: str | None, as_json: bool) -> None:
    """Ban ADDRESS (an IP, or an IPv6 network such as 2001:db8::/64)."""
    key = _ban_key(address)
    record = _store_from(redis_url, prefix).ban(key, duration, reason, source="manual")
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(record), indent=2))
        return
    click.echo(f"banned {record.key} until {_when(record.until)}")


@bans.command("remove")
@click.argument("address")
@_store_options
@_json_option
def bans_remove(address: str, redis_url: str | None, prefix: str | None, as_json: bool) -> None:
    """Lift the ban on ADDRESS."""
    key = _ban_key(address)
    if not _store_from(redis_url, prefix).unban(key):
        _fail(f"{address} is not banned")
    click.echo(json.dumps({"unbanned": key}) if as_json else f"unbanned {key}")


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _ban_key(address: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(address, strict=False)) if "/" in address else str(
            ipaddress.ip_address(address))
    except ValueError:
        _fail(f"not an IP address or network: {safe(address, 64)}")
        raise


@main.group()
def incidents() -> None:
    """Incidents the pipeline linked by correlation ID and client."""


@incidents.command("list")
@_store_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@_json_option
def incidents_list(redis_url: str | None, prefix: str | None, limit: int, as_json: bool) -> None:
    """The most recently active incidents."""
    _list_records(
        "incidents", redis_url, prefix, as_json, lambda store: store.list_incidents(limit),
        lambda r: f"{r.incident_id:34} {r.client:20} events={r.events:<5} "
                  f"classes={','.join(r.classes)} actions={','.join(r.actions)}",
        "incidents",
    )


@incidents.command("show")
@click.argument("incident_id")
@_store_options
@_json_option
def incidents_show(incident_id: str, redis_url: str | None, prefix: str | None,
                   as_json: bool) -> None:
    """One incident: its clients, correlation IDs, parts, classes and actions."""
    record = _store_from(redis_url, prefix).get_incident(incident_id)
    if record is None:
        _fail(f"no incident {safe(incident_id, 64)}")
        return
    fields = dataclasses.asdict(record)
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for name, value in fields.items():
        if name in ("first_seen", "last_seen"):
            value = _when(value)
        elif isinstance(value, list | tuple):
            value = ", ".join(safe(item, 80) for item in value) or "-"
        click.echo(f"{name:16} {value}")


ADVERSARIAL_INPUTS = {
    "40 a + !": "a" * 40 + "!",
    "5000 a + !": "a" * 5000 + "!",
    "10 KB a": "a" * 10_000,
    "5000 '{{'": "{{" * 5000,
    "2000 '${a('": "${a(" * 2000,
    "1000 'ab' + '!'": "ab" * 1000 + "!",
}


@main.group()
def patterns() -> None:
    """List, add, remove and test detection patterns."""


@patterns.command("list")
@_json_option
@_store_options
def patterns_list(as_json: bool, redis_url: str | None, prefix: str | None) -> None:
    """Built-in rules, and the operator patterns shared through the store."""
    from guard.engine.rules import RULES

    rows = [{"id": r.id, "class": r.attack_class, "score": r.score, "shared": False,
             "regex": r.regex} for r in RULES]
    sync = _pattern_sync(redis_url, prefix, required=False)
    if sync is not None:
        rows += [{"id": e.id, "class": e.attack_class, "score": e.score, "shared": True,
                  "regex": e.regex, "custom": e.custom, "engine": "linear" if e.linear
                  else "regex+timeout"} for e in sync.engine.pattern_entries() if e.user_added]
        sync.stop()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:34} {row['class']:15} {row['score']:.2f} "
                   f"{'shared' if row['shared'] else 'built-in'}")
    click.echo(f"{len(rows)} patterns")


@patterns.command("add")
@click.argument("pattern")
@click.option("--default", "default", is_flag=True, help="List it with the defaults.")
@_store_options
@_json_option
def patterns_add(pattern: str, default: bool, redis_url: str | None, prefix: str | None,
                 as_json: bool) -> None:
    """Share PATTERN with every process (web and workers) through the store."""
    sync = _pattern_sync(redis_url, prefix, required=True)
    assert sync is not None
    try:
        version = sync.add(pattern, custom=not default)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        sync.stop()
    _echo_version("added", version, as_json)


@patterns.command("remove")
@click.argument("pattern")
@click.option("--default", "default", is_flag=True, help="It was added with --default.")
@_store_options
@_json_option
def patterns_remove(pattern: str, default: bool, redis_url: str | None,
                    prefix: str | None, as_json: bool) -> None:
    """Stop sharing PATTERN."""
    sync = _pattern_sync(redis_url, prefix, required=True)
    assert sync is not None
    present = pattern in (sync.engine.get_default_patterns() if default
                          else sync.engine.get_custom_patterns())
    version = sync.remove(pattern, custom=not default)
    sync.stop()
    if not present:
        _fail("no such shared pattern")
    _echo_version("removed", version, as_json)


def _echo_version(action: str, version: int, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({action: True, "version": version}))
    else:
        click.echo(f"{action}; shared pattern version {version}")


@patterns.command("test")
@click.argument("pattern")
@click.option("--timeout", type=float, default=2.0, show_default=True,
              help="detection_compiler_timeout for a pattern that needs backtracking.")
@_json_option
def patterns_test(pattern: str, timeout: float, as_json: bool) -> None:
    """Say which engine would run PATTERN and time it on adversarial inputs."""
    from guard.config import SecurityConfig
    from guard.engine.detector import DetectionEngine
    from guard.engine.matcher import linear_compile_error

    reason = linear_compile_error(pattern)
    engine = DetectionEngine(SecurityConfig(detection_compiler_timeout=timeout))
    try:
        engine.add_pattern(pattern, custom=True)
    except ValueError as exc:
        _fail(str(exc))
    report: dict[str, Any] = {
        "pattern": pattern,
        "engine": "linear (one pass, no backtracking)" if reason is None
        else f"regex with a {timeout} s timeout ({reason})",
        "inputs": [],
    }
    with Progress("timing", len(ADVERSARIAL_INPUTS)) as progress:
        for label, value in ADVERSARIAL_INPUTS.items():
            progress.start(label)
            started = time.perf_counter()
            result = engine.detect(value, semantic=False)
            report["inputs"].append({
                "input": label, "ms": round((time.perf_counter() - started) * 1000, 2),
                "timed_out": bool(result["timeouts"]),
            })
            progress.advance()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"engine: {report['engine']}")
    for row in report["inputs"]:
        flag = "  TIMED OUT (counted as a hit)" if row["timed_out"] else ""
        click.echo(f"  {row['input']:18} {row['ms']:9.2f} ms{flag}")


def _pattern_sync(redis_url: str | None, prefix: str | None, required: bool) -> Any:
    from guard.engine.detector import DetectionEngine
    from guard.pattern_sync import PatternSync

    config = _settings(redis_url, None, prefix)
    if not config.redis_url:
        if required:
            _fail("shared patterns need a store: set GUARD_REDIS_URL or pass --redis-url")
        return None
    try:
        return PatternSync(DetectionEngine(), config.redis_url, config.redis_prefix).start()
    except Exception as exc:
        _fail(f"store {config.redis_url} is unreachable: {type(exc).__name__}")
        raise


@main.group()
def config() -> None:
    """Inspect Guard's settings."""


@config.command("check")
@_store_options
@click.option("--broker-url", default=None, help="Broker URL (default: GUARD_BROKER_URL).")
@_json_option
def config_check(redis_url: str | None, prefix: str | None, broker_url: str | None,
                 as_json: bool) -> None:
    """Validate the GUARD_* settings and test the store and broker connections."""
    from guard.errors import GuardError
    from guard.store import create_store

    try:
        settings = _settings(redis_url, broker_url, prefix)
    except (GuardError, ValueError) as exc:
        _fail(f"invalid configuration: {exc}")
        return
    with Progress("checking", 2) as progress:
        progress.start("store")
        store = create_store(settings.redis_url, prefix=settings.redis_prefix, timeout=1.0)
        store_ok = store.ping()
        progress.advance("broker")
        broker = _broker_status(settings.broker_url, ())
        progress.advance()
    if as_json:
        click.echo(json.dumps({"settings": "valid", "store": {"url": store.url,
                                                              "reachable": store_ok},
                               "broker": broker}, indent=2))
    else:
        click.echo("settings: valid")
        click.echo(f"store {store.url}: {'reachable' if store_ok else 'UNREACHABLE'}")
        if settings.broker_url:
            click.echo(f"broker {broker['url']}: "
                       f"{'reachable' if broker['reachable'] else 'UNREACHABLE'}")
        else:
            click.echo("broker: none (pipeline runs in-process)")
    if not store_ok or broker["reachable"] is False:
        sys.exit(1)


@config.command("reference")
def config_reference() -> None:
    """Print the Markdown reference of every setting (docs/configuration.md)."""
    from guard.config_docs import reference_markdown

    click.echo(reference_markdown(), nl=False)
