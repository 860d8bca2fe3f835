"""An oauth deployment that cannot work is refused at start-up, in one line that names the
option and the fix (issue #24), and the issuer is never left to request headers (issue #20)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from sportstats.__main__ import startup_line
from sportstats.ops.auth import AccessControl
from sportstats.settings import AuthSettings, SettingsError
from tests.conftest import make_settings
from tests.test_oauth import OAUTH
from tests.test_settings import KEY, run_cli


@pytest.mark.parametrize(
    ("overrides", "named", "fix"),
    [
        ({"auth": {"mode": "oauth"}}, "auth.keys", "auth.issuer"),
        ({"auth": OAUTH, "host": "0.0.0.0"}, "public_url", "https://"),
        ({"auth": {**OAUTH, "trusted_proxies": ["10.0.0.1"]}}, "public_url", "https://"),
        ({"auth": OAUTH, "public_url": "http://stats.example.com"}, "public_url", "TLS"),
        ({"auth": OAUTH, "public_url": "https://stats.example.com/nba"}, "public_url",
         "public_url: https://stats.example.com"),
        ({"auth": OAUTH, "public_url": "https://stats.example.com/?x=1"}, "public_url", "root"),
    ],
    ids=["no-keys", "public-host", "proxy", "http", "path", "query"],
)  # fmt: skip
def test_an_oauth_deployment_that_cannot_work_is_refused_in_one_line(
    overrides: dict[str, Any], named: str, fix: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        make_settings(**overrides)
    message = str(refused.value)
    assert "\n" not in message and named in message and fix in message


@pytest.mark.parametrize(
    "overrides",
    [
        {"auth": OAUTH},  # local development: loopback, no proxy
        {"auth": OAUTH, "public_url": "http://localhost:5001"},
        {"auth": OAUTH, "public_url": "https://stats.example.com/", "host": "0.0.0.0"},
        {"auth": {**OAUTH, "trusted_proxies": ["10.0.0.1"]}, "public_url": "https://s.example"},
        {"auth": {"mode": "oauth", "issuer": "https://id.example", "jwks_url": "https://id.example/k"},
         "public_url": "https://s.example"},
    ],
)  # fmt: skip
def test_the_oauth_deployments_that_work_start(overrides: dict[str, Any]) -> None:
    assert make_settings(**overrides).auth.mode == "oauth"


@pytest.mark.process
def test_python_m_sportstats_refuses_oauth_without_keys_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sportstats.yaml"
    config.write_text(yaml.safe_dump({"auth": {"mode": "oauth"}, "host": "0.0.0.0"}))
    result = run_cli("--config", str(config), env=KEY)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "auth.keys" in lines[0] and "Traceback" not in result.stderr


def test_the_startup_line_and_the_no_keys_warning_name_the_mode_in_use(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert "auth oauth" in startup_line(make_settings(auth=OAUTH), tls=False)
    caplog.set_level(logging.WARNING)
    AccessControl(AuthSettings(mode="user"))
    warned = [r.getMessage() for r in caplog.records]
    assert any("auth.mode is user" in line for line in warned), warned


def test_the_mode_option_lists_every_mode() -> None:
    description = AuthSettings.model_fields["mode"].description or ""
    assert all(f"`{mode}`" in description for mode in ("none", "service", "user", "oauth"))
