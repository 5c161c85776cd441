"""The ``guard`` command line.

``guard detect`` screens values given as arguments, in a file, or on standard input (plain lines
or JSON Lines with a ``payload`` key) and prints the verdicts as a table or as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import click

from guard.logsafe import safe

PROGRESS_MIN_ITEMS = 200


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
@click.option("--fail-on-threat", is_flag=True, help="Exit with status 1 when any value is a threat.")
def detect(
    values: tuple[str, ...], file: TextIO | None, as_json: bool, context: str, fail_on_threat: bool
) -> None:
    """Screen VALUES (or a file, or standard input) and print each verdict."""
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    items = _collect(values, file)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    show_progress = len(items) >= PROGRESS_MIN_ITEMS and not as_json
    with click.progressbar(items, label="screening", file=sys.stderr,
                           hidden=not show_progress) as bar:
        for value in bar:
            rows.append(_row(value, sus_patterns_handler.detect(value, context=context)))
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
