"""The compiled feature scorer (guard/engine/_featurize.c) against the pure-Python path.

Both paths add the same quantised weights, so every verdict must be identical, not close. The
build hook compiles the module wherever a C compiler exists; a machine without one installs the
pure-Python path, and then only the first test says so.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.engine import detector, semantic
from guard.engine import normalize as normalize_module
from guard.engine.detector import DetectionEngine
from guard.engine.matcher import LinearMatcher, build_matcher, encode
from guard.engine.normalize import normalize
from guard.engine.semantic import CLASSES, SemanticAnalyzer, default_analyzer

CORPORA = Path(__file__).parent / "corpora"


def _has_compiler() -> bool:
    """Whether the compiler the build would use (``$CC``, else Python's) compiles C here."""
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    if shutil.which(compiler[0]) is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "probe.c"
        source.write_text("int probe(void) { return 1; }\n")
        done = subprocess.run([*compiler, "-c", str(source), "-o", str(source.with_suffix(".o"))],
                              capture_output=True, timeout=60, check=False)
    return done.returncode == 0


@pytest.fixture(scope="module")
def analyzer() -> SemanticAnalyzer:
    return default_analyzer()


@contextmanager
def _python_path(analyzer: SemanticAnalyzer) -> Iterator[None]:
    scorer, analyzer._scorer = analyzer._scorer, None
    try:
        yield
    finally:
        analyzer._scorer = scorer


def _both(analyzer: SemanticAnalyzer, value: str) -> tuple[object, object]:
    fast = analyzer.analyze(value)
    with _python_path(analyzer):
        slow = analyzer.analyze(value)
    return fast, slow


def test_scorer_is_built_where_a_compiler_exists(analyzer: SemanticAnalyzer) -> None:
    # Without a compiler, or with the module turned off on purpose, the install goes on and the
    # Python path serves: that is the documented behaviour, checked here too.
    expected = _has_compiler() and not os.environ.get("GUARD_NO_EXTENSION")
    assert semantic.FAST_FEATURES is expected
    assert (analyzer._scorer is not None) is expected


needs_scorer = pytest.mark.skipif(not semantic.FAST_FEATURES, reason="C scorer not built")

# Every ASCII character (controls, \x1c-\x1f that Python's \s counts as blank, the window
# marks) plus the syntax the model weighs, so tokens, pairs and 3-grams of all kinds occur.
_ALPHABET = st.sampled_from(
    [chr(c) for c in range(128)]
    + ["select ", "union ", "/*", "*/", "<script>", "../", "; cat ", "${IFS}", "0x", "\r\n"]
)


@needs_scorer
@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=120).map("".join))
def test_same_verdict_on_any_ascii(analyzer: SemanticAnalyzer, text: str) -> None:
    fast, slow = _both(analyzer, text)
    assert fast == slow


@needs_scorer
@settings(max_examples=30, deadline=None)
@given(st.lists(_ALPHABET, min_size=300, max_size=900).map("".join))
def test_same_verdict_past_the_window_budget(analyzer: SemanticAnalyzer, text: str) -> None:
    fast, slow = _both(analyzer, text)
    assert fast == slow


@needs_scorer
@pytest.mark.parametrize("name", ["probe.jsonl", "dev.jsonl"])
def test_same_verdict_on_the_corpora(analyzer: SemanticAnalyzer, name: str) -> None:
    text = (CORPORA / name).read_text("utf-8")
    lines = [json.loads(line) for line in text.split("\n") if line.strip()]
    # Every 4th dev line keeps the test short; the probe is read whole.
    step = 4 if name == "dev.jsonl" else 1
    values = [normalize(line["payload"]) for line in lines[::step]]
    differ = [v for v in values if len(set(_both(analyzer, v))) != 1]
    assert not differ, differ[:3]
    assert sum(v.isascii() for v in values) > 0.8 * len(values)


@needs_scorer
def test_non_ascii_goes_to_the_python_path(analyzer: SemanticAnalyzer) -> None:
    assert analyzer._scorer.score("caf\u00e9 ' or 1=1", "x") is None
    fast, slow = _both(analyzer, "caf\u00e9' or 1=1 -- \u00bfqu\u00e9?")
    assert fast == slow


def _tables(classes: int = len(CLASSES), **changes: object) -> dict[str, object]:
    tables: dict[str, object] = {
        "classes": classes, "chars": [], "trigrams": [], "tokens": [], "keys": [],
        "structure": [], "bias": [0.0] * (classes - 1), "multiplier": 1 << 16,
        "denominator": 1000 << 16,
    }
    return {**tables, **changes}


