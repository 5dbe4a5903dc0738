// Chat: the caller's sessions (ChatSessions), and one conversation over the chat socket — the answer as it
// streams, each tool call and its result as they happen, the confirmation a destructive command
// waits for (asked again after a reload: the session's read model holds it), stop, the mode and
// the model, what it cost.
import { useEffect, useRef, useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { ChatSocket, type ClientFrame, type ServerFrame, type SocketState } from "../chat";
import { soon } from "../live";
import { navigate } from "../router";
import { canEdit, useMe } from "../session";
import { ErrorText, Loading, useLoad } from "../ui";
import { ChatSessions } from "./ChatSessions";
import { Confirm, PASSING, Refusal, Status, type Pending, type Refused } from "./ChatStatus";

type Item =
  | { kind: "message"; id: string; role: "user" | "assistant"; text: string; streaming: boolean }
  | {
      kind: "tool";
      id: string;
      name: string;
      input: unknown;
      status: string;
      output?: string | null;
      error?: string | null;
      duration?: number | null;
    };
type Totals = { input: number; output: number; cost: number };

export function Chat({ id }: { id: string | null }) {
  const sessions = useLoad(() => request("get", "/chat_api/sessions", { params: { query: { limit: 50 } } }), []);
  const [fresh, setFresh] = useState(0);
  // The session a new chat's first question started (the address names it without a navigation).
  const [started, setStarted] = useState<string | null>(null);
  const newChat = () => {
    navigate("/chat");
    setStarted(null);
    setFresh(fresh + 1);
  };
  return (
    <div class="chat">
      <ChatSessions id={id ?? started} sessions={sessions} onNew={newChat} />
      <Conversation key={id ?? `new-${fresh}`} id={id} onStarted={setStarted} onChanged={sessions.reload} onNew={newChat} />
    </div>
  );
}

/** Messages and tool calls of a stored session, in the order they happened. */
function itemsOf(detail: Schemas["SessionDetail"]): Item[] {
  const timed: [string, Item][] = [
    ...detail.messages.map((m): [string, Item] => [
      m.at,
      { kind: "message", id: m.message_id, role: m.role, text: m.text, streaming: false },
    ]),
    ...detail.tool_calls.map((t): [string, Item] => [
      t.started_at,
      {
        kind: "tool",
        id: t.tool_call_id,
        name: t.tool_name,
        input: t.input,
        status: t.status,
        output: t.output,
        error: t.error,
        duration: t.duration_ms,
      },
    ]),
  ];
  return timed.sort((a, b) => a[0].localeCompare(b[0])).map(([, item]) => item);
}

function Conversation({
  id,
  onStarted,
  onChanged,
  onNew,
}: {
  id: string | null;
  onStarted: (id: string) => void;
  onChanged: () => void;
  onNew: () => void;
}) {
  const me = useMe();
  const session = useRef<string | null>(id);
  const socket = useRef<ChatSocket | null>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [running, setRunning] = useState(false);
  // Stop was pressed: "stopping" until the run's end arrives, then "stopped".
  const [stop, setStop] = useState<"stopping" | "stopped" | null>(null);
  const [pending, setPending] = useState<Pending[]>([]);
  const [totals, setTotals] = useState<Totals>({ input: 0, output: 0, cost: 0 });
  const [error, setError] = useState<string | null>(null);
  const [refused, setRefused] = useState<Refused | null>(null);
  // The last question sent, and whether its run has not started yet (a refusal then ends it).
  const asked = useRef<{ frame: ClientFrame; started: boolean } | null>(null);
  // The question the newest run answered, sent again by "Try again" when the run failed.
  const lastQuestion = useRef<ClientFrame | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [link, setLink] = useState<{ state: SocketState; why?: string }>({ state: "connecting" });
  const [loaded, setLoaded] = useState(id === null);
  const [question, setQuestion] = useState("");
  const [mode, setMode] = useState<Schemas["ChatMode"]>("ask");
  const [model, setModel] = useState("");
  const models = useLoad(() => request("get", "/api/chat/models"), []);
  const editor = canEdit(me);

  useEffect(() => {
    if (models.data?.default && !model) setModel(models.data.default);
  }, [models.data]);

  // The stored session first, then the socket (which sends a pending confirmation again).
  useEffect(() => {
    if (!id) return;
    setError(null);
    request("get", "/chat_api/sessions/{id}", { params: { path: { id } } }).then(
      (d) => {
        setItems(itemsOf(d));
        setPending(d.pending_confirmations);
        setMode(d.mode);
        setTotals({
          input: d.totals.input_tokens,
          output: d.totals.output_tokens,
          cost: d.totals.cost_micros / 1e6,
        });
        setLoaded(true);
      },
      (e: Error) => setError(e.message),
    );
  }, [id, attempt]);

  // Opened once the session is read: a session that cannot be read is not watched either.
  useEffect(() => {
    if (!loaded) return;
    const s = new ChatSocket(
      () => session.current,
      onFrame,
      (state, why) => {
        setLink({ state, why });
        // The session is gone: the list should no longer offer it.
        if (state === "failed") onChanged();
      },
    );
    socket.current = s;
    return () => s.close();
  }, [loaded]);

  function onFrame(frame: ServerFrame) {
    const frameSession = frame.session_id;
    if (frameSession && session.current && frameSession !== session.current) return;
    if (frameSession && !session.current) {
      // The session the first question started: the address names it from now on.
      session.current = frameSession;
      history.replaceState(null, "", `/chat/${frameSession}`);
      onStarted(frameSession);
      onChanged();
    }
    switch (frame.type) {
      case "status":
        if (frame.status === "START" && asked.current) asked.current.started = true;
        setRunning(frame.status === "START");
        if (frame.status === "END") setStop((s) => (s ? "stopped" : null));
        // The list is a read model: it shows the answer a moment after the socket does.
        if (frame.status === "END") soon(onChanged);
        break;
      case "message":
        setItems((all) => {
          const at = all.findIndex((i) => i.kind === "message" && i.id === frame.message_id);
          const old = at >= 0 ? (all[at] as Item & { kind: "message" }) : null;
          const text = frame.is_chunk ? (old?.text ?? "") + frame.text : frame.text || old?.text || "";
          const item: Item = { kind: "message", id: frame.message_id, role: "assistant", text, streaming: !frame.is_complete };
          return at >= 0 ? all.map((i, n) => (n === at ? item : i)) : [...all, item];
        });
        break;
      case "tool_call":
        setItems((all) =>
          all.some((i) => i.kind === "tool" && i.id === frame.tool_call_id)
            ? all
            : [...all, { kind: "tool", id: frame.tool_call_id, name: frame.tool_name, input: frame.input, status: frame.status }],
        );
        break;
      case "tool_result":
      case "tool_error":
        setItems((all) => {
          const done = (i: Item): Item =>
            i.kind === "tool" && i.id === frame.tool_call_id
              ? {
                  ...i,
                  status: frame.type === "tool_result" ? "succeeded" : "failed",
                  output: frame.type === "tool_result" ? frame.output : null,
                  error: frame.type === "tool_error" ? frame.error : null,
                  duration: frame.duration_ms,
                }
              : i;
          return all.some((i) => i.kind === "tool" && i.id === frame.tool_call_id)
            ? all.map(done)
            : [...all, done({ kind: "tool", id: frame.tool_call_id, name: frame.tool_name, input: null, status: "" })];
        });
        break;
      case "execution_confirmation":
        setPending((all) => (all.some((p) => p.confirmation_id === frame.confirmation_id) ? all : [...all, frame]));
        break;
      case "usage_info":
        setTotals((t) => ({
          input: t.input + frame.input_tokens,
          output: t.output + frame.output_tokens,
          cost: t.cost + frame.estimated_cost,
        }));
        break;
      case "error": {
        // A refused question gets this frame alone, no run: it is not answering any more.
        const question = asked.current && !asked.current.started ? asked.current.frame : null;
        if (question) {
          asked.current = null;
          setRunning(false);
        }
        const again = PASSING.has(frame.code) ? (question ?? lastQuestion.current) : null;
        setRefused({ text: frame.text, code: frame.code, again });
        if (frame.code === "SESSION_NOT_FOUND") onChanged();
        break;
      }
    }
  }

  const ask = (frame: ClientFrame): boolean => {
    setError(null);
    setRefused(null);
    if (!socket.current?.send(frame)) {
      setError("The chat is not connected yet; try again in a moment.");
      return false;
    }
    asked.current = { frame, started: false };
    lastQuestion.current = frame;
    setStop(null);
    setRunning(true);
    return true;
  };

  const send = (e: Event) => {
    e.preventDefault();
    const text = question.trim();
    if (!text) return;
    const sent = ask({
      type: "query",
      query: text,
      session_id: session.current ?? undefined,
      mode,
      model: model || undefined,
    });
    if (!sent) return;
    setItems((all) => [...all, { kind: "message", id: `local-${all.length}`, role: "user", text, streaming: false }]);
    setQuestion("");
  };
  // The same question again, in the session it is now in.
  const askAgain = (frame: ClientFrame) =>
    ask(frame.type === "query" ? { ...frame, session_id: session.current ?? undefined } : frame);

  const answer = (p: Pending, decision: "execute" | "cancel") => {
    const sent = session.current
      ? socket.current?.send({ type: "confirmation_response", confirmation_id: p.confirmation_id, decision, session_id: session.current })
      : false;
    if (!sent) return setError("The chat is not connected; the answer was not sent. Try again.");
    setPending((all) => all.filter((q) => q.confirmation_id !== p.confirmation_id));
  };

  const stopRun = () => {
    const sent = session.current
      ? socket.current?.send({ type: "control", action: "cancel", session_id: session.current })
      : false;
    if (!sent) return setError("The chat is not connected; Stop was not sent. Try again.");
    setStop("stopping");
  };

  if (!loaded)
    return (
      <Loading
        error={error}
        retry={() => {
          setError(null);
          setAttempt((n) => n + 1);
        }}
      />
    );
  const noModel = models.data && models.data.models.length === 0;
  return (
    <section class="conversation" aria-label="Conversation">
      <Status link={link} running={running} stop={stop} onReconnect={() => socket.current?.reconnect()} onNew={onNew} />
      <ol class="messages" aria-live="polite">
        {items.map((item) =>
          item.kind === "message" ? (
            <li key={item.id} class={`msg msg-${item.role}`}>
              <span class="who-said">{item.role === "user" ? "You" : "Aurora"}</span>
              <p class="msg-text" data-testid={item.role === "assistant" ? "answer" : undefined}>
                {item.text}
                {item.streaming && <span class="muted"> …</span>}
              </p>
            </li>
          ) : (
            <li key={item.id} class="msg msg-tool">
              <details>
                <summary>
                  Tool <code>{item.name}</code> — {item.status || "running"}
                  {item.duration != null && ` (${item.duration} ms)`}
                </summary>
                <pre aria-label="Input">{JSON.stringify(item.input, null, 2)}</pre>
                {item.output != null && <pre data-testid="tool-output">{item.output}</pre>}
              </details>
              {item.error && <p class="error">{item.error}</p>}
            </li>
          ),
        )}
      </ol>
      <ErrorText error={error} />
      {refused && (
        <Refusal
          refused={refused}
          canAsk={!running && link.state === "open"}
          onAgain={() => refused.again && askAgain(refused.again)}
          onNew={onNew}
        />
      )}
      {pending[0] && <Confirm key={pending[0].confirmation_id} pending={pending[0]} onAnswer={answer} />}
      <p class="muted" data-testid="usage">
        Usage: {totals.input} input + {totals.output} output tokens · ${totals.cost.toFixed(4)}
      </p>
      <ErrorText error={models.error && `The models could not be listed: ${models.error}`} />
      {noModel && <p class="notice">No model is configured: set LLM_BASE_URL and LLM_MODEL to chat.</p>}
      <form onSubmit={send} class="ask">
        <label>
          Your question
          <textarea
            rows={3}
            value={question}
            onInput={(e) => setQuestion(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(e);
            }}
          />
        </label>
        <div class="actions">
          {/* Labelled by id: a label wrapping a select would take its options into its name. */}
          <div class="field">
            <label for="chat-mode">Mode</label>
            <select id="chat-mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as Schemas["ChatMode"])}>
              <option value="ask">Ask (read only)</option>
              {editor && <option value="agent">Agent (may change things, asks first)</option>}
            </select>
          </div>
          <div class="field">
            <label for="chat-model">Model</label>
            <select id="chat-model" value={model} onChange={(e) => setModel(e.currentTarget.value)}>
              {(models.data?.models ?? []).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" disabled={running || !!noModel || link.state !== "open"}>
            Send
          </button>
          {running && (
            <button type="button" onClick={stopRun} disabled={stop === "stopping"}>
              Stop
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
