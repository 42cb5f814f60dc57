"""Consumer groups as status and the tools see them: pending and lag, trimming what every group has
finished, forgetting consumers long gone, and whether a reader's position was trimmed away."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moodstream.streams.bus import Bus, id_order
from moodstream.streams.client import ResponseError, text


def info(bus: Bus, stream: str, group: str) -> dict[str, Any]:
    """Pending (delivered, not acked) and lag (not yet delivered) for one stage's group."""
    try:
        groups = bus._client.xinfo_groups(stream)
    except ResponseError:
        return {"pending": 0, "lag": 0, "consumers": 0, "length": 0}
    length = int(bus._client.xlen(stream))
    for g in groups:
        if text(g["name"]) == group:
            lag = g.get("lag")
            return {
                "pending": int(g.get("pending", 0)),
                "lag": int(lag) if lag is not None else None,
                "consumers": int(g.get("consumers", 0)),
                "length": length,
            }
    return {"pending": 0, "lag": 0, "consumers": 0, "length": length}


def totals(bus: Bus, name: str, group: str) -> dict[str, Any]:
    """``info`` summed over every partition of stream ``name`` (consumers: the most in one; a worker that
    reads all partitions is a consumer of each)."""
    infos = [info(bus, stream, group) for stream in bus.keys.streams(name)]
    lags = [i["lag"] for i in infos]
    return {
        "pending": sum(i["pending"] for i in infos),
        "lag": None if None in lags else sum(lags),
        "consumers": max(i["consumers"] for i in infos),
        "length": sum(i["length"] for i in infos),
        "partitions": [{"pending": i["pending"], "lag": i["lag"]} for i in infos],
    }


def prune_consumers(bus: Bus, stream: str, group: str, idle_ms: int) -> int:
    """Forget consumers that are long gone and hold nothing, so status stays readable."""
    removed = 0
    try:
        consumers = bus._client.xinfo_consumers(stream, group)
    except ResponseError:
        return 0
    for c in consumers:
        if int(c.get("pending", 0)) == 0 and int(c.get("idle", 0)) > idle_ms:
            bus._client.xgroup_delconsumer(stream, group, c["name"])
            removed += 1
    return removed


def trim_finished(bus: Bus, stream: str, groups: Sequence[str]) -> int:
    """Delete the entries every one of ``groups`` has finished (acked), none other; returns the length
    left. What remains is unfinished work plus entries newer than the oldest unfinished one, so a
    producer that keeps this under MAXLEN can never have an unread entry trimmed."""
    safe = finished_before(bus, stream, groups) if groups else None
    if safe is not None:
        bus._client.xtrim(stream, minid=f"{safe[0]}-{safe[1]}", approximate=False)
    return int(bus._client.xlen(stream))


def finished_before(bus: Bus, stream: str, groups: Sequence[str]) -> tuple[int, int] | None:
    """The oldest id some of ``groups`` has not finished: every entry before it is done with. None when
    nothing may go (no stream yet, or a group that has not started reads from the beginning); with no
    groups, the stream's end."""
    try:
        infos = {text(g["name"]): g for g in bus._client.xinfo_groups(stream)}
    except ResponseError:  # no stream yet
        return None
    if not groups:
        return (2**63 - 1, 0)
    safe: tuple[int, int] | None = None
    for group in groups:
        if group not in infos:  # a reader that has not started: it will read from the beginning
            return None
        pending = bus._client.xpending(stream, group)
        ms, seq = id_order(text(infos[group]["last-delivered-id"]))
        oldest = id_order(text(pending["min"])) if pending["pending"] else (ms, seq + 1)
        safe = oldest if safe is None else min(safe, oldest)
    return safe


def trimmed_after(bus: Bus, stream: str, entry_id: str) -> bool:
    """Whether entries newer than ``entry_id`` may have been trimmed away: the stream lost entries, and
    its oldest one left is newer than ``entry_id`` (XINFO STREAM, Redis 7)."""
    try:
        found = bus._client.xinfo_stream(stream)
    except ResponseError:  # no such stream: nothing was ever there to miss
        return False
    first = found.get("first-entry")
    if not first:
        added = int(found.get("entries-added", 0))
        return added > 0 and id_order(text(found["last-generated-id"])) > id_order(entry_id)
    lost = int(found.get("entries-added", found["length"])) > int(found["length"])
    return lost and id_order(text(first[0])) > id_order(entry_id)
