// Accessibility of the web UI against a real aurora (`aurora up`, a scripted model):
//
//   node tests/a11y.mjs <path to the aurora binary>
//
// 1. The main flow with the keyboard only (Tab, Shift+Tab, Enter, Space, typing; no mouse, no
//    clicks): sign in → open an incident from the list → resolve it → open the chat → send a
//    question and read the answer; then each other page: add an integration, connect a
//    Kubernetes cluster, find a service in the graph, search the knowledge base, change the
//    metrics' period, create an API token. Every stop on the way must draw its focus.
// 2. Every page, signed out and signed in as an admin, checked by axe-core (no serious or critical
//    violation) in dark mode at a phone's width, in dark mode at 1280 px and in light mode at a
//    phone's width; at a phone's width no page may scroll sideways.
// Screenshots go to test-artifacts/a11y-*.png.
import { KUBECONFIG, adminContext, grafanaAlert, openPage, suite, until } from "./aurora.mjs";
import { scriptedModel, text, tool } from "./llm.mjs";

const { check, accessible, shot, run } = suite();

const ANSWER = "Checkout crash-loops since the last deploy; roll it back.";
const model = await scriptedModel([
  { trigger: "What is wrong with checkout?", steps: [text("Checkout crash-loops ", "since the last deploy; ", "roll it back.")] },
  {
    trigger: "Investigate incident",
    steps: [
      tool("call-finding", "record_finding", { text: "The checkout deploy went out a minute before", citations: [] }),
      tool("call-conclude", "conclude", { conclusion: "inconclusive", summary: "The deploy may be the cause." }),
    ],
  },
]);

const EMAIL = "oncall@acme.example";
const PASSWORD = "a long enough password";

/** What has the focus: its tag, a name as a person reads it, and whether its focus is drawn. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = el.labels?.[0] ? [...el.labels[0].childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("") : "";
    const name = (el.getAttribute("aria-label") || label || el.textContent || "").trim().replace(/\s+/g, " ");
    return { tag: el.tagName.toLowerCase(), name, drawn: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 };
  });

/** Stops of the walk whose focus was not drawn. */
const undrawn = new Set();
/** Presses Tab (Shift+Tab with `back`) until the focus is on what `want` accepts. */
async function tabTo(page, what, want, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    const now = await focused(page);
    if (now && !now.drawn) undrawn.add(`${now.tag} "${now.name}"`);
    if (now && want(now)) return now;
  }
  throw new Error(`${what}: not reached in ${max} presses of ${back ? "Shift+Tab" : "Tab"}`);
}
const named = (tag, name) => (f) => f.tag === tag && f.name === name;

