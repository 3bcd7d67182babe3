"""The entity state cache: committed states by id, least recently used evicted past its byte budget."""

from __future__ import annotations

from funchost.entity_cache import EntityStateCache


def entry_size(entity_id: str, state: str | None) -> int:
    return len(state or "") + len(entity_id) + 64


def test_get_reports_unknown_until_put_and_counts_hits_and_misses() -> None:
    cache = EntityStateCache()
    assert cache.get("@counter@a") == (False, False, None) and cache.misses == 1
    cache.put("@counter@a", "41")
    cache.put("@counter@b", None)  # an entity whose state is null is still known
    assert cache.get("@counter@a") == (True, True, "41")
    assert cache.get("@counter@b") == (True, True, None)
    assert (cache.hits, cache.misses, len(cache)) == (2, 1, 2)
    cache.discard("@counter@a")
    cache.discard("@counter@missing")  # discarding an unknown id is harmless
    assert cache.get("@counter@a")[0] is False and len(cache) == 1


def test_least_recently_used_is_evicted_past_the_byte_budget() -> None:
    one = entry_size("@e@1", "x" * 100)
    cache = EntityStateCache(max_bytes=3 * one)
    for key in ("1", "2", "3"):
        cache.put(f"@e@{key}", "x" * 100)
    assert cache.get("@e@1")[0]  # 1 is now the most recently used
    cache.put("@e@4", "x" * 100)
    assert [cache.get(f"@e@{k}")[0] for k in "1234"] == [True, False, True, True]


def test_replacing_a_state_updates_the_budget_and_an_oversized_state_is_not_cached() -> None:
    cache = EntityStateCache(max_bytes=entry_size("@e@a", "y" * 200) + entry_size("@e@b", "z"))
    cache.put("@e@a", "y" * 10)
    cache.put("@e@a", "y" * 200)  # replaced, not counted twice
    cache.put("@e@b", "z")
    assert cache.get("@e@a") == (True, True, "y" * 200) and cache.get("@e@b")[0]
    cache.put("@e@huge", "h" * 10_000)
    assert cache.get("@e@huge")[0] is False and len(cache) == 2  # nothing else evicted for it
