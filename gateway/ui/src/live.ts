// Live updates: the organisation's events (GET /api/events/stream), one EventSource shared by
// every page. The browser reconnects by itself with Last-Event-ID, so nothing is missed.
import { useEffect } from "preact/hooks";

export type CloudEvent = {
  type: string;
  subject: string;
  sequence: number;
  aggregatetype: string;
  time: string;
  data: Record<string, unknown>;
};

type Listener = (event: CloudEvent) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;

function connect() {
  if (source) return;
  // Only the aggregates the pages show: the organisation's other events (the decision log's,
  // the graph's, chat's) would cross the network for nothing.
  source = new EventSource(`/api/events/stream?aggregate=${AGGREGATES.join(",")}`);
  const deliver = (message: MessageEvent) => {
    try {
      const event = JSON.parse(message.data) as CloudEvent;
      listeners.forEach((listener) => listener(event));
    } catch {
      /* a malformed message: nothing to show */
    }
  };
  // Each message is named by its event type; EventSource hands a named message only to the
  // listeners of that name, so the UI listens to each type it shows.
  for (const type of SHOWN) source.addEventListener(type, deliver as EventListener);
}

/** The aggregate types whose events the pages react to. */
const AGGREGATES = ["incident", "investigation", "postmortem"];

/** The event types the pages react to (incidents, investigations, postmortems). */
const SHOWN = [
  "aurora.incident.alert_correlated",
  "aurora.incident.comment_added",
  "aurora.incident.feedback_given",
  "aurora.incident.merged_alerts_absorbed",
  "aurora.incident.merged_into",
  "aurora.incident.opened",
  "aurora.incident.postmortem_requested",
  "aurora.incident.rca_cancelled",
  "aurora.incident.rca_requested",
  "aurora.incident.rca_status_changed",
  "aurora.incident.resolve_notification_attached",
  "aurora.incident.resolved",
  "aurora.incident.severity_changed",
  "aurora.incident.status_changed",
  "aurora.incident.summary_updated",
  "aurora.investigation.cancelled",
  "aurora.investigation.carried_over",
  "aurora.investigation.completed",
  "aurora.investigation.context_added",
  "aurora.investigation.failed",
  "aurora.investigation.finding_recorded",
  "aurora.investigation.queued",
  "aurora.investigation.requested",
  "aurora.investigation.started",
  "aurora.investigation.suggestion_made",
  "aurora.investigation.thought",
  "aurora.investigation.tool_step_finished",
  "aurora.investigation.tool_step_started",
  "aurora.investigation.usage_recorded",
  "aurora.postmortem.edited",
  "aurora.postmortem.generated",
  "aurora.postmortem.regenerated",
  "aurora.postmortem.restored",
];

/** Calls `listener` for each event of the organisation while the component is shown. */
export function useLive(listener: Listener, deps: unknown[] = []) {
  useEffect(() => {
    connect();
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, deps);
}

export function disconnect() {
  source?.close();
  source = null;
}

/** The looks `soon` has planned for each reload, and when an event last made it load. */
const planned = new WeakMap<() => void, { timers: ReturnType<typeof setTimeout>[]; last: number }>();

/** Loads between two looks at least (a burst of events must not become a burst of loads). */
const SPACING_MS = 250;

/** Calls `reload` now and a few times over the next seconds: an event reaches the browser as it
 *  is stored, and the read model a page fetches may take a moment longer to show it (usually
 *  tens of milliseconds, hence the early second look). Coalesced: each event plans the looks
 *  again in place of those still waiting, and rounds start at most every `SPACING_MS`, so a storm
 *  of thousands of events costs a few loads a second, not five per event. */
export function soon(reload: () => void) {
  const plan = planned.get(reload) ?? { timers: [], last: 0 };
  plan.timers.forEach(clearTimeout);
  const first = Math.max(0, plan.last + SPACING_MS - Date.now());
  // Only the first look of a round counts for the spacing: the later ones must not hold back
  // the next event's first look (one incident after another shows at once).
  plan.timers = [0, 100, 300, 1000, 3000].map((delay) =>
    setTimeout(() => {
      if (delay === 0) plan.last = Date.now();
      reload();
    }, first + delay),
  );
  planned.set(reload, plan);
}
