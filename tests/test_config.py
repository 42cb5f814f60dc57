from pathlib import Path

import pytest

from moodstream.config import ConfigError, load_settings, settings_from_dict


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "moodstream.toml"
    path.write_text(text)
    return path


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[classifier]\nmax_btch = 3\n")
    with pytest.raises(ConfigError, match=r"classifier\.max_btch: unknown key"):
        load_settings(path, environ={})


def test_invalid_value_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[classifier]\nmax_batch = 0\n")
    with pytest.raises(ConfigError, match=r"classifier\.max_batch"):
        load_settings(path, environ={})


def test_unknown_section_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "[clasifier]\ninstances = 2\n")
    with pytest.raises(ConfigError, match="clasifier: unknown key"):
        load_settings(path, environ={})


def test_environment_overrides_keep_types(tmp_path: Path) -> None:
    path = write(tmp_path, '[redis]\nurl = "redis://x:1/0"\n')
    env = {"MOODSTREAM__CLASSIFIER__MAX_BATCH": "64", "MOODSTREAM__DASHBOARD__ENABLED": "false"}
    s = load_settings(path, environ=env)
    assert s.classifier.max_batch == 64
    assert s.dashboard.enabled is False
    assert s.redis.url == "redis://x:1/0"


def test_secrets_from_environment(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, ""), environ={"MOODSTREAM_DASHBOARD_TOKEN": "s3cret"})
    assert s.dashboard.token == "s3cret"


def test_bad_override_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected MOODSTREAM__SECTION__KEY"):
        load_settings(write(tmp_path, ""), environ={"MOODSTREAM__CLASSIFIER": "1"})


def test_cameras_validated(tmp_path: Path) -> None:
    text = '[[cameras]]\nid = "a"\nsource = "0"\n[[cameras]]\nid = "a"\nsource = "1"\n'
    with pytest.raises(ConfigError, match="appears twice"):
        load_settings(write(tmp_path, text), environ={})
    with pytest.raises(ConfigError, match=r"cameras\.0\.id"):
        load_settings(write(tmp_path, '[[cameras]]\nid = "bad id!"\nsource = "0"\n'), environ={})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[[cameras]]\nid = "a"\nsource = "videos/a.mp4"\n'), environ={})
    assert s.resolve_path(s.cameras[0].source) == tmp_path / "videos" / "a.mp4"


def test_dashboard_priority_under_up(tmp_path: Path) -> None:
    from moodstream.config import DashboardSettings
    from moodstream.ops.stack import plan

    assert DashboardSettings().priority_prefix() == ["nice", "-n", "10"]
    assert DashboardSettings(nice=0).priority_prefix() == []
    assert DashboardSettings(scheduling="idle").priority_prefix() == ["chrt", "--idle", "0"]
    settings = settings_from_dict(
        {
            "runtime": {"dir": str(tmp_path)},
            "dashboard": {"enabled": True, "scheduling": "idle", "token": "t" * 20},
            "cameras": [{"id": "a", "source": "x.mp4"}],
        }
    )
    programs, _ = plan(settings, Path("moodstream.toml"), "redis://127.0.0.1:6379/0")
    dash = next(p for p in programs if p.name == "dashboard")
    assert dash.command[:3] == ["chrt", "--idle", "0"] and dash.command[-1] == "dashboard"
    assert dash.env == {"MOODSTREAM_DASHBOARD_TOKEN": "t" * 20}


def test_partitions_and_cluster_are_checked() -> None:
    s = settings_from_dict({"streams": {"partitions": 4, "read_partitions": [2, 0, 2]}})
    assert s.streams.owned() == [0, 2]
    assert settings_from_dict({"streams": {"partitions": 3}}).streams.owned() == [0, 1, 2]
    with pytest.raises(ConfigError, match=r"read_partitions \[4\] out of range"):
        settings_from_dict({"streams": {"partitions": 4, "read_partitions": [4]}})
    with pytest.raises(ConfigError, match="cluster = true needs url"):
        settings_from_dict({"redis": {"cluster": True}})
    assert settings_from_dict({"redis": {"cluster": True, "url": "redis://10.0.0.5:7000/0"}}).redis.cluster
