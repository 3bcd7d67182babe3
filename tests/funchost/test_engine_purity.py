"""The engine and the model import nothing that does I/O: no store, no dispatcher, no SQLite, no network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ["funchost.replay", "funchost.episode_plan", "funchost.entity_batch", "funchost.entity_direct", "funchost.model",
        "funchost.messages", "funchost.history", "funchost.ids"]
ALLOWED = {"funchost", "funchost.errors", "funchost.nondeterminism", "funchost.fastjson", *PURE}  # fastjson: a codec
IO = ("sqlite3", "aiohttp", "asyncio", "socket", "subprocess", "threading", "azure", "opentelemetry")


def test_engine_modules_load_no_io_module() -> None:
    code = ("import json, sys\n"
            "before = set(sys.modules)\n"
            f"for name in {PURE!r}:\n"
            "    __import__(name)\n"
            "print(json.dumps(sorted(set(sys.modules) - before)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=60)
    loaded = set(json.loads(out.stdout))
    assert {m for m in loaded if m.startswith("funchost")} <= ALLOWED, loaded
    assert not {m for m in loaded if m.split(".")[0] in IO}, sorted(m for m in loaded if m.split(".")[0] in IO)
