"""``python -m benchmarks.quality CORPUS.jsonl``: detection quality, ours against flaskapi-guard's.

Reads a corpus in the format of ``tests/corpora/dev.jsonl`` (see ``tests/corpora/README.md``),
feeds every payload to each engine's ``detect()`` as one query value, and reports per attack
class the true-positive rate and the class accuracy (the highest-scoring threat names the right
class), and the false-positive rate overall and per benign ``source``. Misses, false positives
and wrong classes go to ``--out`` as JSONL per engine; the Markdown report is printed and written
to ``--out/quality.md``.

flaskapi-guard spends several milliseconds per value, so it runs in a process pool (``--workers``,
default 2). ``--flask`` also sends every payload through our Flask extension, as a query value, a
JSON body field and a header, and counts any response other than 200 as a detection.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._engines import (
    CORPUS_CLASSES,
    OURS,
    PEER,
    Verdict,
    pool_init,
    pool_judge,
    try_load,
)
from benchmarks._report import NA, command, header_lines, machine, markdown_table

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
DEFAULT_CONTEXT = "query_param"
PROGRESS_EVERY = 2000

QUERY, JSON_FIELD, HEADER = "query value", "JSON body field", "header"
PLACEMENTS = (QUERY, JSON_FIELD, HEADER)
_HEADER_FORBIDDEN = frozenset("\r\n\x00")


@dataclass(frozen=True)
class Case:
    """One corpus line."""

    line: int
    payload: str
    label: str
    cls: str
    source: str

    @property
    def is_attack(self) -> bool:
        """True for attack lines, False for benign ones."""
        return self.label == "attack"


@dataclass
class Tally:
    """Lines seen, lines flagged, and flagged lines whose class was right."""

    total: int = 0
    flagged: int = 0
    right_class: int = 0

    def add(self, flagged: bool, right_class: bool = False) -> None:
        """Count one line."""
        self.total += 1
        self.flagged += flagged
        self.right_class += flagged and right_class


@dataclass
class Scores:
    """One engine's tallies: per attack class, per benign source, and pooled."""

    by_class: dict[str, Tally] = field(default_factory=dict)
    by_source: dict[str, Tally] = field(default_factory=dict)
    attacks: Tally = field(default_factory=Tally)
    benign: Tally = field(default_factory=Tally)


@dataclass
class EngineRun:
    """What one engine produced over the selected cases."""

    name: str
    description: str
    verdicts: list[Verdict] | None = None
    seconds: float = 0.0
    scores: Scores | None = None


