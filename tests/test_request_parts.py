"""Taking a request apart: which headers are screened and under which names."""

from __future__ import annotations

import urllib.parse

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
