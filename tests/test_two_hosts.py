"""Two hosts for real on one machine: two Linux network namespaces joined by a veth pair, each with its
own address and its own supervisor. Redis listens on host A's address only, and host B reaches it over
the veth. Host A runs capture, the detector and two classifiers; host B two classifiers, the smoother and
the recommender. Every frame must be classified exactly once, the classifiers of both hosts must share
the work, and when host B is lost (SIGKILL of everything in its namespace) and its workers start again
on host A, B's pending entries are reclaimed and processed with nothing lost.

Each host is a network namespace kept alive by a holder process (``unshare --net``); commands enter
it with ``nsenter``, so no ``/run/netns`` and no real root are needed. Where unprivileged user namespaces
are allowed, the test runs itself again inside its own user and network namespace (``unshare --user
--map-root-user --net``) and builds both hosts there: nothing it creates is visible outside, and no
packet leaves. Without user namespaces it needs root. Where it has neither, it skips with the reason,
unless ``MOODSTREAM_REQUIRE_NETNS=1`` (CI), under which it fails."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from moodstream.config import settings_from_dict
from moodstream.streams import consumer_groups, heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Classified
from tests.helpers import ROOT, face_recording, wait_for, write_config

pytestmark = pytest.mark.slow
FRAMES = 300
PORT = 6391
INNER = "MOODSTREAM_NETNS_INNER"  # set in the run inside the test's own user namespace


def _works(*cmd: str) -> str | None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def _mode() -> tuple[str, str]:
    """("userns" | "root" | "skip", why): how this machine can give the test two hosts."""
    if sys.platform != "linux":
        return "skip", "network namespaces are Linux only"
    missing = [tool for tool in ("ip", "unshare", "nsenter") if shutil.which(tool) is None]
    if missing:
        return "skip", f"missing {', '.join(missing)} (iproute2, util-linux)"
    if os.environ.get(INNER) == "1":
        return "root", "inside the test's own user namespace"
    userns = _works("unshare", "--user", "--map-root-user", "--net", "true")
    if userns is None:
        return "userns", "unprivileged user namespaces"
    if os.geteuid() == 0:
        root = _works("unshare", "--net", "true")
        return ("root", "root") if root is None else ("skip", f"unshare --net failed: {root}")
    return "skip", f"no root, and no unprivileged user namespaces ({userns})"


@dataclass
class Host:
    """A network namespace held open by ``unshare --net sleep``; its id outlives the holder's death."""

    addr: str
    holder: subprocess.Popen[bytes]
    netns: str = ""

    @classmethod
    def start(cls, addr: str) -> Host:
        mine = os.readlink("/proc/self/ns/net")
        holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"])

        def entered() -> str:
            with contextlib.suppress(OSError):
                ns = os.readlink(f"/proc/{holder.pid}/ns/net")
                return "" if ns == mine else ns
            return ""

        return cls(addr, holder, wait_for(entered, 10, 0.02, "a new network namespace"))

    def enter(self, *cmd: str) -> list[str]:
        return ["nsenter", "--target", str(self.holder.pid), "--net", *cmd]


@dataclass
class Hosts:
    a: Host
    b: Host
    links: list[str] = field(default_factory=list)

    def run(self, host: Host, *cmd: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(host.enter(*cmd), capture_output=True, text=True, timeout=timeout)

    def pids(self, host: Host) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "ns" / "net") == host.netns:
                        found.append(int(entry.name))
        return found

    def lose(self, host: Host) -> None:
        """The host dies: every process in its namespace is SIGKILLed at once. The holder stays, as a
        bind mount under /run/netns would: it is the namespace, not a process of the host, and with it
        would go the veth pair, and host A's address with it."""
        victims = [pid for pid in self.pids(host) if pid != host.holder.pid]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.pids(host) == [host.holder.pid], 30, what="every process of the lost host gone")


