// Correlation settings (admin): how alerts are grouped into incidents — the switches, the window,
// the weights and the limits — and the dry run that replays the stored deliveries of a period
// through the settings on the form, writing nothing, before they are saved.
import { useEffect, useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { ErrorText, Loading, When, plural, useAction, useLoad } from "../ui";

type Settings = Required<Schemas["CorrelationSettings"]>;
type DryRun = Schemas["DryRun"];

/** The number fields, each with its label and step; the API says when one is out of range. */
const NUMBERS: [keyof Settings, string, number][] = [
  ["window_secs", "Window (seconds)", 1],
  ["threshold", "Threshold (0–1)", 0.05],
  ["topology_weight", "Topology weight", 0.05],
  ["time_weight", "Time weight", 0.05],
  ["similarity_weight", "Similarity weight", 0.05],
  ["max_candidates", "Incidents scored per alert", 1],
  ["max_group_size", "Most alerts per incident", 1],
];

/** `<input type="datetime-local">`'s value for a time, in the browser's zone. */
function local(date: Date): string {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

export function Correlation() {
  const saved = useLoad(() => request("get", "/api/correlation/settings"), []);
  const [form, setForm] = useState<Settings | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const save = useAction();
  useEffect(() => {
    if (saved.data) setForm(saved.data.settings as Settings);
  }, [saved.data]);

  if (!form) return <Loading error={saved.error} retry={saved.reload} />;
  const set = (key: keyof Settings, value: number | boolean) => {
    setNote(null);
    setForm({ ...form, [key]: value });
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    if (await save.run(() => request("put", "/api/correlation/settings", { body: form })))
      setNote("Saved: the next alert is grouped with these settings.");
  };
  return (
    <>
      <form onSubmit={submit} aria-labelledby="correlation-title">
        <h3 id="correlation-title" class="sr-only">
          Settings
        </h3>
        <div class="actions">
          <label class="check">
            <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.currentTarget.checked)} />
            Group related alerts into one incident
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={form.shadow_mode}
              onChange={(e) => set("shadow_mode", e.currentTarget.checked)}
            />
            Shadow mode (score and explain, but open a new incident for every alert)
          </label>
        </div>
        <div class="actions">
          {NUMBERS.map(([key, label, step]) => (
            <label key={key}>
              {label}
              <input
                type="number"
                step={step}
                value={form[key] as number}
                onInput={(e) => set(key, e.currentTarget.valueAsNumber)}
              />
            </label>
          ))}
        </div>
        <p class="muted">The three weights add up to 1.</p>
        <div class="actions">
          <button type="submit" disabled={save.busy}>
            Save correlation settings
          </button>
        </div>
        <ErrorText error={save.error} />
        {note && (
          <p class="notice" role="status">
            {note}
          </p>
        )}
      </form>
      <DryRunForm settings={form} />
    </>
  );
}

/** Replays a period's deliveries through `settings` and lists the alerts that would move. */
function DryRunForm({ settings }: { settings: Settings }) {
  const now = new Date();
  const [from, setFrom] = useState(local(new Date(now.getTime() - 24 * 3600_000)));
  const [to, setTo] = useState(local(new Date(now.getTime() + 60_000)));
  const [report, setReport] = useState<DryRun | null>(null);
  const { error, busy, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setReport(null);
    run(async () =>
      setReport(
        await request("post", "/api/correlation/dry-run", {
          body: { settings, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
        }),
      ),
    );
  };
  return (
    <section aria-labelledby="dry-run-title">
      <h3 id="dry-run-title">Dry run</h3>
      <p class="muted">
        Replays the alerts received in a period through the settings above, without saving them or changing
        any incident, and lists the alerts that would be grouped differently.
      </p>
      <form class="inline" onSubmit={submit}>
        <label>
          From
          <input type="datetime-local" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Try these settings
        </button>
      </form>
      <ErrorText error={error} />
      {busy && <p aria-busy="true">Replaying…</p>}
      {report && <DryRunReport report={report} />}
    </section>
  );
}

function DryRunReport({ report }: { report: DryRun }) {
  return (
    <div role="region" aria-label="Dry run result" data-testid="dry-run">
      <p>
        {plural(report.deliveries, "delivery", "deliveries")}{" "}
        with {plural(report.alerts, "alert")}: {plural(report.incidents_then, "incident")} then,{" "}
        <strong>{plural(report.incidents_would_be, "incident")} with these settings</strong>.
        {report.truncated && " The period held more deliveries than one dry run replays; shorten it."}
      </p>
      {report.changed.length === 0 ? (
        <p>No alert would be grouped differently.</p>
      ) : (
        <table>
          <caption>
            {plural(report.changed.length, "alert")} grouped differently
          </caption>
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">Received</th>
              <th scope="col">Grouped with then</th>
              <th scope="col">Would be grouped with</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {report.changed.map((c) => (
              <tr key={c.alert_id}>
                <td>
                  {c.title}
                  <div class="muted">{c.service}</div>
                </td>
                <td>
                  <When at={c.received_at} />
                </td>
                <td>{c.grouped_with_then.join(", ") || "alone"}</td>
                <td>{c.grouped_with_now.join(", ") || "alone"}</td>
                <td>{c.decision_now}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
