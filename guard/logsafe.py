"""Make attacker-supplied text safe for a log line: escaped and bounded.

Control characters (CR, LF, ESC and the rest of C0/C1) become visible escapes, so one event is
always one log line and no terminal escape sequence reaches an operator's screen.
"""

from __future__ import annotations

DEFAULT_LIMIT = 200
_ESCAPES = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_ESCAPES.update({ord("\r"): "\\r", ord("\n"): "\\n", ord("\t"): "\\t", ord("\\"): "\\\\"})
_ESCAPES.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


def safe(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Escape control characters in ``str(value)`` and cut it to ``limit`` characters."""
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    escaped = text[:limit].translate(_ESCAPES)
    return f"{escaped}…(+{len(text) - limit})" if cut else escaped
