// Browser tests of the connect forms and the chat's model picker against a real aurora
// (`aurora up`), each action checked on the page and in the API.
//
//   node tests/actions-connectors.mjs <path to the aurora binary>
//
// Connectors: every kind but GCP and Kubernetes (tests/actions-settings.mjs and flow.mjs have
// those), each against its fake provider (tests/providers.mjs) answering the connect check in
// the provider's documented shape: the provider failing (HTTP 500) and a bad credential refused
// are shown in the API's words with nothing connected; the right credential connects (the card
// says so, the API lists the settings and never the credential); disconnected, then connected
// while the provider is unreachable, the card shows the failing status and the last check's
// error. Chat: two models configured (LLM_MODEL and LLM_MODELS), the picker offers the API's
// list; a question asked with the second picked reaches the model endpoint naming it.
// Screenshots go to test-artifacts/connectors-*.png and chat-model-*.png.
import { adminPage, suite, until } from "./aurora.mjs";
import { scriptedModel, text } from "./llm.mjs";
import { fakeProviders } from "./providers.mjs";

const { check, accessible, shot, run } = suite();

const DEFAULT_MODEL = "scripted-model";
const SECOND_MODEL = "scripted-large";
const model = await scriptedModel([
  { trigger: "Which model answers first?", steps: [text("The first answer, ", "from the default model.")] },
  { trigger: "Which model answers second?", steps: [text("The second answer, ", "from the model picked.")] },
]);
const providers = await fakeProviders();

