"""Secrets out of everything shown or logged.

A camera URL such as ``rtsp://admin:pw@cam/stream?token=t`` reaches error messages, heartbeats and from
there every viewer, the REST API, Prometheus and the log files. Redacting at each of those places would
miss one; so sources describe themselves redacted, heartbeat errors pass through ``redact``, and every
log handler formats through ``RedactingFormatter`` (tracebacks included) as the last line of defence.
Values registered with ``register_secret`` (the dashboard token, the Redis password, Spotify's secret)
are masked wherever they appear.
"""

from __future__ import annotations

import atexit
import base64
import logging
import os
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

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


def register_url_secrets(url: str) -> None:
    """Mask a URL's password and secret query values on their own too: a native library may quote them
    outside the URL (``user:password``, a query string)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    register_secret(parts.password)
    if parts.username and parts.password:  # HTTP and RTSP Basic auth send base64("user:password")
        register_secret(
            base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password)}".encode()).decode()
        )
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in SECRET_PARAMS:
            register_secret(value)


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


MAX_LINE = 65536  # a native line longer than this (progress output without newlines) goes out in parts


def redact_native_stderr() -> None:
    """Route this process's file descriptor 2 through ``redact``.

    Native libraries (FFmpeg inside OpenCV, GStreamer) write to fd 2 directly, bypassing logging, and an
    FFmpeg error can quote a camera's URL with its password. A pipe replaces fd 2 and a thread writes
    each line, redacted, to the original stderr; at exit fd 2 is restored and the last lines flushed."""
    original, restore = os.dup(2), os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        pending = b""
        with os.fdopen(read_end, "rb", buffering=0) as src, os.fdopen(original, "wb", buffering=0) as dst:
            while chunk := src.read(MAX_LINE):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if len(pending) > MAX_LINE:
                    lines, pending = [*lines, pending], b""
                for line in lines:
                    dst.write(redact(line.decode("utf-8", "replace")).encode() + b"\n")
            if pending:
                dst.write(redact(pending.decode("utf-8", "replace")).encode())

    thread = threading.Thread(target=pump, name="stderr-redact", daemon=True)
    thread.start()

    def finish() -> None:
        os.dup2(restore, 2)  # the pipe's last writer goes: the pump reads to its end and stops
        thread.join(timeout=2)

    atexit.register(finish)
