"""The detection engine: limit, normalise, match, confirm, score; returns a verdict as a value.

One :class:`DetectionEngine` holds an immutable :class:`_PatternSet` snapshot (the compiled
database plus any backtracking custom patterns). Adding or removing a pattern builds a new
snapshot and swaps it in one assignment, so a scan in flight never sees a half-built set.

Cost model of one value on clean traffic: one decoder pass (with fast paths for plain text), one
database scan per distinct view (usually one or two), and the semantic gate. Work beyond that
is only paid by values that look like attacks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

import re2
import regex

from guard.config import SecurityConfig
from guard.engine import normalize
from guard.engine.confirm import (
    CONFIRM_GATES,
    CONFIRMERS,
    VIEW_LEVEL,
    closes_unopened_filter,
    confirm_at,
    names_data,
    template_reaches_code,
)
from guard.engine.limits import limit_content
from guard.engine.matcher import (
    LinearMatcher,
    MatchSpec,
    build_matcher,
    encode,
    first_match,
    later_matches,
    linear_compile_error,
    matched_fragment,
    span_finder,
)
from guard.engine.memo import MAX_CHARS, Memos, rememberable
from guard.engine.monitor import PerformanceMonitor
from guard.engine.native import featurize
from guard.engine.rules import (
    CONTAINER_CLASSES,
    CONTAINER_RULES,
    RULES,
    VIEW_CLASSES,
    YIELDS_TO,
    context_score,
    names_detection,
)
from guard.engine.semantic import SemanticAnalyzer, SemanticVerdict, default_analyzer
from guard.errors import PatternError

log = logging.getLogger(__name__)

THREAT_SCORE = 0.5
"""A value whose combined evidence reaches this score is a threat."""

CUSTOM_SCORE = 0.9
"""Confidence given to a match of an operator-supplied pattern."""

FRAGMENT_LIMIT = 120
"""Longest matched fragment carried in a result."""

EXACT_FRAGMENTS = 3
"""How many of a value's strongest rule hits get their exact matched span as the fragment."""

SEMANTIC_MIN_LENGTH = 6
"""Shorter values are left to the rules: too little text for the model to judge reliably."""

MAX_MODEL_STRINGS = 256
"""Most distinct strings of one JSON body the model reads in
:meth:`DetectionEngine.strings_are_clean`; a body with more is screened value by value, within
the request's part limit."""

TIMEOUT_MARGIN = 0.04
"""Seconds kept back from ``detection_compiler_timeout`` for the backtracking custom patterns,
for the rest of the request's work around their search."""

SCORE_DIGITS = 4
"""Decimal places of a reported ``threat_score``."""

CONCLUSIVE_SCORE = 0.9
"""When the rules alone reach this score the model is not consulted: it could only agree, and
it is the most expensive step (about half of an attack value's screening time)."""

PROSE_DISCOUNT = 0.55
"""Factor on a built-in rule's score when the value reads as prose (see :func:`_reads_as_prose`),
the rule matched the value as sent and scores below :data:`CONCLUSIVE_SCORE`: one such hit alone
stays below :data:`THREAT_SCORE`; two of them on separate snippets, or one with the model, still
reach it."""

MODEL_DOUBT = 0.05
"""When the rules are not conclusive and the model, reading the value, puts P(attack) below
this, the model doubts the rules: each built-in hit then counts for :data:`DOUBT_DISCOUNT` of its
score. A command quoted in documentation (``sed -n '1p ; $p' file``) trips one shell rule, yet
reads, feature by feature, as the prose and paths around it; a real injection that trips a
rule rarely leaves the model that sure of the opposite."""

DOUBT_DISCOUNT = 0.55

DOUBTABLE_CLASSES = frozenset({"cmdi", "path_traversal", "sqli"})

DOUBT_CONTEXT = 24
"""Characters either side of a hit that the model rereads, before it may doubt the hit or
before a hit in prose is discounted."""

PROSE_PAYLOAD = 0.8
"""The model's probability, on the text around a rule hit in prose, from which the hit is a
payload the prose carries rather than a snippet it quotes (no prose discount)."""

PROSE_MODEL_SCORE = 0.9
"""In prose, the model alone (no rule hit) flags a value only from this probability up."""

PROSE_MIN_WORDS = 6
"""Fewest word tokens for a value to read as prose."""

PROSE_WORD_SHARE = 0.6
"""Least share of a value's whitespace-separated tokens that are words, for it to read as prose."""

PROSE_QUESTION_WORDS = 3
"""Fewest word tokens for a one-line question (``Why …?``) to read as prose."""

LATER_MATCHES = 16
"""Later matches of a rule a confirmer may turn down after its first, before the next stands
(see :meth:`DetectionEngine._later_confirmed`)."""

BATCH_CHARS = 2048
"""Largest joined text the batch prefilter scans at once (see :meth:`screen_many`)."""

# RE2, not re: a run search over a long value must stay linear and fast (re takes ~10x longer).
_ENCODED_RUN = re2.compile(r"(?:%[0-9a-fA-F]{2}|&#?\w{2,8};?|\\[uUxX][0-9a-fA-F]{2,4}){2,}")
_ENCODED_RUN_LIMIT = 32
# A word token: letters, lowercase after the first, maybe an apostrophe suffix and one bracket,
# quote or sentence mark either side. Used only on values that already have evidence.
# A function word of English sentences that query and shell syntax do not use.
_PROSE_FUNCTION_WORDS = frozenset(
    variant
    for word in (
        "the", "a", "an", "is", "are", "was", "to", "its", "it", "this", "that", "you", "we",
        "your", "our", "does", "do", "should", "can", "will", "would", "how", "what", "why",
        "but", "only", "my", "there", "they", "has", "have", "had", "been", "were", "which",
        "also", "even", "now", "just", "because", "these", "those", "than", "about", "after",
        "before", "again", "still", "since", "very",
    )
    for variant in (word, word.capitalize())
) | {"of", "be", "I"}
"""English function words, lower case or capitalised (``of``, ``be`` and ``I`` only as written):
one of them as a whole word marks a sentence. Looked up among the value's words (runs of
word characters, exactly the words ``\\b`` delimits), which is several times cheaper than an
alternation of them searched at every position."""
_WORD_RUN = re.compile(r"\w+")
_PROSE_WORD = re.compile(r"(?<!\S)[(\"'`]?[A-Za-z][a-z]*(?:'[a-z]+)?[)\"'`.,:;?!]?(?!\S)")
# The C reader packs each function word into eight bytes.
_PROSE_READER: Any = (
    featurize.ProseReader(_PROSE_FUNCTION_WORDS)
    if featurize is not None and all(len(w) <= 8 and w.isascii() for w in _PROSE_FUNCTION_WORDS)
    else None
)
# Typographic quotes as the normalised views spell them: a fragment that matched only after this
# folding was still typed as prose types it, not as a shell or query quotes it.
_PROSE_QUOTES = str.maketrans("\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f", "''''\"\"\"\"")
# A one-line question: a question word first, a question mark last.
_PROSE_QUESTION = re.compile(
    r"\s*(?:How|What|Why|When|Where|Which|Who|Is|Are|Does|Do|Did|Can|Could|Should|Would|Will)"
    r"\b[^\n]*\?\s*$"
)
# An upper-case token: a SQL keyword or an acronym (SELECT, WHERE, ORM, DBA), which a sentence
# quoting a query is full of; it counts as neither a word nor a non-word.
_PROSE_CAPITALS = re.compile(r"(?<!\S)[(\"'`]?[A-Z]{2,}[)\"'`.,:;?!]?(?!\S)")
# A value that opens by ending the syntax it was put into (a command separator, a closing quote
# or bracket, a filter's ``*)``), right away or after its first token (``x; id``, ``a.pdf&&``;
# not a bracket there, which also closes a list number: ``1) Install``; a line break after a
# bare token, as in ``x%0aid``, but not after a greeting such as ``Hi,``),
# is an injection's breakout whatever follows: prose does not start that way, so sentences padded
# onto an attack must not make it read as prose. A quote only counts before a blank, not inside
# a word (``It's``).
_BREAKOUT_OPENING = re.compile(
    r"\s*(?:[)\]]|[^\s;|&')\]]*(?:[;|&]|(?<![\s,.!?:])\r?\n|'(?=\s|$)|\*\)|\$\())"
)


