"""The smoother worker against real Redis: a saved state it cannot read is never reset silently."""

from __future__ import annotations

import logging
import threading

import pytest

from moodstream.runtime.worker import Stopper
from moodstream.smoother.worker import SmootherWorker
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Classified, Face, Overlay, SmootherState
from tests.helpers import wait_for

HAPPY = [0.02, 0.0, 0.02, 0.9, 0.02, 0.02, 0.02]


def classified(seq: int) -> bytes:
    return Classified(
        "cam", seq, 100.0 + seq * 0.1, 640, 360, [Face(box=(10, 10, 80, 80), probs=HAPPY)]
    ).encode()


def test_undecodable_state_is_logged_counted_then_replaced(
    make_settings, bus: Bus, client, caplog: pytest.LogCaptureFixture
) -> None:
    key = bus.keys.state("smoother", "cam")
    client.set(key, b"\x93state of another version")
    worker = SmootherWorker(make_settings(), client, Stopper())
    thread = threading.Thread(target=worker.run, daemon=True)
    with caplog.at_level(logging.ERROR, logger="moodstream.runtime.worker"):
        thread.start()
        try:
            bus.publish(bus.keys.classified, classified(0))
            wait_for(lambda: worker.counters.values["processed"] == 1, 20, what="the first message")
            assert worker.counters.values["errors"] == 1
            state = SmootherState.decode(client.get(key))  # replaced by a good one, with the message in it
            assert state.recent == [0] and len(state.tracks) == 1
            assert Overlay.decode(client.get(bus.keys.overlay("cam"))).seq == 0

            client.set(key, b"\x93again")
            bus.publish(bus.keys.classified, classified(1))
            wait_for(lambda: worker.counters.values["processed"] == 2, 20, what="the second message")
            assert worker.counters.values["errors"] == 2  # counted every time ...
        finally:
            worker.rt.stopper.event.set()
            thread.join(10)
    lines = [r.getMessage() for r in caplog.records if key in r.getMessage()]
    assert len(lines) == 1, lines  # ... logged once, with the key and the reason
    assert "cannot be decoded" in lines[0] and "not valid msgpack" in lines[0]
