"""Taking a request apart: which headers are screened and under which names."""

from __future__ import annotations

from flask import Flask, request

from guard.request_parts import request_parts


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
