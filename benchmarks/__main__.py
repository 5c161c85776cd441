"""``python -m benchmarks``: run the speed sections and print one table (or JSON).

Run it as ``.venv-bench/bin/python -m benchmarks`` from the repository root. It installs
nothing; an engine that cannot be imported shows "n/a" in its column and the reason in the header.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from benchmarks._engines import ENGINE_NAMES, try_load
from benchmarks._report import Row, command, header_lines, machine, render_table, rows_as_json
from benchmarks._timing import FULL, QUICK
from benchmarks.sections import SECTIONS, RunContext


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the chosen sections, print the result; return the exit status."""
    args = _parser().parse_args(argv)
    sections = _sections(args.sections)
    host = machine()
    engines, descriptions = {}, {}
    for name in ENGINE_NAMES:
        start = time.perf_counter()
        engine, reason = try_load(name)
        loaded_in = time.perf_counter() - start
        engines[name] = engine
        descriptions[name] = (
            f"{engine.version} (imported and configured in {loaded_in:.1f} s)"
            if engine
            else f"n/a ({reason})"
        )
    plan = QUICK if args.quick else FULL
    ctx = RunContext(quick=args.quick, plan=plan, engines=engines)
    rows: list[Row] = []
    for name in sections:
        rows += SECTIONS[name](ctx)
    info: dict[str, Any] = {
        "machine": host,
        "command": command(),
        "engines": descriptions,
        "mode": {"quick": args.quick, "plan": vars(plan), "sections": sections},
        "notes": ctx.notes,
    }
    if args.json:
        json.dump({**info, "rows": rows_as_json(rows)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        mode = "quick" if args.quick else "full"
        info["notes"] = [
            f"mode: {mode} (warm-up passes {plan.warmup}, rounds {plan.rounds}, "
            f"passes per round {plan.repeat})",
            *ctx.notes,
        ]
        lines = [*header_lines("guard benchmarks", info), "", *render_table(rows)]
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time Guard against flaskapi-guard and print one table.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny configuration for a smoke test (seconds)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of: {', '.join(SECTIONS)} (default: all)",
    )
    return parser


def _sections(spec: str) -> list[str]:
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise SystemExit(
            f"unknown section(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SECTIONS)}"
        )
    return names


if __name__ == "__main__":
    sys.exit(main())
