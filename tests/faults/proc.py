"""Reading a process's memory from ``/proc`` (no psutil), for the app and the tests."""

from __future__ import annotations

from pathlib import Path


def rss_kb(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for process {pid}")
