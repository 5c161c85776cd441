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
# The dashboard's browser test drives the distribution's Chromium (never a downloaded one).
# Install it where we can; elsewhere that test fails saying how, unless
# GUARD_SKIP_BROWSER_TESTS=1 is set.
if [ -z "${GUARD_SKIP_BROWSER_TESTS:-}" ] && ! command -v chromium >/dev/null 2>&1 \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null || true
fi
exec .venv/bin/python -m pytest "$@"
