// A real aurora for the browser tests and benches: `aurora up` on a free port with its own
// nats-server, a fresh database on the test PostgreSQL and a scratch data directory; and what
// they share around it (readiness, axe-core's source, Chromium).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
