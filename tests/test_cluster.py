"""The whole pipeline on a real 3-master Redis Cluster (started here from the redis-server binary), with
4 partitions and 4 cameras, one per partition: every frame classified exactly once, each camera's
messages and state in its partition's slot, classifiers that own different partitions, and the CLI
(up, up --join, status, watch, dead, down, reset) and two dashboards sharing events through the message
queue, all against the cluster."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodstream.config import settings_from_dict
from moodstream.ops.devcluster import ClusterError, DevCluster
from moodstream.ops.stack import free_port
from moodstream.streams import dead_letters, heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.keys import Keys, partition_of
from moodstream.streams.schemas import Classified, EmotionEvent, RecommendationEvent
from tests.dashboard.conftest import TOKEN
from tests.dashboard.test_feed import FeedClient
from tests.helpers import CliProcess, moodstream, wait_for, write_config

pytestmark = pytest.mark.slow
PARTITIONS = 4
FRAMES = 40  # per camera


def one_camera_per_partition() -> list[str]:
    """Camera ids whose partitions are 0, 1, 2 and 3 (CRC-32 of the id, mod 4)."""
    chosen: dict[int, str] = {}
    n = 0
    while len(chosen) < PARTITIONS:
        chosen.setdefault(partition_of(f"cam{n}", PARTITIONS), f"cam{n}")
        n += 1
    return [chosen[p] for p in range(PARTITIONS)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    """Three masters on free loopback ports. A redis-server without cluster support fails the test with
    that reason: it is not skipped."""
    base = free_port()
    while not all(_free(base + i) for i in range(3)) or not all(_free(base + 10000 + i) for i in range(3)):
        base = free_port()
    node = DevCluster(tmp_path_factory.mktemp("cluster"), base_port=base)
    try:
        node.start()
    except ClusterError as exc:
        node.stop()
        pytest.fail(f"cannot start a Redis Cluster here: {exc}")
    yield node
    node.stop()


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return port < 55536  # the cluster bus port (port + 10000) must exist too


def classified(bus: Bus) -> list[Classified]:
    out = []
    for stream in bus.keys.streams("classified"):
        out += [Classified.decode(e.payload) for e in bus.history(stream, count=10_000)]
    return out


def test_the_pipeline_on_a_cluster_with_four_partitions(
    tmp_path: Path, cluster: DevCluster, sample_video: Path
) -> None:
    cameras = one_camera_per_partition()
    data = {
        "redis": {"url": cluster.url, "prefix": "cl", "cluster": True},
        "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
        "streams": {"partitions": PARTITIONS, "claim_idle_ms": 2000},
        "recommender": {"cooldown_s": 1.0},
        "cameras": [
            {"id": c, "source": str(sample_video), "every_frame": True, "fps": 10.0, "loop": True}
            for c in cameras
        ],
    }
    # `up` against the external cluster runs the cameras and every stage but the classifier; two more
    # hosts' shares (`up --join`, each with its own run dir) run one classifier each, owning partitions
    # 0,1 and 2,3.
    board = {"enabled": True, "token": TOKEN, "message_queue": "redis", "stats_interval_s": 0.5}
    config = write_config(
        tmp_path / "moodstream.toml",
        {**data, "classifier": {"instances": 0}, "dashboard": {**board, "port": free_port()}},
    )
    # A second dashboard: the two share events through the message queue on the cluster.
    other = write_config(tmp_path / "dashboard-2.toml", {**data, "dashboard": {**board, "port": free_port()}})
    joined = [
        write_config(
            tmp_path / f"classifier-{owned[0]}{owned[1]}.toml",
            {
                **data,
                "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / f"run-{owned[0]}{owned[1]}")},
                "streams": {**data["streams"], "read_partitions": owned},
                **{stage: {"instances": 0} for stage in ("detector", "smoother", "recommender")},
                "classifier": {"instances": 1},
                "cameras": [],
            },
        )
        for owned in ([0, 1], [2, 3])
    ]
    settings = settings_from_dict(data)
    bus = Bus.for_settings(settings, cluster.url)
    assert bus.cluster
    started = [moodstream("up", "--config", str(config))]
    started += [moodstream("up", "--join", "--config", str(conf)) for conf in joined]
    second = CliProcess(other, "dashboard", log_dir=tmp_path, name="dashboard-2")
    viewer: FeedClient | None = None
    try:
        assert all(r.returncode == 0 for r in started), [r.stdout + r.stderr for r in started]
        viewer = _viewer(other, second)

        def each_camera_done() -> bool:
            got = classified(bus)
            return all(sum(c.camera == camera for c in got) >= FRAMES for camera in cameras)

        wait_for(each_camera_done, 240, interval=0.5, what=f"{FRAMES} frames of each camera classified")
        got = classified(bus)
        for camera in cameras:  # the video loops, and its frames keep counting up
            seqs = sorted(c.seq for c in got if c.camera == camera)
            assert len(seqs) == len(set(seqs)), f"{camera}: a frame was classified twice"
            assert seqs[:FRAMES] == list(range(FRAMES)), f"{camera}: a frame was lost"
        _each_camera_in_its_partition(bus, cameras)
        _spread_over_nodes(bus, cluster)
        try:
            wait_for(
                lambda: _events_for(bus, cameras), 120, interval=0.5, what="emotions and music for all 4"
            )
        except AssertionError:
            beats = {h.worker: h.counters for h in heartbeats.live(bus)}
            lengths = {
                s: bus.stream_length(s) for n in ("emotions", "recommendations") for s in bus.keys.streams(n)
            }
            raise AssertionError(f"no events for every camera: {lengths} {beats}") from None
        _cli_on_the_cluster(bus, config, cameras)
        assert dead_letters.count(bus) == 0, dead_letters.newest(bus, 5)
        wait_for(
            lambda: {e["camera"] for e in viewer.events["emotion"]} == set(cameras),
            30,
            what="the second dashboard's viewer to get every partition's events",
        )
    finally:
        if viewer is not None:
            viewer.close()
        second.stop()
        for conf in (*joined, config):
            down = moodstream("down", "--config", str(conf))
            assert down.returncode == 0, down.stdout + down.stderr
    reset = moodstream("reset", "--config", str(config))
    assert reset.returncode == 0, reset.stderr
    assert bus.delete_all() == 0  # every node's keys are gone
    bus.close()


def _viewer(config: Path, proc: CliProcess) -> FeedClient:
    """A feed client of the second dashboard, once it answers."""
    port = int(re.search(r"port = (\d+)", config.read_text()).group(1))  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert proc.alive(), proc.output()[-3000:]
        try:
            return urllib.request.urlopen(f"{url}/healthz", timeout=2).status == 200
        except OSError:
            return False

    wait_for(answers, 60, what="the second dashboard")
    viewer = FeedClient(url)
    assert viewer.subscribe(cameras="*")["ok"]
    return viewer


def _each_camera_in_its_partition(bus: Bus, cameras: list[str]) -> None:
    keys = bus.keys
    for partition, camera in enumerate(cameras):
        for name in ("classified", "emotions"):
            entries = bus.history(keys.stream(name, partition), count=10_000)
            decode = Classified if name == "classified" else EmotionEvent
            assert {decode.decode(e.payload).camera for e in entries} <= {camera}
        assert keys.state("smoother", camera).startswith(keys.tag(partition))


def _spread_over_nodes(bus: Bus, cluster: DevCluster) -> None:
    """The partitions' streams live on more than one master: the load spreads over the shards."""
    import redis

    client = redis.RedisCluster.from_url(cluster.url)
    owners = {client.get_node_from_key(stream).port for stream in bus.keys.streams("frames")}
    assert all(client.exists(stream) for stream in bus.keys.streams("frames"))
    client.close()
    assert len(owners) >= 2, owners


