// What the conversation says about itself: the socket and the run (the status line, with
// Reconnect now or Start a new chat when the socket is down), an error frame with what may help
// (Try again, Start a new chat), and the confirmation a destructive command waits for.
import { useEffect, useRef } from "preact/hooks";
import type { ClientFrame, SocketState } from "../chat";
import { ErrorText, When } from "../ui";

export type Pending = { confirmation_id: string; command: string; reason: string; expires_at: string };
/** An `error` frame: its words and code, and the question to send again when that may help. */
export type Refused = { text: string; code: string; again: ClientFrame | null };
/** Codes of errors that may pass: the question can be sent again as it was. */
export const PASSING = new Set(["LLM_ERROR", "UNAVAILABLE", "INTERRUPTED", "RATE_LIMITED"]);

/** The socket's state and the run's, in words; a way out when the socket is down. */
export function Status({
  link,
  running,
  stop,
  onReconnect,
  onNew,
}: {
  link: { state: SocketState; why?: string };
  running: boolean;
  stop: "stopping" | "stopped" | null;
  onReconnect: () => void;
  onNew: () => void;
}) {
  return (
    <p class={link.state === "closed" || link.state === "failed" ? "error" : "muted"} role="status">
      {link.state !== "open"
        ? (link.why ?? "Connecting…")
        : running
          ? stop === "stopping"
            ? "Stopping…"
            : "Answering…"
          : stop === "stopped"
            ? "Stopped: the answer so far is kept."
            : "Connected."}
      {link.state === "closed" && (
        <>
          {" "}
          <button type="button" onClick={onReconnect}>
            Reconnect now
          </button>
        </>
      )}
      {link.state === "failed" && (
        <>
          {" "}
          <button type="button" onClick={onNew}>
            Start a new chat
          </button>
        </>
      )}
    </p>
  );
}

/** An error frame's words and code, with Try again when it may pass and a new chat when the
 *  session is gone. */
export function Refusal({
  refused,
  canAsk,
  onAgain,
  onNew,
}: {
  refused: Refused;
  canAsk: boolean;
  onAgain: () => void;
  onNew: () => void;
}) {
  return (
    <div class="failed" data-testid="chat-error">
      <ErrorText error={`${refused.text} (${refused.code})`} />
      {refused.again && (
        <button type="button" disabled={!canAsk} onClick={onAgain}>
          Try again
        </button>
      )}
      {refused.code === "SESSION_NOT_FOUND" && (
        <button type="button" onClick={onNew}>
          Start a new chat
        </button>
      )}
    </div>
  );
}

/** The command waiting for a yes or no: a modal dialog, so the keyboard lands on it. */
export function Confirm({ pending, onAnswer }: { pending: Pending; onAnswer: (p: Pending, d: "execute" | "cancel") => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      aria-labelledby="confirm-title"
      aria-describedby="confirm-reason"
      onCancel={(e) => e.preventDefault()}
    >
      <h2 id="confirm-title">Run this command?</h2>
      <pre data-testid="confirm-command">{pending.command}</pre>
      <p id="confirm-reason">{pending.reason}</p>
      <p class="muted">
        Nothing runs until you answer; the question expires at <When at={pending.expires_at} />.
      </p>
      <div class="actions">
        <button type="button" onClick={() => onAnswer(pending, "execute")}>
          Approve and run
        </button>
        <button type="button" onClick={() => onAnswer(pending, "cancel")}>
          Refuse
        </button>
      </div>
    </dialog>
  );
}
