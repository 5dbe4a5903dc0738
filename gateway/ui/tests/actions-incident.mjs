// Browser tests of what a person does on an incident's page, against a real aurora (`aurora up`,
// a scripted model, a fake kubectl), each action checked twice: the page shows the new state, and
// the API says the same.
//
//   node tests/actions-incident.mjs <path to the aurora binary>
//
// The investigation's thoughts and its tool step with input and output → feedback (helpful, with
// a comment) → the analysis run again: a second run streams → a status change made through the
// API shows on the open page without a reload → the postmortem: edited, its versions listed, an
// earlier one restored, the shown one exported → one incident merged into another (both pages
// say so). Screenshots go to test-artifacts/actions-*.png.
import {
  KUBECONFIG,
  apiOf,
  axeChecker,
  checks,
  fakeKubectl,
  grafanaAlert,
  launchChromium,
  registerAdmin,
  screenshots,
  startAurora,
  until,
} from "./aurora.mjs";
import { sayThen, scriptedModel, text, tool } from "./llm.mjs";

const aurora = process.argv[2] ?? "../../target/debug/aurora";
const { check, fail, done } = checks();
const accessible = axeChecker(check);
const { shot, onFailure } = screenshots();

const THOUGHT = "I start with the pods of the shop namespace.";
const FIRST_DRAFT = "The checkout deploy crash-loops its pods.";
const model = await scriptedModel([
  {
    trigger: "Write the postmortem of incident",
    steps: [text("# Postmortem: Checkout latency high\n\n## Summary\n", "The first draft.\n\n## Root cause\n", `${FIRST_DRAFT}\n`)],
  },
  {
    // Slow enough (about 2 s a run) for the open page to show the run before it ends.
    trigger: "Investigate incident",
    delay: 120,
    steps: [
      sayThen(["I start with the pods ", "of the shop namespace. "], tool("call-pods", "kubectl", { command: "kubectl -n shop get pods -o json" })),
      tool("call-finding", "record_finding", { text: "checkout-7 is in CrashLoopBackOff", citations: ["call-pods"] }),
      tool("call-conclude", "conclude", { conclusion: "confirmed", summary: FIRST_DRAFT }),
    ],
  },
]);
const kubectl = fakeKubectl();

