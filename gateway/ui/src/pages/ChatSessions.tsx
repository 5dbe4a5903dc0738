// The caller's chat sessions: each opens its conversation; the open one can be renamed or
// deleted (its events stay in the log; it no longer lists or opens).
import { useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { navigate } from "../router";
import { ErrorText, Loading, plural, useAction, When } from "../ui";

type List = { data: Schemas["SessionList"] | null; error: string | null; reload: () => void };

export function ChatSessions({ id, sessions, onNew }: { id: string | null; sessions: List; onNew: () => void }) {
  const { error, busy, run } = useAction();
  const [renaming, setRenaming] = useState<string | null>(null);
  const [title, setTitle] = useState("");

  const rename = async (e: Event, s: Schemas["SessionSummary"]) => {
    e.preventDefault();
    const ok = await run(() =>
      request("patch", "/chat_api/sessions/{id}", { params: { path: { id: s.id } }, body: { title } }),
    );
    if (ok) {
      setRenaming(null);
      sessions.reload();
    }
  };
  const remove = async (s: Schemas["SessionSummary"]) => {
    if (!confirm(`Delete the conversation “${s.title}”? It can no longer be opened.`)) return;
    if (await run(() => request("delete", "/chat_api/sessions/{id}", { params: { path: { id: s.id } } }))) {
      if (s.id === id) onNew();
      sessions.reload();
    }
  };

  return (
    <nav aria-labelledby="sessions-title" class="sessions">
      <h1 id="sessions-title">Chat</h1>
      <button type="button" onClick={onNew}>
        New chat
      </button>
      <ErrorText error={error} />
      {!sessions.data ? (
        <Loading error={sessions.error} retry={sessions.reload} />
      ) : sessions.data.items.length === 0 ? (
        <p class="muted">No conversations yet.</p>
      ) : (
        <ul>
          {sessions.data.items.map((s) => (
            <li key={s.id}>
              {renaming === s.id ? (
                <form class="inline" onSubmit={(e) => rename(e, s)}>
                  <label>
                    New title
                    <input required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
                  </label>
                  <button type="submit" disabled={busy}>
                    Save title
                  </button>
                  <button type="button" onClick={() => setRenaming(null)}>
                    Cancel
                  </button>
                </form>
              ) : (
                <a href={`/chat/${s.id}`} aria-current={s.id === id ? "page" : undefined}>
                  {s.title}
                </a>
              )}
              <span class="muted">
                {" "}
                {s.mode} · {plural(s.message_count, "message")} · <When at={s.updated_at} />
              </span>
              {s.id === id && renaming !== s.id && (
                <span class="actions">
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() => {
                      setTitle(s.title);
                      setRenaming(s.id);
                    }}
                  >
                    Rename
                  </button>
                  <button type="button" disabled={busy} onClick={() => remove(s)}>
                    Delete
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
