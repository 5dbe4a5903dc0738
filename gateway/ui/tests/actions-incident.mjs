// Browser tests of what a person does on an incident's page, against a real aurora (`aurora up`,
// a scripted model, a fake kubectl), each action checked twice: the page shows the new state, and
// the API says the same.
//
//   node tests/actions-incident.mjs <path to the aurora binary>
//
// The investigation's thoughts and its tool step with input and output → feedback (helpful, with
// a comment) → a comment → the analysis run again: a second run streams → a status change made
// through the API shows on the open page without a reload → the postmortem: edited, its versions
// listed, an earlier one restored, the shown one exported, written again → a merge into an
// incident that does not exist refused in the API's words → one incident merged into another
// (both pages say so) → an incident never analysed: its analysis asked for, then cancelled while
// it runs. Screenshots go to test-artifacts/actions-*.png.
import { KUBECONFIG, adminPage, fakeKubectl, grafanaAlert, suite, until } from "./aurora.mjs";
import { sayThen, scriptedModel, text, tool } from "./llm.mjs";

const { check, accessible, shot, run } = suite();

const THOUGHT = "I start with the pods of the shop namespace.";
const FIRST_DRAFT = "The checkout deploy crash-loops its pods.";
const model = await scriptedModel([
  {
    trigger: "Write the postmortem of incident",
    steps: [text("# Postmortem: Checkout latency high\n\n## Summary\n", "The first draft.\n\n## Root cause\n", `${FIRST_DRAFT}\n`)],
  },
  {
    // An investigation that takes about 10 s to its first step: the page cancels it before.
    trigger: "Search answers slowly",
    delay: 500,
    steps: [
      sayThen(
        Array.from({ length: 20 }, (_, i) => `Slow thought ${i + 1}. `),
        tool("call-slow", "kubectl", { command: "kubectl -n shop get pods -o json" }),
      ),
      tool("call-slow-end", "conclude", { conclusion: "confirmed", summary: "Never reached: cancelled first." }),
    ],
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

const env = { ...model.env, AURORA_TOOL_PATH: kubectl.toolPath };
await run({ env, took: "incident actions", what: "incident action", closing: [kubectl, model] }, async ({ url, browser }) => {
  const { context, page, api } = await adminPage(browser, url, "oncall@acme.example");

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
  // Its calls, tokens and cost as the API counts them (the page follows the run's events).
  let usage = "";
  const costed = await until(async () => {
    const u = (await detail(id)).rca.usage;
    usage = (await rca.getByText(/^run 1 ·/).textContent()) ?? "";
    const tokens = u.input_tokens + u.output_tokens;
    return u.cost_micros > 0 && usage.includes(`${u.model_calls} model calls · ${tokens} tokens · $${(u.cost_micros / 1_000_000).toFixed(4)}`);
  }, 10000);
  check(costed, `the investigation's calls, tokens and cost are the API's: ${usage}`);
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

  // A comment: listed with its author and time, the field emptied; the API holds it.
  await page.getByRole("textbox", { name: "Comment", exact: true }).fill("Rolling the checkout deploy back now");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const comments = page.getByRole("region", { name: "Comments" });
  await comments.getByText("Rolling the checkout deploy back now").waitFor();
  const noted = (await detail(id)).incident.comments;
  check(
    noted.length === 1 && noted[0].text === "Rolling the checkout deploy back now" && noted[0].author === "oncall@acme.example" &&
      (await comments.textContent()).includes("oncall@acme.example") &&
      (await page.getByRole("textbox", { name: "Comment", exact: true }).inputValue()) === "",
    `a comment is shown with its author and held by the API: ${JSON.stringify(noted)}`,
  );

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

  // A status change made elsewhere (the API, here) shows on the open page and in the open list,
  // with no reload; the timeline says who did it.
  const list = await context.newPage();
  await list.goto(`${url}/`);
  const row = list.locator(`tr[data-incident="${id}"]`);
  await row.locator(".badge-analyzed").waitFor();
  await list.evaluate(() => (window.stillThisPage = true));
  await page.evaluate(() => (window.stillThisPage = true));
  const changed = await api("PATCH", `/api/incidents/${id}`, { status: "resolved", reason: "rolled back" });
  check(changed.status === 200, `the incident is resolved through the API (${changed.status})`);
  await page.locator(".state-resolved").waitFor();
  await page.locator(".glance .badge-resolved").waitFor();
  check(await page.evaluate(() => window.stillThisPage === true), "the open page shows the new status without a reload");
  await row.locator(".badge-resolved").waitFor();
  check(await list.evaluate(() => window.stillThisPage === true), "the open incident list shows the new status without a reload");
  await list.close();
  const timeline = page.getByRole("region", { name: "Timeline" });
  await timeline.getByText(/Resolved by oncall@acme\.example/).waitFor();
  let told = [];
  const timed = await until(async () => {
    told = (await detail(id)).timeline.map((t) => t.description);
    const shown = (await timeline.locator("li").allTextContents()).map((t) => t.split(" — ").slice(1).join(" — "));
    return JSON.stringify(shown) === JSON.stringify(told);
  }, 10000);
  check(
    timed && told.some((t) => /^Resolved by oncall@acme\.example/.test(t)),
    `the timeline shows each entry the API has, the resolution among them: ${told.length} entries`,
  );

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
  // Write it again: the model writes a fourth version, listed as regenerated.
  await page.getByRole("button", { name: "Write it again" }).click();
  await version.filter({ hasText: /^Version 4 of 4 · regenerated/ }).waitFor({ timeout: 30000 });
  const rewritten = (await api("GET", `/api/incidents/${id}/postmortem/versions`)).body.versions;
  check(
    rewritten.length === 4 && rewritten[3].change.kind === "regenerated" && (await pmText.textContent()).includes(FIRST_DRAFT),
    `written again, the fourth version is the model's new text: ${JSON.stringify(rewritten.map((v) => v.change.kind))}`,
  );

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
  // Into an incident that does not exist: the API's refusal, in its own words, on the page.
  const nowhere = "00000000-0000-4000-8000-000000000000";
  const refusedMerge = await api("POST", `/api/incidents/${source}/merge`, { target_id: nowhere });
  await page.getByLabel("Merge into incident (id)").fill(nowhere);
  await page.getByRole("button", { name: "Merge", exact: true }).click();
  const mergeError = page.getByRole("region", { name: "Actions" }).getByRole("alert");
  await mergeError.waitFor();
  check(
    refusedMerge.status >= 400 && Boolean(refusedMerge.body?.error?.message) &&
      (await mergeError.textContent()) === refusedMerge.body.error.message,
    `a refused merge shows the API's words (${refusedMerge.status}): ${await mergeError.textContent()}`,
  );
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

  // An incident never analysed offers an analysis; once asked for, it can be cancelled while it runs.
  check((await alert("Search answers slowly", "actions-4", "search")).status === 202, "a search alert is accepted");
  const slow = await incidentTitled("Search answers slowly");
  await page.goto(`${url}/incidents/${slow}`);
  await page.getByRole("heading", { name: "Search answers slowly" }).waitFor();
  check((await detail(slow)).rca === null && (await rca.count()) === 0, "the new incident has no analysis");
  await page.getByRole("button", { name: "Analyse the root cause" }).click();
  await page.getByRole("button", { name: "Cancel the analysis" }).click();
  await rca.locator(".badge-cancelled").waitFor();
  const cancelled = (await detail(slow)).rca;
  check(
    cancelled.status === "cancelled" && cancelled.conclusion == null && (await rca.locator(".badge-conclusion").count()) === 0,
    `the analysis is cancelled before it concludes; the API says ${cancelled.status}`,
  );
  await page.getByRole("button", { name: "Run the analysis again" }).waitFor();
  check(true, "a cancelled analysis can be asked for again");
  await accessible(page, "incident (analysis cancelled)");
  await shot(page, "actions-rca-cancelled");
});
