"""Who may see the dashboard: the token, the session cookie derived from it, CSRF tokens.

The operator proves knowledge of ``dashboard_token`` once, by the ``Authorization: Bearer``
header or the login form. The form sets a session cookie ``{sid}.{issued}.{mac}`` whose ``mac``
is an HMAC keyed by the token, so the cookie never holds the token, every web process can check
it without shared session state, and changing the token ends every session. The CSRF token of a
session is another HMAC of its ``sid``: per session, and nothing to store. All comparisons are
``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Request

COOKIE_NAME = "guard_dashboard"
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    """An authenticated caller: ``sid`` names a cookie session, or is ``bearer``."""

    sid: str
    method: str

    @property
    def is_cookie(self) -> bool:
        """The caller came with the session cookie (so a POST needs the CSRF defence)."""
        return self.method == "cookie"


def _mac(token: str, purpose: str, message: str) -> str:
    return hmac.new(token.encode(), f"{purpose}\n{message}".encode(), hashlib.sha256).hexdigest()


def token_matches(token: str, given: str) -> bool:
    """``given`` is the dashboard token (constant time)."""
    return hmac.compare_digest(token.encode(), given.encode())


def new_cookie(token: str, now: float | None = None) -> str:
    """A fresh session cookie value."""
    sid = os.urandom(16).hex()
    issued = str(int(time.time() if now is None else now))
    return f"{sid}.{issued}.{_mac(token, 'session', f'{sid}.{issued}')}"


def session_from_cookie(token: str, value: str, now: float | None = None) -> Session | None:
    """The session a cookie value proves, or None (forged, malformed or expired)."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    sid, issued, mac = parts
    if not hmac.compare_digest(_mac(token, "session", f"{sid}.{issued}").encode(), mac.encode()):
        return None
    age = (time.time() if now is None else now) - int(issued)
    return Session(sid, "cookie") if 0 <= age <= SESSION_SECONDS else None


def authenticate(token: str, request: Request) -> Session | None:
    """The caller's session from the bearer header or the cookie, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and given:
        return Session("bearer", "bearer") if token_matches(token, given.strip()) else None
    cookie = request.cookies.get(COOKIE_NAME)
    return session_from_cookie(token, cookie) if cookie else None


def csrf_token(token: str, session: Session) -> str:
    """The CSRF token of ``session``."""
    return _mac(token, "csrf", session.sid)


def csrf_ok(token: str, session: Session, given: str) -> bool:
    """``given`` is the CSRF token of ``session`` (constant time)."""
    return hmac.compare_digest(csrf_token(token, session).encode(), given.encode())


def same_origin(request: Request) -> bool:
    """The request says it comes from a page of this host: its ``Origin``, or without one its
    ``Referer``, names the host the request was sent to. Neither header: not same-origin."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not source or source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.host.lower()
