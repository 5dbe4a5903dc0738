// Feedback on the incident's current investigation: whether it helped and why (the API keeps
// each person's latest), and what each person said of it.
import { useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { ErrorText, When, useAction } from "../ui";

export function Feedback({ id, rca, onDone }: { id: string; rca: Schemas["RcaView"]; onDone: () => void }) {
  const { error, busy, run } = useAction();
  const [comment, setComment] = useState("");
  const send = (helpful: boolean) =>
    run(() =>
      request("post", "/api/incidents/{id}/feedback", {
        params: { path: { id } },
        body: { helpful, comment: comment.trim() || null },
      }),
    ).then((ok) => {
      if (!ok) return;
      setComment("");
      onDone();
    });
  return (
    <fieldset class="feedback">
      <legend>Did the analysis help?</legend>
      <label>
        Why (optional)
        <input value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      </label>
      <button type="button" disabled={busy} onClick={() => send(true)}>
        Yes
      </button>
      <button type="button" disabled={busy} onClick={() => send(false)}>
        No
      </button>
      {rca.feedback.length > 0 && (
        <ul aria-label="Feedback on this analysis" data-testid="feedback">
          {rca.feedback.map((f) => (
            <li key={f.by}>
              {f.by}: {f.helpful ? "it helped" : "it did not help"}
              {f.comment ? ` — “${f.comment}”` : ""} · <When at={f.at} />
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={error} />
    </fieldset>
  );
}