@needs_scorer
@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"classes": 0}, ValueError),
        ({"chars": [(200, [0] * len(CLASSES))]}, ValueError),
        ({"chars": [(97, [0, 1])]}, ValueError),
        ({"trigrams": [(2**33, [0] * len(CLASSES))]}, ValueError),
        ({"tokens": [("str", [0] * len(CLASSES))]}, TypeError),
        ({"keys": [("caf\u00e9", 1)]}, TypeError),
        ({"structure": [[0] * len(CLASSES)] * 65}, ValueError),
        ({"structure": [[0, 1]]}, ValueError),
        ({"bias": [0.0]}, ValueError),
        ({"multiplier": 0}, ValueError),
    ],
)
def test_scorer_rejects_bad_tables(changes: dict[str, object], error: type[Exception]) -> None:
    assert semantic._featurize is not None
    with pytest.raises(error):
        semantic._featurize.Scorer(**_tables(**changes))


@needs_scorer
def test_scorer_sums_are_the_table_weights() -> None:
    scorer = semantic._featurize.Scorer(**_tables(
        3,
        chars=[(ord("a"), [1, 2, 3])],
        trigrams=[(semantic._trigram_key("\x02ab"), [10, 0, -10])],
        tokens=[(b"ab", [100, 200, 300]), (b"ab ;", [7, 7, 7])],
        keys=[("ab", 0b001), ("zz", 0b010), (";", 0b100), ("\r", 0b1000)],
        structure=[[0, 5, 0], [0, 0, 0], [1, 1, 1]],
        bias=[0.5, -0.5],
    ))
    ngrams, n_ngrams, tokens, n_tokens, candidates = scorer.score("ab;ab", "ab;ab")
    # chars \x02 a b ; \x03 (5) + 3-grams \x02ab ab; b;a ;ab ab\x03 (5)
    assert (ngrams, n_ngrams) == ((11, 2, -7), 10)
    # tokens ab ; (2) + pairs "ab ;" "; ab" (2); each distinct one counts once
    assert (tokens, n_tokens) == ((107, 207, 307), 4)
    assert candidates == 0b101
    # A LF in the view may have been a CR: the CR key counts.
    assert scorer.score("a\nb", "a\nb")[4] == 0b1000
    relative = scorer.relative(ngrams, n_ngrams, tokens, n_tokens, 0b001)
    ngram_scale = round(1 / math.sqrt(10) * (1 << 16))
    token_scale = round(1 / math.sqrt(4) * (1 << 16))
    assert relative == [
        0.5 + ((2 - 11) * ngram_scale + (207 - 107) * token_scale + 5 * (1 << 16))
        / (1000 << 16),
        -0.5 + ((-7 - 11) * ngram_scale + (307 - 107) * token_scale) / (1000 << 16),
    ]


def _with_prefilter(analyzer: SemanticAnalyzer, value: str, always: bool) -> object:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(semantic, "PREFILTER_FROM", 0 if always else 10**9)
        return analyzer.analyze(value)


needs_prefilter = pytest.mark.skipif(
    not (semantic.FAST_FEATURES and semantic.HYPERSCAN_AVAILABLE), reason="no C scorer or Hyperscan"
)


@needs_prefilter
@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=200).map("".join))
def test_structure_prefilter_changes_no_verdict(analyzer: SemanticAnalyzer, text: str) -> None:
    # The Hyperscan pass only removes candidates whose pattern cannot match; each remaining
    # one is still decided by its own regex.
    assert _with_prefilter(analyzer, text, True) == _with_prefilter(analyzer, text, False)


@needs_prefilter
def test_structure_prefilter_on_the_corpora(analyzer: SemanticAnalyzer) -> None:
    text = "\n".join((CORPORA / name).read_text("utf-8") for name in ("probe.jsonl", "dev.jsonl"))
    lines = [json.loads(line) for line in text.split("\n") if line.strip()]
    values = [normalize(line["payload"]) for line in lines[::3]]
    differ = [v for v in values
              if _with_prefilter(analyzer, v, True) != _with_prefilter(analyzer, v, False)]
    assert not differ, differ[:3]


