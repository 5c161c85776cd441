"""The linear-time multi-pattern database.

Every built-in pattern, and every custom pattern that fits, is compiled into one database that
finds all matching patterns in a single pass over a value. Both engines see the value as UTF-8
bytes (RE2 in Latin-1 mode), so a pattern means the same thing whichever engine runs it.
Hyperscan is preferred (a DFA/NFA
hybrid that scans at GB/s); an RE2 ``Set`` serves where Hyperscan is not installed. Neither
engine backtracks, so no input can make a scan super-linear.

The database reports which patterns matched and where each match ends. The exact span of a
match, needed only for the fragment shown in a result, is found afterwards with RE2 on the few
patterns that hit, which keeps the clean-traffic path to one scan.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import re2

_hs: Any
try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without a wheel
    _hs = None

HYPERSCAN_AVAILABLE = _hs is not None
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchSpec:
    """One expression for the database: its regex text and whether it gets the default flags.

    Built-in patterns are case-insensitive with ``.`` matching newlines; custom patterns keep
    exactly the semantics their author wrote (inline flags such as ``(?i)`` work in both).
    """

    regex: str
    default_flags: bool = True
    multiline: bool = False
    """``^`` and ``$`` also match at line breaks: used by the batch prefilter, where values are
    joined by newlines and an anchored pattern must still see each value's start and end."""
    prefilter: bool = False
    """Report a superset of the matches: Hyperscan's prefilter mode, which approximates what it
    cannot express (back-references, look-arounds) and may match where the regex does not.
    Only the Hyperscan engine compiles such a spec; the caller confirms each hit."""


class LinearMatcher(Protocol):
    """A compiled set of expressions scanned in one linear pass."""

    engine: str

    def scan(self, text: str) -> dict[int, int]:
        """Return ``{expression index: end offset of its first match}`` for ``text``."""
        ...

    def scan_encoded(self, data: bytes) -> dict[int, int]:
        """:meth:`scan` of text already encoded (:func:`encode`); offsets are into ``data``."""
        ...


def encode(text: str) -> bytes:
    """``text`` as the databases read it: UTF-8, lone surrogates kept."""
    return text.encode("utf-8", "surrogatepass")


class HyperscanMatcher:
    """Hyperscan block-mode database with one scratch space per thread.

    Scratch space is mutable and must not be shared by concurrent scans, so each thread clones
    its own from the prototype on first use.
    """

    engine = "hyperscan"

    def __init__(self, specs: Sequence[MatchSpec]) -> None:
        self._empty = not specs
        if specs:
            self._db = _load_or_compile(specs)
            self._prototype = _hs.Scratch(self._db)
        self._local = threading.local()
        self._lock = threading.Lock()

    def _scratch(self) -> Any:
        with self._lock:
            scratch = self._prototype.clone()
        self._local.scratch = scratch
        return scratch

    def scan(self, text: str) -> dict[int, int]:
        """Scan ``text`` once and report every expression that matched."""
        return self.scan_encoded(encode(text)) if text else {}

    def scan_encoded(self, data: bytes) -> dict[int, int]:
        """:meth:`scan` of text already encoded."""
        if self._empty or not data:
            return {}
        try:
            scratch = self._local.scratch
        except AttributeError:
            scratch = self._scratch()
        hits: dict[int, int] = {}
        self._db.scan(data, match_event_handler=_on_match, context=hits, scratch=scratch)
        return hits


def _on_match(pid: int, _start: int, end: int, _flags: int, hits: dict[int, int]) -> None:
    hits.setdefault(pid, end)


def _hs_flags(spec: MatchSpec) -> int:
    flags = int(_hs.HS_FLAG_SINGLEMATCH)
    if spec.prefilter:
        # An approximation may match the empty string; as a prefilter that is only a hit to
        # confirm, so it is allowed rather than refused.
        flags |= int(_hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_ALLOWEMPTY)
    if spec.default_flags:
        flags |= int(_hs.HS_FLAG_CASELESS | _hs.HS_FLAG_DOTALL)
    if spec.multiline:
        flags |= int(_hs.HS_FLAG_MULTILINE)
    return flags


