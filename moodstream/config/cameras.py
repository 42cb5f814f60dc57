"""The cameras and how capture takes their video in. Each key's ``Field(description=…)`` is its
documentation (docs/configuration.md is made from it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from moodstream.config.base import CAMERA_ID_RE, Section


class CameraSettings(Section):
    """One camera, any number: where its video comes from and how its frames are published."""

    id: str = Field(description="camera id: letters, digits, `_`, `-`")
    source: str = Field(
        description="video file, webcam index (`0`) or `/dev/videoN`, `rtsp://`/`http(s)://` URL, `.msrec` recording, or `sample:<name>`"
    )
    detect_source: str = Field(
        default="",
        description="what detection and classification read, e.g. the camera's sub stream; `source` is then only what viewers see, and the boxes are scaled onto it. Empty: `source` serves both ([cameras.md](cameras.md#main-and-sub-streams))",
    )
    fps: float = Field(
        default=0.0,
        ge=0,
        le=240,
        description="frames per second to publish; 0: the file's own rate, or as delivered by a live source",
    )
    loop: bool = Field(default=False, description="restart a file or recording at its end")
    every_frame: bool = Field(
        default=False,
        description="files and recordings only: mark frames non-live so the detector skips none",
    )
    max_width: int = Field(
        default=1280, ge=64, le=7680, description="frames wider than this are downscaled at capture"
    )
    jpeg_quality: int = Field(default=80, ge=10, le=100, description="JPEG quality of published frames")

    @model_validator(mode="after")
    def _detect_source_is_live_video(self) -> CameraSettings:
        if self.detect_source and self.every_frame:
            raise ValueError(
                "every_frame and detect_source do not go together: every_frame is for files whose every frame is analysed"
            )
        return self

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not CAMERA_ID_RE.match(value):
            raise ValueError("camera id must be 1-64 letters, digits, '_' or '-'")
        return value


class CaptureSettings(Section):
    """How capture reconnects to a source that failed (live cameras are retried forever)."""

    reconnect_initial_s: float = Field(default=0.5, gt=0, description="first retry delay when a source fails")
    reconnect_max_s: float = Field(
        default=15.0, gt=0, description="retry delay cap (doubling from the first)"
    )
    read_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="network cameras: FFmpeg's open and read timeout; a read that still has no frame after twice this is abandoned by a watchdog and the camera reconnects",
    )
    rtsp_transport: Literal["tcp", "udp"] = Field(
        default="tcp",
        description="RTSP over TCP (interleaved: no lost packets, passes NAT and firewalls) or UDP (what some old cameras need)",
    )
    hwaccel: Literal["auto", "none", "vaapi", "d3d11", "mfx", "drm"] = Field(
        default="auto",
        description="files and network cameras: FFmpeg's hardware decoder; `auto` uses one the machine has and decodes in software otherwise; a named one that is missing falls back to software. One log line per camera says which is used ([cameras.md](cameras.md#hardware-decoding))",
    )
