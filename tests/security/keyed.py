"""A funchost process with function and admin keys configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.hostproc import HostProcess, Reply


class KeyedHost(HostProcess):
    """HostProcess for a host with keys (HostProcess's readiness probe presents the admin key from its env).

    Every request goes out exactly as the test wrote it, so the tests decide which key, if any,
    each request carries; `admin` adds the admin key.
    """

    def __init__(self, script_root: Path, data_dir: Path, function_keys: str, admin_key: str,
                 env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        super().__init__(script_root, data_dir, env={"FUNCHOST_FUNCTION_KEYS": function_keys,
                                                     "FUNCHOST_ADMIN_KEY": admin_key, **(env or {})}, args=args)
        self.admin_key = admin_key

    def admin(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Reply:
        """A request carrying the admin key in the x-functions-key header."""
        return super().request(method, path, body, raw=raw, headers={"x-functions-key": self.admin_key})
