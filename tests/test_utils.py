"""``detect_penetration_attempt`` screens every part of a real Flask request."""

from __future__ import annotations

import io

import pytest
from flask import Flask, jsonify, request

from guard.logsafe import safe
from guard.utils import detect_penetration_attempt


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    app = Flask(__name__)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT"])
    def catch_all(path: str):  # type: ignore[no-untyped-def]
        suspicious, info = detect_penetration_attempt(request)
        return jsonify({"suspicious": suspicious, "info": info})

    return app.test_client()


ATTACK = "1' UNION SELECT password FROM users--"


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"path": "/search", "query_string": {"q": ATTACK}}, "query parameter q"),
        ({"path": "/search", "query_string": {ATTACK: "x"}}, "query parameter name"),
        ({"path": "/search?q=ok&q=" + "%3Cscript%3Ealert(1)%3C/script%3E"}, "query parameter q"),
        ({"path": "/x", "headers": {"User-Agent": "() { :;}; /bin/bash -c id"}}, "header"),
        ({"path": "/x", "method": "POST", "data": {"bio": ATTACK}}, "form field bio"),
        ({"path": "/x", "method": "POST", "json": {"a": {"b": [1, {"c": ATTACK}]}}}, "JSON field"),
        ({"path": "/x", "method": "POST", "json": {ATTACK: 1}}, "JSON key"),
        ({"path": "/x", "method": "PUT", "data": "{not json " + ATTACK,
          "content_type": "application/json"}, "request body"),
        ({"path": "/x", "method": "POST", "data": ATTACK, "content_type": "text/plain"},
         "request body"),
        ({"path": "/x", "method": "POST", "data": {"f": (io.BytesIO(b"\x89PNG"), "shell.php.jpg")},
          "content_type": "multipart/form-data"}, "upload file name"),
        ({"path": "/x", "method": "POST",
          "data": {"f": (io.BytesIO(b"GIF89a<?php system($_GET['c']); ?>"), "cat.gif")},
          "content_type": "multipart/form-data"}, "uploaded file content"),
        ({"path": "/files/..%2f..%2f..%2fetc%2fpasswd"}, "URL path"),
    ],
)
def test_each_part_is_screened(client, kwargs: dict, where: str) -> None:  # type: ignore[no-untyped-def]
    method = kwargs.pop("method", "GET")
    response = client.open(method=method, **kwargs)
    assert response.status_code == 200
    body = response.json
    assert body["suspicious"] is True, body
    assert where in body["info"]


def test_cookie_is_screened(client) -> None:  # type: ignore[no-untyped-def]
    client.set_cookie("session", "../../../../etc/passwd")
    body = client.get("/x").json
    assert body["suspicious"] is True and "cookie session" in body["info"]


def test_benign_request_passes(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/checkout?sort=-created_at&page=2",
        json={"name": "Seán O'Brien", "note": "Ring twice & leave it by the door", "qty": 2},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
                 "Accept-Language": "en-GB,en;q=0.9"},
    )
    assert response.json == {"suspicious": False, "info": ""}


def test_deep_json_is_screened_as_text(client) -> None:  # type: ignore[no-untyped-def]
    deep = "[" * 5000 + '"<script>alert(1)</script>"' + "]" * 5000
    response = client.post("/x", data=deep, content_type="application/json")
    assert response.status_code == 200
    assert response.json["suspicious"] is True


def test_trigger_info_escapes_names(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/x", query_string={"a\r\nb": "<script>alert(1)</script>"})
    info = response.json["info"]
    assert "\r" not in info and "\n" not in info and "a\\r\\nb" in info


def test_safe_escapes_and_bounds() -> None:
    assert safe("a\r\nb\x1b[31m") == "a\\r\\nb\\x1b[31m"
    long = safe("x" * 1000, 10)
    assert long.startswith("x" * 10) and "(+990)" in long
