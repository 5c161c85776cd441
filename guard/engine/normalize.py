"""Evasion normalisation: the decoders that turn an input value into the views the matcher reads.

Each decoder is a small public function that is idempotent (``f(f(x)) == f(x)``), linear in the
length of its input, never raises, and never returns more than ``MAX_EXPANSION * len(x)``
characters. Only :func:`unicode_fold` can lengthen its input (NFKC); no other decoder does.

The nesting decoders (:func:`url_decode`, :func:`html_decode`, :func:`js_unescape`) compute the
fixed point of repeated decoding in one pass over an output stack: each character is pushed,
and whenever the top of the stack forms a complete escape it is replaced by the decoded character,
which is then checked again against what lies below it. ``%2527`` thus becomes ``%27`` and then
``'`` without a second pass, so any nesting depth costs O(n). A cheap single-pass decode answers
first whenever its result cannot contain a further escape.

:func:`normalize` chains the lossless decoders into the canonical view; :func:`views` adds the lossy
views (SQL comments stripped, shell words unquoted, path forms folded), which are only useful to a
matcher that knows which attack class it is looking for. Nothing here lowercases: the matcher is
case-insensitive.
"""

from __future__ import annotations

import binascii
import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from html.entities import html5
from typing import Any, cast
from urllib.parse import unquote_plus

import re2

from guard.engine.matcher import LinearMatcher, MatchSpec, build_matcher, encode
from guard.engine.native import featurize

__all__ = [
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
    "strip_sql_comments",
    "trace",
    "triggers",
    "unicode_fold",
    "url_decode",
    "utf7_view",
    "views",
]

MAX_EXPANSION = 4
"""No view is longer than ``MAX_EXPANSION * len(text)`` characters."""

MAX_ROUNDS = 4
"""Most rounds of the canonical chain :func:`normalize` runs looking for a fixed point."""

_HEX = frozenset("0123456789abcdefABCDEF")
_OCTAL = frozenset("01234567")
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM = _LETTERS | _DIGITS


# An "&" that may start a character reference html.unescape decodes: "&#", a legacy name that
# needs no ";" ("&lt", "&para"), or a name with its ";" (any such name: a superset).
_LEGACY_REFERENCES = tuple(sorted((n for n in html5 if not n.endswith(";")), key=len, reverse=True))
_REFERENCE = (
    "&(?:#|" + "|".join(map(re.escape, _LEGACY_REFERENCES)) + r"|[A-Za-z0-9]{2,32};)"
)
_REFERENCE_SEARCH = re.compile(_REFERENCE).search

# --- Triggers --------------------------------------------------------------------------------

# Each decoder and view changes only text that holds one of its trigger characters or sequences.
# Asking each in turn costs a pass over the text apiece, and CPython is slow at some of them
# (two-character substrings, character classes with non-Latin members), so one scan of a small
# linear-time database reports every trigger present at once. Patterns are on UTF-8 bytes.
_TRIGGERS: dict[str, str] = {
    "%": "%",
    "+": r"\+",
    "entity": _REFERENCE,
    "\\": r"\\",
    "non-ascii": r"[\x80-\xff]",
    "control": r"[\x00\t\x0b\x0c]",
    "  ": "  ",
    "--": "--",
    "/*": r"/\*",
    "*/": r"\*/",
    "#": "#",
    # A quote the shell view can undo: a second quote in the same word (c'a't, "id"), one
    # opening a word at the start or after an operator ('ls, ;"cat"), or two quotes in a value
    # naming a command that reads its words again (eval, ssh, sh -c: a quoted stretch with
    # blanks becomes words of its own). An apostrophe in prose (it's, O'Brien) is none of these,
    # and leaves the value plain.
    "quote": "['\"][^\\s'\"]*['\"]|(?:^|[;&|`(])\\s*['\"]"
             "|(?:eval|ssh|-c )[\\s\\S]*['\"][\\s\\S]*['\"]"
             "|['\"][\\s\\S]*(?:eval|ssh|-c )[\\s\\S]*['\"]"
             "|['\"][\\s\\S]*['\"][\\s\\S]*(?:eval|ssh|-c )",
    "$": r"\$",
    "{": r"\{",
    "/": "/",
    "base64": r"[A-Za-z0-9+/_-]{16}",
    "utf7": r"\+[A-Za-z0-9+/]{3}",
    # Two escapes in a row: where a long value's encoded runs may start (the detector's
    # indicators), so a value without one skips that search.
    "encoded": r"(?:%[0-9a-fA-F]{2}|&#?\w{2,8};?|\\[uUxX][0-9a-fA-F]{2,4}){2}",
}
TRIGGER_NAMES = tuple(_TRIGGERS)
"""The trigger names, in the order of :data:`TRIGGER_SPECS`."""
_trigger_matcher: list[LinearMatcher] = []

TRIGGER_SPECS = tuple(MatchSpec(regex, default_flags=False) for regex in _TRIGGERS.values())
"""The triggers as database expressions, in the order :func:`trigger_set` reads them: a rules
database that appends them answers "which rules, and which triggers" in one scan."""


def trigger_set(indexes: Iterable[int]) -> frozenset[str]:
    """The names of the triggers at ``indexes`` of :data:`TRIGGER_SPECS`."""
    return frozenset(map(TRIGGER_NAMES.__getitem__, indexes))


TRIGGER_READER: Any = (
    None if featurize is None
    else featurize.TriggerReader(TRIGGER_NAMES, tuple(n.encode() for n in _LEGACY_REFERENCES))
)
"""Where the C module was built, it reads the triggers of UTF-8 bytes in one pass: exactly
what a scan of :data:`TRIGGER_SPECS` reports, without their 700 KB of database or a Python
callback per trigger found. Else None, and :data:`TRIGGER_SPECS` are scanned."""


