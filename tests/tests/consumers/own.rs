//! Consumers of their own: issued credentials ask Aurora (a plain JetStream consumer create
//! under their API prefix) for durable pull consumers filtered within their tenant, named with
//! their prefix, up to the limit; read, resume and delete them; and are refused the rest, and
//! changes faster than the pace of changes allows.

use std::process::ExitCode;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, push, AckPolicy, PullConsumer};
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind};
use aurora_gateway::cli::consumer_credentials::IssuedCredentials;
use aurora_nats::consumer_access::{
    Registry, API_PREFIX, CHANGE_BURST, CHANGE_INTERVAL, MAX_OWN_CONSUMERS,
};
use aurora_tests::TestNats;
use uuid::Uuid;

use super::{
    aurora, connect, drain, header, issue, last_sequence, open_incident, organization, read_events,
};

/// A durable pull consumer of the credentials' own, `<prefix><name>`.
fn own(creds: &IssuedCredentials, name: &str, filter: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(format!("{}{name}", creds.consumer_prefix)),
        filter_subject: filter.to_owned(),
        ack_policy: AckPolicy::Explicit,
        ..Default::default()
    }
}

/// What a refused request was answered: its `err_code` and the error as a client shows it.
fn refusal<T>(result: Result<T, ConsumerError>) -> (u64, String) {
    let Err(error) = result else {
        panic!("the request was done");
    };
    match error.kind() {
        ConsumerErrorKind::JetStream(api) => (api.error_code().0, api.to_string()),
        other => panic!("no API error but {other}"),
    }
}

