// Browser tests of the settings pages' actions against a real aurora (`aurora up`), each action
// checked twice: the page shows the new state, and the API (or a webhook, a token) proves it.
//
//   node tests/actions-settings.mjs <path to the aurora binary>
//
// Integrations: a BigPanda source added, its secret rotated (deliveries signed with the old
// secret refused, with the new one accepted), disabled (deliveries refused) and enabled again,
// the automatic analysis of new incidents turned on (the next incident is analysed) and off (the
// next is not). Connectors: a GCP service-account key against a fake Google (token endpoint and
// Cloud Resource Manager, here in node): its projects listed, one disabled and enabled again, one
// made the root. Organisation: a member's role changed (their own session says so), an API token
// created (it works) and revoked (it is refused), the audit log showing each without a reload.
// Screenshots go to test-artifacts/settings-*.png.
import { generateKeyPairSync, verify } from "node:crypto";
import { adminPage, auroraSignature, fakeServer, grafanaAlert, suite, until } from "./aurora.mjs";
import { scriptedModel, tool } from "./llm.mjs";

const { check, accessible, shot, run } = suite();

// The analyses the RCA setting starts end at once (the model concludes on its first step).
const model = await scriptedModel([
  {
    trigger: "Investigate incident",
    steps: [tool("call-conclude", "conclude", { conclusion: "inconclusive", summary: "Nothing to read here." })],
  },
]);

// A fake Google: the token endpoint checks the key's RS256 assertion against the public half of
// the key made here; Cloud Resource Manager lists three projects to that token.
const GCP_PROJECTS = ["acme-prod", "acme-staging", "acme-sandbox"];
const keys = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const google = { assertions: 0, listings: 0 };
const gcp = await fakeServer((req, res, body) => {
  const answer = (status, json) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
  if (req.method === "POST" && req.url === "/token") {
    const jwt = new URLSearchParams(body).get("assertion") ?? "";
    const [header, claims, signature] = jwt.split(".");
    const signed =
      signature !== undefined &&
      verify("RSA-SHA256", Buffer.from(`${header}.${claims}`), keys.publicKey, Buffer.from(signature, "base64url"));
    if (!signed) return answer(400, { error: "invalid_grant", error_description: "bad assertion" });
    google.assertions++;
    return answer(200, { access_token: "fake-gcp-access-token", token_type: "Bearer", expires_in: 3600 });
  }
  if (req.method === "GET" && req.url.startsWith("/v1/projects")) {
    if (req.headers.authorization !== "Bearer fake-gcp-access-token") return answer(401, { error: { code: 401 } });
    google.listings++;
    return answer(200, { projects: GCP_PROJECTS.map((projectId) => ({ projectId, lifecycleState: "ACTIVE" })) });
  }
  answer(404, { error: { code: 404, message: `no ${req.method} ${req.url} here` } });
});
const SERVICE_ACCOUNT_KEY = JSON.stringify({
  type: "service_account",
  project_id: "acme-prod",
  private_key_id: "key-for-the-ui-tests",
  private_key: keys.privateKey,
  client_email: "aurora@acme-prod.iam.gserviceaccount.com",
  client_id: "1234567890",
  token_uri: `${gcp.url}/token`,
});

/** A BigPanda incident share; `n` makes each delivery its own incident. */
function bigPanda(n) {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    incident: {
      id: `ui-settings-${n}`,
      status: "critical",
      active: true,
      severity: "critical",
      start: now,
      incident_tags: [{ tag_id: "service", tag_value: "payments-db" }],
      alerts: [
        {
          id: `ui-settings-${n}-a`,
          status: "critical",
          start: now,
          primary_property: "host",
          secondary_property: "check",
          host: "pay-db-1",
          check: "Disk full",
          description: `Disk full on pay-db-1 (${n})`,
          source_system: "nagios.main",
        },
      ],
    },
  });
}

