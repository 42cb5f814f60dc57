"""Secrets out of everything shown or logged.

A camera URL such as ``rtsp://admin:pw@cam/stream?token=t`` reaches error messages, heartbeats and from
there every viewer, the REST API, Prometheus and the log files. Redacting at each of those places would
miss one; so sources describe themselves redacted, heartbeat errors pass through ``redact``, and every
log handler formats through ``RedactingFormatter`` (tracebacks included) as the last line of defence.
Values registered with ``register_secret`` (the dashboard token, the Redis password, Spotify's secret)
are masked wherever they appear.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
# Query parameters whose values are credentials (compared case-insensitively).
SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "token",
        "key",
        "apikey",
        "api_key",
        "secret",
        "auth",
        "access_token",
        "signature",
        "sig",
        "credentials",
        "user",
        "username",
    }
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value in everything ``redact`` touches (values under 4 characters are ignored)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact_url(url: str) -> str:
    """The URL with its userinfo and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={MASK if k.lower() in SECRET_PARAMS else v}" for k, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str) -> str:
    """Every URL in ``text`` redacted, and every registered secret masked."""
    if not text:
        return text
    out = _URL.sub(lambda m: redact_url(m.group(0)), text)
    for secret in _secrets:
        out = out.replace(secret, MASK)
    return out


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, arguments and traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact_log_handlers(logger: logging.Logger | None = None) -> None:
    """Wrap the formatter of every handler on ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            continue
        fmt = current._fmt if current is not None else None  # noqa: SLF001 - re-use its format
        datefmt = current.datefmt if current is not None else None
        handler.setFormatter(RedactingFormatter(fmt, datefmt))
