// The flow's last part (tests/flow.mjs calls it): the pages for finding things, once there is
// something to find. Through the API it adds 60 incidents from a second Grafana integration, one
// from New Relic (older than those 60, so not on the list's first page), a GitHub deployment of
// `payments` just before it, three alerts about `search` grouped into one incident, and a chain
// of declared dependencies frontend → checkout → payments → payments-db. Then, in the browser:
// the list's search and source filter find that incident on the server and "Older" keeps the
// search; the status, severity and service filters ask the server too; the incident shows the
// deployment before it with its real fields; the grouped incident explains each joined alert's
// score as the API does; the service graph is drawn whole, zooms (buttons and wheel), finds a
// service and focuses it, lights up the blast radius and shows a node's neighbours, incidents
// and changes; the metrics page charts incidents, MTTD and MTTR per day with the API's numbers,
// and shows the RCA conclusions and the LLM's calls and cost the API gives.
import { createHmac, randomUUID } from "node:crypto";

/** A Grafana alert body: `summary` becomes the incident's title. */
const grafana = (summary, service, fingerprint) => ({
  receiver: "aurora",
  status: "firing",
  version: "1",
  alerts: [
    {
      status: "firing",
      labels: { alertname: summary, service, severity: "high" },
      annotations: { summary },
      // Fired half a minute before it is sent: the incidents' MTTD is about 30 s.
      startsAt: new Date(Date.now() - 30_000).toISOString(),
      endsAt: "0001-01-01T00:00:00Z",
      fingerprint,
    },
  ],
});

