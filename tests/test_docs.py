"""The docs' examples run as tests, and the reference covers every key."""

import re
import tomllib
from pathlib import Path

from moodstream.services.common.settings import CameraSettings, Settings, settings_from_dict
from moodstream.services.recommender.strategies import STRATEGIES

ROOT = Path(__file__).resolve().parents[1]


def test_readme_config_example_is_valid() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    settings = settings_from_dict(tomllib.loads(block))
    assert [c.id for c in settings.cameras] == ["entrance", "replay"]


def test_demo_config_is_valid() -> None:
    settings = settings_from_dict(tomllib.loads((ROOT / "moodstream.toml").read_text()))
    assert len(settings.cameras) >= 2


def test_configuration_reference_lists_every_key() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        if name == "source_path":
            continue
        model = CameraSettings if name == "cameras" else field.annotation
        for key in model.model_fields:
            assert f"| `{key}` |" in doc, f"{name}.{key} missing from docs/configuration.md"


def test_readme_mapping_table_matches_code() -> None:
    readme = (ROOT / "README.md").read_text()
    for emotion in STRATEGIES["uplift"]:
        row = re.search(rf"^\| {emotion} \| (\w+) \| (\w+) \|$", readme, re.M)
        assert row, emotion
        assert row.groups() == (STRATEGIES["uplift"][emotion], STRATEGIES["match"][emotion])


def test_kubernetes_config_is_valid_and_exposes_the_dashboard_only_with_a_token() -> None:
    import textwrap

    import pytest

    from moodstream.dashboard.auth import check_exposure
    from moodstream.services.common.settings import ConfigError

    manifest = (ROOT / "deploy" / "kubernetes" / "moodstream.yaml").read_text()
    block = manifest.split("moodstream.toml: |\n", 1)[1].split("\n---", 1)[0]
    settings = settings_from_dict(tomllib.loads(textwrap.dedent(block)))
    assert settings.dashboard.message_queue == "redis"
    with pytest.raises(ConfigError, match="MOODSTREAM_DASHBOARD_TOKEN"):
        check_exposure(settings.dashboard)
    assert "MOODSTREAM_DASHBOARD_TOKEN" in manifest and "sessionAffinity: ClientIP" in manifest