def triggers(text: str) -> frozenset[str]:
    """Return the names of the triggers in ``text`` (see ``_TRIGGERS``): empty for plain text,
    which no decoder and no view would change."""
    if TRIGGER_READER is not None:
        return cast(frozenset[str], TRIGGER_READER.read(encode(text)))
    if not _trigger_matcher:
        _trigger_matcher.append(build_matcher(TRIGGER_SPECS))
    return trigger_set(_trigger_matcher[0].scan(text))



# --- URL -------------------------------------------------------------------------------------

_URL_SPECIAL = re.compile(r"[%+]")
_URL_PASSES = 3
_URL_ESCAPE = re.compile(r"%(?:([0-9a-fA-F]{2})|[uU]([0-9a-fA-F]{4}))")


def url_decode(text: str) -> str:
    """Percent-decode ``text`` to its fixed point.

    Handles ``%XX``, ``%uXXXX``, multi-byte UTF-8 (``%E5%98%8A``), overlong UTF-8 of up to six
    bytes (``%c0%ae`` is ``.``, so are ``%e0%80%ae`` and ``%fc%80%80%80%80%ae``), an overlong
    lead byte before an ASCII escape as old IIS and others read it (``%c0%2f`` is ``/``,
    ``%c0%5c`` and ``%c1%1c`` are ``\\``) and ``+`` as a space. A decoded ``+`` is a space as
    well, because that is what decoding once more would make of it. Escapes that do not decode
    (``%zz``, a stray continuation byte, a truncated UTF-8 sequence) are kept as written.
    """
    if "%" not in text:
        return text.replace("+", " ") if "+" in text else text
    # Escapes never overlap, so repeated passes reach the stack decoder's result whenever they
    # end without a '%' or '+' left and no byte decoded alone (U+FFFD): that is how UTF-8 runs
    # split across nesting levels, overlong forms and invalid escapes show themselves.
    decoded = text
    for _ in range(_URL_PASSES):
        decoded = unquote_plus(decoded)
        if "%" not in decoded and "+" not in decoded:
            if "\ufffd" not in decoded:
                return decoded
            break
    return _url_decode_stack(text)


def _url_decode_stack(text: str) -> str:
    # Stack items are single characters, or a run of undecoded byte escapes ("%E5%98") waiting
    # for UTF-8 continuation bytes; a run is written back as it stands if it never completes.
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "%" and (escape := _URL_ESCAPE.match(text, i)):
            # Pushed one character at a time, a whole escape reduces at its last character and
            # nowhere before, so it can be pushed decoded.
            i = escape.end()
            byte, code = escape.groups()
            if byte is not None:
                if _url_push_byte(out, int(byte, 16), escape.group()):
                    _url_reduce(out)
            else:
                out.append(_url_char(int(code, 16)))
                _url_reduce(out)
        elif char not in ("%", "+") and "%" not in out[-5:]:
            special = _URL_SPECIAL.search(text, i)
            end = special.start() if special else n
            out.extend(text[i:end])
            i = end
        else:
            out.append(" " if char == "+" else char)
            i += 1
            _url_reduce(out)
    return "".join(out)


def _url_reduce(out: list[str]) -> None:
    while True:
        if len(out) >= 3 and out[-3] == "%" and out[-2] in _HEX and out[-1] in _HEX:
            escape = "%" + out[-2] + out[-1]
            del out[-3:]
            if not _url_push_byte(out, int(escape[1:], 16), escape):
                return
        elif (
            len(out) >= 6
            and out[-6] == "%"
            and out[-5] in ("u", "U")
            and all(item in _HEX for item in out[-4:])
        ):
            code = int("".join(out[-4:]), 16)
            del out[-6:]
            out.append(_url_char(code))
        else:
            return


def _url_push_byte(out: list[str], byte: int, escape: str) -> bool:
    """Push one decoded byte; return whether it produced a character worth re-checking."""
    top = out[-1] if out else ""
    pending = _utf8_pending(top)
    if byte < 0x80:
        if byte != 0x25 and pending in (b"\xc0", b"\xc1"):
            out[-1] = _url_char(_overlong_ascii(pending[0], byte))
        else:
            out.append(_url_char(byte))
        return True
    if pending and byte < 0xC0:
        run = pending + bytes((byte,))
        if len(run) < _utf8_length(run[0]):
            out[-1] = top + escape
            return False
        code = _utf8_value(run)
        out[-1] = top + escape if code is None else _url_char(code)
        return code is not None
    out.append(escape)
    return False


def _url_char(code: int) -> str:
    return " " if code == 0x2B else chr(code)


def _overlong_ascii(lead: int, byte: int) -> int:
    # Old IIS masked the marker bits off a broken continuation byte ("%c0%6e" is "."); other
    # servers let the ASCII byte through ("%c0%5c" is a backslash). Payload lists use both to
    # smuggle a dot or a separator, so the reading that gives one wins.
    masked = ((lead & 0x01) << 6) | (byte & 0x3F)
    return masked if masked in (0x2E, 0x2F, 0x5C) else byte


def _utf8_pending(item: str) -> bytes:
    """The bytes of an incomplete UTF-8 run on the stack, or ``b""``."""
    if len(item) < 3:
        return b""
    run = bytes.fromhex(item.replace("%", ""))
    return run if len(run) < _utf8_length(run[0]) else b""


def _utf8_length(lead: int) -> int:
    if 0xC0 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF8:
        return 4
    if 0xF8 <= lead < 0xFC:
        return 5
    if 0xFC <= lead < 0xFE:
        return 6
    return 0


