// A scripted OpenAI-compatible model for the browser flow, the same idea as tests/src/llm.rs:
// real HTTP, real server-sent events, real tool-call deltas, so aurora's own client runs.
//
// A script is chosen by the newest user message of a request (the first script whose trigger it
// contains); the step played is the number of assistant messages after that user message, so a
// tool call is followed by the next step once the agent sends the tool's result.
import { fakeServer } from "./aurora.mjs";

/** `{ text: [chunks] }` or `{ tool: [id, name, arguments] }`, or both: the text streamed, then
 *  the tool call (a model saying what it is about to do, then doing it). */
export const text = (...chunks) => ({ text: chunks });
export const tool = (id, name, args) => ({ tool: [id, name, args] });
export const sayThen = (chunks, call) => ({ text: chunks, tool: call.tool });

/** Starts the server; `scripts` is `[{ trigger, steps, delay }]` (delay: ms before each chunk).
 *  `env` points aurora at it as `scripted-model` (priced, so its calls cost something). */
export async function scriptedModel(scripts) {
  const requests = [];
  const server = await fakeServer(async (req, res, body) => {
    if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    const request = JSON.parse(body);
    requests.push(request);
    const messages = request.messages ?? [];
    let lastUser = -1;
    messages.forEach((m, i) => {
      if (m.role === "user") lastUser = i;
    });
    const question = lastUser >= 0 ? String(messages[lastUser].content ?? "") : "";
    const stepIndex = messages.slice(lastUser + 1).filter((m) => m.role === "assistant").length;
    const script = scripts.find((s) => question.includes(s.trigger));
    const step = script?.steps[stepIndex] ?? text(script ? "(the script has no more steps)" : "I have no script for that.");
    const model = request.model ?? "scripted";
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.socket?.setNoDelay(true);
    for (const c of chunks(step, model)) {
      if (script?.delay) await new Promise((r) => setTimeout(r, script.delay));
      res.write(`data: ${JSON.stringify(c)}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  });
  const baseUrl = `${server.url}/v1`;
  return {
    baseUrl,
    env: { LLM_BASE_URL: baseUrl, LLM_MODEL: "scripted-model", LLM_API_KEY: "test-key", LLM_PRICES: "scripted-model=2/8" },
    requests,
    close: server.close,
  };
}

function chunk(model, choices) {
  return { id: "chatcmpl-scripted", object: "chat.completion.chunk", created: 1_700_000_000, model, choices };
}

function chunks(step, model) {
  const out = [];
  if (step.text) {
    step.text.forEach((part, i) =>
      out.push(chunk(model, [{ index: 0, delta: i === 0 ? { role: "assistant", content: part } : { content: part }, finish_reason: null }])),
    );
    if (!step.tool) out.push(chunk(model, [{ index: 0, delta: {}, finish_reason: "stop" }]));
  }
  if (step.tool) {
    const [id, name, args] = step.tool;
    const json = JSON.stringify(args);
    const half = Math.floor(json.length / 2);
    if (!step.text) out.push(chunk(model, [{ index: 0, delta: { role: "assistant", content: null }, finish_reason: null }]));
    out.push(chunk(model, [{ index: 0, delta: { tool_calls: [{ index: 0, id, type: "function", function: { name, arguments: "" } }] }, finish_reason: null }]));
    for (const piece of [json.slice(0, half), json.slice(half)])
      out.push(chunk(model, [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, finish_reason: null }]));
    out.push(chunk(model, [{ index: 0, delta: {}, finish_reason: "tool_calls" }]));
  }
  const usage = chunk(model, []);
  usage.usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };
  out.push(usage);
  return out;
}
