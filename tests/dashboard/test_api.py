"""The REST API in-process, from the app factory: reading it writes nothing to Redis."""

from __future__ import annotations

import time

from moodstream.dashboard.app import create_app
from moodstream.runtime.worker import Stopper
from moodstream.streams.bus import Bus
from tests.dashboard.conftest import TOKEN
from tests.dashboard.test_feed import emotion, recommendation
from tests.helpers import retain_suggestion


def snapshot(client, prefix: str) -> dict[bytes, bytes]:
    """Every key of this deployment (its prefix), serialized with its value. Not the server's write count:
    keys of an earlier test that expire meanwhile count as writes there."""
    return {key: client.dump(key) for key in client.scan_iter(match=f"{prefix}*")}


def test_reading_the_api_writes_nothing(make_settings, bus: Bus, client, prefix: str) -> None:
    settings = make_settings(dashboard={"enabled": True, "token": TOKEN})
    dash = create_app(settings, client=client, stopper=Stopper())  # background loops not started
    payload = recommendation("lobby").encode()
    retain_suggestion(bus, "lobby", payload)
    bus.publish(bus.keys.emotions, emotion("lobby", ts=time.time() - 5).encode())
    web = dash.app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = snapshot(client, prefix)
    for path in (
        "/",
        "/healthz",
        "/metrics",
        "/api/cameras",
        "/api/cameras/lobby/timeline",
        "/api/cameras/lobby/recommendation",
        "/api/schemas/stats.json",
    ):
        response = web.get(path, headers=auth)
        assert response.status_code == 200, (path, response.status_code, response.data[:200])
    assert web.get("/api/cameras/lobby/timeline").status_code == 401  # and the token is still needed
    assert snapshot(client, prefix) == before
    assert list(client.scan_iter(match=bus.keys.heartbeat_pattern())) == []


def test_without_a_token_only_the_bind_address_and_loopback_names_are_served(make_settings, client) -> None:
    """DNS rebinding: a page whose own name resolves to 127.0.0.1 sends that name as Host, and is refused."""
    from moodstream.dashboard.auth import host_allowed

    dash = create_app(
        make_settings(dashboard={"enabled": True, "token": ""}), client=client, stopper=Stopper()
    )
    web = dash.app.test_client()
    for host in ("127.0.0.1:8050", "localhost:8050", "[::1]:8050", "localhost"):
        assert web.get("/api/cameras", headers={"Host": host}).status_code == 200, host
    refused = web.get("/api/cameras", headers={"Host": "evil.example:8050"})
    assert refused.status_code == 403 and "Host" in refused.get_json()["error"]
    assert web.get("/healthz", headers={"Host": "evil.example"}).status_code == 403
    assert host_allowed("cam-host:8050", "cam-host") and not host_allowed(None, "127.0.0.1")
    with_token = create_app(
        make_settings(dashboard={"enabled": True, "token": TOKEN}), client=client, stopper=Stopper()
    )
    auth = {"Authorization": f"Bearer {TOKEN}", "Host": "dashboard.example.org"}
    assert with_token.app.test_client().get("/api/cameras", headers=auth).status_code == 200


def test_the_page_gets_the_emotions_and_their_colours_from_the_server(make_settings, client) -> None:
    """The page's ES modules hard-code no emotion: the list (in the model's order) and colours are Python's."""
    import json
    import re

    from moodstream.streams.schemas import EMOTIONS

    dash = create_app(
        make_settings(dashboard={"enabled": True, "token": TOKEN}), client=client, stopper=Stopper()
    )
    page = (
        dash.app.test_client().get("/", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    )
    config = json.loads(
        re.search(r'<script id="config" type="application/json">(.*?)</script>', page).group(1)
    )
    assert config["emotions"] == list(EMOTIONS) and set(config["colors"]) == set(EMOTIONS)
    assert 'type="module"' in page