_COMPILED: dict[str, Any] = {}
_COMPILED_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where serialized databases are kept: ``$GUARD_CACHE_DIR`` or ``~/.cache/guard``."""
    configured = os.environ.get("GUARD_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "guard"


def _load_or_compile(specs: Sequence[MatchSpec]) -> Any:
    """Return a compiled database, reusing one built before in this process or on disk.

    Compiling the built-in set takes seconds (Hyperscan builds its automata up front), while
    loading a serialized copy takes milliseconds, so the first process on a machine pays once.
    The key covers the Hyperscan version and every expression and flag; a stale or corrupt
    file is ignored and rebuilt.
    """
    version = getattr(_hs, "__version__", "?")
    key = repr((version, [(s.regex, s.default_flags, s.multiline, s.prefilter) for s in specs]))
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    with _COMPILED_LOCK:
        db = _COMPILED.get(digest)
        if db is None:
            db = _load_cached(digest) or _compile_and_store(specs, digest)
            _COMPILED[digest] = db
    return db


def _load_cached(digest: str) -> Any:
    path = cache_dir() / f"hs-{digest}.db"
    try:
        return _hs.loadb(path.read_bytes(), _hs.HS_MODE_BLOCK)
    except Exception:
        return None


def _compile_and_store(specs: Sequence[MatchSpec], digest: str) -> Any:
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    db.compile(
        expressions=[encode(s.regex) for s in specs],
        ids=list(range(len(specs))),
        elements=len(specs),
        flags=[_hs_flags(s) for s in specs],
    )
    if len(specs) > 1:
        try:
            directory = cache_dir()
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=directory, delete=False) as handle:
                handle.write(_hs.dumpb(db))
            os.replace(handle.name, directory / f"hs-{digest}.db")
        except OSError:
            log.debug("pattern database cache not writable; compiled in memory only")
    return db


class RE2SetMatcher:
    """RE2 ``Set`` fallback: one pass reports which expressions match (not where)."""

    engine = "re2"

    def __init__(self, specs: Sequence[MatchSpec]) -> None:
        self._set = re2.Set.SearchSet(_re2_options())
        for spec in specs:
            self._set.Add(_re2_text(spec))
        self._set.Compile()
        self._empty = not specs

    def scan(self, text: str) -> dict[int, int]:
        """Scan ``text`` once; the end offset is unknown here and reported as the length."""
        return self.scan_encoded(encode(text)) if text else {}

    def scan_encoded(self, data: bytes) -> dict[int, int]:
        """:meth:`scan` of text already encoded."""
        if self._empty or not data:
            return {}
        return dict.fromkeys(self._set.Match(data) or (), len(data))


def _re2_options() -> Any:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    return options


def _re2_text(spec: MatchSpec) -> bytes:
    regex = encode(spec.regex)
    if spec.default_flags or spec.multiline:
        flags = (b"is" if spec.default_flags else b"") + (b"m" if spec.multiline else b"")
        return b"(?" + flags + b":" + regex + b")"
    return regex


def build_matcher(specs: Sequence[MatchSpec], prefer: str = "auto") -> LinearMatcher:
    """Compile ``specs`` with Hyperscan when available (or asked for), else an RE2 set."""
    if prefer in ("auto", "hyperscan") and HYPERSCAN_AVAILABLE:
        return HyperscanMatcher(specs)
    if prefer == "hyperscan":
        raise RuntimeError("hyperscan is not installed")
    return RE2SetMatcher(specs)


def linear_compile_error(regex: str, default_flags: bool = False) -> str | None:
    """Return why ``regex`` cannot join the linear-time database, or None when it can."""
    spec = MatchSpec(regex, default_flags)
    try:
        build_matcher([spec])
    except Exception as exc:  # engines raise their own error types
        return str(exc) or type(exc).__name__
    try:
        re2.compile(_re2_text(spec), _re2_options())
    except Exception as exc:
        return f"re2: {exc}"
    return None


def matched_fragment(
    regex: str, text: str, end_hint: int, default_flags: bool = True, data: bytes | None = None
) -> str:
    """Return the text of the first match of ``regex`` in ``text``, found with RE2 (linear).

    Offsets are byte offsets into the UTF-8 form (``data``, when the caller has it already);
    where RE2 cannot express the pattern, the fragment is a short window ending at ``end_hint``.
    """
    return first_match(regex, text, end_hint, default_flags, data)[0]


def first_match(
    regex: str, text: str, end_hint: int, default_flags: bool = True, data: bytes | None = None
) -> tuple[str, int]:
    """:func:`matched_fragment` and the byte offset in ``data`` where the match starts (-1
    where RE2 cannot express the pattern and the fragment is a window)."""
    if data is None:
        data = encode(text)
    try:
        span = span_finder(regex, default_flags)(data, 0)
    except Exception:
        span = None
    if span is None:
        return data[max(0, end_hint - 64) : end_hint].decode("utf-8", "replace"), -1
    return data[span[0] : span[1]].decode("utf-8", "replace"), span[0]


def later_matches(
    regex: str, data: bytes, first: int, default_flags: bool = True, limit: int = 8
) -> Iterator[tuple[str, int]]:
    """The texts of the matches of ``regex`` in UTF-8 ``data`` that start after byte ``first``
    (where its first match starts), with their starting byte offsets, up to ``limit`` of them,
    left to right (none where RE2 cannot express the pattern). A confirmer that turns down the
    first match reads these: one quoted-looking hit must not hide a working one later in the
    value. Each search starts at the byte after the last match's start, since the next match
    may reuse its last separator (``&copy; nc …``: the ``;`` of the entity starts ``; nc``)."""
    try:
        finder = span_finder(regex, default_flags)
    except Exception:
        return
    start = first
    for _ in range(limit):
        span = finder(data, start + 1)
        if span is None:
            return
        start = span[0]
        yield data[span[0] : span[1]].decode("utf-8", "replace"), span[0]


_UNANCHORED = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)

SpanFinder = Callable[[bytes, int], "tuple[int, int] | None"]
"""Finds the byte span of a pattern's first match in UTF-8 data at or after a byte offset (the
text before it still counts as context for anchors), or None."""


def _direct_finder(compiled: Any) -> SpanFinder:
    """The span finder of ``compiled``.

    google-re2's ``search`` wraps each call in a generator and a match object, three times
    the cost of the search itself on a short value; its compiled ``RE2`` answers the same
    question directly. The public path stays as the fallback for a release without it.
    """
    regexp = getattr(compiled, "_regexp", None)
    if regexp is None or _UNANCHORED is None:
        def public(data: bytes, start: int = 0) -> tuple[int, int] | None:
            match = compiled.search(data, start)
            return None if match is None else cast(tuple[int, int], match.span())

        return public
    match_spans, unanchored = regexp.Match, _UNANCHORED

    def direct(data: bytes, start: int = 0) -> tuple[int, int] | None:
        span = match_spans(unanchored, data, start, len(data))[0]
        return None if span[0] < 0 else (span[0], span[1])

    return direct


_FINDERS: dict[tuple[str, bool], SpanFinder] = {}
_FINDERS_LIMIT = 4096


def span_finder(regex: str, default_flags: bool = True) -> SpanFinder:
    """The RE2 span finder of ``regex`` (compiled once, and kept for the built-in rules and the
    first few thousand other patterns); raises where RE2 cannot compile it."""
    key = (regex, default_flags)
    finder = _FINDERS.get(key)
    if finder is None:
        finder = _direct_finder(
            re2.compile(_re2_text(MatchSpec(regex, default_flags)), _re2_options())
        )
        if len(_FINDERS) < _FINDERS_LIMIT:
            _FINDERS[key] = finder
    return finder
