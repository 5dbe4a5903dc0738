// Browser tests of the web UI against a real aurora (`aurora up`: its own nats-server, a fresh
// database on the test PostgreSQL), driven by playwright-core with Debian's Chromium.
//
//   node tests/flow.mjs <path to the aurora binary>
//
// The flow: register → connect a Kubernetes cluster → add a Grafana integration → a signed
// webhook sent from here → the incident appears live in the open list → open it → the
// investigation streams (a scripted model, tests/llm.mjs; a fake kubectl on the tools' PATH) and
// ends with a conclusion → chat in agent mode → a destructive command asks (and asks again after
// a reload) → approve → its result and the answer shown → another refused, never run → Stop
// during a long answer → rename and delete a conversation → resolve → the postmortem shown and
// exported → the time slider → the same alert again opens an incident naming the first as
// similar → the knowledge base: an upload and a search → correlation settings and their dry
// run, the agent's command policy (errors in words) → an integration's recent deliveries → a
// viewer sees no buttons it cannot use, and gives feedback on the analysis → the list's search
// and source filter on the server, the changes before an incident, the whole service graph
// explored, the metrics charts (tests/explore.mjs). axe-core runs on every page and fails the
// test on any serious or critical violation. Screenshots go to test-artifacts/.
import { KUBECONFIG, fakeKubectl, grafanaAlert, openPage, suite, until } from "./aurora.mjs";
import { explore } from "./explore.mjs";
import { scriptedModel, text, tool } from "./llm.mjs";

const { check, accessible, shot, run } = suite();

// The model: the postmortem, the chat's destructive command, the investigation (the first whose
// trigger the newest user message holds plays: the postmortem's record may quote the brief). The delay makes
// the investigation take a few seconds, so the open page shows it step by step.
const model = await scriptedModel([
  {
    trigger: "Write the postmortem of incident",
    steps: [
      text(
        "# Postmortem: Checkout latency high\n\n## Summary\nCheckout p99 went over 2 s.\n\n",
        "## Impact\nNot recorded.\n\n## Timeline\nAs recorded.\n\n",
        "## Root cause\nThe checkout deploy crash-loops its pods.\n\n## Resolution\nThe crashing pod was deleted.\n\n",
        "## Action items\n- [ ] Roll back the checkout deploy\n",
      ),
    ],
  },
  {
    trigger: "restart the crashing checkout pod",
    delay: 100,
    steps: [
      tool("call-delete", "kubectl", { command: "kubectl -n shop delete pod checkout-7" }),
      text("I deleted ", "checkout-7; ", "its deployment starts a fresh pod."),
    ],
  },
  {
    trigger: "delete the checkout cache pod",
    steps: [
      tool("call-cache", "kubectl", { command: "kubectl -n shop delete pod checkout-cache-0" }),
      text("Understood: ", "I left checkout-cache-0 as it is."),
    ],
  },
  {
    // A long answer (about 12 s): the flow presses Stop while it streams.
    trigger: "whole story of the checkout outage",
    delay: 300,
    steps: [text(...Array.from({ length: 40 }, (_, i) => `Part ${i + 1} of the story. `), "THE END.")],
  },
  {
    trigger: "Investigate incident",
    delay: 250,
    steps: [
      tool("call-pods", "kubectl", { command: "kubectl -n shop get pods -o json" }),
      tool("call-finding", "record_finding", { text: "checkout-7 is in CrashLoopBackOff", citations: ["call-pods"] }),
      tool("call-suggest", "suggest", {
        type: "mitigation",
        risk: "low",
        title: "Roll back the checkout deploy",
        action: "kubectl -n shop rollout undo deployment/checkout",
      }),
      tool("call-conclude", "conclude", { conclusion: "confirmed", summary: "The checkout deploy crash-loops its pods." }),
    ],
  },
]);
// A fake kubectl the agent finds on its tools' PATH: it logs each call and answers like the real one.
const kubectl = fakeKubectl();

