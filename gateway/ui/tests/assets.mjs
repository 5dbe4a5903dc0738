// How the embedded web UI is served, checked on the wire against a real aurora (`aurora up`):
// JavaScript and CSS compressed when the browser accepts it, hashed assets cached for a year as
// immutable, index.html revalidated on every load, the app's routes answered with index.html,
// and the API's JSON 404 kept for /api/* and for missing files.
//
//   node tests/assets.mjs <path to the aurora binary>
//
// node:http, not fetch: fetch would undo the compression this checks.
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { suite } from "./aurora.mjs";

const { check, run } = suite();

/** `method path` with `headers`: status, headers and the body's raw bytes. */
function get(url, path, headers = {}, method = "GET") {
  return new Promise((ok, bad) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      const parts = [];
      res.on("data", (c) => parts.push(c));
      res.on("end", () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", bad);
    });
    req.on("error", bad);
    req.end();
  });
}

await run({ chromium: false, took: "the asset checks", what: "asset" }, async ({ url }) => {
  // index.html: the app's page, revalidated on every load (a new release shows at once).
  const index = await get(url, "/", { "accept-encoding": "gzip" });
  const html = (index.headers["content-encoding"] === "gzip" ? gunzipSync(index.body) : index.body).toString("utf8");
  check(index.status === 200 && /text\/html/.test(index.headers["content-type"]), `/ is the app's page (${index.status} ${index.headers["content-type"]})`);
  check(index.headers["cache-control"] === "no-cache", `index.html is revalidated on each load, not cached as immutable (${index.headers["cache-control"]})`);
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  check(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), `index.html names its JavaScript and CSS: ${assets.join(", ")}`);

  for (const asset of assets) {
    const plain = await get(url, asset);
    const gzip = await get(url, asset, { "accept-encoding": "gzip, deflate, br" });
    const kind = asset.endsWith(".js") ? /text\/javascript/ : /text\/css/;
    check(plain.status === 200 && kind.test(plain.headers["content-type"]), `${asset}: served with its type (${plain.headers["content-type"]})`);
    check(!plain.headers["content-encoding"], `${asset}: sent as is to a client that accepts no compression`);
    check(gzip.headers["content-encoding"] === "gzip", `${asset}: gzip when the browser accepts it (${gzip.headers["content-encoding"]})`);
    check(/accept-encoding/i.test(gzip.headers.vary ?? ""), `${asset}: Vary: Accept-Encoding, so caches keep both (${gzip.headers.vary})`);
    const unzipped = gzip.headers["content-encoding"] === "gzip" ? gunzipSync(gzip.body) : Buffer.alloc(0);
    check(unzipped.equals(plain.body), `${asset}: the gzip body is the file (${gzip.body.length} bytes for ${plain.body.length})`);
    check(gzip.body.length < plain.body.length / 2, `${asset}: compression at least halves it (${gzip.body.length} of ${plain.body.length} bytes)`);
    for (const [name, r] of [["plain", plain], ["gzip", gzip]]) {
      const cache = r.headers["cache-control"] ?? "";
      check(
        /\bimmutable\b/.test(cache) && /max-age=31536000\b/.test(cache) && /\bpublic\b/.test(cache),
        `${asset} (${name}): a hashed asset is cached for a year as immutable (${cache})`,
      );
    }
  }

  // The app's routes, deep links included, answer index.html (the app routes them).
  // Every page of the app's navigation, a reload or a link there included (no API route may
  // take one: /metrics is Prometheus's, so the metrics page is elsewhere).
  const pages = ["/", "/chat", "/integrations", "/connectors", "/graph", "/knowledge", "/metrics-and-usage", "/organization", "/sign-in", "/register", "/accept"];
  for (const page of [...pages, "/incidents/00000000-0000-0000-0000-000000000000", "/chat/00000000-0000-0000-0000-000000000000", "/no/such/page"]) {
    const r = await get(url, page);
    check(
      r.status === 200 && /text\/html/.test(r.headers["content-type"]) && r.body.toString("utf8") === html && r.headers["cache-control"] === "no-cache",
      `${page}: falls back to index.html (${r.status}, ${r.headers["cache-control"]})`,
    );
  }

  // What is not a page keeps the API's JSON 404.
  const notFound = async (path, method = "GET", headers = {}) => {
    const r = await get(url, path, headers, method);
    let code = null;
    try {
      code = JSON.parse(r.body.toString("utf8")).error?.code;
    } catch {}
    check(
      r.status === 404 && /application\/json/.test(r.headers["content-type"]) && code === "not_found",
      `${method} ${path}${headers.accept ? ` (Accept: ${headers.accept})` : ""}: the API's JSON 404 (${r.status} ${r.headers["content-type"]} ${code})`,
    );
  };
  await notFound("/api/nope");
  await notFound("/api/nope", "GET", { accept: "text/html" });
  await notFound("/api");
  await notFound("/assets/missing-0123abcd.js");
  await notFound("/organization", "POST");
});
