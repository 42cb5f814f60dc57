"""Typed settings: one pydantic model per TOML section, unknown keys rejected, each key's
``Field(description=…)`` its documentation (``reference`` makes docs/configuration.md from them).

``load_settings`` reads a TOML file, then environment overrides (``MOODSTREAM__SECTION__KEY=value``).
Everything a caller needs is importable from here.
"""

from moodstream.config.base import CAMERA_ID_RE, DEFAULT_CONFIG, ENV_PREFIX, ConfigError, Section
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
from moodstream.config.privacy import MaskSettings, PrivacySettings, duration_s
from moodstream.config.settings import (
    Settings,
    apply_env_overrides,
    config_path,
    load_settings,
    settings_from_dict,
)
from moodstream.config.spotify import DEFAULT_SPOTIFY_QUERIES, SpotifySettings

__all__ = [
    "CAMERA_ID_RE",
    "DEFAULT_CONFIG",
    "DEFAULT_SPOTIFY_QUERIES",
    "ENV_PREFIX",
    "AlertRule",
    "AlerterSettings",
    "BrowserCameraSettings",
    "CameraSettings",
    "CaptureSettings",
    "ClassifierSettings",
    "ConfigError",
    "DashboardSettings",
    "MaskSettings",
    "PrivacySettings",
    "DetectorSettings",
    "RecommenderSettings",
    "RedisSettings",
    "RollupSettings",
    "RuntimeSettings",
    "Section",
    "Settings",
    "SmootherSettings",
    "SpotifySettings",
    "StreamSettings",
    "WebhookSettings",
    "apply_env_overrides",
    "config_path",
    "duration_s",
    "load_settings",
    "settings_from_dict",
]
