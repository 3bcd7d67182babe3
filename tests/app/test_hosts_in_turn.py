"""Two in-process hosts, one after the other on two event loops, both serving the SDK's HTTP client calls.

The durable SDK keeps one aiohttp session per process, bound to the loop that made it; the host
closes it when it stops and forgets one left on another loop when it starts
(`funchost.durable_clients.release_sdk_session`), so a second host is not handed a dead session.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from funchost.server import Host, HostConfig
from tests.hostproc import ROOT


async def _record_and_read(data_dir: Path, player: str) -> tuple[int, int, str]:
    host = Host(HostConfig(script_root=ROOT, port=0, data_dir=data_dir))
    await host.start()
    try:
        base = f"http://127.0.0.1:{host.port}"
        body = {"playerId": player, "success": True, "timeMs": 900, "attempts": 1, "shapeId": "C"}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base}/api/adaptive-ai/record-performance", json=body) as resp:
                recorded = resp.status
            async with session.get(f"{base}/api/adaptive-ai/player-stats/{player}") as resp:
                return recorded, resp.status, await resp.text()
    finally:
        await host.stop()


def test_a_second_host_on_a_new_loop_serves_durable_client_calls(tmp_path: Path) -> None:
    first = asyncio.run(_record_and_read(tmp_path / "one", "TurnOne"))
    assert first[:2] == (200, 200), first
    second = asyncio.run(_record_and_read(tmp_path / "two", "TurnTwo"))
    assert second[:2] == (200, 200), second
    assert "TurnTwo" in second[2]


def test_a_session_left_open_on_a_finished_loop_is_forgotten_at_start(tmp_path: Path) -> None:
    from azure.durable_functions.models.utils import http_utils

    async def leave_one_open() -> None:
        await http_utils._get_session()  # the SDK's own session, never closed by this loop

    asyncio.run(leave_one_open())
    assert http_utils._client_session is not None and not http_utils._client_session.closed
    second = asyncio.run(_record_and_read(tmp_path / "two", "TurnThree"))
    assert second[:2] == (200, 200), second
