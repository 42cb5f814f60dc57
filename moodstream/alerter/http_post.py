"""One webhook POST that delivers or fails loudly.

- A redirect is a failure: following a 301/302/303 would turn the POST into a GET (its body lost, the
  alert counted as delivered) to wherever the receiver points, internal addresses included.
- ``https://`` is required, except for a loopback receiver or a rule that says ``allow_http``.
- One deadline covers the whole request (connecting, sending, the status, the headers and the body): a
  timer shuts the socket down when it passes, so a receiver that drips a byte at a time cannot hold the
  sender.
- At most 64 KiB of the response is read.
- Unless ``[webhook] allow_private``, a host that resolves to a private, link-local, shared or metadata
  address is refused, and the connection goes to the address that was checked (no second lookup).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 64 * 1024


class WebhookError(OSError):
    """The POST failed: the reason says why, and never carries the URL (it may hold a secret)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve(host: str, port: int, allow_private: bool) -> tuple[str, int]:
    """The address to connect to: checked unless the host is loopback or private ones are allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookError(f"cannot resolve the webhook's host: {exc.strerror}") from None
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if allow_private or _is_loopback(host) or address.is_global:
            return str(address), int(sockaddr[1])
    raise WebhookError(
        "the webhook's host resolves to a private, link-local or metadata address "
        "([webhook] allow_private = true allows it)"
    )


def check_url(url: str, allow_http: bool) -> None:
    """Refuse, in one line, a URL the sender would not POST to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("the webhook URL must be an http(s):// URL with a host")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise WebhookError(
            "the webhook URL must be https:// (http:// only for loopback, or allow_http = true)"
        )


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to an address already checked, verifying the certificate for the URL's host name."""

    def __init__(self, host: str, address: tuple[str, int], timeout: float) -> None:
        super().__init__(host, address[1], timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection(self._address, self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def _connection(url: str, timeout_s: float, allow_private: bool) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolve(host, port, allow_private)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        return _Pinned(host, address, timeout_s), path
    conn = http.client.HTTPConnection(address[0], address[1], timeout=timeout_s)
    return conn, path


def _shut(held: list[socket.socket], expired: threading.Event) -> None:
    """The deadline passed: end every blocked read or write on the connection at once. The socket is
    the one held since connecting: http.client hands it to the response and forgets it."""
    expired.set()
    for sock in held:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def post(
    url: str, body: dict[str, Any], alert_id: str, timeout_s: float, allow_http: bool, allow_private: bool
) -> int:
    """POST ``body`` as JSON within ``timeout_s`` in all; the 2xx status, or WebhookError."""
    check_url(url, allow_http)
    conn, path = _connection(url, timeout_s, allow_private)
    expired, held = threading.Event(), []
    deadline = threading.Timer(timeout_s, _shut, (held, expired))
    deadline.daemon = True
    deadline.start()
    headers = {
        "Host": urlsplit(url).netloc.rpartition("@")[2],
        "Content-Type": "application/json",
        "User-Agent": "moodstream-alerts/1",
        "X-Moodstream-Alert-Id": alert_id,
    }
    try:
        conn.connect()  # within the socket's own timeout; then the deadline can reach the socket
        held.append(conn.sock)
        if expired.is_set():
            _shut(held, expired)
        conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        if not expired.is_set():
            raise WebhookError(f"{exc.__class__.__name__}: {exc}") from None
    finally:
        deadline.cancel()
        conn.close()
    if expired.is_set():  # a shut socket can also end a read quietly, with part of the answer
        raise WebhookError(f"no complete answer within {timeout_s:g} s")
    if 300 <= response.status < 400:
        raise WebhookError(f"HTTP {response.status}: redirects are not followed")
    if not 200 <= response.status < 300:
        raise WebhookError(f"HTTP {response.status}")
    return response.status
