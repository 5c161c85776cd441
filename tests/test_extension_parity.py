"""The extension catches at least what ``detect()`` catches, for the same value placed in a
query parameter or in a JSON body field (and never flags more benign values there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from guard import FlaskAPIGuard, SecurityConfig
from guard.handlers.suspatterns_handler import sus_patterns_handler

CORPORA = Path(__file__).resolve().parent / "corpora"


def _sample(name: str, label: str, stride: int) -> list[str]:
    with (CORPORA / name).open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [r["payload"] for r in rows if r["label"] == label][::stride]


@pytest.fixture(scope="module")
def client() -> object:
    app = Flask(__name__)
    FlaskAPIGuard(app, config=SecurityConfig(auto_ban_threshold=10**9, share_patterns=False))

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return "ok"

    return app.test_client()


def _blocked(client: object, payload: str, placement: str) -> bool:
    if placement == "query":
        response = client.get("/", query_string={"q": payload})  # type: ignore[attr-defined]
    else:
        response = client.post("/", json={"order": {"note": payload}})  # type: ignore[attr-defined]
    return bool(response.status_code != 200)


@pytest.mark.parametrize("placement", ["query", "json"])
@pytest.mark.parametrize(("corpus", "stride"), [("dev.jsonl", 5), ("heldout.jsonl", 1)])
def test_every_value_detect_flags_is_blocked(client: object, placement: str, corpus: str,
                                             stride: int) -> None:
    engine = sus_patterns_handler.engine
    flagged = [p for p in _sample(corpus, "attack", stride) if engine.detect(p)["is_threat"]]
    missed = [p for p in flagged if not _blocked(client, p, placement)]
    assert len(flagged) > 300
    assert not missed, missed[:10]


@pytest.mark.parametrize("placement", ["query", "json"])
def test_benign_values_pass_where_detect_passes_them(client: object, placement: str) -> None:
    engine = sus_patterns_handler.engine
    clean = [p for p in _sample("dev.jsonl", "benign", 10) if not engine.detect(p)["is_threat"]]
    blocked = [p for p in clean if _blocked(client, p, placement)]
    assert len(clean) > 1000
    assert len(blocked) <= len(clean) // 1000, blocked[:10]
