// The chat socket (GET /ws/chat, SPEC §5): a ticket from /api/ws-token, then JSON frames both
// ways. The frames are the domain's (domain/src/chat/frames.rs); the socket reopens by itself
// with a new ticket, and names the session so a pending confirmation is sent again.
import { ApiError, request, type Schemas } from "./api/client";

export type ServerFrame =
  | { type: "status"; session_id: string; status: "START" | "END" }
  | {
      type: "message";
      session_id: string;
      message_id: string;
      text: string;
      is_chunk: boolean;
      is_complete: boolean;
    }
  | {
      type: "tool_call";
      session_id: string;
      tool_call_id: string;
      tool_name: string;
      input: unknown;
      status: string;
    }
  | {
      type: "tool_result";
      session_id: string;
      tool_call_id: string;
      tool_name: string;
      output: string;
      duration_ms: number;
    }
  | {
      type: "tool_error";
      session_id: string;
      tool_call_id: string;
      tool_name: string;
      error: string;
      duration_ms: number;
    }
  | {
      type: "execution_confirmation";
      session_id: string;
      confirmation_id: string;
      command: string;
      reason: string;
      expires_at: string;
    }
  | {
      type: "usage_info";
      session_id: string;
      model: string;
      input_tokens: number;
      output_tokens: number;
      estimated_cost: number;
    }
  | { type: "error"; session_id?: string; text: string; code: string };

export type ClientFrame =
  | { type: "query"; query: string; session_id?: string; mode: Schemas["ChatMode"]; model?: string }
  | { type: "confirmation_response"; confirmation_id: string; decision: "execute" | "cancel"; session_id: string }
  | { type: "control"; action: "cancel"; session_id: string };

/** `open`; `connecting`; `closed` (it reconnects by itself, or now with `reconnect()`);
 *  `failed` (it will not: the session is gone). */
export type SocketState = "connecting" | "open" | "closed" | "failed";

/** One chat socket that reopens when it drops, until `close()`. */
export class ChatSocket {
  private socket: WebSocket | null = null;
  private closed = false;
  private retry = 500;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private session: () => string | null,
    private onFrame: (frame: ServerFrame) => void,
    private onState: (state: SocketState, why?: string) => void,
  ) {
    void this.open();
  }

  private async open() {
    this.timer = null;
    this.onState("connecting");
    let token: string;
    try {
      token = (await request("get", "/api/ws-token")).token;
    } catch (e) {
      return this.dropped(`The chat could not connect: ${(e as Error).message}`);
    }
    if (this.closed) return;
    const params = new URLSearchParams({ token });
    const session = this.session();
    if (session) params.set("session_id", session);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/chat?${params}`);
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.retry = 500;
      this.onState("open");
    };
    socket.onmessage = (message) => {
      try {
        this.onFrame(JSON.parse(String(message.data)) as ServerFrame);
      } catch {
        /* not a frame: nothing to show */
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (opened) this.dropped(closedWords(event));
      else void this.refused(session);
    };
  }

  /** The handshake was refused, and the browser does not say why. The one refusal that does not
   *  pass by itself is a session that is gone (deleted, or not the caller's): the API says so. */
  private async refused(session: string | null) {
    if (session) {
      try {
        await request("get", "/chat_api/sessions/{id}", { params: { path: { id: session } } });
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return this.fail(e.message);
      }
    }
    this.dropped("The chat server refused the connection.");
  }

  private dropped(why: string) {
    this.socket = null;
    if (this.closed) return;
    this.onState("closed", `${why} Reconnecting in ${Math.round(this.retry / 1000) || 1} s…`);
    this.timer = setTimeout(() => void this.open(), this.retry);
    this.retry = Math.min(this.retry * 2, 10_000);
  }

  private fail(why: string) {
    if (this.closed) return;
    this.onState("failed", why);
  }

  /** Reconnects now instead of waiting for the next try. */
  reconnect() {
    // Only while waiting for the next try (not while a try is under way).
    if (this.closed || !this.timer) return;
    clearTimeout(this.timer);
    this.retry = 500;
    void this.open();
  }

  /** Sends a frame; false when the socket is not open (the caller says so). */
  send(frame: ClientFrame): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }
}

/** Why an open socket closed, in words: the server's reason when it gave one. */
function closedWords(event: CloseEvent): string {
  const reason = event.reason ? `: ${event.reason}` : "";
  // 1000 (normal) and 1001 (going away: the server restarting) are not errors.
  if (event.code === 1000 || event.code === 1001) return `The chat connection closed${reason}.`;
  return `The chat connection was lost (code ${event.code}${reason}).`;
}
