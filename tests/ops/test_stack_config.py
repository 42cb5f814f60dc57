"""The generated supervisord.conf, read back by supervisor's own parser: values arrive as they were."""

from __future__ import annotations

from pathlib import Path

from supervisor.options import ServerOptions

from moodstream.config import settings_from_dict
from moodstream.ops import stack
from moodstream.streams import heartbeats


def test_percent_signs_quotes_and_backslashes_survive_supervisord(tmp_path: Path) -> None:
    run = tmp_path / "run 100%"
    settings = settings_from_dict({"runtime": {"dir": str(run)}})
    url = 'redis://:p%40ss"w\\rd@127.0.0.1:6379/0'  # an encoded password, a quote, a backslash
    programs = [
        stack.Program("capture-a", ["python", "-m", "moodstream", "worker", "--camera", "100%"]),
        stack.Program("classifier", ["python", "-m", "moodstream", "worker"], numprocs=2, env={"X": 'a"b'}),
    ]
    (run / "logs").mkdir(parents=True)
    conf = tmp_path / "supervisord.conf"
    conf.write_text(stack.render(settings, programs, url))
    options = ServerOptions()
    options.configfile = str(conf)
    options.process_config(do_usage=False)
    groups = {g.name: g for g in options.process_group_configs}
    capture = groups["capture-a"].process_configs[0]
    assert capture.command.endswith("--camera 100%")
    assert capture.environment["MOODSTREAM_REDIS_URL"] == url
    assert capture.stdout_logfile == str(run / "logs" / "capture-a.log")
    workers = groups["classifier"].process_configs
    assert [w.name for w in workers] == ["classifier-0", "classifier-1"]
    assert workers[1].stdout_logfile == str(run / "logs" / "classifier-1.log")
    assert workers[0].environment["X"] == 'a"b'
    assert options.pidfile == str(run / "supervisord.pid")


def test_two_configs_in_one_folder_get_two_run_folders(tmp_path: Path) -> None:
    from moodstream.config import load_settings

    for name in ("moodstream", "lab", "hall"):
        (tmp_path / f"{name}.toml").write_text('[redis]\nprefix = "x"\n')
    dirs = {
        name: stack.run_dir(load_settings(tmp_path / f"{name}.toml"))
        for name in ("moodstream", "lab", "hall")
    }
    assert dirs == {
        "moodstream": tmp_path / ".moodstream",  # as it always was
        "lab": tmp_path / ".moodstream-lab",
        "hall": tmp_path / ".moodstream-hall",
    }
    explicit = settings_from_dict({"runtime": {"dir": str(tmp_path / "mine")}})
    assert stack.run_dir(explicit) == tmp_path / "mine"


def test_up_refuses_a_prefix_another_deployment_is_using(
    tmp_path: Path, redis_base_url: str, prefix: str, bus
) -> None:
    from tests.helpers import moodstream, write_config

    heartbeats.beat(bus, "detector", "someone-elses", b"beat", 30)  # a live worker of another deployment
    config = write_config(
        tmp_path / "lab.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "cameras": [{"id": "door", "source": "rtsp://127.0.0.1:9/x"}],
        },
    )
    out = moodstream("up", "--config", str(config))
    assert out.returncode != 0
    assert f"prefix {prefix!r} is in use" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / ".moodstream-lab" / "supervisord.pid").exists()
