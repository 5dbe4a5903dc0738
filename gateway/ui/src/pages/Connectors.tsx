// Connectors: the clouds and observability tools the agent may read. A form per kind (its
// settings and its credentials, which go to the secret store and are never shown again), each
// connector's status and last check, disconnect, and for GCP the projects the key reaches
// (enable / disable each, and the root project used when a command names none).
import { useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { isAdmin, useMe } from "../session";
import { Badge, ErrorText, Loading, When, useAction, useLoad } from "../ui";

type Kind = Schemas["ConnectorKind"];
/** What each kind asks for: settings (shown again) and credentials (secret), as the API says. */
const FORMS: Record<Kind, { settings: string[]; credentials: string[] }> = {
  gcp: { settings: [], credentials: ["service_account_key"] },
  aws: { settings: ["role_arn", "external_id", "region"], credentials: [] },
  azure: { settings: ["tenant_id", "client_id", "subscription_id"], credentials: ["client_secret"] },
  scaleway: { settings: ["access_key", "project_id", "region"], credentials: ["secret_key"] },
  tailscale: { settings: ["tailnet"], credentials: ["api_key"] },
  ovh: { settings: ["region"], credentials: ["client_id", "client_secret"] },
  kubernetes: { settings: ["context"], credentials: ["kubeconfig"] },
  datadog: { settings: ["site"], credentials: ["api_key", "application_key"] },
  newrelic: { settings: ["account_id", "region"], credentials: ["api_key"] },
  splunk: { settings: ["url"], credentials: ["token"] },
  sentry: { settings: ["organization"], credentials: ["token"] },
  grafana: { settings: ["url"], credentials: ["token"] },
  elasticsearch: { settings: ["url"], credentials: ["api_key"] },
};
const LONG = new Set(["service_account_key", "kubeconfig"]);
/** Settings the API reads as numbers (New Relic's account id). */
const NUMBERS = new Set(["account_id"]);

export function Connectors() {
  const me = useMe();
  // Every change of a source or an account is an admin's (the API answers 403 to others).
  const editable = isAdmin(me);
  const list = useLoad(() => request("get", "/api/connectors"), []);
  const [kind, setKind] = useState<Kind>("datadog");
  const [values, setValues] = useState<Record<string, string>>({});
  const { error, busy, run } = useAction();
  const form = FORMS[kind];
  const pick = (names: string[]) =>
    Object.fromEntries(
      names
        .filter((n) => values[n])
        .map((n) => [n, NUMBERS.has(n) && /^\d+$/.test(values[n].trim()) ? Number(values[n].trim()) : values[n]]),
    );
  const act = (action: () => Promise<unknown>) => run(action).then((ok) => ok && list.reload());
  return (
    <section>
      <h1>Connectors</h1>
      {editable && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            act(async () => {
              await request("post", "/api/connectors/{connector}", {
                params: { path: { connector: kind } },
                // Free-form objects in the document (their keys depend on the kind).
                // A kind without credentials (AWS: Aurora assumes the role) sends none.
                body: {
                  settings: pick(form.settings) as never,
                  credentials: (form.credentials.length ? pick(form.credentials) : undefined) as never,
                },
              });
              setValues({});
            });
          }}
        >
          <div class="inline">
            <label>
              Kind
              <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
                {Object.keys(FORMS).map((k) => (
                  <option key={k}>{k}</option>
                ))}
              </select>
            </label>
            {[...form.settings, ...form.credentials].map((name) => (
              <label key={name}>
                {name.replace(/_/g, " ")}
                {LONG.has(name) ? (
                  <textarea rows={4} value={values[name] ?? ""} onInput={(e) => setValues({ ...values, [name]: e.currentTarget.value })} />
                ) : (
                  <input
                    type={form.credentials.includes(name) ? "password" : "text"}
                    value={values[name] ?? ""}
                    onInput={(e) => setValues({ ...values, [name]: e.currentTarget.value })}
                  />
                )}
              </label>
            ))}
            <button type="submit" disabled={busy}>
              Connect
            </button>
          </div>
        </form>
      )}
      <ErrorText error={error} />
      {!list.data ? (
        <Loading error={list.error} retry={list.reload} />
      ) : list.data.items.length === 0 ? (
        <p>Nothing connected. The agent then runs only what needs no account.</p>
      ) : (
        <ul class="cards">
          {list.data.items.map((c) => (
            <li key={c.id}>
              <strong>{c.title}</strong> <Badge kind={c.status === "connected" ? "on" : "failing"}>{c.status}</Badge>
              <div class="muted">
                {c.kind} · connected <When at={c.connected_at} />
                {!c.last_check.ok && c.last_check.detail ? ` · last check: ${c.last_check.detail}` : ""}
              </div>
              {c.kind === "gcp" && c.projects.length > 0 && (
                <ul>
                  {c.projects.map((p) => (
                    <li key={p.project}>
                      {p.project} {p.enabled ? "(enabled)" : "(disabled)"}
                      {c.root_project === p.project && <Badge kind="on">root</Badge>}{" "}
                      {editable && (
                        <>
                          <button
                            type="button"
                            aria-label={`${p.enabled ? "Disable" : "Enable"} ${p.project}`}
                            disabled={busy}
                            onClick={() =>
                              act(() =>
                                request("put", "/api/connectors/{connector}/projects/{project}", {
                                  params: { path: { connector: c.id, project: p.project } },
                                  body: { enabled: !p.enabled },
                                }),
                              )
                            }
                          >
                            {p.enabled ? "Disable" : "Enable"}
                          </button>
                          {c.root_project !== p.project && (
                            <button
                              type="button"
                              aria-label={`Make root: ${p.project}`}
                              disabled={busy}
                              onClick={() =>
                                act(() =>
                                  request("put", "/api/connectors/{connector}/root-project", {
                                    params: { path: { connector: c.id } },
                                    body: { project: p.project },
                                  }),
                                )
                              }
                            >
                              Make root
                            </button>
                          )}
                        </>
                      )}
                    </li>
                  ))}
                </ul>
              )}
              {editable && (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    act(() => request("delete", "/api/connectors/{connector}", { params: { path: { connector: c.id } } }))
                  }
                >
                  Disconnect
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
