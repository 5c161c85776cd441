"""The Celery side of Guard: the app (:mod:`workers.app`), its settings from the environment
(:mod:`workers.settings`), and :func:`run_worker` for ``guard worker`` and ``python -m workers``.

Importing this package imports neither Celery nor the app; :func:`run_worker` does.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["run_worker"]


def run_worker(argv: Sequence[str] | None = None) -> None:
    """Start a Celery worker on Guard's queues, as ``celery -A workers.app worker [argv]``."""
    from workers.app import run_worker as run

    run(argv)