@pytest.mark.parametrize(
    ("pattern", "widened"),
    [
        (r"a\sb", r"a[\s\x1c-\x1f]b"),
        (r"[\s-]*$", r"[\s\x1c-\x1f-]*$"),
        (r"\S+", r"[^\s\x1c-\x1f]+"),
        (r"[]\s]", r"[]\s\x1c-\x1f]"),
        (r"\\s", r"\\s"),
    ],
)
def test_blank_classes_are_widened_for_hyperscan(pattern: str, widened: str) -> None:
    assert semantic._for_ascii_pcre(pattern) == widened


@pytest.mark.parametrize("pattern", [r"[^\s]", r"[^a\s]", r"[\S]"])
def test_negated_blank_classes_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        semantic._for_ascii_pcre(pattern)


def test_block_counts_count_marks_per_block() -> None:
    if semantic._featurize is None:
        pytest.skip("C scorer not built")
    data = bytes([1, 0, 1, 1, 0, 0, 1])
    assert semantic._featurize.block_counts(data, 1, 2, 5) == [1, 1, 1, 0, 0]
    assert semantic._featurize.block_counts(data, 0, 3, 3) == [2, 1, 1]
    with pytest.raises(ValueError):
        semantic._featurize.block_counts(data, 0, 0, 1)
    with pytest.raises(ValueError):  # blocks that would run past the largest offset
        semantic._featurize.block_counts(data, 0, 2**62, 4)


# --- prose counts (detector._reads_as_prose) --------------------------------------------------

_PROSE_ALPHABET = st.sampled_from(
    [chr(c) for c in range(128)]
    + ["the ", "The ", "I ", "of ", "it's ", "SELECT ", "(WHERE) ", "don't", "'", "\x1c", "\n",
       "\u00e9", "\u2019"]
)


def _regex_counts(text: str) -> tuple[int, int, int, bool]:
    reader, detector._PROSE_READER = detector._PROSE_READER, None
    try:
        return detector._prose_counts(text)
    finally:
        detector._PROSE_READER = reader


needs_reader = pytest.mark.skipif(detector._PROSE_READER is None, reason="C module not built")


@needs_reader
@settings(max_examples=500, deadline=None)
@given(st.lists(_PROSE_ALPHABET, max_size=80).map("".join))
def test_prose_counts_equal_the_regex_counts(text: str) -> None:
    assert detector._prose_counts(text) == _regex_counts(text)


@needs_reader
@pytest.mark.parametrize("name", ["dev.jsonl", "prose_tuning.jsonl", "probe.jsonl"])
def test_prose_counts_equal_the_regex_counts_on_the_corpora(name: str) -> None:
    text = (CORPORA / name).read_text("utf-8")
    values = [json.loads(line)["payload"] for line in text.split("\n") if line.strip()]
    differ = [v for v in values if detector._prose_counts(v) != _regex_counts(v)]
    assert not differ, differ[:3]
    assert sum(detector._PROSE_READER.counts(v) is not None for v in values) > 0.8 * len(values)


@needs_reader
def test_prose_counts_of_non_ascii_text_come_from_the_regexes() -> None:
    assert detector._PROSE_READER.counts("caf\u00e9 and the rest") is None
    assert detector._prose_counts("It\u2019s the caf\u00e9 I like") == (5, 0, 3, True)


