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
  const pm = current.data as (Version & { markdown?: string; latest_version?: number }) | null;
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
          <p class="muted" data-testid="postmortem-version">
            Version {pm.version} of {pm.latest_version} · {how(pm)} · <When at={pm.at} /> ·{" "}
            {/* The version shown is the one exported. */}
            <a
              href={`/api/incidents/${id}/postmortem.md${pm.version === pm.latest_version ? "" : `?version=${pm.version}`}`}
              download
            >
              Export as Markdown
            </a>
          </p>
          {versions.data && versions.data.versions.length > 1 && (
            // Labelled by id: a label wrapping a select would take its options into its name.
            <div class="field">
              <label for="postmortem-version">Version</label>
              <select
                id="postmortem-version"
                value={String(pm.version)}
                onChange={(e) => setVersion(Number(e.currentTarget.value))}
              >
                {versions.data.versions.map((v) => (
                  <option key={v.version} value={String(v.version)}>
                    {v.version}: {how(v as Version)}
                  </option>
                ))}
              </select>
            </div>
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

/** A version as the API describes it: how it came to be, by whom, when. */
type Version = {
  version?: number;
  change?: { kind?: string; base_version?: number; from_version?: number };
  by?: string | null;
  at?: string;
};

/** How a version came to be, in words: "edited by a@b on version 1", "restored from version 1". */
function how(v: Version): string {
  const kind = v.change?.kind ?? "written";
  const by = v.by ? ` by ${v.by}` : "";
  if (kind === "edited" && v.change?.base_version) return `edited${by} on version ${v.change.base_version}`;
  if (kind === "restored" && v.change?.from_version) return `restored${by} from version ${v.change.from_version}`;
  return `${kind}${by}`;
}

function absent(e: unknown): null {
  if (e instanceof ApiError && e.status === 404) return null;
  throw e;
}
