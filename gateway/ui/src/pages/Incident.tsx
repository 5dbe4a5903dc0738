// One incident: its state at a glance, what to do, the investigation live, similar incidents,
// the alerts and why each joined, the timeline, the changes before it, the postmortem — and "as
// it was at", a slider over the incident's own events that shows the incident folded up to then.
import { useEffect, useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { soon, useLive } from "../live";
import { canEdit, useMe } from "../session";
import { Badge, ErrorText, Loading, When, useAction, useLoad } from "../ui";
import { Feedback } from "./Feedback";
import { Postmortem } from "./Postmortem";
import { Similar } from "./Similar";

type Detail = Schemas["IncidentDetail"];

export function IncidentPage({ id }: { id: string }) {
  const me = useMe();
  const [at, setAt] = useState<string | null>(null);
  const { data, error, reload } = useLoad(
    () =>
      request("get", "/api/incidents/{id}", {
          params: { path: { id }, query: at ? { at } : {} } as never,
        }) as Promise<Detail>,
    [id, at],
  );
  const events = useLoad(
    () => request("get", "/api/incidents/{id}/events", { params: { path: { id } } }),
    [id],
  );
  // This incident's events and its investigation's change what is shown: fetch it again.
  useLive(
    (event) => {
      const run = data?.rca?.run_id;
      if (event.subject === id || (run && event.subject === run)) {
        if (!at) soon(reload);
        if (event.subject === id) soon(events.reload);
      }
    },
    [id, data?.rca?.run_id, at, reload],
  );
  if (!data) return <Loading error={error} retry={reload} />;
  const incident = data.incident;
  const editable = canEdit(me) && !at && incident.status !== "merged";
  // Feedback rates the analysis and changes nothing of the incident: viewers give it too (the
  // API lets any member); a merged incident refuses it.
  const rateable = !at && incident.status !== "merged" && data.rca?.status === "completed";
  const times = (events.data?.events ?? []).map((e) => e.time);
  return (
    <article class="incident">
      <header class={`state state-${incident.status}`}>
        <h1>{incident.title}</h1>
        <p class="glance">
          <Badge kind={incident.severity}>{incident.severity}</Badge>{" "}
          <Badge kind={incident.status}>{incident.status}</Badge>{" "}
          <span>
            {incident.service} · {incident.environment} · from {incident.source} · started{" "}
            <When at={incident.started_at} />
          </span>
        </p>
        {incident.summary && <p class="summary">{incident.summary}</p>}
        {incident.merged_into && (
          <p>
            Merged into <a href={`/incidents/${incident.merged_into}`}>another incident</a>.
          </p>
        )}
      </header>

      <TimeSlider times={times} at={at} onChange={setAt} />
      {/* Without its events there is no "as it was at": say why. */}
      <ErrorText error={events.error && `The incident's events could not be read: ${events.error}`} />
      {at && (
        <p class="notice" role="status">
          Showing the incident as it was at <When at={data.as_of ?? at} />.{" "}
          <button type="button" class="link" onClick={() => setAt(null)}>
            Back to now
          </button>
        </p>
      )}

      {editable && <Actions id={id} detail={data} onDone={reload} />}

      <Investigation detail={data} />
      {rateable && data.rca && <Feedback id={id} rca={data.rca} onDone={reload} />}

      {!at && <Similar id={id} />}

      <section aria-labelledby="alerts">
        <h2 id="alerts">Alerts ({data.alerts.length})</h2>
        <ul class="cards">
          {data.alerts.map((a) => (
            <li key={a.alert_id}>
              <strong>{a.title}</strong> <Badge kind={a.severity}>{a.severity}</Badge>
              <div class="muted">
                {a.service} · {a.source} · <When at={a.received_at} />
              </div>
              {a.correlation ? (
                <p class="why">
                  Joined by {a.correlation.strategy}: score {a.correlation.score.toFixed(2)} (topology{" "}
                  {a.correlation.topology.toFixed(2)}, time {a.correlation.time.toFixed(2)}, similarity{" "}
                  {a.correlation.similarity.toFixed(2)}; {a.correlation.candidates_considered} open incidents
                  considered)
                </p>
              ) : (
                <p class="why">The alert that opened this incident.</p>
              )}
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="changes">
        <h2 id="changes">Changes before it</h2>
        {data.changes_before.length === 0 ? (
          <p>No deployments or merges reported shortly before.</p>
        ) : (
          <ul class="cards">
            {data.changes_before.map((c) => (
              <li key={c.id}>
                <ChangeLine change={c} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <ol class="timeline">
          {data.timeline.map((t) => (
            <li key={t.stream_sequence}>
              <When at={t.at} /> — {t.description}
            </li>
          ))}
        </ol>
      </section>

      {incident.comments.length > 0 && (
        <section aria-labelledby="comments">
          <h2 id="comments">Comments</h2>
          <ul class="cards">
            {incident.comments.map((c) => (
              <li key={c.comment_id}>
                {c.text}
                <div class="muted">
                  {c.author} · <When at={c.at} />
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}

      {!at && <Postmortem id={id} resolved={incident.status === "resolved"} editable={canEdit(me)} />}
    </article>
  );
}

/** One change before the incident, as `GET /api/incidents/{id}` gives it (`ChangeBefore`). */
function ChangeLine({ change: c }: { change: Schemas["ChangeBefore"] }) {
  const where = [c.service, c.environment, c.version && `version ${c.version}`, c.author && `by ${c.author}`]
    .filter(Boolean)
    .join(" · ");
  // The link comes from the source's payload: only a web address may become a link.
  const link = c.url && /^https?:\/\//i.test(c.url) ? c.url : null;
  return (
    <>
      <Badge kind={c.kind}>{c.kind}</Badge> <strong>{c.title}</strong>
      <div class="muted">
        {where} · from {c.source} · <When at={c.at} />
      </div>
      <div class="muted">
        {c.minutes_before} min before it started{c.same_service ? " · its service" : " · another service"}
        {link && (
          <>
            {" · "}
            <a href={link} target="_blank" rel="noopener noreferrer">
              the {c.kind} in {c.source}
            </a>
          </>
        )}
      </div>
    </>
  );
}

/** A slider over the incident's own events: each stop is the incident just after one of them. */
function TimeSlider({
  times,
  at,
  onChange,
}: {
  times: string[];
  at: string | null;
  onChange: (at: string | null) => void;
}) {
  if (times.length < 2) return null;
  const index = at ? Math.max(0, times.indexOf(at)) : times.length - 1;
  return (
    <div class="slider">
      <label for="as-of">As it was at</label>
      <input
        id="as-of"
        type="range"
        min={0}
        max={times.length - 1}
        value={index}
        aria-valuetext={new Date(times[index]).toLocaleString()}
        onInput={(e) => {
          const i = Number(e.currentTarget.value);
          onChange(i === times.length - 1 ? null : times[i]);
        }}
      />
      <span>
        event {index + 1} of {times.length}
      </span>
    </div>
  );
}

function Actions({ id, detail, onDone }: { id: string; detail: Detail; onDone: () => void }) {
  const { error, busy, run } = useAction();
  const [comment, setComment] = useState("");
  const [target, setTarget] = useState("");
  const incident = detail.incident;
  const underWay = detail.rca && ["requested", "queued", "running"].includes(detail.rca.status);
  const act = (action: () => Promise<unknown>) => run(action).then((ok) => ok && onDone());
  return (
    <section aria-labelledby="actions" class="actions">
      <h2 id="actions" class="sr-only">
        Actions
      </h2>
      {incident.status !== "resolved" && (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            act(() =>
              request("patch", "/api/incidents/{id}", { params: { path: { id } }, body: { status: "resolved" } }),
            )
          }
        >
          Resolve
        </button>
      )}
      {underWay ? (
        <button
          type="button"
          disabled={busy}
          onClick={() => act(() => request("delete", "/api/incidents/{id}/rca", { params: { path: { id } } }))}
        >
          Cancel the analysis
        </button>
      ) : (
        <button
          type="button"
          disabled={busy}
          onClick={() => act(() => request("post", "/api/incidents/{id}/rca", { params: { path: { id } } }))}
        >
          {detail.rca ? "Run the analysis again" : "Analyse the root cause"}
        </button>
      )}
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          act(() =>
            request("post", "/api/incidents/{id}/comments", { params: { path: { id } }, body: { text: comment } }),
          ).then(() => setComment(""));
        }}
      >
        <label>
          Comment
          <input value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || !comment}>
          Add
        </button>
      </form>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          act(() =>
            request("post", "/api/incidents/{id}/merge", { params: { path: { id } }, body: { target_id: target } }),
          );
        }}
      >
        <label>
          Merge into incident (id)
          <input value={target} onInput={(e) => setTarget(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || !target}>
          Merge
        </button>
      </form>
      <ErrorText error={error} />
    </section>
  );
}

/** The current investigation, refreshed as its events arrive. */
function Investigation({ detail }: { detail: Detail }) {
  const rca = detail.rca;
  const [open, setOpen] = useState<Record<string, boolean>>({});
  useEffect(() => setOpen({}), [rca?.run_id]);
  if (!rca) return null;
  const cost = (rca.usage.cost_micros / 1_000_000).toFixed(4);
  return (
    <section aria-labelledby="rca" class="rca" aria-live="polite">
      <h2 id="rca">
        Root-cause analysis <Badge kind={rca.status}>{rca.status}</Badge>
        {rca.conclusion && (
          <>
            {" "}
            <Badge kind="conclusion">{rca.conclusion}</Badge>
          </>
        )}
      </h2>
      {rca.summary && <p class="summary">{rca.summary}</p>}
      {rca.reason && <p class="muted">{rca.reason}</p>}
      <p class="muted">
        run {rca.episode} · {rca.model ?? "no model"} · {rca.usage.model_calls} model calls · {rca.usage.input_tokens +
          rca.usage.output_tokens}{" "}
        tokens · ${cost}
      </p>
      {rca.findings.length > 0 && (
        <>
          <h3>Findings</h3>
          <ul>
            {rca.findings.map((f) => (
              <li key={f.finding_id}>
                {f.text}
                {f.citations.length > 0 && (
                  <span class="muted">
                    {" "}
                    (cites{" "}
                    {f.citations
                      .map((c) => (c.tool ? `${c.tool} step ${c.step_id}` : `step ${c.step_id}`))
                      .join(", ")}
                    )
                  </span>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {rca.suggestions.length > 0 && (
        <>
          <h3>Suggestions</h3>
          <ul>
            {rca.suggestions.map((s) => (
              <li key={s.suggestion_id}>
                <Badge kind={s.risk}>{s.risk}</Badge> {s.title} <span class="muted">({s.kind})</span>
                {s.action && <pre>{s.action}</pre>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Steps</h3>
      <ol class="steps">
        {rca.thoughts.map((t, i) => (
          <li key={`t${i}`} class="thought">
            {t}
          </li>
        ))}
        {rca.tool_steps.map((s) => (
          <li key={s.step_id} class="tool">
            <button
              type="button"
              class="link"
              aria-expanded={!!open[s.step_id]}
              onClick={() => setOpen({ ...open, [s.step_id]: !open[s.step_id] })}
            >
              {s.tool} — {s.status}
            </button>
            {open[s.step_id] && (
              <div>
                <pre>{JSON.stringify(s.input, null, 2)}</pre>
                <pre>{s.output ?? "running…"}</pre>
              </div>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
