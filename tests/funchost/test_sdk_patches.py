"""The SDK speed-ups give the same results as the SDK's own code for every timestamp the host writes."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

from dateutil.parser import parse as dateutil_parse

from funchost import sdk_patches
from funchost.history import iso, iso_seconds


def test_fast_timestamp_parse_matches_dateutil() -> None:
    sdk_patches.apply()
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    start = datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    for i in range(200):
        moment = start + timedelta(seconds=i * 7919.123457)
        for text in (iso(moment), iso_seconds(moment), moment.isoformat()):
            fast = module.dt_parse(text)
            assert fast == dateutil_parse(text) and fast.utcoffset() == timedelta(0), text
    assert module.dt_parse("Jan 5 2026 10:00 UTC") == dateutil_parse("Jan 5 2026 10:00 UTC")  # fallback


def test_speedups_are_applied_once() -> None:
    sdk_patches.apply()
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    first = module.dt_parse
    sdk_patches.apply()
    assert module.dt_parse is first
