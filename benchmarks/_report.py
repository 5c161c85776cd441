"""The run's header (machine, command, engines) and its result rows, as text or JSON.

Every section returns :class:`Row` values; this module alone decides how they look. A value of
None in an engine column means that engine was unavailable or could not run the case, and reads
"n/a"; an empty baseline means the row has none.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NA = "n/a"
TABLE_HEAD = (
    "section",
    "case",
    "stat",
    "bare Flask",
    "ours",
    "flaskapi-guard",
    "theirs/ours",
    "note",
)


@dataclass(frozen=True)
class Row:
    """One measured line: a case, a statistic, and each engine's value in the same unit."""

    section: str
    case: str
    stat: str
    ours: float | None
    peer: float | None
    baseline: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """flaskapi-guard's value over ours (how many times slower it is), when both exist."""
        if self.ours is None or self.peer is None or self.ours <= 0:
            return None
        return self.peer / self.ours


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and interpreter of this machine."""
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": _cpuinfo_field("model name") or platform.processor() or "unknown",
        "memory_gib": _meminfo_gib(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def command() -> str:
    """The exact command line that started this process."""
    return shlex.join(sys.orig_argv)


def header_lines(title: str, info: dict[str, Any]) -> list[str]:
    """Human-readable header: title, machine, command and engine versions."""
    m = info["machine"]
    lines = [
        f"# {title}",
        "",
        f"- machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu_model']}, "
        f"{m['memory_gib']} GiB, {m['platform']}, Python {m['python']}; load average at "
        f"start {' / '.join(map(str, m['load_average']))} (1 / 5 / 15 min)",
        f"- command: `{info['command']}`",
    ]
    lines += [f"- {name}: {desc}" for name, desc in info["engines"].items()]
    lines += [f"- {line}" for line in info.get("notes", ())]
    return lines


def render_table(rows: list[Row]) -> list[str]:
    """Rows as one aligned Markdown table."""
    body = [
        [
            r.section,
            r.case,
            r.stat,
            _number(r.baseline, blank=True),
            _number(r.ours),
            _number(r.peer),
            _ratio(r.ratio),
            r.note,
        ]
        for r in rows
    ]
    return markdown_table(list(TABLE_HEAD), body, right_aligned={3, 4, 5, 6})


def markdown_table(
    head: list[str], body: list[list[str]], right_aligned: set[int] | None = None
) -> list[str]:
    """An aligned Markdown table; columns in ``right_aligned`` are numeric."""
    right = right_aligned or set()
    widths = [max(len(str(cell)) for cell in col) for col in zip(head, *body, strict=True)]

    def line(cells: list[str]) -> str:
        padded = (
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    dashes = ("-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths))
    return [line(head), "|" + "|".join(dashes) + "|", *(line(row) for row in body)]


def rows_as_json(rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as plain dicts, ratio included."""
    return [{**asdict(r), "ratio": r.ratio} for r in rows]


def _number(value: float | None, blank: bool = False) -> str:
    if value is None:
        return "" if blank else NA
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return NA if value is None else f"{value:,.1f}x"


def _cpuinfo_field(name: str) -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _meminfo_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 1)
    return None
