"""Taking a request apart: which headers are screened and under which names."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
from flask import Flask, request

from guard.request_parts import Limits, request_parts


def _headers(headers: dict[str, str], **options: str) -> dict[str, str]:
    app = Flask(__name__)
    with app.test_request_context("/p", headers=headers, **options):
        return {p.name: p.value for p in request_parts(request)[0] if p.location == "header"}


def test_screened_headers_keep_their_names_and_low_risk_plain_ones_are_skipped() -> None:
    seen = _headers(
        {
            "User-Agent": "Mozilla/5.0",
            "Accept": "text/html,*/*;q=0.8",
            "Accept-Language": "en;<svg onload=alert(1)>",
            "X-Forwarded-For": "1.2.3.4",
            "X-Custom-Thing": "v",
            "Cookie": "a=b",
        },
        method="POST", data="x=1", content_type="application/x-www-form-urlencoded",
    )
    assert seen == {
        "Host": "localhost",
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Mozilla/5.0",
        "Accept-Language": "en;<svg onload=alert(1)>",
        "X-Forwarded-For": "1.2.3.4",
        "X-Custom-Thing": "v",
    }


def test_a_low_risk_header_with_an_unsafe_character_is_screened() -> None:
    assert _headers({"Accept": "text/html'--"})["Accept"] == "text/html'--"
    assert "Content-Length" not in _headers({}, method="POST", data="abc")


ATTACK = "1' UNION SELECT password FROM users--"


def _guarded() -> Flask:
    import guard

    app = Flask(__name__)
    guard.FlaskAPIGuard(app, config=guard.SecurityConfig(auto_ban_threshold=10**6,
                                                         share_patterns=False))

    @app.post("/")
    def echo() -> dict[str, str]:
        return dict(request.form)

    return app


def test_the_app_still_reads_the_form_guard_parsed() -> None:
    response = _guarded().test_client().post("/", data={"name": "Seán", "city": "Köln"})
    assert response.status_code == 200 and response.json == {"name": "Seán", "city": "Köln"}


def test_a_form_that_is_not_utf8_is_still_screened() -> None:
    body = b"q=\xff\xfe\xc3(" + urllib.parse.quote_plus(ATTACK).encode()
    response = _guarded().test_client().post(
        "/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403


def test_fields_past_the_part_limit_are_screened_as_one_remainder() -> None:
    fields = [(f"f{i}", "x") for i in range(599)] + [("q", ATTACK)]
    body = urllib.parse.urlencode(fields)
    assert _guarded().test_client().post(
        "/", data=body, content_type="application/x-www-form-urlencoded").status_code == 403
    app = Flask(__name__)
    with app.test_request_context("/", method="POST", data=body,
                                  content_type="application/x-www-form-urlencoded"):
        parts, truncated = request_parts(request, Limits(max_parts=100))
    assert truncated and len(parts) == 101
    assert parts[-1].name == "(remainder)" and parts[-1].value.endswith(ATTACK)


def test_form_escapes_that_are_not_utf8_reach_the_normaliser() -> None:
    # Overlong UTF-8 for ../../etc/passwd: werkzeug hands the app the escapes as written.
    body = "f=%C0%AE%C0%AE%C0%AF%C0%AE%C0%AE%C0%AFetc%C0%AFpasswd"
    response = _guarded().test_client().post(
        "/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403


@pytest.mark.parametrize("payload", ["'\n||\n'a'=='a", "1'\nUNION\nSELECT\npassword\nFROM\nusers--",
                                     "<svg\nonload=alert(1)>", "1;\ncat\t/etc/passwd"])
def test_json_escaped_whitespace_is_read_as_the_app_reads_it(payload: str) -> None:
    from guard.handlers.suspatterns_handler import sus_patterns_handler

    assert sus_patterns_handler.engine.detect(payload)["is_threat"]
    response = _guarded().test_client().post("/", json={"order": {"note": payload}})
    assert response.status_code == 403


def test_a_body_of_many_model_worthy_strings_is_still_screened_in_bounded_time() -> None:
    body = {"items": [f"see docs/page{i}.html now" for i in range(5_000)]}
    body["items"].append("1' UNION SELECT password FROM users--")
    started = time.monotonic()
    response = _guarded().test_client().post("/", json=body)
    assert time.monotonic() - started < 10  # catches a stall only
    assert response.status_code == 403


def test_a_route_with_a_larger_body_limit_has_its_whole_body_screened() -> None:
    import guard

    app = Flask(__name__)
    extension = guard.FlaskAPIGuard(app, config=guard.SecurityConfig(
        max_request_size=4096, auto_ban_threshold=10**6, share_patterns=False))

    @app.post("/big")
    @extension.route(max_request_size=1_000_000)
    def big() -> str:
        return "ok"

    text = "plain words " * 2_000 + "1' UNION SELECT password FROM users--"
    response = app.test_client().post("/big", data=text, content_type="text/plain")
    assert response.status_code == 403


def test_the_view_reads_the_json_document_guard_parsed() -> None:
    app = _guarded()
    seen: list[object] = []

    @app.post("/doc")
    def doc() -> str:
        seen.append(request.get_json())
        return "ok"

    assert app.test_client().post("/doc", json={"note": "blue shoes"}).status_code == 200
    assert seen == [{"note": "blue shoes"}]
    app2 = Flask(__name__)
    with app2.test_request_context("/", method="POST", json={"a": ["b", "1' OR '1'='1"]}):
        parts, _ = request_parts(request)
        assert request._cached_json[0] == {"a": ["b", "1' OR '1'='1"]}
        assert ("json", "$.a[1]", "1' OR '1'='1") in parts


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le"])
def test_json_in_another_unicode_encoding_is_still_screened(encoding: str) -> None:
    body = '{"q": "1\' UNION SELECT password FROM users--"}'.encode(encoding)
    app = _guarded()
    response = app.test_client().post("/", data=body, content_type="application/json")
    assert response.status_code == 403


@pytest.mark.parametrize("indent", [None, 2])
def test_a_pretty_printed_json_attack_is_refused(indent: int | None) -> None:
    import json

    body = json.dumps({"order": {"items": ["mug", "<img src=x onerror=alert(1)>"]}},
                      indent=indent)
    response = _guarded().test_client().post("/", data=body, content_type="application/json")
    assert response.status_code == 403


class _NotAValueError(Exception):
    """What some JSON libraries raise on bad input (msgspec's DecodeError is no ValueError)."""


def _app_with_provider(loads: Any) -> Flask:
    from flask.json.provider import DefaultJSONProvider

    import guard

    class Provider(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            return loads(s)

    app = Flask(__name__)
    app.json = Provider(app)
    guard.FlaskAPIGuard(app, config=guard.SecurityConfig(auto_ban_threshold=10**6,
                                                         share_patterns=False))

    @app.route("/api", methods=["GET", "POST"])
    def api() -> dict[str, Any]:
        return {"q": request.args.get("q"), "body": request.get_data(as_text=True)}

    return app


def test_a_json_provider_that_raises_its_own_errors_does_not_open_the_request() -> None:
    import json

    def strict(s: str | bytes) -> Any:
        try:
            return json.loads(s)
        except ValueError as exc:
            raise _NotAValueError(str(exc)) from None

    client = _app_with_provider(strict).test_client()
    attack = {"q": "1' UNION SELECT password FROM users--"}
    assert client.get("/api", query_string=attack, data="{",
                      content_type="application/json").status_code == 403


@pytest.mark.parametrize("body", ["{'q': '1\\' UNION SELECT password FROM users--'}",
                                  "{'q': '<script>alert(document.cookie)</script>'}"])
def test_a_lenient_json_provider_does_not_hide_single_quoted_strings(body: str) -> None:
    import ast

    def lenient(s: str | bytes) -> Any:
        return ast.literal_eval(s.decode() if isinstance(s, bytes) else s)

    client = _app_with_provider(lenient).test_client()
    assert client.post("/api", data=body, content_type="application/json").status_code == 403
