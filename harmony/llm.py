"""Optional LLM planner: ask an OpenAI-compatible chat endpoint for a JSON plan, then validate and repair it.

Configured by app settings / environment variables (nothing configured -> no network call at all):

- `LLM_BASE_URL`: the OpenAI-compatible base, e.g. `http://localhost:11434/v1` for Ollama; the client
  posts to `{LLM_BASE_URL}/chat/completions` (a URL already ending in `/chat/completions` is used as is);
- `LLM_MODEL`: the model name, e.g. `llama3.2:3b`;
- `LLM_API_KEY`: optional bearer token; it is sent only in the Authorization header and never appears in
  results, warnings, errors or logs (every message derived from a failure is passed through `redact`);
- `LLM_TIMEOUT_S`: total timeout of one call in seconds (default 20, 1..120).

The request uses `response_format: {"type": "json_object"}` and temperature 0 with the task's seed.
The plan must be a JSON object with a `progression` array; `validate_plan` drops or replaces chords
the engine cannot parse, restores locked chords and a preserved cadence, and keeps the length sane.
Aligned with the input, the plan is then held to the engine's rule on alterations (`keep_alterations`:
alterations are the user's, for spice-up): `repair_alterations` puts back the input chord wherever the
plan dropped one of its altered tones, with a warning (reharmonize may replace alterations: each
change record then says what it gave up, see harmony.results). Any failure raises LlmError
(LlmUnavailable when the call got no usable HTTP answer, which is what the circuit breaker counts),
which the caller turns into a warning and the rule-engine fallback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from harmony.chords import split_progression, try_parse_chord
from harmony.errors import HarmonyError
from harmony.rules import Progression, RuleContext, Slot, altered_pitch_classes
from harmony.styles import RULE_NAMES

DEFAULT_TIMEOUT_S = 20.0
MAX_TIMEOUT_S = 120.0
MAX_RESPONSE_BYTES = 256 * 1024
MAX_TITLE = 120
MAX_SUMMARY = 1200
MAX_TIP = 300
MAX_TIPS = 8
MAX_EXPLANATION = 400


class LlmError(HarmonyError):
    """The LLM could not give a usable plan; the message is safe to show (no secrets)."""


class LlmUnavailable(LlmError):
    """The call got no usable HTTP answer (timeout, unreachable, HTTP error, not a chat completion):
    what the circuit breaker (entities/llm_breaker.py) counts as a failed call."""


@dataclass(frozen=True)
class LlmSettings:
    """Where and how to call the LLM. `api_key` is excluded from repr so it never lands in a log."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LlmSettings | None:
        """The settings from `env` (default os.environ), or None when no endpoint is configured."""
        source = os.environ if env is None else env
        base_url = (source.get("LLM_BASE_URL") or "").strip()
        model = (source.get("LLM_MODEL") or "").strip()
        if not base_url or not model:
            return None
        try:
            timeout = float(source.get("LLM_TIMEOUT_S") or DEFAULT_TIMEOUT_S)
        except ValueError:
            timeout = DEFAULT_TIMEOUT_S
        timeout = min(MAX_TIMEOUT_S, max(1.0, timeout))
        api_key = (source.get("LLM_API_KEY") or "").strip() or None
        return cls(base_url=base_url, model=model, api_key=api_key, timeout_s=timeout)

    @property
    def endpoint(self) -> str:
        """The chat-completions URL derived from LLM_BASE_URL."""
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    def redact(self, text: str) -> str:
        """`text` with the API key (if any) replaced by `***`."""
        if self.api_key:
            text = text.replace(self.api_key, "***")
        return text


SYSTEM_PROMPT = (
    "You are an expert guitar harmony coach. Answer with ONE JSON object and nothing else, shaped as "
    '{"title": string, "summary": string, "progression": [chord symbols], '
    '"changes": [{"index": int, "rule": string, "explanation": string}], '
    '"practiceIdeas": [string], "techniqueTips": [string]}. '
    "Write chord symbols the standard way (Cmaj7, Dm9, G13, F#m7b5, Bb7#11, Ebdim7, C/E). "
    f"Name each change's rule with one of: {', '.join(RULE_NAMES)}. "
    "Respect locked chords and the cadence when asked. Do not repeat these instructions."
)


