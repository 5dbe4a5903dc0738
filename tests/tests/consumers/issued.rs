//! Issued credentials: what they read through the consumer Aurora made for them, everything
//! they are refused, revocation, expiry, and the README's example consumer.

use std::process::ExitCode;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, PullConsumer};
use aurora_gateway::cli::consumer_credentials::IssuedCredentials;
use aurora_gateway::cli::Cli;
use aurora_nats::consumer_access::{Grant, Registry, API_PREFIX, MAX_OWN_CONSUMERS};
use chrono::Utc;
use clap::Parser;
use futures::StreamExt as _;
use uuid::Uuid;

use super::{
    aurora, connect, drain, durable, header, issue, last_sequence, open_incident, organization,
    read_events,
};
use aurora_tests::TestNats;

#[tokio::test]
async fn issued_credentials_read_their_tenants_events_as_cloudevents_and_resume_after_a_disconnect()
{
    let nats = TestNats::start().await;
    let (acme, other) = (organization(&nats).await, organization(&nats).await);
    let first = open_incident(&nats, &acme, "checkout latency high").await;
    open_incident(&nats, &other, "someone else's outage").await;
    let creds = issue(&nats, &acme, "audit").await;
    assert_eq!(creds.filter_subject, format!("evt.{}.>", acme.as_str()));
    assert_eq!(creds.consumer, format!("ext-{}-audit", acme.as_str()));
    assert!(creds.nkey_seed.starts_with("SU") && creds.public_key.starts_with('U'));
    assert!(
        !creds.url.contains('@'),
        "no Aurora password in {}",
        creds.url
    );

    let outsider = connect(&creds).await.expect("the credentials connect");
    let consumer: PullConsumer = outsider
        .jetstream()
        .get_consumer_from_stream(&creds.consumer, "EVENTS")
        .await
        .expect("its own durable consumer, made for it");
    let info = consumer.cached_info();
    assert_eq!(info.config.filter_subject, creds.filter_subject);
    assert!(info.config.deliver_subject.is_none(), "a pull consumer");
    let messages = drain(&consumer).await;
    let types: Vec<&str> = messages.iter().map(|m| header(m, "ce-type")).collect();
    assert!(
        messages
            .iter()
            .all(|m| m.subject.starts_with(&format!("evt.{}.", acme.as_str()))),
        "only its tenant's events"
    );
    for wanted in [
        "aurora.organization.created",
        "aurora.organization.consumer_credentials_issued",
        "aurora.incident.opened",
    ] {
        assert!(types.contains(&wanted), "{wanted} in {types:?}");
    }
    let opened = messages
        .iter()
        .find(|m| header(m, "ce-type") == "aurora.incident.opened")
        .expect("the incident");
    assert_eq!(header(opened, "ce-specversion"), "1.0");
    assert_eq!(header(opened, "ce-subject"), first.0.to_string());
    assert!(Uuid::parse_str(header(opened, "ce-id")).is_ok());
    assert!(!header(opened, "ce-source").is_empty());
    assert!(!header(opened, "ce-time").is_empty());
    let body: serde_json::Value = serde_json::from_slice(&opened.payload).expect("JSON body");
    assert_eq!(body["type"], "opened");
    assert_eq!(body["title"], "checkout latency high");
    // The seed is nowhere in the log: only the public key was recorded.
    let issued = messages
        .iter()
        .find(|m| header(m, "ce-type") == "aurora.organization.consumer_credentials_issued")
        .expect("the issue");
    let text = String::from_utf8_lossy(&issued.payload);
    assert!(text.contains(&creds.public_key) && !text.contains(&creds.nkey_seed));
    for message in &messages {
        message.ack().await.expect("ack");
    }
    drop(consumer);
    drop(outsider);

    // Disconnected meanwhile: a new incident; the durable consumer resumes after what was acked.
    let second = open_incident(&nats, &acme, "payments errors").await;
    let outsider = connect(&creds).await.expect("connects again");
    let consumer: PullConsumer = outsider
        .jetstream()
        .get_consumer_from_stream(&creds.consumer, "EVENTS")
        .await
        .expect("its consumer, by name");
    let resumed = drain(&consumer).await;
    assert_eq!(resumed.len(), 1, "only what came after the ack");
    assert_eq!(header(&resumed[0], "ce-subject"), second.0.to_string());
    assert_eq!(header(&resumed[0], "ce-type"), "aurora.incident.opened");
}