@needs_reader
@pytest.mark.parametrize(
    "words", [["toolongword"], [""], ["caf\u00e9"], [1], [f"w{n}" for n in range(300)]]
)
def test_prose_reader_refuses_bad_function_words(words: list[object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        semantic._featurize.ProseReader(words)


# --- structure needles ------------------------------------------------------------------------

_NEEDLE_ALPHABET = st.sampled_from(
    [chr(c) for c in range(32, 127)]
    + ["../", "..\\", "etc/passwd", ".php", ".jpg", "{{", "${", "://", "system(", "nc -e ",
       "/dev/tcp/", "union select", " or 1=1", "onload=", "(|(", "*)", "%26", "\n"]
)


def _every_match_holds_a_needle(text: str) -> None:
    for name, search in semantic._STRUCTURE_BARE:
        needles = semantic._NEEDLES.get(name)
        match = search(text)
        if needles and match is not None:
            assert any(n in match.group() for n in needles), (name, match.group())


@settings(max_examples=400, deadline=None)
@given(st.lists(_NEEDLE_ALPHABET, max_size=40).map("".join))
def test_every_match_holds_a_needle(text: str) -> None:
    _every_match_holds_a_needle(text.lower())


def test_every_match_on_the_corpora_holds_a_needle() -> None:
    for name in ("dev.jsonl", "probe.jsonl"):
        for line in (CORPORA / name).read_text("utf-8").split("\n"):
            if line.strip():
                _every_match_holds_a_needle(json.loads(line)["payload"].lower())


@needs_scorer
def test_scorer_drops_candidates_without_needles(analyzer: SemanticAnalyzer) -> None:
    dotdot = 1 << next(i for i, (n, _) in enumerate(semantic._STRUCTURE) if n == "path:dotdot")
    text = "see the notes. then go on."
    assert analyzer._scorer.score(text, text)[4] & dotdot
    assert not analyzer._scorer.score(text, text, text)[4] & dotdot
    assert analyzer._scorer.score(text + " ../x", text + " ../x", text + " ../x")[4] & dotdot
    # Text the patterns read that is not ASCII is not tested for needles.
    assert analyzer._scorer.score(text, text, text + " caf\u00e9")[4] & dotdot


@needs_scorer
@pytest.mark.parametrize("needles", [[()], [("x",)] * 45, [(b"",)] * 45, [[b"x"]] * 45])
def test_scorer_rejects_bad_needles(needles: list[object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        semantic._featurize.Scorer(**_tables(structure=[[0] * len(CLASSES)] * 45,
                                             needles=needles))


# --- triggers ---------------------------------------------------------------------------------

needs_trigger_reader = pytest.mark.skipif(
    normalize_module.TRIGGER_READER is None, reason="C module not built"
)
_TRIGGER_ALPHABET = st.sampled_from(
    ["%", "%4", "%41", "%zz", "&", "&#", "&#x3c;", "&amp", "&lt;", "&AElig", "&ab;", "&a_b",
     "&" + "a" * 32 + ";", "&" + "b" * 33 + ";", "\\", "\\u004", "\\u0041", "\\X4f", "\u00e9",
     "\x00", "\t", "\x0b", "\x0c", " ", "-", "/", "*", "#", "'", '"', "$", "{", "+", "+AD",
     "aGVsbG8", "A" * 8, "_", "x", "1", ";", "\n", "\ud800"]
)


def _database_triggers(text: str) -> frozenset[str]:
    if not _TRIGGER_DATABASE:
        _TRIGGER_DATABASE.append(build_matcher(normalize_module.TRIGGER_SPECS))
    return normalize_module.trigger_set(_TRIGGER_DATABASE[0].scan(text))


_TRIGGER_DATABASE: list[LinearMatcher] = []


@needs_trigger_reader
@settings(max_examples=1500, deadline=None)
@given(st.lists(_TRIGGER_ALPHABET, max_size=16).map("".join))
def test_trigger_reader_reads_what_the_trigger_database_finds(text: str) -> None:
    assert normalize_module.TRIGGER_READER.read(encode(text)) == _database_triggers(text)


@needs_trigger_reader
def test_trigger_reader_on_the_corpora() -> None:
    for name in ("dev.jsonl", "heldout.jsonl", "probe.jsonl", "prose_tuning.jsonl"):
        for line in (CORPORA / name).read_text("utf-8").split("\n"):
            if line.strip():
                value = json.loads(line)["payload"]
                for text in (value, normalize(value)):
                    assert normalize_module.triggers(text) == _database_triggers(text), text


@needs_trigger_reader
def test_engine_without_the_trigger_reader_gives_the_same_verdicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the C module the triggers are patterns appended to the rules' database; both
    # ways must lead to the same views, hence the same verdicts.
    values = [json.loads(line)["payload"]
              for line in (CORPORA / "probe.jsonl").read_text("utf-8").split("\n")[::3]
              if line.strip()]
    with_reader = DetectionEngine()
    monkeypatch.setattr(normalize_module, "TRIGGER_READER", None)
    without = DetectionEngine()
    assert without._patterns.databases[0][0]._reader is None
    for value in values:
        a = with_reader.detect(value, None, "query_param")
        b = without.detect(value, None, "query_param")
        assert (a["is_threat"], a["threat_score"], a["attack_class"]) == (
            b["is_threat"], b["threat_score"], b["attack_class"]), value
        assert with_reader.screen(value, "query_param") == without.screen(value, "query_param")


@needs_trigger_reader
def test_trigger_reader_refuses_bad_arguments() -> None:
    reader = normalize_module.TRIGGER_READER
    with pytest.raises(TypeError):
        reader.read("text, not bytes")
    with pytest.raises(ValueError):
        type(reader)(("%",), ())
    with pytest.raises(TypeError):
        type(reader)(normalize_module.TRIGGER_NAMES, ("amp",))
