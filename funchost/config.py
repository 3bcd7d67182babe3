"""The host's configuration: one frozen object built once at start from the CLI, the environment,
local.settings.json and host.json; every other module receives the values it needs from it.

Precedence, highest first (as Core Tools and the Functions host apply it): a command-line option, an
environment variable, a `Values` entry of local.settings.json (applied to the environment only where the
variable is unset), host.json, the default. host.json settings are overridden by app settings named
`AzureFunctionsJobHost__<path>` (e.g. `AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions`),
as in Azure. This module is the only one that reads `os.environ` (and host.json).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import sdk_patches
from .errors import SettingsError
from .local_settings import apply_local_settings, read_json_file

HOST_JSON = "host.json"
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
DEFAULT_ACTIVITY_SLOTS = 16  # in flight at once when host.json does not say (threads: DEFAULT_ACTIVITY_THREADS)
DEFAULT_ACTIVITY_THREADS = 8


@dataclass(frozen=True)
class HostJson:
    """What funchost uses of host.json, read once (`read_host_json`)."""

    route_prefix: str = "api"
    hub_name: str = "TestHubName"
    max_concurrent_activities: int | None = None  # extensions.durableTask.maxConcurrentActivityFunctions
    max_concurrent_orchestrators: int | None = None  # extensions.durableTask.maxConcurrentOrchestratorFunctions
    log_levels: Mapping[str, Any] = field(default_factory=dict)  # logging.logLevel, checked by the console
    functions: tuple[str, ...] | None = None  # `functions`: only these are loaded (None: all)
    path: str = HOST_JSON


@dataclass(frozen=True)
class HostConfig:
    """Everything the host is configured with. Construct directly (tests) or with `build` (the CLI)."""

    script_root: Path
    port: int = 7071
    host: str = "127.0.0.1"
    data_dir: Path | None = None
    max_body_bytes: int = 100 * 1024 * 1024
    function_body_bytes: int | None = None  # the app's limit on HTTP function bodies; None: max_body_bytes
    idle_timeout_s: float = 30.0  # a connection with no complete request head for this long is closed
    body_timeout_s: float = 60.0  # a body that has not fully arrived by then gets 408
    activity_processes: int = 0
    max_concurrent_activities: int = DEFAULT_ACTIVITY_SLOTS
    activity_threads: int = DEFAULT_ACTIVITY_THREADS
    activity_nice: int = 10  # OS priority increment of activity worker processes
    function_keys: list[str] = field(default_factory=list, repr=False)  # secrets: never in a repr or log
    admin_key: str | None = field(default=None, repr=False)
    system_key: str | None = field(default=None, repr=False)
    telemetry: bool = True
    tracing: bool = False  # FUNCHOST_TRACING=1: trace every request even without an exporter
    otlp_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT (read here; the exporter reads its own too)
    id_generator_named: bool = False  # OTEL_PYTHON_ID_GENERATOR is set: OpenTelemetry's generator wins
    sdk_patches: bool = True
    time_zone: str | None = None  # WEBSITE_TIME_ZONE: the IANA zone of timer schedules (None: UTC)
    cors_origins: list[str] = field(default_factory=list)
    cors_credentials: bool = False
    allowed_hosts: list[str] = field(default_factory=list)  # Host names beyond loopback, IPs and the bound one
    allow_unauthenticated: bool = False  # bind a non-loopback address without keys (warned about loudly)
    host_json: HostJson | None = None  # None: read from the script root when the config is made
    # The app settings (%NAME% schedules, AzureWebJobs.<name>.Disabled, host.json overrides): the environment
    # with local.settings.json applied; constructed directly, the process environment as it is now.
    app_settings: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)

    def __post_init__(self) -> None:
        if self.host_json is None:
            object.__setattr__(self, "host_json", read_host_json(self.script_root, self.app_settings))

    @property
    def data_path(self) -> Path:
        return self.data_dir or (self.script_root / ".funchost")

    @property
    def settings(self) -> HostJson:
        """host.json as read (never None after construction)."""
        assert self.host_json is not None  # set by __post_init__
        return self.host_json

    @classmethod
    def from_env(cls, script_root: Path, **overrides: object) -> HostConfig:
        """The environment's settings (as Azure app settings), then the non-None `overrides` (the CLI)."""
        return build(script_root, os.environ, **overrides)

    def disabled(self, function_name: str) -> bool:
        """`AzureWebJobs.<name>.Disabled` set to true (or 1) in the app settings, as the Functions host reads it."""
        value = self.app_settings.get(f"AzureWebJobs.{function_name}.Disabled", "")
        return value.strip().lower() in ("true", "1")


def build(script_root: Path, environ: Mapping[str, str], **overrides: object) -> HostConfig:
    """The configuration from `environ` (local.settings.json already applied), host.json and the CLI's
    non-None `overrides`; raises SettingsError for a setting it cannot use."""
    settings = dict(environ)
    host_json = read_host_json(script_root, settings)
    values: dict[str, Any] = {"script_root": script_root, "host_json": host_json, "app_settings": settings}
    values.update(_from_environment(settings))
    if host_json.max_concurrent_activities is not None:
        values["max_concurrent_activities"] = host_json.max_concurrent_activities
        values["activity_threads"] = host_json.max_concurrent_activities
    known = {f.name for f in fields(HostConfig)}
    for key, value in overrides.items():
        if key not in known:
            raise TypeError(f"HostConfig has no setting {key!r}")
        if value is not None:
            values[key] = value
    return HostConfig(**values)