def _events_for(bus: Bus, cameras: list[str]) -> bool:
    emo, rec = set(), set()
    for stream in bus.keys.streams("emotions"):
        emo |= {EmotionEvent.decode(e.payload).camera for e in bus.history(stream)}
    for stream in bus.keys.streams("recommendations"):
        rec |= {RecommendationEvent.decode(e.payload).camera for e in bus.history(stream)}
    return emo == rec == set(cameras)


def _cli_on_the_cluster(bus: Bus, config: Path, cameras: list[str]) -> None:
    status = moodstream("status", "--config", str(config), "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["stages"]["classifier"]["workers"] == 2, report["stages"]
    assert report["stages"]["detector"]["workers"] == 1 and report["stages"]["detector"]["pending"] >= 0
    # Everything in the public streams now: watch prints that backlog, merged over the partitions, and exits.
    backlog = sum(bus.stream_length(s) for n in ("emotions", "recommendations") for s in bus.keys.streams(n))
    watch = moodstream(
        "watch", "--config", str(config), "--json", "--from-start", "--count", str(backlog), "--seconds", "60"
    )
    assert watch.returncode == 0, watch.stderr
    seen = [json.loads(line) for line in watch.stdout.splitlines()]
    assert {e["camera"] for e in seen} == set(cameras), "watch merges every partition"
    # The merge keeps each partition's own order: the first camera's emotions, as partition 0 holds them.
    printed = [e["ts"] for e in seen if e["camera"] == cameras[0] and e["type"] == "emotion"]
    stored = [EmotionEvent.decode(e.payload).ts for e in bus.history(bus.keys.stream("emotions", 0))]
    assert printed and printed == stored[: len(printed)]
    dead = moodstream("dead", "--config", str(config))
    assert dead.returncode == 0, dead.stderr


def test_partition_keys_share_a_slot() -> None:
    """Every key a partition's atomic steps touch carries its hash tag (Redis hashes only the tag)."""
    keys = Keys("ms", 8)
    camera = "front-door"
    p = keys.partition_of(camera)
    tag = "{p" + str(p) + "}"
    together = [
        keys.camera_stream("frames", camera),
        keys.stream("detections", p),
        keys.stream("dead", p),
        keys.detector_tracks(camera),
        keys.capture_cursor(camera),
        keys.latest_frame(camera),
        keys.state("smoother", camera),
        keys.overlay(camera),
        keys.latest_recommendation(camera),
    ]
    assert all(tag in k for k in together), together
    assert keys.partition_of_key(keys.state("smoother", camera)) == p
    assert keys.stream_name(keys.stream("emotions", 3)) == "emotions"
    assert partition_of(camera, 8) == partition_of(camera, 8)  # stable: CRC-32, not hash()
    assert Keys("ms").frames == "ms:{p0}:frames"
    with pytest.raises(ValueError, match="out of range"):
        keys.stream("frames", 8)


def test_worker_partitions_are_checked(tmp_path: Path) -> None:
    config = write_config(tmp_path / "ms.toml", {"streams": {"partitions": 4}, "cameras": []})
    out = moodstream("worker", "classifier", "--config", str(config), "--partitions", "1,5")
    assert out.returncode != 0 and "--partitions [5] out of range" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    bad = moodstream("worker", "classifier", "--config", str(config), "--partitions", "x")
    assert bad.returncode == 2 and "expected partition numbers like 0,2" in bad.stderr
