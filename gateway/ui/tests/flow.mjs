// Browser tests of the web UI against a real aurora (`aurora up`: its own nats-server, a fresh
// database on the test PostgreSQL), driven by playwright-core with Debian's Chromium.
//
//   node tests/flow.mjs <path to the aurora binary>
//
// The flow: register → add a Grafana integration → a signed webhook sent from here → the
// incident appears live in the open list → open it → resolve → the postmortem shown and
// exported → the time slider → the service graph → a viewer sees no buttons it cannot use. axe-core runs on every page and
// fails the test on any serious or critical violation. Screenshots go to test-artifacts/.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const aurora = resolve(process.argv[2] ?? "../../target/debug/aurora");
const base = process.env.AURORA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432";
const artifacts = resolve("test-artifacts");
mkdirSync(artifacts, { recursive: true });
const axeSource = readFileSync(resolve("node_modules/axe-core/axe.min.js"), "utf8");

const port = await new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});
const url = `http://127.0.0.1:${port}`;
const db = `aurora_ui_${process.pid}`;
const data = mkdtempSync(join(tmpdir(), "aurora-ui-"));
execFileSync("psql", [`${base}/postgres`, "-qAtc", `CREATE DATABASE ${db}`]);
const server = spawn(aurora, ["up"], {
  env: {
    ...process.env,
    DATABASE_URL: `${base}/${db}`,
    AURORA_DATA_DIR: data,
    AURORA_LISTEN: `127.0.0.1:${port}`,
    RUST_LOG: "warn",
  },
  stdio: ["ignore", "ignore", "inherit"],
});
let browser;
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
};

async function cleanup() {
  await browser?.close().catch(() => {});
  server.kill("SIGINT");
  await new Promise((ok) => server.once("exit", ok).once("error", ok));
  try {
    execFileSync("psql", [`${base}/postgres`, "-qAtc", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]);
  } catch {}
  rmSync(data, { recursive: true, force: true });
}

async function ready() {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("aurora did not become ready in 120 s");
}

/** axe-core on the page: no serious or critical violation. */
async function accessible(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${name}: no serious accessibility violation ${bad.map((v) => v.id).join(" ")}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

try {
  await ready();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const admin = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  admin.setDefaultTimeout(15000);

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

  // Add a Grafana integration; the setup text holds the webhook URL and the secret.
  await admin.getByRole("link", { name: "Integrations" }).click();
  await admin.getByLabel("Source").selectOption("grafana");
  await admin.getByLabel("Name").fill("Grafana prod");
  await admin.getByRole("button", { name: "Add integration" }).click();
  const webhook = (await admin.getByTestId("webhook-url").textContent()).trim();
  const secret = (await admin.getByTestId("secret").textContent()).trim();
  check(webhook.startsWith(`${url}/webhooks/grafana/`), `the webhook URL to paste: ${webhook}`);
  await accessible(admin, "integrations");
  await shot(admin, "integrations");

  // The incident list is open; a webhook arrives; the incident appears without a reload.
  await admin.getByRole("link", { name: "Incidents" }).click();
  await admin.getByText("No incidents match").waitFor();
  const sent = Date.now();
  const delivery = await fetch(webhook, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({
      receiver: "aurora",
      status: "firing",
      version: "1",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "Checkout latency high", service: "checkout", severity: "critical" },
          annotations: { summary: "Checkout p99 over 2 s" },
          startsAt: new Date().toISOString(),
          endsAt: "0001-01-01T00:00:00Z",
          fingerprint: "ui-flow-1",
        },
      ],
    }),
  });
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
  await accessible(admin, "incident");
  await shot(admin, "incident");

  // Resolve; the postmortem is written and shown; the export downloads Markdown.
  await admin.getByRole("button", { name: "Resolve" }).click();
  await admin.locator(".state-resolved").waitFor();
  const text = admin.getByTestId("postmortem-text");
  await text.waitFor({ timeout: 30000 });
  check((await text.textContent()).length > 20, "the postmortem is shown once resolved");
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
  const incidentUrl = admin.url();

  // Metrics and organisation pages.
  await admin.getByRole("link", { name: "Metrics & usage" }).click();
  await admin.getByRole("heading", { name: "LLM usage" }).waitFor();
  await accessible(admin, "metrics");
  await shot(admin, "metrics");
  // The service graph: the alert's service is a node; picking it draws its neighbourhood.
  await admin.getByRole("link", { name: "Service graph" }).click();
  await admin.getByRole("button", { name: "checkout" }).click();
  await admin.getByRole("group", { name: /Neighbourhood of checkout/ }).waitFor();
  check(true, "the graph page draws a service's neighbourhood");
  await accessible(admin, "graph");
  await shot(admin, "graph");

  // Connectors: the page and its form per kind, nothing connected yet.
  await admin.getByRole("link", { name: "Connectors" }).click();
  await admin.getByText("Nothing connected").waitFor();
  await accessible(admin, "connectors");
  await shot(admin, "connectors");

  await admin.getByRole("link", { name: "Organisation" }).click();
  await admin.getByLabel("Email").fill("viewer@acme.example");
  await admin.getByRole("combobox", { name: /^Role/ }).selectOption("viewer");
  await admin.getByRole("button", { name: "Invite" }).click();
  const invitation = (await admin.getByRole("status").textContent()).match(/token (\S+)/)[1];
  await accessible(admin, "organisation");
  await shot(admin, "organisation");

  // A viewer (phone-sized, dark): accepts the invitation, sees the incident, no buttons it cannot use.
  const viewerContext = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  const viewer = await viewerContext.newPage();
  viewer.setDefaultTimeout(15000);
  await viewer.goto(`${url}/accept?token=${encodeURIComponent(invitation)}`);
  await viewer.getByLabel("Email").fill("viewer@acme.example");
  await viewer.getByLabel("Password").fill("another long password");
  await viewer.getByRole("button", { name: "Accept an invitation" }).click();
  await viewer.getByRole("heading", { name: "Incidents" }).waitFor();
  await viewer.goto(incidentUrl);
  await viewer.getByRole("heading", { name: /Checkout/ }).waitFor();
  const buttons = await viewer.locator("main button").allTextContents();
  check(
    !buttons.some((b) => /Resolve|Merge|Edit|analysis|Add/.test(b)),
    `a viewer sees no buttons it cannot use (${buttons.join(", ")})`,
  );
  await accessible(viewer, "incident (viewer, phone, dark)");
  await shot(viewer, "incident-viewer-phone-dark");
  await viewer.goto(`${url}/integrations`);
  await viewer.getByText("Grafana prod").waitFor();
  check((await viewer.getByRole("button", { name: /Rotate|Disable|Add integration/ }).count()) === 0, "a viewer cannot change integrations");

  // Unknown pages are the app's; unknown API paths keep their JSON 404.
  const api404 = await fetch(`${url}/api/nope`);
  check(api404.status === 404 && (await api404.json()).error?.code === "not_found", "/api/* keeps its JSON 404");
  const deep = await fetch(`${url}/incidents/00000000-0000-0000-0000-000000000000`);
  check(deep.status === 200 && (await deep.text()).includes('id="app"'), "a deep link gets the app");
} catch (e) {
  failures.push(String(e?.stack ?? e));
  for (const page of browser?.contexts().flatMap((c) => c.pages()) ?? [])
    await page.screenshot({ path: join(artifacts, `failure-${Date.now()}.png`) }).catch(() => {});
  console.error(e);
} finally {
  await cleanup();
}
if (failures.length) {
  console.error(`\n${failures.length} failed:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log("\nall browser checks passed; screenshots in test-artifacts/");