/// How long a refusal for changing too fast says to wait (`… try again in 2.4 s …`).
fn stated_wait(text: &str) -> Duration {
    text.split_once("try again in ")
        .and_then(|(_, rest)| rest.split_once(" s"))
        .and_then(|(seconds, _)| seconds.parse().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or_else(|| panic!("no time to try again in: {text}"))
}

async fn exists(nats: &TestNats, consumer: &str) -> bool {
    nats.jetstream()
        .get_consumer_from_stream::<pull::Config, _, _>(consumer, "EVENTS")
        .await
        .is_ok()
}

async fn recorded(nats: &TestNats, creds: &IssuedCredentials) -> Vec<String> {
    let registry = Registry::open(&nats.jetstream()).await.expect("bucket");
    let grant = registry
        .get(&creds.tenant, &creds.name)
        .await
        .expect("read")
        .expect("the grant");
    grant.own_consumers.into_iter().collect()
}

#[tokio::test]
async fn credentials_create_a_consumer_of_their_own_read_their_tenants_events_and_resume_it() {
    let nats = TestNats::start().await;
    let (acme, other) = (organization(&nats).await, organization(&nats).await);
    let first = open_incident(&nats, &acme, "checkout latency high").await;
    open_incident(&nats, &other, "someone else's outage").await;
    let creds = issue(&nats, &acme, "audit").await;
    assert_eq!(
        creds.consumer_prefix,
        format!("ext-{}-audit~", acme.as_str())
    );
    assert_eq!(creds.max_own_consumers, MAX_OWN_CONSUMERS);

    let outsider = connect(&creds).await.expect("connects");
    let incidents = format!("evt.{}.incident.>", acme.as_str());
    let config = own(&creds, "incidents", &incidents);
    let consumer: PullConsumer = outsider
        .jetstream()
        .create_consumer_on_stream(config.clone(), "EVENTS")
        .await
        .expect("Aurora makes it");
    let name = consumer.cached_info().name.clone();
    assert_eq!(name, format!("{}incidents", creds.consumer_prefix));
    assert_eq!(consumer.cached_info().config.filter_subject, incidents);
    assert!(consumer.cached_info().config.deliver_subject.is_none());
    assert_eq!(
        recorded(&nats, &creds).await,
        std::slice::from_ref(&name),
        "in the grant"
    );

    // Pulled at once (the answer came once the server let the credentials read it).
    let messages = drain(&consumer).await;
    assert_eq!(messages.len(), 1, "its tenant's one incident event");
    let opened = &messages[0];
    assert_eq!(header(opened, "ce-type"), "aurora.incident.opened");
    assert_eq!(header(opened, "ce-specversion"), "1.0");
    assert_eq!(header(opened, "ce-subject"), first.0.to_string());
    assert!(Uuid::parse_str(header(opened, "ce-id")).is_ok());
    assert!(!header(opened, "ce-time").is_empty());
    let body: serde_json::Value = serde_json::from_slice(&opened.payload).expect("JSON body");
    assert_eq!(body["title"], "checkout latency high");
    opened.ack().await.expect("ack");
    outsider.client.flush().await.expect("ack sent");
    drop(consumer);
    drop(outsider);

    // Disconnected meanwhile: a new incident; the consumer resumes after what was acked.
    let second = open_incident(&nats, &acme, "payments errors").await;
    let mut outsider = connect(&creds).await.expect("connects again");
    let js = outsider.jetstream();
    let consumer: PullConsumer = js
        .get_consumer_from_stream(&name, "EVENTS")
        .await
        .expect("its consumer, by name");
    let resumed = drain(&consumer).await;
    assert_eq!(resumed.len(), 1, "only what came after the ack");
    assert_eq!(header(&resumed[0], "ce-subject"), second.0.to_string());
    // Asked for again with the same config (a client that restarts), it is found, not remade.
    let again: PullConsumer = js
        .create_consumer_on_stream(config, "EVENTS")
        .await
        .expect("the same consumer");
    assert_eq!(again.cached_info().num_ack_pending, 1, "its state kept");

    // Deleted: gone from the stream and the grant, and out of the credentials' reach.
    js.delete_consumer_from_stream(&name, "EVENTS")
        .await
        .expect("deleted");
    assert!(!exists(&nats, &name).await);
    assert!(recorded(&nats, &creds).await.is_empty());
    assert!(js
        .get_consumer_from_stream::<pull::Config, _, _>(&name, "EVENTS")
        .await
        .is_err());
    outsider
        .told(&[
            "Permissions Violation",
            &format!("CONSUMER.INFO.EVENTS.{name}"),
        ])
        .await;
}

#[tokio::test]
async fn credentials_are_refused_consumers_beyond_their_tenant_their_prefix_pull_and_the_limit() {
    let nats = TestNats::start().await;
    let (acme, other) = (organization(&nats).await, organization(&nats).await);
    let creds = issue(&nats, &acme, "audit").await;
    let billing = issue(&nats, &acme, "billing").await;
    let mut outsider = connect(&creds).await.expect("connects");
    let js = outsider.jetstream();
    let tenant_events = creds.filter_subject.clone();
    let streams = ["EVENTS", "INBOX", "CMD"];
    let before: Vec<u64> =
        futures::future::join_all(streams.map(|s| last_sequence(&nats, s))).await;

    // Another tenant's events, any tenant's, or no filter (so none, or several): the server
    // refuses the request before it reaches Aurora.
    for filter in [format!("evt.{}.>", other.as_str()), "evt.*.>".to_owned()] {
        let config = own(&creds, "theirs", &filter);
        assert!(js
            .create_consumer_on_stream(config, "EVENTS")
            .await
            .is_err());
        outsider
            .told(&[
                "Permissions Violation",
                &format!(
                    "CONSUMER.CREATE.EVENTS.{}theirs.{filter}",
                    creds.consumer_prefix
                ),
            ])
            .await;
    }
    let unfiltered = own(&creds, "everything", "");
    assert!(js
        .create_consumer_on_stream(unfiltered, "EVENTS")
        .await
        .is_err());
    outsider
        .told(&[
            "Permissions Violation",
            &format!(
                "CONSUMER.CREATE.EVENTS.{}everything\"",
                creds.consumer_prefix
            ),
        ])
        .await;

    // A push consumer: the server would deliver wherever it says. Aurora refuses, saying why.
    let push = push::Config {
        durable_name: Some(format!("{}push", creds.consumer_prefix)),
        deliver_subject: format!("evt.{}.incident.{}", other.as_str(), Uuid::now_v7()),
        filter_subject: tenant_events.clone(),
        ..Default::default()
    };
    let (code, text) = refusal(js.create_consumer_on_stream(push, "EVENTS").await);
    assert_eq!(code, 30006, "{text}");
    assert!(text.contains("pull consumers only"), "{text}");

    // A name without its prefix: bare, after a `-` (another credential's could be `audit-…`),
    // with another credential's prefix, or the one Aurora made.
    for name in [
        "mine".to_owned(),
        format!("{}-mine", creds.consumer),
        format!("{}mine", billing.consumer_prefix),
        creds.consumer.clone(),
    ] {
        let config = pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: tenant_events.clone(),
            ..Default::default()
        };
        let (code, text) = refusal(js.create_consumer_on_stream(config, "EVENTS").await);
        assert_eq!(code, 30009, "{name}: {text}");
        assert!(text.contains(&creds.consumer_prefix), "{text}");
    }

    // Claiming to be the other credential: the server writes who asked, over what it was sent.
    let forged_name = format!("{}forged", billing.consumer_prefix);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        "Nats-Request-Info",
        serde_json::json!({"acc": "EXTERNAL", "user": billing.public_key})
            .to_string()
            .as_str(),
    );
    let body = serde_json::json!({
        "stream_name": "EVENTS",
        "config": {"durable_name": forged_name, "filter_subject": tenant_events,
                   "deliver_policy": "all", "ack_policy": "explicit"},
        "action": "create",
    });
    let answer = outsider
        .client
        .request_with_headers(
            format!("{API_PREFIX}.CONSUMER.CREATE.EVENTS.{forged_name}.{tenant_events}"),
            headers,
            body.to_string().into(),
        )
        .await
        .expect("answered");
    let answer: serde_json::Value = serde_json::from_slice(&answer.payload).expect("JSON");
    assert_eq!(answer["error"]["err_code"], 30009, "{answer}");
    assert!(!exists(&nats, &forged_name).await);
    // And a request with no credential behind it (from Aurora's own account) is refused too.
    let answer = nats
        .client
        .request(
            format!("{API_PREFIX}.CONSUMER.CREATE.EVENTS.{forged_name}.{tenant_events}"),
            body.to_string().into(),
        )
        .await
        .expect("answered");
    let answer: serde_json::Value = serde_json::from_slice(&answer.payload).expect("JSON");
    assert_eq!(answer["error"]["err_code"], 30002, "{answer}");

    // Another credential's consumer, or the one Aurora made, is not theirs to delete.
    let theirs = connect(&billing).await.expect("connects");
    let theirs_name = format!("{}ledger", billing.consumer_prefix);
    theirs
        .jetstream()
        .create_consumer_on_stream(own(&billing, "ledger", &tenant_events), "EVENTS")
        .await
        .expect("theirs");
    for name in [&theirs_name, &creds.consumer] {
        assert!(js
            .delete_consumer_from_stream(name, "EVENTS")
            .await
            .is_err());
        outsider
            .told(&[
                "Permissions Violation",
                &format!("CONSUMER.DELETE.EVENTS.{name}"),
            ])
            .await;
        assert!(exists(&nats, name).await, "{name} is still there");
    }

    // The limit: the one past it is refused and not made; deleting one makes room.
    for n in 0..MAX_OWN_CONSUMERS {
        js.create_consumer_on_stream(own(&creds, &format!("c{n}"), &tenant_events), "EVENTS")
            .await
            .expect("within the limit");
    }
    let extra = own(&creds, "extra", &tenant_events);
    let (code, text) = refusal(js.create_consumer_on_stream(extra.clone(), "EVENTS").await);
    assert_eq!(code, 30012, "{text}");
    assert!(
        text.contains(&format!("at most {MAX_OWN_CONSUMERS}")),
        "{text}"
    );
    assert!(!exists(&nats, &format!("{}extra", creds.consumer_prefix)).await);
    assert_eq!(recorded(&nats, &creds).await.len(), MAX_OWN_CONSUMERS);
    js.delete_consumer_from_stream(format!("{}c0", creds.consumer_prefix), "EVENTS")
        .await
        .expect("deletes its own");
    js.create_consumer_on_stream(extra, "EVENTS")
        .await
        .expect("room again");

    // With all those consumers, publishing is still refused; nothing reached a stream.
    let subject = format!("evt.{}.incident.{}", acme.as_str(), Uuid::now_v7());
    outsider
        .client
        .publish(subject.clone(), "{}".into())
        .await
        .expect("sent");
    outsider
        .told(&["Permissions Violation", "Publish", &subject])
        .await;
    let after: Vec<u64> = futures::future::join_all(streams.map(|s| last_sequence(&nats, s))).await;
    assert_eq!(before, after, "nothing stored");
}

