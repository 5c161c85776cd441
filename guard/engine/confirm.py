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


_CODE_SPAN = re.compile(r"(?:^|(?<=[\s(\"']))`[^`\n]+`(?=$|[\s.,;:!?)\"'])")
_PROSE_WORD = re.compile(r"[A-Za-z]{2,}")
_SHELL_SYNTAX = re.compile(r"\$\(|[|&<>]|;\S")


def _in_prose_code_span(fragment: str, view: str) -> bool:
    """The fragment lies inside a Markdown code span (`` `du -sh * | sort -h` ``, set apart
    from the words around it by spaces or punctuation, as prose sets it) and the text
    around the spans is prose: three or more words and no shell syntax of its own (a pipe,
    ``&``, a redirection, ``$(``, or a ``;`` glued to the next word). A shell does not read a
    code span out of a sentence; an injection needs the separator or substitution to stand in
    the value itself (`` `id` ``, ``x;`id` ``), where the text around it is not prose.
    """
    at = view.find(fragment)
    if at < 0:
        return False
    spans = list(_CODE_SPAN.finditer(view))
    if not any(span.start() <= at < span.end() for span in spans):
        return False
    outside = _CODE_SPAN.sub(" ", view)
    return len(_PROSE_WORD.findall(outside)) >= 3 and _SHELL_SYNTAX.search(outside) is None


def outside_prose_code_span(fragment: str, view: str) -> bool:
    """The hit stands unless it sits in a code span quoted by prose."""
    return not _in_prose_code_span(fragment, view)


_COMMAND_POSITION = ("\n", "\r", ";", "|", "&", "`", "(", ")", "{", "}", "'", '"', "<", ">", "\\n")
_RUNNER_WORD = re.compile(r"(?:\b(?:sudo|exec|nohup|env|then|do|xargs|timeout)|\s-[a-z])$")


def shell_path_runs(fragment: str, view: str) -> bool:
    """A shell or tool named by its path (``/bin/bash``, ``/usr/bin/python3``) only runs where a
    command starts: at the start of the value, after a separator, a quote, a bracket or a
    redirection, or after a word that runs its argument (``sudo``, ``exec``, ``-e``). In a
    sentence (``set SHELL to /bin/bash``, ``prints /usr/local/bin/python3``) it is a file name.
    Fragments of the rule's other branches (``cmd /c``, ``/dev/tcp/``, ``nc -e``) stand.
    """
    if not fragment.startswith("/") or fragment.startswith("/dev/"):
        return True
    at = view.find(fragment)
    before = view[: max(at, 0)].rstrip(" \t")
    return (
        at < 0 or not before or before.endswith(_COMMAND_POSITION)
        or _RUNNER_WORD.search(before[-16:]) is not None
    )


def unix_backtick(fragment: str, view: str) -> bool:
    """A backtick before a command only runs it in a Unix shell, so the command must be spelt
    as Unix spells it: lowercase, as Unix file names are case sensitive (`` `True` `` and
    `` `Python` `` are Markdown code spans, not commands). Three backticks open a Markdown
    code block (`` ```python ``), which is not a substitution either. Fragments that do not
    start with a backtick (another separator, ``$(``) stand as matched.
    """
    if _in_prose_code_span(fragment, view):
        return False
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


_PARENT_STEP = re.compile(r"\.\.[/\\]")
_STEP_INSIDE_PATH = re.compile(r"[\w-][/\\]\.\.[/\\][\w-]")


def parent_step_escapes(fragment: str, view: str) -> bool:
    """A single ``../`` between two segments of a relative path (``src/utils/../core/x.c``)
    climbs back into the path it came from: it names a file beside the one the value starts
    in, not one outside it. A traversal climbs out: it starts with ``../``, repeats it, or goes
    on to a sensitive target (which the other path rules read).
    """
    return not (
        len(_PARENT_STEP.findall(view)) == 1 and _STEP_INSIDE_PATH.search(view) is not None
    )


_TEMPLATE_TAG = re.compile(r"\{%[-+]?\s*(\w*)([^%]*)%\}")
_LAYOUT_TAGS = frozenset({
    "block", "endblock", "extends", "include", "if", "elif", "else", "endif", "for", "endfor",
    "raw", "endraw", "load", "static", "url", "trans", "blocktrans", "endblocktrans",
    "autoescape", "endautoescape", "set", "with", "endwith", "comment", "endcomment",
    "spaceless", "endspaceless", "macro", "endmacro", "filter", "endfilter", "call", "endcall",
})
_ACTIVE_BODY = re.compile(r"[(\[|*+`$]|__|\.\.|['\"]\s*[/\\~]|['\"][a-z]+:")


def template_statement_active(fragment: str, view: str) -> bool:
    """A ``{% … %}`` tag only reaches beyond the page when it is active: a tag that runs or
    dumps something (``debug``, ``import``, ``php``, an unknown custom tag), a call, subscript,
    filter or dunder inside a tag, or an include of an absolute, parent or schemed path. A page
    of layout tags (``{% block body %}{% endblock %}``, ``{% extends "base.html" %}``) is
    template source quoted as text, as documentation and questions about templates quote it.
    Fragments of the rule's other branches (``<%= %>``, ``#set(``, ``${…}``) stand as matched,
    and so does a ``{%`` whose tag does not close in the value.
    """
    if not fragment.startswith("{%"):
        return True
    tags = list(_TEMPLATE_TAG.finditer(view))
    if not tags or len(tags) != view.count("{%"):
        return True
    return any(
        tag.group(1).lower() not in _LAYOUT_TAGS or _ACTIVE_BODY.search(tag.group(2))
        for tag in tags
    )


CONFIRMERS: dict[str, Callable[[str, str], bool]] = {
    "constant_comparison": constant_comparison,
    "unix_backtick": unix_backtick,
    "outside_prose_code_span": outside_prose_code_span,
    "shell_path_runs": shell_path_runs,
    "attribute_breakout": attribute_breakout,
    "parent_step_escapes": parent_step_escapes,
    "template_statement_active": template_statement_active,
}
