"""`moodstream notice`: a camera's A4 notice, from the config, rendered by a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import browser  # noqa: F401 - the real Chromium fixture
from tests.helpers import moodstream, write_config

pytestmark = pytest.mark.browser


def test_the_notice_names_purpose_retention_and_contact_on_one_a4_page(tmp_path: Path, browser: Any) -> None:  # noqa: F811
    config = write_config(
        tmp_path / "ms.toml",
        {
            "privacy": {"retention": "7d", "controller": "Café <Lumière>", "contact": "privacy@example.org"},
            "cameras": [
                {
                    "id": "bar",
                    "source": "sample:single_face.mp4",
                    "context": "retail",
                    "purpose": "choosing the music for the room",
                    "notice": "This camera reads the room's mood to pick music.",
                    "masks": [{"points": [[0, 0], [0.2, 0], [0.2, 0.2]], "name": "till"}],
                }
            ],
        },
    )
    out = tmp_path / "notice.html"
    done = moodstream("--config", str(config), "notice", "--camera", "bar", "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = browser.new_page()
    page.goto(out.as_uri())
    text = page.inner_text("body")
    for words in ("choosing the music for the room", "7d old", "privacy@example.org", "Café <Lumière>"):
        assert words in text, (words, text)
    assert "blurred beyond recognition" in text and "masked" in text and "Art. 50(3)" in text
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the notice fits one A4 page"
    stdout = moodstream("--config", str(config), "notice", "--camera", "bar")
    assert stdout.returncode == 0 and stdout.stdout.startswith("<!doctype html>")
    assert "&lt;Lumière&gt;" in stdout.stdout  # the config's text is escaped