const env = { ...model.env, AURORA_GCP_BASE_URL: gcp.url };
await run({ env, took: "settings actions", what: "settings action", closing: [model, gcp] }, async ({ url, browser }) => {
  const { context, page, api } = await adminPage(browser, url, "admin@acme.example");
  const grouping = await api("PUT", "/api/correlation/settings", { enabled: false });
  check(grouping.status === 200, `grouping is turned off: each alert opens its own incident (${grouping.status})`);
  /** The incident titled `title` once listed (its detail), or null. */
  const incidentTitled = async (title) => {
    let found = null;
    await until(async () => {
      found = (await api("GET", "/api/incidents?limit=100")).body?.items?.find((i) => i.title === title) ?? null;
      return found !== null;
    }, 15000);
    return found && (await api("GET", `/api/incidents/${found.id}`)).body;
  };

  // ---- Integrations: add a BigPanda source; the setup shows its URL and secret once.
  await page.goto(`${url}/integrations`);
  await page.getByLabel("Source").selectOption("bigpanda");
  await page.getByLabel("Name").fill("BigPanda prod");
  await page.getByRole("button", { name: "Add integration" }).click();
  const webhook = (await page.getByTestId("webhook-url").textContent()).trim();
  const first = (await page.getByTestId("secret").textContent()).trim();
  check(webhook.startsWith(`${url}/webhooks/bigpanda/`), `the webhook URL to paste: ${webhook}`);
  let sent = 0;
  /** A delivery signed with `secret`: its status and body. */
  const deliver = async (secret) => {
    const body = bigPanda(++sent);
    const r = await fetch(webhook, {
      method: "POST",
      headers: { "content-type": "application/json", "x-aurora-signature": auroraSignature(secret, body) },
      body,
    });
    return { status: r.status, text: await r.text(), title: `Disk full on pay-db-1 (${sent})` };
  };
  check((await deliver(first)).status === 202, "a delivery signed with the secret is accepted");
  await page.getByRole("button", { name: "Done" }).click();
  const card = page.locator(".cards li", { hasText: "BigPanda prod" });
  await card.waitFor();
  await accessible(page, "integrations (BigPanda added)");

  // Rotate the secret: a new one is shown; the old signature is refused, the new one accepted.
  await card.getByRole("button", { name: "Rotate the secret" }).click();
  const second = (await page.getByTestId("secret").textContent()).trim();
  check(second.length >= 16 && second !== first, "rotating shows a new secret");
  await shot(page, "settings-integration-rotated");
  const old = await deliver(first);
  check(old.status === 401 && /signature/i.test(old.text), `a delivery signed with the old secret is refused: ${old.status} ${old.text}`);
  check((await deliver(second)).status === 202, "a delivery signed with the new secret is accepted");
  await page.getByRole("button", { name: "Done" }).click();

  const integration = async () => (await api("GET", "/api/integrations")).body.items.find((i) => i.name === "BigPanda prod");
  // Disable: the card says so, the API says so, deliveries are refused; enable: all back.
  await card.getByRole("button", { name: "Disable" }).click();
  await card.getByText("disabled", { exact: true }).waitFor();
  check((await integration()).enabled === false, "the API says the integration is disabled");
  check((await deliver(second)).status === 404, "a disabled integration refuses deliveries (404)");
  await shot(page, "settings-integration-disabled");
  await card.getByRole("button", { name: "Enable" }).click();
  await card.getByText("enabled", { exact: true }).waitFor();
  check((await integration()).enabled === true, "the API says the integration is enabled again");
  check((await deliver(second)).status === 202, "enabled again, deliveries are accepted");

  // The automatic analysis: BigPanda's is off until asked for.
  const rcaSetting = card.getByText(/Root-cause analysis of new incidents: (on|off)/);
  check(/: off$/.test(await rcaSetting.textContent()), "BigPanda's incidents are not analysed by default");
  await card.getByRole("button", { name: "Analyse new incidents" }).click();
  await card.getByText("Root-cause analysis of new incidents: on").waitFor();
  check((await integration()).rca_on_new_incidents === true, "the API says new incidents are analysed");
  const analysed = await deliver(second);
  let withRca = null;
  await until(async () => ((withRca = await incidentTitled(analysed.title))?.rca ?? null) !== null, 20000);
  check(withRca?.rca !== null && withRca?.rca !== undefined, `the next incident is analysed (run ${withRca?.rca?.run_id})`);
  await card.getByRole("button", { name: "Stop automatic analysis" }).click();
  await card.getByText("Root-cause analysis of new incidents: off").waitFor();
  check((await integration()).rca_on_new_incidents === false, "the API says new incidents are not analysed");
  const unanalysed = await deliver(second);
  check((await incidentTitled(unanalysed.title)) !== null, "the next incident opens");
  // A witness: an incident from a source analysed by default, opened after it. The analysis
  // consumer takes the organisation's events in order, so once the witness is analysed, the
  // decision on the incident before it was taken.
  const grafana = await api("POST", "/api/integrations", { source: "grafana", name: "Grafana witness" });
  const witness = await fetch(grafana.body.webhook_url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${grafana.body.secret}` },
    body: grafanaAlert("Witness latency", "settings-witness", "witness"),
  });
  check(witness.status === 202, "the witness alert is accepted");
  let witnessed = null;
  await until(async () => ((witnessed = await incidentTitled("Witness latency"))?.rca ?? null) !== null, 20000);
  check(witnessed?.rca != null, "the witness incident is analysed");
  const skipped = await incidentTitled(unanalysed.title);
  check(skipped.rca === null, `with the setting off, the incident is not analysed (rca: ${JSON.stringify(skipped.rca?.status)})`);
  await accessible(page, "integrations (after the changes)");
  await shot(page, "settings-integrations");

  // ---- Connectors: GCP by service-account key; its projects, each enabled or not, and the root.
  await page.goto(`${url}/connectors`);
  await page.getByLabel("Kind").selectOption("gcp");
  await page.getByLabel("service account key").fill(SERVICE_ACCOUNT_KEY);
  await page.getByRole("button", { name: "Connect" }).click();
  const gcpCard = page.locator(".cards > li", { hasText: "gcp" });
  await gcpCard.getByText("acme-sandbox").waitFor();
  check(google.assertions >= 1 && google.listings >= 1, "connecting signed a key assertion and listed the projects at (fake) Google");
  const connector = async () => (await api("GET", "/api/connectors")).body.items.find((c) => c.kind === "gcp");
  const projectsOf = async () => {
    const c = await connector();
    return (await api("GET", `/api/connectors/${c.id}/projects`)).body;
  };
  const listed = await projectsOf();
  check(
    GCP_PROJECTS.every((p) => listed.projects.some((q) => q.project === p && q.enabled)),
    `every project the key reaches is listed, enabled: ${JSON.stringify(listed)}`,
  );
  const project = (name) => gcpCard.locator("ul > li", { hasText: name });
  for (const name of GCP_PROJECTS)
    check(/\(enabled\)/.test(await project(name).textContent()), `the page lists ${name} as enabled`);
  await accessible(page, "connectors (GCP projects)");
  await shot(page, "settings-gcp-projects");

  await gcpCard.getByRole("button", { name: "Disable acme-staging" }).click();
  await project("acme-staging").getByText("(disabled)").waitFor();
  check((await projectsOf()).projects.find((p) => p.project === "acme-staging").enabled === false, "the API says acme-staging is disabled");
  await shot(page, "settings-gcp-project-disabled");
  await gcpCard.getByRole("button", { name: "Enable acme-staging" }).click();
  await project("acme-staging").getByText("(enabled)").waitFor();
  check((await projectsOf()).projects.find((p) => p.project === "acme-staging").enabled === true, "the API says acme-staging is enabled again");

  await gcpCard.getByRole("button", { name: "Make root: acme-staging" }).click();
  await project("acme-staging").getByText("root", { exact: true }).waitFor();
  check((await projectsOf()).root_project === "acme-staging", "the API says acme-staging is the root project");
  check(
    (await gcpCard.getByRole("button", { name: "Make root: acme-staging" }).count()) === 0 &&
      (await project("acme-prod").getByText("root", { exact: true }).count()) === 0,
    "only the root project is marked root, and it offers no Make root",
  );
  // Disabling the root project unsets it (the API's rule), and the page shows that.
  await gcpCard.getByRole("button", { name: "Disable acme-staging" }).click();
  await project("acme-staging").getByText("(disabled)").waitFor();
  const afterDisable = await projectsOf();
  check(afterDisable.root_project !== "acme-staging", `a disabled project is no longer the root (root: ${afterDisable.root_project})`);
  check((await project("acme-staging").getByText("root", { exact: true }).count()) === 0, "the page no longer marks acme-staging root");
  await accessible(page, "connectors (GCP root chosen)");
  await shot(page, "settings-gcp-root");

  // ---- Organisation: invite someone, who joins; change their role.
  await page.goto(`${url}/organization`);
  await page.getByLabel("Email").fill("sre@acme.example");
  await page.getByRole("combobox", { name: /^Role$/ }).selectOption("viewer");
  await page.getByRole("button", { name: "Invite" }).click();
  const invitation = (await page.getByRole("status").textContent()).match(/token (\S+)/)[1];
  const joined = await fetch(`${url}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "sre@acme.example", password: "another long password", invitation }),
  });
  check(joined.status < 300, `the invited person joins (${joined.status})`);
  const sreCookie = joined.headers.get("set-cookie")?.split(";")[0];
  await page.reload();
  const role = page.getByLabel("Role of sre@acme.example");
  check((await role.inputValue()) === "viewer", "the new member is listed as a viewer");
  await role.selectOption("editor");
  const audit = page.locator("ol.timeline");
  await audit.getByText("admin@acme.example changed sre@acme.example from viewer to editor").waitFor();
  check(true, "the audit log shows the role change without a reload");
  check((await role.inputValue()) === "editor", "the page shows the new role");
  const members = (await api("GET", "/api/members")).body.items;
  check(members.find((m) => m.email === "sre@acme.example")?.role === "editor", "the API lists the member as an editor");
  const me = await fetch(`${url}/api/auth/me`, { headers: { cookie: sreCookie } });
  check((await me.json()).role === "editor", "the member's own session says editor");
  await shot(page, "settings-role-changed");

  // An API token: created (shown once), it works; revoked, it is refused.
  await page.getByLabel("Token name").fill("ci-bot");
  await page.getByRole("button", { name: "Create token" }).click();
  const shown = await page.getByRole("status").filter({ hasText: "Token ci-bot" }).textContent();
  const token = shown.match(/\(shown once\): (\S+)/)?.[1];
  check(Boolean(token), "the new token is shown once");
  const asBot = () => fetch(`${url}/api/incidents?limit=1`, { headers: { authorization: `Bearer ${token}` } });
  check((await asBot()).status === 200, "the new token is accepted by the API");
  await audit.getByText(/admin@acme\.example created the API token "ci-bot"/).waitFor();
  check(true, "the audit log shows the token's creation without a reload");
  const tokens = page.locator("ul > li", { hasText: "ci-bot" });
  await page.getByRole("button", { name: "Revoke ci-bot" }).click();
  await tokens.filter({ hasText: "ci-bot — revoked" }).waitFor();
  check((await page.getByRole("button", { name: "Revoke ci-bot" }).count()) === 0, "a revoked token offers no Revoke");
  const refused = await asBot();
  check(refused.status === 401, `the revoked token is refused (${refused.status})`);
  check((await api("GET", "/api/tokens")).body.items.find((t) => t.name === "ci-bot")?.revoked === true, "the API lists the token as revoked");
  await audit.getByText(/admin@acme\.example revoked the API token "ci-bot" of admin@acme\.example/).waitFor();
  check(true, "the audit log shows the revocation without a reload");
  const log = (await api("GET", "/api/audit-log")).body.items.map((a) => a.description);
  check(
    log.some((d) => /changed sre@acme\.example from viewer to editor/.test(d)) &&
      log.some((d) => /created the API token "ci-bot"/.test(d)) &&
      log.some((d) => /revoked the API token "ci-bot"/.test(d)) &&
      log.some((d) => /made acme-staging the root GCP project/.test(d)),
    "the API's audit log holds the role change, the token's creation and revocation, and the GCP root",
  );
  await accessible(page, "organisation (after the changes)");
  await shot(page, "settings-organisation");
});