def _sh(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr}"


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    mode, why = _mode()
    if mode == "skip":
        if os.environ.get("MOODSTREAM_REQUIRE_NETNS") == "1":
            pytest.fail(f"MOODSTREAM_REQUIRE_NETNS=1 but the two-host test cannot run: {why}")
        pytest.skip(why)
    assert mode == "root", "the user-namespace run happens in the test itself"
    h = Hosts(Host.start("10.213.7.1"), Host.start("10.213.7.2"))
    tag = uuid.uuid4().hex[:6]
    try:
        # One veth pair, one end in each namespace: the two hosts' only link, and nothing else's.
        va, vb = f"va{tag}", f"vb{tag}"
        _sh(
            "ip",
            "link",
            "add",
            va,
            "netns",
            str(h.a.holder.pid),
            "type",
            "veth",
            "peer",
            vb,
            "netns",
            str(h.b.holder.pid),
        )
        for host, dev in ((h.a, va), (h.b, vb)):
            _sh(*host.enter("ip", "link", "set", "lo", "up"))
            _sh(*host.enter("ip", "addr", "add", f"{host.addr}/24", "dev", dev))
            _sh(*host.enter("ip", "link", "set", dev, "up"))
        yield h
    finally:
        for host in (h.a, h.b):  # the namespaces and the veth pair go with their last process
            for pid in h.pids(host):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.holder.wait(10)


def _config(tmp: Path, name: str, url: str, cameras: list, **instances: int) -> Path:
    sections = {"detector": 0, "classifier": 0, "smoother": 0, "recommender": 0, **instances}
    return write_config(
        tmp / f"{name}.toml",
        {
            "redis": {"url": url, "prefix": "hosts"},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp / f"run-{name}")},
            "streams": {"claim_idle_ms": 1500},
            "recommender": {"cooldown_s": 1.0},
            **{stage: {"instances": n} for stage, n in sections.items()},
            "cameras": cameras,
        },
    )


def _classified(bus: Bus) -> list[int]:
    return [Classified.decode(e.payload).seq for e in bus.history(bus.keys.classified, count=100_000)]


def _by_host(bus: Bus, hosts: Hosts) -> dict[str, int]:
    """Frames each host's classifiers processed, by the namespaces their pids live in."""

    where = {pid: name for name, host in (("a", hosts.a), ("b", hosts.b)) for pid in hosts.pids(host)}
    out = {"a": 0, "b": 0}
    for beat in heartbeats.live(bus):
        if beat.stage == "classifier" and beat.pid in where:
            out[where[beat.pid]] += beat.counters.get("processed", 0)
    return out


