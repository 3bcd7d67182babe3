// An orchestration's history as a timeline: one bar per activity, timer, sub-orchestration, entity call
// and external event, from when it was scheduled to when its result arrived.

import { formatSeconds, h } from "./dom.js";

const SCHEDULING = new Set(["TaskScheduled", "TimerCreated", "SubOrchestrationInstanceCreated", "EventSent"]);

const time = (iso) => (iso ? new Date(iso).getTime() : NaN);

function parse(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch { return text; }
}

/** The one-line reason of a failure (the traceback, in `Details`, stays in the raw history). */
function failureText(event) {
  const details = event.FailureDetails;
  if (details && typeof details === "object") return details.ErrorMessage || details.errorMessage || JSON.stringify(details);
  return String(event.Reason || event.Details || "failed").split("\n")[0];
}

function clock(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso || "?");
  return `${date.toLocaleTimeString()}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

function spanFor(kind, name, event, ordinal) {
  return { kind, name, start: time(event.Timestamp), end: NaN, failed: false, reason: "", retry: 0, ordinal };
}

/** The bar a scheduling event opens (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent). */
function scheduled(state, event, previous) {
  const type = event.EventType;
  if (type === "TaskScheduled") {
    const span = spanFor("activity", event.Name, event, state.ordinal);
    span.retry = state.failures.get(event.Name) || 0;
    return span;
  }
  if (type === "TimerCreated") {
    // A timer right after a failed activity is the SDK's retry delay.
    const retrying = previous && previous.EventType === "TaskFailed";
    const span = spanFor("timer", retrying ? `retry delay of ${previous.FunctionName}` : `timer until ${clock(event.FireAt)}`,
      event, state.ordinal);
    state.timers.set(event.FireAt, span);
    return span;
  }
  if (type === "SubOrchestrationInstanceCreated") {
    return spanFor("suborchestration", `${event.Name} (${event.InstanceId})`, event, state.ordinal);
  }
  const target = String(event.InstanceId || "");
  const input = parse(event.Input);
  const entity = target.startsWith("@");
  const span = spanFor(entity ? "entity" : "event", `${entity ? "entity" : "event to"} ${target} ${event.Name || ""}`.trim(),
    event, state.ordinal);
  const op = input && typeof input === "object" ? (input.op || input.Operation) : null;
  if (entity && op) span.name = `entity ${target} .${op}`;
  const requestId = input && typeof input === "object" ? (input.id || input.Id) : null;
  if (requestId && !(input.signal || input.IsSignal)) state.calls.set(String(requestId), span);  // a call: a response follows
  else span.end = span.start;  // a signal or an event sent: nothing comes back
  return span;
}

/** Close the bar a result event belongs to (or add a mark for an external event). */
function resulted(state, event) {
  const type = event.EventType;
  const open = (kind) => state.spans.find((s) => s.kind === kind && Number.isNaN(s.end)
    && (kind !== "activity" || (s.name === event.FunctionName && s.start === time(event.ScheduledTime))));
  let span = null;
  if (type === "TaskCompleted" || type === "TaskFailed") {
    span = state.byOrdinal.get(Number(event.TaskScheduledId));
    if (!span || span.kind !== "activity" || span.name !== event.FunctionName) span = open("activity");
    if (span && type === "TaskFailed") state.failures.set(span.name, (state.failures.get(span.name) || 0) + 1);
  } else if (type === "TimerFired") {
    span = state.timers.get(event.FireAt);
  } else if (type === "SubOrchestrationInstanceCompleted" || type === "SubOrchestrationInstanceFailed") {
    span = state.byOrdinal.get(Number(event.TaskScheduledId)) || open("suborchestration");
  } else if (type === "EventRaised") {
    span = state.calls.get(String(event.Name));
    if (!span) {
      const mark = spanFor("event", `external event ${event.Name}`, event, -1);
      mark.end = mark.start;
      state.spans.push(mark);
      return;
    }
  }
  if (!span) return;
  span.end = time(event.Timestamp);
  if (type.endsWith("Failed")) { span.failed = true; span.reason = failureText(event); }
}

const FOLDED = new Map([["TaskCompleted", "activity"], ["TaskFailed", "activity"],
  ["SubOrchestrationInstanceCompleted", "suborchestration"], ["SubOrchestrationInstanceFailed", "suborchestration"]]);

/**
 * The bar of a finished step as the extension's `showHistory` shows it: its scheduling event folded into
 * the result (`FunctionName`, `ScheduledTime`, no `TaskScheduledId`). Null for an unfolded result.
 */
function folded(state, event) {
  const kind = FOLDED.get(event.EventType);
  if (!kind || !event.ScheduledTime || event.TaskScheduledId !== undefined) return null;
  const span = spanFor(kind, event.FunctionName, { Timestamp: event.ScheduledTime }, -1);
  span.end = time(event.Timestamp);
  if (kind === "activity") span.retry = state.failures.get(event.FunctionName) || 0;
  if (event.EventType.endsWith("Failed")) {
    span.failed = true;
    span.reason = failureText(event);
    state.failures.set(span.name, (state.failures.get(span.name) || 0) + 1);
  }
  return span;
}

/**
 * Bars from the history of `GET instances/{id}?showHistory=true`, in the order the steps were scheduled.
 * A finished activity or sub-orchestration comes folded into its result (as the extension serves it). Results are matched to their step by
 * sequence number (the n-th scheduling event has id n), checked against the name and scheduled time. A
 * step without a result is still running (its bar ends at `now`) while the instance runs, and was
 * abandoned once it has ended (its bar ends with the instance's last event).
 */
export function buildSpans(history, now, running = true) {
  const state = { spans: [], byOrdinal: new Map(), timers: new Map(), calls: new Map(), failures: new Map(), ordinal: 0 };
  let previous = null;
  for (const event of history) {
    const done = folded(state, event);
    if (done) {
      state.spans.push(done);
    } else if (SCHEDULING.has(event.EventType)) {
      const span = scheduled(state, event, previous);
      state.byOrdinal.set(state.ordinal, span);
      state.spans.push(span);
      state.ordinal += 1;
    } else {
      resulted(state, event);
    }
    previous = event;
  }
  const last = Math.max(...history.map((event) => time(event.Timestamp)).filter(Number.isFinite));
  for (const span of state.spans) {
    span.open = Number.isNaN(span.end) && running;
    span.abandoned = Number.isNaN(span.end) && !running;
    if (span.open) span.end = now;
    if (span.abandoned) span.end = Math.max(span.start, last);
  }
  return state.spans.map((span, index) => [span, index])
    .sort(([a, i], [b, j]) => (a.start - b.start) || (i - j)).map(([span]) => span);
}

function row(span, t0, total) {
  const lane = h("div", { class: "lane" });
  const bar = h("div", { class: `span ${span.kind}${span.failed ? " failed" : ""}${span.open ? " open" : ""}`,
    title: `${span.name}${span.reason ? ` - ${span.reason}` : ""}` });
  bar.style.left = `${(((span.start - t0) / total) * 100).toFixed(2)}%`;
  bar.style.width = `${Math.max(0.3, ((span.end - span.start) / total) * 100).toFixed(2)}%`;
  lane.append(bar);
  const tags = [
    span.retry ? h("span", { class: "tag retry" }, `retry ${span.retry}`) : null,
    span.failed ? h("span", { class: "tag failed" }, "failed") : null,
    span.open ? h("span", { class: "tag" }, "running") : null,
    span.abandoned ? h("span", { class: "tag failed" }, "no result") : null,
  ];
  return h("div", { class: "row", "data-testid": "timeline-row", dataset: { kind: span.kind } },
    h("div", { class: "label", title: span.name }, span.name, tags),
    lane, h("div", { class: "dur" }, formatSeconds((span.end - span.start) / 1000)),
    span.reason ? h("div", { class: "reason small", "data-testid": "timeline-reason" }, span.reason) : null);
}

/** The timeline of `history` (public history events) as an element; `running` whether the instance still runs. */
export function timeline(history, running, now = Date.now()) {
  const spans = buildSpans(history, now, running);
  if (!spans.length) return h("p", { class: "muted", "data-testid": "timeline" }, "No activities, timers, sub-orchestrations, entity calls or events yet.");
  const started = history.find((event) => event.EventType === "ExecutionStarted");
  const t0 = Math.min(time(started && started.Timestamp) || Infinity, ...spans.map((s) => s.start));
  const t1 = Math.max(...spans.map((s) => s.end), ...history.map((event) => time(event.Timestamp)).filter(Number.isFinite));
  const total = Math.max(1, t1 - t0);
  const legend = h("div", { class: "legend" }, ["activity", "timer", "suborchestration", "entity", "event", "failed"]
    .map((kind) => h("span", {}, h("i", { class: kind }), kind === "suborchestration" ? "sub-orchestration" : kind)));
  return h("div", { class: "timeline", "data-testid": "timeline" }, legend,
    h("div", { class: "small muted" }, `${spans.length} steps over ${formatSeconds(total / 1000)}`),
    spans.map((span) => row(span, t0, total)));
}
