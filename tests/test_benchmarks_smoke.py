"""Smoke tests of the benchmark commands: they run, exit 0 and print the expected rows.

Both commands run as subprocesses of the current interpreter, where flaskapi-guard is usually not
installed; its column must then read "n/a". Timings are reported by the commands, never asserted.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpora" / "dev.jsonl"
PEER_INSTALLED = importlib.util.find_spec("flaskapi_guard") is not None


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def table_rows(stdout: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in stdout.splitlines()
        if line.startswith("| ") and not line.startswith("|--")
    ]


def test_speed_benchmark_quick_runs_every_section():
    result = run("-m", "benchmarks", "--quick")
    assert result.returncode == 0, result.stderr
    head, *rows = table_rows(result.stdout)
    assert head[:7] == [
        "section",
        "case",
        "stat",
        "bare Flask",
        "ours",
        "flaskapi-guard",
        "theirs/ours",
    ]
    cases = {(row[0], row[1].split(" (")[0], row[2]) for row in rows}
    for workload in ("100 B value", "5.0 KB JSON body", "10.0 KB text body"):
        assert ("detect", workload, "median µs/value") in cases
        assert ("detect", workload, "p99 µs/value") in cases
    for label in ("GET, 100 B benign query value + 4 headers", "POST, 5 KB JSON body",
                  "GET, SQLi in query value"):
        assert ("flask", label, "median µs/request over bare") in cases
    assert {("gunicorn", "GET through gunicorn", stat)
            for stat in ("requests/s", "p50 ms", "p99 ms")} <= cases
    assert {row[0] for row in rows} == {"detect", "flask", "gunicorn", "pipeline", "startup"}
    pipeline = {row[1] for row in rows if row[0] == "pipeline"}
    assert any(case.startswith("2 workers") for case in pipeline)
    startup = {row[1] for row in rows if row[0] == "startup"}
    assert "import guard" in startup and "web process with engine loaded" in startup
    # Every figure of ours is a number: no section fell back to a placeholder. The quick run's
    # few samples are noisy, so "µs over bare" may come out below zero; its sign is not checked.
    for row in rows:
        assert row[4].replace(",", "").replace(".", "").removeprefix("-").isdigit(), row
    if not PEER_INSTALLED:
        assert {row[5] for row in rows} == {"n/a"}
        assert {row[6] for row in rows} == {"n/a"}
    assert "- command: `" in result.stdout


def test_speed_benchmark_json_output():
    result = run("-m", "benchmarks", "--quick", "--sections", "detect", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["machine"]["cores"] >= 1
    assert len(report["rows"]) == 6


def test_speed_benchmark_rejects_unknown_section():
    result = run("-m", "benchmarks", "--sections", "nonsense")
    assert result.returncode != 0
    assert "nonsense" in result.stderr


def test_quality_benchmark_ours_only(tmp_path):
    result = run(
        "-m",
        "benchmarks.quality",
        str(CORPUS),
        "--limit",
        "200",
        "--ours-only",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    rows = {row[0]: row for row in table_rows(result.stdout)}
    with CORPUS.open(encoding="utf-8") as corpus:
        first = [json.loads(next(corpus)) for _ in range(200)]
    attack_classes = {r["class"] for r in first if r["label"] == "attack"}
    for name in [*attack_classes, "all attacks", "all benign"]:
        assert name in rows, name
    assert "flaskapi-guard TPR" not in rows["class"]
    assert (tmp_path / "quality.md").read_text(encoding="utf-8") == result.stdout
    assert (tmp_path / "quality.json").exists()
