"""Property tests: every figure a sentence quotes (`reason`, `rationale`, focus reasons) is the figure
of the answer field beside it, and every comparison it states holds for those figures."""

from __future__ import annotations

import re

from adaptive_strategies import events, play
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive.events import Attempt, Event
from adaptive.recommend import BANDS, WEAK_BELOW, strategy_for
from adaptive.session import PlayerSession
from adaptive.views import attempt_reason, performance_view, recommendation_view, stats_view

NUMBER = r"(\d+(?:\.\d+)?)"
RATIONALE = re.compile(
    rf"^difficulty {NUMBER} is in the ([a-z-]+) band \({NUMBER}-{NUMBER}\); learning rate {NUMBER} suggests "
    rf"([a-z-]+); (?:focus on (.*); )?challenge of (\d+) shapes(.*)\.$")
REASON = re.compile(
    rf"is (above|below|equal to) the predicted success chance {NUMBER}; difficulty "
    rf"(?:raised {NUMBER} -> {NUMBER}|lowered {NUMBER} -> {NUMBER}|kept at {NUMBER}) \(target {NUMBER}\); "
    rf"recent success rate {NUMBER} is (inside|outside) the 60%-80% flow zone")
histories = st.lists(events, min_size=0, max_size=45)


@settings(max_examples=300, deadline=None)
@given(histories)
def test_the_rationale_quotes_the_recommendation_and_stats_figures(history: list[Event]) -> None:
    session = play(history) if history else PlayerSession.new("p1", 1_700_000_000_000)
    view, stats = recommendation_view(session), stats_view(session)
    parameters = view["parameters"]
    match = RATIONALE.match(view["rationale"])
    assert match, view["rationale"]
    difficulty, band, low, high, rate, strategy, focus_text, length, tail = match.groups()
    assert float(difficulty) == parameters["difficulty"] == stats["currentDifficulty"]
    assert band == view["exercise"] and [float(low), float(high)] == [parameters["band"]["low"],
                                                                      parameters["band"]["high"]]
    top = band == BANDS[-1].exercise
    assert float(low) <= float(difficulty) and (float(difficulty) < float(high) or top)
    assert float(rate) == stats["learningRate"] and strategy == parameters["strategy"] == strategy_for(float(rate))
    suggested = parameters["suggestedShapes"]
    assert int(length) == parameters["challengeLength"] == len(suggested) + parameters["newShapes"]
    if suggested:
        assert f"the {len(suggested)} suggested" in tail
        assert (f"and {parameters['newShapes']} new" in tail) == (parameters["newShapes"] > 0)
        assert focus_text == ", ".join(f"{f['shapeId']} ({f['reason']})" for f in parameters["focus"])
    else:
        assert focus_text is None and "all new" in tail
    for focus in parameters["focus"]:
        shape = stats["shapes"][focus["shapeId"]]
        counts = f"{shape['successes']}/{shape['attempts']} successes"
        assert (focus["successes"], focus["attempts"]) == (shape["successes"], shape["attempts"])
        assert ("weak: " + counts in focus["reason"]) == (focus["successRate"] < WEAK_BELOW), focus
        assert counts in focus["reason"] or focus["reason"].startswith("stale: "), focus
        since = re.search(r"(?:not played for|last played) (\d+) attempt", focus["reason"])
        if since is None:
            assert focus["reason"].endswith("just played") and focus["attemptsSinceSeen"] == 0, focus
        else:
            assert int(since.group(1)) == focus["attemptsSinceSeen"] > 0, focus


def _check_reason(reason: str, outcome: float, before: dict[str, float], after: dict[str, object]) -> None:
    match = REASON.search(reason)
    assert match, reason
    (comparison, predicted, raised_from, raised_to, lowered_from, lowered_to, kept, target, rate,
     zone) = match.groups()
    if raised_from is not None:
        assert float(raised_from) == before["currentDifficulty"] < float(raised_to) == after["currentDifficulty"]
    elif lowered_from is not None:
        assert float(lowered_from) == before["currentDifficulty"] > float(lowered_to) == after["currentDifficulty"]
    else:
        assert float(kept) == before["currentDifficulty"] == after["currentDifficulty"]
    observed = round(outcome, 4)
    expected = "above" if observed > float(predicted) else "below" if observed < float(predicted) else "equal to"
    assert comparison == expected, reason
    assert float(target) == after["targetDifficulty"] and float(rate) == after["recentSuccessRate"]
    assert (zone == "inside") == after["inFlowZone"]
    assert (0.6 <= float(rate) <= 0.8) == after["inFlowZone"]


@settings(max_examples=300, deadline=None)
@given(histories, events)
def test_the_reason_quotes_the_difficulty_before_and_after(history: list[Event], event: Event) -> None:
    before = play(history) if history else PlayerSession.new("p1", event.at_ms)
    if isinstance(event, Attempt):
        after = before.record_attempt(event)
        outcome = 1.0 if event.success else 0.0
        _check_reason(attempt_reason(before, after, event), outcome, stats_view(before), stats_view(after))
    else:
        after = before.update_performance(event, "")
        answer = performance_view(before, after, event, "")
        assert answer["previousDifficulty"] == stats_view(before)["currentDifficulty"]
        _check_reason(answer["reason"], event.accuracy, stats_view(before), {**stats_view(after), **answer})