def main(argv: list[str] | None = None) -> int:
    """Score the engines on a corpus, write the error files and the report."""
    args = _parser().parse_args(argv)
    host = machine()
    cases = select(load_corpus(args.corpus), args.limit, args.sample, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [run_ours(cases, args.context)]
    if not args.ours_only:
        runs.append(run_peer(cases, args.context, args.workers))
    for run in runs:
        if run.verdicts is not None:
            run.scores = score(cases, [(v.flagged, v.top_class) for v in run.verdicts])
            write_errors(args.out, run.name, cases, run.verdicts)
    flask_part = run_flask(cases) if args.flask else None
    report = render(args, host, cases, runs, flask_part)
    (args.out / "quality.md").write_text(report, encoding="utf-8")
    summary = json.dumps(as_json(runs, flask_part), indent=2)
    (args.out / "quality.json").write_text(summary + "\n", encoding="utf-8")
    sys.stdout.write(report)
    return 0


def load_corpus(path: Path) -> list[Case]:
    """Every line of a JSONL corpus."""
    cases = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                row = json.loads(line)
                cases.append(
                    Case(number, row["payload"], row["label"], row["class"], row["source"])
                )
    return cases


def select(cases: list[Case], limit: int | None, sample: bool, seed: int) -> list[Case]:
    """The whole corpus, its first ``limit`` lines, or (``sample``) a seeded random ``limit``."""
    if limit is None or limit >= len(cases):
        return cases
    if not sample:
        return cases[:limit]
    chosen = random.Random(seed).sample(range(len(cases)), limit)
    return [cases[i] for i in sorted(chosen)]


def run_ours(cases: Sequence[Case], context: str) -> EngineRun:
    """Judge every case with our ``detect()`` in this process."""
    engine, reason = try_load(OURS)
    if engine is None:
        return EngineRun(OURS, f"n/a ({reason})")
    start = time.perf_counter()
    verdicts = [engine.judge(case.payload, context) for case in _progress(cases, OURS)]
    return EngineRun(OURS, engine.version, verdicts, time.perf_counter() - start)


def run_peer(cases: Sequence[Case], context: str, workers: int) -> EngineRun:
    """Judge every case with flaskapi-guard's ``detect()`` in a pool of ``workers`` processes."""
    engine, reason = try_load(PEER)
    if engine is None:
        return EngineRun(PEER, f"n/a ({reason})")
    start = time.perf_counter()
    # spawn, not fork: the parent may hold our engine's background threads and their locks.
    pool_context = multiprocessing.get_context("spawn")
    with pool_context.Pool(workers, initializer=pool_init, initargs=(PEER,)) as pool:
        items = [(case.payload, context) for case in cases]
        verdicts = list(_progress(pool.imap(pool_judge, items, chunksize=32), PEER, len(items)))
    return EngineRun(PEER, engine.version, verdicts, time.perf_counter() - start)


def score(cases: Sequence[Case], verdicts: Sequence[tuple[bool, str | None]]) -> Scores:
    """Tally ``(flagged, top class)`` verdicts against the cases' labels."""
    scores = Scores()
    for case, (flagged, top_class) in zip(cases, verdicts, strict=True):
        if case.is_attack:
            right = top_class == case.cls
            scores.by_class.setdefault(case.cls, Tally()).add(flagged, right)
            scores.attacks.add(flagged, right)
        else:
            scores.by_source.setdefault(case.source, Tally()).add(flagged)
            scores.benign.add(flagged)
    return scores


def write_errors(out: Path, engine: str, cases: Sequence[Case], verdicts: list[Verdict]) -> None:
    """Write ``misses``, ``false_positives`` and ``wrong_class`` JSONL files for ``engine``."""
    files = {
        kind: (out / f"{kind}.{engine}.jsonl").open("w", encoding="utf-8")
        for kind in ("misses", "false_positives", "wrong_class")
    }
    try:
        for case, verdict in zip(cases, verdicts, strict=True):
            kind = _error_kind(case, verdict)
            if kind:
                record = {
                    "line": case.line,
                    "payload": case.payload,
                    "class": case.cls,
                    "source": case.source,
                    **asdict(verdict),
                }
                files[kind].write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        for handle in files.values():
            handle.close()


def _error_kind(case: Case, verdict: Verdict) -> str | None:
    if case.is_attack and not verdict.flagged:
        return "misses"
    if not case.is_attack and verdict.flagged:
        return "false_positives"
    if case.is_attack and verdict.top_class != case.cls:
        return "wrong_class"
    return None


@dataclass
class FlaskPart:
    """Our Flask extension's scores per placement, or why it could not run."""

    reason: str = ""
    scores: dict[str, Scores] = field(default_factory=dict)
    unsendable: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)


def run_flask(cases: Sequence[Case]) -> FlaskPart:
    """Send every case through our Flask extension in each placement."""
    from benchmarks._apps import ITEMS_PATH, SEARCH_PATH, try_build

    app, reason = try_build(OURS)
    if app is None:
        sys.stderr.write(f"--flask skipped: {reason}\n")
        return FlaskPart(reason=reason)
    client = app.test_client()
    senders: dict[str, Callable[[str], Any]] = {
        QUERY: lambda v: client.get(SEARCH_PATH, query_string={"q": v}),
        JSON_FIELD: lambda v: client.post(ITEMS_PATH, json={"comment": v}),
        HEADER: lambda v: client.get(SEARCH_PATH, headers={"X-Comment": _as_header(v)}),
    }
    part = FlaskPart()
    for placement, send in senders.items():
        kept, verdicts, statuses = [], [], part.statuses.setdefault(placement, {})
        for case in _progress(cases, f"flask {placement}"):
            status = _status(send, case.payload, placement)
            if status is None:
                continue
            statuses[status] = statuses.get(status, 0) + 1
            kept.append(case)
            verdicts.append((status != 200, None))
        part.unsendable[placement] = len(cases) - len(kept)
        part.scores[placement] = score(kept, verdicts)
    return part


