#!/usr/bin/env bash
# Create (or refresh) the benchmark environment .venv-bench at the repo root.
#
# It holds our package in editable mode plus the peers and tools the benchmarks
# compare against: flaskapi-guard (the competitor, never a dependency of guard),
# gunicorn (throughput section). Running it again is cheap: pip skips what is
# already installed at the pinned versions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi

"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    "flaskapi-guard==4.4.0" \
    "gunicorn>=23"
"$VENV/bin/python" -m pip install --quiet -e "$ROOT"

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md

for name in ("guard", "flaskapi-guard", "guard-core", "flask", "gunicorn"):
    print(f"{name:16} {md.version(name)}")
PY
echo "benchmark environment ready: $VENV"
