// Pieces every page uses: a load-and-show hook, error and time display.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  // `reload` always loads with the newest `deps` (a live reload asked for before the filters or
  // the moment changed must not show the old ones), and only the newest load's answer is shown
  // (an older one may arrive after it).
  const newest = useRef(load);
  newest.current = load;
  const asked = useRef(0);
  const reload = useCallback(() => {
    const ticket = ++asked.current;
    newest.current().then(
      (d) => {
        if (ticket !== asked.current) return;
        setData(d);
        setError(null);
      },
      (e: Error) => {
        if (ticket === asked.current) setError(e.message);
      },
    );
  }, []);
  useEffect(reload, deps);
  return { data, error, reload };
}

export function ErrorText({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** "Loading…" until the answer, or what went wrong in words, with "Try again" when `retry` is given. */
export function Loading({ error, retry }: { error: string | null; retry?: () => void }) {
  if (!error) return <p aria-busy="true">Loading…</p>;
  return (
    <div class="failed">
      <ErrorText error={error} />
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function When({ at }: { at?: string | null }) {
  if (!at) return <span>—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString()}
    </time>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

/** Runs an action, showing its error in words; returns whether it succeeded. */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError((e as Error).message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

/** "1 message", "2 messages" ("1 delivery", "2 deliveries" when `many` is given). */
export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}