def _utf8_value(run: bytes) -> int | None:
    # Overlong forms are decoded on purpose: they are exactly the evasion being undone.
    code = run[0] & (0x7F >> len(run))
    for byte in run[1:]:
        code = (code << 6) | (byte & 0x3F)
    return code if code <= 0x10FFFF else None


# --- HTML ------------------------------------------------------------------------------------

_LEGACY = {name: value for name, value in html5.items() if not name.endswith(";")}
_LEGACY_LONGEST = max(map(len, _LEGACY))
_MAX_NAME = 32
_FAR = 1 << 30
_BODY = re.compile(r"#(?:[xX][0-9a-fA-F]*|[0-9]*)|[A-Za-z][A-Za-z0-9]{0,31}")
_REFERENCE_START = re.compile(r"&[A-Za-z#]")


def _may_hold_reference(text: str) -> bool:
    """Whether some ``&`` in ``text`` may start a character reference :func:`html.unescape`
    would decode (the pattern of the ``entity`` trigger). Query strings
    (``&page=3&per_page=50``) have none, and one search costs less than ``html.unescape``
    trying every prefix of every word after an ``&``."""
    return _REFERENCE_SEARCH(text) is not None


def html_decode(text: str) -> str:
    """Decode HTML character references in ``text`` to their fixed point.

    Named references (every name in ``html.entities.html5``), decimal and hexadecimal ones with
    any number of leading zeros, and the legacy forms without ``;`` (``&lt``, ``&#60``,
    ``&ltscript``) decode as a browser would; ``&amp;lt;`` decodes twice, to ``<``. A reference
    decoded to ``;``, ``#`` or a letter can complete an earlier, unfinished one (``&apos&#59;``).
    """
    if "&" not in text or not _may_hold_reference(text):
        return text
    try:
        once = html.unescape(text)
    except ValueError:  # a decimal reference of more than 4300 digits
        return _EntityStack().decode(text)
    # Decoding again can only change something after an "&" that may start a reference, and
    # only if a reference was decoded at all.
    if once == text or not _REFERENCE_START.search(once):
        return once
    return _EntityStack().decode(text)


@lru_cache(maxsize=512)
def _numeric_reference(code: int) -> str:
    return html.unescape(f"&#{code};")


def _extends(body: list[str], char: str) -> bool:
    if not body:
        return char in _LETTERS or char == "#"
    if body[0] == "#":
        if len(body) == 1:
            return char in _DIGITS or char in ("x", "X")
        return char in (_HEX if body[1] in ("x", "X") else _DIGITS)
    return char in _ALNUM and len(body) < _MAX_NAME


def _resolve(body: list[str], semicolon: bool) -> tuple[str, str, bool] | None:
    """Decode ``&`` + ``body``: (value, text left over after it, whether ``;`` was used)."""
    name = "".join(body)
    if name.startswith("#"):
        hexadecimal = name[1:2] in ("x", "X")
        digits = name[2:] if hexadecimal else name[1:]
        if not digits:
            return None
        significant = digits.lstrip("0")
        # Past eight digits the value is out of range anyway, and int() refuses 4300 of them.
        code = int(significant or "0", 16 if hexadecimal else 10) if len(significant) <= 8 else _FAR
        return _numeric_reference(min(code, 0x110000)), "", semicolon
    if semicolon and name + ";" in html5:
        return html5[name + ";"], "", True
    for length in range(min(len(name), _LEGACY_LONGEST), 1, -1):
        value = _LEGACY.get(name[:length])
        if value is not None:
            return value, name[length:], False
    return None


class _EntityStack:
    """The output stack of :func:`html_decode`.

    ``out`` holds finished text in chunks, ``length`` characters in all; ``amps`` holds the
    offsets in it of the ``&`` of each reference that was given up, the only ``&`` it can contain;
    ``body`` is the reference being read after the last ``&``. A decoded character that could
    continue a given-up reference close enough before it takes that reference back into ``body``.
    """

    __slots__ = ("amps", "body", "length", "out", "pending")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.length = 0
        self.amps: list[int] = []
        self.body: list[str] | None = None
        self.pending: list[str] = []

    def decode(self, text: str) -> str:
        """Decode ``text`` and return the result."""
        i, n = 0, len(text)
        while True:
            if self.pending:
                self.feed_decoded(self.pending.pop())
            elif i < n:
                i = self.feed_raw(text, i)
            elif self.body is not None:
                self.terminate(self.body, None)
            else:
                return "".join(self.out)

    def feed_raw(self, text: str, i: int) -> int:
        """Consume input from position ``i`` and return the next position."""
        if self.body is None:
            end = text.find("&", i)
            if end != i:
                end = len(text) if end < 0 else end
                self.emit(text[i:end])
                return end
            self.body = []
            return i + 1
        if not self.body:
            match = _BODY.match(text, i)
            if match:
                self.body.extend(match.group())
                return match.end()
        self.feed(text[i])
        return i + 1

    def feed_decoded(self, char: str) -> None:
        """Process a decoded character, which may continue an unfinished reference."""
        if self.body is None and (char in _ALNUM or char in ("#", ";")):
            self.reopen()
        self.feed(char)

    def feed(self, char: str) -> None:
        """Process one character."""
        if self.body is not None:
            if _extends(self.body, char):
                self.body.append(char)
            else:
                self.terminate(self.body, char)
        elif char == "&":
            self.body = []
        else:
            self.emit(char)

    def terminate(self, body: list[str], char: str | None) -> None:
        """End the reference ``body`` at ``char`` (``None`` at the end of the input)."""
        self.body = None
        result = _resolve(body, char == ";")
        if result is None:
            self.amps.append(self.length)
            self.emit("&" + "".join(body))
            if char is not None:
                self.feed(char)
            return
        value, rest, used_semicolon = result
        if char is not None and not used_semicolon:
            self.pending.append(char)
        if not value:
            # A reference to a character HTML drops (&#1;) joins its neighbours.
            self.reopen()
            return
        if value == "&" and rest[:1] in _LETTERS:
            self.body = list(rest)
            return
        self.pending.extend(reversed(rest))
        self.pending.extend(reversed(value))

    def emit(self, chunk: str) -> None:
        """Append finished text."""
        self.out.append(chunk)
        self.length += len(chunk)

    def reopen(self) -> None:
        """Take a given-up reference at the end of ``out`` back into ``body``, if there is one."""
        if not self.amps or self.length - self.amps[-1] > _MAX_NAME + 1:
            return
        tail = ""
        while len(tail) < self.length - self.amps[-1]:
            tail = self.out.pop() + tail
        self.length -= len(tail)
        candidate = tail[1:]
        if candidate and not _BODY.fullmatch(candidate):
            self.emit(tail)
            return
        self.amps.pop()
        self.body = list(candidate)


