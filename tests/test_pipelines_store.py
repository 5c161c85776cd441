"""The store primitives the pipeline adds (tallies, score indexes, incidents), on both backends.

Same contract as ``test_store.py``: each test runs against ``memory://`` and a real Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from guard.store import (
    IncidentUpdate,
    MemoryStore,
    ScoreUpdate,
    Store,
    StrikeUpdate,
    TallyUpdate,
    create_store,
)
from guard.store._args import MAX_INCIDENT_ITEMS

both = pytest.mark.parametrize("store", ["memory", "redis"], indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest, redis_url: str, key_prefix: str) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else redis_url
    built = create_store(url, prefix=key_prefix, timeout=2.0)
    yield built
    built.close()


def incident(client: str = "192.0.2.1", cid: str = "", ts: float | None = None,
             **changes: object) -> IncidentUpdate:
    values: dict[str, object] = {
        "client": client, "correlation_id": cid, "ts": time.time() if ts is None else ts,
        "part": "query:q", "attack_class": "sqli", "action": "blocked", "score": 1.0,
    }
    values.update(changes)
    return IncidentUpdate(**values)  # type: ignore[arg-type]


@both
def test_tally_counts_members_and_moments(store: Store) -> None:
    result = store.tally("t1", [
        TallyUpdate("g", "a", 1, 60), TallyUpdate("g", "b", 3, 60),
        TallyUpdate("g", "a", 2, 60), TallyUpdate("other", "x", 5, 60, track=False),
    ])
    assert not result.duplicate
    assert [(t.value, t.members, t.total, t.total_sq) for t in result.tallies] == [
        (1, 1, 1, 1.0), (3, 2, 4, 10.0), (3, 2, 6, 18.0),
    ]
    snapshot = store.read_tally("g")
    assert snapshot.members == {"a": 3, "b": 3}
    assert (snapshot.count, snapshot.total, snapshot.total_sq) == (2, 6, 18.0)
    assert store.read_tally("other").members == {"x": 5}
    assert store.read_tally("absent").count == 0


@both
def test_tally_amounts_past_exact_lua_numbers_are_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.tally("t-huge", [TallyUpdate("g-huge", "m", 2**63, 60, track=False)])
    assert store.read_tally("g-huge").count == 0


@both
def test_tally_is_idempotent_per_token(store: Store) -> None:
    updates = [TallyUpdate("g", "a", 1, 60), TallyUpdate("h", "a", 2, 60)]
    store.tally("once", updates)
    again = store.tally("once", updates)
    assert again.duplicate
    assert [t.value for t in again.tallies] == [1, 2]
    assert store.read_tally("g").total == 1


@both
def test_zero_amount_joins_the_group(store: Store) -> None:
    store.tally("t1", [TallyUpdate("g", "quiet", 0, 60)])
    store.tally("t2", [TallyUpdate("g", "loud", 4, 60)])
    snapshot = store.read_tally("g")
    assert snapshot.count == 2 and snapshot.members == {"loud": 4, "quiet": 0}


@both
def test_tally_many_applies_in_order_and_dedupes_each(store: Store) -> None:
    batch = [(f"t{i % 3}", [TallyUpdate("g", f"m{i % 3}", 1, 60)]) for i in range(6)]
    results = store.tally_many(batch)
    assert [r.duplicate for r in results] == [False] * 3 + [True] * 3
    assert store.read_tally("g").members == {"m0": 1, "m1": 1, "m2": 1}
    assert store.tally_many([]) == []


@both
def test_tally_many_sums_the_counts_of_new_tokens_only(store: Store) -> None:
    def counts(token: str, *pairs: tuple[str, int]) -> tuple[str, list[TallyUpdate]]:
        return token, [TallyUpdate("c", member, n, 60, track=False) for member, n in pairs]

    store.tally_many([counts("old", ("a", 5))])
    fresh = [counts("n1", ("a", 1), ("b", 2)), counts("n2", ("b", 3), ("a", 4))]
    results = store.tally_many([counts("n0", ("z", 1)), *fresh])
    assert [r.duplicate for r in results] == [False] * 3
    assert store.read_tally("c").members == {"a": 10, "b": 5, "z": 1}
    # A seen token among new ones: only the new tokens' counts are added.
    mixed = [counts("old", ("a", 100), ("y", 7)), counts("n3", ("y", 1)), counts("n1", ("b", 9)),
             counts("n4", ("a", 2), ("y", 1)), (("n5", [TallyUpdate("g", "t", 1, 60)]))]
    results = store.tally_many(mixed)
    assert [r.duplicate for r in results] == [True, False, True, False, False]
    assert results[4].tallies[0].value == 1
    assert store.read_tally("c").members == {"a": 12, "b": 5, "y": 2, "z": 1}


@both
def test_tally_rejects_bad_amounts(store: Store) -> None:
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            store.tally("t", [TallyUpdate("g", "a", bad, 60)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.tally("t", [TallyUpdate("g", "a", 1, 0)])


@both
def test_concurrent_tallies_are_atomic(store: Store) -> None:
    def work(offset: int) -> None:
        for i in range(100):
            store.tally(f"tok{(offset + i) % 150}", [TallyUpdate("g", f"m{i % 5}", 1, 60)])

    threads = [threading.Thread(target=work, args=(n * 50,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot = store.read_tally("g")
    assert snapshot.total == 150
    assert snapshot.total_sq == sum(v * v for v in snapshot.members.values())


@both
def test_score_index_keeps_the_highest_and_stays_bounded(store: Store) -> None:
    assert store.record_score("idx", "a", 2.0, ttl=60) == 2.0
    assert store.record_score("idx", "a", 1.0, ttl=60) == 2.0
    assert store.record_score("idx", "a", 5.0, ttl=60) == 5.0
    for i in range(5):
        store.record_score("idx", f"m{i}", float(i), ttl=60, max_members=3)
    assert store.top_scores("idx") == [("a", 5.0), ("m4", 4.0), ("m3", 3.0)]
    assert store.top_scores("idx", 1) == [("a", 5.0)]
    assert store.top_scores("absent") == []


@both
def test_record_scores_keeps_the_highest_of_each(store: Store) -> None:
    batch = [("idx", "a", 2.0), ("idx", "a", 1.0), ("idx", "b", 3.0), ("other", "a", 0.5)]
    assert store.record_scores(batch, ttl=60) == [2.0, 2.0, 3.0, 0.5]
    assert store.record_scores([], ttl=60) == []
    assert store.top_scores("idx") == [("b", 3.0), ("a", 2.0)]
    with pytest.raises(ValueError):
        store.record_scores([("idx", "c", 9.0), ("idx", "d", float("inf"))], ttl=60)
    assert store.top_scores("idx") == [("b", 3.0), ("a", 2.0)]


@both
def test_added_scores_sum_once_per_token_and_keep_the_largest(store: Store) -> None:
    first = [ScoreUpdate("paths", "/a", 2, 60, 3), ScoreUpdate("paths", "/b", 1, 60, 3),
             ScoreUpdate("classes", "sqli", 1.5, 60)]
    assert store.add_scores([("e1", first), ("e2", [ScoreUpdate("paths", "/a", 1, 60, 3)])]) == [
        True, True]
    assert store.add_scores([("e1", first)]) == [False]
    assert store.top_scores("paths") == [("/a", 3.0), ("/b", 1.0)]
    assert store.top_scores("classes") == [("sqli", 1.5)]
    for i, path in enumerate(["/c", "/d", "/e"]):
        store.add_scores([(f"f{i}", [ScoreUpdate("paths", path, 2, 60, 3)])])
    assert store.top_scores("paths") == [("/a", 3.0), ("/e", 2.0), ("/d", 2.0)]
    with pytest.raises(ValueError):
        store.add_scores([("bad", [ScoreUpdate("paths", "/a", float("nan"), 60)])])


@both
def test_added_scores_expire_with_their_index(store: Store) -> None:
    store.add_scores([("e1", [ScoreUpdate("short", "m", 1, 0.3)])])
    assert store.top_scores("short") == [("m", 1.0)]
    deadline = time.monotonic() + 10
    while store.top_scores("short"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


@both
def test_incident_links_by_client_and_by_correlation_id(store: Store) -> None:
    now = time.time()
    first = store.record_incident("e1", incident(cid="c1", ts=now), gap=60, ttl=120)
    same_client = store.record_incident(
        "e2", incident(cid="c2", ts=now + 2, part="body:x", attack_class="xss", action="logged",
                       score=4.0), gap=60, ttl=120)
    other_client = store.record_incident(
        "e3", incident(client="198.51.100.7", cid="c1", ts=now - 1), gap=60, ttl=120)
    unrelated = store.record_incident("e4", incident(client="203.0.113.9"), gap=60, ttl=120)
    assert first.incident_id == same_client.incident_id == other_client.incident_id == "e1"
    assert unrelated.incident_id == "e4"
    record = store.get_incident("e1")
    assert record is not None
    assert record.events == 3
    assert record.first_seen == pytest.approx(now - 1)
    assert record.last_seen == pytest.approx(now + 2)
    assert record.max_score == 4.0
    assert record.clients == ("192.0.2.1", "198.51.100.7")
    assert record.correlation_ids == ("c1", "c2")
    assert record.parts == ("query:q", "body:x")
    assert record.classes == ("sqli", "xss")
    assert record.actions == ("blocked", "logged")
    assert [r.incident_id for r in store.list_incidents()] == ["e1", "e4"]
    assert [r.incident_id for r in store.list_incidents(1)] == ["e1"]
    assert store.get_incident("nope") is None


@both
def test_incident_is_idempotent_per_event(store: Store) -> None:
    store.record_incident("e1", incident(), gap=60, ttl=120)
    again = store.record_incident("e1", incident(), gap=60, ttl=120)
    assert again.duplicate and again.incident_id == "e1"
    batch = store.record_incidents([("e1", incident()), ("e2", incident())], gap=60, ttl=120)
    assert [r.duplicate for r in batch] == [True, False]
    record = store.get_incident("e1")
    assert record is not None and record.events == 2


@both
def test_quiet_client_opens_a_new_incident(store: Store) -> None:
    store.record_incident("e1", incident(), gap=0.2, ttl=60)
    time.sleep(0.4)
    later = store.record_incident("e2", incident(), gap=0.2, ttl=60)
    assert later.incident_id == "e2"


@both
def test_incident_lists_are_bounded(store: Store) -> None:
    for i in range(MAX_INCIDENT_ITEMS + 5):
        store.record_incident(f"e{i}", incident(part=f"query:p{i}", cid=f"c{i}" * 200),
                              gap=60, ttl=60)
    record = store.get_incident("e0")
    assert record is not None and record.events == MAX_INCIDENT_ITEMS + 5
    assert len(record.parts) == MAX_INCIDENT_ITEMS
    assert all(len(cid) <= 160 for cid in record.correlation_ids)


@both
def test_incidents_expire(store: Store) -> None:
    store.record_incident("e1", incident(), gap=0.2, ttl=0.3)
    deadline = time.monotonic() + 10
    while store.get_incident("e1") is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert store.list_incidents() == []


def test_pipeline_redis_keys_are_prefixed_with_ttls(redis_url: str, key_prefix: str) -> None:
    store = create_store(redis_url, prefix=key_prefix)
    try:
        store.tally("t", [TallyUpdate("g", "a", 1, 60), TallyUpdate("h", "b", 1, 600, track=False)])
        store.record_score("idx", "a", 1.0, ttl=60)
        store.add_scores([("e1", [ScoreUpdate("top", "/x", 1, 60)])])
        store.record_incidents([("e1", incident(cid="c1"))], gap=30, ttl=120)
        store.list_incidents()
    finally:
        store.close()
    raw = redis.Redis.from_url(redis_url)
    try:
        keys = sorted(k.decode() for k in raw.scan_iter(match=f"{key_prefix}*"))
        kinds = {key[len(key_prefix):].split(":", 1)[0] for key in keys}
        assert kinds == {"tally", "tallied", "scores", "scored", "incident", "incidents",
                         "incident-event", "incident-corr", "incident-client"}
        ttls = {key: raw.pttl(key) for key in keys}
        assert all(ttl > 0 for ttl in ttls.values()), ttls
        assert 590_000 < ttls[f"{key_prefix}tally:h"] <= 600_000
    finally:
        raw.close()


def test_batched_scripts_survive_a_script_flush(redis_url: str, key_prefix: str) -> None:
    store = create_store(redis_url, prefix=key_prefix)
    raw = redis.Redis.from_url(redis_url)
    try:
        store.tally_many([("t1", [TallyUpdate("g", "a", 1, 60)])])
        raw.script_flush()
        results = store.tally_many([("t1", [TallyUpdate("g", "a", 1, 60)]),
                                    ("t2", [TallyUpdate("g", "a", 1, 60)])])
        assert [r.duplicate for r in results] == [True, False]
        assert store.read_tally("g").members == {"a": 2}
    finally:
        raw.close()
        store.close()


def test_batches_of_many_script_calls_match_the_memory_store(
    redis_url: str, key_prefix: str
) -> None:
    # Larger than one script call takes, with repeats across the calls' boundaries. Whole
    # seconds, which Redis stores exactly (it keeps six decimals).
    now = float(int(time.time()))
    tallies = [(f"t{i % 150}", [TallyUpdate(f"g{i % 3}", f"m{i % 7}", i % 3, 60),
                                TallyUpdate("plain", f"m{i % 5}", 1, 60, track=False)])
               for i in range(200)]
    scores = [(f"s{i % 150}", [ScoreUpdate("top", f"/p{i % 9}", 1, 60, 5)]) for i in range(200)]
    incidents = [(f"e{i % 150}", incident(client=f"192.0.2.{i % 4}", cid=f"c{i % 11}",
                                          ts=now + i, part=f"query:p{i % 20}"))
                 for i in range(200)]
    strikes = [StrikeUpdate(f"198.51.100.{i % 3}", f"e{i % 150}", 60.0, 40, 60.0, "many")
               for i in range(200)]
    stores = [create_store("memory://"), create_store(redis_url, prefix=key_prefix)]
    raw = redis.Redis.from_url(redis_url)
    try:
        raw.script_flush()
        seen = []
        for store in stores:
            seen.append((
                store.tally_many(tallies),
                store.add_scores(scores),
                [r.incident_id for r in store.record_incidents(incidents, gap=600, ttl=600)],
                store.add_strikes(strikes),
                [store.read_tally(group) for group in ("g0", "g1", "g2", "plain")],
                store.top_scores("top"),
                store.list_incidents(),
                [store.strikes(f"198.51.100.{i}", 60) for i in range(3)],
                sorted(ban.key for ban in store.list_bans()),
            ))
        assert seen[0] == seen[1]
    finally:
        raw.close()
        for store in stores:
            store.close()


def test_memory_store_pipeline_state_stays_bounded() -> None:
    store = MemoryStore(max_keys=50, max_incidents=20)
    for i in range(500):
        store.tally(f"t{i}", [TallyUpdate(f"g{i}", "m", 1, 60)])
        store.record_score(f"idx{i}", "m", 1.0, ttl=60)
        store.add_scores([(f"s{i}", [ScoreUpdate(f"top{i}", "m", 1, 60)])])
        store.record_incident(f"e{i}", incident(client=f"10.0.{i // 256}.{i % 256}", cid=f"c{i}"),
                              gap=60, ttl=60)
    for table in (store._groups, store._tallied, store._scores, store._scored,
                  store._incident_events,
                  store._incident_links):
        assert len(table) <= 50
    assert len(store.list_incidents(1000)) <= 20
