"""Fuzzing ``detect()``, the normalisers and the request parser with hypothesis.

CI runs a fixed, derandomized set of examples. ``GUARD_FUZZ_LONG=1`` runs many more, random ones
(``GUARD_FUZZ_EXAMPLES`` sets how many, 20,000 by default).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard import FlaskAPIGuard, SecurityConfig
from guard.engine.detector import DetectionEngine
from guard.extension import state_for
from guard.request_parts import Limits, request_parts
from tests.faults.conftest import add_figures
from tests.test_detect_properties import hostile_text
from tests.test_normalize_properties import DECODERS, texts

LONG = os.environ.get("GUARD_FUZZ_LONG") == "1"
FUZZ = settings(
    derandomize=not LONG,
    max_examples=int(os.environ.get("GUARD_FUZZ_EXAMPLES", "20000")) if LONG else 1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
GROWTH = 4
ENGINE = DetectionEngine()

header_names = st.sampled_from(["User-Agent", "Referer", "X-Custom", "Cookie", "Accept",
                                "X-Forwarded-For", "Content-Type", "X-Request-ID"])
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                      blacklist_characters="\x7f"), max_size=200)
content_types = st.sampled_from([
    "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
    "multipart/form-data", "text/plain", "application/xml", "", "application/json; charset=x",
])
bodies = st.one_of(
    st.binary(max_size=2000),
    hostile_text.map(str.encode),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                 lambda inner: st.lists(inner, max_size=5)
                 | st.dictionaries(st.text(max_size=10), inner, max_size=5),
                 max_leaves=30).map(lambda doc: repr(doc).encode()),
    st.lists(st.tuples(texts, texts), max_size=20).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")),
)
requests = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"]),
    # One leading slash: werkzeug's test builder reads "//host:port/…" as a network location
    # (and raises on "//::"), which a server's PATH_INFO never is.
    "path": st.text(max_size=100).map(
        lambda p: "/" + p.replace("?", "").replace("#", "").lstrip("/")
    ),
    "query": st.binary(max_size=300),
    "headers": st.lists(st.tuples(header_names, header_values), max_size=8),
    "content_type": content_types,
    "body": bodies,
})


def _app() -> Flask:
    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(auto_ban_threshold=1_000_000, share_patterns=False,
                                             event_sample_rate=0.0, inline_semantic=True))
    app.add_url_rule("/<path:anything>", "any", lambda anything: "ok",
                     methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"])
    app.add_url_rule("/", "root", lambda: "ok", methods=["GET", "POST"])
    return app


APP = _app()
EXAMPLES: Counter[str] = Counter()


@pytest.fixture(autouse=True, scope="module")
def _report_examples() -> Iterator[None]:
    yield
    add_figures("fuzzing", long_mode=LONG, examples=dict(EXAMPLES),
                screening_errors=state_for(APP).counters.get("screening_errors", 0))


@FUZZ
@given(st.one_of(texts, hostile_text, st.text(max_size=3000)))
def test_normalisers_are_bounded_and_idempotent(text: str) -> None:
    EXAMPLES["normalisers"] += 1
    for decode in DECODERS:
        once = decode(text)
        assert len(once) <= GROWTH * len(text), decode.__name__
        assert decode(once) == once, decode.__name__


@FUZZ
@given(st.one_of(texts, hostile_text, st.binary(max_size=3000), st.text(max_size=3000)))
def test_detect_never_raises(value: str | bytes) -> None:
    EXAMPLES["detect"] += 1
    result = ENGINE.detect(value)
    assert isinstance(result["is_threat"], bool)


def _environ(case: dict[str, Any]) -> dict[str, Any]:
    headers = dict(case["headers"])
    if case["content_type"]:
        headers["Content-Type"] = case["content_type"]
    return {"method": case["method"], "path": case["path"], "headers": headers,
            "query_string": case["query"].decode("latin-1"), "data": case["body"]}


@FUZZ
@given(requests)
def test_request_parser_and_extension_never_fail(case: dict[str, Any]) -> None:
    EXAMPLES["requests"] += 1
    environ = _environ(case)
    with APP.test_request_context(**environ):
        from flask import request

        parts, _truncated = request_parts(request, Limits(max_parts=64, max_json_depth=8))
        assert all(isinstance(p.value, str) for p in parts)
    response = APP.test_client().open(**environ)
    assert response.status_code != 500
    assert state_for(APP).counters.get("screening_errors", 0) == 0