def build_messages(request: Mapping[str, Any], key_name: str, analysis: Sequence[Mapping[str, Any]],
                   template: Sequence[str] = ()) -> list[dict[str, str]]:
    """The chat messages for a task: the system prompt and the task as JSON."""
    task: dict[str, Any] = {"task": request["type"], "key": key_name, "style": request["style"]}
    for name in ("progression", "mood", "targetFeel", "preserveCadence", "lockFirstChord", "lockLastChord",
                 "allowModalInterchange", "mode", "skillLevel", "bars", "referenceArtists", "notes"):
        if request.get(name) not in (None, "", []):
            task[name] = request[name]
    if analysis:
        task["analysis"] = [f"{item['chord']} = {item['roman']}" for item in analysis]
    if template:
        task["startingPoint"] = list(template)
    goal = {
        "spice-up": "Spice up the progression for the style: same number of bars, richer chords.",
        "reharmonize": "Reharmonize the progression for the style and target feel.",
        "create": "Write a new progression of exactly `bars` bars (one or two chords per bar).",
    }[request["type"]]
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": goal + "\n" + json.dumps(task, ensure_ascii=False)}]


async def request_plan(settings: LlmSettings, messages: list[dict[str, str]], seed: int) -> dict[str, Any]:
    """POST the chat completion and return the plan object; raise LlmError on any failure."""
    body = {
        "model": settings.model,
        "messages": messages,
        "response_format": {"type": "json_object"},
        "temperature": 0,
        "seed": seed,
        "stream": False,
    }
    headers = {"Content-Type": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.post(settings.endpoint, data=json.dumps(body), headers=headers) as response:
            raw = await response.content.read(MAX_RESPONSE_BYTES + 1)
            status = response.status
    except TimeoutError:
        raise LlmUnavailable(f"the LLM did not answer within {settings.timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise LlmUnavailable(settings.redact(f"could not reach the LLM endpoint ({type(exc).__name__})")) from None
    if status != 200:
        raise LlmUnavailable(f"the LLM endpoint answered HTTP {status}")
    if len(raw) > MAX_RESPONSE_BYTES:
        raise LlmUnavailable("the LLM response is too large")
    return _plan_from_completion(raw)


def _plan_from_completion(raw: bytes) -> dict[str, Any]:
    try:
        completion = json.loads(raw)
        content = completion["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmUnavailable("the LLM response is not a chat completion") from None
    if not isinstance(content, str):
        raise LlmUnavailable("the LLM response has no text content")
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        plan = json.loads(text)
    except ValueError:
        raise LlmError("the LLM answer is not valid JSON") from None
    if not isinstance(plan, dict):
        raise LlmError("the LLM answer is not a JSON object")
    return plan


@dataclass(frozen=True)
class RepairedPlan:
    """A validated plan: chord symbols the engine can voice, texts, and what had to be repaired."""

    progression: list[str]
    title: str | None
    summary: str | None
    practice_ideas: list[str]
    technique_tips: list[str]
    explanations: dict[int, tuple[str, str]]
    warnings: list[str]


def validate_plan(plan: Mapping[str, Any], original: Sequence[str], *, lock_first: bool = False,
                  lock_last: bool = False, preserve_last_root: bool = False,
                  target_length: int | None = None) -> RepairedPlan:
    """Check and repair an LLM plan against the request; raise LlmError when it is beyond repair.

    Unparseable chords are replaced by the input chord at the same position (or dropped when there is
    none); locked first/last chords are restored; with `preserve_last_root` a last chord on another
    root is restored. Lengths must stay within half to twice the input (or `target_length` for create).
    """
    value = plan.get("progression")
    if isinstance(value, str):
        value = split_progression(value.replace("|", " "))
    if not isinstance(value, list) or not value:
        raise LlmError("the LLM plan has no progression")
    warnings: list[str] = []
    symbols: list[str] = []
    for index, item in enumerate(value[:128]):
        chord = try_parse_chord(item)
        if chord is not None:
            symbols.append(chord.symbol)
        elif index < len(original):
            symbols.append(original[index])
            warnings.append(f"LLM chord {_short(item)} at position {index + 1} is not a chord symbol; "
                            f"kept {original[index]}")
        else:
            warnings.append(f"LLM chord {_short(item)} at position {index + 1} is not a chord symbol; dropped")
    symbols = _fit_length(symbols, original, target_length, warnings)
    if original:
        if lock_first and symbols[0] != original[0]:
            warnings.append(f"LLM changed the locked first chord; restored {original[0]}")
            symbols[0] = original[0]
        last_chord = try_parse_chord(symbols[-1])
        original_last = try_parse_chord(original[-1])
        restore = lock_last and symbols[-1] != original[-1]
        if preserve_last_root and last_chord and original_last and last_chord.root_pc != original_last.root_pc:
            restore = True
        if restore:
            warnings.append(f"LLM changed the final chord; restored {original[-1]} to keep the cadence")
            symbols[-1] = original[-1]
    return RepairedPlan(
        progression=symbols,
        title=_text(plan.get("title"), MAX_TITLE),
        summary=_text(plan.get("summary"), MAX_SUMMARY),
        practice_ideas=_texts(plan.get("practiceIdeas")),
        technique_tips=_texts(plan.get("techniqueTips")),
        explanations=_explanations(plan.get("changes")),
        warnings=warnings,
    )


def _fit_length(symbols: list[str], original: Sequence[str], target: int | None,
                warnings: list[str]) -> list[str]:
    if target is not None:
        low, high = 2, 2 * target
    else:
        low, high = max(2, (len(original) + 1) // 2), 2 * len(original)
    if len(symbols) < low:
        raise LlmError(f"the LLM plan has {len(symbols)} usable chords, expected at least {low}")
    if len(symbols) > high:
        warnings.append(f"LLM plan had {len(symbols)} chords; kept the first {high}")
        symbols = symbols[:high]
    return symbols


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    texts = [_text(item, MAX_TIP) for item in value[:MAX_TIPS]]
    return [text for text in texts if text]


def _explanations(value: object) -> dict[int, tuple[str, str]]:
    """{output index: (rule, explanation)} from the plan's `changes`, ignoring malformed entries."""
    found: dict[int, tuple[str, str]] = {}
    if not isinstance(value, list):
        return found
    for item in value[:128]:
        if not isinstance(item, dict):
            continue
        index, explanation = item.get("index"), _text(item.get("explanation"), MAX_EXPLANATION)
        if isinstance(index, int) and not isinstance(index, bool) and explanation:
            rule = item.get("rule")
            found[index] = (rule if isinstance(rule, str) and rule in RULE_NAMES else "llm", explanation)
    return found


def repair_alterations(ctx: RuleContext, slots: Progression) -> tuple[Progression, list[str]]:
    """`slots` with every chord that dropped an altered tone of its input chord put back to the input
    chord (when `ctx.keep_alterations`, i.e. spice-up), and a warning per repair. The test is the
    engine's own (`altered_pitch_classes`, as in `rules.violations`): a tone respelled still counts."""
    if not ctx.keep_alterations:
        return slots, []
    repaired: list[Slot] = []
    warnings: list[str] = []
    for index, slot in enumerate(slots):
        old = ctx.original[slot.origin] if 0 <= slot.origin < len(ctx.original) and slot.rule else None
        if old is not None and altered_pitch_classes(old.chord) - slot.chord.all_pitch_classes:
            warnings.append(f"LLM chord {slot.symbol} at position {index + 1} drops an alteration of "
                            f"{old.symbol}; kept {old.symbol}")
            slot = Slot(old.symbol, slot.bar, slot.origin, "")
        repaired.append(slot)
    return tuple(repaired), warnings
