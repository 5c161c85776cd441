"""Detection floors on the labelled development corpus (``tests/corpora/dev.jsonl``), the
held-out corpus (``tests/corpora/heldout.jsonl``, not used for tuning but for one read of its
cmdi misses; see ``HELDOUT.md``)
and the benign prose tuning corpus (``tests/corpora/prose_tuning.jsonl``; see ``PROSE.md``).

Every line is screened once as a single value through ``detect()``; the dev floors are the
detection-quality bars (overall TPR >= 98%, every class >= 92%, and >= 95% for sqli, xss, cmdi
and path traversal; benign FPR <= 0.3% overall and <= 1% on each hard slice). The held-out
floors sit a little below what was measured, to catch regressions on inputs the rules were not
written against. The measured figures are printed for the record (run with ``-s``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from guard.engine.detector import DetectionEngine
from tests.conftest import CORPUS

HELDOUT = CORPUS.with_name("heldout.jsonl")
PROSE = CORPUS.with_name("prose_tuning.jsonl")
PROBE = CORPUS.with_name("probe.jsonl")
GENERATED = CORPUS.with_name("generated_tuning.jsonl")

MAIN_CLASSES = ("sqli", "xss", "cmdi", "path_traversal")
HARD_BENIGN = ("synthetic:handwritten", "synthetic:python-docstrings",
               "minimaxir/big-list-of-naughty-strings")


def _source(row: dict[str, Any]) -> str:
    if row["source"].startswith(("synthetic", "gnu:")):
        return row["source"].split("/")[0] if row["source"].startswith("gnu:") else row["source"]
    return row["source"].split(":")[0]


@pytest.fixture(scope="module")
def engine() -> DetectionEngine:
    return DetectionEngine()


@pytest.fixture(scope="module")
def measured(engine: DetectionEngine) -> dict[str, Counter[str]]:
    return _measure(engine, CORPUS)


@pytest.fixture(scope="module")
def heldout(engine: DetectionEngine) -> dict[str, Counter[str]]:
    return _measure(engine, HELDOUT)


@pytest.fixture(scope="module")
def prose(engine: DetectionEngine) -> dict[str, Counter[str]]:
    return _measure(engine, PROSE)


@pytest.fixture(scope="module")
def probe(engine: DetectionEngine) -> dict[str, Counter[str]]:
    return _measure(engine, PROBE)


@pytest.fixture(scope="module")
def generated(engine: DetectionEngine) -> dict[str, Counter[str]]:
    return _measure(engine, GENERATED)


def _measure(engine: DetectionEngine, corpus: Path) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("tp", "total", "right", "fp", "neg")}
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            result = engine.detect(row["payload"])
            if row["label"] == "attack":
                counts["total"][row["class"]] += 1
                if result["is_threat"]:
                    counts["tp"][row["class"]] += 1
                    counts["right"][row["class"]] += result["attack_class"] == row["class"]
            else:
                counts["neg"][_source(row)] += 1
                counts["fp"][_source(row)] += bool(result["is_threat"])
    for cls in sorted(counts["total"]):
        tp, total = counts["tp"][cls], counts["total"][cls]
        print(f"TPR {cls:15s} {tp}/{total} = {100 * tp / total:.1f}%  "
              f"class accuracy {100 * counts['right'][cls] / max(tp, 1):.1f}%")
    for src in sorted(counts["neg"]):
        print(f"FPR {src:40s} {counts['fp'][src]}/{counts['neg'][src]}")
    return counts


def _rate(hits: int, total: int) -> float:
    return hits / total if total else 0.0


@pytest.mark.parametrize("cls", MAIN_CLASSES)
def test_main_class_tpr_floor(measured: dict[str, Counter[str]], cls: str) -> None:
    assert _rate(measured["tp"][cls], measured["total"][cls]) >= 0.95


@pytest.mark.parametrize("cls", ["ssti", "crlf", "ldap", "xml", "nosql", "file_upload"])
def test_other_class_tpr_floor(measured: dict[str, Counter[str]], cls: str) -> None:
    assert _rate(measured["tp"][cls], measured["total"][cls]) >= 0.92


def test_overall_tpr_floor(measured: dict[str, Counter[str]]) -> None:
    assert _rate(sum(measured["tp"].values()), sum(measured["total"].values())) >= 0.98


@pytest.mark.parametrize("cls", [*MAIN_CLASSES, "ssti", "crlf", "ldap", "xml", "nosql",
                                 "file_upload"])
def test_class_accuracy_floor(measured: dict[str, Counter[str]], cls: str) -> None:
    # file_upload's own labels overlap cmdi (whole PHP files) and xss (HTML files): 96.5% today,
    # since a web shell and a null byte after a path are told apart (session 12).
    assert _rate(measured["right"][cls], measured["tp"][cls]) >= 0.95


def test_benign_fpr_ceiling(measured: dict[str, Counter[str]]) -> None:
    assert _rate(sum(measured["fp"].values()), sum(measured["neg"].values())) <= 0.003


@pytest.mark.parametrize("source", HARD_BENIGN)
def test_hard_benign_slices(measured: dict[str, Counter[str]], source: str) -> None:
    assert _rate(measured["fp"][source], measured["neg"][source]) <= 0.01


# Held-out floors: measured (after the variable-command and encoded-break rules, the markup
# confirmers and the ldap/nosql/xml extension) minus a margin. crlf (32 lines) is only covered by
# the pooled floor.
HELDOUT_TPR_FLOORS = {"sqli": 0.95, "xss": 0.97, "cmdi": 0.93, "path_traversal": 0.93,
                      "ssti": 0.90, "file_upload": 0.95, "ldap": 0.89, "xml": 0.91,
                      "nosql": 0.95}


@pytest.mark.parametrize("cls", sorted(HELDOUT_TPR_FLOORS))
def test_heldout_class_tpr_floor(heldout: dict[str, Counter[str]], cls: str) -> None:
    assert _rate(heldout["tp"][cls], heldout["total"][cls]) >= HELDOUT_TPR_FLOORS[cls]


def test_heldout_overall_tpr_floor(heldout: dict[str, Counter[str]]) -> None:
    assert _rate(sum(heldout["tp"].values()), sum(heldout["total"].values())) >= 0.93


def test_heldout_fpr_ceiling(heldout: dict[str, Counter[str]]) -> None:
    assert _rate(sum(heldout["fp"].values()), sum(heldout["neg"].values())) <= 0.007


# Prose tuning ceilings: measured after the quote-parity, script-body, Windows-directory,
# bind-placeholder, inert-template, fetch-position, quoted-document and named-path confirmers
# (handwritten 3/244 and 2/148, Jinja 5/31, GNU 11/1,040), plus a margin. It is a tuning set:
# these catch regressions.
PROSE_FPR_CEILINGS = {"gnu:": 0.02, "synthetic:handwritten-prose": 0.025,
                      "synthetic:handwritten-prose-2": 0.05, "pallets/jinja": 0.20,
                      "git/git": 0.05}


@pytest.mark.parametrize("source", sorted(PROSE_FPR_CEILINGS))
def test_prose_fpr_ceiling(prose: dict[str, Counter[str]], source: str) -> None:
    assert prose["neg"][source] > 0
    assert _rate(prose["fp"][source], prose["neg"][source]) <= PROSE_FPR_CEILINGS[source]


def test_prose_overall_fpr_ceiling(prose: dict[str, Counter[str]]) -> None:
    assert _rate(sum(prose["fp"].values()), sum(prose["neg"].values())) <= 0.025


def test_probe_attacks(probe: dict[str, Counter[str]]) -> None:
    """The technique probe (``PROBE.md``): evasions and payload families from outside the
    development corpus's lists, each class caught and named."""
    assert _rate(sum(probe["tp"].values()), sum(probe["total"].values())) >= 0.98
    assert all(probe["tp"][cls] >= 0.9 * probe["total"][cls] for cls in probe["total"])
    assert sum(probe["right"].values()) >= 0.95 * sum(probe["tp"].values())


