"""Property tests of the normalisation decoders: idempotent, bounded, never raising, consistent.

Examples are derandomized so that CI sees the same ones on every run.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.engine import normalize as normalize_module
from guard.engine.matcher import MatchSpec, build_matcher
from guard.engine.normalize import (
    MAX_EXPANSION,
    decode_base64,
    decode_utf7,
    fold_whitespace,
    html_decode,
    join_sql_comments,
    js_unescape,
    normalize,
    normalize_path,
    shell_unquote,
    strip_sql_comments,
    trace,
    unicode_fold,
    url_decode,
    utf7_view,
    views,
)

DECODERS: list[Callable[[str], str]] = [
    url_decode,
    html_decode,
    js_unescape,
    unicode_fold,
    fold_whitespace,
    strip_sql_comments,
    join_sql_comments,
    shell_unquote,
    normalize_path,
    decode_base64,
    decode_utf7,
    normalize,
]

# Pieces of escapes, so that random text often holds something each decoder acts on, and
# nested or split forms of it.
PIECES = [
    *"%&#;\\'\"$/*-.+{},:xXuU0123456789abcdefABCDEF",
    *"\x00\t\r\n \xa0\u3000\u200b\u0301\ufeff\ud800\udc00\ud83d\ude00",
    *"\uff05\uff06\uff1c\u02bc\u0430\u03bf\ufdfa\u2215",
    "%25",
    "%2",
    "%c0",
    "%e5",
    "%98",
    "%8a",
    "%u00",
    "&amp",
    "&lt",
    "&#",
    "&#x",
    "&semi",
    "apos",
    "\\x",
    "\\u",
    "\\u{",
    "\\/",
    "$IFS",
    "${IFS}",
    "$@",
    "/*",
    "*/",
    "/*!",
    "--",
    "..",
    "//",
    "..;",
    "aGVsbG8gd29ybGQgaGVsbG8=",
    "+ADw-",
    "+ACI",
    "  ",
]

any_character = st.characters(exclude_categories=())
any_text = st.text(any_character, max_size=40)
escape_text = st.lists(
    st.one_of(st.sampled_from(PIECES), any_character), max_size=30
).map("".join)
texts = st.one_of(any_text, escape_text)

checked = settings(
    derandomize=True,
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@checked
@given(texts)
def test_every_decoder_is_idempotent_and_bounded(text: str) -> None:
    for decode in DECODERS:
        once = decode(text)
        assert len(once) <= MAX_EXPANSION * len(text), decode.__name__
        assert decode(once) == once, decode.__name__


@checked
@given(texts)
def test_views_are_distinct_bounded_derivations(text: str) -> None:
    found = views(text)
    canonical = normalize(text)
    derived = [
        canonical,
        strip_sql_comments(canonical),
        join_sql_comments(canonical),
        shell_unquote(canonical),
        normalize_path(canonical),
        decode_base64(canonical),
        utf7_view(text) if "utf7" in normalize_module.triggers(text) else text,
    ]
    expected: list[str] = []
    for view in derived:
        if view != text and view not in expected:
            expected.append(view)
    assert found == expected
    assert all(len(view) <= MAX_EXPANSION * len(text) for view in found)


@checked
@given(texts)
def test_a_step_without_its_trigger_changes_nothing(text: str) -> None:
    # normalize() and named_views() skip a step whose triggers are absent, so this must hold.
    present = normalize_module.triggers(text)
    for name, decode, needs in (*normalize_module._CANONICAL_STEPS, *normalize_module._VIEW_STEPS):
        if not present & needs:
            assert decode(text) == text, name


@checked
@given(texts)
def test_trace_reaches_the_canonical_view(text: str) -> None:
    steps = trace(text)
    assert [name for name, _ in steps[-6:]] == ["sql", "sql", "shell", "path", "base64", "utf7"]
    assert steps[-7][1] == normalize(text)
    assert steps[-3][1] == normalize_path(normalize(text))
    assert steps[-2][1] == decode_base64(normalize(text))
    assert steps[-1][1] == utf7_view(text)


# The shortcut each nesting decoder takes first must agree with its output-stack decoder.
@checked
@given(texts)
def test_single_pass_shortcuts_agree_with_the_stack_decoders(text: str) -> None:
    assert url_decode(text) == normalize_module._url_decode_stack(text)
    assert html_decode(text) == normalize_module._EntityStack().decode(text)
    assert js_unescape(text) == normalize_module._js_unescape_stack(text)


_RE2_TRIGGERS = build_matcher(
    [MatchSpec(regex, default_flags=False) for regex in normalize_module._TRIGGERS.values()],
    prefer="re2",
)


@checked
@given(texts)
def test_triggers_are_the_same_on_either_engine(text: str) -> None:
    on_re2 = {normalize_module.TRIGGER_NAMES[i] for i in _RE2_TRIGGERS.scan(text)}
    assert normalize_module.triggers(text) == on_re2


_ENTITY_PARTS = st.sampled_from(
    ["&", "#", ";", "x", "X", "1", "0", "=", " ", "_", "amp", "AMP", "lt", "para", "page",
     "percnt", "not", "notin", "sup", "sup1", "frac12", "per_page", "copy", "&#", "\t", "é"]
)


@checked
@given(st.lists(_ENTITY_PARTS, max_size=14).map("".join))
def test_the_entity_trigger_finds_every_reference_html_decodes(text: str) -> None:
    # html_decode skips html.unescape, and named_views skips html_decode, on text this test and
    # the "entity" trigger clear: each must hold wherever html.unescape would change something.
    if html.unescape(text) != text:
        assert normalize_module._may_hold_reference(text)
        assert "entity" in normalize_module.triggers(text)
    assert html_decode(text) == normalize_module._EntityStack().decode(text)


_ESCAPE_PARTS = st.sampled_from(
    ["%", "%2", "%27", "%zz", "&", "&#", "&#39;", "&amp", "&lt;", "\\", "\\u0041", "\\x41", "a",
     " ", "9", ";", "é", "_"]
)


@checked
@given(st.lists(_ESCAPE_PARTS, max_size=12).map("".join))
def test_the_encoded_trigger_finds_every_encoded_run(text: str) -> None:
    # The detector looks for encoded runs in a long value only where this trigger fired.
    from guard.engine.detector import _ENCODED_RUN

    if _ENCODED_RUN.search(text):
        assert "encoded" in normalize_module.triggers(text)


def _line_comments_by_regex(text: str) -> str:
    # What _without_sql_comments' general path makes of text without "*".
    removed = [match.span() for match in normalize_module._SQL_COMMENT.finditer(text)]
    if not removed:
        return text
    kept, position = [], 0
    for start, end in removed:
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return normalize_module._collapse_spaces("".join(kept)).strip(" ")


@checked
@given(st.lists(st.sampled_from(["-", "--", "#", "a", " ", "  ", "\n", "\r", "'", "/"]),
                max_size=16).map("".join))
def test_line_comment_shortcut_agrees_with_the_comment_regex(text: str) -> None:
    assert normalize_module._without_line_comments(text) == _line_comments_by_regex(text)
