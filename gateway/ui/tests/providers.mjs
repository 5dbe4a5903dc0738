// Fake providers for the connectors' browser tests: one small HTTP server per kind, answering
// the read Aurora's connect check makes (handlers/src/connectors/check/, aws.rs) in the shape
// the provider documents, as the Rust tests' fakes do (tests/src/providers/routes.rs).
//
// Each fake refuses a credential containing "bad" in its provider's own words, and can be told
// to fail as a whole: `fake.mode = "500"` answers every request with an internal error, `"drop"`
// closes every connection unanswered (the provider unreachable: Aurora connects the account but
// records a failing check). `fake.requests` keeps what it was sent.
import { fakeServer } from "./aurora.mjs";

/** What a route reads of a request: its method and path, a header by name, the bearer token, the
 *  body as sent and as a form. */
function read(req, body) {
  const header = (name) => String(req.headers[name] ?? "");
  return {
    method: req.method,
    path: new URL(req.url, "http://fake").pathname,
    header,
    bearer: header("authorization").replace(/^Bearer /, ""),
    body,
    form: Object.fromEntries(new URLSearchParams(body)),
  };
}

/** Starts a fake whose `route(request)` ([`read`]) answers `{ status, json }` or `{ status, xml }`. */
async function fake(route) {
  const state = { mode: "ok", requests: [] };
  const server = await fakeServer((req, res, body) => {
    const request = read(req, body);
    const { path } = request;
    state.requests.push({ method: req.method, url: req.url, path, headers: req.headers, body });
    if (state.mode === "drop") return req.socket.destroy();
    if (state.mode === "500")
      return res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ message: "internal error: the backend is down" }));
    const answer = route(request) ?? { status: 404, json: { message: `the fake has no route for ${req.method} ${path}` } };
    if (answer.xml !== undefined) return res.writeHead(answer.status, { "content-type": "text/xml" }).end(answer.xml);
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.json));
  });
  return Object.assign(state, server);
}

const bad = (credential) => !credential || credential.includes("bad");
const ok = (json) => ({ status: 200, json });
/** The credential typed into the form's `secret` field: `<stem>-good` connects, `<stem>-bad` is
 *  refused in the words `refused` matches. */
const credential = (secret, stem, refused) => ({ secret, good: `${stem}-good`, bad: `${stem}-bad`, refused });

/** Aurora's own AWS keys (it signs STS AssumeRole with them). */
export const AURORA_AWS = { id: "AKIAAURORAUITEST0001", secret: "aurora-ui-test-aws-secret-key" };
const GUIDS = {
  tenant: "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
  client: "11111111-2222-4333-8444-555555555555",
  subscription: "66666666-7777-4888-9999-aaaaaaaaaaaa",
  scaleway: "7c2a1f3e-5b4d-4e6f-8a9b-0c1d2e3f4a5b",
};

