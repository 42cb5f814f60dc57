"""The ``[dashboard]`` section: the page, the REST API and the Socket.IO feed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from moodstream.config.base import Section


class DashboardSettings(Section):
    """The page, the REST API and the Socket.IO feed: [dashboard.md](dashboard.md)."""

    enabled: bool = Field(
        default=False, description="run the dashboard under `up` (the demo config enables it)"
    )
    host: str = Field(default="127.0.0.1", description="bind address; anything but loopback requires a token")
    port: int = Field(default=8050, ge=0, le=65535, description="port")
    token: str = Field(
        default="",
        description="access token for the page, the API and the feed; prefer `MOODSTREAM_DASHBOARD_TOKEN`. Required (16+ characters) when `host` is not loopback. Empty under `up`: a token is generated into the run directory, and `moodstream url` prints it",
    )
    message_queue: str = Field(
        default="",
        description='several dashboard processes share events through Flask-SocketIO\'s message queue: `""` (one process), `"redis"` (the pipeline\'s Redis) or a `redis://` URL',
    )
    max_fps: float = Field(
        default=10.0, gt=0, le=30, description="most video frames per second sent to a client for one camera"
    )
    timeline_s: int = Field(
        default=300,
        ge=10,
        le=24 * 3600,
        description="what the timeline endpoint returns by default; the page opens each tile on the shortest of its ranges (5 min, 1 h, 24 h) that covers it",
    )
    stats_interval_s: float = Field(default=2.0, ge=0.2, le=60, description="period of `stats` events")
    frame_ack_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="a frame a client has not acknowledged after this long stops holding back the next one",
    )
    resume_max: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="the most missed `emotion` and `recommendation` events replayed to a feed client that resubscribes with `since`; beyond that the reply says `gap` and the newest are replayed ([dashboard.md](dashboard.md))",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='other browser origins allowed to open the feed, e.g. `["https://app.example"]`; non-browser clients need none',
    )
    nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="niceness of the dashboard under `up`: on a busy host the pipeline comes first",
    )
    scheduling: Literal["nice", "idle"] = Field(
        default="nice",
        description='`"idle"` runs the dashboard under `up` in Linux\'s SCHED_IDLE class (`chrt --idle`): it only gets CPU the pipeline leaves unused',
    )

    def priority_prefix(self) -> list[str]:
        """The command prefix that gives the dashboard its CPU priority."""
        if self.scheduling == "idle":
            return ["chrt", "--idle", "0"]
        return ["nice", "-n", str(self.nice)] if self.nice else []


class BrowserCameraSettings(Section):
    """A viewer's own webcam as a live camera, from the page: [cameras.md](cameras.md#the-viewers-own-webcam)."""

    enabled: bool = Field(
        default=True,
        description='the page offers "Use my camera"; browsers allow it over HTTPS or on localhost only',
    )
    fps: float = Field(default=10.0, gt=0, le=30, description="most frames a second a browser sends")
    max_width: int = Field(
        default=640, ge=64, le=1920, description="browsers downscale wider video to this before sending"
    )
    max: int = Field(
        default=4, ge=0, le=256, description="most browser cameras at once, across dashboard processes"
    )
    max_frame_bytes: int = Field(
        default=256 * 1024,
        ge=4096,
        le=4 * 1024 * 1024,
        description="largest JPEG a browser may send (also bounded by `[streams] max_frame_bytes`)",
    )