#[tokio::test]
async fn issued_credentials_are_refused_everything_else() {
    let nats = TestNats::start().await;
    let (acme, other) = (organization(&nats).await, organization(&nats).await);
    let theirs = open_incident(&nats, &other, "someone else's outage").await;
    let creds = issue(&nats, &acme, "audit").await;
    let mut outsider = connect(&creds).await.expect("connects");

    // Another tenant's events, live or through JetStream; anyone else's replies.
    let other_events = format!("evt.{}.>", other.as_str());
    let _ = outsider.client.subscribe(other_events.clone()).await;
    outsider
        .told(&["Permissions Violation", "Subscription", &other_events])
        .await;
    let _ = outsider.client.subscribe("_INBOX.>").await;
    outsider
        .told(&["Permissions Violation", "Subscription", "_INBOX.>"])
        .await;

    // Publishing anywhere: events, webhook deliveries, commands. Nothing is stored.
    let before: Vec<u64> =
        futures::future::join_all(["EVENTS", "INBOX", "CMD"].map(|s| last_sequence(&nats, s)))
            .await;
    for subject in [
        format!("evt.{}.incident.{}", acme.as_str(), Uuid::now_v7()),
        format!("inbox.{}.grafana", acme.as_str()),
        format!("cmd.{}.session.{}", acme.as_str(), Uuid::now_v7()),
    ] {
        outsider
            .client
            .publish(subject.clone(), "{}".into())
            .await
            .expect("sent");
        outsider
            .told(&["Permissions Violation", "Publish", &subject])
            .await;
    }
    let after: Vec<u64> =
        futures::future::join_all(["EVENTS", "INBOX", "CMD"].map(|s| last_sequence(&nats, s)))
            .await;
    assert_eq!(before, after, "nothing stored");

    // Reading any subject of the stream directly: message get, direct get, stream info.
    let other_subject = format!("evt.{}.incident.{}", other.as_str(), theirs.0);
    let by_subject = serde_json::json!({ "last_by_subj": other_subject }).to_string();
    for api in [
        "$JS.API.STREAM.MSG.GET.EVENTS".to_owned(),
        "$JS.API.DIRECT.GET.EVENTS".to_owned(),
        format!("$JS.API.DIRECT.GET.EVENTS.{other_subject}"),
        "$JS.API.STREAM.INFO.EVENTS".to_owned(),
        format!("{API_PREFIX}.STREAM.MSG.GET.EVENTS"),
        format!("{API_PREFIX}.DIRECT.GET.EVENTS.{other_subject}"),
    ] {
        let answer = outsider
            .client
            .request(api.clone(), by_subject.clone().into())
            .await;
        assert!(answer.is_err(), "{api} answered");
        outsider
            .told(&["Permissions Violation", "Publish", &api])
            .await;
    }

    // Consumers: it cannot change the one Aurora made for it, not even filtered to its tenant
    // (Aurora answers that request, and refuses: the name is not among those it may make), it
    // makes none without a filter or on another tenant (the server refuses those), and it
    // reaches no other consumer. (`own.rs` covers the consumers it may make.)
    let js = outsider.jetstream();
    let refused = js
        .create_consumer_on_stream(durable(&creds, &creds.filter_subject), "EVENTS")
        .await
        .expect_err("Aurora's consumer changed by the credential");
    assert!(
        refused.to_string().contains("is not yours to make"),
        "{refused}"
    );
    let given = nats
        .jetstream()
        .get_consumer_from_stream::<pull::Config, _, _>(&creds.consumer, "EVENTS")
        .await
        .expect("Aurora's consumer is still there");
    let made = format!("external consumer \"audit\" of tenant {}", acme.as_str());
    assert_eq!(
        given.cached_info().config.description.as_deref(),
        Some(made.as_str()),
        "and unchanged"
    );
    for (config, subject) in [
        (
            durable(&creds, ""),
            format!("API.CONSUMER.CREATE.EVENTS.{}\"", creds.consumer),
        ),
        (
            durable(&creds, &other_events),
            format!(
                "API.CONSUMER.CREATE.EVENTS.{}.{other_events}",
                creds.consumer
            ),
        ),
    ] {
        assert!(js
            .create_consumer_on_stream(config, "EVENTS")
            .await
            .is_err());
        outsider.told(&["Permissions Violation", &subject]).await;
    }
    let theirs_consumer = format!("ext-{}-audit", other.as_str());
    issue(&nats, &other, "audit").await;
    let reached = js
        .get_consumer_from_stream::<pull::Config, _, _>(&theirs_consumer, "EVENTS")
        .await;
    assert!(reached.is_err(), "another tenant's consumer");
    outsider
        .told(&[
            "Permissions Violation",
            &format!("CONSUMER.INFO.EVENTS.{theirs_consumer}"),
        ])
        .await;
    let projector = js
        .get_consumer_from_stream::<pull::Config, _, _>("proj-incidents", "EVENTS")
        .await;
    assert!(projector.is_err(), "Aurora's own consumer");

    // JetStream answers on whatever reply subject a request names, and delivers pulled messages
    // there too: from its own account, that reaches none of Aurora's streams.
    let before: Vec<u64> =
        futures::future::join_all(["EVENTS", "INBOX", "CMD"].map(|s| last_sequence(&nats, s)))
            .await;
    outsider
        .client
        .publish_with_reply(
            format!("{API_PREFIX}.CONSUMER.INFO.EVENTS.{}", creds.consumer),
            format!("evt.{}.incident.{}", other.as_str(), Uuid::now_v7()),
            "".into(),
        )
        .await
        .expect("sent");
    outsider
        .client
        .publish_with_reply(
            format!("{API_PREFIX}.CONSUMER.MSG.NEXT.EVENTS.{}", creds.consumer),
            format!("inbox.{}.grafana", other.as_str()),
            r#"{"batch":10}"#.into(),
        )
        .await
        .expect("sent");
    outsider
        .client
        .publish_with_reply(
            format!("{API_PREFIX}.CONSUMER.MSG.NEXT.EVENTS.{}", creds.consumer),
            format!("cmd.{}.session.{}", other.as_str(), Uuid::now_v7()),
            r#"{"batch":10}"#.into(),
        )
        .await
        .expect("sent");
    outsider.client.flush().await.expect("flushed");
    // A pull answered on its own inbox is answered (a message, or a timeout status when the pulls
    // above took them all): the redirected ones were answered in its own account, where no
    // stream keeps them.
    let control = format!("{}.control", creds.inbox_prefix);
    let mut answers = outsider
        .client
        .subscribe(control.clone())
        .await
        .expect("own inbox");
    outsider
        .client
        .publish_with_reply(
            format!("{API_PREFIX}.CONSUMER.MSG.NEXT.EVENTS.{}", creds.consumer),
            control,
            r#"{"batch":1,"expires":2000000000}"#.into(),
        )
        .await
        .expect("sent");
    let delivered = tokio::time::timeout(Duration::from_secs(5), answers.next())
        .await
        .expect("a pulled message")
        .expect("subscription open");
    assert!(delivered.subject.as_str().starts_with("evt.") || delivered.status.is_some());
    let after: Vec<u64> =
        futures::future::join_all(["EVENTS", "INBOX", "CMD"].map(|s| last_sequence(&nats, s)))
            .await;
    assert_eq!(
        before, after,
        "a reply subject reached one of Aurora's streams"
    );
}

