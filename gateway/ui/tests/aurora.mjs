// A real aurora for the browser tests and benches: `aurora up` on a free port with its own
// nats-server, a fresh database on the test PostgreSQL and a scratch data directory; and what
// they share around it (readiness, axe-core's source, Chromium).
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as httpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.AURORA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432";

/** A port nothing listens on now. */
export function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

/** Starts `binary up` with `env` added; `{ url, pid, databaseUrl, stop }` once it answers /ready. */
export async function startAurora(binary, env = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const db = `aurora_ui_${process.pid}`;
  const data = mkdtempSync(join(tmpdir(), "aurora-ui-"));
  execFileSync("psql", [`${base}/postgres`, "-qAtc", `CREATE DATABASE ${db}`]);
  const server = spawn(resolve(binary), ["up"], {
    env: {
      ...process.env,
      DATABASE_URL: `${base}/${db}`,
      AURORA_DATA_DIR: data,
      AURORA_LISTEN: `127.0.0.1:${port}`,
      RUST_LOG: "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stop = async () => {
    server.kill("SIGINT");
    await new Promise((ok) => (server.exitCode !== null ? ok() : server.once("exit", ok).once("error", ok)));
    try {
      execFileSync("psql", [`${base}/postgres`, "-qAtc", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]);
    } catch {}
    rmSync(data, { recursive: true, force: true });
  };
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) return { url, pid: server.pid, databaseUrl: `${base}/${db}`, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  await stop();
  throw new Error("aurora did not become ready in 120 s");
}

/** Debian's Chromium (or $CHROMIUM) through playwright-core. */
export function launchChromium() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
}

export const axeSource = () => readFileSync(resolve("node_modules/axe-core/axe.min.js"), "utf8");

// What the browser tests share: how a suite begins and ends, named checks, waiting for a
// condition, screenshots, axe-core, pages and a signed-up admin, signatures, fake HTTP servers and
// the fake tools the agent calls.

/** What every suite begins with: the aurora binary (its first argument), named checks ([`checks`]),
 *  `accessible` ([`axeChecker`]), screenshots ([`screenshots`]), and `run`, which runs it:
 *
 *  `run({ env, took, what, chromium = true, closing = [] }, body)` starts aurora with `env`
 *  ([`startAurora`]) and Chromium, then `body({ server, url, browser })`; what it throws is a
 *  failed check, with a screenshot of every open page. Whatever happens, Chromium is closed and
 *  aurora stopped (a stop that hangs must not hang the suite: killed 30 s after SIGINT, and said),
 *  then each of `closing` (the fakes the suite started) is closed; last the time it all took
 *  (`<took> took N s`) and `done(what)`. */
export function suite() {
  const aurora = process.argv[2] ?? "../../target/debug/aurora";
  const named = checks();
  const pictures = screenshots();
  const { fail, done } = named;
  const run = async ({ env = {}, took, what, chromium = true, closing = [] }, body) => {
    let server;
    let browser;
    const started = Date.now();
    try {
      server = await startAurora(aurora, env);
      if (chromium) browser = await launchChromium();
      await body({ server, url: server.url, browser });
    } catch (e) {
      fail(e);
      await pictures.onFailure(browser);
    } finally {
      await browser?.close().catch(() => {});
      const stopped = !server || (await Promise.race([server.stop().then(() => true), new Promise((ok) => setTimeout(() => ok(false), 30000).unref())]));
      if (!stopped) {
        fail(new Error(`aurora (pid ${server.pid}) did not stop within 30 s of SIGINT; killed`));
        process.kill(server.pid, "SIGKILL");
      }
      for (const fake of closing) await fake.close();
    }
    console.log(`\n${took} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    done(what);
  };
  return { aurora, ...named, accessible: axeChecker(named.check), ...pictures, run };
}

/** Named checks: `check(ok, what)` prints each and keeps the failed; `done()` exits 1 on any. */
export function checks() {
  const failures = [];
  const check = (ok, what) => {
    if (!ok) failures.push(what);
    console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
    return ok;
  };
  const fail = (error) => {
    failures.push(String(error?.stack ?? error));
    console.error(error);
  };
  const done = (what) => {
    if (failures.length) {
      console.error(`\n${failures.length} failed:\n${failures.join("\n")}`);
      process.exit(1);
    }
    console.log(`\nall ${what} checks passed`);
  };
  return { check, fail, done, failures };
}

/** Whether `test` comes true within `ms` (asked every 100 ms). */
export async function until(test, ms = 10000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100)))
    if (await test()) return true;
  return false;
}

/** Where the screenshots go (test-artifacts/), and `shot(page, name)` saving one there. */
export function screenshots() {
  const dir = resolve("test-artifacts");
  mkdirSync(dir, { recursive: true });
  const shot = (page, name) => page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  /** A screenshot of every open page, named after the failure. */
  const onFailure = async (browser) => {
    for (const page of browser?.contexts().flatMap((c) => c.pages()) ?? [])
      await page.screenshot({ path: join(dir, `failure-${Date.now()}.png`) }).catch(() => {});
  };
  return { dir, shot, onFailure };
}

/** `accessible(page, name)`: axe-core on the page, a named check that finds no serious or critical
 *  violation (the failure lists each rule with the elements it found). */
export function axeChecker(check) {
  const source = axeSource();
  return async (page, name) => {
    await page.addScriptTag({ content: source });
    const result = await page.evaluate(async () => await window.axe.run(document));
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    const said = bad.map((v) => `${v.id} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")})`);
    return check(bad.length === 0, `${name}: no serious accessibility violation ${said.join(" ")}`);
  };
}

/** Registers `email` as the admin of a new organisation through the API; the session's cookie
 *  is the context's (so its pages are signed in). */
export async function registerAdmin(context, url, email, organization = "Acme") {
  const r = await context.request.post(`${url}/api/auth/register`, {
    data: { email, password: "a long enough password", organization },
  });
  if (!r.ok()) throw new Error(`register ${email}: ${r.status()} ${await r.text()}`);
  return r.json();
}

/** A new page in `context` whose waits give up after 15 s. */
export async function pageIn(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  return page;
}

/** A new context, 1280 × 900 unless `options` (Playwright's) say otherwise, and a page in it
 *  ([`pageIn`]). */
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  return { context, page: await pageIn(context) };
}

/** A new context signed in as the admin `email` of a new organisation, and the API as that admin
 *  ([`apiOf`]). */
export async function adminContext(browser, url, email, organization = "Acme") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await registerAdmin(context, url, email, organization);
  return { context, api: apiOf(context, url) };
}