let server;
let browser;
const started = Date.now();
try {
  server = await startAurora(aurora, {
    LLM_BASE_URL: model.baseUrl,
    LLM_MODEL: "scripted-model",
    LLM_API_KEY: "test-key",
    LLM_PRICES: "scripted-model=2/8",
    AURORA_TOOL_PATH: kubectl.toolPath,
  });
  const url = server.url;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await registerAdmin(context, url, "oncall@acme.example");
  const api = apiOf(context, url);

  // Arrange: a cluster the fake kubectl stands for, every alert its own incident, a Grafana source.
  const cluster = await api("POST", "/api/connectors/kubernetes", { settings: { context: "prod" }, credentials: { kubeconfig: KUBECONFIG } });
  check(cluster.status < 300, `a Kubernetes cluster is connected (${cluster.status} ${cluster.text})`);
  const grouping = await api("PUT", "/api/correlation/settings", { enabled: false });
  check(grouping.status === 200, `grouping is turned off: each alert opens its own incident (${grouping.status})`);
  const grafana = await api("POST", "/api/integrations", { source: "grafana", name: "Grafana prod" });
  const { webhook_url: webhook, secret } = grafana.body;
  const alert = (summary, fingerprint, service) =>
    fetch(webhook, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: grafanaAlert(summary, fingerprint, service),
    });
  /** The id of the incident titled `title`, once listed. */
  const incidentTitled = async (title) => {
    let id;
    await until(async () => {
      id = (await api("GET", "/api/incidents?limit=50")).body?.items?.find((i) => i.title === title)?.id;
      return Boolean(id);
    }, 15000);
    if (!id) throw new Error(`no incident titled ${title}`);
    return id;
  };
  const detail = async (id) => (await api("GET", `/api/incidents/${id}`)).body;

  check((await alert("Checkout p99 over 2 s", "actions-1", "checkout")).status === 202, "the alert is accepted");
  const id = await incidentTitled("Checkout p99 over 2 s");
  await page.goto(`${url}/incidents/${id}`);
  await page.getByRole("heading", { name: "Checkout p99 over 2 s" }).waitFor();

  // The investigation: its thought, then its kubectl step with what it ran and what it read.
  const rca = page.locator(".rca");
  await rca.locator(".steps li.thought", { hasText: THOUGHT }).waitFor({ timeout: 30000 });
  check(true, "the investigation's thought is shown as the model says it");
  await rca.locator(".badge-conclusion", { hasText: "confirmed" }).waitFor({ timeout: 30000 });
  const step = rca.locator(".steps li.tool", { hasText: "kubectl" });
  const toggle = step.getByRole("button", { name: "kubectl — succeeded" });
  check((await toggle.getAttribute("aria-expanded")) === "false", "a tool step starts folded");
  await toggle.click();
  check((await toggle.getAttribute("aria-expanded")) === "true", "opened, the tool step says it is expanded");
  const [input, output] = await step.locator("pre").allTextContents();
  check(/"command": "kubectl -n shop get pods -o json"/.test(input ?? ""), `the step's input is shown: ${input}`);
  check(/CrashLoopBackOff/.test(output ?? ""), `the step's output is shown: ${output}`);
  const run1 = (await detail(id)).rca;
  check(run1.thoughts.includes(THOUGHT), `the API holds the thought: ${JSON.stringify(run1.thoughts)}`);
  check(
    run1.tool_steps.some((s) => s.tool === "kubectl" && s.input.command === "kubectl -n shop get pods -o json" && /CrashLoopBackOff/.test(s.output)),
    "the API holds the step's input and output",
  );
  check(kubectl.calls().includes("kubectl -n shop get pods -o json"), "the agent really ran kubectl");
  await accessible(page, "incident (steps open)");
  await shot(page, "actions-investigation-steps");

  // Feedback: not helpful, and why; the page lists it, the API holds it on this run.
  const feedback = page.getByRole("group", { name: "Did the analysis help?" });
  await feedback.getByLabel("Why (optional)").fill("It missed the config change");
  await feedback.getByRole("button", { name: "No" }).click();
  const given = page.getByRole("list", { name: "Feedback on this analysis" });
  await given.filter({ hasText: "oncall@acme.example: it did not help — “It missed the config change”" }).waitFor();
  check(true, "the feedback given is shown on the page");
  const rated = (await detail(id)).rca.feedback;
  check(
    rated.length === 1 && rated[0].helpful === false && rated[0].comment === "It missed the config change" && rated[0].run === run1.run_id,
    `the API holds the feedback on run 1: ${JSON.stringify(rated)}`,
  );
  // Changed mind: helpful now; a person's later feedback replaces their earlier one.
  await feedback.getByLabel("Why (optional)").fill("The pods were the cause after all");
  await feedback.getByRole("button", { name: "Yes" }).click();
  await given.filter({ hasText: "it helped — “The pods were the cause after all”" }).waitFor();
  const rerated = (await detail(id)).rca.feedback;
  check(rerated.length === 1 && rerated[0].helpful === true, `a later feedback replaces the earlier one: ${JSON.stringify(rerated)}`);
  await accessible(page, "incident (feedback)");
  await shot(page, "actions-feedback");

  // Run the analysis again: a second run starts and streams on the open page.
  await page.getByRole("button", { name: "Run the analysis again" }).click();
  await rca.getByText(/^run 2 ·/).waitFor();
  const streaming = await rca.locator(".badge-conclusion").count();
  check(streaming === 0, "the second run shows while it runs, before any conclusion");
  await rca.locator(".badge-conclusion", { hasText: "confirmed" }).waitFor({ timeout: 30000 });
  const run2 = (await detail(id)).rca;
  check(
    run2.episode === 2 && run2.run_id !== run1.run_id && run2.status === "completed",
    `the API shows a second, completed run (episode ${run2.episode}, ${run2.status})`,
  );
  check(
    (await rca.locator(".steps li.tool", { hasText: "kubectl" }).count()) >= 1,
    "the second run's kubectl step is shown",
  );
  check(kubectl.calls().filter((c) => c === "kubectl -n shop get pods -o json").length === 2, "the second run ran kubectl again");
  await shot(page, "actions-rca-again");

  // A status change made elsewhere (the API, here) shows on the open page, with no reload.
  await page.evaluate(() => (window.stillThisPage = true));
  const changed = await api("PATCH", `/api/incidents/${id}`, { status: "resolved", reason: "rolled back" });
  check(changed.status === 200, `the incident is resolved through the API (${changed.status})`);
  await page.locator(".state-resolved").waitFor();
  await page.locator(".glance .badge-resolved").waitFor();
  check(await page.evaluate(() => window.stillThisPage === true), "the open page shows the new status without a reload");

  // The postmortem: written on resolve, shown live.
  const pmText = page.getByTestId("postmortem-text");
  await pmText.filter({ hasText: FIRST_DRAFT }).waitFor({ timeout: 30000 });
  const version = page.getByTestId("postmortem-version");
  check(/Version 1 of 1 · generated/.test(await version.textContent()), `the first version is the generated one: ${await version.textContent()}`);
  await shot(page, "actions-postmortem-generated");

  // Edit it.
  const EDITED = "# Postmortem: Checkout latency high\n\n## Summary\nEdited by the on-call: the deploy was rolled back.\n";
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  const box = page.getByLabel("Postmortem text (Markdown)");
  check((await box.inputValue()).includes(FIRST_DRAFT), "the editor starts from the version shown");
  await box.fill(EDITED);
  await accessible(page, "incident (postmortem editor)");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await pmText.filter({ hasText: "Edited by the on-call" }).waitFor();
  await version.filter({ hasText: "Version 2 of 2 · edited by oncall@acme.example on version 1" }).waitFor();
  const latest = (await api("GET", `/api/incidents/${id}/postmortem`)).body;
  check(latest.version === 2 && latest.markdown === EDITED, `the API's latest version is the edit (version ${latest.version})`);

  // The versions, listed with how each came to be; an earlier one shown, then restored.
  const picker = page.getByLabel("Version", { exact: true });
  const options = await picker.locator("option").allTextContents();
  check(
    options.length === 2 && /^1: generated/.test(options[0]) && /^2: edited by oncall@acme\.example/.test(options[1]),
    `the versions are listed: ${options.join(" | ")}`,
  );
  await picker.selectOption("1");
  await pmText.filter({ hasText: FIRST_DRAFT }).waitFor();
  await version.filter({ hasText: "Version 1 of 2" }).waitFor();
  await shot(page, "actions-postmortem-version-1");
  // The export is the version shown.
  const exportOf = async () => {
    const href = await page.getByRole("link", { name: "Export as Markdown" }).getAttribute("href");
    const r = await page.request.get(`${url}${href}`);
    return { type: r.headers()["content-type"], disposition: r.headers()["content-disposition"], body: await r.text() };
  };
  const exportedV1 = await exportOf();
  check(
    /markdown/.test(exportedV1.type) && /-v1\.md/.test(exportedV1.disposition) && exportedV1.body.includes(FIRST_DRAFT),
    `the export of the version shown is version 1 (${exportedV1.disposition})`,
  );
  await page.getByRole("button", { name: "Restore this version" }).click();
  await version.filter({ hasText: "Version 3 of 3 · restored by oncall@acme.example from version 1" }).waitFor();
  check((await pmText.textContent()).includes(FIRST_DRAFT), "the restored text is shown");
  const versions = (await api("GET", `/api/incidents/${id}/postmortem/versions`)).body.versions;
  const restored = (await api("GET", `/api/incidents/${id}/postmortem`)).body;
  check(
    versions.length === 3 && versions[2].change.kind === "restored" && versions[2].change.from_version === 1 && restored.markdown.includes(FIRST_DRAFT),
    `the API's latest version is version 1 restored: ${JSON.stringify(versions.map((v) => v.change))}`,
  );
  const exported = await exportOf();
  check(
    /-v3\.md/.test(exported.disposition) && exported.body === restored.markdown,
    `the export is the latest version's text (${exported.disposition})`,
  );
  await accessible(page, "incident (postmortem restored)");
  await shot(page, "actions-postmortem-restored");

  // Merge: two more incidents (no analysis: the source's setting is turned off first; a run
  // under way would be cancelled by the merge), the first merged into the second.
  const integration = (await api("GET", "/api/integrations")).body.items.find((i) => i.name === "Grafana prod");
  const quiet = await api("PATCH", `/api/integrations/${integration.id}`, { settings: { ...integration.settings, rca_on_new_incidents: false } });
  check(quiet.status === 200 && quiet.body.rca_on_new_incidents === false, `the source's new incidents are not analysed (${quiet.status})`);
  check((await alert("Payments error rate 5%", "actions-2", "payments")).status === 202, "a payments alert is accepted");
  check((await alert("Payments queue backlog", "actions-3", "payments-worker")).status === 202, "a second payments alert is accepted");
  const source = await incidentTitled("Payments error rate 5%");
  const target = await incidentTitled("Payments queue backlog");
  check(source !== target, "the two alerts opened two incidents");
  await page.goto(`${url}/incidents/${source}`);
  await page.getByRole("heading", { name: "Payments error rate 5%" }).waitFor();
  await page.getByLabel("Merge into incident (id)").fill(target);
  await page.getByRole("button", { name: "Merge", exact: true }).click();
  const mergedNote = page.getByText("Merged into another incident.");
  await mergedNote.waitFor();
  await page.locator(".glance .badge-merged").waitFor();
  check((await page.getByRole("button", { name: "Merge", exact: true }).count()) === 0, "a merged incident offers no actions");
  const merged = (await detail(source)).incident;
  check(merged.status === "merged" && merged.merged_into === target, `the API says the source is merged into the target (${merged.status})`);
  await shot(page, "actions-merged-source");
  await page.getByRole("link", { name: "another incident" }).click();
  await page.getByRole("heading", { name: "Payments queue backlog" }).waitFor();
  await page.getByRole("heading", { name: "Alerts (2)" }).waitFor();
  check(
    (await page.locator(".cards li", { hasText: "Payments error rate 5%" }).count()) === 1,
    "the target's page lists the merged incident's alert",
  );
  const absorbed = await detail(target);
  check(
    absorbed.alerts.length === 2 && absorbed.alerts.some((a) => a.title === "Payments error rate 5%"),
    `the API's target holds both alerts (${absorbed.alerts.length})`,
  );
  await accessible(page, "incident (merge target)");
  await shot(page, "actions-merged-target");
} catch (e) {
  fail(e);
  await onFailure(browser);
} finally {
  await browser?.close().catch(() => {});
  await server?.stop();
  kubectl.remove();
  await model.close();
}
console.log(`\nincident actions took ${((Date.now() - started) / 1000).toFixed(1)} s`);
done("incident action");
