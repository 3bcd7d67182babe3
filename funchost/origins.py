"""Which names a request may call the host by: the `Host` allowlist (against DNS rebinding).

DNS rebinding makes a browser send a page's requests to the host under the attacker's domain name, so
the `Host` header names a domain the host never chose. Allowed: loopback names (`localhost`,
`*.localhost`), this machine's own host name, `host.docker.internal` (containers reaching the host,
e.g. Prometheus in dashboards/docker-compose.yml), any IP literal (a rebinding attack needs a name),
the bound address, and the names in `--allowed-hosts` / `FUNCHOST_ALLOWED_HOSTS` (`*` allows every
name). A request without `Host` (HTTP/1.0) passes.

Cross-site writes are refused by `cross_site.py`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from .rejections import rejected

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_REMEMBERED_HOSTS = 64  # the names a host is called by are few; past this many, each is parsed every time
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def host_name(header: str) -> str:
    """The name in a `Host` header, without port, brackets or trailing dot, lower-cased."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return True


class RequestOrigins:
    """The allowlist of `Host` names for one host (fixed once built; it remembers the `Host` values it allowed)."""

    def __init__(self, bound_host: str, allowed_hosts: Iterable[str]) -> None:
        names = {host_name(name) for name in allowed_hosts if name.strip()}
        self.any_host = "*" in names
        self.hosts = names | {"localhost", "host.docker.internal", host_name(bound_host),
                              host_name(socket.gethostname())}
        self._allowed_headers: set[str] = set()  # `Host` values already allowed, parsed once each

    def allows_host(self, header: str | None) -> bool:
        if header is None or self.any_host or header in self._allowed_headers:
            return True
        name = host_name(header)
        allowed = name in self.hosts or name.endswith(".localhost") or _is_ip(name)
        if allowed and len(self._allowed_headers) < MAX_REMEMBERED_HOSTS:
            self._allowed_headers.add(header)
        return allowed

    def refusal(self, request: web.Request) -> web.Response | None:
        """The 400 answer for a `Host` this host does not answer to, or None when the request may go on."""
        header = request.headers.get("Host")
        if self.allows_host(header):
            return None
        rejected("rejected a request for Host %r (not in the allowed hosts)", (header or "")[:100])
        return web.json_response({"error": "Host not allowed", "details": (
            f"{(header or '')[:100]!r} is not a name this host answers to; allow it with --allowed-hosts or "
            "FUNCHOST_ALLOWED_HOSTS (loopback names, IP addresses and the bound address are allowed)")},
            status=400)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.refusal(request)  # not `or`: a Response is a mapping, falsy while it holds no keys
        return refusal if refusal is not None else await handler(request)


def self_call_host(bound_host: str) -> str:
    """The address the host's own calls to itself use: the bound address, or loopback for a wildcard bind."""
    if bound_host in WILDCARD_BINDS:
        return "[::1]" if bound_host == "::" else "127.0.0.1"
    return f"[{bound_host}]" if ":" in bound_host else bound_host


def exposes_to_network(bound_host: str) -> bool:
    """Whether binding `bound_host` accepts connections from other machines (anything but loopback)."""
    if bound_host in ("localhost",) or bound_host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(bound_host.strip("[]")).is_loopback
    except ValueError:
        return True  # a name: it may resolve to any interface
