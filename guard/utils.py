"""Helpers for use inside Flask views, including the spec's ``detect_penetration_attempt``."""

from __future__ import annotations

from typing import Any

from flask import Request

from guard.handlers.suspatterns_handler import sus_patterns_handler
from guard.logsafe import safe
from guard.request_parts import Part, request_parts

LOCATION_LABELS = {
    "path": "URL path",
    "query_key": "query parameter name",
    "query": "query parameter",
    "header": "header",
    "cookie_key": "cookie name",
    "cookie": "cookie",
    "form_key": "form field name",
    "form": "form field",
    "json_key": "JSON key",
    "json": "JSON field",
    "body": "request body",
    "filename": "upload file name",
    "file_content": "uploaded file content",
}

CLASS_LABELS = {
    "sqli": "SQL injection",
    "xss": "XSS",
    "cmdi": "Command injection",
    "path_traversal": "Path traversal",
    "ssti": "Template injection",
    "crlf": "HTTP response splitting",
    "ldap": "LDAP injection",
    "xml": "XML injection",
    "nosql": "NoSQL injection",
    "file_upload": "Malicious upload",
    "custom": "Custom pattern",
}


def describe(part: Part, result: dict[str, Any]) -> str:
    """One human sentence for a detection, with the attacker's names escaped and bounded."""
    label = CLASS_LABELS.get(result.get("attack_class") or "", "Suspicious input")
    where = LOCATION_LABELS.get(part.location, part.location)
    return f"{label} attempt in {where} {safe(part.name, 64)!s}"


def detect_penetration_attempt(request: Request) -> tuple[bool, str]:
    """Screen every part of ``request``; return ``(is_suspicious, trigger_info)``.

    ``trigger_info`` names the attack class and the part that matched, or is empty.
    """
    parts, _truncated = request_parts(request)
    for part in parts:
        result = sus_patterns_handler.detect(
            part.value, ip_address=request.remote_addr, context=part.location
        )
        if result["is_threat"]:
            return True, describe(part, result)
    return False, ""