const env = { ...model.env, AURORA_TOOL_PATH: kubectl.toolPath };
await run({ env, took: "the browser flow", what: "browser", closing: [kubectl, model] }, async ({ url, browser }) => {
  const { page: admin } = await openPage(browser);

  // Register.
  await admin.goto(`${url}/register`);
  await accessible(admin, "register");
  await admin.getByLabel("Email").fill("oncall@acme.example");
  await admin.getByLabel("Password").fill("a long enough password");
  await admin.getByLabel("Organisation name").fill("Acme");
  await admin.getByRole("button", { name: "Create an organisation" }).click();
  await admin.getByRole("heading", { name: "Incidents" }).waitFor();
  check(true, "registered and signed in");
  await accessible(admin, "incidents (empty)");

  // A bad sign-in shows the API's error in words.
  const other = await browser.newPage();
  await other.goto(`${url}/sign-in`);
  await other.getByLabel("Email").fill("oncall@acme.example");
  await other.getByLabel("Password").fill("wrong password");
  await other.getByRole("button", { name: "Sign in" }).click();
  const said = await other.getByRole("alert").textContent();
  check(/password|credential|email/i.test(said ?? ""), `a wrong password is said in words: ${said}`);
  await other.close();

  // Connect the Kubernetes cluster the fake kubectl stands for (only connected CLIs are offered).
  await admin.getByRole("link", { name: "Connectors" }).click();
  await admin.getByText("Nothing connected").waitFor();
  await accessible(admin, "connectors");
  await admin.getByLabel("Kind").selectOption("kubernetes");
  await admin.getByLabel("context").fill("prod");
  await admin.getByLabel("kubeconfig").fill(KUBECONFIG);
  await admin.getByRole("button", { name: "Connect" }).click();
  await admin.locator(".cards li", { hasText: "kubernetes" }).waitFor();
  check(true, "a Kubernetes cluster connected from the connectors page");
  await shot(admin, "connectors");

  // Add a Grafana integration; the setup text holds the webhook URL and the secret.
  await admin.getByRole("link", { name: "Integrations" }).click();
  await admin.getByLabel("Source").selectOption("grafana");
  await admin.getByLabel("Name").fill("Grafana prod");
  const answered = admin.waitForResponse((r) => r.url() === `${url}/api/integrations` && r.request().method() === "POST");
  await admin.getByRole("button", { name: "Add integration" }).click();
  const created = await (await answered).json();
  const webhook = (await admin.getByTestId("webhook-url").textContent()).trim();
  const secret = (await admin.getByTestId("secret").textContent()).trim();
  check(webhook.startsWith(`${url}/webhooks/grafana/`), `the webhook URL to paste: ${webhook}`);
  // The setup text is the API's, word for word: the request to configure and each step.
  const setup = admin.getByRole("region", { name: "Set it up in the source" });
  const steps = await setup.locator("ol li").allTextContents();
  const setupText = (await setup.textContent()) ?? "";
  check(
    created.setup.steps.length > 0 &&
      JSON.stringify(steps) === JSON.stringify(created.setup.steps) &&
      setupText.includes(`${created.setup.method} ${created.setup.url}`) &&
      (!created.setup.header || setupText.includes(created.setup.header)),
    `the setup text is the API's: ${created.setup.method} ${created.setup.url}, ${steps.length} steps`,
  );
  await accessible(admin, "integrations");
  await shot(admin, "integrations");

  // The incident list is open; a webhook arrives; the incident appears without a reload.
  await admin.getByRole("link", { name: "Incidents" }).click();
  await admin.getByText("No incidents match").waitFor();
  /** A Grafana alert, signed with the integration's secret. */
  const alert = (summary, fingerprint) =>
    fetch(webhook, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: grafanaAlert(summary, fingerprint, "checkout", "Checkout latency high"),
    });
  const sent = Date.now();
  const delivery = await alert("Checkout p99 over 2 s", "ui-flow-1");
  check(delivery.status === 202, `the webhook is accepted (${delivery.status})`);
  const row = admin.getByRole("link", { name: /Checkout/ });
  await row.waitFor();
  console.log(`     webhook 202 → row visible: ${Date.now() - sent} ms`);
  check(true, "the incident appears live in the open list");
  await accessible(admin, "incidents");
  await shot(admin, "incidents");

  // Open it.
  await row.click();
  await admin.getByRole("heading", { name: /Checkout/ }).waitFor();
  await admin.getByRole("heading", { name: /Alerts \(1\)/ }).waitFor();
  check(await admin.getByText("The alert that opened this incident.").isVisible(), "the alert and why it is there");
  await admin.getByRole("region", { name: "Similar incidents" }).getByText("No other incident to compare it with yet.").waitFor();
  check(true, "the first incident has none to compare with, and says so");
  await accessible(admin, "incident");

  // The investigation streams: its kubectl step shows before its conclusion does.
  await admin.locator(".rca .steps li.tool", { hasText: "kubectl" }).waitFor({ timeout: 30000 });
  const concludedAlready = await admin.locator(".rca .badge-conclusion").count();
  check(concludedAlready === 0, "the investigation's first step shows while it still runs");
  await shot(admin, "incident-investigating");
  await admin.locator(".rca .badge-conclusion", { hasText: "confirmed" }).waitFor({ timeout: 30000 });
  await admin.getByText("The checkout deploy crash-loops its pods.").first().waitFor();
  await admin.getByText("checkout-7 is in CrashLoopBackOff").waitFor();
  check(true, "the investigation ends with its conclusion, summary and finding");
  const suggestion = admin.locator(".rca li", { hasText: "Roll back the checkout deploy" });
  await suggestion.waitFor();
  const suggested = (await suggestion.textContent()) ?? "";
  check(
    /low/.test(suggested) && /rollout undo deployment\/checkout/.test(suggested) && !suggested.includes("{"),
    `a suggestion shows its risk, title and command, not JSON: ${suggested}`,
  );
  const cited = (await admin.locator(".rca li", { hasText: "checkout-7 is in CrashLoopBackOff" }).textContent()) ?? "";
  check(/cites kubectl step call-pods/.test(cited), `a finding names the step it cites: ${cited}`);
  await accessible(admin, "incident (concluded)");
  await shot(admin, "incident");
  const incidentUrl = admin.url();

  // Chat in agent mode: a destructive command waits for a yes; the question survives a reload.
  await admin.getByRole("link", { name: "Chat" }).click();
  await admin.getByRole("heading", { name: "Chat" }).waitFor();
  await admin.getByText("Connected.").waitFor();
  await accessible(admin, "chat (empty)");
  await admin.getByLabel("Mode", { exact: true }).selectOption("agent");
  check((await admin.getByLabel("Model", { exact: true }).inputValue()) === "scripted-model", "the model picker offers the configured model");
  await admin.getByLabel("Your question").fill("Please restart the crashing checkout pod");
  await admin.getByRole("button", { name: "Send" }).click();
  const dialog = admin.getByRole("dialog", { name: "Run this command?" });
  await dialog.waitFor();
  check(
    (await admin.getByTestId("confirm-command").textContent()) === "kubectl -n shop delete pod checkout-7",
    "the destructive command asks before it runs",
  );
  check(!kubectl.calls().some((c) => c.includes("delete")), "nothing is deleted before the answer");
  await admin.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  await admin.reload();
  await dialog.waitFor();
  check(true, "the confirmation is asked again after a reload");
  await accessible(admin, "chat (confirmation)");
  await shot(admin, "chat-confirmation");
  await admin.getByRole("button", { name: "Approve and run" }).click();
  await admin.getByText(/kubectl — succeeded/).waitFor({ timeout: 30000 });
  await admin.getByTestId("answer").filter({ hasText: "I deleted checkout-7; its deployment starts a fresh pod." }).waitFor();
  check(kubectl.calls().includes("kubectl -n shop delete pod checkout-7"), "approved, the command ran once");
  await admin.getByText(/kubectl — succeeded/).click();
  check(/deleted/.test(await admin.getByTestId("tool-output").first().textContent()), "the command's result is shown");
  check(!/Usage: 0 input/.test(await admin.getByTestId("usage").textContent()), "the session's usage is shown");
  await admin.getByRole("link", { name: "Please restart the crashing checkout pod" }).waitFor();
  check(true, "the session is listed by its first question");
  // Refused, a command never runs; the model is told and answers.
  await admin.getByLabel("Your question").fill("Now delete the checkout cache pod");
  await admin.getByRole("button", { name: "Send" }).click();
  await dialog.waitFor();
  await admin.getByRole("button", { name: "Refuse" }).click();
  await admin.getByTestId("answer").filter({ hasText: "I left checkout-cache-0 as it is." }).waitFor({ timeout: 30000 });
  check(!kubectl.calls().some((c) => c.includes("checkout-cache-0")), "refused, the command never ran");
  await accessible(admin, "chat");
  await shot(admin, "chat");

  // Stop during a running answer: the answer stops growing and never reaches its end.
  await admin.getByRole("button", { name: "New chat" }).click();
  await admin.getByText("Connected.").waitFor();
  await admin.getByLabel("Your question").fill("Tell me the whole story of the checkout outage");
  await admin.getByRole("button", { name: "Send" }).click();
  const story = admin.getByTestId("answer").filter({ hasText: "Part 2 of the story." });
  await story.waitFor({ timeout: 30000 });
  await admin.getByRole("button", { name: "Stop" }).click();
  await admin.getByText("Stopped: the answer so far is kept.").waitFor({ timeout: 10000 });
  const stoppedAt = await story.textContent();
  await admin.waitForTimeout(2000);
  const later = await story.textContent();
  check(later === stoppedAt && !later.includes("THE END."), `Stop ends the running answer (${stoppedAt.length} characters kept)`);
  check((await admin.getByRole("button", { name: "Stop" }).count()) === 0, "no Stop button once stopped");
  await accessible(admin, "chat (stopped)");
  await admin.reload();
  await admin.getByTestId("answer").filter({ hasText: "Part 2 of the story." }).waitFor();
  check(!(await admin.locator(".messages").textContent()).includes("THE END."), "the stored answer is the part said before Stop");

  // Rename the open conversation, then delete it; the other one stays.
  await admin.getByRole("button", { name: "Rename" }).click();
  await admin.getByLabel("New title").fill("The stopped story");
  await accessible(admin, "chat (renaming)");
  await admin.getByRole("button", { name: "Save title" }).click();
  await admin.getByRole("link", { name: "The stopped story" }).waitFor();
  await admin.reload();
  await admin.getByRole("link", { name: "The stopped story" }).waitFor();
  check(true, "a conversation is renamed, and keeps its name after a reload");
  admin.once("dialog", (d) => d.accept());
  await admin.getByRole("button", { name: "Delete" }).click();
  await admin.getByRole("link", { name: "The stopped story" }).waitFor({ state: "detached" });
  check(
    (await admin.getByRole("link", { name: "Please restart the crashing checkout pod" }).count()) === 1,
    "a deleted conversation leaves the list; the other stays",
  );

  // Resolve; the postmortem is written and shown; the export downloads Markdown.
  await admin.goto(incidentUrl);
  await admin.getByRole("button", { name: "Resolve" }).click();
  await admin.locator(".state-resolved").waitFor();
  const text = admin.getByTestId("postmortem-text");
  await text.waitFor({ timeout: 30000 });
  await text.filter({ hasText: "Root cause" }).waitFor({ timeout: 30000 });
  check(/crash-loops its pods/.test(await text.textContent()), "the model's postmortem is shown once resolved");
  const exported = await admin.evaluate(async (href) => {
    const r = await fetch(href);
    return { type: r.headers.get("content-type"), body: await r.text() };
  }, await admin.getByRole("link", { name: "Export as Markdown" }).getAttribute("href"));
  check(/markdown/.test(exported.type ?? "") && exported.body.length > 20, "the postmortem exports as Markdown");
  await shot(admin, "incident-resolved");

  // As it was at: the slider's first stop shows the incident before it was resolved.
  const slider = admin.getByLabel("As it was at");
  await slider.waitFor();
  await slider.focus();
  await admin.keyboard.press("Home");
  await admin.getByText("Showing the incident as it was at").waitFor();
  await admin.locator(".state-investigating").waitFor();
  check(true, "the time slider shows the incident before it resolved");
  await shot(admin, "incident-as-of");

  // The same trouble again, once the first is resolved: a new incident that names the first as similar.
  check((await alert("Checkout p99 over 2 s again", "ui-flow-2")).status === 202, "a second alert is accepted");
  await admin.getByRole("link", { name: "Incidents" }).click();
  await admin.getByRole("link", { name: "Checkout p99 over 2 s again" }).click();
  const similar = admin.getByRole("region", { name: "Similar incidents" });
  await similar.getByRole("link", { name: "Checkout p99 over 2 s", exact: true }).waitFor();
  // By meaning when the embedding model is installed (make deps-model), by title words otherwise.
  check(/(meaning|title words) [01]\.\d\d, service 1\.00/.test(await similar.textContent()), "the first incident is offered as similar, with why");
  await accessible(admin, "incident (similar)");
  await shot(admin, "incident-similar");

  // Metrics and organisation pages.
  await admin.getByRole("link", { name: "Metrics & usage" }).click();
  await admin.getByRole("heading", { name: "LLM usage" }).waitFor();
  await accessible(admin, "metrics");

  // The knowledge base: an upload is read, then found by a search.
  await admin.getByRole("link", { name: "Knowledge base" }).click();
  await admin.getByText("No documents yet.").waitFor();
  await admin.getByLabel(/^Document/).setInputFiles({
    name: "checkout-runbook.md",
    mimeType: "text/markdown",
    buffer: Buffer.from("# Checkout latency\n\nWhen checkout p99 is high, roll back the checkout deploy and watch the pods.\n"),
  });
  await admin.getByRole("button", { name: "Upload" }).click();
  await admin.getByTestId("status-checkout-runbook.md").filter({ hasText: "ready" }).waitFor({ timeout: 60000 });
  check(true, "an uploaded runbook is read and ready");
  await admin.getByLabel("Search the knowledge base").fill("roll back checkout");
  await admin.getByRole("button", { name: "Search", exact: true }).click();
  const hits = admin.getByRole("list", { name: "Search results" });
  await hits.waitFor();
  check(/checkout-runbook\.md/.test(await hits.textContent()), "a search finds the runbook");
  await accessible(admin, "knowledge base");
  await shot(admin, "knowledge");

  await admin.getByRole("link", { name: "Organisation" }).click();
  await admin.getByLabel("Email").fill("viewer@acme.example");
  await admin.getByRole("combobox", { name: /^Role/ }).selectOption("viewer");
  await admin.getByRole("button", { name: "Invite" }).click();
  const invitation = (await admin.getByRole("status").textContent()).match(/token (\S+)/)[1];
  await accessible(admin, "organisation");

  // Correlation settings: the API's refusal in words, a save that holds after a reload, the dry run.
  await admin.getByRole("heading", { name: "Correlation" }).waitFor();
  await admin.getByLabel("Similarity weight").fill("0.5");
  await admin.getByRole("button", { name: "Save correlation settings" }).click();
  const refused = await admin.getByRole("alert").filter({ hasText: "add up to 1" }).textContent();
  check(/topology_weight, time_weight and similarity_weight must add up to 1/.test(refused), `weights that do not add up are refused in words: ${refused}`);
  await admin.getByLabel("Topology weight").fill("0.2");
  await admin.getByRole("button", { name: "Save correlation settings" }).click();
  await admin.getByText("Saved: the next alert is grouped with these settings.").waitFor();
  await admin.reload();
  await admin.getByRole("heading", { name: "Correlation" }).waitFor();
  check((await admin.getByLabel("Similarity weight").inputValue()) === "0.5", "saved correlation settings are shown after a reload");
  // The dry run: with grouping off, each of the two alerts would be its own incident.
  await admin.getByLabel("Group related alerts into one incident").uncheck();
  await admin.getByRole("button", { name: "Try these settings" }).click();
  const dry = admin.getByRole("region", { name: "Dry run result" });
  await dry.waitFor({ timeout: 30000 });
  const dryText = await dry.textContent();
  check(/2 deliveries with 2 alerts: 2 incidents then, 2 incidents with these settings/.test(dryText), `the dry run replays both alerts: ${dryText}`);
  await accessible(admin, "organisation (dry run)");
  await admin.getByLabel("From", { exact: true }).fill("2030-01-02T00:00");
  await admin.getByLabel("To", { exact: true }).fill("2030-01-01T00:00");
  await admin.getByRole("button", { name: "Try these settings" }).click();
  const badPeriod = await admin.getByRole("alert").filter({ hasText: "must come after" }).textContent();
  check(/`to` must come after `from`/.test(badPeriod), `a backwards period is refused in words: ${badPeriod}`);

  // The agent's command policy: a pattern that does not compile is refused in words; a good one holds.
  const deny = admin.getByLabel("Never run (denied patterns)");
  await deny.fill("kubectl .* delete namespace\n(unclosed");
  await admin.getByRole("button", { name: "Save the command policy" }).click();
  const badPattern = await admin.locator("form.patterns [role=alert]").textContent();
  check(/unclosed|regex|pattern/i.test(badPattern), `a pattern that does not compile is refused in words: ${badPattern}`);
  await deny.fill("kubectl .* delete namespace");
  await admin.getByRole("button", { name: "Save the command policy" }).click();
  await admin.getByText("Saved: the agent's next command is checked against this policy.").waitFor();
  await admin.reload();
  await admin.getByRole("heading", { name: "The agent's command policy" }).waitFor();
  check(
    await until(async () => (await admin.getByLabel("Never run (denied patterns)").inputValue()) === "kubectl .* delete namespace"),
    "the command policy is saved and shown after a reload",
  );
  await accessible(admin, "organisation (settings)");
  await shot(admin, "organisation");

  // A viewer (phone-sized, dark): accepts the invitation, sees the incident, no buttons it cannot use.
  const { context: viewerContext, page: viewer } = await openPage(browser, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  await viewer.goto(`${url}/accept?token=${encodeURIComponent(invitation)}`);
  await viewer.getByLabel("Email").fill("viewer@acme.example");
  await viewer.getByLabel("Password").fill("another long password");
  await viewer.getByRole("button", { name: "Accept an invitation" }).click();
  await viewer.getByRole("heading", { name: "Incidents" }).waitFor();
  await viewer.goto(incidentUrl);
  await viewer.getByRole("heading", { name: /Checkout/ }).waitFor();
  // The only buttons: the investigation's steps to unfold, and the feedback's Yes and No (the API
  // takes feedback from any member); no resolve, merge, comment, analysis or postmortem edits.
  const rating = viewer.getByRole("group", { name: "Did the analysis help?" });
  await rating.waitFor();
  await viewer.getByTestId("postmortem-text").waitFor();
  const buttons = await viewer.locator("main button").allTextContents();
  const stepToggles = await viewer.locator(".rca .steps li.tool button").allTextContents();
  const others = buttons.filter((b) => !stepToggles.includes(b));
  check(
    stepToggles.length > 0 && JSON.stringify(others) === JSON.stringify(["Yes", "No"]),
    `a viewer sees no buttons it cannot use: the steps and the feedback only (${buttons.join(", ")})`,
  );
  check(
    (await viewer.getByRole("textbox", { name: "Comment", exact: true }).count()) === 0 && (await viewer.getByLabel("Merge into incident (id)").count()) === 0,
    "a viewer gets no comment or merge field",
  );
  // The viewer's feedback: shown on the page with their name, held by the API on the incident.
  await rating.getByLabel("Why (optional)").fill("Clear enough to act on");
  await rating.getByRole("button", { name: "Yes" }).click();
  await viewer
    .getByRole("list", { name: "Feedback on this analysis" })
    .filter({ hasText: "viewer@acme.example: it helped — “Clear enough to act on”" })
    .waitFor();
  const incidentId = incidentUrl.split("/").pop();
  const rated = (await (await viewer.request.get(`${url}/api/incidents/${incidentId}`)).json()).rca.feedback;
  check(
    rated.some((f) => f.by === "viewer@acme.example" && f.helpful === true && f.comment === "Clear enough to act on"),
    `a viewer gives feedback on the analysis, and the API holds it: ${JSON.stringify(rated)}`,
  );
  await accessible(viewer, "incident (viewer, phone, dark)");
  await shot(viewer, "incident-viewer-phone-dark");
  await viewer.goto(`${url}/connectors`);
  await viewer.locator(".cards li", { hasText: "kubernetes" }).waitFor();
  check(
    (await viewer.locator("main button").count()) === 0 && (await viewer.getByLabel("Kind").count()) === 0,
    "a viewer sees the connectors, and no form or button to change them",
  );
  await viewer.goto(`${url}/integrations`);
  await viewer.getByText("Grafana prod").waitFor();
  check((await viewer.getByRole("button", { name: /Rotate|Disable|Add integration/ }).count()) === 0, "a viewer cannot change integrations");
  // The integration's recent deliveries: both alerts, newest first, each with what it became.
  await viewer.getByText("Recent deliveries").click();
  const delivered = viewer.getByRole("table", { name: "Alerts Grafana prod delivered, newest first" });
  await delivered.waitFor();
  const deliveredRows = await delivered.locator("tbody tr").allTextContents();
  check(
    deliveredRows.length === 2 &&
      /Checkout p99 over 2 s again/.test(deliveredRows[0]) &&
      deliveredRows.every((r) => /opened an incident/.test(r)),
    `the integration lists what it delivered, newest first: ${deliveredRows.join(" | ")}`,
  );
  await accessible(viewer, "integrations (deliveries, viewer, phone, dark)");
  await viewer.goto(`${url}/chat`);
  await viewer.getByText("Connected.").waitFor();
  const modes = await viewer.getByLabel("Mode", { exact: true }).locator("option").allTextContents();
  check(modes.length === 1 && /Ask/.test(modes[0]), `a viewer's chat offers only the read-only mode (${modes.join(", ")})`);
  await accessible(viewer, "chat (viewer, phone, dark)");
  await shot(viewer, "chat-viewer-phone-dark");
  await viewer.goto(`${url}/organization`);
  await viewer.getByTestId("policy").filter({ hasText: "kubectl .* delete namespace" }).waitFor();
  check(
    (await viewer.getByRole("heading", { name: "Correlation" }).count()) === 0 &&
      (await viewer.getByRole("button", { name: /Save|Invite|Try/ }).count()) === 0,
    "a viewer sees the command policy, and no correlation settings or buttons to change them",
  );
  await accessible(viewer, "organisation (viewer, phone, dark)");
  await viewer.goto(`${url}/knowledge`);
  await viewer.getByText("checkout-runbook.md").waitFor();
  check((await viewer.getByRole("button", { name: /Upload|Delete/ }).count()) === 0, "a viewer cannot change the knowledge base");

  // The admin deletes the runbook; the list says so.
  await admin.getByRole("link", { name: "Knowledge base" }).click();
  admin.once("dialog", (d) => d.accept());
  await admin.getByRole("button", { name: "Delete checkout-runbook.md" }).click();
  await admin.getByText("No documents yet.").waitFor();
  check(true, "a document is deleted from the knowledge base");

  // The admin disconnects the cluster from its card; the page then says nothing is connected.
  await admin.getByRole("link", { name: "Connectors" }).click();
  const cluster = admin.locator(".cards li", { hasText: "kubernetes" });
  await cluster.getByRole("button", { name: "Disconnect" }).click();
  await admin.getByText("Nothing connected").waitFor();
  check((await cluster.count()) === 0, "a connector is disconnected from the connectors page");

  // Search and source filters on the server, the change before an incident, the whole service
  // graph explored, the metrics charts: tests/explore.mjs, once there is more to find.
  await explore({ page: admin, url, check, accessible, shot });

  // Unknown pages are the app's; unknown API paths keep their JSON 404.
  const api404 = await fetch(`${url}/api/nope`);
  check(api404.status === 404 && (await api404.json()).error?.code === "not_found", "/api/* keeps its JSON 404");
  const deep = await fetch(`${url}/incidents/00000000-0000-0000-0000-000000000000`);
  check(deep.status === 200 && (await deep.text()).includes('id="app"'), "a deep link gets the app");
});
