"""The host's collector settings: start-up objects frozen, a larger youngest generation, cycles still collected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import gc, json, weakref
from funchost import gc_tuning

class Node:
    pass

before = gc.get_threshold()
gc_tuning.tune_for_host()
gc_tuning.tune_for_host()  # once per process: nothing changes the second time
frozen = gc.get_freeze_count()
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start-up: garbage the collector must still find
alive = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": frozen, "cycle_freed": alive() is None}))
"""


def test_tuning_freezes_start_up_objects_and_still_collects_later_cycles() -> None:
    out = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=60)
    result = json.loads(out.stdout)
    assert result["frozen"] > 1000  # the modules' objects, out of every later scan
    assert result["after"] == [max(7000, result["before"][0]), *result["before"][1:]]
    assert result["cycle_freed"] is True
