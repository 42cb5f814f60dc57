"""The dashboard's smaller defences: forged links dropped, strict CSP, time arguments checked."""

from __future__ import annotations

import dataclasses
import json

from moodstream.streams.bus import Bus
from moodstream.streams.schemas import RecommendationEvent
from tests.dashboard.test_feed import recommendation
from tests.helpers import retain_suggestion


def test_a_forged_suggestion_loses_its_links_elsewhere(start_dashboard, bus: Bus) -> None:
    dash = start_dashboard()
    reco = recommendation("desk")
    forged = dataclasses.replace(
        reco.tracks[0],
        url="javascript:alert(1)",
        embed_url="https://evil.example/embed",
        preview_url="https://evil.example/a.mp3",
    )
    retain_suggestion(bus, "desk", dataclasses.replace(reco, tracks=[forged]).encode())
    (track,) = dash.json("/api/cameras/desk/recommendation")["tracks"]
    assert track["title"] == "Africa" and track["url"] == track["embed_url"] == track["preview_url"] == ""
    good = RecommendationEvent.decode(reco.encode()).tracks[0]
    assert good.url.startswith("https://open.spotify.com/") and good.embed_url


def test_csp_and_time_arguments(start_dashboard) -> None:
    dash = start_dashboard()
    _, _, headers = dash.get("/", dash.token)
    csp = headers["Content-Security-Policy"]
    for part in ("frame-ancestors 'none'", "connect-src 'self';", "media-src https://p.scdn.co"):
        assert part in csp, csp
    for path in (
        "/api/cameras/desk/timeline?since=1e300",
        "/api/cameras/desk/timeline?until=-1",
        "/api/alerts?since=99999999999999",
    ):
        status, body, _ = dash.get(path, dash.token)
        assert status == 400, (path, status, body)
        assert "epoch seconds between 0 and" in json.loads(body)["error"]
