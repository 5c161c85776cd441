"""Build a benign corpus of documentation prose from the manuals of four Python projects.

Usage::

    python -m benchmarks.doc_corpus OUT_DIR

The source distributions of Django, SQLAlchemy, Flask and Celery (pinned below) carry their
manuals as reStructuredText. They are fetched with ``pip download`` into ``OUT_DIR/sdists``
(once; later runs reuse them) and read without being installed. These manuals quote SQL,
templates, HTML, shell lines and paths inside ordinary sentences, which is what a false
positive on documentation is made of.

Each paragraph outside a code block (a run of unindented lines, directives and section rules
left out), with its blanks collapsed, becomes one line when it is 20 to 500 characters long.
Up to eight paragraphs are drawn from each manual page in a fixed order. A page goes to
``doc_A.jsonl`` or ``doc_B.jsonl`` by a hash of its path, so one half can guide a change while
the other, never read, checks it. Each line is in the format of ``../shared/corpora/dev.jsonl``,
labelled benign, with the project and page as its ``source``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import tarfile
from pathlib import Path

PROJECTS = ("django==5.2.19", "sqlalchemy==2.1.9", "flask==3.1.3", "celery==5.7.0")
PER_HALF = 2500
PER_PAGE = 8
SEED = 20261126
_PAGE = re.compile(r"^[^/]+/docs?/.+\.(?:txt|rst)$")
_RULE = re.compile(r"^([=\-~^\"'`#*+.:_])\1{3,}\s*$")
_DIRECTIVE = re.compile(r"^\.\.(?:\s|$)|^:\w[\w-]*:\s")


def _sdists(cache: Path) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    found = []
    for project in PROJECTS:
        name, version = project.split("==")
        archive = cache / f"{name}-{version}.tar.gz"
        if not archive.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--no-binary", ":all:", "--dest", str(cache), project], check=True)
        found.append(archive)
    return found


def paragraphs(text: str) -> list[str]:
    """Return the prose paragraphs of a reStructuredText page: runs of unindented lines that are
    not directives, options of a directive or section rules, blanks collapsed."""
    found: list[str] = []
    block: list[str] = []
    for line in [*text.split("\n"), ""]:
        prose = line.strip() and not line[0].isspace() and not _DIRECTIVE.match(line)
        if prose and not _RULE.match(line):
            block.append(line.strip())
            continue
        if block:
            paragraph = re.sub(r"\s+", " ", " ".join(block)).strip()
            if 20 <= len(paragraph) <= 500:
                found.append(paragraph)
            block = []
    return found


def build(out: Path) -> dict[str, int]:
    """Write ``doc_A.jsonl`` and ``doc_B.jsonl`` into ``out``; return their line counts."""
    pages: dict[str, list[str]] = {}
    for archive in _sdists(out / "sdists"):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and _PAGE.match(member.name):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        text = handle.read().decode("utf-8", "replace")
                        pages[member.name] = paragraphs(text)
    halves: dict[str, list[dict[str, str]]] = {"doc_A": [], "doc_B": []}
    seen: set[str] = set()
    rng = random.Random(SEED)
    order = sorted(pages)
    rng.shuffle(order)
    for name in order:
        digest = hashlib.sha256(name.encode()).digest()[0]
        half = halves["doc_A" if digest % 2 == 0 else "doc_B"]
        drawn = [p for p in pages[name] if p not in seen]
        rng.shuffle(drawn)
        for paragraph in drawn[:PER_PAGE]:
            if len(half) < PER_HALF:
                seen.add(paragraph)
                project = name.split("/", 1)[0]
                half.append({"payload": paragraph, "label": "benign", "class": "benign",
                             "source": f"doc:{project}"})
    out.mkdir(parents=True, exist_ok=True)
    for key, lines in halves.items():
        with (out / f"{key}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    return {key: len(lines) for key, lines in halves.items()}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path, help="directory for doc_A.jsonl and doc_B.jsonl")
    args = parser.parse_args()
    for key, count in build(args.out).items():
        print(f"{key}.jsonl: {count} lines")


if __name__ == "__main__":
    main()
