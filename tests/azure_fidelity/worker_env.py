"""The cached Python 3.13 environment in which Azure's worker library indexes function apps.

`azure-functions-runtime` is the library the Functions host's Python 3.13+ worker runs
(`azure-functions-runtime-v1` for v1-model apps); it needs Python 3.13 and brings azure-functions
2.x. The environment lives in `.venv-azure313/` at the
repository root (git-ignored) and is rebuilt only when the pin or `requirements.txt` changes.

    python -m tests.azure_fidelity.worker_env     # create or update it, print its python
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-azure313"
# The worker's internals (loader, Registry) are not a public API: pin the version that was read.
RUNTIME_PIN = "azure-functions-runtime==1.3.0"
# The same for apps in the v1 (function.json) programming model.
RUNTIME_V1_PIN = "azure-functions-runtime-v1==1.2.0"
# Besides the app's requirements: what the test apps import (HTTP streaming changes the checks).
TEST_PACKAGES = ("azurefunctions-extensions-http-fastapi>=1,<2",)
_STAMP = VENV / ".fidelity-installed"
_LOCK = VENV / ".fidelity-lock"


class WorkerEnvError(RuntimeError):
    """The environment could not be created (pip or venv failed); the message holds their output."""


def find_python313() -> str | None:
    """A Python 3.13 interpreter: $AZURE_FIDELITY_PYTHON, `python3.13` on PATH, or a pyenv install."""
    candidates = [os.environ.get("AZURE_FIDELITY_PYTHON"), shutil.which("python3.13")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True)
    for candidate in candidates:
        if candidate and _is_python313(candidate):
            return candidate
    return None


def _is_python313(python: str) -> bool:
    # A pyenv shim exists even when no 3.13 is installed, so run it rather than trust the path.
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "True"


def _wanted(python: str) -> str:
    requirements = (ROOT / "requirements.txt").read_bytes()
    return json.dumps({"python": os.path.realpath(python),
                       "pins": [RUNTIME_PIN, RUNTIME_V1_PIN, *TEST_PACKAGES],
                       "requirements": hashlib.sha256(requirements).hexdigest()})


def ensure(python: str) -> Path:
    """Create or update the environment with `python` (a 3.13); return its interpreter."""
    VENV.mkdir(exist_ok=True)
    env_python = VENV / "bin" / "python"
    wanted = _wanted(python)
    with open(_LOCK, "w") as lock:
        # Two pytest runs (or make and pytest) may build it at once; the second waits, then reuses.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if env_python.exists() and _STAMP.exists() and _STAMP.read_text() == wanted:
            return env_python
        _run([python, "-m", "venv", str(VENV)])
        _run([str(env_python), "-m", "pip", "install", "--disable-pip-version-check", "-q", RUNTIME_PIN,
              RUNTIME_V1_PIN, *TEST_PACKAGES, "-r", str(ROOT / "requirements.txt")])
        _STAMP.write_text(wanted)
    return env_python


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as exc:
        raise WorkerEnvError(f"{' '.join(command)} timed out after {exc.timeout} s") from exc
    if done.returncode != 0:
        raise WorkerEnvError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")


def main() -> int:
    python = find_python313()
    if python is None:
        print("no Python 3.13 found (set AZURE_FIDELITY_PYTHON)", file=sys.stderr)
        return 1
    print(ensure(python))
    return 0


if __name__ == "__main__":
    sys.exit(main())
