"""The pipeline over TLS: a real ``redis-server`` that speaks only TLS and asks for client certificates,
with a CA and certificates the test makes; `up`, every worker and `status` reach it by ``rediss://``."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from moodstream.ops.stack import free_port
from moodstream.streams.bus import Bus
from moodstream.streams.client import answers, connect
from moodstream.streams.keys import Keys
from tests.helpers import Process, moodstream, pipeline_config, wait_for

pytestmark = pytest.mark.slow
PASSWORD = "tls-test-password-0123"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def certificates(folder: Path) -> Path:
    """A CA, and a server and a client certificate it signs (the server's for 127.0.0.1)."""
    folder.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "1", "-subj", "/CN=moodstream test CA", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=folder)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "1", "-extfile", "san.ext", cwd=folder)  # fmt: skip
    return folder


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing (Debian's redis-server package has TLS)")
    certs = certificates(tmp_path / "certs")
    port = free_port()
    command = [server, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
               "--tls-cert-file", str(certs / "server.crt"), "--tls-key-file", str(certs / "server.key"),
               "--tls-ca-cert-file", str(certs / "ca.crt"), "--tls-auth-clients", "yes",
               "--requirepass", PASSWORD, "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    proc = Process(command, tmp_path, "redis-tls")
    url = (
        f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={certs / 'ca.crt'}"
        f"&ssl_certfile={certs / 'client.crt'}&ssl_keyfile={certs / 'client.key'}"
    )
    try:
        wait_for(lambda: answers(url), 20, what="the TLS Redis")
        yield port, certs
    finally:
        proc.stop()


def test_the_pipeline_runs_over_tls_with_client_certificates(tmp_path: Path, tls_redis, assets) -> None:
    port, certs = tls_redis
    redis_cfg = {
        "url": f"rediss://127.0.0.1:{port}/0",
        "password": PASSWORD,
        "prefix": "tls",
        "tls_ca_file": str(certs / "ca.crt"),
        "tls_cert_file": str(certs / "client.crt"),
        "tls_key_file": str(certs / "client.key"),
    }
    web = free_port()
    dashboard = {
        "enabled": True,
        "port": web,
        "token": "t" * 24,
        "stats_interval_s": 0.5,
        "message_queue": "redis",
    }
    config = pipeline_config(tmp_path, "", "tls", assets["samples"], redis=redis_cfg, dashboard=dashboard)
    # Nothing in the clear, and no client without a certificate the CA signed.
    assert not answers(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert not answers(f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={certs / 'ca.crt'}")
    up = moodstream("up", "--config", str(config))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        client = connect(
            f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={certs / 'ca.crt'}"
            f"&ssl_certfile={certs / 'client.crt'}&ssl_keyfile={certs / 'client.key'}"
        )
        bus = Bus(client, Keys("tls"))
        wait_for(lambda: bus.stream_length(bus.keys.emotions) > 0, 120, what="emotions over TLS")
        status = moodstream("status", "--config", str(config), "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["stages"]["smoother"]["workers"] == 1
        # The dashboard, its API and its message queue over TLS too.
        req = urllib.request.Request(
            f"http://127.0.0.1:{web}/api/cameras", headers={"Authorization": "Bearer " + "t" * 24}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert {c["camera"] for c in json.loads(resp.read())["cameras"]} == {"lobby", "desk"}
        assert isinstance(client, redis.Redis)
    finally:
        moodstream("down", "--config", str(config))
