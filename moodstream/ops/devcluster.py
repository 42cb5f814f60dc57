"""A real Redis Cluster on loopback ports, from the ``redis-server`` binary: for tests, benchmarks and
trying ``[redis] cluster = true`` on one machine.

``python -m moodstream.ops.devcluster --dir /tmp/ms-cluster --base-port 7100`` starts three masters
(``--masters N``), joins them with ``redis-cli --cluster create`` and prints a node's URL; Ctrl-C stops
them. Nothing is kept on disk. It is not for production: there, run a cluster with replicas (Redis's
own docs, or a managed service) and point ``[redis] url`` at any node.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moodstream.errors import UserError


class ClusterError(UserError, RuntimeError):
    pass


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ClusterError(f"{name} not found on PATH: install Redis 7 (Debian: apt install redis-server)")
    return path


def _cli(port: int, *args: str, timeout: float = 30.0) -> str:
    run = subprocess.run(
        [_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return run.stdout + run.stderr


@dataclass
class DevCluster:
    folder: Path
    base_port: int = 7100
    masters: int = 3
    host: str = "127.0.0.1"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def ports(self) -> list[int]:
        return [self.base_port + i for i in range(self.masters)]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.ports[0]}/0"

    def start(self, timeout_s: float = 60.0) -> DevCluster:
        """Start the nodes, create the cluster and wait until every node says ``cluster_state:ok``."""
        server = _binary("redis-server")
        self.folder.mkdir(parents=True, exist_ok=True)
        for port in self.ports:
            node = self.folder / str(port)
            node.mkdir(exist_ok=True)
            (node / "nodes.conf").unlink(missing_ok=True)
            args = [server, "--port", str(port), "--bind", self.host, "--dir", str(node)]
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            args += ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
            log = open(node / "redis.log", "wb")  # noqa: SIM115 - the process keeps it
            self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        self._wait(lambda: all("PONG" in _cli(p, "ping") for p in self.ports), timeout_s, "nodes answer")
        if "cluster support disabled" in _cli(self.ports[0], "cluster", "info"):
            raise ClusterError("this redis-server was built without cluster support")
        nodes = [f"{self.host}:{p}" for p in self.ports]
        out = _cli(self.ports[0], "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes")
        if "[OK] All 16384 slots covered" not in out:
            raise ClusterError(f"redis-cli --cluster create failed: {out.strip()[-400:]}")
        self._wait(
            lambda: all("cluster_state:ok" in _cli(p, "cluster", "info") for p in self.ports),
            timeout_s,
            "cluster_state:ok on every node",
        )
        return self

    def _wait(self, ok: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not ok():
            if any(p.poll() is not None for p in self.procs):
                raise ClusterError(f"a node exited while waiting for {what}; see {self.folder}/*/redis.log")
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moodstream.ops.devcluster", description=__doc__)
    parser.add_argument("--dir", default="/tmp/moodstream-cluster", help="the nodes' folders")
    parser.add_argument("--base-port", type=int, default=7100, help="the first node's port (default 7100)")
    parser.add_argument("--masters", type=int, default=3, choices=range(3, 17), metavar="N")
    args = parser.parse_args(argv)
    cluster = DevCluster(Path(args.dir), args.base_port, args.masters)
    try:
        cluster.start()
    except ClusterError as exc:
        cluster.stop()
        print(f"devcluster: {exc}", file=sys.stderr)
        return 1
    print(
        f"cluster up: {cluster.url} (set [redis] url to it and cluster = true); Ctrl-C stops it", flush=True
    )
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop and all(p.poll() is None for p in cluster.procs):
        time.sleep(0.5)
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
