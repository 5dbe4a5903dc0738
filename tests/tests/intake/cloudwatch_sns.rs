//! AWS CloudWatch alarms through Amazon SNS: a local stand-in for SNS serves the signing
//! certificate and records subscription confirmations; messages are signed with the fixture key.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aurora_gateway::api::ApiConfig;
use aurora_gateway::app::Role;
use aurora_tests::{test_api_config, Answer, TestApp};
use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};

use super::helpers::{inbox_messages, incidents_until, integration, path_of};

const KEY: &str = include_str!("../../fixtures/sns/key.pem");
const CERT: &str = include_str!("../../fixtures/sns/cert.pem");
const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms";
const CERT_PATH: &str = "/SimpleNotificationService-local.pem";

/// What the stand-in saw: certificate fetches and confirmation GETs (their query).
#[derive(Clone, Default)]
struct Seen {
    cert_fetches: Arc<Mutex<u32>>,
    confirmations: Arc<Mutex<Vec<String>>>,
}

/// Serves the certificate and the confirmation endpoint on 127.0.0.1:0; its origin.
async fn sns_stand_in(seen: Seen) -> String {
    use axum::extract::RawQuery;
    use axum::routing::get;
    let certs = seen.clone();
    let router = axum::Router::new()
        .route(
            CERT_PATH,
            get(move || {
                let certs = certs.clone();
                async move {
                    *certs.cert_fetches.lock().expect("lock") += 1;
                    CERT
                }
            }),
        )
        .route(
            "/broken.pem",
            get(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route(
            "/confirm",
            get(move |RawQuery(query): RawQuery| {
                let seen = seen.clone();
                async move {
                    seen.confirmations
                        .lock()
                        .expect("lock")
                        .push(query.unwrap_or_default());
                    "<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the SNS stand-in");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The string SNS signs, written out from AWS's documentation.
fn canonical(fields: &Value) -> String {
    let keys: &[&str] = if fields["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    keys.iter()
        .filter_map(|k| fields[*k].as_str().map(|v| format!("{k}\n{v}\n")))
        .collect()
}

/// `fields` signed as SNS signs (version 1: SHA1withRSA, 2: SHA256withRSA).
fn signed(mut fields: Value, version: &str, origin: &str) -> String {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).expect("the fixture key");
    let text = canonical(&fields);
    let signature = match version {
        "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        _ => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
    };
    fields["SignatureVersion"] = version.into();
    fields["Signature"] = base64::engine::general_purpose::STANDARD
        .encode(signature)
        .into();
    fields["SigningCertURL"] = format!("{origin}{CERT_PATH}").into();
    fields.to_string()
}

fn subscription(origin: &str, topic: &str, token: &str) -> Value {
    json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "Token": token,
        "TopicArn": topic,
        "Message": format!("You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
        "SubscribeURL": format!("{origin}/confirm?Action=ConfirmSubscription&TopicArn={topic}&Token={token}"),
        "Timestamp": now(),
    })
}

fn alarm(topic: &str, state: &str) -> Value {
    let message = json!({
        "AlarmName": "checkout-5xx-critical",
        "AlarmDescription": "Checkout load balancer returns 5xx",
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0).",
        "StateChangeTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        "Region": "EU (Ireland)",
        "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-5xx-critical",
        "OldStateValue": if state == "ALARM" { "OK" } else { "ALARM" },
        "Trigger": {
            "MetricName": "HTTPCode_Target_5XX_Count",
            "Namespace": "AWS/ApplicationELB",
            "Dimensions": [{"value": "app/checkout-alb/50dc6c495c0c9188", "name": "LoadBalancer"}],
        },
    });
    json!({
        "Type": "Notification",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "TopicArn": topic,
        "Subject": format!("{state}: \"checkout-5xx-critical\" in EU (Ireland)"),
        "Message": message.to_string(),
        "Timestamp": now(),
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    })
}

/// Posts as SNS does: `text/plain` with its `x-amz-sns-*` headers.
async fn post(app: &TestApp, path: &str, body: &str) -> Answer {
    let fields: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let header = |k: &str| fields[k].as_str().unwrap_or_default().to_owned();
    Answer::of(
        app.http
            .post(app.url(path))
            .header("content-type", "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", header("Type"))
            .header("x-amz-sns-message-id", header("MessageId"))
            .header("x-amz-sns-topic-arn", header("TopicArn"))
            .body(body.to_owned())
            .send()
            .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_sns_subscription_pins_its_topic_and_alarms_open_and_resolve_incidents() {
    let seen = Seen::default();
    let origin = sns_stand_in(seen.clone()).await;
    let app = TestApp::spawn_with(
        Role::all(),
        ApiConfig {
            sns_cert_origins: vec![origin.clone()],
            ..test_api_config()
        },
    )
    .await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let created = integration(&app, &admin, "cloudwatch", "Prod alarms").await;
    assert!(created["secret"].is_string(), "a secret, unused by SNS");
    assert!(created["setup"]["header"].is_null());
    assert!(created["setup"]["steps"].to_string().contains("not used"));
    assert!(created["pinned_topic"].is_null());
    let path = path_of(&created);
    let id = created["id"].as_str().expect("id").to_owned();
    let sources = app
        .get_json("/api/integrations/sources", Some(&admin))
        .await
        .expect_status(200);
    assert!(sources["items"]
        .as_array()
        .expect("sources")
        .iter()
        .any(|s| s["name"] == "cloudwatch" && s["auth"]["kind"] == "sns_signature"));

    // Before a subscription is confirmed, no notification gets in.
    post(&app, &path, &signed(alarm(TOPIC, "ALARM"), "2", &origin))
        .await
        .expect_error(401, "invalid_signature");

    // The subscription confirmation: accepted, confirmed by a GET, its topic pinned.
    let accepted = post(
        &app,
        &path,
        &signed(subscription(&origin, TOPIC, "tok-1"), "1", &origin),
    )
    .await
    .expect_status(202);
    assert!(accepted["delivery_id"].is_string());
    let started = Instant::now();
    loop {
        let shown = app
            .get_json(&format!("/api/integrations/{id}"), Some(&admin))
            .await
            .expect_status(200);
        if shown["pinned_topic"] == TOPIC {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the topic was never pinned: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let confirmations = seen.confirmations.lock().expect("lock").clone();
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert!(confirmations[0].contains("Token=tok-1"));

    // The intake loads integrations from the read model, which may lag the pin: with the pin
    // gone from the row, it still finds the topic on the integration itself.
    sqlx::query("UPDATE integrations SET pinned_topic = NULL WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&id).expect("uuid"))
        .execute(&app.db.pool)
        .await
        .expect("update");

    // An alarm opens an incident.
    post(&app, &path, &signed(alarm(TOPIC, "ALARM"), "2", &origin))
        .await
        .expect_status(202);
    let items = incidents_until(&app, &admin, |i| i.len() == 1).await;
    assert_eq!(items[0]["title"], "checkout-5xx-critical");
    assert_eq!(items[0]["source"], "cloudwatch");
    assert_eq!(items[0]["severity"], "critical");
    assert_eq!(items[0]["service"], "app/checkout-alb/50dc6c495c0c9188");

    // OK resolves it.
    post(&app, &path, &signed(alarm(TOPIC, "OK"), "1", &origin))
        .await
        .expect_status(202);
    let incident = items[0]["id"].as_str().expect("id");
    let started = Instant::now();
    loop {
        let detail = app
            .get_json(&format!("/api/incidents/{incident}"), Some(&admin))
            .await
            .expect_status(200);
        if detail["timeline"]
            .to_string()
            .contains("resolve_notification")
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{detail}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Another topic, even signed by SNS, is refused; so are unsigned and forged messages.
    let before = inbox_messages(&app).await;
    let other = "arn:aws:sns:eu-west-1:666666666666:someone-else";
    post(&app, &path, &signed(alarm(other, "ALARM"), "2", &origin))
        .await
        .expect_error(401, "invalid_signature");
    post(
        &app,
        &path,
        &signed(subscription(&origin, other, "tok-2"), "2", &origin),
    )
    .await
    .expect_error(401, "invalid_signature");
    let mut unsigned: Value =
        serde_json::from_str(&signed(alarm(TOPIC, "ALARM"), "2", &origin)).expect("json");
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("Signature");
    post(&app, &path, &unsigned.to_string())
        .await
        .expect_error(401, "invalid_signature");
    let forged = signed(alarm(TOPIC, "ALARM"), "2", &origin)
        .replace("checkout-5xx-critical", "checkout-5xx-forged");
    post(&app, &path, &forged)
        .await
        .expect_error(401, "invalid_signature");
    let mut elsewhere: Value =
        serde_json::from_str(&signed(alarm(TOPIC, "ALARM"), "2", &origin)).expect("json");
    elsewhere["SigningCertURL"] =
        "https://evil.example.com/SimpleNotificationService-0123.pem".into();
    post(&app, &path, &elsewhere.to_string())
        .await
        .expect_error(401, "invalid_signature");
    elsewhere["SigningCertURL"] = format!("{origin}/missing.pem").into();
    post(&app, &path, &elsewhere.to_string())
        .await
        .expect_error(401, "invalid_signature");
    // A certificate that cannot be fetched now: 503, and SNS tries again.
    elsewhere["SigningCertURL"] = format!("{origin}/broken.pem").into();
    let unavailable = post(&app, &path, &elsewhere.to_string()).await;
    unavailable.expect_error(503, "unavailable");
    assert!(unavailable.headers.contains_key("retry-after"));
    assert_eq!(
        inbox_messages(&app).await,
        before,
        "nothing refused was stored"
    );
    assert_eq!(seen.confirmations.lock().expect("lock").len(), 1);
    assert_eq!(
        *seen.cert_fetches.lock().expect("lock"),
        1,
        "the certificate is fetched once"
    );

    // The same topic subscribing again is confirmed again; the pin stays.
    post(
        &app,
        &path,
        &signed(subscription(&origin, TOPIC, "tok-3"), "2", &origin),
    )
    .await
    .expect_status(202);
    let started = Instant::now();
    while seen.confirmations.lock().expect("lock").len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "no second GET");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let items = incidents_until(&app, &admin, |i| i.len() == 1).await;
    assert_eq!(items.len(), 1, "no second incident");
    app.stop().await;
}
