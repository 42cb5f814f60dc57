"""The generated supervisord.conf, read back by supervisor's own parser: values arrive as they were."""

from __future__ import annotations

from pathlib import Path

from supervisor.options import ServerOptions

from moodstream.services import stack
from moodstream.services.common.settings import settings_from_dict


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
