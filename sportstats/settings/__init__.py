"""Every option declared once (`options`), read from the YAML file, the environment and the
command line (`sources`), and documented in the docs' table (`table`)."""

from .access import AuthSettings, TesterKey, parse_tester_keys
from .base import PLACEHOLDER, SettingsError
from .options import (
    API_KEY_ENV,
    ASSISTANT_TIMEOUT_S,
    CacheSettings,
    LimitsSettings,
    Settings,
    UpstreamSettings,
)
from .sources import command_line, load_settings, read_config_file
from .standings import StandingsSettings

__all__ = [
    "API_KEY_ENV",
    "ASSISTANT_TIMEOUT_S",
    "PLACEHOLDER",
    "AuthSettings",
    "CacheSettings",
    "LimitsSettings",
    "Settings",
    "SettingsError",
    "StandingsSettings",
    "TesterKey",
    "UpstreamSettings",
    "command_line",
    "load_settings",
    "parse_tester_keys",
    "read_config_file",
]
