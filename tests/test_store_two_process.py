"""Two real processes share one Redis store: what one writes, the other sees.

The second process is a fresh interpreter (``sys.executable``) running a short script with its
own RedisStore on the same server and prefix, as a second web process or a worker would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from guard.store import create_store

ROOT = Path(__file__).resolve().parent.parent
STRIKE: dict[str, Any] = {
    "window": 60.0,
    "threshold": 3,
    "ban_duration": 60.0,
    "reason": "from test",
}

CHILD = """
import json, sys
from guard.store import create_store

url, prefix, action = sys.argv[1:4]
store = create_store(url, prefix=prefix, timeout=1.0)
strike = {"window": 60.0, "threshold": 3, "ban_duration": 60.0, "reason": "from child"}
out = {}
if action == "strike":
    out["results"] = [
        store.add_strike("198.51.100.20", f"child-{i}", source="worker", **strike).__dict__
        for i in range(3)
    ]
    out["manual"] = store.ban("192.0.2.20", 60, "child manual", source="manual").__dict__
elif action == "observe":
    ban = store.get_ban("192.0.2.30")
    out["ban"] = None if ban is None else ban.__dict__
    out["strikes"] = store.strikes("198.51.100.30", 60)
    out["replay"] = [
        store.add_strike("198.51.100.30", f"parent-{i}", **strike).__dict__ for i in range(2)
    ]
    out["auto"] = store.add_strike("198.51.100.30", "child-extra", **strike).__dict__
    out["counter"] = store.incr_counter("shared", 10)
    out["once"] = store.once("shared-token", 60)
store.close()
print(json.dumps(out))
"""


def run_child(redis_url: str, prefix: str, action: str) -> dict[str, Any]:
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, redis_url, prefix, action],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_other_process_bans_are_seen_here(redis_url: str, key_prefix: str) -> None:
    store = create_store(redis_url, prefix=key_prefix, timeout=1.0)
    try:
        assert store.get_ban("198.51.100.20") is None
        out = run_child(redis_url, key_prefix, "strike")
        assert [r["banned"] for r in out["results"]] == [False, False, True]
        record = store.get_ban("198.51.100.20")
        assert record is not None
        assert record.source == "worker" and record.reason == "from child"
        assert store.strikes("198.51.100.20", 60) == 3
        assert store.add_strike("198.51.100.20", "child-1", **STRIKE).duplicate
        assert {r.key for r in store.list_bans()} == {"198.51.100.20", "192.0.2.20"}
        assert store.unban("192.0.2.20")
    finally:
        store.close()


def test_bans_made_here_are_seen_by_another_process(redis_url: str, key_prefix: str) -> None:
    store = create_store(redis_url, prefix=key_prefix, timeout=1.0)
    try:
        made = store.ban("192.0.2.30", 60, "parent manual")
        for i in range(2):
            assert not store.add_strike("198.51.100.30", f"parent-{i}", **STRIKE).banned
        assert store.incr_counter("shared", 5) == 5
        assert store.once("shared-token", 60)

        out = run_child(redis_url, key_prefix, "observe")
        assert out["ban"] == made.__dict__
        assert out["strikes"] == 2
        assert all(r["duplicate"] for r in out["replay"])
        assert out["auto"] == {"strikes": 3, "banned": True, "duplicate": False}
        assert out["counter"] == 15
        assert out["once"] is False

        assert store.get_ban("198.51.100.30") is not None
        assert store.get_counter("shared") == 15
    finally:
        store.close()
