// Browser tests of errors shown in words against a real aurora (`aurora up`): every page, when
// what it loads is refused or fails, shows the API's own message (never a blank page, never
// "[object Object]", never "Loading…" for ever), and the chat says when its socket is refused,
// lost or answered with an error frame, and offers to reconnect or ask again.
//
//   node tests/errors.mjs <path to the aurora binary>
//
// Real errors first, from the real server: an incident that does not exist (404), someone else's
// conversation (404), an admin demoted while the page was open (403 on the organisation's admin
// reads), a session signed out elsewhere (401 on every page). Then, for each request each page
// makes as it loads (the list is checked against what the page really asks for), that one
// request answered 503 or 500 in the API's error shape (`{"error":{"code","message"}}`, through
// Playwright's routing): the page shows that message. Who is signed in failing (not a 401) is
// said, with Try again. Chat: the ticket refused (503), the socket refused by the server (a
// ticket it does not know), an open socket lost (code 1011), each said in words with Reconnect
// now, and the socket of a conversation deleted meanwhile refused (the API's 404 said, no more
// tries, Start a new chat); error frames: the model failing (LLM_ERROR, then Try again answers), the session deleted
// meanwhile (SESSION_NOT_FOUND, then Start a new chat). Screenshots go to test-artifacts/errors-*.png.
import { adminContext, adminPage, apiOf, fakeServer, grafanaAlert, openPage, pageIn, suite, until } from "./aurora.mjs";

const { check, accessible, shot, run } = suite();

// A model that answers every question at once, or — while `failing` — refuses with a 500.
const model = await failingModel();

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const NOBODY = "00000000-0000-4000-8000-000000000000";