@dataclass(frozen=True)
class PatternEntry:
    """One entry of the compiled set: a built-in rule or an operator-supplied pattern."""

    id: str
    attack_class: str
    regex: str
    score: float
    description: str
    custom: bool
    user_added: bool
    linear: bool
    confirm: str | None = None
    full_score_contexts: frozenset[str] | None = None
    names: bool = False
    """Whether a confident hit names the detection over the payload it carries
    (:func:`~guard.engine.rules.names_detection`)."""
    cue: str | None = None
    """What the database reads in place of ``regex`` (see :attr:`Rule.cue`): a hit of the cue
    stands only where RE2 finds ``regex``."""

    def score_in(self, context: str) -> float:
        """Confidence for a value screened in ``context`` (see :meth:`Rule.score_in`)."""
        return context_score(self.score, self.full_score_contexts, context)


Database = tuple[LinearMatcher, tuple[PatternEntry, ...]]
_RawScan = tuple[list[tuple[Database, dict[int, int]]], frozenset[str]]
"""What :meth:`_PatternSet.scan_raw` returns: each database's hits, and the triggers."""


class _WithTriggers:
    """The built-in rules' database that also says which normaliser triggers a text holds:
    ``scan`` reports the rules alone (a drop-in :class:`LinearMatcher`), ``scan_triggers`` the
    rules and the names of the triggers present. The raw text is always scanned with every
    rule, and which views it needs depends on its triggers, so one pass answers both
    questions: the C module's :data:`normalize.TRIGGER_READER` reads the triggers from the
    bytes the database scans, or, without it, :data:`normalize.TRIGGER_SPECS` are appended to
    the database."""

    __slots__ = ("_matcher", "_reader", "_rules", "engine")

    def __init__(self, matcher: LinearMatcher, rules: int, reader: Any = None) -> None:
        self._matcher = matcher
        self._rules = rules
        self._reader = reader
        self.engine = matcher.engine

    def scan(self, text: str) -> dict[int, int]:
        """Rule index to the end of its first match."""
        if self._reader is not None:
            return self._matcher.scan(text)
        return self.scan_triggers(text)[0]

    def scan_encoded(self, data: bytes) -> dict[int, int]:
        """:meth:`scan` of text already encoded."""
        hits = self._matcher.scan_encoded(data)
        if self._reader is not None:
            return hits
        return {i: end for i, end in hits.items() if i < self._rules}

    def scan_triggers(self, text: str) -> tuple[dict[int, int], frozenset[str]]:
        """``(rule hits, trigger names)`` from one pass over ``text``."""
        if self._reader is not None:
            data = encode(text)
            return self._matcher.scan_encoded(data), self._reader.read(data)
        hits = self._matcher.scan(text)
        if not hits:
            return hits, frozenset()
        rules = self._rules
        return ({i: end for i, end in hits.items() if i < rules},
                normalize.trigger_set(i - rules for i in hits if i >= rules))


VETOES_MODEL = frozenset({
    "dtd_reaches_out", "script_reaches_system", "template_expression_active",
    "frame_loads_foreign", "header_injected",
})
"""Confirmers that clear a construct by its grammar (a W3C page declaration, PHP that only
renders its page, template tags that only format data, a provider's embed code, a message
pasted whole whose headers set nothing that matters). When one
rejects every hit of a class, the model's verdict in that class is dropped too: the model saw
the same construct's shape and nothing the grammar did not."""


class _Checks:
    """The confirmations made while screening one value: ``matches`` maps ``(rule id,
    view)`` to the first match's exact fragment and whether it stands, ``values`` maps
    ``(confirmer, view)`` to the answer of a confirmer that judges the value alone, and
    ``rejected`` holds the classes a confirmer of :data:`VETOES_MODEL` turned a hit down in."""

    __slots__ = ("matches", "rejected", "values")

    def __init__(self) -> None:
        self.matches: dict[tuple[str, str], tuple[str, bool]] = {}
        self.values: dict[tuple[str, str], bool] = {}
        self.rejected: set[str] = set()


@dataclass(frozen=True)
class _PatternSet:
    """Built-in rules and operator patterns compile into separate databases, so adding a
    pattern recompiles only the small operator set, never the built-in one.

    ``by_view`` maps a lossy view's name to the databases that read it: the rules of the
    classes that view serves (:data:`VIEW_CLASSES`) plus every operator pattern. ``prefilter``
    and ``prefilter_by_view`` are the same with ``^``/``$`` matching at line breaks.
    """

    entries: tuple[PatternEntry, ...]
    databases: tuple[Database, ...]
    by_view: dict[str, tuple[Database, ...]]
    backtracking: tuple[tuple[PatternEntry, Any], ...]
    version: int
    prefilter: tuple[Database, ...] = ()
    prefilter_by_view: dict[str, tuple[Database, ...]] = field(default_factory=dict)
    memo: Memos = field(default_factory=Memos, compare=False)
    """Values this set (under the engine's current settings) found clean."""

    @property
    def engine(self) -> str:
        return self.databases[0][0].engine

    def scan_raw(
        self, text: str, prefilter: bool = False
    ) -> tuple[list[tuple[Database, dict[int, int]]], frozenset[str]]:
        """Every database's hits on the raw ``text`` and the triggers it holds, the built-in
        rules and the triggers from a single pass."""
        databases = self.prefilter if prefilter else self.databases
        first = databases[0]
        hits, present = first[0].scan_triggers(text)  # type: ignore[attr-defined]
        if len(databases) == 1:
            return [(first, hits)], present
        return [(first, hits), *((db, db[0].scan(text)) for db in databases[1:])], present

    def for_view(self, name: str, prefilter: bool = False) -> tuple[Database, ...]:
        """The databases that read the view called ``name`` (raw and canonical: all)."""
        if prefilter:
            return self.prefilter_by_view.get(name, self.prefilter)
        return self.by_view.get(name, self.databases)


def _builtin_entries() -> tuple[PatternEntry, ...]:
    return tuple(
        PatternEntry(
            id=r.id,
            attack_class=r.attack_class,
            regex=r.regex,
            score=r.score,
            description=r.description,
            custom=False,
            user_added=False,
            linear=True,
            confirm=r.confirm,
            full_score_contexts=r.full_score_contexts,
            names=names_detection(r.attack_class, r.id),
            cue=r.cue,
        )
        for r in RULES
    )


def _compile_set(entries: tuple[PatternEntry, ...], version: int, engine: str) -> _PatternSet:
    builtin = tuple(e for e in entries if e.linear and not e.user_added)
    user = tuple(e for e in entries if e.linear and e.user_added)

    def compile_group(group: tuple[PatternEntry, ...], multiline: bool) -> Database:
        specs = [MatchSpec(e.cue or e.regex, not e.user_added, multiline=multiline)
                 for e in group]
        return build_matcher(specs, engine), group

    def with_triggers(group: tuple[PatternEntry, ...], multiline: bool) -> Database:
        specs = [MatchSpec(e.cue or e.regex, True, multiline=multiline) for e in group]
        reader = normalize.TRIGGER_READER
        matcher = build_matcher(specs if reader else [*specs, *normalize.TRIGGER_SPECS], engine)
        return _WithTriggers(matcher, len(specs), reader), group

    def databases(multiline: bool) -> tuple[tuple[Database, ...], dict[str, tuple[Database, ...]]]:
        user_db = (compile_group(user, multiline),) if user else ()
        full = (with_triggers(builtin, multiline), *user_db)
        by_view = {
            name: (compile_group(tuple(e for e in builtin if e.attack_class in classes),
                                 multiline), *user_db)
            for name, classes in VIEW_CLASSES.items()
        }
        return full, by_view

    full, by_view = databases(False)
    prefilter, prefilter_by_view = databases(True)
    backtracking = tuple((e, regex.compile(e.regex)) for e in entries if not e.linear)
    return _PatternSet(entries, full, by_view, backtracking, version, prefilter,
                       prefilter_by_view)