await run({ env: model.env, took: "the accessibility checks", what: "accessibility", closing: [model] }, async ({ url, browser }) => {
  // Arrange through the API: an admin, a Grafana source, an incident whose analysis has ended.
  const { api } = await adminContext(browser, url, EMAIL);
  const grafana = (await api("POST", "/api/integrations", { source: "grafana", name: "Grafana prod" })).body;
  const sent = await fetch(grafana.webhook_url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${grafana.secret}` },
    body: grafanaAlert("Checkout p99 over 2 s", "a11y-1"),
  });
  check(sent.status === 202, "the alert is accepted");
  let incident;
  await until(async () => {
    incident = (await api("GET", "/api/incidents")).body?.items?.[0];
    return incident && (await api("GET", `/api/incidents/${incident.id}`)).body?.rca?.status === "completed";
  }, 30000);
  check(Boolean(incident), "the incident is open and analysed");

  // ---- 1. The keyboard walk.
  const { context: walk, page } = await openPage(browser);
  await page.goto(`${url}/sign-in`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await tabTo(page, "the email field", named("input", "Email"));
  await page.keyboard.type(EMAIL);
  await tabTo(page, "the password field", named("input", "Password"));
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Incidents" }).waitFor();
  check(true, "keyboard: signed in (Tab to each field, Enter)");
  const first = await tabTo(page, "the first stop", () => true, { max: 1 });
  check(first.name === "Skip to content", `keyboard: the first Tab stop skips to the content (${first.name})`);
  await tabTo(page, "the incident in the list", named("a", "Checkout p99 over 2 s"));
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Checkout p99 over 2 s" }).waitFor();
  check(page.url() === `${url}/incidents/${incident.id}`, "keyboard: Enter on a row's link opens the incident");
  await tabTo(page, "Resolve", named("button", "Resolve"));
  await page.keyboard.press("Space");
  await page.locator(".state-resolved").waitFor();
  check((await api("GET", `/api/incidents/${incident.id}`)).body.incident.status === "resolved", "keyboard: Space on Resolve resolves it (the API says resolved)");
  await shot(page, "a11y-keyboard-resolved");
  await tabTo(page, "the Chat link", named("a", "Chat"), { back: true });
  await page.keyboard.press("Enter");
  await page.getByText("Connected.").waitFor();
  check(new URL(page.url()).pathname === "/chat", "keyboard: Enter on the Chat link opens the chat");
  await tabTo(page, "the question", named("textarea", "Your question"));
  await page.keyboard.type("What is wrong with checkout?");
  await tabTo(page, "Send", named("button", "Send"));
  await page.keyboard.press("Enter");
  await page.getByTestId("answer").filter({ hasText: ANSWER }).waitFor({ timeout: 30000 });
  check(true, "keyboard: a question sent with Enter on Send is answered");
  await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  const chatSession = new URL(page.url()).pathname;
  await shot(page, "a11y-keyboard-chat");

  /** Shift+Tab back to the navigation's `name` link, Enter, and the page's heading shown. */
  const open = async (name, heading) => {
    await tabTo(page, `the ${name} link`, named("a", name), { back: true });
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: heading, exact: true }).first().waitFor();
  };
  // Integrations: a source added from the keyboard (the Source picker left on Grafana).
  await open("Integrations", "Integrations");
  await tabTo(page, "the integration's name", named("input", "Name"));
  await page.keyboard.type("Grafana by keyboard");
  await page.keyboard.press("Enter");
  await page.getByTestId("webhook-url").waitFor();
  const added = (await api("GET", "/api/integrations")).body.items.find((i) => i.name === "Grafana by keyboard");
  check(added?.source === "grafana", `keyboard: an integration added with Enter in its form (${added?.source})`);
  // Connectors: the kind picked by typing on the focused picker, the fields typed, Enter on Connect.
  await open("Connectors", "Connectors");
  await tabTo(page, "the connector kind", named("select", "Kind"));
  await page.keyboard.type("kubernetes");
  await tabTo(page, "the context field", named("input", "context"));
  await page.keyboard.type("prod");
  await tabTo(page, "the kubeconfig field", named("textarea", "kubeconfig"));
  await page.keyboard.type(KUBECONFIG);
  await tabTo(page, "Connect", named("button", "Connect"));
  await page.keyboard.press("Enter");
  await page.locator(".cards li", { hasText: "kubernetes" }).waitFor();
  const connected = (await api("GET", "/api/connectors")).body.items.find((c) => c.kind === "kubernetes");
  check(connected?.settings?.context === "prod", `keyboard: a Kubernetes cluster connected (${connected?.status})`);
  // The service graph: a service found with Enter takes the focus; Enter on it keeps it picked.
  await open("Service graph", "Service graph");
  await tabTo(page, "the graph's search", named("input", "Find a service"));
  await page.keyboard.type("checkout");
  await page.keyboard.press("Enter");
  await page.getByText("Found checkout.").waitFor();
  let node = null;
  await until(async () => /^checkout: /.test((node = await focused(page))?.name ?? ""));
  // A node draws its focus as an accent ring (graph.css), not an outline.
  const ring = await page.evaluate(() => {
    const probe = document.createElement("span");
    probe.style.color = "var(--accent)";
    document.body.append(probe);
    const accent = getComputedStyle(probe).color;
    probe.remove();
    const circle = [...document.activeElement.querySelectorAll("circle")].pop();
    const style = circle && getComputedStyle(circle);
    return style ? style.stroke === accent && parseFloat(style.strokeWidth) >= 4 : false;
  });
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "checkout", exact: true }).waitFor();
  check(/^checkout: .*, selected$/.test(node?.name ?? "") && ring, `keyboard: a found service has the focus, its ring drawn (${node?.name})`);
  // The knowledge base: a search sent with Enter is answered.
  await open("Knowledge base", "Knowledge base");
  await tabTo(page, "the knowledge search", named("input", "Search the knowledge base"));
  await page.keyboard.type("checkout rollback");
  await page.keyboard.press("Enter");
  await page.getByText(/^Ranked by /).waitFor();
  check(true, "keyboard: a knowledge-base search sent with Enter is answered");
  // Metrics: the period changed with the arrow keys on its focused picker.
  await open("Metrics & usage", "Metrics & usage");
  await tabTo(page, "the period", named("select", "Period"));
  const chart = page.getByRole("img", { name: /^Incidents opened per day/ });
  await chart.waitFor();
  /** The days the incidents chart spans, from its label ("…, 2026-11-05 to 2026-12-05: …"). */
  const span = async () => {
    const [from, to] = (await chart.getAttribute("aria-label")).match(/(\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})/).slice(1);
    return Math.round((new Date(to) - new Date(from)) / 86_400_000);
  };
  const before = await span();
  await page.keyboard.press("ArrowDown");
  const widened = await until(async () => (await span()) >= 89);
  check(before < 89 && widened, `keyboard: ArrowDown on the period shows the last 90 days (${before} days, then ${await span()})`);
  // The organisation: an API token created with Enter in its form, shown once.
  await open("Organisation", "Organisation");
  await tabTo(page, "the token name", named("input", "Token name"));
  await page.keyboard.type("keyboard-token");
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "Token keyboard-token (shown once)" }).waitFor();
  check(
    (await api("GET", "/api/tokens")).body.items.some((t) => t.name === "keyboard-token" && !t.revoked),
    "keyboard: an API token created with Enter in its form",
  );
  await shot(page, "a11y-keyboard-organisation");
  check(undrawn.size === 0, `keyboard: every stop draws its focus ${[...undrawn].join(", ")}`);
  await walk.close();

  // ---- 2. Every page, three ways.
  const signedOut = ["/sign-in", "/register", "/accept"];
  const signedIn = [
    ["/", "incidents"],
    [`/incidents/${incident.id}`, "incident"],
    ["/chat", "chat"],
    [chatSession, "chat-session"],
    ["/integrations", "integrations"],
    ["/connectors", "connectors"],
    ["/graph", "graph"],
    ["/knowledge", "knowledge"],
    ["/metrics-and-usage", "metrics"],
    ["/organization", "organisation"],
    ["/no-such-page", "not-found"],
  ];
  const variants = [
    { name: "dark-phone", colorScheme: "dark", viewport: { width: 390, height: 844 } },
    { name: "dark-desktop", colorScheme: "dark", viewport: { width: 1280, height: 900 } },
    { name: "light-phone", colorScheme: "light", viewport: { width: 390, height: 844 } },
  ];
  /** The page loaded: its heading shown, nothing still loading (the chat connected). */
  const settled = async (page, path) => {
    await page.locator("h1").first().waitFor();
    if (path.startsWith("/chat")) await page.getByText("Connected.").waitFor();
    check(await until(async () => (await page.locator('[aria-busy="true"]').count()) === 0), `${path}: loaded`);
  };
  for (const variant of variants) {
    const { context, page } = await openPage(browser, { viewport: variant.viewport, colorScheme: variant.colorScheme });
    const survey = async (path, name) => {
      await page.goto(`${url}${path}`);
      await settled(page, path);
      await accessible(page, `${name} (${variant.name})`);
      if (variant.viewport.width < 640) {
        const wide = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        check(wide[0] <= wide[1], `${name} (${variant.name}): nothing scrolls sideways (${wide[0]} px wide in ${wide[1]})`);
      }
      await shot(page, `a11y-${variant.name}-${name}`);
    };
    for (const path of signedOut) await survey(path, path.slice(1));
    const login = await context.request.post(`${url}/api/auth/login`, { data: { email: EMAIL, password: PASSWORD } });
    check(login.ok(), `signed in for the ${variant.name} survey`);
    for (const [path, name] of signedIn) await survey(path, name);
    await context.close();
  }
});
