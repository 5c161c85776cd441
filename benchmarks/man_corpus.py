"""Build a benign corpus of documentation prose from this machine's manual pages.

Usage::

    python -m benchmarks.man_corpus OUT_DIR        # writes man_A.jsonl and man_B.jsonl
    python -m benchmarks.man_corpus --api OUT_DIR  # also man_C.jsonl

Pages in sections 1, 5, 7 and 8 (English only, the cloud SDK's generated pages left out) are
rendered with ``nroff``; three paragraphs of 20 to 500 characters are drawn from each page, in
a fixed order, until each half holds 2,500. A page goes to half A or B by a hash of its path, so
one half can guide a change and the other check it. ``--api`` adds a third set, ``man_C``, of
2,500 lines drawn the same way from sections 2 and 3 (system calls, C and Perl library
documentation), which no change was made against. The lines depend on the manual pages
installed, so two machines give different corpora: quote figures with the machine they came
from. Each line is in the format of ``../shared/corpora/dev.jsonl``, labelled benign.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import subprocess
from pathlib import Path

ROOT = Path("/usr/share/man")
SECTIONS = ("man1", "man5", "man7", "man8")
API_SECTIONS = ("man2", "man3")
PER_HALF = 2500
PER_PAGE = 3
SEED = 20261126
_GENERATED = ("gcloud", "bq", "gsutil")


def _render(page: Path) -> str | None:
    with gzip.open(page) as handle:
        source = handle.read()
    if source.startswith(b".so "):
        return None
    text = subprocess.run(["nroff", "-man", "-Tascii", "-rLL=4000n"], input=source,
                          capture_output=True, timeout=20, check=False).stdout
    return subprocess.run(["col", "-bx"], input=text, capture_output=True, timeout=20,
                          check=False).stdout.decode("utf-8", "replace")


def _paragraphs(text: str) -> list[str]:
    found = []
    for line in text.split("\n"):
        paragraph = re.sub(r"\s+", " ", line).strip()
        # Skip the running header and footer lines ("FIND(1) General Commands Manual FIND(1)").
        if 20 <= len(paragraph) <= 500 and not re.match(r"^[A-Z][A-Z ]+\(\d", paragraph):
            found.append(paragraph)
    return found


def build(out: Path, api: bool = False) -> dict[str, int]:
    """Write the two halves (and with ``api`` the third set) into ``out``; returns the line
    count of each."""
    counts = _draw(out, SECTIONS, ("A", "B"))
    if api:
        counts.update(_draw(out, API_SECTIONS, ("C",)))
    return counts


def _draw(out: Path, sections: tuple[str, ...], names: tuple[str, ...]) -> dict[str, int]:
    pages = sorted(p for section in sections for p in (ROOT / section).glob("*.gz")
                   if not p.name.startswith(_GENERATED))
    order = random.Random(SEED)
    order.shuffle(pages)
    halves: dict[str, list[dict[str, object]]] = {name: [] for name in names}
    for page in pages:
        digest = int(hashlib.sha1(str(page).encode()).hexdigest(), 16)
        half = names[digest % len(names)]
        if all(len(rows) >= PER_HALF for rows in halves.values()):
            break
        if len(halves[half]) >= PER_HALF:
            continue
        try:
            text = _render(page)
        except (OSError, subprocess.SubprocessError):
            continue
        paragraphs = _paragraphs(text) if text else []
        if len(paragraphs) < PER_PAGE:
            continue
        order.shuffle(paragraphs)
        source = f"man:{page.name.removesuffix('.gz')}"
        halves[half].extend({"payload": p, "label": "benign", "class": None, "source": source}
                            for p in paragraphs[:PER_PAGE])
    out.mkdir(parents=True, exist_ok=True)
    for half, rows in halves.items():
        with (out / f"man_{half}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows[:PER_HALF]:
                handle.write(json.dumps(row) + "\n")
    return {half: min(len(rows), PER_HALF) for half, rows in halves.items()}


def main() -> None:
    """Command line entry: ``python -m benchmarks.man_corpus OUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--api", action="store_true",
                        help="also write man_C.jsonl from sections 2 and 3")
    args = parser.parse_args()
    for half, count in build(args.out, api=args.api).items():
        print(f"man_{half}.jsonl: {count} lines")


if __name__ == "__main__":
    main()
