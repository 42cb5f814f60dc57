"""The cameras and how capture takes their video in. Each key's ``Field(description=…)`` is its
documentation (docs/configuration.md is made from it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from moodstream.config.base import CAMERA_ID_RE, Section
from moodstream.config.privacy import PROHIBITED_CONTEXTS, Context, MaskSettings


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
    # What leaves the pipeline for this camera, and whether it may be analysed at all (privacy.md).
    blur_faces: bool | None = Field(
        default=None, description="this camera's `[privacy] blur_faces`; unset: the section's"
    )
    masks: list[MaskSettings] = Field(
        default_factory=list,
        description="`[[cameras.masks]]`: areas where nothing is detected or classified, blacked out in every frame that leaves",
    )
    privacy: Literal["full", "aggregate"] = Field(
        default="full",
        description='`"aggregate"`: no per-face event, box, track or frame leaves for this camera; only its mood over time (timeline buckets), its suggestions and its alerts',
    )
    context: Context = Field(
        default="other",
        description="where the camera films; `workplace` and `education` need an `exemption` (EU AI Act Art. 5(1)(f))",
    )
    exemption: Literal["", "medical", "safety"] = Field(
        default="",
        description="the medical or safety reason that allows emotion recognition in a workplace or school",
    )
    purpose: str = Field(
        default="", description="why this camera's emotions are inferred (printed on its notice)"
    )
    notice: str = Field(
        default="", description="a short text for the people filmed, shown on the page with the camera"
    )

    @model_validator(mode="after")
    def _detect_source_is_live_video(self) -> CameraSettings:
        if self.detect_source and self.every_frame:
            raise ValueError(
                "every_frame and detect_source do not go together: every_frame is for files whose every frame is analysed"
            )
        return self

    def prohibited(self) -> bool:
        """Emotion recognition here is prohibited (EU AI Act Art. 5(1)(f)): a workplace or an education
        institution, with no medical or safety exemption declared."""
        return self.context in PROHIBITED_CONTEXTS and not self.exemption

    def blurs(self, default: bool) -> bool:
        """Whether this camera's faces are pixelated in what leaves (its own setting, else the section's)."""
        return default if self.blur_faces is None else self.blur_faces

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
