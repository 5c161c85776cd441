"""Take a Flask request apart into the values that get screened.

Every place an attacker can put text is visited: the path, each query key and value (repeated
keys too), headers, cookies, form fields, every key and leaf of a JSON body, a raw text body,
multipart file names and the first bytes of each uploaded file. The walk is bounded in count,
depth and bytes; when a bound is reached the rest is not dropped silently: the remaining raw body
is screened as one value and the result says the request was truncated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from flask import Request, current_app
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.utils import get_content_length

LOW_RISK_HEADERS = frozenset(
    {
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-length",
        "dnt",
        "if-modified-since",
        "if-none-match",
        "pragma",
        "sec-fetch-dest",
        "sec-fetch-mode",
        "sec-fetch-site",
        "sec-fetch-user",
        "upgrade-insecure-requests",
        "priority",
    }
)
"""Headers skipped when, and only when, their value is in the plain safe alphabet below."""

_SAFE_HEADER_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,;=*/+.:-_"
)
_SKIPPED_HEADERS = frozenset({"cookie"})
_URL_QUOTE_ERRORS = "werkzeug.url_quote"
"""werkzeug's codec error handler (registered when werkzeug is imported, as Flask does)."""


def _environ_name(header: str) -> str:
    return header.upper().replace("-", "_")


_SKIPPED_ENVIRON = frozenset("HTTP_" + _environ_name(h) for h in _SKIPPED_HEADERS)
_LOW_RISK_NAMES = frozenset(map(_environ_name, LOW_RISK_HEADERS))
_BODY_ENVIRON = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_BODY_HEADER_KEYS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})
# WSGI and CGI keys that are not headers, and headers never screened here: what is left of an
# environ after removing these is the handful of keys worth a look.
_NOT_SCREENED_ENVIRON = _SKIPPED_ENVIRON | _BODY_HEADER_KEYS | frozenset({
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE", "REMOTE_ADDR", "REMOTE_PORT", "REMOTE_HOST",
    "REQUEST_URI", "RAW_URI", "GATEWAY_INTERFACE", "wsgi.version", "wsgi.url_scheme",
    "wsgi.input", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
    "wsgi.input_terminated", "wsgi.file_wrapper", "werkzeug.request", "werkzeug.socket",
    "werkzeug.debug.preserve_context", "werkzeug.server.shutdown", "gunicorn.socket",
    "asgi.scope",
})


@dataclass(frozen=True)
class Limits:
    """Bounds on how much of one request is taken apart."""

    max_parts: int = 512
    max_json_depth: int = 64
    max_body_bytes: int = 1_000_000
    upload_sniff_bytes: int = 2048


class Part(NamedTuple):
    """One screened value: where it came from (``location``), its ``name`` and its ``value``.

    A named tuple rather than a frozen dataclass: a request makes dozens of these, and a frozen
    dataclass sets each field through ``object.__setattr__``, several times slower."""

    location: str
    name: str
    value: str


# A named tuple's own constructor is a Python function; the walk builds a part per value, so it
# builds them as tuples of the class, at C speed.
_new = tuple.__new__


def header_is_low_risk(name: str, value: str) -> bool:
    """True for a low-risk header whose value uses only the plain safe alphabet."""
    return name.lower() in LOW_RISK_HEADERS and _SAFE_HEADER_CHARS.issuperset(value)


def json_strings(document: Any, body: str) -> list[str]:
    """The strings of the JSON ``document`` parsed from ``body``, keys included: exactly the
    text the application reads. A body without a backslash holds no escape, so each of its
    quotes delimits a string and splitting at them gives the same strings in one C-level call
    (most bodies hold no escape); a body with escapes is walked, so that a string reads as
    decoded (``\\u003c`` is ``<``), as ``detect()`` would read the same value."""
    if "\\" not in body:
        return body.split('"')[1::2]
    found: list[str] = []
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            found.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def content_length(environ: dict[str, Any]) -> int | None:
    """``request.content_length``, read as werkzeug reads it (``None`` for a chunked body) but
    straight from the environ instead of through its header view."""
    return get_content_length(environ.get("CONTENT_LENGTH"),
                              environ.get("HTTP_TRANSFER_ENCODING"))


BodyFilter = Callable[[list[str]], bool]
"""Given a JSON body's strings (:func:`json_strings`), True when no part of it can be a threat."""


def request_parts(
    request: Request,
    limits: Limits | None = None,
    body_is_clean: BodyFilter | None = None,
    skip: frozenset[str] = frozenset(),
) -> tuple[list[Part], bool]:
    """Return the request's screenable parts and whether any bound cut the walk short.

    With ``body_is_clean``, a JSON body is first offered whole (see :func:`json_strings`);
    when it is declared clean, its keys and leaves are not taken apart at all. ``skip`` may name
    ``"query"`` and ``"cookie"``: the caller already knows those parts are clean, and they are
    neither parsed nor returned.
    """
    limits = limits or Limits()
    parts: list[Part] = []
    walk = _walk(request, limits, body_is_clean, skip)
    for part in walk:
        if len(parts) >= limits.max_parts:
            rest = _remainder(part, walk, limits.max_body_bytes)
            parts.append(Part("body", "(remainder)", rest))
            return parts, True
        parts.append(part)
    return parts, False


def _remainder(first: Part, walk: Iterator[Part], budget: int) -> str:
    """Every value the walk has left, one per line, as far as ``budget`` characters: what
    is past the part limit is screened as one value instead of being dropped. Walking on is
    cheap here: a parsed form or JSON document is already in memory, and its stream cannot be
    read a second time."""
    values = [first.value]
    size = len(first.value)
    for part in walk:
        if size >= budget:
            break
        values.append(part.value)
        size += len(part.value) + 1
    return "\n".join(values)[:budget]