def _inside_own_user_namespace(nodeid: str) -> None:
    """This test again, in a user and network namespace of its own, where it is root over nothing else."""
    inner = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--net", sys.executable, "-m", "pytest", "-q"]
        + ["-p", "no:cacheprovider", nodeid],
        cwd=ROOT,
        env={**os.environ, INNER: "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert inner.returncode == 0, (inner.stdout + inner.stderr)[-6000:]
    assert "1 passed" in inner.stdout, inner.stdout[-2000:]


def test_two_hosts_share_the_work_and_survive_losing_one(
    tmp_path: Path, request: pytest.FixtureRequest, sample_video: Path
) -> None:
    if _mode()[0] == "userns":
        _inside_own_user_namespace(request.node.nodeid)
        return
    hosts: Hosts = request.getfixturevalue("hosts")
    rec = face_recording(tmp_path / "faces.msrec", sample_video, FRAMES)
    url = f"redis://{hosts.a.addr}:{PORT}/0"
    redis = subprocess.Popen(
        hosts.a.enter("redis-server", "--bind", hosts.a.addr, "--port", str(PORT))
        + ["--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", str(tmp_path)]
        # The test itself (outside both hosts) looks through a unix socket: no traffic leaves them.
        + ["--unixsocket", str(tmp_path / "redis.sock"), "--unixsocketperm", "700"],
        stdout=subprocess.DEVNULL,
    )
    camera = [{"id": "door", "source": str(rec), "every_frame": True}]
    conf_a = _config(tmp_path, "a", url, [], detector=1, classifier=2)
    conf_cam = _config(tmp_path, "camera", url, camera)  # started on A once all four classifiers are up
    conf_b = _config(tmp_path, "b", url, [], classifier=2, smoother=1, recommender=1)
    local = f"unix://{tmp_path / 'redis.sock'}"
    bus = Bus.for_settings(settings_from_dict({"redis": {"url": local, "prefix": "hosts"}}), local)
    try:
        wait_for(lambda: hosts.run(hosts.b, "redis-cli", "-u", url, "ping").stdout.strip() == "PONG", 30)
        up_b = hosts.run(hosts.b, sys.executable, "-m", "moodstream", "up", "--join", "--config", str(conf_b))
        assert up_b.returncode == 0, up_b.stdout + up_b.stderr
        _run_until_half_and_lose_b(bus, hosts, conf_a, conf_cam)
        up_again = _config(tmp_path, "b-on-a", url, [], classifier=2, smoother=1, recommender=1)
        moved = hosts.run(
            hosts.a, sys.executable, "-m", "moodstream", "up", "--join", "--config", str(up_again)
        )
        assert moved.returncode == 0, moved.stdout + moved.stderr
        wait_for(lambda: len(_classified(bus)) >= FRAMES, 240, interval=0.5, what="every frame classified")
        seqs = sorted(_classified(bus))
        assert seqs == list(range(FRAMES)), "a frame was lost or classified twice"
        for group, stream in (("classifier", "detections"), ("smoother", "classified")):
            wait_for(
                lambda g=group, s=stream: consumer_groups.info(bus, bus.keys.stream(s), g)["pending"] == 0,
                60,
                what=f"{group}: host B's pending entries reclaimed",
            )
        status = json.loads(
            hosts.run(
                hosts.a, sys.executable, "-m", "moodstream", "status", "--config", str(conf_a), "--json"
            ).stdout
        )
        assert status["dead_letters"] == 0
    finally:
        for host in (hosts.a, hosts.b):
            for conf in (conf_cam, conf_a, conf_b, tmp_path / "b-on-a.toml"):
                if conf.exists():
                    hosts.run(
                        host, sys.executable, "-m", "moodstream", "down", "--config", str(conf), timeout=60
                    )
        bus.close()
        redis.terminate()
        redis.wait(10)


def _run_until_half_and_lose_b(bus: Bus, hosts: Hosts, conf_a: Path, conf_cam: Path) -> None:
    """Start host A, then the camera once the classifiers of both hosts wait for work; check that they
    share it, then lose host B mid-run."""

    up_a = hosts.run(hosts.a, sys.executable, "-m", "moodstream", "up", "--join", "--config", str(conf_a))
    assert up_a.returncode == 0, up_a.stdout + up_a.stderr
    wait_for(
        lambda: sum(b.stage == "classifier" for b in heartbeats.live(bus)) == 4,
        120,
        what="four classifiers up",
    )
    up_cam = hosts.run(hosts.a, sys.executable, "-m", "moodstream", "up", "--join", "--config", str(conf_cam))
    assert up_cam.returncode == 0, up_cam.stdout + up_cam.stderr
    wait_for(lambda: len(_classified(bus)) >= FRAMES // 3, 180, interval=0.5, what="a third classified")
    try:
        wait_for(lambda: all(n > 0 for n in _by_host(bus, hosts).values()), 30)
    except AssertionError:
        beats = [(b.stage, b.pid, b.counters.get("processed")) for b in heartbeats.live(bus)]
        raise AssertionError(
            f"the classifiers of both hosts do not share the work: {_by_host(bus, hosts)}; heartbeats "
            f"{beats}; host A {hosts.pids(hosts.a)}, host B {hosts.pids(hosts.b)}"
        ) from None
    hosts.lose(hosts.b)
    assert len(_classified(bus)) < FRAMES, "host B was lost only after every frame was done"
