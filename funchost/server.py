"""The host: wires discovery, store, dispatcher and the aiohttp server together, and runs them."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from . import in_process_client, monitor, sdk_patches
from .activities import ActivityRunner
from .auth import presented_a_key
from .body_limits import BodyLimits
from .config import HostConfig
from .cors import CorsMiddleware
from .cross_site import CrossSiteGuard
from .datalock import DataFolderLock
from .discovery import FunctionSet, load_app
from .dispatcher import Dispatcher
from .durable_clients import release_sdk_session
from .errors import UnsafeBindError
from .gates import GateMiddleware
from .http_functions import AzureRouteFallback, HttpInvoker, route_paths, route_sort_key
from .management import ManagementApi
from .management_payloads import client_binding
from .origins import RequestOrigins, exposes_to_network, self_call_host
from .protocol_errors import JsonErrorRunner
from .schedule_monitor import StoreScheduleMonitor
from .store import Store
from .telemetry import Observability
from .timers import TimerRunner, time_zone

log = logging.getLogger("funchost")

DURABLE_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask"


class Host:
    """One running host. `start()` serves; `stop()` shuts down gracefully. Owned by one event loop."""

    def __init__(self, config: HostConfig, functions: FunctionSet | None = None,
                 span_exporter: object | None = None) -> None:
        """`span_exporter` (e.g. an InMemorySpanExporter in tests) receives every finished span."""
        if config.sdk_patches:
            sdk_patches.apply()
        self.config = config
        _check_exposure(config)
        # Providers first: an app that sets up telemetry at import time must find the host's.
        self.observability = Observability(enabled=config.telemetry, span_exporter=span_exporter,
                                           tracing=config.tracing, otlp_endpoint=config.otlp_endpoint,
                                           id_generator_named=config.id_generator_named)
        self.functions = functions or load_app(config.script_root, config)
        self.config.data_path.mkdir(parents=True, exist_ok=True)
        self.data_lock = DataFolderLock(self.config.data_path)
        self.data_lock.acquire()
        try:
            self.store = Store(self.config.data_path / "durable.sqlite3")
        except BaseException:
            self.data_lock.release()
            raise
        self._observe_store()
        self.runner = ActivityRunner(self.functions, config.max_concurrent_activities, config.activity_threads,
                                     config.activity_processes, worker=config)
        self.dispatcher = Dispatcher(self.store, self.functions, self.runner, self.observability.host_telemetry)
        self.observability.observe(self.dispatcher)
        # The durable system key: embedded in the management links apps hand out; it opens only the
        # management API (never /metrics, /admin or ADMIN functions), as the extension's key in Azure.
        self.system_key = config.system_key or (_persisted_system_key(self.config.data_path)
                                                if config.admin_key or config.function_keys else None)
        self.management = ManagementApi(self.dispatcher, self.functions.task_hub, self.system_key)
        self.invoker = HttpInvoker(str(config.script_root), self._client_binding)
        self.timers = TimerRunner(self.functions.timers, self._local_client_binding, self.invoker.run_sync,
                                  self.invoker.context, StoreScheduleMonitor(self.store, self.dispatcher.submit_write),
                                  time_zone(config.time_zone))
        self._runner: JsonErrorRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = config.port
        self._any_key = bool(config.function_keys or config.admin_key)

    def _client_binding(self, request: web.Request) -> str:
        base = f"{request.scheme}://{request.host}{DURABLE_PREFIX}"
        # Management links (handed back to callers) carry the system key only for a caller who
        # presented a function or admin key: an anonymous caller never receives a key.
        keyed = self._any_key and presented_a_key(request, self.config.function_keys, self.config.admin_key)
        return client_binding(base, f"{self._self_base}{RPC_PREFIX}/", self.functions.task_hub,
                              self.system_key, self.system_key if keyed else None)

    @property
    def _self_base(self) -> str:
        """The URL of the host's calls to itself: to the address it is bound to (loopback for 0.0.0.0)."""
        return f"http://{self_call_host(self.config.host)}:{self.port}"

    def _local_client_binding(self) -> str:
        """The durable client binding for functions not started by a request (timers)."""
        base = self._self_base
        return client_binding(base + DURABLE_PREFIX, base + RPC_PREFIX + "/", self.functions.task_hub,
                              self.system_key)

    def build_app(self) -> web.Application:
        from .auth import make_auth_gate
        from .protocol_errors import install_protocol_error_filter

        install_protocol_error_filter()
        levels: dict[str, str] = {}  # filled below, as routes are registered
        auth = make_auth_gate(self.config.function_keys, self.config.admin_key, self.system_key, levels,
                              self_address=self.config.host)
        origins = RequestOrigins(self.config.host, self.config.allowed_hosts)
        cross_site = CrossSiteGuard(self.config.cors_origins)
        limits = BodyLimits(self.config.max_body_bytes, self.config.function_body_bytes or self.config.max_body_bytes,
                            self.config.body_timeout_s, levels)
        cors = CorsMiddleware(self.config.cors_origins, self.config.cors_credentials) if self.config.cors_origins \
            else None
        # After the JSON errors, before CORS and the key check: a refused name or cross-site write costs
        # nothing. Bodies are read last, only once the key check passed. Preflights are answered before
        # the key check, as in Core Tools. Without CORS the checks share one middleware layer.
        inner: list[Any] = [GateMiddleware((origins.refusal, cross_site.refusal, auth), limits.admit)] \
            if cors is None else [GateMiddleware((origins.refusal, cross_site.refusal)), cors.middleware,
                                  GateMiddleware((auth,), limits.admit)]
        middlewares = self.observability.middlewares(*inner)
        app = web.Application(client_max_size=self.config.max_body_bytes, middlewares=middlewares)
        if cors is not None:
            cors.install(app)
        app.add_routes(self.management.routes(DURABLE_PREFIX))
        app.add_routes(self.management.routes(RPC_PREFIX))
        app.router.add_get("/admin/host/status", self._host_status)
        app.router.add_post("/admin/functions/{name}", self._admin_invoke)
        app.router.add_get("/", self._root)
        monitor.add_routes(app, self)
        self.observability.add_routes(app)
        prefix = self.config.settings.route_prefix
        for fn in sorted(self.functions.http, key=route_sort_key):
            handler = self.invoker.handler(fn)
            for path in route_paths(prefix, fn.route):
                route = app.router.add_route("*", path, handler, name=None)
                levels[route.resource.canonical if route.resource else path] = fn.auth_level
        app.router.register_resource(AzureRouteFallback(app.router))  # case and trailing slash as on Azure
        return app

    async def _host_status(self, request: web.Request) -> web.Response:
        degraded = self.dispatcher.store_degraded()
        store: dict[str, object] = {"status": "degraded" if degraded else "ok", "deadLetters": self.store.dead_letters}
        if degraded:
            store["reason"] = f"the store refuses writes: {degraded}; work waiting on it is retried"
        return web.json_response({"state": "Degraded" if degraded else "Running", "version": "funchost",
                                  "functions": len(self.routes()), "store": store})

    def _observe_store(self) -> None:
        """`funchost_store_dead_letters`: rows quarantined because they could not be read (0 is healthy)."""
        if not self.observability.enabled:
            return
        self.observability.observe_store(self.store.path)  # funchost_store_size_bytes
        from opentelemetry.metrics import CallbackOptions, Observation

        def observe(_options: CallbackOptions) -> list[Observation]:
            return [Observation(self.store.dead_letters)]

        self.observability.meter_provider.get_meter("funchost").create_observable_gauge(
            "funchost_store_dead_letters", callbacks=[observe], unit="{row}",
            description="Store rows moved to the dead_letters table because they could not be read")

    async def _admin_invoke(self, request: web.Request) -> web.Response:
        """Run a non-HTTP function now, as the Functions host's admin API does: 202, the run goes on."""
        name = request.match_info["name"]
        timer = self.timers.timers.get(name.lower())
        if timer is None:
            kinds = {n.lower(): k for n, k in self.functions.other}
            disabled = {n.lower() for n, _ in self.functions.disabled}
            details = (f"{name} has trigger {kinds[name.lower()]}, which funchost does not run (it runs on Azure)"
                       if name.lower() in kinds else f"{name} is disabled (AzureWebJobs.{name}.Disabled)"
                       if name.lower() in disabled else f"no timer function named {name} (HTTP functions are called "
                       "on their route; durable functions are started through the durable client)")
            return web.json_response({"error": "function not found", "details": details}, status=404)
        try:
            body = await request.json() if await request.read() else {}
        except ValueError:
            return web.json_response({"error": "invalid body", "details": 'the body must be JSON: {"input": ...}'},
                                     status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "invalid body", "details": 'the body must be a JSON object '
                                      '{"input": ...}'}, status=400)
        self.timers.invoke_now(timer, body.get("input"))
        return web.Response(status=202)

    async def _root(self, request: web.Request) -> web.Response:
        return web.json_response({"host": "funchost", "state": "Running"})

    async def start(self) -> None:
        await release_sdk_session()  # a session an earlier host left on another loop is dead here
        self.dispatcher.start()
        in_process_client.install(self.dispatcher)
        self._runner = JsonErrorRunner(self.build_app(), access_log=None, handle_signals=False,
                                     keepalive_timeout=self.config.idle_timeout_s)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        await self._site.start()
        server = getattr(self._site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.data_lock.record(self.port)
        self.timers.start()  # last: a run at start-up may call the host through its durable client

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting requests, let in-flight work finish for `grace_s`, commit and close."""
        if self._site is not None:
            await self._site.stop()
        in_process_client.install(None)
        await self.timers.stop()
        await self.dispatcher.stop(grace_s)
        if self._runner is not None:
            await self._runner.cleanup()
        await release_sdk_session()
        self.invoker.shutdown()
        self.store.close()
        self.data_lock.release()
        self.observability.shutdown()

    def routes(self) -> list[str]:
        """Lines describing every function, like `func start` prints them."""
        prefix = self.config.settings.route_prefix
        lines = []
        for fn in sorted(self.functions.http, key=lambda f: f.name):
            methods = ",".join(fn.methods) or "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS"
            lines.append(f"{fn.name}: [{methods}] http://{self.config.host}:{self.port}/{prefix}/{fn.route}"
                         .replace("//" + fn.route, "/" + fn.route))
        for kind, names in (("orchestrationTrigger", [n for n, _ in self.functions.orchestrators.values()]),
                            ("activityTrigger", sorted({a.name for a in self.functions.activities.values()})),
                            ("entityTrigger", [n for n, _ in self.functions.entities.values()])):
            lines.extend(f"{name}: {kind}" for name in sorted(names))
        lines.extend(self.timers.describe(timer) for timer in sorted(self.functions.timers, key=lambda t: t.name))
        for name, kind in sorted(self.functions.other):
            lines.append(f"{name}: {kind}, not supported by funchost: runs on Azure")
        for name, kind in sorted(self.functions.disabled):
            lines.append(f"{name}: {kind}, disabled (AzureWebJobs.{name}.Disabled): not served")
        return lines


def _check_exposure(config: HostConfig) -> None:
    """Refuse a bind reachable from the network without keys, unless explicitly allowed (then warn loudly)."""
    if not exposes_to_network(config.host) or config.function_keys or config.admin_key:
        return
    if not config.allow_unauthenticated:
        raise UnsafeBindError(config.host)
    log.warning("*** funchost is listening on %s WITHOUT ANY KEY (--allow-unauthenticated): anyone who can reach "
                "this address can read and change all state through the management API ***", config.host)


SYSTEM_KEY_FILE = "durable-system-key"


def _persisted_system_key(data_path: Path) -> str:
    """The durable system key kept in the data folder (owner-only), so links survive restarts, as in Azure.

    Rotate it by deleting the file (a new one is made at the next start) or by setting FUNCHOST_SYSTEM_KEY.
    """
    path = data_path / SYSTEM_KEY_FILE
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    key = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
