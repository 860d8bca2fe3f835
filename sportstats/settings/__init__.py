"""Every option declared once (`options`), read from the YAML file, the environment and the
command line (`sources`), and documented in README's table (`table`)."""

from .options import (
    API_KEY_ENV,
    ASSISTANT_TIMEOUT_S,
    PLACEHOLDER,
    AuthSettings,
    CacheSettings,
    LimitsSettings,
    Settings,
    SettingsError,
    TesterKey,
    UpstreamSettings,
    parse_tester_keys,
)
from .sources import command_line, load_settings, read_config_file

__all__ = [
    "API_KEY_ENV",
    "ASSISTANT_TIMEOUT_S",
    "PLACEHOLDER",
    "AuthSettings",
    "CacheSettings",
    "LimitsSettings",
    "Settings",
    "SettingsError",
    "TesterKey",
    "UpstreamSettings",
    "command_line",
    "load_settings",
    "parse_tester_keys",
    "read_config_file",
]