def _status(send: Callable[[str], Any], payload: str, placement: str) -> int | None:
    if placement == HEADER and _HEADER_FORBIDDEN.intersection(payload):
        return None
    try:
        response = send(payload)
    except ValueError:
        return None
    response.close()
    return int(response.status_code)


def _as_header(value: str) -> str:
    # WSGI carries header bytes as latin-1 text: this sends the payload's UTF-8 bytes unchanged.
    return value.encode("utf-8").decode("latin-1")


def render(
    args: argparse.Namespace,
    host: dict[str, Any],
    cases: Sequence[Case],
    runs: list[EngineRun],
    flask_part: FlaskPart | None,
) -> str:
    """The Markdown report."""
    attacks = sum(c.is_attack for c in cases)
    info = {
        "machine": host,
        "command": command(),
        "engines": {run.name: _describe(run, len(cases)) for run in runs},
        "notes": [
            f"corpus: `{args.corpus}`, {len(cases):,} lines ({attacks:,} attacks, "
            f"{len(cases) - attacks:,} benign){_selection(args)}",
            f"each payload is one `detect()` value in context `{args.context}`; class = the "
            "highest-scoring threat's class (flaskapi-guard's categories mapped onto the "
            "corpus classes, e.g. dir_traversal -> path_traversal, template -> ssti)",
        ],
    }
    lines = header_lines("Detection quality", info)
    lines += ["", "## Attacks: true-positive rate and class accuracy per class", ""]
    lines += _attack_table(runs)
    lines += ["", "## Benign: false-positive rate per source", ""]
    lines += _benign_table(runs)
    if flask_part is not None:
        lines += ["", "## Ours through the Flask extension (flagged = response other than 200)"]
        lines += ["", *_flask_lines(flask_part)]
    return "\n".join(lines) + "\n"


def _attack_table(runs: list[EngineRun]) -> list[str]:
    head = ["class", "n"]
    for run in runs:
        head += [f"{run.name} TPR", f"{run.name} class acc"]
    classes = _present(runs, lambda s: s.by_class, CORPUS_CLASSES)
    body = []
    for cls, pick in [*((c, _by_class(c)) for c in classes), ("all attacks", _all_attacks)]:
        row = [cls, _total(runs, pick)]
        for run in runs:
            tally = pick(run.scores) if run.scores else None
            row += [_rate(tally, "flagged"), _rate(tally, "right_class")]
        body.append(row)
    return markdown_table(head, body, right_aligned=set(range(1, len(head))))


def _benign_table(runs: list[EngineRun]) -> list[str]:
    head = ["source", "n", *(f"{run.name} FPR" for run in runs)]
    sources = _present(runs, lambda s: s.by_source, ())
    body = []
    for source, pick in [*((s, _by_source(s)) for s in sources), ("all benign", _all_benign)]:
        row = [source, _total(runs, pick)]
        row += [_rate(pick(run.scores) if run.scores else None, "flagged") for run in runs]
        body.append(row)
    return markdown_table(head, body, right_aligned=set(range(1, len(head))))


