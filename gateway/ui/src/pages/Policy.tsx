// The agent's command policy: the regular expressions every command the agent would run is
// checked against — a denied one never runs; a non-empty allow list admits only what matches.
// Everyone sees it (it says what the agent may do); only admins change it.
import { useEffect, useState } from "preact/hooks";
import { request } from "../api/client";
import { ErrorText, Loading, useAction, useLoad } from "../ui";

/** One pattern a line; blank lines are not patterns. */
const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

export function Policy({ admin }: { admin: boolean }) {
  const saved = useLoad(() => request("get", "/api/agent/policy"), []);
  const [deny, setDeny] = useState("");
  const [allow, setAllow] = useState("");
  const [note, setNote] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  useEffect(() => {
    if (!saved.data) return;
    setDeny(saved.data.deny.join("\n"));
    setAllow(saved.data.allow.join("\n"));
  }, [saved.data]);

  if (!saved.data) return <Loading error={saved.error} retry={saved.reload} />;
  if (!admin) {
    const { deny, allow } = saved.data;
    return (
      <dl data-testid="policy">
        <dt>Never run (denied)</dt>
        <dd>{deny.length ? deny.map((p) => <code key={p}>{p} </code>) : "nothing denied"}</dd>
        <dt>Only run (allowed)</dt>
        <dd>{allow.length ? allow.map((p) => <code key={p}>{p} </code>) : "anything not denied"}</dd>
      </dl>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    const ok = await run(async () => {
      const now = await request("put", "/api/agent/policy", { body: { deny: lines(deny), allow: lines(allow) } });
      setDeny(now.deny.join("\n"));
      setAllow(now.allow.join("\n"));
    });
    if (ok) setNote("Saved: the agent's next command is checked against this policy.");
  };
  return (
    <form class="patterns" onSubmit={submit}>
      <p class="muted">
        Regular expressions, one a line, matched against each command the agent would run. Denied ones are
        checked first; when the allow list is not empty, only commands matching it run.
      </p>
      <label>
        Never run (denied patterns)
        <textarea rows={4} value={deny} onInput={(e) => setDeny(e.currentTarget.value)} />
      </label>
      <label>
        Only run (allowed patterns; empty allows anything not denied)
        <textarea rows={3} value={allow} onInput={(e) => setAllow(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button type="submit" disabled={busy}>
          Save the command policy
        </button>
      </div>
      <ErrorText error={error} />
      {note && (
        <p class="notice" role="status">
          {note}
        </p>
      )}
    </form>
  );
}