# --- JavaScript / JSON -----------------------------------------------------------------------

_JS_ESCAPE = re.compile(
    r"\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-3][0-7]{2})|(/))"
)


def js_unescape(text: str) -> str:
    """Decode JavaScript and JSON escapes in ``text`` to their fixed point.

    Handles ``\\uXXXX``, ``\\u{X}`` to ``\\u{XXXXXX}``, ``\\xNN``, three-digit octal ``\\NNN``
    (``\\000`` to ``\\377``; shorter octal is ambiguous with regex back-references and Windows
    paths and stays) and ``\\/``. ``\\\\`` and letter escapes such as ``\\n`` stay as written.
    """
    if "\\" not in text:
        return text
    once = _JS_ESCAPE.sub(_js_replace, text)
    # Decoding again can only change something if one pass left a complete escape behind.
    if "\\" not in once or not _JS_ESCAPE.search(once):
        return once
    return _js_unescape_stack(text)


def _js_replace(match: re.Match[str]) -> str:
    braced, four, two, octal, _slash = match.groups()
    if octal is not None:
        return chr(int(octal, 8))
    digits = braced or four or two
    if digits is None:
        return "/"
    code = int(digits, 16)
    return chr(code) if code <= 0x10FFFF else match.group()


def _js_unescape_stack(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        escape = _JS_ESCAPE.match(text, i) if char == "\\" else None
        decoded = _js_replace(escape) if escape else ""
        if escape and len(decoded) == 1:
            # As in URL decoding, a whole escape reduces only at its last character.
            out.append(decoded)
            i = escape.end()
        elif char != "\\" and "\\" not in out[-9:]:
            end = text.find("\\", i)
            end = n if end < 0 else end
            out.extend(text[i:end])
            i = end
            continue
        else:
            out.append(char)
            i += 1
        while _js_reduce(out):
            pass
    return "".join(out)


def _js_reduce(out: list[str]) -> bool:
    """Replace a complete escape at the top of ``out``; return whether there was one."""
    last = out[-1]
    size = 0
    code = -1
    if last == "/" and len(out) >= 2 and out[-2] == "\\":
        size, code = 2, 0x2F
    elif last == "}":
        size, code = _js_braced(out)
    elif last in _HEX and len(out) >= 4 and out[-4] == "\\" and out[-3] == "x" and out[-2] in _HEX:
        size, code = 4, int(out[-2] + last, 16)
    elif (
        last in _HEX
        and len(out) >= 6
        and out[-6] == "\\"
        and out[-5] == "u"
        and all(item in _HEX for item in out[-4:-1])
    ):
        size, code = 6, int("".join(out[-4:]), 16)
    elif (
        last in _OCTAL
        and len(out) >= 4
        and out[-4] == "\\"
        and out[-3] in ("0", "1", "2", "3")
        and out[-2] in _OCTAL
    ):
        size, code = 4, int("".join(out[-3:]), 8)
    if not size:
        return False
    del out[-size:]
    out.append(chr(code))
    return True


def _js_braced(out: list[str]) -> tuple[int, int]:
    for digits in range(1, 7):
        size = digits + 4
        if len(out) < size or out[-digits - 2] != "{":
            continue
        if out[-size] == "\\" and out[-size + 1] == "u":
            hex_digits = out[-digits - 1 : -1]
            if all(item in _HEX for item in hex_digits):
                code = int("".join(hex_digits), 16)
                return (size, code) if code <= 0x10FFFF else (0, -1)
        return 0, -1
    return 0, -1


# --- Unicode ---------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(
    [
        *(0x00AD, 0x034F, 0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF),
        *range(0x202A, 0x202F),
        *range(0x2061, 0x2065),
        *range(0x2066, 0x206A),
    ]
)
_INVISIBLE_CHARS = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "B", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "һ": "h", "ү": "y",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W",
    # Greek
    "α": "a", "ο": "o", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin
    "ı": "i", "ɑ": "a", "ɡ": "g",
    # quotes and angle brackets that NFKC leaves alone
    "ʼ": "'", "ʹ": "'", "ˈ": "'", "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "ˮ": '"',
    "‹": "<", "›": ">", "˂": "<", "˃": ">", "ᐸ": "<", "ᐳ": ">", "〈": "<", "〉": ">",
    "⟨": "<", "⟩": ">", "❮": "<", "❯": ">",
    # slashes that Windows' best-fit code pages turn into path separators
    "∕": "/", "⁄": "/", "⧸": "/", "∖": "\\", "⧹": "\\",
}  # fmt: skip
_LOOKALIKE_TABLE = str.maketrans(_LOOKALIKES)
_LOOKALIKE_CHARS = re.compile("[" + re.escape("".join(_LOOKALIKES)) + "]")


