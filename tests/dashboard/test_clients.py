"""What a client may ask of the feed: ``Subscription.parse``, directly."""

import pytest

from moodstream.dashboard.clients import Clients, FrameSlot, Subscription, SubscriptionError


def test_all_cameras_by_default_with_the_servers_fps_cap() -> None:
    sub = Subscription.parse({}, fps_cap=10.0)
    assert sub.all and not sub.frames and sub.max_fps == 10.0 and not sub.binary
    assert sub.rooms() == ["all"] and sub.wants("anything")
    assert sub.public() == {"cameras": "*", "frames": False, "max_fps": 10.0, "binary": False}


def test_a_list_of_cameras_with_video() -> None:
    sub = Subscription.parse(
        {"cameras": ["lobby", "desk"], "frames": True, "max_fps": 4, "binary": True}, 10.0
    )
    assert sub.cameras == frozenset({"lobby", "desk"}) and sub.frames and sub.binary
    assert sub.max_fps == 4.0 and isinstance(sub.max_fps, float)
    assert sub.rooms() == ["cam:desk", "cam:lobby"]
    assert sub.wants("lobby") and not sub.wants("hall")


def test_max_fps_is_capped_by_the_server() -> None:
    assert Subscription.parse({"max_fps": 100}, 10.0).max_fps == 10.0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("lobby", "subscribe takes an object"),
        ({"cameras": "lobby"}, "cameras must be '*' or a list"),
        ({"cameras": ["x"] * 257}, "at most 256"),
        ({"cameras": ["../etc"]}, "bad camera id '../etc'"),
        ({"cameras": [7]}, "bad camera id 7"),
        ({"colour": "red"}, "unknown field(s): colour"),
        ({"frames": "yes"}, "frames must be true or false"),
        ({"binary": 1}, "binary must be true or false"),
        ({"max_fps": 0}, "max_fps must be a positive number"),
        ({"max_fps": True}, "max_fps must be a positive number"),
        ({"max_fps": "10"}, "max_fps must be a positive number"),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(body: object, reason: str) -> None:
    with pytest.raises(SubscriptionError) as exc:
        Subscription.parse(body, 10.0)
    assert reason in str(exc.value)


def test_the_registry_resolves_wildcards_and_drops_unwanted_slots() -> None:
    clients = Clients()
    clients.add("a")
    clients.add("b")
    clients.subscribe("a", Subscription.parse({"cameras": ["lobby"], "frames": True}, 10.0))
    clients.subscribe("b", Subscription.parse({"cameras": "*", "frames": False}, 10.0))
    assert clients.video_cameras(["lobby", "desk"]) == {"lobby"}
    clients.subscribe("b", Subscription.parse({"cameras": "*", "frames": True}, 10.0))
    assert clients.video_cameras(["lobby", "desk"]) == {"lobby", "desk"}
    a = clients.get("a")
    assert a is not None
    a.slots["lobby"] = FrameSlot()
    clients.subscribe("a", Subscription.parse({"cameras": ["desk"], "frames": True}, 10.0))
    assert "lobby" not in a.slots  # no longer wanted: its frame slot goes
    assert clients.subscribe("gone", Subscription()) is None
    clients.remove("a")
    assert len(clients) == 1
