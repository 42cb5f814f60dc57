"""The docs' examples run as tests, and the reference covers every key."""

import re
import tomllib
from pathlib import Path

from moodstream.config import AlertRule, CameraSettings, Settings, settings_from_dict
from moodstream.recommender.strategies import STRATEGIES
from moodstream.streams.stages import NAMES as STAGE_NAMES
from moodstream.streams.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]


def test_readme_config_example_is_valid() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    settings = settings_from_dict(tomllib.loads(block))
    assert [c.id for c in settings.cameras] == ["entrance", "replay"]


def test_the_privacy_example_is_valid() -> None:
    doc = (ROOT / "docs" / "privacy.md").read_text()
    block = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    settings = settings_from_dict(tomllib.loads(block))
    assert settings.protection("bar").masks and settings.protection("lounge").aggregate
    assert settings.privacy.retention_s() == 7 * 86400


def test_demo_config_is_valid() -> None:
    settings = settings_from_dict(tomllib.loads((ROOT / "moodstream.toml").read_text()))
    assert len(settings.cameras) >= 2


def test_the_configuration_reference_is_made_from_the_models() -> None:
    """Every key's documentation is its Field's description; the file is what the command makes."""
    from moodstream.config.reference import render

    made = render()  # raises for a key without a description
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert doc == made, "stale: run `moodstream config --reference > docs/configuration.md`"
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        model = {"cameras": CameraSettings, "alerts": AlertRule}.get(name, field.annotation)
        for key in model.model_fields:
            assert f"| `{key}` |" in doc, f"{name}.{key} missing from docs/configuration.md"


def test_readme_mapping_table_matches_code() -> None:
    readme = (ROOT / "README.md").read_text()
    for emotion in STRATEGIES["uplift"]:
        row = re.search(rf"^\| {emotion} \| (\w+) \| (\w+) \|$", readme, re.M)
        assert row, emotion
        assert row.groups() == (STRATEGIES["uplift"][emotion], STRATEGIES["match"][emotion])


def contracts_table() -> list[dict[str, str]]:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## Contracts", 1)[1].split("\n## ", 1)[0]
    rows = [
        line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| contract")
    ]
    out = []
    for row in rows:
        contract, key, writer, readers, schema = (cell.strip() for cell in row.strip("|").split("|"))
        out.append({"contract": contract, "key": key, "writer": writer, "readers": readers, "schema": schema})
    return out


def names(cell: str) -> set[str]:
    return {n.strip() for n in cell.split(",") if n.strip()}


def test_architecture_opens_with_the_tree_then_the_picture() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    blocks = doc.split("```")
    tree, picture = blocks[1], blocks[3]
    assert doc.index("```") < doc.index("\n## ")
    assert len(tree.strip().splitlines()) <= 30, "the tree fits on one screen"
    packages = {p.parent.name for p in (ROOT / "moodstream").glob("*/__init__.py")}
    modules = {p.name for p in (ROOT / "moodstream").glob("*.py") if not p.name.startswith("__")}
    for name in packages:
        assert f" {name}/ " in tree, f"moodstream/{name}/ is missing from the tree"
    for name in modules:
        assert f" {name} " in tree, f"moodstream/{name} is missing from the tree"
    for stage in STAGE_NAMES:
        assert stage in picture
    for stream in ("ms:frames", "ms:detections", "ms:classified", "ms:emotions", "ms:dead"):
        assert stream in picture


def test_the_contracts_table_matches_keys_the_registry_and_the_schemas() -> None:
    import inspect

    from moodstream.streams import schemas
    from moodstream.streams.keys import Keys

    rows = contracts_table()
    by_key: dict[str, dict[str, str]] = {}
    keys = Keys("ms")
    for row in rows:
        for cls in re.findall(r"`(\w+)`", row["schema"]):
            assert cls in schemas.__all__, f"{row['contract']}: no schema class {cls}"
        found = re.match(r"`(\w+)` → `([^`]+)`", row["key"])
        if found is None:
            continue
        attr, shown = found.groups()
        assert hasattr(Keys, attr), f"{row['contract']}: Keys has no {attr}"
        value = getattr(keys, attr)
        if callable(value):
            params = inspect.signature(value).parameters
            value = value(*(f"<{p}>" for p in params))
        assert value == shown, f"{attr} makes {value}, the table says {shown}"
        by_key[attr] = row
    helpers = {
        "stream",
        "streams",
        "input_streams",
        "output_stream",
        "heartbeat_pattern",
        "all_pattern",
        "prefix",
    }
    helpers |= {"partitions", "tag", "partition_of", "partition_of_key", "camera_stream", "stream_name"}
    helpers |= {"is_timeline", "timeline_pattern"}
    public = {n for n in dir(Keys) if not n.startswith("_")} - helpers
    assert set(by_key) == public, "every key in keys.py has its row, and every row its key"

    for stage in STAGES:
        if stage.writes is not None:
            out = by_key[stage.writes]
            assert names(out["writer"]) == {stage.name}, f"{stage.writes} is written by {stage.name} alone"
        if stage.reads is not None:
            assert stage.name in names(by_key[stage.reads]["readers"])
        for extra in stage.also_writes:
            assert stage.name in names(by_key[extra]["writer"]), f"{stage.name} writes {extra}"
    consumers = {s.name for s in STAGES if s.reads is not None}
    assert names(by_key["dead"]["writer"]) == consumers
    assert names(by_key["heartbeat"]["writer"]) == {*STAGE_NAMES, "dashboard"}
    stateful = {s.name for s in STAGES if s.stateful}
    assert names(by_key["state"]["writer"]) == names(by_key["lock"]["writer"]) == stateful