const env = {
  ...providers.env,
  LLM_BASE_URL: model.baseUrl,
  LLM_MODEL: DEFAULT_MODEL,
  LLM_MODELS: SECOND_MODEL,
  LLM_API_KEY: "test-key",
  // No discovery: with AWS connected it would run the aws CLI against the real AWS.
  AURORA_DISCOVERY_PROVIDERS: "",
};
const closing = [model, providers];
await run({ env, took: "connectors and model picker", what: "connectors and model picker", closing }, async ({ url, browser }) => {
  const { context, page, api } = await adminPage(browser, url, "admin@acme.example");

  // ---- Connectors.
  await page.goto(`${url}/connectors`);
  await page.getByText("Nothing connected.").waitFor();
  const listed = async (kind) => (await api("GET", "/api/connectors")).body.items.filter((c) => c.kind === kind);
  const card = (k) => page.locator(".cards > li").filter({ has: page.locator("strong").getByText(k.title, { exact: true }) });
  const credential = (k) => page.getByLabel(k.secret, { exact: true });
  /** Chooses the kind and fills its form, the credential with `secret`. */
  const fill = async (k, secret) => {
    await page.getByLabel("Kind").selectOption(k.kind);
    for (const [label, value] of Object.entries(k.fields)) await page.getByLabel(label, { exact: true }).fill(value);
    await credential(k).fill(secret);
  };
  /** Presses Connect: the API's answer to the page's request (status and body). */
  const connect = async (k) => {
    const answered = page.waitForResponse((r) => r.request().method() === "POST" && r.url() === `${url}/api/connectors/${k.kind}`);
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    const r = await answered;
    return { status: r.status(), body: await r.json().catch(() => null) };
  };
  /** A refused connect: the page's alert is the API's message, and nothing of the kind is
   *  connected, on the page or in the API. The message. */
  const refused = async (k, answer, what) => {
    const message = answer.body?.error?.message ?? "";
    check(answer.status === 502 && message.includes(k.title), `${k.kind}, ${what}: the API answers 502 naming ${k.title}: ${answer.status} ${message}`);
    let shown = "";
    await until(async () => (shown = (await page.getByRole("alert").textContent().catch(() => "")).trim()) === message, 5000);
    check(shown === message, `${k.kind}, ${what}: the page shows the API's error in words: "${shown}"`);
    const none = (await listed(k.kind)).length === 0 && (await card(k).count()) === 0;
    check(none, `${k.kind}, ${what}: nothing is connected (page and API)`);
    return message;
  };

  for (const k of providers.kinds) {
    // The provider failing as a whole.
    await fill(k, k.good);
    k.fake.mode = "500";
    const down = await refused(k, await connect(k), "the provider answering 500");
    check(/HTTP 500/.test(down), `${k.kind}: the error says the provider answered 500: ${down}`);
    k.fake.mode = "ok";
    // A credential the provider refuses, in its own words (never repeating the credential).
    await credential(k).fill(k.bad);
    const said = await refused(k, await connect(k), "a bad credential");
    check(k.refused.test(said), `${k.kind}: the refusal is the provider's, in its words: ${said}`);
    if (k.kind !== "aws") check(!said.includes(k.bad), `${k.kind}: the refusal does not repeat the credential`);
    // The right one.
    await credential(k).fill(k.good);
    const asked = k.fake.requests.length;
    const answer = await connect(k);
    check(answer.status === 201 && answer.body?.status === "connected", `${k.kind}: the API connects it (${answer.status} ${answer.body?.status ?? JSON.stringify(answer.body)})`);
    await card(k).getByText("connected", { exact: true }).waitFor();
    check(true, `${k.kind}: the page shows ${k.title} connected`);
    check((await page.getByRole("alert").count()) === 0, `${k.kind}: the earlier error is gone`);
    check((await credential(k).inputValue()) === "", `${k.kind}: the form is cleared (the credential is not kept on the page)`);
    const [row, ...more] = await listed(k.kind);
    check(row?.status === "connected" && more.length === 0, `${k.kind}: the API lists one ${k.kind} connector, connected`);
    const settingsShown = Object.entries(k.settings).every(([name, value]) => row?.settings?.[name] === value);
    check(settingsShown, `${k.kind}: the API lists the settings typed: ${JSON.stringify(row?.settings)}`);
    if (k.kind !== "aws") check(!JSON.stringify(row).includes(k.good), `${k.kind}: the API never shows the credential`);
    const sent = k.fake.requests.slice(asked).some((r) => JSON.stringify(r).includes(k.good));
    check(sent, `${k.kind}: the provider was asked with the credential typed (${k.fake.requests.length - asked} requests)`);
  }
  check((await page.locator(".cards > li").count()) === providers.kinds.length, `the page lists the ${providers.kinds.length} connectors`);
  await accessible(page, "connectors (every kind connected)");
  await shot(page, "connectors-connected");

  // Disconnected, then connected while the provider cannot be reached: connected, failing, and
  // the last check says why.
  for (const k of providers.kinds) {
    await card(k).getByRole("button", { name: "Disconnect" }).click();
    await card(k).waitFor({ state: "detached" });
    check((await listed(k.kind)).length === 0, `${k.kind}: disconnected, the API lists none`);
    k.fake.mode = "drop";
    await fill(k, k.good);
    const answer = await connect(k);
    k.fake.mode = "ok";
    const detail = answer.body?.last_check?.detail ?? "";
    check(
      answer.status === 201 && answer.body?.status === "failing" && answer.body?.last_check?.ok === false && /could not be reached/.test(detail),
      `${k.kind}: the unreachable provider's account is kept, failing: ${answer.status} ${answer.body?.status} "${detail}"`,
    );
    await card(k).getByText("failing", { exact: true }).waitFor();
    check(true, `${k.kind}: the page shows the failing status`);
    const shown = await card(k).textContent();
    check(detail !== "" && shown.includes(`last check: ${detail}`), `${k.kind}: the page shows the last check's error: ${shown}`);
    const [row] = await listed(k.kind);
    check(row?.status === "failing" && row.last_check.detail === detail, `${k.kind}: the API lists it failing with the same error`);
  }
  await accessible(page, "connectors (every kind failing)");
  await shot(page, "connectors-failing");

  // ---- Chat: the model picker.
  const models = (await api("GET", "/api/chat/models")).body;
  check(
    models?.default === DEFAULT_MODEL && JSON.stringify(models.models) === JSON.stringify([DEFAULT_MODEL, SECOND_MODEL]),
    `the API lists both models, the default first: ${JSON.stringify(models)}`,
  );
  await page.goto(`${url}/chat`);
  await page.getByText("Connected.").waitFor();
  const picker = page.getByLabel("Model", { exact: true });
  await until(async () => (await picker.inputValue()) === DEFAULT_MODEL, 5000);
  const offered = await picker.locator("option").allTextContents();
  check(JSON.stringify(offered) === JSON.stringify(models.models), `the picker offers the API's models: ${offered.join(", ")}`);
  check((await picker.inputValue()) === DEFAULT_MODEL, "the picker starts on the default model");
  /** The models the scripted endpoint was asked with for `question`. */
  const modelsAskedFor = (question) =>
    model.requests.filter((r) => r.messages?.some((m) => m.role === "user" && String(m.content).includes(question))).map((r) => r.model);
  const ask = async (question, answer) => {
    await page.getByLabel("Your question").fill(question);
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByTestId("answer").filter({ hasText: answer }).waitFor({ timeout: 30000 });
    await page.getByRole("button", { name: "Send" }).and(page.locator(":enabled")).waitFor();
  };
  await ask("Which model answers first?", "The first answer, from the default model.");
  const first = modelsAskedFor("Which model answers first?");
  check(first.length > 0 && first.every((m) => m === DEFAULT_MODEL), `with the default picked, the question goes to ${DEFAULT_MODEL}: ${first.join(", ")}`);

  await picker.selectOption(SECOND_MODEL);
  await ask("Which model answers second?", "The second answer, from the model picked.");
  const second = modelsAskedFor("Which model answers second?");
  check(second.length > 0 && second.every((m) => m === SECOND_MODEL), `with ${SECOND_MODEL} picked, the question goes to it: ${second.join(", ")}`);
  check((await picker.inputValue()) === SECOND_MODEL, "the picker keeps the model picked");
  let usage = null;
  await until(async () => {
    usage = (await api("GET", "/api/llm-usage")).body;
    return usage?.by_model?.some((m) => m.model === SECOND_MODEL);
  }, 10000);
  const byModel = Object.fromEntries((usage?.by_model ?? []).map((m) => [m.model, m.calls]));
  check(byModel[DEFAULT_MODEL] >= 1 && byModel[SECOND_MODEL] >= 1, `the LLM usage counts calls of each model: ${JSON.stringify(byModel)}`);
  await accessible(page, "chat (second model picked)");
  await shot(page, "chat-model-picked");
});
