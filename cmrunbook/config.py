"""Where CM Service is and how to authenticate, read exactly as the official ``cm-client`` does.

Same variable names (``CM_SERVICE``, ``CM_TOKEN``, ``CM_TIMEOUT``, ``CM_COOKIES``) and the same
dotenv file (``~/.cm-client``), environment first, so a pilot configures nothing new. One
deliberate difference: the default timeout is 30 s, not httpx's 5 s, because listing a large
campaign's scripts routinely takes longer than that.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigurationError

DEFAULT_SERVICE_URL = "http://localhost:8080/cm-service/v1"
DEFAULT_TIMEOUT_S = 30.0
CLIENT_CONFIG_FILE = Path("~/.cm-client")
_NO_TIMEOUT = {"", "null", "none"}


class Secret:
    """A string that never shows itself in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    """The client settings; build them with :func:`load_settings`."""

    service_url: str = DEFAULT_SERVICE_URL
    token: Secret | None = field(default=None)
    timeout: float | None = DEFAULT_TIMEOUT_S
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def server_root(self) -> str:
        """The URL ``/healthz`` and ``/openapi.json`` live under (the host, without prefix)."""
        scheme, _, rest = self.service_url.partition("://")
        host = rest.split("/", 1)[0]
        return f"{scheme}://{host}"


def read_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines as python-dotenv does for the simple cases ``cm-client`` uses."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip().upper()] = value
    return values


def parse_cookies(text: str) -> dict[str, str]:
    """Parse ``CM_COOKIES`` (``name|value,name|value``) as the official client does."""
    cookies: dict[str, str] = {}
    for position, item in enumerate(filter(None, (part.strip() for part in text.split(","))), 1):
        name, sep, value = item.partition("|")
        if not sep or not name.strip():
            # The entry itself is not echoed: cookies are credentials.
            raise ConfigurationError(
                f"CM_COOKIES entry {position} is not of the form name|value.",
                hint="Write CM_COOKIES as name|value pairs separated by commas, "
                "e.g. CM_COOKIES='session|abc,route|x', or unset it.",
            )
        cookies[name.strip()] = value.strip()
    return cookies


def parse_timeout(text: str) -> float | None:
    """Parse ``CM_TIMEOUT`` in seconds; empty, ``null`` or ``None`` mean no timeout."""
    if text.strip().lower() in _NO_TIMEOUT:
        return None
    try:
        timeout = float(text)
    except ValueError:
        timeout = -1.0
    if timeout <= 0:
        raise ConfigurationError(
            f"CM_TIMEOUT={text!r} is not a positive number of seconds.",
            hint="Set CM_TIMEOUT to a number such as 60, or to 'None' for no timeout.",
        )
    return timeout


def load_settings(environ: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
    """Settings from the environment, then ``~/.cm-client``, then the defaults."""
    env = os.environ if environ is None else environ
    file_values = read_dotenv((config_file or CLIENT_CONFIG_FILE).expanduser())

    def lookup(name: str) -> str | None:
        return env[name] if name in env else file_values.get(name)

    service_url = (lookup("CM_SERVICE") or DEFAULT_SERVICE_URL).rstrip("/")
    token = lookup("CM_TOKEN")
    timeout = lookup("CM_TIMEOUT")
    cookies = lookup("CM_COOKIES")
    return Settings(
        service_url=service_url,
        token=Secret(token) if token else None,
        timeout=DEFAULT_TIMEOUT_S if timeout is None else parse_timeout(timeout),
        cookies=parse_cookies(cookies) if cookies else {},
    )
