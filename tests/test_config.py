"""Settings are read exactly like the official cm-client's, with a 30 s default timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmrunbook.config import DEFAULT_SERVICE_URL, load_settings
from cmrunbook.errors import ConfigurationError


def test_defaults_without_environment_or_file(tmp_path: Path) -> None:
    settings = load_settings({}, tmp_path / "missing")
    assert settings.service_url == DEFAULT_SERVICE_URL
    assert settings.timeout == 30.0
    assert settings.token is None
    assert settings.cookies == {}


def test_environment_wins_over_the_cm_client_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".cm-client"
    dotenv.write_text("CM_SERVICE=https://file.example/cm-service/v1\nCM_TIMEOUT=12\n")
    settings = load_settings({"CM_SERVICE": "https://env.example/cm-service/v1/"}, dotenv)
    assert settings.service_url == "https://env.example/cm-service/v1"
    assert settings.timeout == 12.0


def test_file_values_are_used_when_the_environment_is_silent(tmp_path: Path) -> None:
    dotenv = tmp_path / ".cm-client"
    dotenv.write_text("# pilot settings\nexport CM_TOKEN='abc def'\nCM_COOKIES=a|1,b|2\n")
    settings = load_settings({}, dotenv)
    assert settings.token is not None
    assert settings.token.reveal() == "abc def"
    assert settings.cookies == {"a": "1", "b": "2"}


@pytest.mark.parametrize("value", ["", "None", "null"])
def test_empty_or_null_timeout_means_no_timeout(tmp_path: Path, value: str) -> None:
    assert load_settings({"CM_TIMEOUT": value}, tmp_path / "x").timeout is None


def test_bad_timeout_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CM_TIMEOUT"):
        load_settings({"CM_TIMEOUT": "soon"}, tmp_path / "x")


def test_malformed_cookies_are_refused_with_the_expected_form(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"CM_COOKIES": "session=s3cr3t"}, tmp_path / "x")
    assert "name|value" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_token_never_shows_in_repr_or_str(tmp_path: Path) -> None:
    settings = load_settings({"CM_TOKEN": "sekrit-123"}, tmp_path / "x")
    assert "sekrit-123" not in repr(settings)
    assert "sekrit-123" not in str(settings.token)


def test_server_root_strips_the_route_prefix(tmp_path: Path) -> None:
    settings = load_settings(
        {"CM_SERVICE": "https://usdf-cm.example:8443/cm-service/v1"}, tmp_path / "x"
    )
    assert settings.server_root == "https://usdf-cm.example:8443"
