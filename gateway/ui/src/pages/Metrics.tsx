// Incident metrics (MTTD, MTTR, incidents per day, RCA conclusions) and LLM usage and cost, as
// small SVG charts: no chart library.
import { request } from "../api/client";
import { Loading, useLoad } from "../ui";

export function Metrics() {
  const metrics = useLoad(() => request("get", "/api/metrics/summary"), []);
  const usage = useLoad(() => request("get", "/api/llm-usage"), []);
  const m = metrics.data;
  const u = usage.data;
  return (
    <section>
      <h1>Metrics & usage</h1>
      {!m ? (
        <Loading error={metrics.error} />
      ) : (
        <>
          <dl class="figures">
            <Figure label="Opened" value={String(m.incidents.opened)} />
            <Figure label="Resolved" value={String(m.incidents.resolved)} />
            <Figure label="MTTD (median)" value={duration(m.mttd.median_seconds)} />
            <Figure label="MTTR (median)" value={duration(m.mttr.median_seconds)} />
            <Figure label="RCA runs" value={String(m.rca.runs)} />
          </dl>
          <h2>Incidents per day</h2>
          <Bars label="Incidents per day" items={m.per_day.map((d) => [d.day.slice(5), d.incidents])} />
          <h2>RCA conclusions</h2>
          <Bars
            label="RCA conclusions"
            items={Object.entries(m.rca.conclusions as unknown as Record<string, number>)}
          />
        </>
      )}
      <h2>LLM usage</h2>
      {!u ? (
        <Loading error={usage.error} />
      ) : (
        <>
          <dl class="figures">
            <Figure label="Model calls" value={String(u.total.calls)} />
            <Figure label="Tokens" value={String(u.total.input_tokens + u.total.output_tokens)} />
            <Figure label={`Cost (${u.currency})`} value={(u.total.cost_micros / 1_000_000).toFixed(4)} />
          </dl>
          <Bars
            label="Cost per model"
            items={(u.by_model as unknown as { model: string; cost_micros: number }[]).map((r) => [
              r.model,
              r.cost_micros / 1_000_000,
            ])}
          />
        </>
      )}
    </section>
  );
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function duration(seconds?: number | null): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A horizontal bar chart, readable by screen readers as a list. */
function Bars({ label, items }: { label: string; items: [string, number][] }) {
  if (items.length === 0) return <p>Nothing in this range.</p>;
  const max = Math.max(...items.map(([, v]) => v), 1);
  const row = 22;
  return (
    <svg class="bars" role="img" aria-label={label} viewBox={`0 0 400 ${items.length * row}`} width="100%">
      <title>{label}</title>
      {items.map(([name, value], i) => (
        <g key={name} transform={`translate(0 ${i * row})`}>
          <text x="0" y="15" class="bar-label">
            {name}
          </text>
          <rect x="110" y="4" height="14" width={(250 * value) / max} class="bar" />
          <text x={116 + (250 * value) / max} y="15" class="bar-label">
            {value}
          </text>
        </g>
      ))}
    </svg>
  );
}
