#!/usr/bin/env bash
# The whole test suite: installs the project with its test extras into .venv, then runs pytest.
# Redis: GUARD_TEST_REDIS_URL if set, else tests/conftest.py starts a private redis-server on a
# free loopback port and stops it afterwards; with neither, the run fails with a clear message.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest "$@"