def unicode_fold(text: str) -> str:
    """Fold ``text`` to NFKC and replace look-alike characters with the ASCII they imitate.

    Fullwidth forms (``ＳＥＬＥＣＴ``, ``＜``, ``＇``) are NFKC's; a table adds Cyrillic and Greek
    letters that look Latin, quote and angle-bracket look-alikes (``ʼ``, ``‹``) and slash
    look-alikes. Invisible characters (zero-width space, non-joiner and joiner, word joiner, BOM,
    soft hyphen, bidirectional controls) are removed first, and surrogate pairs are joined, so
    that they cannot stop NFKC composing what they separate.
    """
    if text.isascii():
        return text
    folded = text
    if _INVISIBLE_CHARS.search(folded):
        folded = folded.translate(_INVISIBLE)
    if _SURROGATE.search(folded):
        folded = folded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    folded = unicodedata.normalize("NFKC", folded)
    if _LOOKALIKE_CHARS.search(folded):
        # A replaced letter may now compose with a following combining mark.
        folded = unicodedata.normalize("NFKC", folded.translate(_LOOKALIKE_TABLE))
    return folded[: MAX_EXPANSION * len(text)]


# --- Whitespace ------------------------------------------------------------------------------

_SPACE_LIKE = "\t\x0b\x0c\xa0\u1680\u180e\u200a\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200A))
)
_LINE_LIKE = "\x85\u2028\u2029"
_WHITESPACE_TABLE: dict[int, str | None] = {0: None}
_WHITESPACE_TABLE.update(dict.fromkeys(map(ord, _SPACE_LIKE), " "))
_WHITESPACE_TABLE.update(dict.fromkeys(map(ord, _LINE_LIKE), "\n"))
_WHITESPACE_CHARS = re.compile("[\x00" + _SPACE_LIKE + _LINE_LIKE + "]")
_SPACE_RUN = re.compile("  +")


def _collapse_spaces(text: str) -> str:
    # A substring test first: most text has no run of spaces, and a regex pass over a long
    # body costs several times more.
    return _SPACE_RUN.sub(" ", text) if "  " in text else text


def fold_whitespace(text: str) -> str:
    """Remove NUL bytes, fold other whitespace to a space and collapse runs of spaces.

    CR and LF stay as they are (CRLF injection is looked for in them); NEL and the Unicode line
    and paragraph separators become LF. Leading and trailing space is kept.
    """
    # A translate through a dict costs a lookup per character: only text with a character to
    # fold pays for it, not text whose only change is a run of spaces.
    if _WHITESPACE_CHARS.search(text):
        text = text.translate(_WHITESPACE_TABLE)
    return _collapse_spaces(text)


# --- SQL comments (a view) -------------------------------------------------------------------

_SQL_COMMENT = re.compile(r"/\*M?!(?:\d{5,6})?|/\*.*?(?:\*/|\Z)|\*/|--[^\r\n]*|#[^\r\n]*", re.S)


def strip_sql_comments(text: str) -> str:
    """Remove SQL comments from ``text``: the SQL view.

    ``/*...*/`` (also ``/**/`` and an unterminated ``/*``) becomes one space, so ``SEL/**/ECT``
    reads ``SEL ECT`` as MySQL reads it. A MySQL versioned comment keeps its content:
    ``/*!50000UNION*/`` reads ``UNION``. ``--`` and ``#`` comments are removed up to the end of the
    line. When anything was removed, runs of spaces are collapsed and the ends stripped of spaces.
    Lossy for anything that is not SQL, hence a separate view.
    """
    return _without_sql_comments(text, " ")


def join_sql_comments(text: str) -> str:
    """Like :func:`strip_sql_comments`, but a plain ``/*...*/`` comment is removed outright:
    the joined SQL view.

    ``UN/**/ION SEL/*x*/ECT`` reads ``UNION SELECT``, which is what a filter or a back end that
    deletes comments before parsing passes on. A versioned comment still ends a word.
    """
    if "/*" not in text:
        return text
    return _without_sql_comments(text, "")


def _without_sql_comments(text: str, gap: str) -> str:
    # "#" first: a one-character test is a memchr, a two-character one a slower search (about
    # 8 µs on 10 KB of prose), and markdown headings make "#" the common marker.
    if "#" not in text and "/*" not in text and "*/" not in text and "--" not in text:
        return text
    if "*" not in text:
        return _without_line_comments(text)
    parts: list[str] = []
    position = 0
    versioned = 0
    changed = False
    for match in _SQL_COMMENT.finditer(text):
        token = match.group()
        parts.append(text[position : match.start()])
        position = match.end()
        if token == "*/" and not versioned:
            parts.append(token)
            continue
        changed = True
        if token == "*/":
            versioned -= 1
            parts.append(" ")
        elif token.startswith(("/*!", "/*M!")):
            versioned += 1
            parts.append(" ")
        elif token.startswith("/*"):
            parts.append(gap)
    if not changed:
        return text
    parts.append(text[position:])
    return _collapse_spaces("".join(parts)).strip(" ")


def _without_line_comments(text: str) -> str:
    """:func:`_without_sql_comments` for text without a ``*``, so with ``--`` and ``#``
    comments alone: on each line the first of them runs to the line's end. ``str.find`` goes
    from marker to marker, where the regex would try its alternatives at every position
    (about 25 µs on 10 KB of markdown, whose headings start with ``#``)."""
    parts: list[str] = []
    position = 0
    n = len(text)
    # The next "#" and "--" at or after position (n when there is none); each is searched
    # for again only once position has passed it, so every search is paid once.
    hash_at = dash_at = -1
    while position < n:
        if hash_at < position:
            hash_at = text.find("#", position)
            hash_at = n if hash_at < 0 else hash_at
        if dash_at < position:
            dash_at = text.find("--", position)
            dash_at = n if dash_at < 0 else dash_at
        start = min(hash_at, dash_at)
        if start >= n:
            break
        newline = text.find("\n", start)
        newline = n if newline < 0 else newline
        carriage = text.find("\r", start, newline)
        parts.append(text[position:start])
        position = carriage if carriage >= 0 else newline
    if not parts:
        return text
    parts.append(text[position:])
    return _collapse_spaces("".join(parts)).strip(" ")


