"""Token checks for the page, the REST API and the Socket.IO feed.

One shared token, compared in constant time. API and feed clients send it as
an ``Authorization: Bearer`` header (REST clients, Prometheus) or in the
Socket.IO ``auth`` payload. A browser opens the page once with ``?token=``
(the link ``moodstream url`` prints): the dashboard exchanges it for an
HttpOnly, SameSite=Strict cookie and redirects to the bare URL, so the token
stays out of the address bar, history, bookmarks and proxies' logs; the page,
its API calls and its feed then use the cookie. The query string is accepted
nowhere else. A dashboard reachable from other hosts must have a token:
exposing cameras without it is a configuration error, not a warning.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

from moodstream.config import ConfigError, DashboardSettings

MIN_TOKEN_LEN = 16
COOKIE = "moodstream_session"


def session_value(token: str) -> str:
    """The cookie's value: derived from the token, so the cookie never holds the token itself."""
    return hmac.new(token.encode(), b"moodstream dashboard session", hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(cfg: DashboardSettings) -> None:
    """A production config (listening beyond loopback) needs a real token."""
    if is_loopback(cfg.host):
        return
    if len(cfg.token) < MIN_TOKEN_LEN:
        raise ConfigError(
            f"dashboard.token: a token of at least {MIN_TOKEN_LEN} characters is required when "
            f"dashboard.host ({cfg.host!r}) is not a loopback address; set MOODSTREAM_DASHBOARD_TOKEN"
        )


def host_allowed(host_header: str | None, bind: str) -> bool:
    """Without a token, only requests addressed to the bind address or a loopback name are served.

    Why: a page on any site can point its own DNS name at 127.0.0.1 (DNS rebinding) and then read a
    token-less dashboard as same-origin; the browser still sends that name in ``Host``.
    """
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host in {bind.lower(), "localhost"} or is_loopback(host)


def token_matches(expected: str, given: Any) -> bool:
    if not expected:
        return True
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def bearer(headers: Mapping[str, str]) -> str | None:
    header = headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def authorized(
    expected: str, headers: Mapping[str, str], cookies: Mapping[str, str], auth: Any = None
) -> bool:
    """A request (or a feed connection) that presents the token: as a Bearer header, in the Socket.IO
    ``auth`` payload, or as the page's session cookie."""
    if not expected:
        return True
    if isinstance(auth, dict) and token_matches(expected, auth.get("token")):
        return True
    if token_matches(expected, bearer(headers)):
        return True
    return token_matches(session_value(expected), cookies.get(COOKIE))