const env = { LLM_BASE_URL: model.baseUrl, LLM_MODEL: "flaky-model", LLM_API_KEY: "test-key" };
await run({ env, took: "error checks", what: "error", closing: [model] }, async ({ url, browser }) => {
  const { context, page, api } = await adminPage(browser, url, "admin@acme.example");

  // Something on each page: an incident (from a Grafana alert) and a conversation.
  const grafana = await api("POST", "/api/integrations", { source: "grafana", name: "Grafana" });
  const delivered = await fetch(grafana.body.webhook_url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${grafana.body.secret}` },
    body: grafanaAlert("Checkout latency", "errors-1"),
  });
  check(delivered.status === 202, `an alert is accepted (${delivered.status})`);
  let incident = null;
  await until(async () => (incident = (await api("GET", "/api/incidents")).body?.items?.[0]) != null, 20000);
  check(incident != null, "the alert opened an incident");
  const conversation = (await api("POST", "/chat_api/sessions", { title: "Checkout questions" })).body;
  check(/^[0-9a-f-]{36}$/.test(conversation?.id ?? ""), `a conversation is started (${conversation?.id})`);

  /** Each page, its heading, and the requests it makes as it loads (paths, ids as {id}). The
   *  shell's /api/auth/me, the live stream and the chat's ticket are tested on their own. */
  const PAGES = [
    { path: "/", heading: "Incidents", loads: ["/api/incidents", "/api/integrations/sources"] },
    {
      path: `/incidents/${incident.id}`,
      heading: incident.title,
      loads: [
        "/api/incidents/{id}",
        "/api/incidents/{id}/events",
        "/api/incidents/{id}/similar",
        "/api/incidents/{id}/postmortem",
        "/api/incidents/{id}/postmortem/versions",
      ],
    },
    { path: "/chat", heading: "Chat", loads: ["/chat_api/sessions", "/api/chat/models"] },
    {
      path: `/chat/${conversation.id}`,
      heading: "Chat",
      loads: ["/chat_api/sessions", "/api/chat/models", "/chat_api/sessions/{id}"],
    },
    { path: "/integrations", heading: "Integrations", loads: ["/api/integrations", "/api/integrations/sources"] },
    { path: "/connectors", heading: "Connectors", loads: ["/api/connectors"] },
    { path: "/graph", heading: "Service graph", loads: ["/api/graph"] },
    { path: "/knowledge", heading: "Knowledge base", loads: ["/api/knowledge-base/documents"] },
    { path: "/metrics-and-usage", heading: "Metrics & usage", loads: ["/api/metrics/summary", "/api/llm-usage"] },
    {
      path: "/organization",
      heading: "Organisation",
      loads: [
        "/api/members",
        "/api/invitations",
        "/api/tokens",
        "/api/audit-log",
        "/api/correlation/settings",
        "/api/agent/policy",
      ],
    },
  ];
  const UNTESTED_HERE = new Set(["/api/auth/me", "/api/events/stream", "/api/ws-token"]);
  const pathOf = (requestUrl) => new URL(requestUrl).pathname.replace(UUID, "{id}");
  const isApi = (requestUrl) => /^\/(api|chat_api)\//.test(new URL(requestUrl).pathname);
  const heading = (p, name) => p.getByRole("heading", { name, exact: true, level: 1 });
  /** The page shows `message` in an alert, and nothing says [object Object]. */
  const says = async (p, message, ms = 10000) => {
    const shown = await until(async () => (await p.getByRole("alert").filter({ hasText: message }).count()) > 0, ms);
    const body = (await p.locator("body").textContent()) ?? "";
    return shown && !body.includes("[object Object]") && !body.includes("undefined");
  };
  /** Moves to `path` as a link in the page would (no reload: what was loaded stays). */
  const visit = (p, path) =>
    p.evaluate((to) => {
      history.pushState(null, "", to);
      dispatchEvent(new PopStateEvent("popstate"));
    }, path);

  // ---- What each page asks for as it loads is the list above (so no request goes untested).
  for (const { path, heading: name, loads } of PAGES) {
    const asked = new Set();
    const seen = (r) => isApi(r.url()) && asked.add(pathOf(r.url()));
    page.on("request", seen);
    await page.goto(`${url}${path}`);
    await heading(page, name).waitFor();
    await until(async () => loads.every((l) => asked.has(l)), 5000);
    await page.waitForTimeout(500);
    page.off("request", seen);
    const tested = [...asked].filter((a) => !UNTESTED_HERE.has(a));
    check(
      tested.every((a) => loads.includes(a)) && loads.every((l) => asked.has(l)),
      `${path} loads ${loads.join(", ")} (asked: ${tested.join(", ")})`,
    );
  }

  // ---- Real errors: an incident that does not exist.
  const missing = await api("GET", `/api/incidents/${NOBODY}`);
  check(missing.status === 404, `the API answers 404 for an incident that does not exist (${missing.status})`);
  await page.goto(`${url}/incidents/${NOBODY}`);
  check(await says(page, missing.body.error.message), `an incident that does not exist: "${missing.body.error.message}"`);
  check((await page.getByText("Loading…").count()) === 0, "…and no Loading… left on the page");
  await accessible(page, "an incident that does not exist");
  await shot(page, "errors-incident-404");

  // Someone else's conversation: not found, and no socket is opened for it.
  const { context: other, api: asGlobex } = await adminContext(browser, url, "admin@globex.example", "Globex");
  const theirs = (await asGlobex("POST", "/chat_api/sessions", { title: "Globex only" })).body;
  const notMine = await api("GET", `/chat_api/sessions/${theirs.id}`);
  check(notMine.status === 404, `the API answers 404 for someone else's conversation (${notMine.status})`);
  const sockets = [];
  const opened = (ws) => sockets.push(ws.url());
  page.on("websocket", opened);
  await page.goto(`${url}/chat/${theirs.id}`);
  check(await says(page, notMine.body.error.message), `someone else's conversation: "${notMine.body.error.message}"`);
  await page.waitForTimeout(1000);
  check(!sockets.some((s) => s.includes(theirs.id)), "no socket is opened for a conversation that cannot be read");
  page.off("websocket", opened);
  await other.close();

  // An admin demoted while their page is open: the organisation's admin reads answer 403.
  const invited = await api("POST", "/api/invitations", { email: "ops@acme.example", role: "admin" });
  const { context: opsContext, page: ops } = await openPage(browser);
  const joined = await opsContext.request.post(`${url}/api/auth/register`, {
    data: { email: "ops@acme.example", password: "another long password", invitation: invited.body.token },
  });
  check(joined.ok(), `the invited admin joins (${joined.status()})`);
  await ops.goto(`${url}/`);
  await heading(ops, "Incidents").waitFor();
  const opsId = (await api("GET", "/api/members")).body.items.find((m) => m.email === "ops@acme.example").user_id;
  const demoted = await api("PATCH", `/api/members/${opsId}`, { role: "viewer" });
  check(demoted.status === 200, `the admin is made a viewer while the page is open (${demoted.status})`);
  await ops.getByRole("link", { name: "Organisation" }).click();
  await heading(ops, "Organisation").waitFor();
  const asOps = apiOf(opsContext, url);
  let forbidden = 0;
  for (const path of PAGES.find((p) => p.path === "/organization").loads) {
    const answer = await asOps("GET", path);
    if (answer.status < 400) continue;
    if (answer.status === 403) forbidden++;
    check(await says(ops, answer.body.error.message), `demoted, ${path} answers ${answer.status}: "${answer.body.error.message}" is shown`);
  }
  check(forbidden >= 2, `the invitations and the audit log are refused to the demoted admin (${forbidden} refusals)`);
  await accessible(ops, "organisation (refused)");
  await shot(ops, "errors-organisation-403");
  await opsContext.close();

  // Signed out elsewhere: every page's reads answer 401, and each page says so.
  const { context: away, page: awayPage } = await openPage(browser);
  const signIn = await away.request.post(`${url}/api/auth/login`, {
    data: { email: "admin@acme.example", password: "a long enough password" },
  });
  check(signIn.ok(), `a second session signs in (${signIn.status()})`);
  await awayPage.goto(`${url}/`);
  await heading(awayPage, "Incidents").waitFor();
  const loggedOut = await away.request.post(`${url}/api/auth/logout`);
  check(loggedOut.ok(), `the session is signed out elsewhere (${loggedOut.status()})`);
  const unauthenticated = await apiOf(away, url)("GET", "/api/incidents");
  check(unauthenticated.status === 401, `its reads now answer 401 (${unauthenticated.status})`);
  // From "/" (already loaded) to every other page, then back to "/".
  for (const { path } of [...PAGES.slice(1), PAGES[0]]) {
    await visit(awayPage, path);
    check(await says(awayPage, unauthenticated.body.error.message), `signed out, ${path} says "${unauthenticated.body.error.message}"`);
  }
  await shot(awayPage, "errors-signed-out");
  await away.close();

  // ---- Each request of each page's load answered with an error in the API's shape.
  let n = 0;
  for (const { path, heading: name, loads } of PAGES) {
    for (const load of loads) {
      const status = n++ % 2 ? 500 : 503;
      const message =
        status === 503
          ? `the database is unavailable (while ${load} was read for this test)`
          : `internal error (while ${load} was read for this test)`;
      const matches = (u) => isApi(u.href) && pathOf(u.href) === load;
      const refuse = (route) =>
        route.fulfill({
          status,
          contentType: "application/json",
          headers: status === 503 ? { "retry-after": "1" } : {},
          body: JSON.stringify({ error: { code: status === 503 ? "unavailable" : "internal", message } }),
        });
      await page.route(matches, refuse);
      await page.goto(`${url}${path}`);
      const shown = await says(page, message);
      check(shown, `${path} with ${load} answering ${status}: the page says "${message}"`);
      if (!shown) await shot(page, `errors-failed-${path.replace(/\W+/g, "-")}-${load.replace(/\W+/g, "-")}`);
      check((await heading(page, name).count()) === 1 || path.startsWith("/incidents/"), `…and the page is still there (${name})`);
      await page.unroute(matches, refuse);
    }
  }
  // A failed load offers Try again, which loads it once the API answers.
  const failOnce = (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "unavailable", message: "the database is unavailable" } }),
    });
  const incidentsList = (u) => pathOf(u.href) === "/api/incidents";
  await page.route(incidentsList, failOnce);
  await page.goto(`${url}/`);
  check(await says(page, "the database is unavailable"), "the incident list says the database is unavailable");
  await accessible(page, "incidents (failed to load)");
  await shot(page, "errors-incidents-503");
  await page.unroute(incidentsList, failOnce);
  await page.getByRole("button", { name: "Try again" }).click();
  await page.locator(`tr[data-incident="${incident.id}"]`).waitFor();
  check(true, "Try again loads the list once the API answers");

  // Who is signed in cannot be read (not a 401): said, with Try again; not the sign-in form.
  const me = (u) => pathOf(u.href) === "/api/auth/me";
  await page.route(me, failOnce);
  await page.goto(`${url}/`);
  check(await says(page, "Aurora could not say who is signed in: the database is unavailable"), "who is signed in failing is said in words");
  check((await page.getByRole("button", { name: "Sign in" }).count()) === 0, "…and the sign-in form is not shown instead");
  await accessible(page, "who is signed in failed");
  await page.unroute(me, failOnce);
  await page.getByRole("button", { name: "Try again" }).click();
  await heading(page, "Incidents").waitFor();
  check(true, "Try again signs the page in once the API answers");

  // ---- The chat socket. Everything the status line says is kept, to read short-lived states.
  const watchStatus = (p) =>
    p.evaluate(() => {
      window.__said = [];
      const look = () => {
        const status = document.querySelector(".conversation [role=status]");
        const text = status?.textContent ?? "";
        if (text && window.__said[window.__said.length - 1] !== text) window.__said.push(text);
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
      look();
    });
  const statusSaid = (p, pattern) =>
    until(async () => (await p.evaluate(() => window.__said ?? [])).some((t) => pattern.test(t)), 10000);
  const ticket = (u) => pathOf(u.href) === "/api/ws-token";

  // The ticket refused: said with the API's words; Reconnect now connects once it answers.
  const ticketRefusal = "the ticket store is unavailable";
  const refuseTicket = (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      headers: { "retry-after": "1" },
      body: JSON.stringify({ error: { code: "unavailable", message: ticketRefusal } }),
    });
  await page.route(ticket, refuseTicket);
  await page.goto(`${url}/chat`);
  const status = page.locator(".conversation [role=status]");
  await status.filter({ hasText: `The chat could not connect: ${ticketRefusal}` }).waitFor();
  check(true, "a refused ticket is said in the API's words");
  check(/Reconnecting in \d+ s/.test(await status.textContent()), "…and when it tries again");
  check(await page.getByRole("button", { name: "Send" }).isDisabled(), "…and Send waits for the connection");
  await accessible(page, "chat (cannot connect)");
  await shot(page, "errors-chat-ticket-refused");
  // Once the next try is seconds away, Reconnect now is what connects.
  await status.filter({ hasText: /Reconnecting in (4|8|10) s/ }).waitFor();
  await page.unroute(ticket, refuseTicket);
  await page.getByRole("button", { name: "Reconnect now" }).click();
  await page.getByText("Connected.").waitFor();
  check(true, "Reconnect now connects once the ticket is given");

  // The socket refused by the server (a ticket it never gave): said, and it connects again.
  const unknownTicket = (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ token: "not-a-ticket" }) });
  await page.route(ticket, unknownTicket);
  await page.goto(`${url}/chat`);
  await watchStatus(page);
  check(await statusSaid(page, /The chat server refused the connection\. Reconnecting in \d+ s/), "a socket the server refuses is said in words");
  await page.unroute(ticket, unknownTicket);
  await page.getByText("Connected.").waitFor({ timeout: 20000 });
  check(true, "…and it connects by itself once tickets are good again");

  // An open socket lost with an error (code 1011): said with its code and reason; it reconnects.
  // (A page of its own: its sockets go through Playwright, which relays them to the server.)
  const lossy = await pageIn(context);
  const routed = [];
  await lossy.routeWebSocket(/\/ws\/chat/, (ws) => {
    ws.connectToServer();
    routed.push(ws);
  });
  await lossy.goto(`${url}/chat`);
  await lossy.getByText("Connected.").waitFor();
  await watchStatus(lossy);
  await lossy.route(ticket, refuseTicket);
  await routed[routed.length - 1].close({ code: 1011, reason: "the gateway failed" });
  check(
    await statusSaid(lossy, /The chat connection was lost \(code 1011: the gateway failed\)\. Reconnecting in \d+ s/),
    "a socket lost with an error says its code and reason",
  );
  const lossyStatus = lossy.locator(".conversation [role=status]");
  await lossyStatus.filter({ hasText: /Reconnecting in (4|8|10) s/ }).waitFor();
  await lossy.unroute(ticket, refuseTicket);
  await lossy.getByRole("button", { name: "Reconnect now" }).click();
  await lossy.getByText("Connected.").waitFor();
  check(true, "…and Reconnect now connects again");

  // The conversation deleted while its socket is down: the server refuses the socket for it, the
  // page asks the API why and says so, stops trying, and offers a new chat.
  const doomed = (await api("POST", "/chat_api/sessions", { title: "Soon deleted" })).body;
  await lossy.goto(`${url}/chat/${doomed.id}`);
  await lossy.getByText("Connected.").waitFor();
  check((await api("DELETE", `/chat_api/sessions/${doomed.id}`)).status === 204, "its conversation is deleted elsewhere");
  const doomedRead = await api("GET", `/chat_api/sessions/${doomed.id}`);
  const before = routed.length;
  await routed[routed.length - 1].close({ code: 1011, reason: "the gateway failed" });
  await lossyStatus.filter({ hasText: doomedRead.body.error.message }).waitFor();
  check(true, `the socket refused for a deleted conversation says "${doomedRead.body.error.message}"`);
  await lossy.waitForTimeout(2000);
  check(routed.length === before + 1, `…and stops trying (${routed.length - before} socket after the loss)`);
  check(
    await until(async () => (await lossy.getByRole("link", { name: "Soon deleted" }).count()) === 0),
    "…and the list no longer offers the deleted conversation",
  );
  await accessible(lossy, "chat (conversation gone)");
  await shot(lossy, "errors-chat-conversation-gone");
  await lossyStatus.getByRole("button", { name: "Start a new chat" }).click();
  await lossy.waitForURL(`${url}/chat`);
  await lossy.getByText("Connected.").waitFor();
  check(true, "…and Start a new chat connects a new conversation");
  await lossy.close();

  // Error frames. The model failing: the frame's words, then Try again asks again and answers.
  const frames = [];
  const listen = (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload)));
  page.on("websocket", listen);
  await page.goto(`${url}/chat`);
  await page.getByText("Connected.").waitFor();
  model.failing = true;
  await page.getByLabel("Your question").fill("Why is checkout slow?");
  await page.getByRole("button", { name: "Send" }).click();
  const errorFrame = async (code) => {
    let found = null;
    await until(async () => {
      found = frames.map((f) => JSON.parse(f)).find((f) => f.type === "error" && f.code === code) ?? null;
      return found !== null;
    }, 30000);
    return found;
  };
  const llmError = await errorFrame("LLM_ERROR");
  check(llmError !== null, `the server sends an error frame when the model fails: ${JSON.stringify(llmError)}`);
  const chatError = page.getByTestId("chat-error");
  check(
    llmError !== null && (await says(page, `${llmError.text} (LLM_ERROR)`)),
    `the page says the error frame's words: "${llmError?.text} (LLM_ERROR)"`,
  );
  await page.getByRole("button", { name: "Send" }).and(page.locator(":enabled")).waitFor();
  check(true, "…and the chat can be asked again (not answering for ever)");
  await accessible(page, "chat (the model failed)");
  await shot(page, "errors-chat-llm-error");
  model.failing = false;
  await chatError.getByRole("button", { name: "Try again" }).click();
  await page.getByTestId("answer").filter({ hasText: "Checkout is slow because of the database." }).waitFor({ timeout: 30000 });
  check((await chatError.count()) === 0, "Try again asks again, the answer arrives and the error is gone");

  // The session deleted meanwhile: the refusal's words, and Start a new chat.
  await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  const deleted = page.url().split("/").pop();
  check((await api("DELETE", `/chat_api/sessions/${deleted}`)).status === 204, "the conversation is deleted elsewhere");
  frames.length = 0;
  await page.getByLabel("Your question").fill("And the payments service?");
  await page.getByRole("button", { name: "Send" }).click();
  const gone = await errorFrame("SESSION_NOT_FOUND");
  check(gone !== null, `the server refuses the question with SESSION_NOT_FOUND: ${JSON.stringify(gone)}`);
  check(gone !== null && (await says(page, `${gone.text} (SESSION_NOT_FOUND)`)), `the page says "${gone?.text} (SESSION_NOT_FOUND)"`);
  check(await page.getByRole("button", { name: "Send" }).isEnabled(), "…and is not left answering");
  check(
    await until(async () => (await page.getByRole("link", { name: "Why is checkout slow?" }).count()) === 0),
    "…and the list no longer offers the deleted conversation",
  );
  await shot(page, "errors-chat-session-gone");
  await chatError.getByRole("button", { name: "Start a new chat" }).click();
  await page.waitForURL(`${url}/chat`);
  await page.getByText("Connected.").waitFor();
  check((await chatError.count()) === 0, "Start a new chat opens an empty conversation, connected");
  page.off("websocket", listen);

  // A reload of the deleted conversation: its read refused in words, and no socket loop.
  await page.goto(`${url}/chat/${deleted}`);
  const deletedRead = await api("GET", `/chat_api/sessions/${deleted}`);
  check(await says(page, deletedRead.body.error.message), `a deleted conversation says "${deletedRead.body.error.message}"`);
});

/** An OpenAI-compatible model streaming one answer to anything, or answering 500 while `failing`. */
async function failingModel() {
  const state = { failing: false };
  const http = await fakeServer((req, res, body) => {
    if (state.failing) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "the model is overloaded", type: "server_error" } }));
      return;
    }
    const name = JSON.parse(body || "{}").model ?? "flaky-model";
    const chunk = (choices, usage) => ({
      id: "chatcmpl-errors",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: name,
      choices,
      ...(usage ? { usage } : {}),
    });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const c of [
      chunk([{ index: 0, delta: { role: "assistant", content: "Checkout is slow because of the database." }, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
      chunk([], { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 }),
    ])
      res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  return Object.assign(state, { baseUrl: `${http.url}/v1`, close: http.close });
}
