// Incident metrics (MTTD, MTTR and incidents over time, RCA conclusions) and LLM usage and cost,
// as small SVG charts (charts.tsx, no chart library), each with its numbers as a table.
import { useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { Columns, Lines, days } from "../charts";
import { Loading, useLoad } from "../ui";

const RANGES = [7, 30, 90];

export function Metrics() {
  const [range, setRange] = useState(30);
  const metrics = useLoad(
    () =>
      request("get", "/api/metrics/summary", {
        params: { query: { from: new Date(Date.now() - range * 86_400_000).toISOString() } },
      }),
    [range],
  );
  const usage = useLoad(() => request("get", "/api/llm-usage"), []);
  const m = metrics.data;
  const u = usage.data;
  return (
    <section>
      <h1>Metrics & usage</h1>
      <label class="range">
        Period
        <select value={range} onChange={(e) => setRange(Number(e.currentTarget.value))}>
          {RANGES.map((d) => (
            <option key={d} value={d}>
              the last {d} days
            </option>
          ))}
        </select>
      </label>
      {!m ? (
        <Loading error={metrics.error} retry={metrics.reload} />
      ) : (
        <>
          <dl class="figures">
            <Figure label="Opened" value={String(m.incidents.opened)} />
            <Figure label="Resolved" value={String(m.incidents.resolved)} />
            <Figure label="MTTD (median)" value={duration(m.mttd.median_seconds)} more={spread(m.mttd)} />
            <Figure label="MTTR (median)" value={duration(m.mttr.median_seconds)} more={spread(m.mttr)} />
            <Figure label="RCA runs" value={String(m.rca.runs)} />
          </dl>
          <OverTime summary={m} />
          <h2>RCA conclusions</h2>
          <Bars
            label="RCA conclusions"
            items={Object.entries(m.rca.conclusions as unknown as Record<string, number>)}
          />
        </>
      )}
      <h2>LLM usage</h2>
      {!u ? (
        <Loading error={usage.error} retry={usage.reload} />
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

function Figure({ label, value, more }: { label: string; value: string; more?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {value}
        {more && <div class="muted more">{more}</div>}
      </dd>
    </div>
  );
}

function spread(d: Schemas["Durations"]): string {
  return d.count ? `mean ${duration(d.mean_seconds)}, longest ${duration(d.max_seconds)}, of ${d.count}` : "none yet";
}

/** Incidents, MTTD and MTTR per day of the range, as charts and as a table. */
function OverTime({ summary: m }: { summary: Schemas["MetricsSummary"] }) {
  const labels = days(m.from, m.to);
  const byDay = new Map(m.per_day.map((d) => [d.day, d]));
  const count = labels.map((d) => byDay.get(d)?.incidents ?? 0);
  const mttd = labels.map((d) => byDay.get(d)?.mttd_median_seconds ?? null);
  const mttr = labels.map((d) => byDay.get(d)?.mttr_median_seconds ?? null);
  const total = count.reduce((a, b) => a + b, 0);
  const busiest = labels[count.indexOf(Math.max(...count))];
  const period = `${labels[0]} to ${labels[labels.length - 1]}`;
  return (
    <>
      <h2 id="incidents-over-time">Incidents over time</h2>
      <Columns
        label={`Incidents opened per day, ${period}: ${total} in all${total ? `, most on ${busiest} (${byDay.get(busiest)?.incidents})` : ""}`}
        labels={labels}
        values={count}
        unit="incidents"
      />
      <h2 id="mttd-mttr-over-time">MTTD and MTTR over time</h2>
      <p class="muted legend-line">
        <span class="legend legend-mttd" /> MTTD: median time from the alert firing to the incident opening ·{" "}
        <span class="legend legend-mttr" /> MTTR: median time from opening to resolution (dashed), of each day's incidents
      </p>
      <Lines
        label={`Median MTTD and MTTR per day, ${period}: MTTD ${duration(m.mttd.median_seconds)} and MTTR ${duration(m.mttr.median_seconds)} over the period`}
        labels={labels}
        series={[
          { name: "MTTD", values: mttd, kind: "mttd" },
          { name: "MTTR", values: mttr, kind: "mttr" },
        ]}
        format={duration}
      />
      <details>
        <summary>The numbers per day</summary>
        {m.per_day.length === 0 ? (
          <p>No incidents opened in this period.</p>
        ) : (
          <table data-testid="per-day">
            <caption class="sr-only">Incidents opened, MTTD and MTTR per day</caption>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col">Incidents</th>
                <th scope="col">MTTD (median)</th>
                <th scope="col">MTTR (median)</th>
              </tr>
            </thead>
            <tbody>
              {m.per_day.map((d) => (
                <tr key={d.day}>
                  <th scope="row">{d.day}</th>
                  <td>{d.incidents}</td>
                  <td>{duration(d.mttd_median_seconds)}</td>
                  <td>{duration(d.mttr_median_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </>
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