# --- Shell words (a view) --------------------------------------------------------------------

_SHELL_CHARS = re.compile(r"[\\$]|['\"][^\s'\"]*['\"]|(?:^|[;&|`(])\s*['\"]", re.ASCII)
"""What the shell view undoes: a backslash, a parameter, or a quote its trigger counts (a second
one in the same word, one opening a word, or two in a value naming ``eval``, ``ssh`` or
``sh -c``). A lone apostrophe in prose is left as written."""


def _chains_quotes(text: str) -> bool:
    """Two quotes in a value that names a command reading its words again (the quote
    trigger's last case), counted without a regex: one spanning the text would backtrack."""
    return (text.count("'") + text.count('"') >= 2
            and any(word in text for word in _REREADERS))


_REREADERS = ("eval", "ssh", "-c ")


_ONE_CHARACTER_CLASS = re.compile(r"\[([A-Za-z])\]")
_BRACE_LIST = re.compile(r"\{([^{}\s,]*(?:,[^{}\s,]*)+)\}")
_EMPTY_PARAMETERS = frozenset("@*0123456789")


def shell_unquote(text: str) -> str:
    """Read ``text`` as the shell would read its words: the shell view.

    A brace list becomes its words (``{cat,/etc/passwd}`` reads ``cat /etc/passwd``), quotes and
    backslashes go (``w'h'o"am"i`` and ``c\\at`` read ``whoami`` and ``cat``), ``$IFS`` and
    ``${IFS}`` become a space, and the parameters that are empty in an injected command
    (``$@``, ``$*``, ``$0`` to ``$9``, ``$()``) are removed; a glob class of one letter is that
    letter (``[w]ho[a]mi``). Glob characters stay. Runs of spaces are
    collapsed. Lossy for SQL, whose quotes it removes, hence a separate view.
    """
    if not (_SHELL_CHARS.search(text) or _chains_quotes(text)) and not (
            "{" in text and _BRACE_LIST.search(text)):
        return text
    words = _ANSI_C_QUOTED.sub(_ansi_c_decode, text) if "$" in text and "$'" in text else text
    if "`" in words and "'" in words:
        words = _GNU_QUOTED.sub(r"\1", words)
    words = _BRACE_LIST.sub(lambda match: match.group(1).replace(",", " "), words)
    # Three replaces cost a tenth of a translate that deletes (about 20 ns per character).
    words = words.replace("'", "").replace('"', "").replace("\\", "")
    if "[" in words:
        # A bracket holding one character globs to that character: /usr/bin/[w]ho[a]mi.
        words = _ONE_CHARACTER_CLASS.sub(r"\1", words)
    if "$" in words:
        # An empty substitution expands to nothing: who$()ami.
        words = words.replace("$()", "")
        words = _expand_parameters(words)
        if "${" in words:
            # After the quotes and empty parameters are gone, which could otherwise spell a new
            # one for a second reading to find.
            words = _SPELLED_EXPANSION.sub(_spelled, words)
    return _collapse_spaces(words)


# `word' is how GNU documentation quotes a name (`kill', `-L'): a backtick, one word, and an
# apostrophe before a blank, a sentence mark or the end. In a shell that backtick opens a
# substitution the apostrophe leaves unclosed, so it runs nothing; read as the quoted word,
# it stops `kill' ... `-L' from reading as one backtick substitution once the quotes are gone.
_GNU_QUOTED = re.compile(r"`([^\s`'\"]+)'(?=[\s.,;:!?)]|$)")
# $'...' (bash, ksh, zsh): the quoted text with C escapes decoded, so $'\x63\x61\x74' is cat.
_ANSI_C_QUOTED = re.compile(r"\$'((?:[^'\\]|\\.)*)'", re.DOTALL)
_ANSI_C_ESCAPE = re.compile(
    r"\\(?:x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|U([0-9a-fA-F]{1,8})|([0-7]{1,3})|c(.)|(.))",
    re.DOTALL,
)
_ANSI_C_LETTERS = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b",
                   "E": "\x1b", "f": "\f", "v": "\v"}
# ${PATH:0:1} and its like, the first character of a variable that always holds an absolute
# path, are how a payload spells "/" without writing one; ${IFS%??}, ${IFS:0:1} and other
# operations on IFS still expand to blanks (plain $IFS and ${IFS} are _expand_parameters').
_SPELLED_EXPANSION = re.compile(r"\$\{(?:(IFS)[^}]{0,8}|(?:PATH|HOME|PWD|OLDPWD|SHELL)::?0?:1)\}")


def _spelled(match: re.Match[str]) -> str:
    return " " if match.group(1) else "/"


def _ansi_c_decode(match: re.Match[str]) -> str:
    return _ANSI_C_ESCAPE.sub(_ansi_c_char, match.group(1))


def _ansi_c_char(match: re.Match[str]) -> str:
    hex_byte, short, long, octal, control, other = match.groups()
    number = hex_byte or short or long
    if number is not None or octal is not None:
        code = int(number, 16) if number is not None else int(octal, 8) & 0xFF
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    if control is not None:
        return chr(ord(control) & 0x1F)
    return _ANSI_C_LETTERS.get(other, other)


