"""Stopping the subprocesses the benchmarks and the tests start (servers, workers, Redis)."""

from __future__ import annotations

import subprocess


def stop_processes(*processes: subprocess.Popen[bytes] | subprocess.Popen[str],
                   timeout: float = 20.0) -> None:
    """Stop each process by its pid: SIGTERM to all first (so they shut down together), then
    SIGKILL any that outlives ``timeout``; close the stdout pipe each was given, if any."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