#[tokio::test]
async fn credentials_changing_their_consumers_faster_than_the_pace_are_refused_until_it_allows() {
    let nats = TestNats::start().await;
    let acme = organization(&nats).await;
    let creds = issue(&nats, &acme, "audit").await;
    let billing = issue(&nats, &acme, "billing").await;
    let outsider = connect(&creds).await.expect("connects");
    let js = outsider.jetstream();
    let events = creds.filter_subject.clone();
    let kept = own(&creds, "kept", &events);
    let kept_name = format!("{}kept", creds.consumer_prefix);
    js.create_consumer_on_stream(kept.clone(), "EVENTS")
        .await
        .expect("made");

    // A client creating and deleting a consumer in a loop: the burst passes at once, then it is
    // refused. Refused with little of the wait left (changes slowed down by a loaded machine),
    // it waits that and goes on, so that the checks below run well within a refusal.
    let looping = own(&creds, "looping", &events);
    let looping_name = format!("{}looping", creds.consumer_prefix);
    let mut changes = 1;
    let mut attempts = 0;
    let text = loop {
        attempts += 1;
        assert!(
            attempts <= 4 * CHANGE_BURST,
            "{changes} changes, never refused long"
        );
        let result = if changes % 2 == 1 {
            js.create_consumer_on_stream(looping.clone(), "EVENTS")
                .await
                .map(drop)
        } else {
            js.delete_consumer_from_stream(&looping_name, "EVENTS")
                .await
                .map(drop)
        };
        if result.is_ok() {
            changes += 1;
            continue;
        }
        let (code, text) = refusal(result);
        assert_eq!(code, 30016, "{text}");
        assert!(
            changes >= CHANGE_BURST,
            "refused after {changes} changes: {text}"
        );
        if stated_wait(&text) >= Duration::from_secs(1) {
            break text;
        }
        tokio::time::sleep(stated_wait(&text)).await;
    };
    assert!(
        text.contains(&format!(
            "too many changes to your consumers: {CHANGE_BURST} at once, then one every {} s",
            CHANGE_INTERVAL.as_secs()
        )),
        "{text}"
    );
    assert!(stated_wait(&text) <= CHANGE_INTERVAL, "{text}");

    // Meanwhile a new consumer is refused, and neither made nor recorded; a delete is refused,
    // and the consumer is still there and still in the grant.
    let extra = own(&creds, "extra", &events);
    let extra_name = format!("{}extra", creds.consumer_prefix);
    let (code, text) = refusal(js.create_consumer_on_stream(extra.clone(), "EVENTS").await);
    assert_eq!(code, 30016, "{text}");
    assert!(!exists(&nats, &extra_name).await);
    assert!(!recorded(&nats, &creds).await.contains(&extra_name));
    let (code, text) = refusal(js.delete_consumer_from_stream(&kept_name, "EVENTS").await);
    assert_eq!(code, 30016, "{text}");
    assert!(exists(&nats, &kept_name).await);
    assert!(recorded(&nats, &creds).await.contains(&kept_name));
    // Asking again for the consumer it has (a client that restarts) changes nothing: answered.
    let again: PullConsumer = js
        .create_consumer_on_stream(kept.clone(), "EVENTS")
        .await
        .expect("never limited");
    assert_eq!(again.cached_info().name, kept_name);
    // Another credential of the same tenant keeps its own pace.
    let theirs = connect(&billing).await.expect("connects").jetstream();
    let ledger = own(&billing, "ledger", &events);
    theirs
        .create_consumer_on_stream(ledger, "EVENTS")
        .await
        .expect("not limited");
    theirs
        .delete_consumer_from_stream(format!("{}ledger", billing.consumer_prefix), "EVENTS")
        .await
        .expect("not limited");

    // As long as it said, and no longer: it changes again.
    tokio::time::sleep(stated_wait(&text)).await;
    js.create_consumer_on_stream(extra, "EVENTS")
        .await
        .expect("made once the pace allows");
    assert!(exists(&nats, &extra_name).await);
    assert!(recorded(&nats, &creds).await.contains(&extra_name));
}

