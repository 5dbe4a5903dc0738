//! The fake providers' routes, each in its provider's documented shape (and error shape).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{Recorded, Shared, AURORA_AWS_KEY_ID, GCP_KEY_PEM};

type Fake = State<Arc<Mutex<Shared>>>;

pub(super) fn router(shared: Arc<Mutex<Shared>>) -> Router {
    Router::new()
        .route("/", get(elasticsearch).post(sts))
        .route("/api/v1/validate", get(datadog))
        .route("/graphql", post(newrelic))
        .route("/services/server/info", get(splunk))
        .route("/api/0/organizations/{org}/", get(sentry))
        .route("/api/org", get(grafana))
        .route("/api/v2/tailnet/{tailnet}/devices", get(tailscale))
        .route("/account/v3/projects/{id}", get(scaleway))
        .route("/{tenant}/oauth2/v2.0/token", post(azure))
        .route("/token", post(google_token))
        .route("/v1/projects", get(google_projects))
        .route("/auth/oauth2/token", post(ovh_token))
        .route("/1.0/me", get(ovh_me))
        .fallback(no_fixture)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            scripted,
        ))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// A request a test scripted is answered with its fixture, before any built-in route.
async fn scripted(
    State(shared): Fake,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let key = (
        request.method().as_str().to_owned(),
        request.uri().path().to_owned(),
    );
    let found = shared.lock().expect("state").fixtures.get(&key).cloned();
    match found {
        Some((status, content_type, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", content_type)],
            body,
        )
            .into_response(),
        None => next.run(request).await,
    }
}

/// Neither scripted nor built in: a 404 naming the request.
async fn no_fixture(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"message": format!("the fake has no fixture for {method} {}", uri.path())})),
    )
        .into_response()
}

/// Keeps every request for the tests.
async fn record(
    State(shared): Fake,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: super::pairs(parts.uri.query().unwrap_or_default()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    shared.lock().expect("state").requests.push(recorded);
    next.run(axum::extract::Request::from_parts(parts, bytes.into()))
        .await
}

fn planted(shared: &Arc<Mutex<Shared>>) -> Option<String> {
    shared.lock().expect("state").planted.clone()
}

/// A JSON answer, with the planted text when there is one.
pub(super) fn answer(shared: &Arc<Mutex<Shared>>, status: StatusCode, mut body: Value) -> Response {
    if let (Some(text), Value::Object(map)) = (planted(shared), &mut body) {
        map.insert("note".into(), Value::String(text));
    }
    (status, Json(body)).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn bearer(headers: &HeaderMap) -> &str {
    header(headers, "authorization")
        .strip_prefix("Bearer ")
        .unwrap_or_default()
}

fn bad(credential: &str) -> bool {
    credential.is_empty() || credential.contains("bad")
}

async fn datadog(State(s): Fake, headers: HeaderMap) -> Response {
    let key = header(&headers, "dd-api-key");
    if bad(key) || bad(header(&headers, "dd-application-key")) {
        return answer(
            &s,
            StatusCode::FORBIDDEN,
            json!({"errors": [format!("Forbidden: API key {key} is not valid")]}),
        );
    }
    answer(&s, StatusCode::OK, json!({"valid": true}))
}

async fn newrelic(State(s): Fake, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let key = header(&headers, "api-key");
    if bad(key) {
        return answer(
            &s,
            StatusCode::OK,
            json!({"data": {"actor": {"account": null}}, "errors": [{"message": format!("Invalid API key: {key}"), "extensions": {"errorClass": "UNAUTHORIZED"}}]}),
        );
    }
    let query = body["query"].as_str().unwrap_or_default();
    let id: Option<u64> = query
        .split("account(id: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse().ok());
    answer(
        &s,
        StatusCode::OK,
        json!({"data": {"actor": {"account": {"id": id, "name": "Acme Production"}}}}),
    )
}

async fn splunk(State(s): Fake, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    if bad(token) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"messages": [{"type": "WARN", "text": format!("call not properly authenticated (token {token})")}]}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"entry": [{"name": "server-info", "content": {"serverName": "splunk-acme", "version": "9.3.1"}}]}),
    )
}

async fn sentry(State(s): Fake, headers: HeaderMap, Path(org): Path<String>) -> Response {
    let token = bearer(&headers);
    if bad(token) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"detail": format!("Invalid token {token}")}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"id": "1", "slug": org, "name": "Acme"}),
    )
}

async fn grafana(State(s): Fake, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    if bad(token) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"message": format!("invalid API key {token}"), "traceID": ""}),
        );
    }
    answer(&s, StatusCode::OK, json!({"id": 1, "name": "Main Org."}))
}

async fn elasticsearch(State(s): Fake, headers: HeaderMap) -> Response {
    let key = header(&headers, "authorization")
        .strip_prefix("ApiKey ")
        .unwrap_or_default();
    if bad(key) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"error": {"type": "security_exception", "reason": format!("unable to authenticate with provided credentials [{key}]")}, "status": 401}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"name": "es-1", "cluster_name": "acme", "version": {"number": "8.15.0"}, "tagline": "You Know, for Search"}),
    )
}

async fn tailscale(State(s): Fake, headers: HeaderMap, Path(tailnet): Path<String>) -> Response {
    let key = bearer(&headers);
    if bad(key) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"message": format!("API token invalid: {key}")}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"devices": [{"id": "1", "hostname": format!("gw.{tailnet}"), "addresses": ["100.64.0.1"]}]}),
    )
}

