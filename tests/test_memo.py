"""The memory of clean verdicts: it never changes a verdict, forgets on every change of
patterns or settings, and stays bounded."""

from __future__ import annotations

import json

from guard.config import SecurityConfig
from guard.engine.detector import DetectionEngine
from guard.engine.memo import CAPACITY, MAX_CHARS, CleanMemo
from guard.request_parts import json_strings


def _flagged(engine: DetectionEngine, values: list[str], context: str = "query") -> set[int]:
    return {i for i, r in engine.screen_many(values, [context] * len(values)) if r["is_threat"]}


def test_a_repeated_request_gets_the_same_verdicts() -> None:
    engine = DetectionEngine()
    values = ["blue shoes", "1' OR '1'='1", "Sean O'Brien", "<script>alert(1)</script>",
              "blue shoes", "../../etc/passwd"]
    first = _flagged(engine, values)
    assert first == {1, 3, 5}
    assert len(engine._patterns.memo.values) == 2
    for _ in range(3):
        assert _flagged(engine, values) == first


def test_a_new_pattern_applies_to_a_value_remembered_clean() -> None:
    engine = DetectionEngine()
    assert _flagged(engine, ["zebra-crossing-42"]) == set()
    engine.add_pattern(r"zebra-crossing-\d+", custom=True)
    assert _flagged(engine, ["zebra-crossing-42"]) == {0}
    engine.remove_pattern(r"zebra-crossing-\d+", custom=True)
    assert _flagged(engine, ["zebra-crossing-42"]) == set()


def test_new_settings_forget_what_was_remembered() -> None:
    engine = DetectionEngine()
    value = "please select the rows where the date is last week, then delete the duplicates"
    assert _flagged(engine, [value]) == set()
    assert len(engine._patterns.memo.values) == 1
    engine.configure_semantic_threshold(0.01)
    assert len(engine._patterns.memo.values) == 0
    engine.configure(SecurityConfig(detection_max_content_length=64))
    assert len(engine._patterns.memo.values) == 0
    # Longer than the inspection limit now: never remembered, screened every time.
    assert _flagged(engine, [value]) == set()
    assert len(engine._patterns.memo.values) == 0


def test_a_json_body_is_cleared_from_memory_only_for_what_it_has_seen() -> None:
    engine = DetectionEngine()
    clean = {"sku": "SKU-1", "tags": ["kitchen", "gift"], "note": "Leave it at the door"}
    assert engine.strings_are_clean(json_strings(clean, json.dumps(clean)))
    assert engine.strings_are_clean(json_strings(clean, json.dumps(clean, indent=2)))
    attack = {**clean, "tags": ["kitchen", "1 UNION SELECT password FROM users--"]}
    for _ in range(2):
        assert not engine.strings_are_clean(json_strings(attack, json.dumps(attack)))


def test_long_values_are_not_remembered() -> None:
    engine = DetectionEngine()
    long_value = "ordinary words " * (MAX_CHARS // 10)
    assert len(long_value) > MAX_CHARS
    assert _flagged(engine, [long_value]) == set()
    assert len(engine._patterns.memo.values) == 0


def test_the_memory_is_bounded_and_keeps_what_is_in_use() -> None:
    memo = CleanMemo(capacity=100)
    for n in range(1000):
        memo.add(("hot", 0))
        memo.add(("value", n))
        assert len(memo) <= 200
        assert ("hot", 0) in memo
    assert ("value", 999) in memo and ("value", 0) not in memo
    assert sorted(memo.unseen(dict.fromkeys(["a", "b"]))) == ["a", "b"]


def test_a_flood_of_distinct_values_stays_within_the_bound() -> None:
    engine = DetectionEngine()
    for start in range(0, 3 * CAPACITY, 512):
        values = [f"item {n}" for n in range(start, start + 512)]
        assert _flagged(engine, values) == set()
    assert len(engine._patterns.memo.values) <= 2 * CAPACITY


def test_the_memories_of_one_pattern_set_stay_under_16_mb() -> None:
    """Every kind full of the longest values it keeps, at the moment before a generation turns
    over (the most it ever holds): docs/deployment.md quotes this figure."""
    import tracemalloc

    from guard.engine.memo import RAW_CAPACITY, RAW_MAX_CHARS, Memos

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        memos = Memos()
        for n in range(2 * CAPACITY - 1):
            memos.values.add((f"v{n:08d}".ljust(MAX_CHARS, "x"), "query", True))
            memos.lines.add(f"l{n:08d}".ljust(MAX_CHARS, "x"))
            memos.strings.add(f"s{n:08d}".ljust(MAX_CHARS, "x"))
        for n in range(2 * RAW_CAPACITY - 1):
            memos.raw.add(("query", f"{n:08d}".ljust(RAW_MAX_CHARS, "q"), True))
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert len(memos.values) == 2 * CAPACITY - 1
    assert held < 16_000_000, held


def test_reviving_a_whole_old_generation_keeps_the_bound() -> None:
    memo = CleanMemo(capacity=100)
    old = [f"a{n}" for n in range(100)]
    for key in old:
        memo.add(key)
    for n in range(99):
        memo.add(f"b{n}")
    assert memo.unseen(dict.fromkeys(old)) == []
    assert len(memo) <= 200


def test_nothing_is_remembered_while_a_backtracking_pattern_is_installed() -> None:
    from flask import Flask

    import guard
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    engine = sus_patterns_handler.engine
    app = Flask(__name__)
    guard.FlaskAPIGuard(app, config=guard.SecurityConfig(auto_ban_threshold=10**6,
                                                         share_patterns=False))
    app.add_url_rule("/", "index", lambda: "ok")
    engine.add_pattern(r"(\w{3})\1zz", custom=True)
    try:
        assert not engine.remembers_clean
        assert app.test_client().get("/?q=plain+words").status_code == 200
        assert len(engine.memo.raw) == 0 and len(engine.memo.values) == 0
        assert app.test_client().get("/?q=abcabczz").status_code == 403
    finally:
        engine.remove_pattern(r"(\w{3})\1zz", custom=True)
    assert engine.remembers_clean


def test_non_ascii_values_are_not_remembered() -> None:
    engine = DetectionEngine()
    assert _flagged(engine, ["Grüße aus Köln", "plain"]) == set()
    assert len(engine._patterns.memo.values) == 1


class _CountedKey(str):
    """A key that counts how often it is hashed, i.e. visited by a set operation."""

    hashed = 0

    def __hash__(self) -> int:
        _CountedKey.hashed += 1
        return str.__hash__(self)


def test_a_lookup_costs_the_size_of_the_body_not_of_the_memory() -> None:
    """``unseen`` runs on every JSON body. A view difference (``a.keys() - b.keys()``) walks
    ``b``, a whole generation of up to CAPACITY keys, on every call; the lookup must only probe
    the memory with the body's own keys, which leaves the remembered keys unvisited."""
    memo = CleanMemo()
    for i in range(CAPACITY - 1):
        memo.add(_CountedKey(f"young {i}"))
    old = CleanMemo()
    for i in range(CAPACITY + CAPACITY // 2):
        old.add(_CountedKey(f"key {i}"))
    _CountedKey.hashed = 0
    assert memo.unseen(dict.fromkeys(["young 1", "new"])) == ["new"]
    assert sorted(old.unseen(dict.fromkeys(["key 1", "key 5000", "new"]))) == ["new"]
    assert _CountedKey.hashed == 0
