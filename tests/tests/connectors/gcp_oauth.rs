//! GCP connected with a Google account (OAuth 2.0 with state and PKCE) against the fake Google:
//! the test plays the browser (reads the authorization URL, consents, calls the callback), the
//! fake token endpoint checks the code, the client and that the `code_verifier` hashes to the
//! challenge; then a chat's gcloud (a fake printing what it got) sees an access-token file and
//! never the refresh token, which is nowhere but the secret store. Bad states, Google's errors,
//! roles, and another tenant, which can neither complete the flow nor use the account.

use std::collections::BTreeMap;
use std::time::Duration;

use aurora_tests::chat::{ChatSocket, FakeClis};
use aurora_tests::llm::{Script, ScriptedLlm, Step};
use aurora_tests::logs::LogCapture;
use aurora_tests::providers::{FakeProviders, GCP_OAUTH_CLIENT_ID};
use aurora_tests::{Account, TestApp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::cli::output;
use super::leaks::{streams_text, tables_text};
use crate::chat::helpers::{agent_config, query};

const START: &str = "/api/connectors/gcp/oauth";
const CALLBACK: &str = "/api/connectors/gcp/oauth/callback";

struct OauthApp {
    app: TestApp,
    fake: FakeProviders,
    clis: FakeClis,
    llm: ScriptedLlm,
    admin: Account,
    _work: tempfile::TempDir,
}

/// An app whose connectors reach the fake providers, a scripted model and a fake gcloud, and an
/// admin; nothing connected. `state_ttl` shortens how long a flow waits for its callback.
async fn oauth_app(scripts: Vec<Script>, state_ttl: Option<Duration>) -> OauthApp {
    let llm = ScriptedLlm::start(scripts).await;
    let clis = FakeClis::install(&[("gcloud", "")]);
    let work = tempfile::tempdir().expect("a work dir");
    let fake = FakeProviders::start().await;
    let mut connectors = fake.config();
    if let (Some(ttl), Some(oauth)) = (state_ttl, connectors.gcp_oauth.as_mut()) {
        oauth.state_ttl = ttl;
    }
    let app = TestApp::launch()
        .agent(agent_config(Some(&llm), &clis, work.path()))
        .connectors(connectors)
        .spawn()
        .await;
    let admin = app
        .register(
            &format!("ana-{}@acme.io", uuid::Uuid::new_v4().simple()),
            "Acme",
        )
        .await;
    OauthApp {
        app,
        fake,
        clis,
        llm,
        admin,
        _work: work,
    }
}

/// Starts a flow as `who`: the authorization URL and its query.
async fn start(app: &TestApp, who: &Account) -> (String, BTreeMap<String, String>) {
    let body = app
        .post_json(START, Some(who), &json!({}))
        .await
        .expect_status(201);
    let url = body["authorization_url"]
        .as_str()
        .expect("a URL")
        .to_owned();
    let query = url::Url::parse(&url)
        .expect("a URL")
        .query_pairs()
        .into_owned()
        .collect();
    (url, query)
}

/// The browser coming back from Google.
async fn come_back(app: &TestApp, who: &Account, pairs: &[(&str, &str)]) -> aurora_tests::Answer {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.get_json(&format!("{CALLBACK}?{query}"), Some(who))
        .await
}

/// How many refresh grants the fake Google answered.
fn refresh_grants(fake: &FakeProviders) -> usize {
    fake.requests_to("/token")
        .iter()
        .filter(|r| r.form().get("grant_type").map(String::as_str) == Some("refresh_token"))
        .count()
}

fn gcloud_script(call: &str) -> Step {
    Step::tool(
        call,
        "cloud_exec",
        json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
    )
}

/// A fake gcloud printing what a credential can come through, the access-token file's mode and
/// digest, and whether `refresh` is anywhere it can see.
fn print_what_gcloud_got(refresh: &str) -> String {
    format!(
        r#"env | grep -E '^CLOUDSDK_' | sort
f="$CLOUDSDK_AUTH_ACCESS_TOKEN_FILE"
echo "file $f mode $(stat -c %a "$f")"
echo "digest $(sha256sum < "$f" | cut -d' ' -f1)"
env | grep -qF '{refresh}' && echo "the refresh token is in the environment"
grep -rqF '{refresh}' "$(dirname "$f")" && echo "the refresh token is in the files"
true"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_account_connects_with_state_and_pkce_and_gcloud_gets_only_an_access_token() {
    let logs = LogCapture::start();
    let script = Script::new(
        "list the instances",
        vec![
            gcloud_script("call_1"),
            gcloud_script("call_2"),
            Step::text(&["Listed."]),
        ],
    );
    let t = oauth_app(vec![script], None).await;
    let (url, q) = start(&t.app, &t.admin).await;
    assert_eq!(q["client_id"], GCP_OAUTH_CLIENT_ID);
    assert!(q["redirect_uri"].ends_with(CALLBACK), "{url}");
    assert!(q["scope"].contains("https://www.googleapis.com/auth/cloud-platform"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["code_challenge"].len(), 43, "base64url of a SHA-256");

    let code = t.fake.consent(&url, "ana@acme.io");
    let connector = come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_status(201);
    assert_eq!(connector["kind"], "gcp");
    assert_eq!(connector["status"], "connected", "{connector}");
    assert_eq!(
        connector["settings"],
        json!({"kind": "gcp", "project_id": "shop-prod", "client_email": "ana@acme.io", "auth": "oauth"})
    );
    // The code was exchanged with the verifier whose S256 is the URL's challenge.
    let exchange = t.fake.requests_to("/token");
    let form = exchange.last().expect("the code exchange").form();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], code);
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(form["code_verifier"].as_bytes())),
        q["code_challenge"]
    );
    // The projects were listed with the access token, as for a key.
    let id = connector["id"].as_str().expect("an id");
    let projects = t
        .app
        .get_json(&format!("/api/connectors/{id}/projects"), Some(&t.admin))
        .await
        .expect_status(200);
    assert_eq!(
        projects["projects"].as_array().map(Vec::len),
        Some(3),
        "{projects}"
    );

    // The state was used up.
    come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_error(400, "invalid_state");

    // A chat's gcloud gets an access token from the refresh grant, in a 0600 file.
    let refresh = t
        .fake
        .google_refresh_tokens()
        .pop()
        .expect("a refresh token");
    t.clis.script("gcloud", &print_what_gcloud_got(&refresh));
    let mut socket = ChatSocket::open(&t.app, &t.admin, None).await;
    socket.send(query("list the instances", "ask")).await;
    let frames = socket.until_end().await;
    let got = output(&frames, "call_1");
    let access = t
        .fake
        .google_access_tokens()
        .pop()
        .expect("an access token");
    assert!(got.contains("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE="), "{got}");
    assert!(got.contains("CLOUDSDK_CORE_PROJECT=shop-prod"), "{got}");
    assert!(
        !got.contains("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"),
        "{got}"
    );
    assert!(got.contains(" mode 600"), "{got}");
    let digest = format!("{:x}", Sha256::digest(access.as_bytes()));
    assert!(got.contains(&format!("digest {digest}")), "{got}");
    assert!(!got.contains("refresh token is in"), "{got}");
    let file = got
        .lines()
        .find_map(|l| l.strip_prefix("file "))
        .and_then(|l| l.split(" mode ").next())
        .expect("the token file");
    assert!(!std::path::Path::new(file).exists(), "{file} is removed");
    // The second command reused the cached access token: one refresh grant.
    assert!(output(&frames, "call_2").contains(&format!("digest {digest}")));
    assert_eq!(refresh_grants(&t.fake), 1);
    assert_eq!(t.clis.calls().len(), 2);

    // Neither token is in an event, a table, a log line, an answer or the model's requests.
    let places = [
        ("the streams", streams_text(&t.app).await),
        ("the tables", tables_text(&t.app).await),
        ("the logs", logs.text()),
        ("the frames", serde_json::to_string(&frames).expect("JSON")),
        (
            "the model",
            serde_json::to_string(&t.llm.requests()).expect("JSON"),
        ),
        ("the connector", connector.to_string()),
    ];
    for (place, text) in places {
        for secret in [refresh.as_str(), access.as_str()] {
            assert!(!text.contains(secret), "{secret} in {place}");
        }
    }
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_is_unknown_expired_or_for_another_flow_and_googles_errors_are_refused() {
    let t = oauth_app(vec![], Some(Duration::from_secs(2))).await;
    // Unknown, and no state at all.
    come_back(
        &t.app,
        &t.admin,
        &[("code", "4/0abc"), ("state", "never-issued-state")],
    )
    .await
    .expect_error(400, "invalid_state");
    come_back(&t.app, &t.admin, &[("code", "4/0abc")])
        .await
        .expect_error(400, "invalid_query");

    // Google refuses a code it did not issue: 502 naming Google.
    let (_, q) = start(&t.app, &t.admin).await;
    let answer = come_back(
        &t.app,
        &t.admin,
        &[("code", "4/0forged"), ("state", &q["state"])],
    )
    .await;
    answer.expect_error(502, "provider_error");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Google") && m.contains("invalid_grant")),
        "{}",
        answer.body
    );

    // A code consented for one flow, brought back with another flow's state: the verifier does
    // not match the code's challenge, and Google says so.
    let (url_a, _) = start(&t.app, &t.admin).await;
    let (_, q_b) = start(&t.app, &t.admin).await;
    let code_a = t.fake.consent(&url_a, "ana@acme.io");
    let answer = come_back(
        &t.app,
        &t.admin,
        &[("code", &code_a), ("state", &q_b["state"])],
    )
    .await;
    answer.expect_error(502, "provider_error");
    assert!(
        answer.body.to_string().contains("Invalid code verifier"),
        "{}",
        answer.body
    );

    // The account refused consent: Google sends an error instead of a code.
    let (_, q) = start(&t.app, &t.admin).await;
    let answer = come_back(
        &t.app,
        &t.admin,
        &[("error", "access_denied"), ("state", &q["state"])],
    )
    .await;
    answer.expect_error(502, "provider_error");
    assert!(
        answer.body.to_string().contains("access_denied"),
        "{}",
        answer.body
    );

    // Expired: the flow waited longer than its state lives.
    let (url, q) = start(&t.app, &t.admin).await;
    let code = t.fake.consent(&url, "ana@acme.io");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let answer = come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])]).await;
    answer.expect_error(400, "invalid_state");
    assert!(
        answer.body.to_string().contains("expired"),
        "{}",
        answer.body
    );
    // Nothing was connected by any of it.
    let list = t
        .app
        .get_json("/api/connectors", Some(&t.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    t.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_start_or_complete_a_flow_each_google_account_once_and_only_with_a_client() {
    let t = oauth_app(vec![], None).await;
    let (url, q) = start(&t.app, &t.admin).await;
    let code = t.fake.consent(&url, "ana@acme.io");
    for role in ["editor", "viewer"] {
        let member = t
            .app
            .invite_and_register(
                &t.admin,
                &format!("{role}-{}@acme.io", uuid::Uuid::new_v4().simple()),
                role,
            )
            .await;
        t.app
            .post_json(START, Some(&member), &json!({}))
            .await
            .expect_error(403, "forbidden");
        come_back(&t.app, &member, &[("code", &code), ("state", &q["state"])])
            .await
            .expect_error(403, "forbidden");
    }
    // The refusals used nothing up: the admin completes the flow.
    come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_status(201);
    // The same Google account again is refused; another one is a second GCP connector.
    let (url, q) = start(&t.app, &t.admin).await;
    let code = t.fake.consent(&url, "ana@acme.io");
    come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_error(409, "already_connected");
    let (url, q) = start(&t.app, &t.admin).await;
    let code = t.fake.consent(&url, "bo@acme.io");
    come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_status(201);
    let list = t
        .app
        .get_json("/api/connectors", Some(&t.admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    t.app.stop().await;

    // Without Aurora's OAuth client there is no flow.
    let app = TestApp::spawn().await;
    let admin = app.register("bo@acme.io", "Acme").await;
    app.post_json(START, Some(&admin), &json!({}))
        .await
        .expect_error(422, "gcp_oauth_not_configured");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_can_neither_complete_the_flow_nor_use_the_account() {
    let script = Script::new(
        "list the instances",
        vec![gcloud_script("call_1"), Step::text(&["No."])],
    );
    let t = oauth_app(vec![script], None).await;
    let eve = t.app.register("eve@globex.io", "Globex").await;
    let (url, q) = start(&t.app, &t.admin).await;
    let code = t.fake.consent(&url, "ana@acme.io");
    // Globex's admin brings Acme's code and state back: the state is not Globex's.
    come_back(&t.app, &eve, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_error(400, "invalid_state");
    assert_eq!(
        t.fake.requests_to("/token").len(),
        0,
        "no code was exchanged"
    );
    // Acme's flow is intact.
    come_back(&t.app, &t.admin, &[("code", &code), ("state", &q["state"])])
        .await
        .expect_status(201);
    let list = t
        .app
        .get_json("/api/connectors", Some(&eve))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    // Globex's run cannot use Acme's account.
    t.clis.script("gcloud", "echo ran");
    let mut socket = ChatSocket::open(&t.app, &eve, None).await;
    socket.send(query("list the instances", "ask")).await;
    let frames = socket.until_end().await;
    assert_eq!(
        output(&frames, "call_1"),
        "Google Cloud is not connected: an admin connects it under Connectors first"
    );
    assert!(t.clis.calls().is_empty(), "{:?}", t.clis.calls());
    assert_eq!(
        refresh_grants(&t.fake),
        0,
        "no access token was made for Globex"
    );
    t.app.stop().await;
}
