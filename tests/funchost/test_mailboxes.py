"""Mailboxes and the timer heap, driven by `step(now)` with a fake clock (no event loop runs them)."""

from __future__ import annotations

from datetime import UTC, datetime

from funchost.history import EventType, event
from funchost.mailboxes import Mailboxes
from funchost.messages import Message

T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def timer(mailboxes: Mailboxes, target: str, fire_at: float) -> Message:
    fired = event(EventType.TIMER_FIRED, datetime.fromtimestamp(fire_at, UTC), TimerId=1)
    return mailboxes.orchestration_message(target, fired, "exec-1", visible_at=fire_at)


def test_delayed_messages_become_visible_only_when_step_passes_their_time() -> None:
    clock = FakeClock(T0)
    mailboxes = Mailboxes(clock)
    for offset in (30.0, 10.0, 20.0):
        mailboxes.enqueue(timer(mailboxes, f"i-{int(offset)}", T0 + offset))
    assert mailboxes.take() is None and mailboxes.waiting()["timer"] == 3
    assert mailboxes.next_due() == T0 + 10.0
    assert mailboxes.step(T0 + 9.999) == 0
    assert mailboxes.step(T0 + 20.0) == 2  # both due ones, in fire order
    assert [mailboxes.take(), mailboxes.take(), mailboxes.take()] == ["i-10", "i-20", None]
    assert mailboxes.messages("i-10")[0].visible_at == 0.0  # visible now
    assert mailboxes.next_due() == T0 + 30.0 and mailboxes.waiting()["timer"] == 1
    clock.now = T0 + 100.0
    assert mailboxes.step(clock()) == 1 and mailboxes.next_due() is None


def test_enqueue_uses_the_injected_clock_for_visibility() -> None:
    clock = FakeClock(T0)
    mailboxes = Mailboxes(clock)
    mailboxes.enqueue(timer(mailboxes, "soon", T0 + 5.0))
    assert mailboxes.take() is None
    clock.now = T0 + 6.0
    mailboxes.enqueue(timer(mailboxes, "past", T0 + 5.5))  # already due by the clock: visible at once
    assert mailboxes.take() == "past"


def test_a_running_target_is_not_taken_again_until_released() -> None:
    mailboxes = Mailboxes(FakeClock(T0), last_seq=41)
    first = mailboxes.entity_message("@counter@a", {"op": "add", "input": "1"})
    assert first.seq == 42  # sequence numbers continue from the store's
    mailboxes.enqueue(first)
    assert mailboxes.take() == "@counter@a"
    second = mailboxes.entity_message("@counter@a", {"op": "add", "input": "2"})
    mailboxes.enqueue(second)
    assert mailboxes.take() is None  # one step per target at a time
    assert mailboxes.active_entities() == {"counter": 1} and mailboxes.entity_depths() == {"counter": 2}
    mailboxes.release("@counter@a", {first.seq})
    assert [m.seq for m in mailboxes.messages("@counter@a")] == [second.seq]
    mailboxes.mark_ready("@counter@a")
    assert mailboxes.take() == "@counter@a"
    mailboxes.release("@counter@a", {second.seq})
    assert mailboxes.idle() and mailboxes.entity_depths() == {}


def test_put_back_keeps_messages_and_forget_timers_drops_an_ended_instances_timers() -> None:
    mailboxes = Mailboxes(FakeClock(T0))
    control = mailboxes.orchestration_message("i", event(EventType.EVENT_RAISED, datetime.now(UTC), Name="x"), None)
    mailboxes.enqueue(control)
    mailboxes.enqueue(timer(mailboxes, "i", T0 + 60.0))
    mailboxes.enqueue(timer(mailboxes, "other", T0 + 60.0))
    assert mailboxes.take() == "i"
    mailboxes.put_back("i")
    assert mailboxes.messages("i") == [control]
    mailboxes.forget_timers("i")
    assert mailboxes.waiting() == {"orchestration": 1, "entity": 0, "timer": 1}
    assert mailboxes.step(T0 + 61.0) == 1 and mailboxes.has_messages("other")


def test_activity_completions_are_the_messages_carrying_an_activity_row() -> None:
    mailboxes = Mailboxes(FakeClock(T0))
    done = mailboxes.orchestration_message("i", event(EventType.TASK_COMPLETED, datetime.now(UTC)), "exec-1")
    done.activity_seq = 7
    mailboxes.enqueue(done)
    mailboxes.enqueue(mailboxes.entity_message("@counter@a", {"op": "get", "input": None}))
    assert mailboxes.activity_completions() == [done]


def test_a_claim_is_refused_while_a_step_runs_or_messages_wait_and_its_end_hands_on_what_came() -> None:
    mailboxes = Mailboxes(FakeClock(T0))
    assert mailboxes.claim("@counter@a")
    assert not mailboxes.claim("@counter@a")  # its own step runs
    mailboxes.enqueue(mailboxes.entity_message("@counter@a", {"op": "add", "input": "1"}))
    assert mailboxes.take() is None  # running: the message waits for the claimed step's end
    mailboxes.end_claim("@counter@a")
    assert mailboxes.take() == "@counter@a"
    mailboxes.release("@counter@a", [m.seq for m in mailboxes.messages("@counter@a")])
    assert mailboxes.idle() and mailboxes.claim("@counter@a")
    mailboxes.release("@counter@a", [])  # a claimed step that consumed nothing
    mailboxes.enqueue(mailboxes.entity_message("@counter@b", {"op": "add", "input": "1"}))
    assert not mailboxes.claim("@counter@b") and mailboxes.claim("@counter@a")  # b has a message waiting