// Every kind but GCP and Kubernetes: its fake, what the form is filled with (settings shown
// again, the credential typed into `secret`, a bad value of it refused), the settings the API
// must list, and the words the provider's refusal is known by.
export const KINDS = [
  {
    kind: "aws",
    title: "AWS",
    // No credential: Aurora assumes the tenant's role with its own keys and the external id,
    // so a wrong external id is what STS refuses.
    fields: { "role arn": "arn:aws:iam::123456789012:role/aurora-readonly", region: "eu-west-3" },
    secret: "external id",
    good: "aurora-acme-7f3c",
    bad: "wrong-external-id",
    settings: { role_arn: "arn:aws:iam::123456789012:role/aurora-readonly", external_id: "aurora-acme-7f3c", region: "eu-west-3" },
    refused: /AWS STS refused the credential \(HTTP 403\): AccessDenied: User is not authorized to perform: sts:AssumeRole/,
    route: ({ method, path, header, form: f }) => {
      const signed = header("authorization").startsWith(`AWS4-HMAC-SHA256 Credential=${AURORA_AWS.id}/`) && header("authorization").includes("/eu-west-3/sts/aws4_request");
      if (method !== "POST" || path !== "/" || f.Action !== "AssumeRole" || !signed || f.ExternalId !== "aurora-acme-7f3c")
        return {
          status: 403,
          xml: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole on resource: ${f.RoleArn}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
        };
      const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      return {
        status: 200,
        xml: `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn>${f.RoleArn}</Arn><AssumedRoleId>AROA:${f.RoleSessionName}</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>ASIAFAKE000000000001</AccessKeyId><SecretAccessKey>temporary-secret</SecretAccessKey><SessionToken>temporary-token</SessionToken><Expiration>${expiration}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      };
    },
  },
  {
    kind: "azure",
    title: "Azure",
    fields: { "tenant id": GUIDS.tenant, "client id": GUIDS.client, "subscription id": GUIDS.subscription },
    settings: { tenant_id: GUIDS.tenant, client_id: GUIDS.client, subscription_id: GUIDS.subscription },
    // Microsoft's answer quotes the secret here; Aurora must not repeat it.
    ...credential("client secret", "azure-client-secret", /Azure refused the credential \(HTTP 401\): .*invalid_client.*AADSTS7000215/),
    route: ({ method, path, form: f }) => {
      if (method !== "POST" || path !== `/${GUIDS.tenant}/oauth2/v2.0/token`) return undefined;
      if (bad(f.client_secret) || f.grant_type !== "client_credentials" || f.client_id !== GUIDS.client)
        return { status: 401, json: { error: "invalid_client", error_description: `AADSTS7000215: Invalid client secret provided (${f.client_secret}).` } };
      return ok({ token_type: "Bearer", expires_in: 3599, access_token: "eyJ0eXAiOiJKV1Qi.azure-fake-token" });
    },
  },
  {
    kind: "scaleway",
    title: "Scaleway",
    fields: { "access key": "SCWABCDEFGHIJKLMNOPQ", "project id": GUIDS.scaleway, region: "fr-par" },
    settings: { access_key: "SCWABCDEFGHIJKLMNOPQ", project_id: GUIDS.scaleway, region: "fr-par" },
    ...credential("secret key", "scw-secret-key", /Scaleway refused the credential \(HTTP 401\): .*denied_authentication/),
    route: ({ path, header }) => {
      const m = path.match(/^\/account\/v3\/projects\/([^/]+)$/);
      if (!m) return undefined;
      if (bad(header("x-auth-token"))) return { status: 401, json: { type: "denied_authentication", message: "invalid secret key" } };
      return ok({ id: m[1], name: "default", organization_id: m[1], description: "", created_at: "2026-01-01T00:00:00Z" });
    },
  },
  {
    kind: "tailscale",
    title: "Tailscale",
    fields: { tailnet: "acme.example" },
    settings: { tailnet: "acme.example" },
    ...credential("api key", "tskey-api", /Tailscale refused the credential \(HTTP 401\): .*API token invalid/),
    route: ({ path, bearer }) => {
      if (path !== "/api/v2/tailnet/acme.example/devices") return undefined;
      if (bad(bearer)) return { status: 401, json: { message: "API token invalid" } };
      return ok({ devices: [{ id: "92960230385", hostname: "db-1", name: "db-1.tail1234.ts.net", addresses: ["100.101.102.103"], os: "linux" }] });
    },
  },
  {
    kind: "ovh",
    title: "OVHcloud",
    fields: { region: "EU", "client id": "ovh-service-account-id" },
    settings: { region: "EU" },
    ...credential("client secret", "ovh-client-secret", /OVHcloud refused the credential \(HTTP 401\): .*invalid_client/),
    route: ({ method, path, bearer, form: f }) => {
      if (method === "POST" && path === "/auth/oauth2/token") {
        if (bad(f.client_secret) || f.grant_type !== "client_credentials")
          return { status: 401, json: { error: "invalid_client", error_description: "client secret is wrong" } };
        return ok({ access_token: "ovh-fake-access-token", token_type: "Bearer", expires_in: 3600, scope: "all" });
      }
      if (method === "GET" && path === "/1.0/me") {
        if (bearer !== "ovh-fake-access-token") return { status: 401, json: { class: "Client::Unauthorized", message: "Invalid token" } };
        return ok({ nichandle: "ab12345-ovh", country: "FR" });
      }
      return undefined;
    },
  },
  {
    kind: "datadog",
    title: "Datadog",
    fields: { site: "US1", "application key": "dd-application-key" },
    settings: { site: "US1" },
    ...credential("api key", "dd-api-key", /Datadog refused the credential \(HTTP 403\): .*Forbidden/),
    route: ({ path, header }) => {
      if (path !== "/api/v1/validate") return undefined;
      if (bad(header("dd-api-key")) || bad(header("dd-application-key"))) return { status: 403, json: { errors: ["Forbidden"] } };
      return ok({ valid: true });
    },
  },
  {
    kind: "newrelic",
    title: "New Relic",
    fields: { "account id": "1234567", region: "US" },
    secret: "api key",
    good: "NRAK-GOOD",
    bad: "NRAK-bad",
    settings: { account_id: 1234567, region: "US" },
    // NerdGraph refuses with HTTP 200 and `errors`.
    refused: /New Relic refused the credential \(HTTP 200\): Invalid API key/,
    route: ({ method, path, header, body }) => {
      if (method !== "POST" || path !== "/graphql") return undefined;
      if (bad(header("api-key")))
        return ok({ data: { actor: { account: null } }, errors: [{ message: "Invalid API key", extensions: { errorClass: "UNAUTHORIZED" } }] });
      const id = Number(JSON.parse(body).query.match(/account\(id: (\d+)\)/)?.[1]);
      return ok({ data: { actor: { account: { id, name: "Acme Production" } } } });
    },
  },
  {
    kind: "splunk",
    title: "Splunk",
    url: true,
    ...credential("token", "splunk-token", /Splunk refused the credential \(HTTP 401\): .*call not properly authenticated/),
    route: ({ path, bearer }) => {
      if (path !== "/services/server/info") return undefined;
      if (bad(bearer)) return { status: 401, json: { messages: [{ type: "WARN", text: "call not properly authenticated" }] } };
      return ok({ entry: [{ name: "server-info", content: { serverName: "splunk-acme", version: "9.3.1" } }] });
    },
  },
  {
    kind: "sentry",
    title: "Sentry",
    fields: { organization: "acme" },
    settings: { organization: "acme" },
    ...credential("token", "sntrys-token", /Sentry refused the credential \(HTTP 401\): .*Invalid token/),
    route: ({ path, bearer }) => {
      if (path !== "/api/0/organizations/acme/") return undefined;
      if (bad(bearer)) return { status: 401, json: { detail: "Invalid token" } };
      return ok({ id: "1", slug: "acme", name: "Acme" });
    },
  },
  {
    kind: "grafana",
    title: "Grafana",
    url: true,
    ...credential("token", "glsa-token", /Grafana refused the credential \(HTTP 401\): .*invalid API key/),
    route: ({ path, bearer }) => {
      if (path !== "/api/org") return undefined;
      if (bad(bearer)) return { status: 401, json: { message: "invalid API key", traceID: "" } };
      return ok({ id: 1, name: "Main Org." });
    },
  },
  {
    kind: "elasticsearch",
    title: "Elasticsearch",
    url: true,
    ...credential("api key", "es-api-key", /Elasticsearch refused the credential \(HTTP 401\): .*security_exception/),
    route: ({ method, path, header }) => {
      if (method !== "GET" || path !== "/") return undefined;
      const key = header("authorization").replace(/^ApiKey /, "");
      if (bad(key))
        return { status: 401, json: { error: { type: "security_exception", reason: "unable to authenticate with provided credentials" }, status: 401 } };
      return ok({ name: "es-1", cluster_name: "acme", version: { number: "8.15.0" }, tagline: "You Know, for Search" });
    },
  },
];

/** Starts every kind's fake; `{ kinds, env, close }`: each kind with its `fake` (and, for the
 *  kinds whose URL is a setting, `fields.url` and `settings.url` pointing at it), and the
 *  variables that point Aurora at the others. */
export async function fakeProviders() {
  const env = {
    AURORA_AWS_ACCESS_KEY_ID: AURORA_AWS.id,
    AURORA_AWS_SECRET_ACCESS_KEY: AURORA_AWS.secret,
    FEATURE_FLAG_OVH_ENABLED: "1",
  };
  const kinds = [];
  for (const k of KINDS) {
    const f = await fake(k.route);
    if (k.url) kinds.push({ ...k, fake: f, fields: { url: f.url }, settings: { url: f.url } });
    else {
      env[`AURORA_${k.kind.toUpperCase()}_BASE_URL`] = f.url;
      kinds.push({ ...k, fake: f });
    }
  }
  return { kinds, env, close: () => Promise.all(kinds.map((k) => k.fake.close())) };
}
