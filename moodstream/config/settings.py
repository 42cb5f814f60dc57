"""The whole configuration, and loading it: a TOML file, then environment overrides of the form
``MOODSTREAM__SECTION__KEY=value`` (values parsed as TOML scalars, so ``true`` and ``12`` keep their
types). A mistake in the file fails at start with the offending key named, rather than half-way through a
run."""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from moodstream.config.base import DEFAULT_CONFIG, ENV_PREFIX, ConfigError, Section
from moodstream.config.cameras import CameraSettings, CaptureSettings
from moodstream.config.dashboard import BrowserCameraSettings, DashboardSettings
from moodstream.config.pipeline import (
    AlerterSettings,
    AlertRule,
    ClassifierSettings,
    DetectorSettings,
    RecommenderSettings,
    RedisSettings,
    RollupSettings,
    RuntimeSettings,
    SmootherSettings,
    StreamSettings,
    WebhookSettings,
)
from moodstream.config.privacy import PrivacySettings, Protection
from moodstream.config.spotify import SpotifySettings


class Settings(Section):
    redis: RedisSettings = RedisSettings()
    cameras: list[CameraSettings] = []
    capture: CaptureSettings = CaptureSettings()
    detector: DetectorSettings = DetectorSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    smoother: SmootherSettings = SmootherSettings()
    recommender: RecommenderSettings = RecommenderSettings()
    alerter: AlerterSettings = AlerterSettings()
    rollup: RollupSettings = RollupSettings()
    streams: StreamSettings = StreamSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    dashboard: DashboardSettings = DashboardSettings()
    browser_cameras: BrowserCameraSettings = BrowserCameraSettings()
    privacy: PrivacySettings = PrivacySettings()
    spotify: SpotifySettings = SpotifySettings()
    alerts: list[AlertRule] = []
    webhook: WebhookSettings = WebhookSettings()
    # Where the settings came from, for messages and for relative paths.
    source_path: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_cameras(self) -> Settings:
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} appears twice")
            seen.add(camera.id)
        names = [rule.name for rule in self.alerts]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"alert rule name(s) {twice} appear twice: give each rule its own name")
        return self

    def check_lawful(self) -> None:
        """Refuse, in one line, to infer emotions where the EU AI Act prohibits it (Art. 5(1)(f)): a
        camera in a workplace or an education institution without a medical or safety exemption."""
        for cam in self.cameras:
            if cam.prohibited():
                raise ConfigError(
                    f"camera {cam.id}: context {cam.context!r}: inferring emotions in workplaces and "
                    "education institutions is prohibited by the EU AI Act, Art. 5(1)(f), except for "
                    'medical or safety reasons; declare exemption = "medical" or "safety" if one applies'
                )

    def run_path(self) -> Path:
        """The run folder of ``up``: ``[runtime] dir``, else one derived from the config file's name."""
        if self.runtime.dir:
            return self.resolve_path(self.runtime.dir)
        stem = Path(self.source_path).stem if self.source_path else "moodstream"
        return self.resolve_path(".moodstream" if stem == "moodstream" else f".moodstream-{stem}")

    def secrets(self) -> list[str]:
        """Values that must never be shown: the dashboard token, the Redis password, Spotify's secret."""
        from urllib.parse import urlsplit

        values = [self.dashboard.token, self.redis.password, os.environ.get("SPOTIPY_CLIENT_SECRET", "")]
        values += [rule.webhook() for rule in self.alerts]  # a webhook URL often carries its own token
        with contextlib.suppress(ValueError):
            values.append(urlsplit(self.redis.url).password or "")
        return [v for v in values if v]

    def redacted_dump(self) -> dict[str, Any]:
        """The settings as ``moodstream config`` prints them: secrets and camera credentials as ``***``."""
        from moodstream.runtime.redact import MASK, redact

        data = self.model_dump()
        for section, key in (("dashboard", "token"), ("redis", "password")):
            if data[section][key]:
                data[section][key] = MASK
        data["redis"]["url"] = redact(data["redis"]["url"])
        for camera in data["cameras"]:
            camera["source"] = redact(camera["source"])
        for rule in data["alerts"]:
            if rule["webhook_url"]:
                rule["webhook_url"] = MASK
        return data

    def camera(self, camera_id: str) -> CameraSettings:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise ConfigError(f"no camera {camera_id!r} in config (cameras: {[c.id for c in self.cameras]})")

    def protection(self, camera_id: str) -> Protection:
        """What leaves for this camera: its own privacy settings, else the section's (a camera the
        config does not name, a viewer's webcam say, gets the section's)."""
        default = self.privacy
        for cam in self.cameras:
            if cam.id == camera_id:
                return Protection(
                    blur=cam.blurs(default.blur_faces),
                    margin=default.blur_margin,
                    masks=tuple(tuple(m.points) for m in cam.masks),
                    aggregate=cam.privacy == "aggregate",
                )
        return Protection(blur=default.blur_faces, margin=default.blur_margin)

    def aggregate_cameras(self) -> frozenset[str]:
        """Cameras of which only the mood over time, suggestions and alerts leave (``privacy``)."""
        return frozenset(c.id for c in self.cameras if c.privacy == "aggregate")

    def resolve_path(self, value: str) -> Path:
        """Relative paths in a config file are relative to that file, as users expect."""
        path = Path(value).expanduser()
        if path.is_absolute() or self.source_path is None:
            return path
        return Path(self.source_path).resolve().parent / path


def _format_error(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid config ({origin}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env_overrides(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """``MOODSTREAM__CLASSIFIER__MAX_BATCH=64`` sets ``[classifier] max_batch``."""
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if len(parts) != 2:
            raise ConfigError(f"environment override {name}: expected MOODSTREAM__SECTION__KEY")
        section, key = parts
        if section in ("cameras", "alerts"):
            raise ConfigError(f"environment override {name}: {section} are set in the config file")
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"environment override {name}: [{section}] is not a section")
        target[key] = _parse_env_value(raw)
    # Secrets that have well-known variables of their own.
    token = environ.get("MOODSTREAM_DASHBOARD_TOKEN")
    if token:
        data.setdefault("dashboard", {})["token"] = token
    url = environ.get("MOODSTREAM_REDIS_URL")
    if url:
        data.setdefault("redis", {})["url"] = url
    password = environ.get("MOODSTREAM_REDIS_PASSWORD")
    if password:
        data.setdefault("redis", {})["password"] = password
    return data


def config_path(explicit: str | None = None, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(explicit or env.get("MOODSTREAM_CONFIG") or DEFAULT_CONFIG)


def load_settings(
    path: str | Path | None = None,
    environ: dict[str, str] | None = None,
    *,
    required: bool = False,
) -> Settings:
    """Load settings from a TOML file plus environment overrides.

    A missing default file is fine (everything has a default); a missing file
    that was named explicitly is an error.
    """
    env = dict(os.environ if environ is None else environ)
    file = config_path(str(path) if path else None, env)
    data: dict[str, Any] = {}
    origin = "defaults"
    if file.exists():
        origin = str(file)
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid config ({file}): {exc}") from exc
    elif required or path is not None or "MOODSTREAM_CONFIG" in env:
        raise ConfigError(f"config file not found: {file}")
    data = apply_env_overrides(data, env)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, origin)) from exc
    settings.source_path = str(file) if file.exists() else None
    _register_secrets(settings)
    return settings


def _register_secrets(settings: Settings) -> None:
    from moodstream.runtime.redact import register_secret

    for value in settings.secrets():
        register_secret(value)


def settings_from_dict(data: dict[str, Any]) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, "dict")) from exc
    _register_secrets(settings)
    return settings
