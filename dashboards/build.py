"""Write the dashboards' JSON and the alert rules from code: `python -m dashboards.build` (`--check`
only compares and exits 1 when a committed file differs from what the code generates)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import alert_rules
from .boards import DASHBOARDS

HERE = Path(__file__).resolve().parent
RULES = HERE.parent / "alerts" / "rules.yml"


def dashboard_json(name: str) -> str:
    """The JSON text of dashboard file `name`, as committed."""
    return json.dumps(DASHBOARDS[name](), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def generated() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {HERE / name: dashboard_json(name) for name in DASHBOARDS}
    files[RULES] = alert_rules.render()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    args = parser.parse_args(argv)
    stale = [path for path, text in generated().items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path} (run python -m dashboards.build)")
        return 1 if stale else 0
    for path in stale:
        path.write_text(generated()[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