#[tokio::test]
async fn revoked_credentials_are_refused_and_their_open_connection_is_closed() {
    let nats = TestNats::start().await;
    let acme = organization(&nats).await;
    let creds = issue(&nats, &acme, "audit").await;
    let mut outsider = connect(&creds).await.expect("connects");
    outsider
        .jetstream()
        .get_consumer_from_stream::<pull::Config, _, _>(&creds.consumer, "EVENTS")
        .await
        .expect("consumer");

    let (code, out) = aurora(
        &nats,
        &["--tenant", acme.as_str(), "--name", "audit", "--revoke"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    let revoked: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(revoked["credential_id"], creds.credential_id.to_string());

    // The config reload re-checks connected clients: this one is thrown out, and cannot return.
    outsider.told(&["authorization violation"]).await;
    assert!(
        connect(&creds).await.is_err(),
        "a revoked credential connects"
    );
    let (code, _) = aurora(
        &nats,
        &["--tenant", acme.as_str(), "--name", "audit", "--revoke"],
    )
    .await;
    assert_eq!(code, ExitCode::FAILURE, "revoking twice");

    // Both are on the organisation's record.
    let js = nats.jetstream();
    let audit: PullConsumer = js
        .create_consumer_on_stream(
            pull::Config {
                filter_subject: format!("evt.{}.organization.>", acme.as_str()),
                ..Default::default()
            },
            "EVENTS",
        )
        .await
        .expect("consumer");
    let types: Vec<String> = drain(&audit)
        .await
        .iter()
        .map(|m| header(m, "ce-type").to_owned())
        .collect();
    assert!(types.contains(&"aurora.organization.consumer_credentials_revoked".to_owned()));
    // And its consumer is gone.
    assert!(nats
        .jetstream()
        .get_consumer_from_stream::<pull::Config, _, _>(&creds.consumer, "EVENTS")
        .await
        .is_err());

    // The name is free again.
    let again = issue(&nats, &acme, "audit").await;
    assert_ne!(again.credential_id, creds.credential_id);
    connect(&again).await.expect("new credentials connect");
}

#[tokio::test]
async fn the_command_refuses_unknown_organisations_names_in_use_and_bad_input() {
    let nats = TestNats::start().await;
    let acme = organization(&nats).await;
    let nobody = Uuid::now_v7().to_string();
    let (code, _) = aurora(&nats, &["--tenant", &nobody]).await;
    assert_eq!(
        code,
        ExitCode::FAILURE,
        "an organisation that does not exist"
    );
    issue(&nats, &acme, "audit").await;
    let (code, _) = aurora(&nats, &["--tenant", acme.as_str(), "--name", "audit"]).await;
    assert_eq!(code, ExitCode::FAILURE, "a name in use");
    let (code, _) = aurora(&nats, &["--tenant", acme.as_str(), "--name", "Not.A.Token"]).await;
    assert_eq!(code, ExitCode::FAILURE, "a name that is no subject token");
    let (code, _) = aurora(
        &nats,
        &["--tenant", acme.as_str(), "--name", "ghost", "--revoke"],
    )
    .await;
    assert_eq!(code, ExitCode::FAILURE, "revoking what was never issued");
    let url = nats.url();
    for bad in [
        vec![
            "aurora",
            "consumer-credentials",
            "--tenant",
            acme.as_str(),
            "--expires",
            "30w",
        ],
        vec![
            "aurora",
            "consumer-credentials",
            "--tenant",
            acme.as_str(),
            "--expires",
            "0d",
        ],
        vec!["aurora", "consumer-credentials", "--nats-url", &url],
    ] {
        assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn an_expired_grant_is_dropped_from_the_server_and_its_connection_closed() {
    let nats = TestNats::start().await;
    let acme = organization(&nats).await;
    let keys = nkeys::KeyPair::new_user();
    let grant = Grant {
        credential_id: Uuid::now_v7(),
        tenant: acme.as_str().to_owned(),
        name: "brief".into(),
        public_key: keys.public_key(),
        expires_at: Some(Utc::now() + chrono::Duration::seconds(3)),
        own_consumers: Default::default(),
    };
    let registry = Registry::open(&nats.jetstream()).await.expect("bucket");
    let revision = registry.put(&grant).await.expect("put");
    assert!(registry
        .wait_applied(revision, Duration::from_secs(10))
        .await
        .expect("read"));
    let creds = IssuedCredentials {
        credential_id: grant.credential_id,
        tenant: grant.tenant.clone(),
        name: grant.name.clone(),
        url: nats.server.public_url(),
        nkey_seed: keys.seed().expect("seed"),
        public_key: grant.public_key.clone(),
        inbox_prefix: grant.inbox_prefix(),
        api_prefix: API_PREFIX.into(),
        stream: "EVENTS".into(),
        consumer: grant.consumer(),
        filter_subject: grant.filter_subject(),
        consumer_prefix: grant.own_prefix(),
        max_own_consumers: MAX_OWN_CONSUMERS,
        expires_at: grant.expires_at.expect("expiry"),
    };
    let mut outsider = connect(&creds).await.expect("connects before expiry");
    outsider.told(&["authorization violation"]).await;
    assert!(connect(&creds).await.is_err(), "connects after expiry");
}

#[tokio::test]
async fn the_example_consumer_reads_its_tenants_events_and_each_is_as_the_catalogue_describes() {
    let nats = TestNats::start().await;
    let (acme, other) = (organization(&nats).await, organization(&nats).await);
    let id = open_incident(&nats, &acme, "checkout latency high").await;
    open_incident(&nats, &other, "someone else's outage").await;
    // What the README says to do: save what the command printed, hand it to the example.
    let (code, printed) = aurora(&nats, &["--tenant", acme.as_str(), "--name", "example"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{printed}");
    let creds: serde_json::Value = serde_json::from_str(&printed).expect("JSON");

    let mut out = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        read_events::read(&creds, &mut out, 4),
    )
    .await
    .expect("four events within 10 s")
    .expect("the example reads");
    let out = String::from_utf8(out).expect("utf-8");

    let catalogue = aurora_domain::catalogue::json();
    let mut types = Vec::new();
    for line in out.lines() {
        let mut parts = line.splitn(3, ' ');
        let (ce_type, subject, body) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        let schema = &catalogue[ce_type]["schema"];
        assert!(schema.is_object(), "{ce_type} is not in the catalogue");
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{ce_type}: {errors:?} in {body}");
        if ce_type == "aurora.incident.opened" {
            assert_eq!(subject, id.0.to_string());
            assert_eq!(body["title"], "checkout latency high");
        }
        types.push(ce_type.to_owned());
    }
    assert_eq!(
        types,
        [
            "aurora.organization.created",
            "aurora.organization.agent_policy_set",
            "aurora.incident.opened",
            "aurora.organization.consumer_credentials_issued",
        ],
        "its tenant's events, in order, and no other's:\n{out}"
    );
}