def test_probe_benign_ceiling(probe: dict[str, Counter[str]]) -> None:
    """Technical but benign values (paths, code, markup, IDs, prose about attacks); the lines
    flagged today are listed in ``PROBE.md``, and this ceiling keeps new ones out."""
    assert probe["neg"]["synthetic:probe-benign"] > 0
    assert probe["fp"]["synthetic:probe-benign"] <= 10


def test_generated_attacks(generated: dict[str, Counter[str]]) -> None:
    """Helper-written attacks (``GENERATED.md``): 5,248/5,312 caught when the floors were last
    checked (session 17, attacks 22 and 23 joined). Floors: 97% overall, 90% per class, 96%
    named."""
    assert sum(generated["total"].values()) > 5300
    assert _rate(sum(generated["tp"].values()), sum(generated["total"].values())) >= 0.97
    assert all(generated["tp"][cls] >= 0.9 * generated["total"][cls] for cls in generated["total"])
    assert sum(generated["right"].values()) >= 0.96 * sum(generated["tp"].values())


def test_generated_benign_ceiling(generated: dict[str, Counter[str]]) -> None:
    """Helper-written false-positive bait: 681 of 10,815 flagged when the ceiling was last set
    (session 17, bait 22 and 23 joined: 59 of bait 22's 469 new lines flagged and 69 of bait
    23's 499, against 72 and 71 of their 500 at measurement and flaskapi-guard's 75 and 63;
    the older lines 553, 554 at the session's start); the ceiling keeps new ones out."""
    benign = sum(generated["neg"].values())
    assert benign > 10800
    assert sum(generated["fp"].values()) <= 684
