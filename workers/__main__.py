"""``python -m workers [celery worker options]``: a worker on Guard's queues."""

from __future__ import annotations

import sys

from workers import run_worker

if __name__ == "__main__":
    run_worker(sys.argv[1:])