def _expand_parameters(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if "$" not in out[-5:]:
            end = text.find("$", i)
            end = n if end < 0 else end
            if end > i:
                out.extend(text[i:end])
                i = end
                continue
        out.append(text[i])
        i += 1
        if len(out) >= 2 and out[-2] == "$" and out[-1] in _EMPTY_PARAMETERS:
            del out[-2:]
        elif out[-4:] == ["$", "I", "F", "S"]:
            out[-4:] = [" "]
        elif out[-6:] == ["$", "{", "I", "F", "S", "}"]:
            out[-6:] = [" "]
    return "".join(out)


# --- Paths (a view) --------------------------------------------------------------------------

# These start with a literal, the look-behind second: Python's re only skips quickly to a literal.
_PATH_PARAMETER = re.compile(r"(\.(?<![\w.]\.)\.+);[^/]*")
_DOT_RUN = re.compile(r"\.(?<![\w.]\.)\.{2,}(?=/)")
_SLASH_RUN = re.compile("//+")
_DOT_SEGMENTS = re.compile(r"/(?:\./)+")


def normalize_path(text: str) -> str:
    """Fold the spellings of a path that mean the same directory walk: the path view.

    Backslashes become ``/``; a run of three or more dots before ``/`` becomes ``..``
    (``....//`` reads ``../``), a path parameter after dots is dropped (``..;/`` reads ``../``),
    ``/./`` becomes ``/`` and runs of slashes collapse to one, except the ``//`` after a scheme's
    ``:``. ``..`` is never resolved against the directory before it: the walk is the signal.
    """
    if "/" not in text and "\\" not in text:
        return text
    path = text.replace("\\", "/")
    if ";" in path:
        path = _PATH_PARAMETER.sub(r"\1", path)
    if "..." in path:
        path = _DOT_RUN.sub("..", path)
    if "//" in path:
        path = _SLASH_RUN.sub(_slashes, path)
    if "/./" in path:
        path = _DOT_SEGMENTS.sub("/", path)
    return path


def _slashes(match: re.Match[str]) -> str:
    start = match.start()
    return "//" if start and match.string[start - 1] == ":" else "/"


# --- Base64 (a view) -------------------------------------------------------------------------

_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
# RE2 finds a run in one linear pass; re tries every position (16 characters each) and so takes
# ~10x longer on prose, where runs are rare. re does the replacing, where a run was found.
_B64_FIND = re2.compile(rb"[A-Za-z0-9+/_-]{16}")


def _has_base64_run(text: str) -> bool:
    return _B64_FIND.search(text.encode("utf-8", "surrogatepass")) is not None
_PRINTABLE_SHARE = 0.9


def decode_base64(text: str) -> str:
    """Replace each base64 run (standard or URL-safe, 16+ characters) that decodes to readable
    UTF-8 text with that text, to a fixed point: the base64 view.

    Binary results (hashes, random tokens, compressed data) stay as they were, so only a run
    that hides text is opened. Each replacement shrinks the text by a quarter, so repeating
    until nothing changes ends quickly and the result is a fixed point.
    """
    return _substitute_to_fixed_point(text, _B64_RUN, _open_base64, _has_base64_run)


def _open_base64(match: re.Match[str]) -> str:
    run = match.group()
    body = run.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        # The run holds only base64 characters (the pattern's), so b64decode's validating
        # regex would only repeat what matched it.
        raw = binascii.a2b_base64(body + "=" * (-len(body) % 4))
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return run
    if not decoded:
        return run
    # str.isprintable is one C pass; the count per character is only for text with a newline,
    # a tab or a control character in it.
    if not decoded.isprintable() and sum(
        c.isprintable() or c in "\r\n\t" for c in decoded
    ) < (_PRINTABLE_SHARE * len(decoded)):
        return run
    return decoded


def _substitute_to_fixed_point(
    text: str,
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], str],
    may_match: Callable[[str], bool],
) -> str:
    """Apply ``pattern.sub(replace, …)`` until nothing changes (or ``may_match`` says nothing
    can): for decoders whose every replacement shrinks the text, so few rounds are needed."""
    current = text
    while may_match(current):
        decoded = pattern.sub(replace, current)
        if decoded == current:
            return current
        current = decoded
    return current


# --- UTF-7 (a view) --------------------------------------------------------------------------

_UTF7_RUN = re.compile(r"\+[A-Za-z0-9+/]{3,}-?")


def decode_utf7(text: str) -> str:
    """Decode each UTF-7 shifted run (``+ADw-`` is ``<``) that spells printable ASCII: the UTF-7
    view.

    A document that declares ``encoding="UTF-7"`` (XXE), or a page a browser reads as UTF-7
    (old XSS), hides its angle brackets and quotes this way. Runs that decode to anything else
    (a phone number, ``C++``, random tokens) stay as they were. Each replacement shrinks the
    text, so repeating to a fixed point ends quickly.
    """
    return _substitute_to_fixed_point(text, _UTF7_RUN, _open_utf7, lambda t: "+" in t)


def _open_utf7(match: re.Match[str]) -> str:
    run = match.group()
    try:
        decoded = (run if run.endswith("-") else run + "-").encode("ascii").decode("utf-7")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return run
    if not decoded or not all(" " <= c <= "~" or c in "\r\n\t" for c in decoded):
        return run
    return decoded


# --- The chain -------------------------------------------------------------------------------

_CANONICAL_STEPS: tuple[tuple[str, Callable[[str], str], frozenset[str]], ...] = (
    ("url", url_decode, frozenset({"%", "+"})),
    ("html", html_decode, frozenset({"entity"})),
    ("js", js_unescape, frozenset({"\\"})),
    ("unicode", unicode_fold, frozenset({"non-ascii"})),
    ("whitespace", fold_whitespace, frozenset({"control", "non-ascii", "  "})),
)
_VIEW_STEPS: tuple[tuple[str, Callable[[str], str], frozenset[str]], ...] = (
    ("sql", strip_sql_comments, frozenset({"/*", "*/", "--", "#"})),
    ("sql", join_sql_comments, frozenset({"/*"})),
    ("shell", shell_unquote, frozenset({"\\", "quote", "$", "{"})),
    ("path", normalize_path, frozenset({"/", "\\"})),
    ("base64", decode_base64, frozenset({"base64"})),
)
_CANONICAL_TRIGGERS = frozenset().union(*(needs for _, _, needs in _CANONICAL_STEPS))


