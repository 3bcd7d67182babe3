"""Make the repository root importable when pytest is started as `.venv/bin/pytest tests/adaptive`."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