class DetectionEngine:
    """Screens values for attacks with linear-time patterns plus a semantic model."""

    def __init__(
        self,
        config: SecurityConfig | None = None,
        analyzer: SemanticAnalyzer | None = None,
        engine: str = "auto",
    ) -> None:
        self._config = config or SecurityConfig()
        self._engine_choice = engine
        self._analyzer = analyzer
        self._lock = threading.Lock()
        self.monitor = PerformanceMonitor()
        self._patterns = _compile_set(_builtin_entries(), 0, engine)
        self.configure(self._config)

    # ------------------------------------------------------------------ configuration
    @property
    def config(self) -> SecurityConfig:
        """The settings in force."""
        return self._config

    def configure(self, config: SecurityConfig) -> None:
        """Apply the ``detection_*`` settings of ``config``."""
        self._config = config
        self._fresh_memo()
        self.monitor.configure(
            slow_threshold=config.detection_slow_pattern_threshold,
            anomaly_threshold=config.detection_anomaly_threshold,
            history_size=config.detection_monitor_history_size,
            max_tracked=config.detection_max_tracked_patterns,
        )

    def configure_semantic_threshold(self, threshold: float) -> None:
        """Set the probability at which the semantic model alone flags a value."""
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError("semantic threshold must be within [0.0, 1.0]")
        self._config = self._config.replace(detection_semantic_threshold=float(threshold))
        self._fresh_memo()

    def _fresh_memo(self) -> None:
        # Verdicts remembered under the old settings may not hold under the new ones; a
        # request in flight keeps writing to the set it started with, never to this one.
        with self._lock:
            self._patterns = dataclasses.replace(self._patterns, memo=Memos())

    @property
    def remembers_clean(self) -> bool:
        """False while a backtracking custom pattern is installed: its verdict can depend on a
        timeout, so nothing is remembered then (not even by the extension)."""
        return not self._patterns.backtracking

    @property
    def memo(self) -> Memos:
        """What the current pattern set, under the current settings, has found clean. Read it
        once per request and write back to that same object: after a change of patterns or
        settings it is no longer the engine's, so a verdict reached under the old ones is
        never remembered under the new ones."""
        return self._patterns.memo

    def _memo_limit(self) -> int:
        return min(MAX_CHARS, self._config.detection_max_content_length)

    @property
    def analyzer(self) -> SemanticAnalyzer:
        """The semantic analyzer (the shipped model unless one was injected)."""
        if self._analyzer is None:
            self._analyzer = default_analyzer()
        return self._analyzer

    @property
    def engine_name(self) -> str:
        """Which linear-time engine compiled the database: ``hyperscan`` or ``re2``."""
        return self._patterns.engine

    @property
    def pattern_version(self) -> int:
        """Increases by one with every pattern added or removed."""
        return self._patterns.version

    # ------------------------------------------------------------------ patterns
    def add_pattern(self, pattern: str, custom: bool = False) -> PatternEntry:
        """Add ``pattern``; it joins the linear database when it compiles there.

        Raises :class:`PatternError` (a ``ValueError``) naming the problem when no engine can
        compile it; the pattern set is then unchanged.
        """
        if not isinstance(pattern, str) or not pattern:
            raise PatternError("pattern must be a non-empty string")
        linear_error = linear_compile_error(pattern)
        if linear_error is not None:
            try:
                regex.compile(pattern)
            except regex.error as exc:
                raise PatternError(f"invalid pattern {pattern!r}: {exc}") from exc
        digest = hashlib.sha1(pattern.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        entry = PatternEntry(
            id=f"{'custom' if custom else 'user'}-{digest}",
            attack_class="custom",
            regex=pattern,
            score=CUSTOM_SCORE,
            description="operator-supplied pattern",
            custom=custom,
            user_added=True,
            linear=linear_error is None,
        )
        with self._lock:
            current = self._patterns
            if any(e.regex == pattern and e.custom == custom for e in current.entries):
                return next(e for e in current.entries if e.regex == pattern)
            self._patterns = _compile_set(
                (*current.entries, entry), current.version + 1, self._engine_choice
            )
        return entry

    def remove_pattern(self, pattern: str, custom: bool = False) -> bool:
        """Remove ``pattern`` from the custom (or default) set; False when it was absent."""
        with self._lock:
            current = self._patterns
            kept = tuple(
                e for e in current.entries if not (e.regex == pattern and e.custom == custom)
            )
            if len(kept) == len(current.entries):
                return False
            self._patterns = _compile_set(kept, current.version + 1, self._engine_choice)
        return True

    def get_all_patterns(self) -> list[str]:
        """Every pattern's regex text: defaults first, then custom."""
        return self.get_default_patterns() + self.get_custom_patterns()

    def get_default_patterns(self) -> list[str]:
        """Regex text of the built-in rules plus patterns added with ``custom=False``."""
        return [e.regex for e in self._patterns.entries if not e.custom]

    def get_custom_patterns(self) -> list[str]:
        """Regex text of the patterns added with ``custom=True``."""
        return [e.regex for e in self._patterns.entries if e.custom]

    def pattern_entries(self) -> tuple[PatternEntry, ...]:
        """Every entry with its id, class, score and engine."""
        return self._patterns.entries

    # ------------------------------------------------------------------ detection
    def detect(
        self,
        content: Any,
        ip_address: str | None = None,
        context: str = "unknown",
        correlation_id: str | None = None,
        semantic: bool = True,
        exhaustive: bool = False,
    ) -> dict[str, Any]:
        """Screen one value and return the full verdict.

        ``semantic=False`` skips the model (the linear screen alone), as the request path does
        when the semantic pass is left to the pipeline. Screening stops gathering evidence once
        the verdict is certain (see :meth:`_settled_as_sent`), so ``threats`` and
        ``threat_score`` reflect the evidence read until then; ``exhaustive=True`` reads every
        view and confirms every hit, as ``guard explain`` does.
        """
        started = time.perf_counter()
        text, original_length, truncated, prescanned = self._limited(content)
        bar = math.inf if exhaustive else CONCLUSIVE_SCORE
        result = self._analyze(text, context, semantic, prescanned, bar)
        if result is None:
            result = {"is_threat": False, "threat_score": 0.0, "threats": [],
                      "attack_class": None, "signals": []}
        result.update(
            context=context,
            original_length=original_length,
            processed_length=len(text),
            truncated=truncated,
            execution_time=time.perf_counter() - started,
            correlation_id=correlation_id,
            ip_address=ip_address,
            engine=self._patterns.engine,
        )
        result.setdefault("timeouts", [])
        return result

    def screen(
        self,
        content: Any,
        context: str = "unknown",
        semantic: bool = True,
        floor: float | None = None,
    ) -> dict[str, Any] | None:
        """The request path's form of :meth:`detect`: ``None`` for a value with no evidence at
        all (no result is built), else the same verdict ``detect`` returns, minus the request
        metadata. A value that was cut to the inspection limit is never ``None``. ``floor`` is
        the score from which the caller acts on a threat (a route's ``min_score``): evidence
        is read until the verdict is certain against it (see :meth:`_settled_as_sent`)."""
        text, original_length, truncated, prescanned = self._limited(content)
        result = self._analyze(text, context, semantic, prescanned, _settling_bar(floor))
        if result is None and not truncated:
            return None
        result = result or {"is_threat": False, "threat_score": 0.0, "threats": [],
                            "attack_class": None, "signals": [], "timeouts": []}
        result.update(original_length=original_length, processed_length=len(text),
                      truncated=truncated)
        return result

    def screen_many(
        self,
        values: Sequence[str],
        contexts: Sequence[str],
        semantic: bool = True,
        semantic_contexts: frozenset[str] | None = None,
        floor: float | None = None,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Screen many small values (the parts of one request) and yield ``(index, result)``
        for each value :meth:`screen` would not return ``None`` for, in order. ``floor`` is
        passed on to :meth:`screen`.

        Values up to :data:`BATCH_CHARS` are joined by newlines and scanned as one text by the
        prefilter database (the same patterns with ``^``/``$`` matching at line breaks, so each
        value's anchors still hold): a match in a joined text can only be a superset of the
        matches in its values, so a clean batch is clean value by value, and only a batch with
        a hit is screened value by value. This turns hundreds of JSON leaves into a few scans.

        A short value this pattern set has already found clean in the same context is not
        screened again (see :mod:`guard.engine.memo`).
        """
        patterns = self._patterns
        flags = [semantic and (semantic_contexts is None or c in semantic_contexts)
                 for c in contexts]
        if patterns.backtracking:
            for index, value in enumerate(values):
                result = self.screen(value, contexts[index], flags[index], floor)
                if result is not None:
                    yield index, result
            return
        memo = patterns.memo.values
        limit = self._memo_limit()
        batch: list[int] = []
        size = 0
        for index, value in enumerate(values):
            if len(value) <= limit and (value, contexts[index], flags[index]) in memo:
                continue
            if len(value) > BATCH_CHARS:
                result = self.screen(value, contexts[index], flags[index], floor)
                if result is not None:
                    yield index, result
                continue
            batch.append(index)
            size += len(value) + 1
            if size >= BATCH_CHARS:
                yield from self._screen_batch(batch, values, contexts, flags, patterns, limit,
                                              floor)
                batch, size = [], 0
        if batch:
            yield from self._screen_batch(batch, values, contexts, flags, patterns, limit, floor)

    def strings_are_clean(self, strings: Sequence[str], semantic: bool = True) -> bool:
        """True when no string of a JSON body can match any pattern, and (with ``semantic``)
        the model flags none of them; used to clear a whole body at once. ``strings`` are the
        body's keys and string values (:func:`guard.request_parts.json_strings`). The rest
        (punctuation, numbers, ``true``/``false``/``null``) is never screened value by value
        either, so it is not read here. The strings are scanned joined by line breaks with
        ``^`` and ``$`` matching at every line, so a string that holds line breaks of its own
        (decoded from ``\\n``) is read as a superset of what it matches alone.

        A string the pattern set has already found clean, in this body or an earlier one, is
        not scanned again, nor one the model has already cleared (:mod:`guard.engine.memo`).
        """
        patterns = self._patterns
        if patterns.backtracking:
            return False
        memo = patterns.memo
        limit = self._memo_limit()
        # Every pattern here is read line by line, so each distinct string is scanned once:
        # a body repeats its keys and often its values. With the model on, a string is
        # remembered once both the patterns and the model have cleared it, so one memory
        # answers for both; with it off, the patterns' memory alone.
        use_model = semantic and self.analyzer.loaded
        remembered = memo.strings if use_model else memo.lines
        lines = remembered.unseen(dict.fromkeys(strings))
        if not lines:
            return True
        text = "\n".join(lines)
        # Joined strings need ^ and $ at every line; a single string is read as detect() reads
        # it, by the databases already warm from screening single values.
        joined = len(lines) > 1
        hit, present = _raw_match(patterns, text, joined)
        if hit:
            return False
        canonical, named = normalize.named_views(text, present)
        canonical_lines = lines if canonical is text else canonical.split("\n")
        if len(canonical_lines) != len(lines):
            # A decoded break (%0A) is a separator the later views' rules may need before the
            # line it starts: those views are read whole, not line by line.
            reduced = named
        else:
            # A view's line that equals the line it was derived from has been scanned already,
            # by every database (which includes the view's own), so only changed lines need a
            # scan.
            reduced = [
                (name, _changed_lines(lines if name == "canonical" else canonical_lines, view))
                for name, view in named
            ]
        if _views_match(patterns, reduced, prefilter=joined):
            return False
        cleared = [line for line in lines if rememberable(line, limit)]
        if use_model and not self._model_clears(lines, text, canonical):
            return False
        for line in cleared:
            remembered.add(line)
        return True

    def _model_clears(self, strings: list[str], joined: str, canonical: str) -> bool:
        """Whether the model flags none of ``strings`` (joined by newlines in ``joined``, whose
        canonical view is ``canonical``), each read alone, as it would the same value in a
        query: only a string it flags sends the body to value-by-value screening."""
        if canonical is joined and joined.count("\n") == len(strings) - 1:
            # No decoder touched any string, and each string is one line: the gate can pick
            # the lines in one pass.
            strings = [strings[i] for i in self.analyzer.lines_worth_analyzing(joined)]
        if len(strings) > MAX_MODEL_STRINGS:
            # Value-by-value screening is bounded by the part limit; this loop would not be.
            return False
        config = self._config
        for string in strings:
            model = self._semantic(string if canonical is joined else normalize.normalize(string),
                                   config)
            if model is not None and model["above_threshold"]:
                return False
        return True

    def _screen_batch(
        self,
        batch: list[int],
        values: Sequence[str],
        contexts: Sequence[str],
        semantic: Sequence[bool],
        patterns: _PatternSet,
        memo_limit: int,
        floor: float | None = None,
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        if len(batch) == 1:
            # One value is screened as detect() reads it, with the databases that read single
            # values: the same verdict, without a prefilter pass (and its database) first.
            index = batch[0]
            result = self.screen(values[index], contexts[index], semantic[index], floor)
            if result is not None:
                yield index, result
            elif rememberable(values[index], memo_limit):
                patterns.memo.values.add((values[index], contexts[index], semantic[index]))
            return
        joined = "\n".join([values[i] for i in batch])
        started = time.perf_counter()
        suspect, present = _raw_match(patterns, joined)
        # No decoder changed the joined text, so none would change any of its values.
        plain = False
        if not suspect:
            canonical, named = normalize.named_views(joined, present)
            plain = canonical is joined
            suspect = _views_match(patterns, named, prefilter=True)
        self.monitor.record_scan(time.perf_counter() - started, [])
        # The same value in the same context gets the same verdict: a JSON array of repeated
        # strings, or the same header twice, is screened once.
        seen: dict[tuple[str, str, bool], dict[str, Any] | None] = {}
        for index in batch:
            key = (values[index], contexts[index], semantic[index])
            if key in seen:
                result = seen[key]
            elif suspect:
                result = seen[key] = self.screen(*key, floor)
            elif semantic[index]:
                result = seen[key] = self._semantic_only(values[index], contexts[index], plain,
                                                         floor)
            else:
                result = None
            if result is not None:
                yield index, result
            elif rememberable(key[0], memo_limit):
                patterns.memo.values.add(key)

    def _semantic_only(
        self, value: str, context: str, plain: bool = False, floor: float | None = None
    ) -> dict[str, Any] | None:
        canonical = value if plain else normalize.normalize(value)
        model = self._semantic(canonical, self._config)
        if model is None or not model["above_threshold"]:
            return None
        return self.screen(value, context, True, floor)

    def _limited(self, content: Any) -> tuple[str, int, bool, _RawScan | None]:
        """``(kept text, original length, truncated, raw scan of the kept text if known)``.

        A long value with no indicator anywhere (no rule hit, no encoded run) is cut to its
        head, and the pass that found no indicator already read that head: its (empty) rule
        hits and its triggers stand for the head's, so the head is not scanned again. Only a
        match ending exactly at the cut could differ, an artefact of cutting (a ``$``-anchored
        file name rule matching where the text was cut), which the whole value does not hold.
        """
        text = _as_text(content)
        config = self._config
        if len(text) <= config.detection_max_content_length:
            return text, len(text), False, None
        patterns = self._patterns
        scans: list[_RawScan] = []
        kept, truncated = limit_content(
            text,
            config.detection_max_content_length,
            config.detection_preserve_attack_patterns,
            lambda full: self._indicators(full, patterns, scans),
        )
        return kept, len(text), truncated, scans[0] if scans else None

    def _analyze(
        self,
        text: str,
        context: str,
        semantic: bool,
        prescanned: _RawScan | None = None,
        bar: float = CONCLUSIVE_SCORE,
    ) -> dict[str, Any] | None:
        config = self._config
        patterns = self._patterns
        started = time.perf_counter()
        raw_hits, present = prescanned or patterns.scan_raw(text)
        plain_verdict: SemanticVerdict | None = None
        if not present and not any(hits for _, hits in raw_hits) and not patterns.backtracking:
            # Plain text (no trigger: no decoder or view would change it) that no rule matched:
            # most clean traffic. Only the model may still speak; where it does (rarely), the
            # general path below builds the verdict around the model's answer given here.
            plain_verdict = self._model_verdict(text) if semantic else None
            if plain_verdict is None or plain_verdict.attack_type == "benign":
                self.monitor.record_scan(time.perf_counter() - started, [])
                return None
        checked = _Checks()
        # A conclusive hit on the value as sent settles the verdict: the lossy views (comments
        # stripped, quotes removed, separators folded) could only add evidence, so they are
        # neither built nor scanned. The canonical view still is: a decoded value can show the
        # delivery (an encoded line break before markup) that names the attack's class.
        lossy = not (present and not patterns.backtracking
                     and self._settled_as_sent(text, raw_hits, context, checked, bar))
        canonical_hits: list[list[tuple[Database, dict[int, int]]]] = []

        def scan_canonical(view: str) -> frozenset[str]:
            # The canonical view is read by every database, the one that reports triggers
            # first: one pass gives named_views its triggers and _scan its hits.
            view_hits, view_present = patterns.scan_raw(view)
            canonical_hits.append(view_hits)
            return view_present

        canonical, named = normalize.named_views(text, present, scan_canonical, lossy)
        views = [text, *(view for _, view in named)]

        hits = self._scan(patterns, text, raw_hits, named, started,
                          canonical_hits[0] if canonical_hits else None, checked, context, bar)
        timeouts: list[str] = []
        if patterns.backtracking:
            timeouts, custom_hits = self._run_backtracking(patterns, views, config)
            hits.update(custom_hits)
        verdict = plain_verdict
        if verdict is None and semantic and _rules_score(hits, context) < CONCLUSIVE_SCORE:
            verdict = self._model_verdict(canonical)
        model = _model_threat(verdict, canonical, config)
        if (model is not None and model["class"] in checked.rejected
                and all(entry.attack_class != model["class"] for entry, _ in hits.values())):
            # The grammar cleared what the model read as this class (VETOES_MODEL).
            model = None
        if model is not None and not hits and model["class"] == "ssti" and names_data(text):
            # One template tag printing a data object's field ({{ user.first_name }}).
            model = None
        if not hits and model is None:
            return None

        doubted = (verdict is not None and verdict.probability < MODEL_DOUBT
                   and self._doubts_every_hit(hits, canonical))
        # Whether the value reads as prose changes a verdict only through a hit the prose
        # discount may apply to (built in, below CONCLUSIVE_SCORE once doubted) or through the
        # model alone; a value with only conclusive hits skips the three passes it costs.
        weighed = [(entry, fragment, *_weighed(entry, context, doubted))
                   for entry, fragment in hits.values()]
        prose = _prose_may_matter(weighed, bar) and _reads_as_prose(text)
        quoting = text if prose else None
        score, threats = _score(weighed, model, timeouts, quoting)
        is_threat = score >= THREAT_SCORE or any(t["type"] == "semantic" for t in threats)
        quoted = [t["pattern_id"] for t in threats if "prose" in t.get("discounts", ())]
        if not is_threat and quoted:
            # Only a verdict the prose discount turned needs the closer reading.
            payloads = self._payloads_in_prose(hits, quoted, text)
            if payloads:
                score, threats = _score(weighed, model, timeouts, quoting, payloads)
                is_threat = score >= THREAT_SCORE
        if is_threat:
            signals: list[dict[str, Any]] = []
            threats.sort(key=itemgetter("score"), reverse=True)
        else:
            signals, threats = _signals(threats), []
        top = _naming_threat(threats)
        return {
            "is_threat": is_threat,
            "threat_score": round(score if is_threat else min(score, THREAT_SCORE - 0.01),
                                   SCORE_DIGITS),
            "threats": threats,
            "attack_class": top["class"] if top else None,
            "signals": signals,
            "timeouts": timeouts,
        }

    def _scan(
        self,
        patterns: _PatternSet,
        text: str,
        raw_hits: list[tuple[Database, dict[int, int]]],
        views: list[tuple[str, str]],
        started: float,
        canonical_hits: list[tuple[Database, dict[int, int]]] | None,
        checked: _Checks,
        context: str,
        bar: float,
    ) -> dict[str, tuple[PatternEntry, str]]:
        """Each rule's first hit across ``text`` and its ``views``, confirmed. ``checked``
        holds confirmations already made in this screening (see :meth:`_checked`).

        Once the hits kept so far are certain to reach ``bar`` (see :meth:`_settled_as_sent`),
        a later hit that needs a confirmer is neither confirmed nor kept unless its class
        could name the detection (a container class, :func:`_naming_threat`): it could only
        add to a score already past the bar."""
        hits: dict[str, tuple[PatternEntry, str]] = {}
        # Each rule's first hit, in the order the views were read: the raw text first.
        first: dict[str, tuple[PatternEntry, int, str]] = {}
        scans = [(text, raw_hits)]
        for name, view in views:
            if name == "canonical" and canonical_hits is not None:
                scans.append((view, canonical_hits))
            else:
                scans.append((view, [(db, db[0].scan(view)) for db in patterns.for_view(name)]))
        encoded: dict[str, bytes] = {}
        # A command rule's matches in the views after its first: where the confirmer turns
        # down every match of the first view, a decoded view may still hold the payload a
        # decoy before it hid (&copy; x;w'g'et${IFS}…: the shell view reads wget). Other
        # classes' decoded views (lower-cased, unquoted) would misread honest templates.
        elsewhere: dict[str, list[tuple[int, str]]] = {}
        evasive: bool | None = None
        for view, scanned in scans:
            for (_, entries), matched in scanned:
                for index, end in matched.items():
                    entry = entries[index]
                    if entry.id in first:
                        if (entry.attack_class == "cmdi" and entry.confirm is not None
                                and first[entry.id][2] is not view):
                            if evasive is None:
                                evasive = _SHELL_SPELLING.search(text) is not None
                            if evasive:
                                elsewhere.setdefault(entry.id, []).append((end, view))
                        continue
                    found = _match_end(entry, view, end, encoded)
                    if found is not None:
                        first[entry.id] = (entry, found, view)
        scan_time = time.perf_counter() - started
        if not first:
            self.monitor.record_scan(scan_time, [])
            return hits
        # Exact spans cost an RE2 search each: the strongest few (and every rule a confirmer
        # reads) get one; the rest show the text that ends where their match ended.
        ranked = sorted(first.values(), key=_by_score)
        conclusive = False
        unsettled = 1.0
        for rank, (entry, end, view) in enumerate(ranked):
            ok = True
            confirm = entry.confirm
            gate = CONFIRM_GATES.get(confirm or "")
            if gate is not None and not gate(view):
                confirm = None
            if (confirm is not None and unsettled < 1.0 and _reached(unsettled, bar)
                    and not entry.names):
                continue
            if confirm is not None or rank < EXACT_FRAGMENTS:
                data = _encoded(view, encoded)
                if confirm is not None:
                    fragment, ok = self._checked(entry, view, end, data, checked)
                else:
                    fragment = matched_fragment(entry.regex, view, end, not entry.user_added,
                                                data)
            else:
                fragment = _window_before(view, end)
            if confirm is not None and not ok:
                # A later match only matters while the verdict is open: not for a confirmer
                # that judges the value alone, nor after a conclusive hit (ranked first).
                later = (None if confirm in VIEW_LEVEL or conclusive
                         else self._later_confirmed(entry, fragment, view, encoded[view]))
                if later is None and not conclusive:
                    later = self._confirmed_elsewhere(entry, elsewhere.get(entry.id, ()),
                                                      encoded, checked)
                if later is None:
                    if confirm in VETOES_MODEL:
                        checked.rejected.add(entry.attack_class)
                    continue
                fragment = later
            hits[entry.id] = (entry, fragment)
            conclusive = conclusive or entry.score >= CONCLUSIVE_SCORE
            unsettled *= 1.0 - _conclusive_weight(entry, context)
        self.monitor.record_scan(scan_time, list(hits))
        return hits

    def _checked(
        self,
        entry: PatternEntry,
        view: str,
        end: int,
        data: bytes,
        checked: _Checks,
    ) -> tuple[str, bool]:
        """``(exact fragment, whether the confirmer lets it stand)`` for ``entry``'s first
        match in ``view`` (``data``: its UTF-8 form); ``("", False)`` for a rule read through
        its cue (:attr:`PatternEntry.cue`) that does not match itself. Within one screening
        each rule's first match in a view is confirmed once, and a confirmer that judges the
        value alone (:data:`VIEW_LEVEL`) answers once per view for all its rules."""
        key = (entry.id, view)
        known = checked.matches.get(key)
        if known is not None:
            return known
        fragment, start = first_match(entry.regex, view, end, not entry.user_added, data)
        confirm = entry.confirm or ""
        if entry.cue is not None and start < 0:
            # The cue matched and the rule did not: no fragment, and nothing stands.
            checked.matches[key] = ("", False)
            return "", False
        if not confirm:
            ok = True
        elif confirm in VIEW_LEVEL:
            answer = checked.values.get((confirm, view))
            if answer is None:
                answer = checked.values[(confirm, view)] = self._confirmed(entry, fragment, view)
            ok = answer
        else:
            ok = self._confirmed(entry, fragment, view, _char_at(view, data, start))
        checked.matches[key] = (fragment, ok)
        return fragment, ok

    def _settled_as_sent(
        self,
        text: str,
        raw_hits: list[tuple[Database, dict[int, int]]],
        context: str,
        checked: _Checks,
        bar: float = CONCLUSIVE_SCORE,
    ) -> bool:
        """Whether the hits on the value as sent settle the verdict against ``bar`` (at least
        :data:`CONCLUSIVE_SCORE`: a route's ``min_score`` may raise it). Only hits of rules
        scoring :data:`CONCLUSIVE_SCORE` or more in ``context`` count, each with its
        confirmer's consent where it has one: such a hit takes no prose or doubt discount,
        and a further hit can only add to the score, so once these reach ``bar`` the verdict
        stands whatever the decoded views hold. The confirmations made here are kept in
        ``checked`` for :meth:`_scan`."""
        data: bytes | None = None
        unsettled = 1.0
        for (_, entries), matched in raw_hits:
            for index, end in matched.items():
                entry = entries[index]
                weight = _conclusive_weight(entry, context)
                if not weight:
                    continue
                gate = CONFIRM_GATES.get(entry.confirm or "")
                if entry.cue is not None or (entry.confirm is not None
                                             and (gate is None or gate(text))):
                    if data is None:
                        data = encode(text)
                    if not self._checked(entry, text, end, data, checked)[1]:
                        continue
                unsettled *= 1.0 - weight
                if _reached(unsettled, bar):
                    return True
        return False

    def _confirmed_elsewhere(
        self,
        entry: PatternEntry,
        matches: Iterable[tuple[int, str]],
        encoded: dict[str, bytes],
        checked: _Checks,
    ) -> str | None:
        """The first match of ``entry`` in another view (``matches``: its ends and views, in
        the order they were read) that its confirmer lets stand, a later one in that view
        included (:meth:`_later_confirmed`); None when every one is turned down."""
        for reported, view in matches:
            end = _match_end(entry, view, reported, encoded)
            if end is None:
                continue
            data = _encoded(view, encoded)
            fragment, ok = self._checked(entry, view, end, data, checked)
            if ok:
                return fragment
            if fragment and (entry.confirm or "") not in VIEW_LEVEL:
                later = self._later_confirmed(entry, fragment, view, data)
                if later is not None:
                    return later
        return None

    def _later_confirmed(
        self, entry: PatternEntry, fragment: str, view: str, data: bytes
    ) -> str | None:
        """The first later match of ``entry`` in ``view`` (``data``: its UTF-8 form) its
        confirmer lets stand, if any (see :func:`~guard.engine.matcher.later_matches`). Past
        :data:`LATER_MATCHES` turned down, the next match stands unread: honest text rarely
        needs that many let-offs of one rule, and padding made of them must not hide a payload
        after it."""
        first = data.find(encode(fragment))
        for read, (other, start) in enumerate(
            later_matches(entry.regex, data, max(first, 0), not entry.user_added,
                          LATER_MATCHES + 1)
        ):
            if read == LATER_MATCHES or self._confirmed(
                entry, other, view, _char_at(view, data, start)
            ):
                return other
        return None

    def _confirmed(self, entry: PatternEntry, fragment: str, view: str, at: int = -1) -> bool:
        """Whether ``entry``'s confirmer lets ``fragment`` stand; ``at`` is where in ``view`` the
        match starts (-1 if unknown), which the confirmer reads through :func:`confirm_at`."""
        started = time.perf_counter()
        ok = confirm_at(at, CONFIRMERS[entry.confirm or ""], fragment, view)
        self.monitor.record_check(entry.id, time.perf_counter() - started, ok)
        return ok

    def _run_backtracking(
        self, patterns: _PatternSet, views: list[str], config: SecurityConfig
    ) -> tuple[list[str], dict[str, tuple[PatternEntry, str]]]:
        timeouts: list[str] = []
        hits: dict[str, tuple[PatternEntry, str]] = {}
        # The regex module notices its deadline only between steps, and the request has other
        # work around this search: keep a margin so the whole check ends in time. The patterns
        # share one deadline, so that two slow patterns cannot take twice the timeout; one
        # left without time counts as timed out, a hit like any timeout.
        budget = max(config.detection_compiler_timeout - TIMEOUT_MARGIN, 0.001)
        deadline = time.perf_counter() + budget
        for entry, compiled in patterns.backtracking:
            started = time.perf_counter()
            matched, timed_out, fragment = False, False, ""
            for view in views:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    timed_out = True
                    break
                try:
                    match = compiled.search(view, timeout=remaining)
                except TimeoutError:
                    timed_out = True
                    break
                if match is not None:
                    matched, fragment = True, match.group(0)
                    break
            self.monitor.record(
                entry.id, time.perf_counter() - started, matched=matched, timed_out=timed_out
            )
            if timed_out:
                timeouts.append(entry.regex)
                log.warning("custom pattern %s timed out; counted as a hit", entry.id)
            if matched or timed_out:
                hits[entry.id] = (entry, fragment)
        return timeouts, hits

    def _semantic(self, canonical: str, config: SecurityConfig) -> dict[str, Any] | None:
        return _model_threat(self._model_verdict(canonical), canonical, config)

    def _doubts_every_hit(
        self, hits: dict[str, tuple[PatternEntry, str]], canonical: str
    ) -> bool:
        """Whether the model also reads the neighbourhood of each doubtable hit as benign.

        Over a whole value, ordinary words padded around a payload dilute its features; read
        close to the match, a real payload is not diluted, and a quoted command still reads as
        the documentation around it."""
        analyzer = self.analyzer
        if _HOST_THEN_COMMAND.match(canonical) and any(
                entry.attack_class == "cmdi" for entry, _ in hits.values()):
            # A host and a separator before a command is the shape of an injection into a
            # ping or lookup form (127.0.0.1 | sort -o/var/www/…); words around it change
            # nothing.
            return False
        for entry, fragment in hits.values():
            if entry.attack_class not in DOUBTABLE_CLASSES or entry.user_added:
                continue
            window = _around(canonical, fragment)
            if window is None or analyzer.analyze(window).probability >= MODEL_DOUBT:
                return False
        return True

    def _payloads_in_prose(
        self, hits: dict[str, tuple[PatternEntry, str]], quoted: list[str], text: str
    ) -> frozenset[str]:
        """Of the ``quoted`` hits (those :func:`_score` gave the prose discount), the ones the
        model, reading only their neighbourhood, takes for an attack, the template tags that
        reach code (:func:`~guard.engine.confirm.template_reaches_code`) and the LDAP filters a
        bracket closed before it was opened (:func:`~guard.engine.confirm.closes_unopened_filter`).

        A sentence added to a payload makes the value read as prose, but it does not make the
        payload any less of one: read close up, ``<img src=x onerror=…>`` is still markup that
        runs code, while a snippet a sentence quotes (``WHERE 1=1``) reads as the sentence. Such
        hits keep their full score in prose. Hits whose neighbourhoods overlap (several rules on
        one snippet) are read together, once."""
        analyzer = self.analyzer
        typed = _typed(text)
        spans: list[tuple[int, int, str]] = []
        found: set[str] = set()
        for entry_id in quoted:
            entry, fragment = hits[entry_id]
            if (entry.attack_class == "ssti" and template_reaches_code(fragment)) or (
                entry.attack_class == "ldap" and closes_unopened_filter(fragment, text)
            ):
                found.add(entry_id)
                continue
            at = typed.find(fragment)
            # Clamped to the text: the sentinel below must start after every span ends, or the
            # last group (a payload near the end of the text) would never be read.
            spans.append((max(0, at - DOUBT_CONTEXT),
                          min(len(text), at + len(fragment) + DOUBT_CONTEXT), entry_id))
        if not analyzer.loaded:
            return frozenset(found)
        group: list[str] = []
        start = end = 0
        for span_start, span_end, entry_id in [*sorted(spans), (len(text) + 1, 0, "")]:
            if group and span_start > end:
                window = normalize.normalize(text[start:end])
                if analyzer.analyze(window).probability >= PROSE_PAYLOAD:
                    found.update(group)
                group = []
            if not group:
                start, end = span_start, span_end
            group.append(entry_id)
            end = max(end, span_end)
        return frozenset(found)

    def _model_verdict(self, canonical: str) -> SemanticVerdict | None:
        """The model's verdict, or None where it has nothing to read (too short, or no
        character of any attack)."""
        analyzer = self.analyzer
        if len(canonical.strip()) < SEMANTIC_MIN_LENGTH:
            return None
        if not analyzer.loaded or not analyzer.worth_analyzing(canonical):
            return None
        started = time.perf_counter()
        verdict = analyzer.analyze(canonical)
        self.monitor.record_sampled("__semantic__", time.perf_counter() - started)
        return verdict

    def _indicators(
        self, text: str, patterns: _PatternSet, clean: list[_RawScan]
    ) -> Iterable[int]:
        """Where ``text``'s attack indicators end: rule hits and encoded runs. When there is
        none, the scan (no hits, and the triggers) is put in ``clean`` for the kept head."""
        scan = patterns.scan_raw(text)
        ends = {end for _, hits in scan[0] for end in hits.values()}
        positions = _char_offsets(text, sorted(ends))
        if "encoded" not in scan[1]:
            if not positions:
                clean.append(scan)
            return positions
        for n, match in enumerate(_ENCODED_RUN.finditer(text)):
            if n >= _ENCODED_RUN_LIMIT:
                break
            positions.append(match.start())
        return positions

    # ------------------------------------------------------------------ status
    def get_performance_stats(self) -> dict[str, Any]:
        """Slow and problematic patterns plus a summary of recorded timings."""
        return self.monitor.stats()

    def get_component_status(self) -> dict[str, bool]:
        """Whether each component is loaded and working right now."""
        return {
            "compiler": all(_matcher_works(m) for m, _ in self._patterns.databases),
            "preprocessor": normalize.normalize("%3C") == "<",
            "semantic_analyzer": self.analyzer.loaded,
            "performance_monitor": self.monitor is not None,
        }


def _model_threat(
    verdict: SemanticVerdict | None, canonical: str, config: SecurityConfig
) -> dict[str, Any] | None:
    if verdict is None or verdict.attack_type == "benign":
        return None
    return {
        "type": "semantic",
        "attack_type": verdict.attack_type,
        "class": verdict.attack_type,
        "probability": verdict.probability,
        "score": verdict.probability,
        "fragment": canonical[:FRAGMENT_LIMIT],
        "above_threshold": verdict.probability >= config.detection_semantic_threshold,
    }


def _prose_may_matter(weighed: list[tuple[PatternEntry, str, float, bool]], bar: float) -> bool:
    """Whether reading the value as prose could change the outcome: there is no hit (the
    model alone then needs more in prose), or a hit the prose discount applies to, unless the
    undiscountable hits already reach ``bar`` and no discountable hit could name the class (a
    container class outranks a payload in :func:`_naming_threat`)."""
    if not weighed:
        return True
    unsettled = 1.0
    naming = discountable = False
    for entry, _, weight, _ in weighed:
        if _discountable(entry, weight):
            discountable = True
            naming = naming or entry.names
        else:
            unsettled *= 1.0 - weight
    return discountable and (naming or unsettled == 1.0 or not _reached(unsettled, bar))


def _conclusive_weight(entry: PatternEntry, context: str) -> float:
    """``entry``'s score in ``context`` when it is conclusive on its own (no discount applies
    to it), else 0: what a hit adds to the evidence that settles a verdict."""
    if entry.score < CONCLUSIVE_SCORE:
        return 0.0
    weight = entry.score_in(context)
    return weight if weight >= CONCLUSIVE_SCORE else 0.0


def _reached(unsettled: float, bar: float) -> bool:
    """Whether evidence leaving ``unsettled`` (the product of ``1 - score``) reaches ``bar`` as
    a result reports it: rounded to :data:`SCORE_DIGITS`, the form a route's floor is held
    against."""
    return round(1.0 - unsettled, SCORE_DIGITS) >= bar


def _settling_bar(floor: float | None) -> float:
    """The score at which a screening's verdict is settled for a caller acting from ``floor``."""
    return CONCLUSIVE_SCORE if floor is None else max(CONCLUSIVE_SCORE, floor)


_HOST_THEN_COMMAND = re.compile(
    r"\s*(?:\d{1,3}(?:\.\d{1,3}){3}|[a-z0-9-]+(?:\.[a-z0-9-]+)+|localhost)\s*(?:[|;&\n]|\$\(|`)",
    re.IGNORECASE,
)
_SHELL_SPELLING = re.compile(r"[a-z]['\"]{1,2}[a-z]|\$\{?IFS\b|\$@|\\[a-z]", re.IGNORECASE)
"""A word the shell spells differently from the text (``w'g'et``, ``${IFS}``, ``c\at``): the
value's shell view reads another command than the raw text shows."""


def _by_score(hit: tuple[PatternEntry, int, str]) -> tuple[float, int, str]:
    # Ties go by where the match ends, then by id: the order the database reports matches at
    # one offset in differs between the trigger reader and the patterns that stand in for
    # it, and the threats list must not.
    return -hit[0].score, hit[1], hit[0].id


def _rules_score(hits: dict[str, tuple[PatternEntry, str]], context: str) -> float:
    remaining = 1.0
    for entry, _fragment in hits.values():
        remaining *= 1.0 - entry.score_in(context)
    return 1.0 - remaining


def _typed(text: str) -> str:
    """``text`` with typographic quotes folded as the views fold them (ASCII text has none,
    and a translate costs about 20 ns per character)."""
    return text if text.isascii() else text.translate(_PROSE_QUOTES)


def _weighed(entry: PatternEntry, context: str, doubted: bool) -> tuple[float, bool]:
    """``entry``'s score for a hit in ``context``, and whether the model's doubt (see
    :data:`MODEL_DOUBT`) lowered it."""
    score = entry.score_in(context)
    if doubted and not entry.user_added and entry.attack_class in DOUBTABLE_CLASSES:
        return score * DOUBT_DISCOUNT, True
    return score, False


def _discountable(entry: PatternEntry, score: float) -> bool:
    """Whether a hit of ``entry`` weighed at ``score`` may get the prose discount."""
    return not entry.user_added and score < CONCLUSIVE_SCORE


def _reads_as_prose(text: str) -> bool:
    """Whether ``text`` reads as natural-language prose: several words, most of its tokens
    (upper-case keywords and acronyms not counted either way), and at least one English
    function word (``the``, ``is``, ``to``, ...); or a question of
    :data:`PROSE_QUESTION_WORDS` words or more, opened by a question word and closed by ``?``
    (``Why is WHERE 1=1 everywhere?``)."""
    if _BREAKOUT_OPENING.match(text):
        return False
    tokens, capitals, words, function_word = _prose_counts(text)
    if _PROSE_QUESTION.match(text) and words >= PROSE_QUESTION_WORDS:
        return True
    tokens -= capitals
    return (
        tokens >= PROSE_MIN_WORDS
        and words >= PROSE_MIN_WORDS
        and words >= PROSE_WORD_SHARE * tokens
        and function_word
    )


def _prose_counts(text: str) -> tuple[int, int, int, bool]:
    """``(tokens, capital tokens, word tokens, whether a function word occurs)`` of ``text``:
    its whitespace-separated tokens, those :data:`_PROSE_CAPITALS` and :data:`_PROSE_WORD`
    match, and whether a word run is one of :data:`_PROSE_FUNCTION_WORDS`. The C module counts
    ASCII text in one pass, about twenty times faster than the four regex passes here."""
    counts = None if _PROSE_READER is None else _PROSE_READER.counts(text)
    if counts is not None:
        return cast(tuple[int, int, int, bool], counts)
    return (
        len(text.split()),
        len(_PROSE_CAPITALS.findall(text)),
        len(_PROSE_WORD.findall(text)),
        not _PROSE_FUNCTION_WORDS.isdisjoint(_WORD_RUN.findall(text)),
    )


def _around(text: str, fragment: str) -> str | None:
    """``fragment`` with :data:`DOUBT_CONTEXT` characters of ``text`` either side, where the
    model rereads a rule hit; None when ``text`` does not hold it."""
    at = text.find(fragment)
    if at < 0:
        return None
    return text[max(0, at - DOUBT_CONTEXT) : at + len(fragment) + DOUBT_CONTEXT]


def _match_end(
    entry: PatternEntry, view: str, end: int, encoded: dict[str, bytes]
) -> int | None:
    """Where the rule's match the database reported ending at ``end`` in ``view`` ends: there,
    unless the database read the rule's cue, whose hit stands only where RE2 finds the rule
    itself (:func:`_cue_confirmed`; None where it does not)."""
    return end if entry.cue is None else _cue_confirmed(entry, view, encoded)


def _cue_confirmed(entry: PatternEntry, view: str, encoded: dict[str, bytes]) -> int | None:
    """Where (a byte offset) the first match of a rule read through its cue ends in ``view``,
    or None where RE2 finds no match of the rule; ``encoded`` caches each view's UTF-8 form."""
    span = span_finder(entry.regex, not entry.user_added)(_encoded(view, encoded), 0)
    return None if span is None else span[1]


def _encoded(view: str, encoded: dict[str, bytes]) -> bytes:
    """``view`` in UTF-8, encoded once per screening and kept in ``encoded``."""
    data = encoded.get(view)
    if data is None:
        data = encoded[view] = encode(view)
    return data


def _window_before(view: str, end: int) -> str:
    """Up to 64 characters of ``view`` ending where a match ended (``end`` is a byte offset)."""
    data = view.encode("utf-8", "surrogatepass")
    return data[max(0, end - 64) : end].decode("utf-8", "replace")


def _changed_lines(base_lines: list[str], view: str) -> str:
    """The lines of ``view`` that differ from the same ``base_lines``; all of ``view`` when a
    decoder added or removed line breaks, so that its lines no longer correspond."""
    view_lines = view.split("\n")
    if len(base_lines) != len(view_lines):
        return view
    return "\n".join(v for b, v in zip(base_lines, view_lines, strict=True) if b != v)


def _raw_match(
    patterns: _PatternSet, raw: str, prefilter: bool = True
) -> tuple[bool, frozenset[str]]:
    """Whether any rule (of the prefilter set, by default) matches ``raw``, and its triggers."""
    results, present = patterns.scan_raw(raw, prefilter=prefilter)
    return any(hits for _, hits in results), present


def _views_match(patterns: _PatternSet, named: list[tuple[str, str]], prefilter: bool) -> bool:
    return any(
        matcher.scan(view)
        for name, view in named
        for matcher, _ in patterns.for_view(name, prefilter)
    )


def _naming_threat(threats: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The threat whose class names the detection.

    Rules name a class more reliably than the model, so a rule hit decides; among rules, a
    confident container (see :func:`names_detection`) outranks the payload it carries, and a
    rule that names its container itself (:data:`CONTAINER_RULES`) outranks a container class
    unless it yields to a conclusive hit of another class (:data:`YIELDS_TO`).
    """
    candidates = [t for t in threats if t["type"] == "regex"] or threats
    if not any(t.get("pattern_id") in CONTAINER_RULES for t in candidates):
        return max(candidates, key=_class_rank, default=None)
    best: dict[str, Any] | None = None
    best_key = (False, False, -1.0)
    for threat in candidates:
        score = threat["score"]
        rule = threat.get("pattern_id", "")
        container = own = False
        if score >= 0.7 and names_detection(threat["class"], rule):
            container = True
            if rule in CONTAINER_RULES:
                yields = YIELDS_TO.get(rule)
                own = yields is None or not any(
                    t["class"] == yields and t["score"] >= CONCLUSIVE_SCORE for t in candidates)
        key = (container, own, score)
        if best is None or key > best_key:
            best, best_key = threat, key
    return best


def _class_rank(threat: dict[str, Any]) -> tuple[bool, float]:
    return threat["class"] in CONTAINER_CLASSES and threat["score"] >= 0.7, threat["score"]


def _matcher_works(matcher: LinearMatcher) -> bool:
    try:
        matcher.scan("probe")
    except Exception:
        return False
    return True


def _as_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content).decode("utf-8", "replace")
    return str(content)


def _char_at(text: str, data: bytes, offset: int) -> int:
    """The character offset in ``text`` of byte ``offset`` in ``data`` (its UTF-8 form), or -1
    for -1."""
    return offset if offset < 0 else _char_offsets(text, [offset], data)[0]


def _char_offsets(text: str, byte_offsets: list[int], data: bytes | None = None) -> list[int]:
    """The character offsets in ``text`` of ascending byte offsets into its UTF-8 form
    (``data``, when the caller has it)."""
    if text.isascii():
        return list(byte_offsets)
    if data is None:
        data = encode(text)
    positions: list[int] = []
    chars = last = 0
    for offset in byte_offsets:
        chars += len(data[last:offset].decode("utf-8", "ignore"))
        last = offset
        positions.append(chars)
    return positions


def _score(
    weighed: list[tuple[PatternEntry, str, float, bool]],
    semantic: dict[str, Any] | None,
    timeouts: list[str],
    prose: str | None = None,
    payloads: frozenset[str] = frozenset(),
) -> tuple[float, list[dict[str, Any]]]:
    """Combined score and threats, in the order found (see :func:`_signals`). ``weighed``
    holds each hit's rule, fragment, weight and whether the model's doubt lowered it (see
    :func:`_weighed`, which applies :data:`DOUBT_DISCOUNT`). ``prose`` is the
    value as sent when it reads as prose: a built-in hit below :data:`CONCLUSIVE_SCORE` found
    in it as sent (no decoding was needed to reach it but the folding of typographic quotes)
    then counts for less, hits whose fragments overlap there count once (one quoted snippet
    read by several rules, such as ``SELECT … WHERE 1=1``), and the model alone needs
    :data:`PROSE_MODEL_SCORE`.
    Each rule's entry names the discounts applied to its score (``prose``, ``model_doubt``)."""
    remaining = 1.0
    threats: list[dict[str, Any]] = []
    quoted: list[tuple[int, int, float]] = []
    typed = _typed(prose) if prose is not None else None
    for entry, fragment, score, doubt in weighed:
        discounts = ["model_doubt"] if doubt else []
        if (
            typed is not None
            and _discountable(entry, score)
            and entry.id not in payloads
            and fragment in typed
        ):
            score *= PROSE_DISCOUNT
            discounts.append("prose")
            at = typed.find(fragment)
            quoted.append((at, at + len(fragment), score))
        else:
            remaining *= 1.0 - score
        threats.append(
            {
                "type": "regex",
                "pattern": entry.regex,
                "pattern_id": entry.id,
                "class": entry.attack_class,
                "attack_type": entry.attack_class,
                "description": entry.description,
                "score": score,
                "fragment": fragment[:FRAGMENT_LIMIT],
                "timed_out": entry.regex in timeouts,
                "discounts": discounts,
            }
        )
    end, best = -1, 0.0
    for start, stop, score in sorted(quoted):
        if start >= end:
            remaining *= 1.0 - best
            best = 0.0
        end, best = max(end, stop), max(best, score)
    remaining *= 1.0 - best
    if (
        semantic is not None
        and semantic["above_threshold"]
        and (prose is None or weighed or semantic["probability"] >= PROSE_MODEL_SCORE)
    ):
        remaining *= 1.0 - semantic["probability"]
        threats.append({k: v for k, v in semantic.items() if k != "above_threshold"})
    return 1.0 - remaining, threats


def _signals(threats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a verdict that is not a threat reports of the evidence it weighed."""
    return [
        {"pattern_id": t.get("pattern_id", "semantic"), "class": t["class"], "score": t["score"],
         "discounts": t.get("discounts", [])}
        for t in threats
    ]