def _flask_lines(part: FlaskPart) -> list[str]:
    if part.reason:
        return [f"Skipped: {part.reason}."]
    head = ["class", *(f"TPR as {p}" for p in PLACEMENTS)]
    first = part.scores[QUERY]
    classes = [c for c in CORPUS_CLASSES if c in first.by_class]
    body = []
    for cls, pick in [*((c, _by_class(c)) for c in classes), ("all attacks", _all_attacks)]:
        body.append([cls, *(_rate(pick(part.scores[p]), "flagged") for p in PLACEMENTS)])
    body.append(["benign (FPR)", *(_rate(part.scores[p].benign, "flagged") for p in PLACEMENTS)])
    notes = [
        f"- {placement}: {count:,} payloads not sendable (CR, LF or NUL in a header value), "
        "left out"
        for placement, count in part.unsendable.items()
        if count
    ]
    notes += [
        f"- HTTP statuses as {p}: {dict(sorted(s.items()))}" for p, s in part.statuses.items()
    ]
    return [*markdown_table(head, body, right_aligned={1, 2, 3}), "", *notes]


def _by_class(cls: str) -> Callable[[Scores], Tally | None]:
    return lambda s: s.by_class.get(cls)


def _by_source(source: str) -> Callable[[Scores], Tally | None]:
    return lambda s: s.by_source.get(source)


def _all_attacks(s: Scores) -> Tally:
    return s.attacks


def _all_benign(s: Scores) -> Tally:
    return s.benign


def _present(
    runs: list[EngineRun], table: Callable[[Scores], dict[str, Tally]], order: Iterable[str]
) -> list[str]:
    seen: dict[str, int] = {}
    for run in runs:
        if run.scores:
            for key, tally in table(run.scores).items():
                seen[key] = tally.total
    ordered = [key for key in order if key in seen]
    rest = sorted((k for k in seen if k not in ordered), key=lambda k: (-seen[k], k))
    return ordered + rest


def _total(runs: list[EngineRun], pick: Callable[[Scores], Tally | None]) -> str:
    for run in runs:
        tally = pick(run.scores) if run.scores else None
        if tally is not None:
            return f"{tally.total:,}"
    return NA


def _rate(tally: Tally | None, field_name: str) -> str:
    if tally is None:
        return NA
    count = getattr(tally, field_name)
    if tally.total == 0:
        return f"{count}/0"
    return f"{count:,}/{tally.total:,} = {100 * count / tally.total:.1f}%"


def _describe(run: EngineRun, count: int) -> str:
    if run.verdicts is None:
        return run.description
    per_value = 1e6 * run.seconds / max(count, 1)
    return f"{run.description}; {run.seconds:,.1f} s wall ({per_value:,.0f} µs/value wall)"


def _selection(args: argparse.Namespace) -> str:
    if args.limit is None:
        return " (whole file)"
    how = f"random sample, seed {args.seed}" if args.sample else "first lines"
    return f" (--limit {args.limit}: {how})"


def as_json(runs: list[EngineRun], flask_part: FlaskPart | None) -> dict[str, Any]:
    """Every tally, for machines."""
    result: dict[str, Any] = {
        "command": command(),
        "engines": {
            run.name: {
                "description": run.description,
                "seconds": run.seconds,
                "scores": asdict(run.scores) if run.scores else None,
            }
            for run in runs
        },
    }
    if flask_part is not None:
        result["flask"] = asdict(flask_part)
    return result


def _progress(items: Iterable[Any], label: str, total: int | None = None) -> Iterable[Any]:
    if total is None and isinstance(items, Sequence):
        total = len(items)
    for done, item in enumerate(items, start=1):
        if done % PROGRESS_EVERY == 0:
            sys.stderr.write(f"{label}: {done:,}/{total or '?'}\n")
        yield item


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality",
        description="Detection quality of Guard and flaskapi-guard on a labelled JSONL corpus.",
    )
    parser.add_argument("corpus", type=Path, help="JSONL corpus (format of tests/corpora)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--flask", action="store_true", help="also run ours through the Flask extension"
    )
    parser.add_argument("--limit", type=int, help="use only N lines (default: the whole file)")
    parser.add_argument(
        "--sample", action="store_true", help="with --limit: a seeded random sample of N lines"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    parser.add_argument("--ours-only", action="store_true", help="do not run flaskapi-guard")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes for flaskapi-guard (default 2)"
    )
    parser.add_argument(
        "--context",
        default=DEFAULT_CONTEXT,
        help=f"detect() context for every payload (default {DEFAULT_CONTEXT})",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
