// Small SVG charts, drawn here rather than with a library (a few hundred bytes against tens of
// kilobytes): columns over days and lines over days. Each is an image with a name that says
// what it shows in words; each bar and point has a tooltip; the page gives the numbers as a table.
import type { ComponentChildren } from "preact";
import "./charts.css";

const WIDTH = 640;
const HEIGHT = 200;
const LEFT = 56;
const BOTTOM = 24;
const TOP = 10;
const PLOT_W = WIDTH - LEFT - 8;
const PLOT_H = HEIGHT - BOTTOM - TOP;

/** Every UTC day from `from` up to (not including) `to`, as `YYYY-MM-DD`. */
export function days(from: string, to: string, most = 400): string[] {
  const out: string[] = [];
  const end = new Date(to).getTime();
  for (let t = Date.parse(from.slice(0, 10) + "T00:00:00Z"); t < end && out.length < most; t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** A round step for about four gridlines up to `max`. */
function step(max: number): number {
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough || 1));
  return ([1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough) || 1;
}

function Frame({ label, max, format, labels, children }: {
  label: string;
  max: number;
  format: (v: number) => string;
  labels: string[];
  children: ComponentChildren;
}) {
  const s = step(max);
  const lines = Array.from({ length: Math.floor(max / s) + 1 }, (_, i) => i * s);
  const every = Math.max(1, Math.ceil(labels.length / 8));
  return (
    <svg class="chart" role="img" aria-label={label} viewBox={`0 0 ${WIDTH} ${HEIGHT}`}>
      {lines.map((v) => {
        const y = TOP + PLOT_H - (PLOT_H * v) / max;
        return (
          <g key={v}>
            <line class="grid" x1={LEFT} x2={WIDTH - 8} y1={y} y2={y} />
            <text class="axis" x={LEFT - 6} y={y + 4} text-anchor="end">
              {format(v)}
            </text>
          </g>
        );
      })}
      {labels.map((l, i) =>
        i % every === 0 ? (
          <text key={l} class="axis" x={LEFT + ((i + 0.5) * PLOT_W) / labels.length} y={HEIGHT - 6} text-anchor="middle">
            {l.slice(5)}
          </text>
        ) : null,
      )}
      {children}
    </svg>
  );
}

/** One column per label; `values[i]` of `labels[i]`. */
export function Columns({ label, labels, values, unit }: { label: string; labels: string[]; values: number[]; unit: string }) {
  const max = Math.max(1, ...values);
  const top = step(max) * Math.ceil(max / step(max));
  const w = PLOT_W / Math.max(1, labels.length);
  return (
    <Frame label={label} max={top} format={String} labels={labels}>
      {values.map((v, i) => {
        const h = (PLOT_H * v) / top;
        return (
          <rect key={labels[i]} class="column" data-day={labels[i]} data-value={v} x={LEFT + i * w + w * 0.15} width={w * 0.7} y={TOP + PLOT_H - h} height={h}>
            <title>{`${labels[i]}: ${v} ${unit}`}</title>
          </rect>
        );
      })}
    </Frame>
  );
}

export type Series = { name: string; values: (number | null)[]; kind: string };

/** One line per series over `labels`, broken where a value is missing. */
export function Lines({ label, labels, series, format }: {
  label: string;
  labels: string[];
  series: Series[];
  format: (v: number) => string;
}) {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(1, ...all);
  const top = step(max) * Math.ceil(max / step(max));
  const x = (i: number) => LEFT + ((i + 0.5) * PLOT_W) / Math.max(1, labels.length);
  const y = (v: number) => TOP + PLOT_H - (PLOT_H * v) / top;
  return (
    <Frame label={label} max={top} format={format} labels={labels}>
      {series.map((s) => {
        // Runs of days with a value, each drawn as one line.
        const runs: [number, number][][] = [[]];
        s.values.forEach((v, i) => (v === null ? runs.push([]) : runs[runs.length - 1].push([x(i), y(v)])));
        return (
          <g key={s.name} class={`series series-${s.kind}`}>
            {runs
              .filter((r) => r.length > 1)
              .map((r) => (
                <polyline key={r[0].join()} points={r.map((p) => p.join(",")).join(" ")} />
              ))}
            {s.values.map((v, i) =>
              v === null ? null : (
                <circle key={labels[i]} cx={x(i)} cy={y(v)} r={3.5} data-day={labels[i]} data-value={v}>
                  <title>{`${s.name}, ${labels[i]}: ${format(v)}`}</title>
                </circle>
              ),
            )}
          </g>
        );
      })}
    </Frame>
  );
}
