use super::*;
use crate::sources::common::tests_support::*;

/// Aurora's template as Datadog fills it for a multi-alert monitor that triggered.
const TRIGGERED: &str = r#"{
      "id": "7813547281823746294",
      "alert_id": "48213961",
      "cycle_key": "7813547281823746294",
      "title": "[P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s",
      "body": "%%%\nCheckout p99 latency is 3.1s, above the 2s threshold.\n\n@webhook-aurora\n\nThe monitor was last triggered at Mon Nov 23 2026 09:59:55 UTC.\n%%%",
      "transition": "Triggered",
      "priority": "P2",
      "alert_type": "error",
      "hostname": "web-3",
      "tags": "env:prod,monitor,service:checkout,team:payments",
      "date": "1795427995000",
      "url": "https://app.datadoghq.com/monitors/48213961?group=env%3Aprod%2Cservice%3Acheckout&from_ts=1795427095000&to_ts=1795428295000&event_id=7813547281823746294",
      "aggregate": "9bd4ac313a4d1e8fae2482df7b77628",
      "org": {"id": "218537", "name": "Acme"}
    }"#;

fn parse(body: &str) -> Parsed {
    let h = headers(&[]);
    Datadog.parse(&delivery(&h, body)).expect("parses")
}

fn firing(body: &str) -> FiringAlert {
    match parse(body).signals.as_slice() {
        [Signal::Firing(a)] => a.clone(),
        other => panic!("one firing alert expected, got {other:?}"),
    }
}

/// The triggered delivery as another transition, later, in another cycle.
fn transitioned(transition: &str, date_ms: &str, event_id: &str) -> String {
    TRIGGERED
        .replace(
            "\"transition\": \"Triggered\"",
            &format!("\"transition\": \"{transition}\""),
        )
        .replace(
            "\"date\": \"1795427995000\"",
            &format!("\"date\": \"{date_ms}\""),
        )
        .replace("7813547281823746294", event_id)
}

#[test]
fn a_triggered_monitor_fires_one_alert_for_its_group() {
    let parsed = parse(TRIGGERED);
    assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823746294"));
    let [Signal::Firing(a)] = &parsed.signals[..] else {
        panic!("firing: {:?}", parsed.signals)
    };
    assert_eq!(
        a.fingerprint,
        "datadog-monitor-48213961/9bd4ac313a4d1e8fae2482df7b77628"
    );
    assert_eq!(
        a.alert_id,
        "48213961/9bd4ac313a4d1e8fae2482df7b77628:triggered@7813547281823746294"
    );
    assert_eq!(
        a.title,
        "[P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s"
    );
    assert_eq!(a.service.as_deref(), Some("checkout"));
    assert_eq!(a.environment.as_deref(), Some("prod"));
    assert_eq!(a.severity, Severity::High, "P2");
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:55+00:00");
    assert!(a
        .url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://app.datadoghq.com/monitors/48213961")));
    let description = a.description.as_deref().expect("description");
    assert!(
        description.starts_with("Checkout p99 latency is 3.1s"),
        "{description}"
    );
    assert!(!description.contains("%%%"));
    assert!(description.ends_with("Host: web-3"));
}

#[test]
fn ids_and_dates_may_arrive_as_numbers() {
    let body = r#"{"id": 7813547281823746294, "alert_id": 48213961, "title": "CPU high on web-3",
          "body": "cpu > 90%", "transition": "Triggered", "priority": "P1", "alert_type": "error",
          "hostname": "web-3", "tags": "", "date": 1795427995000, "url": "https://app.datadoghq.com/monitors/48213961",
          "aggregate": "", "org": {"id": 218537, "name": "Acme"}}"#;
    let parsed = parse(body);
    assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823746294"));
    let Signal::Firing(a) = &parsed.signals[0] else {
        panic!("firing")
    };
    assert_eq!(a.fingerprint, "datadog-monitor-48213961", "no group");
    assert_eq!(
        a.alert_id, "48213961:triggered@1795427995000",
        "no cycle key: the date"
    );
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:59:55+00:00");
    assert_eq!(
        (a.service.as_deref(), a.environment.as_deref()),
        (None, None)
    );
}

#[test]
fn without_a_monitor_priority_the_alert_type_sets_the_severity() {
    let without = |alert_type: &str, priority: &str| {
        TRIGGERED
            .replace(
                "\"priority\": \"P2\"",
                &format!("\"priority\": \"{priority}\""),
            )
            .replace(
                "\"alert_type\": \"error\"",
                &format!("\"alert_type\": \"{alert_type}\""),
            )
    };
    for (alert_type, priority, severity) in [
        ("error", "", Severity::High),
        ("warning", "", Severity::Medium),
        ("info", "$ALERT_PRIORITY", Severity::Low),
        ("error", "normal", Severity::High),
        ("warning", "low", Severity::Medium),
        ("", "", Severity::Unknown),
    ] {
        assert_eq!(
            firing(&without(alert_type, priority)).severity,
            severity,
            "{alert_type:?} {priority:?}"
        );
    }
}

