// An incident's postmortem: the latest version (or an earlier one), edited on the version it was
// read at, restored, regenerated, and exported as Markdown.
import { useState } from "preact/hooks";
import { ApiError, request } from "../api/client";
import { soon, useLive } from "../live";
import { ErrorText, When, useAction, useLoad } from "../ui";

export function Postmortem({ id, resolved, editable }: { id: string; resolved: boolean; editable: boolean }) {
  const [version, setVersion] = useState<number | null>(null);
  const [draft, setDraft] = useState<string | null>(null);
  const { error: actionError, busy, run } = useAction();
  // 404: no postmortem yet.
  const current = useLoad(
    () =>
      request("get", "/api/incidents/{id}/postmortem", {
        params: { path: { id }, query: { version } },
      }).catch(absent),
    [id, version],
  );
  const versions = useLoad(
    () => request("get", "/api/incidents/{id}/postmortem/versions", { params: { path: { id } } }).catch(absent),
    [id],
  );
  useLive(
    (event) => {
      if (event.aggregatetype === "postmortem" || event.subject === id) {
        soon(current.reload);
        soon(versions.reload);
      }
    },
    [id],
  );
  const pm = current.data as (Record<string, unknown> & { markdown?: string; version?: number; latest_version?: number }) | null;
  const act = (action: () => Promise<unknown>) =>
    run(action).then((ok) => {
      if (ok) {
        setDraft(null);
        setVersion(null);
        current.reload();
        versions.reload();
      }
    });
  return (
    <section aria-labelledby="postmortem">
      <h2 id="postmortem">Postmortem</h2>
      <ErrorText error={current.error ?? versions.error} />
      {!pm ? (
        <p>{resolved ? "Being written…" : "Written once the incident is resolved."}</p>
      ) : (
        <>
          <p class="muted">
            Version {pm.version} of {pm.latest_version}
            {pm.created_at ? (
              <>
                {" "}
                · <When at={pm.created_at as string} />
              </>
            ) : null}{" "}
            · <a href={`/api/incidents/${id}/postmortem.md`} download>Export as Markdown</a>
          </p>
          {versions.data && versions.data.versions.length > 1 && (
            <label>
              Version
              <select
                value={String(pm.version)}
                onChange={(e) => setVersion(Number(e.currentTarget.value))}
              >
                {versions.data.versions.map((v) => (
                  <option key={v.version} value={String(v.version)}>
                    {v.version}
                  </option>
                ))}
              </select>
            </label>
          )}
          {draft === null ? (
            <pre class="markdown" data-testid="postmortem-text">
              {pm.markdown}
            </pre>
          ) : (
            <label>
              Postmortem text (Markdown)
              <textarea rows={16} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
            </label>
          )}
          {editable && (
            <p class="actions">
              {draft === null ? (
                <button type="button" onClick={() => setDraft(pm.markdown ?? "")}>
                  Edit
                </button>
              ) : (
                <>
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      act(() =>
                        request("put", "/api/incidents/{id}/postmortem", {
                            params: { path: { id } },
                            body: { markdown: draft, base_version: pm.version ?? 0 },
                          }),
                      )
                    }
                  >
                    Save
                  </button>
                  <button type="button" onClick={() => setDraft(null)}>
                    Discard
                  </button>
                </>
              )}
              {pm.version !== pm.latest_version && (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    act(() =>
                      request("post", "/api/incidents/{id}/postmortem/versions/{version}/restore", {
                          params: { path: { id, version: pm.version ?? 0 } },
                        }),
                    )
                  }
                >
                  Restore this version
                </button>
              )}
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  act(() => request("post", "/api/incidents/{id}/postmortem/regenerate", { params: { path: { id } } }))
                }
              >
                Write it again
              </button>
            </p>
          )}
        </>
      )}
      <ErrorText error={actionError} />
    </section>
  );
}

function absent(e: unknown): null {
  if (e instanceof ApiError && e.status === 404) return null;
  throw e;
}
