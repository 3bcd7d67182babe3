"""HTTP streams (the FastAPI extension): chunks reach the client as the function yields them."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import aiohttp
import pytest

from tests.hostproc import ROOT, HostProcess

# Checked without importing it: once imported, the worker rules (mirrored by funchost) require every
# HTTP function in this process to use the streaming types.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("azurefunctions.extensions.http.fastapi") is None,
                                reason="azurefunctions-extensions-http-fastapi is not installed")


async def test_streaming_response_arrives_chunk_by_chunk(tmp_path: Path) -> None:
    host = HostProcess(ROOT / "tests" / "streams_app", tmp_path).start()
    try:
        arrivals: list[float] = []
        chunks: list[bytes] = []
        async with aiohttp.ClientSession() as session, session.get(host.base + "/api/count/4") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
            began = time.monotonic()
            async for chunk in resp.content.iter_any():
                chunks.append(chunk)
                arrivals.append(time.monotonic() - began)
        assert b"".join(chunks) == b"".join(f"id: {i}\ndata: {i}\n\n".encode() for i in range(4))
        assert len(chunks) >= 3  # not one buffered body: the first event came long before the last
        assert arrivals[-1] - arrivals[0] >= 0.4
        reply = host.request("POST", "/api/echo?q=1", {"a": 1})
        assert reply.status == 201 and reply.json() == {"got": {"a": 1}, "q": "1"}
    finally:
        assert host.stop() == 0