#[test]
fn warn_fires_at_medium_and_no_data_at_low_on_the_same_fingerprint() {
    let triggered = firing(TRIGGERED);
    for (transition, severity, key) in [
        ("Warn", Severity::Medium, "warn"),
        ("Re-Warn", Severity::Medium, "warn"),
        ("No Data", Severity::Low, "no-data"),
        ("Re-No Data", Severity::Low, "no-data"),
    ] {
        let a = firing(&transitioned(
            transition,
            "1795428595000",
            "7813547281823746300",
        ));
        assert_eq!(a.severity, severity, "{transition}");
        assert_eq!(a.fingerprint, triggered.fingerprint, "{transition}");
        assert_eq!(
            a.alert_id,
            format!("48213961/9bd4ac313a4d1e8fae2482df7b77628:{key}@7813547281823746300")
        );
    }
}

#[test]
fn a_re_triggered_renotification_of_one_cycle_is_the_same_alert() {
    let first = firing(TRIGGERED);
    let again = TRIGGERED
        .replace(
            "\"transition\": \"Triggered\"",
            "\"transition\": \"Re-Triggered\"",
        )
        .replace(
            "\"id\": \"7813547281823746294\"",
            "\"id\": \"7813547281823799999\"",
        )
        .replace("\"date\": \"1795427995000\"", "\"date\": \"1795429795000\"");
    let parsed = parse(&again);
    assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823799999"));
    let Signal::Firing(a) = &parsed.signals[0] else {
        panic!("firing")
    };
    assert_eq!(
        (&a.alert_id, &a.fingerprint),
        (&first.alert_id, &first.fingerprint)
    );

    let next_cycle = transitioned("Triggered", "1795439995000", "7813547281823811111");
    assert_ne!(
        firing(&next_cycle).alert_id,
        first.alert_id,
        "a new episode"
    );
}

#[test]
fn a_recovered_monitor_resolves_the_fingerprint_its_trigger_fired() {
    let fired = firing(TRIGGERED);
    let recovered = TRIGGERED
        .replace(
            "\"transition\": \"Triggered\"",
            "\"transition\": \"Recovered\"",
        )
        .replace("\"alert_type\": \"error\"", "\"alert_type\": \"success\"")
        .replace("[Triggered on", "[Recovered on")
        .replace(
            "\"id\": \"7813547281823746294\"",
            "\"id\": \"7813547281823755555\"",
        )
        .replace("\"date\": \"1795427995000\"", "\"date\": \"1795428420000\"");
    let parsed = parse(&recovered);
    assert_eq!(parsed.delivery_id.as_deref(), Some("7813547281823755555"));
    assert_eq!(
        parsed.signals,
        [resolved(
            &fired.fingerprint,
            "48213961/9bd4ac313a4d1e8fae2482df7b77628:recovered@7813547281823746294",
            "2026-11-23T10:07:00+00:00"
        )]
    );
}

#[test]
fn other_templates_field_names_and_unsubstituted_variables_are_understood() {
    let body = r#"{"body": "$EVENT_MSG", "last_updated": "1795427995000", "event_type": "query_alert_monitor",
          "title": "[Triggered] Disk almost full", "date": "1795427995000", "org": {"id": "1", "name": "Acme"},
          "id": "42", "alert_id": "777", "alert_transition": "Triggered", "alert_priority": "P3",
          "priority": "normal", "alert_cycle_key": "$ALERT_CYCLE_KEY", "link": "https://app.datadoghq.eu/monitors/777",
          "aggreg_key": "$AGGREG_KEY", "tags": ["env:staging", "service:disk-agent"]}"#;
    let a = firing(body);
    assert_eq!(a.fingerprint, "datadog-monitor-777");
    assert_eq!(a.alert_id, "777:triggered@1795427995000");
    assert_eq!(a.severity, Severity::Medium, "alert_priority P3");
    assert_eq!(
        a.url.as_deref(),
        Some("https://app.datadoghq.eu/monitors/777")
    );
    assert_eq!(
        a.description, None,
        "an unsubstituted $EVENT_MSG is no description"
    );
    assert_eq!(
        (a.service.as_deref(), a.environment.as_deref()),
        (Some("disk-agent"), Some("staging"))
    );
}

#[test]
fn a_test_notification_is_accepted_and_ignored() {
    for title in [
        "[TEST] [P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s",
        "[Test] Checkout p99 latency above 2s",
        "Test notification",
    ] {
        let body = TRIGGERED.replace(
            "[P2] [Triggered on {service:checkout,env:prod}] Checkout p99 latency above 2s",
            title,
        );
        assert!(
            matches!(&parse(&body).signals[..], [Signal::Ignored { reason }] if reason.contains("test")),
            "{title}"
        );
    }
    let minimal = r#"{"title": "[TEST] Webhook test", "body": "This is a test", "transition": "", "id": "1"}"#;
    assert!(matches!(
        &parse(minimal).signals[..],
        [Signal::Ignored { .. }]
    ));
}

