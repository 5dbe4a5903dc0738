// The chat socket (GET /ws/chat, SPEC §5): a ticket from /api/ws-token, then JSON frames both
// ways. The frames are the domain's (domain/src/chat/frames.rs); the socket reopens by itself
// with a new ticket, and names the session so a pending confirmation is sent again.
import { request, type Schemas } from "./api/client";

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

export type SocketState = "connecting" | "open" | "closed";

/** One chat socket that reopens when it drops, until `close()`. */
export class ChatSocket {
  private socket: WebSocket | null = null;
  private closed = false;
  private retry = 500;

  constructor(
    private session: () => string | null,
    private onFrame: (frame: ServerFrame) => void,
    private onState: (state: SocketState, why?: string) => void,
  ) {
    void this.open();
  }

  private async open() {
    this.onState("connecting");
    let token: string;
    try {
      token = (await request("get", "/api/ws-token")).token;
    } catch (e) {
      return this.dropped((e as Error).message);
    }
    if (this.closed) return;
    const params = new URLSearchParams({ token });
    const session = this.session();
    if (session) params.set("session_id", session);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/chat?${params}`);
    this.socket = socket;
    socket.onopen = () => {
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
    socket.onclose = () => {
      if (this.socket === socket) this.dropped("The chat connection closed.");
    };
  }

  private dropped(why: string) {
    this.socket = null;
    if (this.closed) return;
    this.onState("closed", `${why} Reconnecting…`);
    setTimeout(() => void this.open(), this.retry);
    this.retry = Math.min(this.retry * 2, 10_000);
  }

  /** Sends a frame; false when the socket is not open (the caller says so). */
  send(frame: ClientFrame): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }
}