def build_for_start(script_root: Path, **overrides: object) -> HostConfig:
    """What `funchost start` does first: local.settings.json into the environment (where unset), its
    `Host` section as the defaults of the port and CORS, then `build` with the CLI's `overrides`."""
    local = apply_local_settings(script_root)
    defaults = {"port": local.local_http_port or 7071, "cors_origins": local.cors,
                "cors_credentials": local.cors_credentials}
    given = {key: value for key, value in overrides.items() if value is not None}
    return build(script_root, os.environ, **{**defaults, **given})


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """The FUNCHOST_* (and Azure) variables the host reads, as HostConfig fields; malformed numbers are ignored."""
    values: dict[str, Any] = {}
    processes = env.get("FUNCHOST_ACTIVITY_PROCESSES") or env.get("FUNCTIONS_WORKER_PROCESS_COUNT")
    if processes and processes.isdigit():
        values["activity_processes"] = int(processes)
    if env.get("FUNCHOST_MAX_BODY_BYTES", "").isdigit():
        values["max_body_bytes"] = int(env["FUNCHOST_MAX_BODY_BYTES"])
    if env.get("FUNCHOST_FUNCTION_MAX_BODY_BYTES", "").isdigit():
        values["function_body_bytes"] = int(env["FUNCHOST_FUNCTION_MAX_BODY_BYTES"])
    for name, key in (("FUNCHOST_IDLE_TIMEOUT_S", "idle_timeout_s"), ("FUNCHOST_BODY_TIMEOUT_S", "body_timeout_s")):
        seconds = _seconds(env.get(name))
        if seconds is not None:
            values[key] = seconds
    nice = env.get("FUNCHOST_ACTIVITY_NICE", "10")
    values["activity_nice"] = int(nice) if nice.lstrip("-").isdigit() else 0  # malformed: keep the priority
    values["function_keys"] = [k for k in env.get("FUNCHOST_FUNCTION_KEYS", "").split(",") if k]
    values["admin_key"] = env.get("FUNCHOST_ADMIN_KEY") or None
    values["system_key"] = env.get("FUNCHOST_SYSTEM_KEY") or None
    values["allowed_hosts"] = [h.strip() for h in env.get("FUNCHOST_ALLOWED_HOSTS", "").split(",") if h.strip()]
    values["telemetry"] = env.get("FUNCHOST_TELEMETRY", "1") not in ("0", "false")
    values["tracing"] = env.get("FUNCHOST_TRACING") == "1"
    values["otlp_endpoint"] = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    values["id_generator_named"] = bool(env.get("OTEL_PYTHON_ID_GENERATOR"))
    values["sdk_patches"] = sdk_patches.enabled(env)  # FUNCHOST_SDK_PATCHES=0 opts out
    values["time_zone"] = env.get("WEBSITE_TIME_ZONE") or None
    return values


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def read_host_json(script_root: Path, settings: Mapping[str, str] | None = None) -> HostJson:
    """The script root's host.json (absent: the defaults), with `AzureFunctionsJobHost__` overrides from
    `settings`; one SettingsError naming the file and the problem for anything funchost cannot use."""
    path = script_root / HOST_JSON
    doc: dict[str, Any] = {}
    if path.is_file():
        raw = read_json_file(path)
        if not isinstance(raw, dict):
            raise SettingsError(str(path), "the top level must be a JSON object")
        doc = raw
    _apply_overrides(doc, settings or {})
    extensions = _section(path, doc, "extensions")
    durable = _section(path, extensions, "durableTask", "extensions.")
    http = _section(path, extensions, "http", "extensions.")
    logging_section = _section(path, doc, "logging")
    prefix = http.get("routePrefix")
    return HostJson(
        route_prefix="api" if prefix is None else str(prefix).strip("/"),
        hub_name=str(durable.get("hubName") or "TestHubName"),
        max_concurrent_activities=_positive(path, durable, "maxConcurrentActivityFunctions"),
        max_concurrent_orchestrators=_positive(path, durable, "maxConcurrentOrchestratorFunctions"),
        log_levels=_log_levels(path, logging_section),
        functions=_function_list(path, doc.get("functions")),
        path=str(path))


def _apply_overrides(doc: dict[str, Any], settings: Mapping[str, str]) -> None:
    """`AzureFunctionsJobHost__a__b=v` sets host.json's a.b to v (keys matched case-insensitively)."""
    for name, value in settings.items():
        if not name.startswith(OVERRIDE_PREFIX):
            continue
        *parents, leaf = name[len(OVERRIDE_PREFIX):].split("__")
        node = doc
        for part in parents:
            key = next((k for k in node if k.lower() == part.lower()), part)
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[next((k for k in node if k.lower() == leaf.lower()), leaf)] = value


def _section(path: Path, doc: dict[str, Any], name: str, where: str = "") -> dict[str, Any]:
    value = doc.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingsError(str(path), f"{where}{name} must be a JSON object")
    return value


def _positive(path: Path, durable: dict[str, Any], name: str) -> int | None:
    """A positive whole number (an app-setting override arrives as text)."""
    value = durable.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SettingsError(str(path), f"extensions.durableTask.{name} must be a whole number of 1 or more, "
                            f"not {value!r}")
    return value


def _log_levels(path: Path, logging_section: dict[str, Any]) -> dict[str, Any]:
    raw = logging_section.get("logLevel")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(str(path), "logging.logLevel must be a JSON object of category: level")
    return dict(raw)


def _function_list(path: Path, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise SettingsError(str(path), "functions must be a JSON array of function names")
    return tuple(value)


