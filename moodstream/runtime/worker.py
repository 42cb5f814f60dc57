"""The worker runtime shared by every stage, in the manner of python-rq and arq.

A stage subclasses ``StreamWorker`` (or drives ``Runtime`` itself, as
capture does) and gets: a stop event with two-stage shutdown (first SIGTERM
finishes and acks the message in hand; a second exits at once), heartbeats
carrying counters, reconnect with backoff when Redis goes away, reclaiming a
dead consumer's pending entries, and dead-lettering of payloads that cannot be
decoded or processed. A stateful stage's saved state that cannot be decoded is
logged once with its key and reason and counted as an error before it is
replaced: never reset silently.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from moodstream.config import ConfigError, Settings
from moodstream.runtime import health
from moodstream.runtime.backoff import Backoff, OnceLog
from moodstream.runtime.liveness import Liveness
from moodstream.runtime.metrics import Counters
from moodstream.runtime.redact import redact_log_handlers
from moodstream.streams import camera_state, consumer_groups, dead_letters, heartbeats, leases
from moodstream.streams.acl import role_of
from moodstream.streams.bus import Bus, Entry
from moodstream.streams.client import CONNECTION_ERRORS, Client, ResponseError, connect, consumer_name
from moodstream.streams.connection import resolve_url
from moodstream.streams.keys import Keys
from moodstream.streams.schemas import Health, Heartbeat, Message, Record, SchemaError, StageDetail
from moodstream.streams.stages import stage_named

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)
CM = TypeVar("CM", bound=Message)
S = TypeVar("S", bound=Record)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
    )
    redact_log_handlers()  # camera URLs' credentials and registered secrets never reach a log file


class Stopper:
    """First SIGTERM/SIGINT: set the event and let the loop finish what it holds. Second: exit now."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._signals = 0

    def install(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._handle)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("signal %s: finishing the message in hand, then stopping (again to exit now)", signum)
            self.event.set()
        else:
            log.warning("second signal %s: exiting now; unacked messages stay pending for others", signum)
            os._exit(1)

    def is_set(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


def entry_age_s(entry_id: str, now: float) -> float:
    """How long ago an entry was added, by its id's milliseconds (Redis's clock) against ``now`` (also
    Redis's): a frame's age without trusting the capture host's clock."""
    return now - int(entry_id.partition("-")[0]) / 1000.0


class RedisClock:
    """Redis's ``TIME``, asked at most once per ``refresh_s`` and advanced locally in between.

    Why: judging staleness by one host's ``time.time()`` against another's skipped every live frame of a
    capture host whose clock ran 0.6 s behind; entry ids and ``TIME`` come from the one Redis clock.
    """

    def __init__(self, ask: Callable[[], float], refresh_s: float = 1.0) -> None:
        self.ask, self.refresh_s = ask, refresh_s
        self._base = 0.0
        self._at = -float("inf")

    def now(self) -> float:
        mono = time.monotonic()
        if mono - self._at >= self.refresh_s:
            self._base, self._at = self.ask(), mono
        return self._base + (mono - self._at)


class Runtime:
    """Connection, identity, counters and heartbeats of one worker process."""

    def __init__(
        self,
        stage: str,
        settings: Settings,
        client: Client | None = None,
        stopper: Stopper | None = None,
        name_suffix: str = "",
    ) -> None:
        self.stage = stage
        self.settings = settings
        self.keys = Keys(settings.redis.prefix, settings.streams.partitions)
        if client is None:
            url = resolve_url(settings, role_of(stage))
            if url is None:
                raise ConfigError(
                    "no Redis answers: set [redis] url or MOODSTREAM_REDIS_URL, or use `moodstream up`"
                )
            client = connect(url, settings.redis.socket_timeout_s, settings.redis.cluster)
        self.bus = Bus(client, self.keys, settings.streams)
        self.stopper = stopper or Stopper()
        self.worker = consumer_name(stage) + (f"-{name_suffix}" if name_suffix else "")
        self.counters = Counters()
        self.backoff = Backoff()
        self.started = time.time()
        self.detail: StageDetail | None = None  # what only this kind of process knows, for its heartbeat
        self._last_beat = 0.0
        self.connected = True
        self.liveness = Liveness(settings.runtime.loop_stall_s)  # the process's loops, in its heartbeat
        self.health_file = Path(settings.runtime.health_file) if settings.runtime.health_file else None
        self._health_once = OnceLog(log, logging.WARNING)

    def heartbeat(self, force: bool = False) -> bool:
        """Write this worker's heartbeat if one is due (or ``force``); True when it was written."""
        interval = self.settings.runtime.heartbeat_s
        now = time.monotonic()
        if not force and now - self._last_beat < interval:
            return False
        self._last_beat = now
        snap = self.counters.snapshot()
        beat = Heartbeat.of_this_process(
            self.stage,
            self.worker,
            self.started,
            snap,
            self.detail,
            stalled=self.liveness.stalled(),
            cpu_s=time.process_time(),
        )
        heartbeats.beat(self.bus, self.stage, self.worker, beat.encode(), interval * 3 + 1)
        self.report_health(redis=True)
        return True

    def report_health(self, redis: bool, error: str = "") -> None:
        """Rewrite the local health file, if there is one; a full or read-only disk is logged once."""
        if self.health_file is None:
            return
        state = Health(self.stage, self.worker, time.time(), redis, self.liveness.stalled(), error)
        try:
            health.write(self.health_file, state)
        except OSError as exc:
            self._health_once(f"{type(exc).__name__}", "cannot write %s: %s", self.health_file, exc)

    def on_connection_error(self, exc: BaseException) -> None:
        self.connected = False
        self.counters.inc("errors")
        self.report_health(redis=False, error=type(exc).__name__)
        delay = self.backoff.next()
        log.warning("Redis unavailable (%s: %s); retrying in %.1fs", exc.__class__.__name__, exc, delay)
        self.stopper.wait(delay)

    def on_connected(self) -> None:
        if not self.connected:
            log.info("Redis connection restored")
        self.connected = True
        self.backoff.reset()

    def close(self) -> None:
        with contextlib.suppress(CONNECTION_ERRORS):
            heartbeats.forget(self.bus, self.stage, self.worker)


def _stream_went_away(exc: BaseException) -> bool:
    """The stream or group was deleted under a read (``reset``, a Redis restarted empty): not a failure."""
    return isinstance(exc, ResponseError) and str(exc).startswith(("UNBLOCKED", "NOGROUP"))


class StreamWorker:
    """Base of the consuming stages: read a batch, process, ack; never block more than ~1 s."""

    stage: str = ""
    read_count: int = 16

    def __init__(
        self, settings: Settings, client: Client | None = None, stopper: Stopper | None = None
    ) -> None:
        self.settings = settings
        self.rt = Runtime(self.stage, settings, client, stopper)
        self.bus = self.rt.bus
        self.keys = self.rt.keys
        self.counters = self.rt.counters
        definition = stage_named(self.stage)
        assert definition.group is not None, f"{self.stage} reads no stream"
        # This worker's partitions (all, or [streams] read_partitions): their input streams, and where the
        # outputs of each go (the same partition: a camera's messages never change slot).
        self.partitions = settings.streams.owned()
        self.streams = self.keys.input_streams(self.stage, self.partitions)
        self._outputs = {
            stream: self.keys.output_stream(self.stage, p)
            for stream, p in zip(self.streams, self.partitions, strict=True)
            if definition.writes is not None
        }
        self.group = definition.group
        self._reads = definition.reads
        self._last_claim = 0.0
        self._groups_ready = False
        self.redis_clock = RedisClock(lambda: self.bus.server_time_ms() / 1000.0)
        self._bad_state = OnceLog(log, logging.ERROR)

    # ----- to override -------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load models and the like, once, before the loop."""

    def process(self, entries: list[Entry]) -> None:
        raise NotImplementedError

    def idle(self) -> None:
        """Called every loop turn, e.g. to flush a batch whose deadline passed."""

    def forget_in_hand(self) -> None:
        """Drop entries read but not yet acked, after a connection error: the server may have restarted
        without them (they come back by the group's pending list, or from a capture that resumes), and
        publishing their outputs there would duplicate the work redone."""

    def block_ms(self) -> int:
        return 1000

    def drain(self) -> None:
        """Finish and ack whatever is held, on a graceful stop."""

    # ----- helpers for stages ------------------------------------------------------------------------
    def out_stream(self, entry: Entry) -> str:
        """Where the output of ``entry`` goes: its partition's output stream."""
        return self._outputs[entry.stream]

    @staticmethod
    def by_stream(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
        """Entries grouped by the stream (partition) they came from, in order: one atomic publish-and-ack
        may touch only one partition's slot."""
        out: dict[str, list[Entry]] = {}
        for entry in entries:
            out.setdefault(entry.stream, []).append(entry)
        return out

    def decode(self, entry: Entry, cls: type[M], max_bytes: int | None = None) -> M | None:
        """Decode or dead-letter: a bad payload never stops the worker."""
        if entry.payload is None:
            self.reject(entry, "entry has no payload field")
            return None
        try:
            msg = cls.decode(entry.payload, max_bytes or self.settings.streams.max_frame_bytes * 2)
        except SchemaError as exc:
            self.reject(entry, f"bad payload: {exc}")
            return None
        camera = getattr(msg, "camera", None)
        if isinstance(camera, str) and self.keys.partitions > 1:
            want, got = self.keys.partition_of(camera), self.keys.partition_of_key(entry.stream)
            if want != got:  # its state and outputs live in another slot: never mix partitions
                self.reject(
                    entry, f"camera {camera!r} belongs to partition {want}, not {got} (partitions changed?)"
                )
                return None
        return msg

    def reject(self, entry: Entry, reason: str) -> None:
        dead_letters.park(self.bus, entry, self.group, self.stage, reason)
        self.counters.inc("dead")

    def per_camera(
        self, entries: list[Entry], cls: type[CM]
    ) -> Iterator[tuple[str, list[tuple[Entry, CM]], bytes | None]]:
        """For stateful stages: decode, group by camera, and hold each camera's lease while its batch is handled.

        Yields (camera, [(entry, message)], saved state); the caller finishes with
        ``commit_camera`` before asking for the next camera. A camera whose lease
        another instance holds is skipped: its entries stay pending and come back.
        """
        grouped: dict[str, list[tuple[Entry, CM]]] = {}
        for entry in entries:
            msg = self.decode(entry, cls)
            if msg is not None:
                grouped.setdefault(msg.camera, []).append((entry, msg))
        for camera, items in grouped.items():
            with leases.camera_lock(self.bus, self.stage, camera) as got:
                if not got:
                    log.warning(
                        "camera %s: state lease busy; leaving %d entries for retry", camera, len(items)
                    )
                    continue
                yield camera, items, camera_state.load(self.bus, self.stage, camera)

    def camera_state(self, camera: str, saved: bytes | None, cls: type[S]) -> S:
        """A camera's saved state, or a fresh one when there is none.

        State that cannot be decoded (another version's, or damaged) is logged
        with its key and reason (once per key), counted as an error in the
        heartbeat, and only then replaced by a fresh state.
        """
        if saved is None:
            return cls()
        try:
            return cls.decode(saved)
        except SchemaError as exc:
            self.counters.inc("errors")
            key = self.keys.state(self.stage, camera)
            self._bad_state(
                key, "%s: saved state cannot be decoded (%s); replacing it with a fresh one", key, exc
            )
            return cls()

    def commit_camera(
        self,
        camera: str,
        state: bytes,
        entries: list[Entry],
        outputs: Sequence[tuple[str, bytes]] = (),
        keys: Sequence[tuple[str, bytes, int]] = (),
        retain: Sequence[tuple[str, int, int]] = (),
    ) -> list[str]:
        """Save the camera's state, publish its ``outputs`` ((stream, payload) on streams of its partition),
        set its ``keys`` and keep its ``retain`` outputs (camera_state.commit), and ack its entries, in one
        transaction: a camera's entries all come from its one partition. Returns the outputs' ids."""
        stream = entries[0].stream if entries else self.keys.camera_stream(self._reads, camera)
        ack = (stream, self.group, [e.id for e in entries])
        ids = camera_state.commit(self.bus, self.stage, camera, state, outputs, ack, keys=keys, retain=retain)
        self.counters.inc("published", len(outputs))
        return ids

    def count_processed(self, messages: Sequence[Any]) -> None:
        """Messages handled: counted, and each one's latency from its capture time observed."""
        now = time.time()
        self.counters.inc("processed", len(messages))
        for msg in messages:
            self.counters.observe_latency((now - msg.ts) * 1000.0)

    # ----- the loop ----------------------------------------------------------------------------------
    def _ensure_groups(self) -> None:
        if not self._groups_ready:
            for stream in self.streams:
                self.bus.ensure_group(stream, self.group)
            self._groups_ready = True

    def _claim(self) -> None:
        idle_ms = self.settings.streams.claim_idle_ms
        now = time.monotonic()
        if now - self._last_claim < min(idle_ms / 2000.0, 5.0):
            return
        self._last_claim = now
        for stream in self.streams:
            self._claim_from(stream, idle_ms)

    def _claim_from(self, stream: str, idle_ms: int) -> None:
        entries = self.bus.claim_stale(stream, self.group, self.rt.worker, idle_ms, count=self.read_count * 4)
        lost = self.bus.take_lost()
        if lost:  # trimmed (MAXLEN) while a dead consumer held them: never silent
            self.counters.inc("lost", lost)
            log.warning("%d pending entries of %s were trimmed before they could be reclaimed", lost, stream)
        if not entries:
            return
        log.info("reclaimed %d stale entries from %s", len(entries), stream)
        fresh = []
        for entry in entries:
            if entry.deliveries > self.settings.streams.max_deliveries:
                self.reject(entry, f"delivered {entry.deliveries} times without being acked")
            else:
                fresh.append(entry)
        if fresh:
            self.process(fresh)
        consumer_groups.prune_consumers(self.bus, stream, self.group, idle_ms * 30)

    def run_once(self) -> None:
        self._ensure_groups()
        self._claim()
        entries = self.bus.read_batch(
            self.streams, self.group, self.rt.worker, self.read_count, self.block_ms()
        )
        if entries:
            self.process(entries)
        self.idle()
        self.rt.heartbeat()
        self.rt.on_connected()

    def run(self) -> int:
        log.info("%s worker %s starting", self.stage, self.rt.worker)
        self.setup()
        self.rt.liveness.register("main")
        while not self.rt.stopper.is_set():
            try:
                self.run_once()
                self.rt.liveness.passed("main")
            except CONNECTION_ERRORS as exc:
                self._groups_ready = False
                self.forget_in_hand()
                self.rt.on_connection_error(exc)
            except Exception as exc:  # noqa: BLE001 - a Redis ResponseError, a bug: nothing ends the loop
                self._groups_ready = False
                if _stream_went_away(exc):
                    log.info("%s: %s; creating the group again", self.stage, exc)
                    continue
                self.counters.inc("errors")
                self.rt.liveness.failed("main", exc)  # logged once per distinct error, with its traceback
                with contextlib.suppress(Exception):  # a failing worker stays listed, as stalled
                    self.rt.heartbeat()
                self.rt.stopper.wait(self.rt.backoff.next())
        self._graceful_stop()
        return 0

    def _graceful_stop(self) -> None:
        for attempt in range(3):
            try:
                self.drain()
                break
            except CONNECTION_ERRORS as exc:
                log.warning("drain failed (%s), attempt %d", exc, attempt + 1)
                time.sleep(0.5)
        with contextlib.suppress(CONNECTION_ERRORS):
            self.rt.heartbeat(force=True)
        self.rt.close()
        log.info("%s worker %s stopped", self.stage, self.rt.worker)