/** [`adminContext`] with a page in it ([`pageIn`]): how most suites begin. */
export async function adminPage(browser, url, email, organization = "Acme") {
  const { context, api } = await adminContext(browser, url, email, organization);
  return { context, page: await pageIn(context), api };
}

/** The API as the context's signed-in person: `api(method, path, body)` → `{ status, body }`. */
export function apiOf(context, url) {
  return async (method, path, body, headers = {}) => {
    const r = await context.request.fetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { data: body }),
    });
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    return { status: r.status(), body: json, text };
  };
}

/** `sha256=<hex hmac-sha256 of body>`, the X-Aurora-Signature of a delivery. */
export const auroraSignature = (secret, body) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** A Grafana alert body (firing) for `summary`, `fingerprint` on `service`, named `alertname`. */
export function grafanaAlert(summary, fingerprint, service = "checkout", alertname = summary) {
  return JSON.stringify({
    receiver: "aurora",
    status: "firing",
    version: "1",
    alerts: [
      {
        status: "firing",
        labels: { alertname, service, severity: "critical" },
        annotations: { summary },
        startsAt: new Date().toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        fingerprint,
      },
    ],
  });
}

/** An HTTP server on a free local port that reads each request's body, then calls
 *  `handle(req, res, body)`; `{ url, close }`. The fake models, providers and clouds are each one. */
export async function fakeServer(handle) {
  const server = httpServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => handle(req, res, body));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(ok);
      }),
  };
}

/** A fake kubectl the agent finds on its tools' PATH (`dir`): it logs each call and answers like
 *  the real one; `calls()` lists them; `close()` deletes it. Connect a cluster (`KUBECONFIG`) so
 *  the agent is offered kubectl. */
export function fakeKubectl() {
  const dir = mkdtempSync(join(tmpdir(), "aurora-ui-tools-"));
  const log = join(dir, "calls.log");
  writeFileSync(
    join(dir, "kubectl"),
    `#!/bin/sh
echo "kubectl $*" >> '${log}'
case "$*" in
  *delete*) echo 'pod "checkout-7" deleted' ;;
  *) echo '{"items":[{"metadata":{"name":"checkout-7","namespace":"shop"},"status":{"phase":"CrashLoopBackOff"}}]}' ;;
esac
`,
  );
  chmodSync(join(dir, "kubectl"), 0o755);
  return {
    dir,
    toolPath: `${dir}:/usr/bin:/bin`,
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A kubeconfig for a cluster nobody reaches (connecting one does not call it). */
export const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://prod.k8s.example:6443
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: aurora
users:
- name: aurora
  user:
    token: kube-token-for-the-ui-tests
`;
