// Webhook sources: add one (its exact setup text and webhook URL to paste into the tool), rotate
// its secret, turn it on or off, whether new incidents get a root-cause analysis, and what it
// delivered lately.
import { useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { isAdmin, useMe } from "../session";
import { Badge, ErrorText, Loading, useAction, useLoad } from "../ui";
import { Deliveries } from "./Deliveries";

type Created = Schemas["IntegrationCreated"] | Schemas["SecretRotated"];

export function Integrations() {
  const me = useMe();
  // Every change of a source or an account is an admin's (the API answers 403 to others).
  const editable = isAdmin(me);
  const list = useLoad(() => request("get", "/api/integrations"), []);
  const sources = useLoad(() => request("get", "/api/integrations/sources"), []);
  const [source, setSource] = useState("grafana");
  const [name, setName] = useState("");
  const [shown, setShown] = useState<Created | null>(null);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const { error, busy, run } = useAction();
  const act = (action: () => Promise<unknown>) => run(action).then((ok) => ok && list.reload());

  return (
    <section>
      <h1>Integrations</h1>
      {editable && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            act(async () => {
              setShown(await request("post", "/api/integrations", { body: { source, name } }));
              setName("");
            });
          }}
        >
          <label>
            Source
            <select value={source} onChange={(e) => setSource(e.currentTarget.value)}>
              {(sources.data?.items ?? []).map((s) => (
                <option key={s.name} value={s.name}>
                  {s.title}
                </option>
              ))}
            </select>
          </label>
          <label>
            Name
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={busy}>
            Add integration
          </button>
        </form>
      )}
      <ErrorText error={error ?? sources.error} />
      {shown && <SetupText created={shown} onClose={() => setShown(null)} />}
      {!list.data ? (
        <Loading error={list.error} retry={list.reload} />
      ) : list.data.items.length === 0 ? (
        <p>No sources yet.{editable ? " Add one above: the setup text says what to paste where." : ""}</p>
      ) : (
        <ul class="cards">
          {list.data.items.map((i) => (
            <li key={i.id} data-integration={i.id}>
              <strong>{i.name}</strong> <span class="muted">{i.source}</span>{" "}
              <Badge kind={i.enabled ? "on" : "off"}>{i.enabled ? "enabled" : "disabled"}</Badge>
              <div>
                Webhook URL: <code>{i.webhook_url}</code>
              </div>
              <div class="muted">Root-cause analysis of new incidents: {i.rca_on_new_incidents ? "on" : "off"}</div>
              {/* Loaded when opened: each open disclosure asks the API for its page. */}
              <details onToggle={(e) => setOpen({ ...open, [i.id]: e.currentTarget.open })}>
                <summary>Recent deliveries</summary>
                {open[i.id] && <Deliveries id={i.id} name={i.name} />}
              </details>
              {editable && (
                <p class="actions">
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      act(() =>
                        request("patch", "/api/integrations/{id}", {
                            params: { path: { id: i.id } },
                            body: { settings: { ...i.settings, enabled: !i.enabled } },
                          }),
                      )
                    }
                  >
                    {i.enabled ? "Disable" : "Enable"}
                  </button>
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      act(() =>
                        request("patch", "/api/integrations/{id}", {
                            params: { path: { id: i.id } },
                            body: {
                              settings: { ...i.settings, rca_on_new_incidents: !i.rca_on_new_incidents },
                            },
                          }),
                      )
                    }
                  >
                    {i.rca_on_new_incidents ? "Stop automatic analysis" : "Analyse new incidents"}
                  </button>
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      act(async () =>
                        setShown(
                          await request("post", "/api/integrations/{id}/rotate-secret", { params: { path: { id: i.id } } }),
                        ),
                      )
                    }
                  >
                    Rotate the secret
                  </button>
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** What to paste into the source tool, shown once after creating or rotating. */
function SetupText({ created, onClose }: { created: Created; onClose: () => void }) {
  const c = created as Record<string, unknown> & { setup?: Schemas["Setup"]; secret?: string | null };
  return (
    <section class="setup" aria-labelledby="setup" role="region">
      <h2 id="setup">Set it up in the source</h2>
      {typeof c.webhook_url === "string" && (
        <p>
          Webhook URL: <code data-testid="webhook-url">{c.webhook_url}</code>
        </p>
      )}
      {c.secret && (
        <p>
          Secret (shown once): <code data-testid="secret">{c.secret}</code>
        </p>
      )}
      {c.setup && (
        <>
          <p>
            {c.setup.method} {c.setup.url}
            {c.setup.header && (
              <>
                {" "}
                with header <code>{c.setup.header}</code>
                {c.setup.header_value && (
                  <>
                    : <code>{c.setup.header_value}</code>
                  </>
                )}
              </>
            )}
          </p>
          <ol>
            {c.setup.steps.map((s, i) => (
              <li key={i}>{s}</li>
            ))}
          </ol>
        </>
      )}
      <button type="button" onClick={onClose}>
        Done
      </button>
    </section>
  );
}
