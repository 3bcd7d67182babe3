"""`local.settings.json` as Azure Functions Core Tools reads it (host.json is read by `config.read_host_json`).

Core Tools reads the file from the script root before it starts the worker: `Values` become the app's
environment (a variable already set in the environment wins), `ConnectionStrings` are exposed as
`ConnectionStrings:<name>` variables, `Host.LocalHttpPort` is the default port and `Host.CORS` /
`Host.CORSCredentials` the CORS policy. An encrypted file (`IsEncrypted: true`) cannot be read here.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SettingsError

FILE_NAME = "local.settings.json"


@dataclass
class LocalSettings:
    values: dict[str, str] = field(default_factory=dict)
    connection_strings: dict[str, str] = field(default_factory=dict)
    local_http_port: int | None = None
    cors: list[str] = field(default_factory=list)
    cors_credentials: bool = False

    def apply_to(self, env: MutableMapping[str, str]) -> None:
        """Set every value the environment does not already have (the environment wins, as in Core Tools)."""
        for name, value in self.values.items():
            env.setdefault(name, value)
        for name, value in self.connection_strings.items():
            env.setdefault(f"ConnectionStrings:{name}", value)


def read_local_settings(script_root: Path) -> LocalSettings:
    """The script root's `local.settings.json`, or empty settings where there is none."""
    path = script_root / FILE_NAME
    if not path.is_file():
        return LocalSettings()
    doc = read_json_file(path)
    if not isinstance(doc, dict):
        raise SettingsError(str(path), "the top level must be a JSON object")
    if doc.get("IsEncrypted") is True:
        raise SettingsError(str(path), "IsEncrypted is true: funchost cannot decrypt it; run "
                            "`func settings decrypt` where Core Tools is installed, or write the values in clear")
    settings = LocalSettings(values=_strings(path, doc, "Values"),
                             connection_strings=_strings(path, doc, "ConnectionStrings"))
    host = doc.get("Host") or {}
    if not isinstance(host, dict):
        raise SettingsError(str(path), "Host must be a JSON object")
    port = host.get("LocalHttpPort")
    if port is not None:
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port <= 65535:
            raise SettingsError(str(path), f"Host.LocalHttpPort must be a port number (1-65535), not {port!r}")
        settings.local_http_port = port
    settings.cors = parse_cors(str(host.get("CORS") or ""))
    credentials = host.get("CORSCredentials", False)
    if not isinstance(credentials, bool):
        raise SettingsError(str(path), f"Host.CORSCredentials must be true or false, not {credentials!r}")
    settings.cors_credentials = credentials
    return settings


def parse_cors(text: str) -> list[str]:
    """`"*"` or a comma-separated list of origins, as `Host.CORS` and `--cors` take them."""
    return [origin.strip().rstrip("/") for origin in text.split(",") if origin.strip()]


def read_json_file(path: Path) -> Any:
    """A settings file's JSON; one SettingsError naming the file for bad JSON or an unreadable file."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SettingsError(str(path), f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(str(path), f"cannot be read: {exc}") from None


def _strings(path: Path, doc: dict[str, Any], section: str) -> dict[str, str]:
    """A section of name -> value, numbers and booleans written as Core Tools reads them (as text)."""
    raw = doc.get(section) or {}
    if not isinstance(raw, dict):
        raise SettingsError(str(path), f"{section} must be a JSON object")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[name] = str(value)
        elif value is None:
            out[name] = ""
        else:
            raise SettingsError(str(path), f"{section}.{name} must be a string, not {type(value).__name__}")
    return out


def apply_local_settings(script_root: Path) -> LocalSettings:
    """Read the script root's settings and apply their values to this process's environment."""
    settings = read_local_settings(script_root)
    settings.apply_to(os.environ)
    return settings