#[test]
fn renotifications_unknown_and_empty_transitions_are_accepted_and_ignored() {
    for transition in ["Renotify", "Muted", "", "$ALERT_TRANSITION"] {
        let body = transitioned(transition, "1795428595000", "7813547281823746301");
        match &parse(&body).signals[..] {
            [Signal::Ignored { reason }] => assert!(!reason.is_empty()),
            other => panic!("{transition:?}: ignored expected, got {other:?}"),
        }
    }
    let event = r#"{"id": "5", "title": "Deployed checkout 1.42", "body": "@webhook-aurora", "transition": "", "alert_id": ""}"#;
    assert!(matches!(
        &parse(event).signals[..],
        [Signal::Ignored { .. }]
    ));
}

#[test]
fn malformed_payloads_are_refused_saying_why() {
    let h = headers(&[]);
    let no_monitor = TRIGGERED.replace("\"alert_id\": \"48213961\"", "\"alert_id\": \"\"");
    let default_payload = r#"{"body": "%%%\nCPU high\n%%%", "last_updated": "1795427995000", "event_type": "query_alert_monitor", "title": "[Triggered] CPU high", "date": "1795427995000", "org": {"id": "1", "name": "Acme"}, "id": "42"}"#;
    refuses_malformed_saying(
        &Datadog,
        &h,
        &[
            ("not json", "invalid_json", ""),
            ("{\"transition\": \"Triggered\"", "invalid_json", ""),
            ("[]", "invalid_payload", ""),
            ("\"Triggered\"", "invalid_payload", ""),
            (default_payload, "invalid_payload", "$ALERT_TRANSITION"),
            ("{}", "invalid_payload", "transition"),
            (&no_monitor, "invalid_payload", "alert_id"),
            (
                "{\"transition\": \"Recovered\", \"date\": \"1795428420000\"}",
                "invalid_payload",
                "alert_id",
            ),
            (
                "{\"transition\": \"Triggered\", \"alert_id\": {\"id\": 1}}",
                "invalid_payload",
                "a string or a number",
            ),
            (
                "{\"transition\": [\"Triggered\"], \"alert_id\": \"1\"}",
                "invalid_payload",
                "",
            ),
            (
                "{\"transition\": \"Triggered\", \"alert_id\": \"1\", \"tags\": 5}",
                "invalid_payload",
                "",
            ),
        ],
    );
}

#[test]
fn only_the_right_secret_in_the_custom_header_gets_in() {
    only_the_right_secret_gets_in(&Datadog, TRIGGERED, "{}");
    let good = headers(&[("x-aurora-secret", "dd-s3cret")]);
    assert!(Datadog
        .verify(&delivery(&good, TRIGGERED), b"dd-s3cret")
        .is_ok());
    for bad in [
        headers(&[("x-aurora-secret", "wrong")]),
        headers(&[("x-aurora-secret", "Bearer dd-s3cret")]),
        headers(&[("x-aurora-secret", "")]),
        headers(&[("authorization", "Bearer dd-s3cret")]),
        headers(&[]),
    ] {
        assert!(matches!(
            Datadog.verify(&delivery(&bad, TRIGGERED), b"dd-s3cret"),
            Err(Refusal::Unauthorized(_))
        ));
    }
}

#[test]
fn the_setup_shows_the_template_and_the_custom_header() {
    let setup = Datadog.setup(
        "https://aurora.example.com/webhooks/datadog/x",
        Some("dd-s3cret"),
    );
    assert_eq!(setup.header.as_deref(), Some("x-aurora-secret"));
    assert_eq!(setup.header_value.as_deref(), Some("dd-s3cret"));
    assert!(setup.steps[0].contains(payload_template()));
    assert!(setup.steps[0].contains("X-Aurora-Secret"));
    let template: serde_json::Value =
        serde_json::from_str(payload_template()).expect("the template is JSON");
    assert_eq!(template["transition"], "$ALERT_TRANSITION");
    assert!(Datadog.descriptor().kept_headers.is_empty());
}

#[test]
fn kubernetes_tags_say_where_it_fires() {
    let body = TRIGGERED.replacen(
        "\"tags\": \"env:prod,monitor,service:checkout,team:payments\"",
        "\"tags\": \"env:prod,service:checkout,kube_cluster_name:gke-prod,kube_namespace:shop,pod_name:checkout-6d8f7c9b5d-x2kqp\"",
        1,
    );
    assert_ne!(body, TRIGGERED);
    let a = firing(&body);
    assert_eq!(a.placement.cluster.as_deref(), Some("gke-prod"));
    assert_eq!(a.placement.namespace.as_deref(), Some("shop"));
    assert_eq!(
        a.placement.pod.as_deref(),
        Some("checkout-6d8f7c9b5d-x2kqp")
    );
    assert!(firing(TRIGGERED).placement.is_empty());
}
