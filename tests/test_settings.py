"""Options: defaults < YAML file < environment < command line; configuration errors in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sportstats.settings import Settings, SettingsError, load_settings
from sportstats.settings import command_line as parser
from sportstats.settings.options import SECTIONS
from sportstats.settings.table import options_table, rewrite

ROOT = Path(__file__).resolve().parent.parent
KEY = {"BALLDONTLIE_API_KEY": "k-123"}
ASSISTANT_TIMEOUT_S = 45


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sportstats.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def cli(*argv: str) -> dict[str, Any]:
    """The command line as `python -m sportstats` hands it to `load_settings`."""
    args = vars(parser().parse_args(list(argv)))
    args.pop("config")
    return args


def settings_error(**kwargs: Any) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(**kwargs)
    message = str(caught.value)
    assert message and "\n" not in message
    return message


def test_defaults_listen_locally_on_5001_against_the_public_api() -> None:
    settings = load_settings(environ=KEY)
    assert (settings.host, settings.port) == ("127.0.0.1", 5001)
    assert settings.upstream_url == "https://api.balldontlie.io"
    assert settings.public_url is None
    assert settings.cors_origins == ["https://chat.openai.com", "https://chatgpt.com"]
    assert settings.api_key == "k-123"
    assert 0 < settings.upstream.deadline_s < ASSISTANT_TIMEOUT_S


def test_each_source_overrides_the_one_before(tmp_path: Path) -> None:
    path = config(tmp_path, "host: 0.0.0.0\nport: 6000\nupstream_url: http://yaml.example/v1\n")
    env = {**KEY, "SPORTSTATS_PORT": "7000", "SPORTSTATS_UPSTREAM_URL": "http://env.example/v1"}

    from_file = load_settings(environ=KEY, config_file=path)
    assert (from_file.host, from_file.port) == ("0.0.0.0", 6000)

    from_env = load_settings(environ=env, config_file=path)
    assert (from_env.host, from_env.port) == ("0.0.0.0", 7000)
    assert from_env.upstream_url == "http://env.example/v1"

    from_cli = load_settings(cli=cli("--port", "8000"), environ=env, config_file=path)
    assert (from_cli.host, from_cli.port) == ("0.0.0.0", 8000)
    assert from_cli.upstream_url == "http://env.example/v1"


def test_command_line_names_match_the_option_names() -> None:
    settings = load_settings(
        cli=cli(
            "--host", "0.0.0.0", "--port", "8080", "--upstream-url", "http://127.0.0.1:9/v1",
            "--public-url", "https://nba.example.org/", "--cors-origins", "https://a.example,https://b.example",
            "--log-level", "debug",
        ),
        environ=KEY,
    )  # fmt: skip
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.upstream_url == "http://127.0.0.1:9/v1"
    assert settings.public_url == "https://nba.example.org"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"


def test_the_config_file_can_be_named_in_the_environment(tmp_path: Path) -> None:
    path = config(tmp_path, "port: 6100\n")
    assert load_settings(environ={**KEY, "SPORTSTATS_CONFIG": path}).port == 6100


def test_nested_sections_come_from_yaml_and_from_the_environment(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "upstream:\n  requests_per_minute: 60\n  deadline_s: 8\n"
        "cache:\n  empty_ttl_s: 5\n  ttl_s:\n    teams: 100\n",
    )
    env = {**KEY, "SPORTSTATS_UPSTREAM__DEADLINE_S": "2.5", "SPORTSTATS_CACHE__MAX_ENTRIES": "9"}
    settings = load_settings(environ=env, config_file=path)
    assert settings.upstream.requests_per_minute == 60
    assert settings.upstream.deadline_s == 2.5
    assert settings.cache.empty_ttl_s == 5
    assert settings.cache.max_entries == 9
    assert settings.cache.ttl_s["teams"] == 100
    assert settings.cache.ttl_s["players"] == Settings().cache.ttl_s["players"]


def test_the_api_key_comes_only_from_its_environment_variable(tmp_path: Path) -> None:
    message = settings_error(environ=KEY, config_file=config(tmp_path, "api_key: secret\n"))
    assert "api_key" in message
    settings = load_settings(environ={**KEY, "SPORTSTATS_PUBLIC_URL": "https://x.example"})
    assert "k-123" not in repr(settings)


def test_without_an_api_key_the_error_says_how_to_set_it() -> None:
    message = settings_error(environ={})
    assert "BALLDONTLIE_API_KEY" in message and "export" in message


def test_a_blank_api_key_counts_as_none() -> None:
    assert "BALLDONTLIE_API_KEY" in settings_error(environ={"BALLDONTLIE_API_KEY": "  "})


def test_an_unknown_yaml_key_is_named_with_the_allowed_ones(tmp_path: Path) -> None:
    message = settings_error(environ=KEY, config_file=config(tmp_path, "prot: 5001\n"))
    assert "prot" in message and "port" in message and "upstream_url" in message


def test_an_unknown_key_in_a_section_is_named(tmp_path: Path) -> None:
    path = config(tmp_path, "upstream:\n  retries: 3\n")
    message = settings_error(environ=KEY, config_file=path)
    assert "retries" in message and "max_attempts" in message


@pytest.mark.parametrize(
    ("source", "value", "named"),
    [
        ("cli", 0, "--port"),
        ("cli", 70000, "--port"),
        ("env", "http", "SPORTSTATS_PORT"),
        ("env", "5001.5", "SPORTSTATS_PORT"),
        ("env", "fifty", "SPORTSTATS_PORT"),
        ("yaml", "[1, 2]", "port must"),
        ("yaml", "fifty", "port must"),
    ],
)
def test_a_bad_port_is_one_line_naming_it_as_set_and_what_it_must_be(
    tmp_path: Path, source: str, value: Any, named: str
) -> None:
    kwargs: dict[str, Any] = {"environ": KEY}
    if source == "cli":
        kwargs["cli"] = {"port": value}
    elif source == "env":
        kwargs["environ"] = {**KEY, "SPORTSTATS_PORT": value}
    else:
        kwargs["config_file"] = config(tmp_path, f"port: {value}\n")
    message = settings_error(**kwargs)
    assert message.startswith(named), message
    assert "must be a whole number 1-65535, got" in message and "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("SPORTSTATS_AUTH__MODE", "bogus", "must be none, service, user or oauth"),
        ("SPORTSTATS_upstream__deadline_s", "abc", "must be a number, got 'abc'"),
        ("SPORTSTATS_UPSTREAM__DEADLINE_S", "60", "must be above 0 and under 45"),
        ("SPORTSTATS_LIMITS__BURST", "true", "must be a whole number"),
        ("SPORTSTATS_CACHE__TTL_S__PLAYERS", "x", "must be a whole number"),
        ("SPORTSTATS_CACHE", "x", "must be a section: set its keys one by one"),
    ],
)
def test_an_environment_variable_is_named_as_it_was_set(variable, value, said) -> None:
    message = settings_error(environ={**KEY, variable: value})
    assert message.startswith(f"{variable} {said}"), message


@pytest.mark.parametrize(
    ("option", "variable", "value"),
    [
        ("metrics_token", "SPORTSTATS_METRICS_TOKEN", "change-me-metrics-token-0000"),
        ("contact_email", "SPORTSTATS_CONTACT_EMAIL", "change-me@example.com"),
    ],
)
def test_a_placeholder_left_in_is_refused_naming_the_option(
    tmp_path: Path, option: str, variable: str, value: str
) -> None:
    from_file = settings_error(environ=KEY, config_file=config(tmp_path, f"{option}: {value}\n"))
    assert from_file.startswith(f"{option} still holds") and "in config file" in from_file
    from_env = settings_error(environ={**KEY, variable: value})
    assert from_env.startswith(f"{variable} still holds the example's 'change-me' placeholder")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("upstream_url", "ftp://api.example/v1"),
        ("upstream_url", "api.balldontlie.io/v1"),
        ("public_url", "https://"),
        ("redis_url", "http://127.0.0.1:6379"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_option(name: str, value: str) -> None:
    message = settings_error(cli={name: value}, environ=KEY)
    assert message.startswith("--" + name.replace("_", "-")) and value in message


def test_a_broken_or_missing_config_file_is_one_line(tmp_path: Path) -> None:
    assert "YAML" in settings_error(environ=KEY, config_file=config(tmp_path, "port: [5001\n"))
    assert "mapping" in settings_error(environ=KEY, config_file=config(tmp_path, "- a\n"))
    missing = str(tmp_path / "nope.yaml")
    assert missing in settings_error(environ=KEY, config_file=missing)


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SPORTSTATS_") and k != "BALLDONTLIE_API_KEY"
    }
    return subprocess.run(
        [sys.executable, "-m", "sportstats", *argv],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.process
def test_the_server_refuses_to_start_without_a_key_in_one_line_that_says_how() -> None:
    result = run_cli()
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "BALLDONTLIE_API_KEY" in lines[0] and "export" in lines[0]
    assert result.stdout == ""


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--port", "0"), "port"),
        (("--port", "abc"), "--port"),
        (("--no-such-option",), "--no-such"),
    ],
)
def test_a_configuration_error_on_the_command_line_is_one_line_not_a_traceback(
    args: tuple[str, ...], named: str
) -> None:
    result = run_cli(*args, env=KEY)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr
    assert "usage:" not in result.stderr


@pytest.mark.process
def test_help_offers_a_flag_for_every_option_declared_with_one() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    declared = {
        "--" + name.replace("_", "-")
        for model in (Settings, *SECTIONS.values())
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("flag")
    }
    assert {"--host", "--port", "--tls-cert", "--tls-key", "--redis-url", "--demo"} <= declared
    offered = set(re.findall(r"^  (?:-\w, )?(--[a-z-]+)", result.stdout, re.MULTILINE))
    # --config names the file the other options come from.
    assert offered - {"--help", "--config"} == declared
    for words in ("BALLDONTLIE_API_KEY", "SPORTSTATS_", "precedence", "127.0.0.1", "5001"):
        assert words in result.stdout


def test_docs_table_of_options_is_written_from_the_declarations() -> None:
    """Run `python -m sportstats.settings docs/configuration.md` after changing an option."""
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert rewrite(docs) == docs


def test_docs_table_lists_every_option_with_its_default() -> None:
    table = options_table()
    for name in Settings.model_fields:
        if name not in SECTIONS:
            assert f"| `{name}` |" in table
    for section, model in SECTIONS.items():
        for name in model.model_fields:
            assert f"| `{section}.{name}" in table
    assert "| `port` | `--port` | `5001` |" in table
    assert "| `cache.ttl_s.players` |   | `21600` (6 h) |" in table


@pytest.mark.parametrize(
    "auth",
    [
        {"mode": "user", "keys": [{"name": "alice", "key": "change-me-alice-000000000000"}]},
        {"mode": "service", "service_token": "change-me-service-token-0000"},
    ],
)
def test_a_placeholder_secret_from_the_example_config_is_refused(auth) -> None:
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings(cli={"auth": auth}, environ=KEY)


def test_an_unknown_environment_variable_is_named_with_the_allowed_ones() -> None:
    message = settings_error(environ={**KEY, "SPORTSTATS_UPSTREAM__RETRIES": "3"})
    assert "SPORTSTATS_UPSTREAM__RETRIES" in message and "max_attempts" in message
    assert "SPORTSTATS_PROT" in settings_error(environ={**KEY, "SPORTSTATS_PROT": "1"})


def test_a_number_option_refuses_true_and_false() -> None:
    assert "port" in settings_error(environ=KEY, cli={"port": True})
