"""Python confirmations run after a database hit, for conditions a linear regex cannot state.

Each confirmer takes the matched fragment and the whole view it came from, and returns whether
the hit stands. They only run on values that already matched, so they cost clean traffic nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_COMPARISON = re.compile(
    r"""(\d+|'[^']{0,20}'|"[^"]{0,20}")\s*\)*\s*(=|<>|!=|<=>|>|<|like)\s*\(*\s*"""
    r"""(\d+|'[^']{0,20}'?|"[^"]{0,20}"?)\s*$""",
    re.IGNORECASE,
)


def constant_comparison(fragment: str, view: str) -> bool:
    """A boolean operator compares two constants: equal operands (a tautology such as
    ``7414=7414`` or ``'a'='a'``) or two numbers (a true/false probe such as ``1=2``).

    Equality of the operands needs a back-reference, which the linear engines lack.
    """
    match = _COMPARISON.search(fragment)
    if match is None:
        return False
    left, op, right = match.groups()
    if op not in ("=", "<>", "!=", "<=>") and left != right:
        return False
    return left.strip("'\"").lower() == right.strip("'\"").lower() or (
        left.isdigit() and right.isdigit()
    )


_BACKTICK_COMMAND = re.compile(r"`\s*(?:[\w./-]*/)?([A-Za-z][\w.-]*)")


def unix_backtick(fragment: str, view: str) -> bool:
    """A backtick before a command only runs it in a Unix shell, so the command must be spelt
    as Unix spells it: lowercase, as Unix file names are case sensitive (`` `True` `` and
    `` `Python` `` are Markdown code spans, not commands). Three backticks open a Markdown
    code block (`` ```python ``), which is not a substitution either. Fragments that do not
    start with a backtick (another separator, ``$(``) stand as matched.
    """
    if not fragment.startswith("`"):
        return True
    match = _BACKTICK_COMMAND.match(fragment)
    if match is None or not match.group(1).islower():
        return False
    at = view.find(fragment)
    if (at > 0 and view[at - 1] == "`") or fragment.startswith("``"):
        return False
    # After an odd number of backticks this one closes a code span (`` `Field()` set to `True` ``).
    return view.count("`", 0, max(at, 0)) % 2 == 0


_OPEN_TAG = re.compile(r"<[a-z][\w:-]*\s[^<>]*$", re.IGNORECASE)


def attribute_breakout(fragment: str, view: str) -> bool:
    """A quote and ``>`` before a new tag only break out of an attribute the value did not open.

    When the tag whose attribute the quote closes starts in the same value
    (``<a href="https://…"><img …>``), the value is ordinary markup: it would be escaped or
    rendered as written, and any script in it is what the other XSS rules look for.
    """
    at = view.find(fragment)
    return at < 0 or _OPEN_TAG.search(view, 0, at) is None


CONFIRMERS: dict[str, Callable[[str, str], bool]] = {
    "constant_comparison": constant_comparison,
    "unix_backtick": unix_backtick,
    "attribute_breakout": attribute_breakout,
}