async fn scaleway(State(s): Fake, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let key = header(&headers, "x-auth-token");
    if bad(key) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"type": "denied_authentication", "message": format!("invalid secret key {key}")}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"id": id, "name": "default", "organization_id": id}),
    )
}

async fn azure(State(s): Fake, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url_form(&body);
    let secret = form
        .iter()
        .find(|(k, _)| k == "client_secret")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if bad(secret) {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": format!("AADSTS7000215: Invalid client secret provided ({secret}).")}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0eXAiOiJKV1Qi.azure-fake-token"}),
    )
}

fn url_form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// RFC 7523: the assertion must be signed by the test key (the OAuth grants are
/// [`super::google_oauth`]'s).
async fn google_token(State(s): Fake, body: Bytes) -> Response {
    let form = url_form(&body);
    let fields: std::collections::BTreeMap<String, String> = form.iter().cloned().collect();
    match fields.get("grant_type").map(String::as_str) {
        Some("authorization_code") => return super::google_oauth::code_grant(&s, &fields),
        Some("refresh_token") => return super::google_oauth::refresh_grant(&s, &fields),
        _ => {}
    }
    let assertion = form
        .iter()
        .find(|(k, _)| k == "assertion")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !signed_by_test_key(&assertion) {
        return answer(
            &s,
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        );
    }
    let token = format!("ya29.fake-{}", uuid::Uuid::new_v4().simple());
    s.lock().expect("state").gcp_tokens.push(token.clone());
    answer(
        &s,
        StatusCode::OK,
        json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
    )
}

fn signed_by_test_key(jwt: &str) -> bool {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return false;
    };
    let Ok((_, der)) = x509_cert::der::pem::decode_vec(GCP_KEY_PEM.as_bytes()) else {
        return false;
    };
    let Ok(pair) = ring::signature::RsaKeyPair::from_pkcs8(&der) else {
        return false;
    };
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public().as_ref().to_vec(),
    );
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let claims: Value = URL_SAFE_NO_PAD
        .decode(claims)
        .ok()
        .and_then(|c| serde_json::from_slice(&c).ok())
        .unwrap_or_default();
    claims["iss"]
        .as_str()
        .is_some_and(|i| i.ends_with(".iam.gserviceaccount.com"))
        && public
            .verify(
                format!("{header}.{claims_text}", claims_text = parts[1]).as_bytes(),
                &signature,
            )
            .is_ok()
}

async fn google_projects(State(s): Fake, headers: HeaderMap) -> Response {
    let token = bearer(&headers).to_owned();
    let (known, projects) = {
        let shared = s.lock().expect("state");
        (
            shared.gcp_tokens.contains(&token),
            shared.gcp_projects.clone(),
        )
    };
    if !known {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}),
        );
    }
    let list: Vec<Value> = projects
        .iter()
        .map(|p| json!({"projectId": p, "name": p, "lifecycleState": "ACTIVE"}))
        .collect();
    answer(&s, StatusCode::OK, json!({"projects": list}))
}

/// STS AssumeRole: signed with Aurora's key, the role's external id required.
async fn sts(
    State(s): Fake,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = url_form(&body);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let signed_by_aurora = header(&headers, "authorization")
        .starts_with(&format!("AWS4-HMAC-SHA256 Credential={AURORA_AWS_KEY_ID}/"));
    let (arn, external_id) = (field("RoleArn"), field("ExternalId"));
    let expected = s
        .lock()
        .expect("state")
        .external_ids
        .iter()
        .find(|(a, _)| *a == arn)
        .map(|(_, e)| e.clone());
    let note = planted(&s).unwrap_or_default();
    if method != Method::POST
        || uri.path() != "/"
        || field("Action") != "AssumeRole"
        || !signed_by_aurora
        || expected.as_deref() != Some(external_id.as_str())
    {
        let xml = format!("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole on resource: {arn} {note}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>");
        return (StatusCode::FORBIDDEN, [("content-type", "text/xml")], xml).into_response();
    }
    let (n, lifetime) = {
        let shared = s.lock().expect("state");
        (
            shared.sts_sessions.len() + 1,
            shared.sts_lifetime.unwrap_or(chrono::TimeDelta::hours(1)),
        )
    };
    let session = (
        format!("ASIAFAKE{n:012}"),
        format!("temporary-secret-{}", uuid::Uuid::new_v4().simple()),
        format!("temporary-token-{}", uuid::Uuid::new_v4().simple()),
    );
    s.lock().expect("state").sts_sessions.push(session.clone());
    let expiration =
        (chrono::Utc::now() + lifetime).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let xml = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><Arn>{arn}</Arn><AssumedRoleId>AROA:{}</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r-{n}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        field("RoleSessionName"), session.0, session.1, session.2
    );
    (StatusCode::OK, [("content-type", "text/xml")], xml).into_response()
}

async fn ovh_token(State(s): Fake, body: Bytes) -> Response {
    let form = url_form(&body);
    let secret = form
        .iter()
        .find(|(k, _)| k == "client_secret")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if bad(secret)
        || !form
            .iter()
            .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": format!("client secret {secret} is wrong")}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"access_token": "ovh-fake-access-token", "token_type": "Bearer", "expires_in": 3600, "scope": "all"}),
    )
}

async fn ovh_me(State(s): Fake, headers: HeaderMap) -> Response {
    if bearer(&headers) != "ovh-fake-access-token" {
        return answer(
            &s,
            StatusCode::UNAUTHORIZED,
            json!({"class": "Client::Unauthorized", "message": "Invalid token"}),
        );
    }
    answer(
        &s,
        StatusCode::OK,
        json!({"nichandle": "ab12345-ovh", "country": "FR"}),
    )
}
