"""Secrets never leave the process that holds them: camera credentials, the token, the Redis password."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from moodstream.config import load_settings
from moodstream.dashboard.app import create_app
from moodstream.dashboard.bridge import stats_payload
from moodstream.ops.observe import collect_status
from moodstream.runtime.redact import RedactingFormatter, redact, redact_url, register_secret
from moodstream.runtime.worker import Stopper
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import DashboardStatus
from tests.helpers import WorkerProcess, moodstream, wait_for, write_config

SECRET = "S3cretPW"
CAMERA_URL = f"rtsp://user:{SECRET}@127.0.0.1:9/x"
TOKEN = "tok-" + "9" * 20


def test_urls_lose_their_userinfo_and_secret_query_values() -> None:
    assert (
        redact_url("rtsp://admin:pw@cam:554/s?channel=1&token=abc")
        == "rtsp://***@cam:554/s?channel=1&token=***"
    )
    assert redact_url("redis://:hunter22@redis:6379/0") == "redis://***@redis:6379/0"
    assert redact_url("http://cam/mjpeg?Password=x&fps=5") == "http://cam/mjpeg?Password=***&fps=5"
    assert (
        redact("cannot open url source 'rtsp://a:b@h/x' (timeout)")
        == "cannot open url source 'rtsp://***@h/x' (timeout)"
    )
    assert redact("no url here") == "no url here"
    register_secret("Zq7-registered-secret")
    assert redact("token Zq7-registered-secret in a message") == "token *** in a message"


def test_log_records_and_their_tracebacks_are_redacted() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "camera %s failed", (CAMERA_URL,), None)
    try:
        raise RuntimeError(f"boom at {CAMERA_URL}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    text = RedactingFormatter("%(message)s").format(record)
    assert SECRET not in text and "rtsp://***@127.0.0.1:9/x" in text and "boom at" in text


def test_a_camera_password_reaches_no_status_api_stats_metrics_log_or_config(
    tmp_path: Path, redis_base_url: str, prefix: str, client, bus: Bus
) -> None:
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "dashboard": {"token": TOKEN},
            "cameras": [{"id": "door", "source": CAMERA_URL, "fps": 5.0}],
        },
    )
    (tmp_path / "logs").mkdir()
    capture = WorkerProcess(config, "capture", "door", log_dir=tmp_path / "logs")
    try:
        status = wait_for(
            lambda: _camera_status(config),
            timeout=60,
            what="the camera listed with its error",
        )
        assert status["error"] and "rtsp://***@127.0.0.1:9/x" in json.dumps(status)
        settings = load_settings(config)
        dash = create_app(settings, client=client, stopper=Stopper())  # loops not started: the routes only
        web = dash.app.test_client()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        shown = {
            "status --json": moodstream("status", "--json", "--config", str(config)).stdout,
            "/api/cameras": web.get("/api/cameras", headers=auth).get_data(as_text=True),
            "/metrics": web.get("/metrics", headers=auth).get_data(as_text=True),
            "stats": json.dumps(stats_payload(collect_status(bus), DashboardStatus())),
            "config": moodstream("config", "--config", str(config)).stdout,
        }
        assert "door" in shown["/api/cameras"] and "door" in shown["/metrics"]
    finally:
        capture.stop()
    shown["capture log"] = capture.output()
    # FFmpeg is quiet (OPENCV_FFMPEG_LOGLEVEL): its own lines quote the addresses it tries.
    assert "[tcp @" not in shown["capture log"] and "127.0.0.1:9" in shown["capture log"]
    for where, text in shown.items():
        assert SECRET not in text, where
        assert TOKEN not in text, where
    revealed = moodstream("config", "--show-secrets", "--config", str(config)).stdout
    assert SECRET in revealed and TOKEN in revealed


def _camera_status(config: Path) -> dict | None:
    out = moodstream("status", "--json", "--config", str(config))
    if out.returncode != 0:
        return None
    cameras = json.loads(out.stdout).get("cameras", [])
    return next((c for c in cameras if c.get("camera") == "door" and c.get("error")), None)


def test_what_native_code_writes_to_stderr_is_redacted_too(tmp_path) -> None:
    """A native library (FFmpeg) writes to file descriptor 2 itself: the line still leaves redacted, and the
    last lines before exit are not lost."""
    import subprocess
    import sys

    code = (
        "import os\n"
        "from moodstream.runtime.redact import redact_native_stderr, register_url_secrets\n"
        "register_url_secrets('rtsp://admin:Cam-pass-77@10.0.0.5/stream')\n"
        "redact_native_stderr()\n"
        "os.write(2, b'[rtsp @ 0x1] DESCRIBE rtsp://admin:Cam-pass-77@10.0.0.5/stream failed\\n')\n"
        "os.write(2, b'Authorization: Basic YWRtaW46Q2FtLXBhc3MtNzc=\\n')\n"
        "os.write(2, b'password alone: Cam-pass-77')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Cam-pass-77" not in run.stderr and "YWRtaW46Q2FtLXBhc3MtNzc=" not in run.stderr
    assert "DESCRIBE rtsp://***@10.0.0.5/stream failed" in run.stderr
    assert run.stderr.endswith("password alone: ***"), "the unfinished last line is flushed at exit"