#[tokio::test]
async fn revoking_deletes_the_credentials_own_consumers_and_refuses_them_after() {
    let nats = TestNats::start().await;
    let acme = organization(&nats).await;
    let creds = issue(&nats, &acme, "audit").await;
    let mut outsider = connect(&creds).await.expect("connects");
    let js = outsider.jetstream();
    let mut made = vec![creds.consumer.clone()];
    for name in ["incidents", "sessions"] {
        let consumer: PullConsumer = js
            .create_consumer_on_stream(own(&creds, name, &creds.filter_subject), "EVENTS")
            .await
            .expect("made");
        made.push(consumer.cached_info().name.clone());
    }

    let (code, out) = aurora(
        &nats,
        &["--tenant", acme.as_str(), "--name", "audit", "--revoke"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    let revoked: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let mut deleted: Vec<String> =
        serde_json::from_value(revoked["deleted_consumers"].clone()).expect("names");
    deleted.sort();
    made.sort();
    assert_eq!(deleted, made);
    for name in &made {
        assert!(!exists(&nats, name).await, "{name} is gone");
    }

    // Thrown out, and back to nothing: no connection, so no request of any kind.
    outsider.told(&["authorization violation"]).await;
    assert!(
        connect(&creds).await.is_err(),
        "a revoked credential connects"
    );

    // The name issued again starts clean.
    let again = issue(&nats, &acme, "audit").await;
    assert!(recorded(&nats, &again).await.is_empty());
    let outsider = connect(&again).await.expect("connects");
    let consumer: PullConsumer = outsider
        .jetstream()
        .create_consumer_on_stream(own(&again, "incidents", &again.filter_subject), "EVENTS")
        .await
        .expect("made anew");
    assert_eq!(consumer.cached_info().num_ack_pending, 0);
    assert_eq!(
        consumer.cached_info().delivered.stream_sequence,
        0,
        "from the start"
    );
}

#[tokio::test]
async fn the_example_consumer_reads_through_a_consumer_of_its_own_and_goes_on_where_it_stopped() {
    let nats = TestNats::start().await;
    let (acme, other) = (organization(&nats).await, organization(&nats).await);
    open_incident(&nats, &acme, "checkout latency high").await;
    open_incident(&nats, &other, "someone else's outage").await;
    let (code, printed) = aurora(&nats, &["--tenant", acme.as_str(), "--name", "example"]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{printed}");
    let creds: serde_json::Value = serde_json::from_str(&printed).expect("JSON");

    let read = |count: usize| {
        let creds = creds.clone();
        async move {
            let mut out = Vec::new();
            tokio::time::timeout(
                Duration::from_secs(10),
                read_events::read_own(&creds, "reader", &mut out, count),
            )
            .await
            .expect("read within 10 s")
            .expect("the example reads");
            let out = String::from_utf8(out).expect("utf-8");
            out.lines()
                .map(|line| line.split(' ').next().unwrap_or_default().to_owned())
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(
        read(4).await,
        [
            "aurora.organization.created",
            "aurora.organization.agent_policy_set",
            "aurora.incident.opened",
            "aurora.organization.consumer_credentials_issued",
        ],
        "its tenant's events, in order, and no other's"
    );
    open_incident(&nats, &acme, "payments errors").await;
    assert_eq!(
        read(1).await,
        ["aurora.incident.opened"],
        "only the new one"
    );
}
