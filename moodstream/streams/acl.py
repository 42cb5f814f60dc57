"""Redis as a least-privilege service: one ACL user per role, with only the commands and keys it uses.

One password that can do everything lets whoever holds it read all video, forge emotions and alerts
(which then reach the operator's webhook), forge suggestions' links, poison the Spotify cache and inject
Socket.IO events. So each role gets its own user:

- each stage's workers write only their output stream, the dead letters and their own keys, and
  acknowledge only their input stream;
- the dashboard reads, and writes only its bridge cursor and lease, the watched marks, its heartbeat
  and its Pub/Sub channel;
- ``webcams``, the browser-camera publisher (a connection of its own in the dashboard's process), writes
  viewers' webcams' frames and their heartbeats;
- ``tools`` (status, watch, dead, record, replay, reset) may use every key of the deployment's prefix,
  but no administrative command;
- ``keda`` (Kubernetes' autoscaler) reads how far each consumer group lags, and nothing else.

``up`` creates these users on the server it embeds; ``moodstream redis-acl`` prints them for an external
Redis (Redis 7 or Valkey: the ``%R~`` read-only key patterns). Key names come from keys.py.
"""

from __future__ import annotations

import hashlib
import secrets

from moodstream.streams.bus import Bus
from moodstream.streams.keys import STREAMS, Keys

ROLES = (
    "capture",
    "detector",
    "classifier",
    "smoother",
    "recommender",
    "alerter",
    "rollup",
    "dashboard",
    "webcams",
    "tools",
    "keda",
)

# What every role's connection needs: authenticate, ping, learn the cluster's slots, read the clock.
BASE = "+@connection +time +type +cluster|slots +cluster|shards +cluster|nodes +cluster|info +readonly"
WORKER = (
    "+@stream +@transaction +get +set +getrange +mget +exists +del +expire +pexpire +pttl +ttl +hget +hmget +hgetall +hset +scan "
    "+eval +evalsha +eval_ro +evalsha_ro +script|load +script|exists"
)


def role_of(stage: str) -> str:
    """The ACL role a process of ``stage`` (or a command, ``tools``) connects as."""
    return stage if stage in ROLES else "tools"


def _writes(patterns: list[str]) -> str:
    return " ".join(f"~{p}" for p in patterns)


def _reads(patterns: list[str]) -> str:
    return " ".join(f"%R~{p}" for p in patterns)


def _key_rules(keys: Keys, role: str) -> tuple[list[str], list[str]]:
    """The keys ``role`` may write (and read), and those it may only read."""

    def streams(*names: str) -> list[str]:
        return [s for name in names for s in keys.streams(name)]

    def per_camera(*parts: str) -> list[str]:
        return [f"{keys.tag(p)}:{part}:*" for part in parts for p in range(keys.partitions)]

    def own(stage: str) -> list[str]:
        return per_camera(f"state:{stage}", f"lock:{stage}") + [keys.heartbeat(stage, "*")]

    heartbeats = [keys.heartbeat_pattern()]
    table: dict[str, tuple[list[str], list[str]]] = {
        "capture": (streams("frames") + per_camera("frame") + own("capture"), heartbeats),
        "detector": (
            streams("frames", "detections", "dead") + per_camera("tracks", "frame") + own("detector"),
            per_camera("watched") + heartbeats,
        ),
        "classifier": (streams("detections", "classified", "dead") + own("classifier"), heartbeats),
        "smoother": (
            streams("classified", "emotions", "dead") + per_camera("overlay") + own("smoother"),
            heartbeats,
        ),
        "recommender": (
            streams("emotions", "recommendations", "dead")
            + per_camera("reco")
            + own("recommender")
            + [keys.spotify_search("*")],
            heartbeats,
        ),
        "alerter": (streams("emotions", "alerts", "dead") + own("alerter"), heartbeats),
        # The timeline's keeper also applies retention: it trims every stream by age.
        "rollup": (
            streams(*STREAMS)
            + per_camera("timeline")
            + own("rollup")
            + [keys.retention_lease(), keys.recordings()],
            heartbeats,
        ),
        "dashboard": (
            per_camera("watched")
            + [keys.dashboard_lease(), keys.dashboard_cursor(), keys.heartbeat("dashboard", "*")],
            streams(*STREAMS)
            + per_camera("frame", "overlay", "reco", "timeline", "state", "tracks")
            + heartbeats,
        ),
        # The browser-camera publisher (dashboard/browser_cameras.py), on a connection of its own in the
        # dashboard's process: viewers' webcams' frames, and their capture heartbeats.
        "webcams": (streams("frames") + per_camera("frame") + [keys.heartbeat("capture", "*")], heartbeats),
        "tools": ([keys.all_pattern()], []),
        # KEDA's redis-streams scaler: how far each stage's consumer group lags, nothing else.
        "keda": ([], streams(*STREAMS)),
    }
    return table[role]


def role_rules(keys: Keys, role: str) -> str:
    """The ACL rules of ``role`` (after ``user <name> on <password>``)."""
    writes, reads = _key_rules(keys, role)
    commands = {"tools": "+@all -@dangerous +scan", "keda": "+xinfo +xpending +xlen"}.get(role, WORKER)
    if role == "rollup":
        commands += " +zadd +zrangebyscore +zrem"
    channels = ""
    if role in ("dashboard", "tools"):  # the dashboards' shared Socket.IO message queue
        channels = f"&{keys.dashboard_channel()} +publish +subscribe +unsubscribe +pubsub|channels"
    return " ".join(
        part
        for part in (
            "resetkeys resetchannels -@all",
            BASE,
            commands,
            _writes(writes),
            _reads(reads),
            channels,
        )
        if part
    )


def create_users(bus: Bus) -> dict[str, str]:
    """Create every role's user on the bus's server (as its current, administrative user), with a
    random password each; returns the passwords (``bench --acl``)."""
    passwords = {role: secrets.token_urlsafe(24) for role in ROLES}
    for role, password in passwords.items():
        bus._client.execute_command("ACL", "SETUSER", *acl_line(bus.keys, role, password).split()[1:])
    return passwords


def acl_line(keys: Keys, role: str, password: str) -> str:
    """A ``user`` line of an ACL file (or redis.conf), with the password as its SHA-256."""
    digest = hashlib.sha256(password.encode()).hexdigest()
    return f"user {role} on #{digest} {role_rules(keys, role)}"