def _walk(
    request: Request, limits: Limits, body_is_clean: BodyFilter | None, skip: frozenset[str]
) -> Iterator[Part]:
    environ = request.environ
    yield _new(Part, ("path", "path", request.path))
    if "query" not in skip:
        for key, values in request.args.lists():
            yield _new(Part, ("query_key", key, key))
            for value in values:
                yield _new(Part, ("query", key, value))
    # Straight from the WSGI environ, as werkzeug's EnvironHeaders reads it: one set difference
    # at C speed leaves the few keys that can be screened headers, sorted so that every process
    # reports the same part first.
    for key in sorted(environ.keys() - _NOT_SCREENED_ENVIRON):
        value = environ[key]
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in _BODY_ENVIRON and value:
            name = key
        else:
            continue
        if name in _LOW_RISK_NAMES and _SAFE_HEADER_CHARS.issuperset(value):
            continue
        yield _new(Part, ("header", name.replace("_", "-").title(), value))
    # werkzeug finds the Cookie header by walking the whole environ: only ask when there is one.
    if "cookie" not in skip and environ.get("HTTP_COOKIE"):
        for name, value in request.cookies.items(multi=True):
            yield _new(Part, ("cookie_key", name, name))
            yield _new(Part, ("cookie", name, value))
    yield from _body_parts(request, limits, body_is_clean)


def _body_parts(
    request: Request, limits: Limits, body_is_clean: BodyFilter | None
) -> Iterator[Part]:
    environ = request.environ
    length = content_length(environ)
    if not length and "HTTP_TRANSFER_ENCODING" not in environ:
        return
    if length is not None and length > limits.max_body_bytes:
        yield _new(Part, ("body", "(oversized)", _body_text(request, limits)))
        return
    mimetype = request.mimetype or ""
    if mimetype == "application/x-www-form-urlencoded":
        # Parsed here from the cached bytes, which the app's own form parsing then reuses:
        # werkzeug returns an empty form for a body that is not valid UTF-8, which would let
        # everything in it through unseen. Escapes that are not UTF-8 (%C0%AE) stay as written,
        # exactly as werkzeug hands them to the app, so the normaliser still reads them.
        for key, value in parse_qsl(_body_text(request, limits), keep_blank_values=True,
                                    errors=_URL_QUOTE_ERRORS):
            yield _new(Part, ("form_key", key, key))
            yield _new(Part, ("form", key, value))
        return
    if mimetype == "multipart/form-data":
        for key, values in request.form.lists():
            yield _new(Part, ("form_key", key, key))
            for value in values:
                yield _new(Part, ("form", key, value))
        for field_name, storage in request.files.items(multi=True):
            yield _new(Part, ("filename", field_name, storage.filename or ""))
            head = storage.stream.read(limits.upload_sniff_bytes)
            storage.stream.seek(0)
            yield _new(Part, ("file_content", field_name, head.decode("utf-8", "replace")))
        return
    body = _body_text(request, limits)
    if not body:
        return
    is_json = request.is_json
    if is_json or body.lstrip()[:1] in ("{", "["):
        parsed = _app_json(request, body) if is_json else _UNPARSED
        if parsed is _UNPARSED:
            parsed = _parse_json(body)
        if parsed is not _UNPARSED:
            if body_is_clean is not None and body_is_clean(json_strings(parsed, body)):
                return
            yield from _json_parts(parsed, limits.max_json_depth, body)
            return
    yield _new(Part, ("body", "body", body))


def _body_text(request: Request, limits: Limits) -> str:
    data = request.get_data(cache=True)[: limits.max_body_bytes]
    return data.decode("utf-8", "replace")


_UNPARSED = object()
_NAME_LIMIT = 200


def _app_json(request: Request, body: str) -> Any:
    """The document as the application will read it, parsed once: ``get_json`` caches it, so
    a view that calls it gets this same object instead of parsing the body a second time.

    Only with Flask's own JSON provider, which is strict JSON: a lenient one (JSON5, single
    quotes, comments) would accept a body whose quotes do not delimit its strings, and the
    prefilter reads strings by their quotes; an exotic one may raise what ``silent`` does not
    catch. And only for a body that is UTF-8 text (no NUL byte, which valid UTF-8 JSON never
    holds raw): ``get_json`` also reads UTF-16 and UTF-32, whose prefilter text would not be the
    document. ``_UNPARSED`` when any of this does not hold or the body is not JSON; the caller
    then parses the text itself with the standard library, as for a body not labelled JSON."""
    if "\x00" in body or type(current_app.json).loads is not DefaultJSONProvider.loads:
        return _UNPARSED
    try:
        document = request.get_json(silent=True)
    except Exception:
        return _UNPARSED
    if document is None and body.strip() != "null":
        return _UNPARSED
    return document


def _parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _UNPARSED


def _json_parts(document: Any, max_depth: int, raw: str) -> Iterator[Part]:
    stack: list[tuple[str, Any, int]] = [("$", document, 0)]
    while stack:
        path, node, depth = stack.pop()
        if depth > max_depth:
            yield _new(Part, ("body", "(too deep)", raw))
            return
        if isinstance(node, dict):
            for key, value in node.items():
                yield _new(Part, ("json_key", path, str(key)))
                stack.append((f"{path}.{key}"[:_NAME_LIMIT], value, depth + 1))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                stack.append((f"{path}[{index}]"[:_NAME_LIMIT], value, depth + 1))
        elif isinstance(node, str):
            yield _new(Part, ("json", path, node))
        elif node is not None and not isinstance(node, bool | int | float):
            yield _new(Part, ("json", path, str(node)))