/** The metrics page's duration format (pages/Metrics.tsx). */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export async function explore({ page, url, check, accessible, shot }) {
  const api = async (method, path, data) => {
    const r = await page.request.fetch(`${url}${path}`, { method, data });
    if (!r.ok()) throw new Error(`${method} ${path}: ${r.status()} ${await r.text()}`);
    return r.status() === 204 ? null : r.json();
  };
  /** Whether `test` comes true within `ms`, asked every 300 ms (API polls stay under the rate limit). */
  const eventually = async (test, ms = 30000) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 300)))
      if (await test()) return true;
    return false;
  };
  const send = async (hook, body, headers = {}) => {
    const text = JSON.stringify(body);
    const r = await fetch(hook.webhook_url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${hook.secret}`, ...headers },
      body: text,
    });
    if (r.status !== 202) throw new Error(`webhook ${hook.webhook_url}: ${r.status} ${await r.text()}`);
    return text;
  };

  // Each alert its own incident, and no analyses for these (Aurora analyses a source's new
  // incidents when any of its integrations asks, so the flow's Grafana integration stops asking).
  await api("PUT", "/api/correlation/settings", { enabled: false });
  const off = { rca_on_new_incidents: false };
  const prod = (await api("GET", "/api/integrations")).items.find((i) => i.name === "Grafana prod");
  await api("PATCH", `/api/integrations/${prod.id}`, { settings: off });
  const batch = await api("POST", "/api/integrations", { source: "grafana", name: "Grafana batch", settings: off });
  const relic = await api("POST", "/api/integrations", { source: "newrelic", name: "New Relic prod", settings: off });
  const github = await api("POST", "/api/integrations", { source: "github", name: "GitHub acme" });

  // A deployment of payments five minutes ago, signed as GitHub signs.
  const deployment = JSON.stringify({
    action: "created",
    deployment: {
      id: 4242,
      sha: "9f1c2e7d",
      ref: "v2.3.1",
      environment: "production",
      description: "new retry policy",
      creator: { login: "dana" },
      created_at: new Date(Date.now() - 5 * 60_000).toISOString(),
    },
    repository: { name: "payments", html_url: "https://github.com/acme/payments" },
  });
  const signature = createHmac("sha256", github.secret).update(deployment).digest("hex");
  const deployed = await fetch(github.webhook_url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "deployment",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": `sha256=${signature}`,
    },
    body: deployment,
  });
  check(deployed.status === 202, `a GitHub deployment is accepted (${deployed.status})`);
  await eventually(async () => (await api("GET", "/api/changes?service=payments")).items.length === 1);

  // The New Relic incident first, then the rest: it is the oldest of them.
  await send(relic, {
    id: "4f1d-payments",
    title: "Payments gateway timeouts",
    priority: "HIGH",
    state: "ACTIVATED",
    impactedEntities: ["payments"],
    createdAt: Date.now() - 60_000,
  });
  await eventually(async () => (await api("GET", "/api/incidents?source=newrelic")).items.length === 1);
  await send(batch, grafana("Frontend 5xx rate high", "frontend", "frontend-5xx"));
  await send(batch, grafana("Payments DB slow queries", "payments-db", "payments-db-slow"));
  for (let i = 0; i < 60; i += 10)
    await Promise.all(
      Array.from({ length: 10 }, (_, j) => send(batch, grafana(`Bulk alert ${i + j}`, "batch", `bulk-${i + j}`))),
    );
  const seeded = await eventually(
    async () => (await api("GET", "/api/incidents?q=bulk%20alert&limit=200")).items.length === 60,
  );
  check(seeded, "60 more incidents are listed");
  // Grouping on for a moment: three alerts about `search` open one incident, two joining it.
  await api("PUT", "/api/correlation/settings", { enabled: true });
  await send(batch, grafana("Search latency high on pod 0", "search", "search-0"));
  const searchIncidents = async () => (await api("GET", "/api/incidents?q=search%20latency%20high&limit=10")).items;
  await eventually(async () => (await searchIncidents()).length === 1);
  for (const i of [1, 2]) await send(batch, grafana(`Search latency high on pod ${i}`, "search", `search-${i}`));
  let grouped = null;
  await eventually(async () => {
    const found = await searchIncidents();
    grouped = found.length === 1 ? found[0] : null;
    return grouped?.correlated_alert_count === 2;
  });
  await api("PUT", "/api/correlation/settings", { enabled: false });
  check(grouped?.correlated_alert_count === 2, `alerts about one service join the open incident (${grouped?.correlated_alert_count} joined)`);
  for (const name of ["frontend", "payments", "payments-db"])
    await eventually(async () => (await page.request.get(`${url}/api/graph/services/${name}`)).ok());
  for (const [from, to] of [["frontend", "checkout"], ["checkout", "payments"], ["payments", "payments-db"]])
    await api("PUT", "/api/graph/edges", { from, to });

  // The list: the New Relic incident is past the first 50 rows; search and source find it.
  const asked = [];
  const listen = (r) => r.url().includes("/api/incidents?") && asked.push(new URL(r.url()).searchParams);
  page.on("request", listen);
  await page.getByRole("link", { name: "Incidents" }).click();
  const rows = page.locator("table.incidents tbody tr");
  const titles = () => page.locator("table.incidents tbody tr td:nth-child(2) a").allTextContents();
  await eventually(async () => (await rows.count()) === 50, 10000);
  check(!(await titles()).includes("Payments gateway timeouts"), "the New Relic incident is not among the first 50 rows");
  const search = page.getByLabel("Search titles and summaries");
  await search.fill("payments GATEWAY");
  await page.getByRole("link", { name: "Payments gateway timeouts" }).waitFor();
  const found = await rows.allTextContents();
  check(
    found.length === 1 && /newrelic/.test(found[0]) && asked.some((q) => q.get("q") === "payments GATEWAY"),
    `the search asks the server and finds the 51st-newest incident, any case: ${found.join(" | ")}`,
  );
  await search.fill("");
  await eventually(async () => (await rows.count()) === 50, 10000);
  await page.getByRole("combobox", { name: /^Source/ }).selectOption("newrelic");
  await eventually(async () => (await rows.count()) === 1, 10000);
  check(
    JSON.stringify(await titles()) === JSON.stringify(["Payments gateway timeouts"]) &&
      asked.some((q) => q.get("source") === "newrelic" && !q.has("q")),
    "the source filter asks the server: only the New Relic incident",
  );
  await page.getByRole("combobox", { name: /^Source/ }).selectOption("");
  // Status, severity and service: each asked of the server, the rows the API's answer.
  const listed = async (query) => (await api("GET", `/api/incidents?limit=50&${query}`)).items.map((i) => i.title);
  const shows = async (query, what, expect) => {
    const want = await listed(query);
    const same = await eventually(async () => JSON.stringify(await titles()) === JSON.stringify(want), 10000);
    const [key, value] = query.split("=");
    check(
      same && want.includes(expect) && asked.some((q) => q.get(key) === value),
      `${what} asks the server, the rows are its answer: ${want.length} (${want.slice(0, 3).join(", ")}…)${same ? "" : `; shown: ${(await titles()).slice(0, 3).join(", ")}…`}`,
    );
  };
  await page.getByRole("combobox", { name: /^Status/ }).selectOption("resolved");
  await shows("status=resolved", "the status filter (resolved)", "Checkout p99 over 2 s");
  await page.getByRole("combobox", { name: /^Status/ }).selectOption("");
  await page.getByRole("combobox", { name: /^Severity/ }).selectOption("critical");
  await shows("severity=critical", "the severity filter (critical)", "Checkout p99 over 2 s again");
  await page.getByRole("combobox", { name: /^Severity/ }).selectOption("");
  // Typed, the service is asked for after a pause (the field keeps it while live updates redraw).
  await page.getByRole("textbox", { name: /^Service/ }).fill("payments-db");
  await shows("service=payments-db", "the service filter (payments-db)", "Payments DB slow queries");
  await page.getByRole("textbox", { name: /^Service/ }).fill("");
  await eventually(async () => (await rows.count()) === 50, 10000);
  // The newest 50 rows are bulk alerts already: wait for the search's own answer.
  const searched = page.waitForResponse((r) => new URL(r.url()).searchParams.get("q") === "bulk alert");
  await search.fill("bulk alert");
  await searched;
  await eventually(async () => {
    const t = await titles();
    return t.length === 50 && t.every((x) => /^Bulk alert \d+$/.test(x));
  }, 10000);
  const first = await titles();
  await page.getByRole("button", { name: "Older" }).click();
  await eventually(async () => (await rows.count()) === 10, 10000);
  const older = await titles();
  const all = new Set([...first, ...older]);
  check(
    first.length === 50 && older.length === 10 && older.every((t) => /^Bulk alert \d+$/.test(t)) && all.size === 60 &&
      asked.some((q) => q.get("q") === "bulk alert" && q.has("cursor")),
    `"Older" keeps the search: 50 + 10 different matches (${older.join(", ")})`,
  );
  page.off("request", listen);
  await accessible(page, "incidents (searched, page 2)");
  await shot(page, "incidents-search");

  // The incident: the deployment before it, with the fields the API gives.
  await search.fill("payments gateway");
  await page.getByRole("link", { name: "Payments gateway timeouts" }).click();
  const changes = page.getByRole("region", { name: "Changes before it" });
  await changes.getByText("Deploy v2.3.1 to production: new retry policy").waitFor();
  const said = (await changes.textContent()) ?? "";
  const link = changes.getByRole("link", { name: "the deployment in github" });
  check(
    /deployment/.test(said) &&
      said.includes("payments · production · version 9f1c2e7d · by dana · from github") &&
      /[56] min before it started · its service/.test(said) &&
      (await link.getAttribute("href")) === "https://github.com/acme/payments",
    `the change before it shows its kind, title, service, environment, version, author, source, time and link: ${said}`,
  );
  await accessible(page, "incident (changes before it)");

  // The grouped incident: each joined alert says how it was scored, as the API has it.
  await page.goto(`${url}/incidents/${grouped.id}`);
  const joined = (await api("GET", `/api/incidents/${grouped.id}`)).alerts;
  await page.getByRole("heading", { name: `Alerts (${joined.length})` }).waitFor();
  const why = await page.getByRole("region", { name: /^Alerts/ }).locator("p.why").allTextContents();
  const explained = joined.map(({ correlation: c }) =>
    c
      ? `Joined by ${c.strategy}: score ${c.score.toFixed(2)} (topology ${c.topology.toFixed(2)}, time ${c.time.toFixed(2)}, similarity ${c.similarity.toFixed(2)}; ${c.candidates_considered} open incidents considered)`
      : "The alert that opened this incident.",
  );
  check(
    joined.length === 3 && joined.filter((a) => a.correlation).length === 2 && JSON.stringify(why) === JSON.stringify(explained),
    `each joined alert shows its correlation as the API explains it: ${why.join(" | ")}`,
  );
  await accessible(page, "incident (grouped alerts)");


  // The graph, drawn whole: every node the API has.
  await page.getByRole("link", { name: "Service graph" }).click();
  const graph = await api("GET", "/api/graph?limit=1000");
  const drawing = page.getByRole("group", { name: /^Service graph: / });
  await drawing.waitFor();
  const drawn = await page.locator("g[data-node]").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-node")));
  const ids = graph.nodes.map((n) => n.id);
  check(
    drawn.length === ids.length && ids.every((id) => drawn.includes(id)) && ids.length >= 5 &&
      (await drawing.getAttribute("aria-label")) === `Service graph: ${ids.length} services, ${graph.edges.length} dependencies`,
    `the whole graph is drawn: ${drawn.length} of ${ids.length} nodes, ${graph.edges.length} edges`,
  );
  // Zoom: the buttons and the wheel narrow or widen the view.
  const level = () => page.getByLabel("Zoom level").textContent();
  const width = async () => Number((await drawing.getAttribute("viewBox")).split(" ")[2]);
  const whole = await width();
  await page.getByRole("button", { name: "Zoom in" }).click();
  const zoomed = (await level()) === "150%" && Math.abs(whole / (await width()) - 1.5) < 0.01;
  const box = await drawing.boundingBox();
  await page.mouse.move(box.x + 20, box.y + 20);
  await page.mouse.wheel(0, 200);
  const wheeled = await eventually(async () => (await level()) === "120%", 5000);
  await page.getByRole("button", { name: "Show all" }).click();
  check(
    zoomed && wheeled && (await level()) === "100%" && (await width()) === whole,
    "zoom in with the button (150%), out with the wheel (120%), back to the whole graph",
  );
  // Find: the service is selected, the view moves in and the node takes the focus.
  await page.getByLabel("Find a service").fill("payments-db");
  await page.getByRole("button", { name: "Find", exact: true }).click();
  await page.getByText("Found payments-db.").waitFor();
  await page.getByRole("heading", { name: "payments-db", exact: true }).waitFor();
  await page.getByTestId("blast-radius").filter({ hasText: "An outage of payments-db reaches" }).waitFor();
  const focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
  check(
    /^payments-db: .*, selected$/.test(focused ?? "") && parseInt(await level()) >= 200,
    `a search focuses the node and zooms to it: ${focused}, ${await level()}`,
  );
  // The blast radius lit up is the API's: every node that depends on payments-db.
  const radius = (await api("GET", "/api/graph/services/payments-db/blast-radius")).affected.map((r) => r.node.name).sort();
  const lit = await page.locator("g.node-blast").evaluateAll((gs) => gs.map((g) => g.getAttribute("aria-label").split(":")[0]));
  check(
    ["checkout", "frontend", "payments"].every((n) => radius.includes(n)) &&
      JSON.stringify(lit.sort()) === JSON.stringify(radius) &&
      (await page.locator("line.edge-blast").count()) >= 3,
    `the blast radius is highlighted: ${lit.join(", ")}`,
  );
  // A click on a node: its neighbourhood, blast radius, incidents and changes.
  await page.locator('g[data-node][aria-label^="payments:"] circle').last().click();
  await page.getByRole("heading", { name: "payments", exact: true }).waitFor();
  const neighbours = page.getByRole("list", { name: "Neighbours of payments" });
  await neighbours.waitFor();
  const near = (await neighbours.locator("li").allTextContents()).join(" | ");
  const blast = (await page.getByRole("list", { name: "Blast radius of payments" }).textContent()) ?? "";
  const incidents = (await page.getByRole("list", { name: "Incidents of payments" }).textContent()) ?? "";
  const deploys = (await page.getByRole("list", { name: "Changes of payments" }).textContent()) ?? "";
  check(
    /checkout 1 hop away/.test(near) && /payments-db 1 hop away/.test(near) && /frontend 2 hops away/.test(near) &&
      blast.includes("frontend → checkout → payments") &&
      incidents.includes("Payments gateway timeouts") &&
      deploys.includes("deployment: Deploy v2.3.1 to production: new retry policy") &&
      (await page.locator('g[data-node][aria-label^="payments:"]').getAttribute("aria-pressed")) === "true",
    `a clicked node shows its neighbours (${near}), blast radius, incidents and changes`,
  );
  await accessible(page, "graph");
  await shot(page, "graph");
  // From the keyboard: focus a node and press Enter.
  const frontend = page.locator('g[data-node][aria-label^="frontend:"]');
  await frontend.focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("blast-radius").filter({ hasText: "Nothing depends on frontend" }).waitFor();
  check((await frontend.getAttribute("aria-pressed")) === "true", "a node is picked from the keyboard");

  // Metrics: incidents, MTTD and MTTR per day drawn with the API's numbers.
  await page.getByRole("link", { name: "Metrics & usage" }).click();
  await page.getByRole("heading", { name: "Incidents over time" }).waitFor();
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const m = await api("GET", `/api/metrics/summary?from=${encodeURIComponent(from)}`);
  const today = new Date().toISOString().slice(0, 10);
  const day = m.per_day.find((d) => d.day === today);
  const column = page.locator(`rect.column[data-day="${today}"]`);
  const chart = page.getByRole("img", { name: /^Incidents opened per day/ });
  check(
    day?.incidents >= 65 &&
      Number(await column.getAttribute("data-value")) === day.incidents &&
      (await column.locator("title").textContent()) === `${today}: ${day.incidents} incidents` &&
      (await chart.getAttribute("aria-label")).includes(`${day.incidents} in all`),
    `the incidents chart has today's column: ${day?.incidents} incidents`,
  );
  const point = (kind) => page.locator(`.series-${kind} circle[data-day="${today}"]`).getAttribute("data-value");
  check(
    Number(await point("mttd")) === day.mttd_median_seconds && Number(await point("mttr")) === day.mttr_median_seconds &&
      day.mttd_median_seconds >= 25 && day.mttr_median_seconds > 0,
    `the MTTD and MTTR lines have today's medians: ${duration(day.mttd_median_seconds)}, ${duration(day.mttr_median_seconds)}`,
  );
  await page.getByText("The numbers per day").click();
  const row = await page.getByTestId("per-day").locator("tr", { hasText: today }).locator("th, td").allTextContents();
  check(
    JSON.stringify(row) ===
      JSON.stringify([today, String(day.incidents), duration(day.mttd_median_seconds), duration(day.mttr_median_seconds)]),
    `the table beside the charts says the same: ${row.join(" | ")}`,
  );
  await accessible(page, "metrics (charts)");
  await shot(page, "metrics");

  // The RCA runs, their conclusions and the LLM's calls and cost: the API's figures. The
  // analyses of the incidents added above may still be running: compare until both agree.
  const figures = () =>
    page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll("dl.figures > div")].map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").firstChild.textContent]),
      ),
    );
  let seen = null;
  const agreed = await eventually(async () => {
    await page.reload();
    await page.getByRole("img", { name: "RCA conclusions" }).waitFor();
    await page.getByText("Model calls").waitFor();
    const shown = await figures();
    const bars = await page.getByRole("img", { name: "RCA conclusions" }).locator("text").allTextContents();
    const [summary, usage] = await Promise.all([
      api("GET", `/api/metrics/summary?from=${encodeURIComponent(new Date(Date.now() - 30 * 86_400_000).toISOString())}`),
      api("GET", "/api/llm-usage"),
    ]);
    const want = Object.entries(summary.rca.conclusions).flatMap(([k, v]) => [k, String(v)]);
    seen = { shown, bars, conclusions: summary.rca.conclusions, runs: summary.rca.runs, usage: usage.total };
    return (
      shown["RCA runs"] === String(summary.rca.runs) &&
      JSON.stringify(bars) === JSON.stringify(want) &&
      summary.rca.conclusions.confirmed >= 1 &&
      shown["Model calls"] === String(usage.total.calls) &&
      shown[`Cost (${usage.currency})`] === (usage.total.cost_micros / 1_000_000).toFixed(4) &&
      usage.total.cost_micros > 0
    );
  });
  check(agreed, `the RCA conclusions chart and the LLM's calls and cost are the API's: ${JSON.stringify(seen)}`);
}