def normalize(text: str) -> str:
    """Return the canonical view of ``text``: every lossless decoder, to a fixed point.

    One round runs :func:`url_decode`, :func:`html_decode`, :func:`js_unescape`,
    :func:`unicode_fold` and :func:`fold_whitespace` in that order; rounds repeat until one changes
    nothing, at most :data:`MAX_ROUNDS` times. Each decoder already reaches its own fixed point,
    so a further round is needed only when a later decoder produces what an earlier one decodes:
    ``&#37;27`` (HTML makes ``%27``, the next round's URL decoder ``'``), ``％２７`` (NFKC makes
    ``%27``), ``%2\\x005`` (removing the NUL makes ``%25``). The result is idempotent,
    ``normalize(normalize(x)) == normalize(x)``, for every input needing at most ``MAX_ROUNDS - 1``
    such hand-backs; an input layering more is returned after ``MAX_ROUNDS`` rounds, still partly
    encoded, and is itself a signal of evasion.
    """
    present = triggers(text)
    if not present & _CANONICAL_TRIGGERS:
        return text
    return _canonical(text, None, present)


def _canonical(
    text: str, steps: list[tuple[str, str]] | None, present: frozenset[str] | None = None
) -> str:
    limit = MAX_EXPANSION * len(text)
    current = text
    for round_number in range(1, MAX_ROUNDS + 1):
        start = current
        # Named steps only when a caller records them (trace): on the screening path their
        # bookkeeping cost more than the decoders on most values.
        round_steps: list[tuple[str, str]] | None = None if steps is None else []
        for name, decode, needs in _CANONICAL_STEPS:
            # While the text is still the input, a decoder without its trigger would return it
            # unchanged: skip the pass it would spend finding that out.
            if present is None or current is not text or present & needs:
                decoded = decode(current)[:limit]
                # Keep the very object when nothing changed (some decoders return an equal
                # copy), so that callers can tell "no decoder changed this" by identity.
                if decoded is not current and decoded != current:
                    current = decoded
            if round_steps is not None:
                round_steps.append((name if round_number == 1 else f"{name}#{round_number}",
                                    current))
        if steps is not None and round_steps is not None and (
            round_number == 1 or current != start
        ):
            steps.extend(round_steps)
        if current is start or current == start:
            break
    return current


def named_views(
    text: str,
    present: frozenset[str] | None = None,
    canonical_triggers: Callable[[str], frozenset[str]] = triggers,
    lossy: bool = True,
) -> tuple[str, list[tuple[str, str]]]:
    """Return ``(canonical, [(name, view), …])``: the canonical view (``text`` itself for plain
    text) and the same distinct views as :func:`views`, each named ``canonical``, ``sql``,
    ``shell``, ``path`` or ``base64``, so a caller can match each lossy view with the rules it
    serves. ``present`` is ``triggers(text)`` when the caller already has it.
    ``canonical_triggers`` finds the triggers of a canonical view that differs from ``text``:
    a caller about to scan that view anyway can answer from the same pass. ``lossy=False``
    builds the canonical view alone."""
    if present is None:
        present = triggers(text)
    if not present:
        return text, []
    raw_present = present
    canonical = _canonical(text, None, present) if present & _CANONICAL_TRIGGERS else text
    if canonical is not text:
        present = canonical_triggers(canonical)
    seen = {text}
    found: list[tuple[str, str]] = []
    if canonical is not text and canonical not in seen:
        seen.add(canonical)
        found.append(("canonical", canonical))
    if not lossy:
        return canonical, found
    for name, derive, needs in _VIEW_STEPS:
        if present & needs:
            view = derive(canonical)
            if view not in seen:
                seen.add(view)
                found.append((name, view))
    if "utf7" in raw_present:
        view = utf7_view(text)
        if view not in seen:
            found.append(("utf7", view))
    return canonical, found


def utf7_view(text: str) -> str:
    """The UTF-7 view: :func:`decode_utf7` of the raw text (URL decoding would read its ``+``
    as a space, so it cannot come from the canonical view), then :func:`normalize`."""
    return normalize(decode_utf7(text))


def views(text: str) -> list[str]:
    """Return the distinct views of ``text`` the matcher should read besides ``text`` itself.

    In order: the canonical view (:func:`normalize`), the SQL view
    (:func:`strip_sql_comments` of it), the shell view (:func:`shell_unquote` of it), the path
    view (:func:`normalize_path` of it) and the base64 view (:func:`decode_base64` of it). A view
    equal to ``text`` or to an earlier view is left out, so a plain value has none. Each is at
    most ``MAX_EXPANSION * len(text)`` long.
    """
    return [view for _, view in named_views(text)[1]]


def trace(text: str) -> list[tuple[str, str]]:
    """Return ``(step, output)`` for every step that builds the views of ``text``.

    The canonical chain comes first: all five steps of the first round and of each later round
    that changed something, a later round's steps named ``url#2`` and so on. Then one entry per
    lossy view (``sql``, ``shell``, ``path``), each derived from the canonical view.
    """
    steps: list[tuple[str, str]] = []
    canonical = _canonical(text, steps)
    steps.extend((name, derive(canonical)) for name, derive, _ in _VIEW_STEPS)
    steps.append(("utf7", utf7_view(text)))
    return steps
