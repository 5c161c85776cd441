"""Log injection: CR/LF, ANSI escapes and 10 KB values in the path, the user agent and the
parameters. Each detection must be exactly one log line, escaped and capped."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable

import pytest

from tests.faults.conftest import Web

LINE_CAP = 2000
PAYLOADS = {
    "crlf": "\r\n2026-01-01 00:00:00 pid=1 WARNING guard: forged line\r\n",
    "ansi": "\x1b[2J\x1b[31mred\x1b]0;title\x07",
    "long": "x" * 10_000,
}
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} pid=\d+ [A-Z]+ \S+: ")
GUNICORN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [^]]+\] \[\d+\] \[[A-Z]+\] ")


def _requests(payload: str) -> list[tuple[str, dict[str, str], bytes | None]]:
    quoted = urllib.parse.quote(payload, safe="")
    attack = urllib.parse.quote("<script>alert(1)</script>")
    # Header values cannot carry CR, LF or ESC on the wire; gunicorn refuses them, so the user
    # agent gets them percent-encoded, as a client must send them.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        (f"/{quoted}/{attack}", {}, None),
        (f"/?q={attack}&n={quoted}", {}, None),
        (f"/?{quoted}={attack}", {}, None),
        (f"/?q={attack}", {"User-Agent": quoted}, None),
        ("/", {"User-Agent": f"<script>alert(1)</script>{quoted}"}, None),
        ("/", form, f"q={attack}&n={quoted}".encode()),
        ("/", form, f"{quoted}={attack}".encode()),
    ]


@pytest.mark.parametrize("passive", [False, True], ids=["active", "passive"])
def test_log_injection(web: Callable[..., Web], redis_url: str, key_prefix: str, passive: bool,
                       report: Callable[..., None]) -> None:
    server = web(redis_url=redis_url, redis_prefix=key_prefix, passive_mode=passive,
                 auto_ban_threshold=1_000_000, share_patterns=False)
    lines_per_event: list[int] = []
    longest = 0
    before = server.log_text()
    for name, payload in PAYLOADS.items():
        for path, headers, body in _requests(payload):
            response = server.get(path, headers=headers, body=body,
                                  method="POST" if body else "GET")
            # gunicorn refuses a request line over 4 KB (414) or a header over 8 KB (400)
            # before the app sees it: no event, no line.
            reached_guard = "x-pid" in response.headers
            if reached_guard:
                assert (response.status in (200, 404)) if passive else response.status == 403, (
                    name, path[:80], response.status)
            text = server.log_text()
            new = text[len(before):]
            before = text
            # Only "\n" ends a line in a log file (str.splitlines also splits on U+001C-1E,
            # U+0085 and U+2028, which Guard need not escape).
            lines = [line for line in new.split("\n") if line and not GUNICORN_LINE.match(line)]
            guard_lines = [line for line in lines if " guard: " in line or not LINE.match(line)]
            lines_per_event.append(len(guard_lines) if reached_guard else 1 + len(guard_lines))
            longest = max([longest, *map(len, lines)])
            assert all(LINE.match(line) for line in lines), "a log line was forged or split"
            assert all("\x1b" not in line and "\x07" not in line for line in lines)
    report(events=len(lines_per_event), lines_per_event=sorted(set(lines_per_event)),
           longest_line=longest)
    assert set(lines_per_event) == {1}
    assert longest <= LINE_CAP
