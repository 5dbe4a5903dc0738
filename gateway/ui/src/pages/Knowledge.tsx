// The knowledge base: runbooks and notes the agent searches. Upload (multipart), each
// document's status while it is read, chunked and embedded, delete, and search as the agent does.
import { useEffect, useState } from "preact/hooks";
import { ApiError, problem, request, type Schemas } from "../api/client";
import { canEdit, useMe } from "../session";
import { ErrorText, Loading, plural, useAction, useLoad, When } from "../ui";

/** The upload is multipart, which the JSON client does not speak. */
async function upload(file: File): Promise<Schemas["KnowledgeDocumentRow"]> {
  const form = new FormData();
  form.append("file", file, file.name);
  let response: Response;
  try {
    response = await fetch("/api/knowledge-base/documents", { method: "POST", body: form, credentials: "same-origin" });
  } catch {
    throw new Error(problem(null));
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(problem(body, response), response.status);
  return body as Schemas["KnowledgeDocumentRow"];
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function Knowledge() {
  const me = useMe();
  const editor = canEdit(me);
  const { data, error, reload } = useLoad(() => request("get", "/api/knowledge-base/documents"), []);
  const action = useAction();
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState<string | null>(null);

  // A document being read changes status on its own: look again until none is.
  const busy = data?.documents.some((d) => d.status === "uploading" || d.status === "processing");
  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(reload, 1000);
    return () => clearInterval(timer);
  }, [busy, reload]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setDone(null);
    if (await action.run(() => upload(file))) {
      setDone(`${file.name} is stored and being read.`);
      (e.target as HTMLFormElement).reset();
      setFile(null);
      reload();
    }
  };
  const remove = async (d: Schemas["KnowledgeDocumentRow"]) => {
    if (!confirm(`Delete ${d.filename}? The agent will no longer find it.`)) return;
    if (await action.run(() => request("delete", "/api/knowledge-base/documents/{id}", { params: { path: { id: d.id } } })))
      reload();
  };

  return (
    <section aria-labelledby="kb-title">
      <h1 id="kb-title">Knowledge base</h1>
      <p class="muted">Runbooks and notes the agent searches while it investigates and chats.</p>
      {editor && (
        <form class="inline" onSubmit={submit}>
          <label>
            Document (Markdown, text or PDF)
            <input
              type="file"
              accept=".md,.markdown,.txt,.text,.log,.pdf"
              onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            />
          </label>
          <button type="submit" disabled={!file || action.busy}>
            Upload
          </button>
        </form>
      )}
      {done && <p role="status">{done}</p>}
      <ErrorText error={action.error} />
      <Search />
      <h2>Documents</h2>
      {!data ? (
        <Loading error={error} retry={reload} />
      ) : data.documents.length === 0 ? (
        <p>No documents yet.</p>
      ) : (
        <>
          <p class="muted">
            {plural(data.usage.documents, "document")} · {size(data.usage.bytes)} of {size(data.usage.max_bytes)}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Size</th>
                <th scope="col">Uploaded</th>
                {editor && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {data.documents.map((d) => (
                <tr key={d.id}>
                  <td>{d.filename}</td>
                  <td>
                    <span class={`badge badge-${d.status}`} data-testid={`status-${d.filename}`}>
                      {d.status}
                    </span>
                    {d.status === "ready" && <span class="muted"> {plural(d.chunks, "passage")}</span>}
                    {d.reason && <span class="error"> {d.reason}</span>}
                  </td>
                  <td>{size(d.size_bytes)}</td>
                  <td>
                    <When at={d.created_at} />
                  </td>
                  {editor && (
                    <td>
                      <button type="button" onClick={() => remove(d)} aria-label={`Delete ${d.filename}`}>
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Search() {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<Schemas["SearchResults"] | null>(null);
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    await action.run(async () =>
      setResults(await request("post", "/api/knowledge-base/search", { body: { query, limit: 5 } })),
    );
  };
  return (
    <section aria-labelledby="kb-search">
      <h2 id="kb-search">Search</h2>
      <form class="inline" role="search" onSubmit={submit}>
        <label>
          Search the knowledge base
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={action.busy || !query.trim()}>
          Search
        </button>
      </form>
      <ErrorText error={action.error} />
      {results &&
        (results.hits.length === 0 ? (
          <p role="status">Nothing found.</p>
        ) : (
          <ol class="cards" aria-label="Search results">
            {results.hits.map((h) => (
              <li key={`${h.document_id}-${h.chunk}`}>
                <strong>{h.document}</strong>
                {h.heading && <span class="muted"> · {h.heading}</span>}
                <span class="muted"> · score {h.score.toFixed(2)}</span>
                <p>{h.snippet}</p>
              </li>
            ))}
          </ol>
        ))}
      {results && <p class="muted">Ranked by {results.ranked_by}.</p>}
    </section>
  );
}
