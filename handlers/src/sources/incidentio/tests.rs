use super::*;
use crate::sources::common::tests_support::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MESSAGE_ID: &str = "msg_2Lh9KRb0pzN5GaWkkjRuJhGpn0w";

/// incident.io's `public_incident.incident_created_v2` example (API reference), trimmed of
/// role assignments and duration metrics.
const CREATED_BODY: &str = r#"{
      "event_type": "public_incident.incident_created_v2",
      "public_incident.incident_created_v2": {
        "call_url": "https://zoom.us/foo",
        "created_at": "2026-11-23T09:58:12.801578Z",
        "creator": {"user": {"email": "lisa@incident.io", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Lisa Karlin Curtis", "role": "viewer", "slack_user_id": "U02AYNF2XJM"}},
        "custom_field_entries": [
          {"custom_field": {"description": "Which team is impacted by this issue", "field_type": "single_select", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Affected Team", "options": []},
           "values": [{"value_option": {"custom_field_id": "01FCNDV6P870EA6S7TK1DSYDG0", "id": "01FCNDV6P870EA6S7TK1DSYDG1", "sort_key": 10, "value": "Product"}}]},
          {"custom_field": {"description": "The affected services", "field_type": "multi_select", "id": "01FCNDV6P870EA6S7TK1DSYDG2", "name": "Affected services", "options": []},
           "values": [{"value_catalog_entry": {"aliases": ["payments"], "external_id": "761722cd", "id": "01FCNDV6P870EA6S7TK1DSYDG3", "name": "payments-api"}}]},
          {"custom_field": {"description": "", "field_type": "single_select", "id": "01FCNDV6P870EA6S7TK1DSYDG4", "name": "Environment", "options": []},
           "values": [{"value_option": {"custom_field_id": "01FCNDV6P870EA6S7TK1DSYDG4", "id": "01FCNDV6P870EA6S7TK1DSYDG5", "sort_key": 10, "value": "production"}}]}
        ],
        "external_issue_reference": {"issue_name": "INC-123", "issue_permalink": "https://linear.app/incident-io/issue/INC-1609", "provider": "asana"},
        "has_debrief": false,
        "id": "01FDAG4SAP5TYPT98WGR2N7W91",
        "incident_role_assignments": [],
        "incident_status": {"category": "live", "created_at": "2021-08-17T13:28:57.801578Z", "description": "We're investigating", "id": "01FCNDV6P870EA6S7TK1DSYD5H", "name": "Investigating", "rank": 1, "updated_at": "2021-08-17T13:28:57.801578Z"},
        "incident_timestamp_values": [{"incident_timestamp": {"id": "01FCNDV6P870EA6S7TK1DSYD5H", "name": "Impact started", "rank": 1}, "value": {"value": "2026-11-23T09:50:00Z"}}],
        "incident_type": {"create_in_triage": "always", "description": "Customer facing production outages", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "is_default": false, "name": "Production Outage", "private_incidents_only": false},
        "mode": "standard",
        "name": "Our database is sad",
        "permalink": "https://app.incident.io/incidents/123",
        "reference": "INC-123",
        "severity": {"description": "Issues with **high impact**.", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Critical", "rank": 3},
        "slack_channel_id": "C02AW36C1M5",
        "slack_channel_name": "inc-123-our-database-is-sad",
        "slack_team_id": "T02A1FSLE8J",
        "summary": "Our database is really really sad, and we don't know why yet.",
        "updated_at": "2026-11-23T09:58:12.801578Z",
        "visibility": "public",
        "workload_minutes_late": 0, "workload_minutes_sleeping": 0, "workload_minutes_total": 0, "workload_minutes_working": 0
      }
    }"#;

/// incident.io's `public_incident.incident_status_updated_v2`: the incident with its new and
/// previous status.
const STATUS_BODY: &str = r#"{
      "event_type": "public_incident.incident_status_updated_v2",
      "public_incident.incident_status_updated_v2": {
        "incident": {
          "created_at": "2026-11-23T09:58:12.801578Z",
          "custom_field_entries": [],
          "id": "01FDAG4SAP5TYPT98WGR2N7W91",
          "incident_status": {"category": "closed", "id": "01FCNDV6P870EA6S7TK1DSYD5J", "name": "Closed", "rank": 4},
          "mode": "standard",
          "name": "Our database is sad",
          "permalink": "https://app.incident.io/incidents/123",
          "reference": "INC-123",
          "severity": {"id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Critical", "rank": 3},
          "summary": "Fixed by failing over.",
          "updated_at": "2026-11-23T11:04:00Z",
          "visibility": "public"
        },
        "message": "We failed over to the replica; all good.",
        "new_status": {"category": "closed", "description": "Impact has been **fully mitigated**.", "id": "01FCNDV6P870EA6S7TK1DSYD5J", "name": "Closed", "rank": 4},
        "previous_status": {"category": "live", "id": "01FCNDV6P870EA6S7TK1DSYD5H", "name": "Monitoring", "rank": 3}
      }
    }"#;

fn parse(body: &str) -> Result<Parsed, Refusal> {
    let h = headers(&[(ID_HEADER, MESSAGE_ID)]);
    IncidentIo.parse(&delivery(&h, body))
}

fn one(body: &str) -> Signal {
    let parsed = parse(body).expect("parses");
    assert_eq!(parsed.signals.len(), 1);
    parsed.signals.into_iter().next().expect("one signal")
}

fn ignored_reason(body: &str) -> String {
    match one(body) {
        Signal::Ignored { reason } => reason,
        other => panic!("expected ignored, got {other:?}"),
    }
}

fn with_status(body: &str, category: &str, name: &str) -> String {
    body.replace(
        r#""new_status": {"category": "closed", "description": "Impact has been **fully mitigated**.", "id": "01FCNDV6P870EA6S7TK1DSYD5J", "name": "Closed""#,
        &format!(r#""new_status": {{"category": "{category}", "id": "x", "name": "{name}""#),
    )
}

#[test]
fn a_declared_incident_fires_with_its_fields() {
    let parsed = parse(CREATED_BODY).expect("parses");
    assert_eq!(parsed.delivery_id.as_deref(), Some(MESSAGE_ID));
    let [Signal::Firing(a)] = &parsed.signals[..] else {
        panic!("firing: {:?}", parsed.signals)
    };
    assert_eq!(a.alert_id, "01FDAG4SAP5TYPT98WGR2N7W91");
    assert_eq!(a.fingerprint, "incidentio-01FDAG4SAP5TYPT98WGR2N7W91");
    assert_eq!(a.title, "Our database is sad");
    assert_eq!(a.service.as_deref(), Some("payments-api"));
    assert_eq!(a.environment.as_deref(), Some("production"));
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T09:58:12.801578+00:00");
    assert_eq!(
        a.description.as_deref(),
        Some("Our database is really really sad, and we don't know why yet.")
    );
    assert_eq!(
        a.url.as_deref(),
        Some("https://app.incident.io/incidents/123")
    );
}

#[test]
fn an_incident_opened_in_triage_fires_too() {
    let body = CREATED_BODY.replace(
        r#""category": "live", "created_at""#,
        r#""category": "triage", "created_at""#,
    );
    assert!(matches!(one(&body), Signal::Firing(_)));
}

#[test]
fn severity_names_map_and_a_missing_severity_is_unknown() {
    levels_map_onto(
        &[
            ("Minor", Severity::Low),
            ("Major", Severity::High),
            ("SEV1", Severity::Critical),
            ("Custom level", Severity::Medium),
        ],
        |name| CREATED_BODY.replace(r#""name": "Critical""#, &format!(r#""name": "{name}""#)),
        one,
    );
    let body = CREATED_BODY.replace(
        r#""severity": {"description": "Issues with **high impact**.", "id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "Critical", "rank": 3},"#,
        "",
    );
    let Signal::Firing(a) = one(&body) else {
        panic!("firing")
    };
    assert_eq!(a.severity, Severity::Unknown);
}

#[test]
fn a_sparse_incident_falls_back_on_reference_and_arrival_time() {
    let body = r#"{"event_type": "public_incident.incident_created_v2",
          "public_incident.incident_created_v2": {"id": "01HX", "reference": "INC-9", "name": "", "severity": null, "incident_status": {"category": "live"}, "custom_field_entries": null}}"#;
    let Signal::Firing(a) = one(body) else {
        panic!("firing")
    };
    assert_eq!(a.title, "INC-9");
    assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:30+00:00");
    assert_eq!((a.service, a.environment, a.url), (None, None, None));
}

#[test]
fn an_incident_wrapped_in_an_incident_key_is_read_too() {
    let body = r#"{"event_type": "public_incident.incident_created_v2",
          "public_incident.incident_created_v2": {"incident": {"id": "01HY", "name": "Checkout down", "incident_status": {"category": "active", "name": "Investigating"}}}}"#;
    let Signal::Firing(a) = one(body) else {
        panic!("firing")
    };
    assert_eq!(
        (a.alert_id.as_str(), a.title.as_str()),
        ("01HY", "Checkout down")
    );
}

#[test]
fn test_and_tutorial_incidents_are_ignored() {
    for mode in ["test", "tutorial"] {
        let body = CREATED_BODY.replace(r#""mode": "standard""#, &format!(r#""mode": "{mode}""#));
        let reason = ignored_reason(&body);
        assert!(
            reason.contains(mode) && reason.contains("INC-123"),
            "{reason}"
        );
    }
    let body = STATUS_BODY.replace(r#""mode": "standard""#, r#""mode": "test""#);
    assert!(ignored_reason(&body).contains("test"));
}

#[test]
fn an_incident_declared_already_closed_is_ignored() {
    for category in ["closed", "learning", "declined"] {
        let body = CREATED_BODY.replace(
            r#""category": "live", "created_at""#,
            &format!(r#""category": "{category}", "created_at""#),
        );
        let reason = ignored_reason(&body);
        assert!(reason.contains(category), "{reason}");
    }
}

#[test]
fn closing_the_incident_resolves_its_fingerprint() {
    assert_eq!(
        one(STATUS_BODY),
        resolved(
            "incidentio-01FDAG4SAP5TYPT98WGR2N7W91",
            "01FDAG4SAP5TYPT98WGR2N7W91",
            "2026-11-23T11:04:00+00:00"
        )
    );
}

#[test]
fn a_declined_canceled_or_merged_incident_resolves_too() {
    for category in ["declined", "canceled", "merged"] {
        let body = with_status(STATUS_BODY, category, "Done");
        assert!(matches!(one(&body), Signal::Resolved { .. }), "{category}");
    }
}

#[test]
fn other_status_changes_are_ignored_naming_the_status() {
    for (category, name) in [
        ("live", "Fixing"),
        ("learning", "Post-incident"),
        ("paused", "Paused"),
        ("triage", "Triage"),
    ] {
        let body = with_status(STATUS_BODY, category, name);
        let reason = ignored_reason(&body);
        assert!(
            reason.contains(name) && reason.contains(category) && reason.contains("INC-123"),
            "{reason}"
        );
    }
}

#[test]
fn a_status_update_without_new_status_reads_the_incidents_status() {
    let body = STATUS_BODY.replace(r#""new_status""#, r#""unrelated""#);
    assert!(matches!(one(&body), Signal::Resolved { .. }));
}

#[test]
fn an_incident_update_resolves_only_once_closed() {
    let closed = CREATED_BODY
        .replace(CREATED, UPDATED)
        .replace(r#""category": "live""#, r#""category": "closed""#);
    assert!(
        matches!(one(&closed), Signal::Resolved { fingerprint, .. } if fingerprint == "incidentio-01FDAG4SAP5TYPT98WGR2N7W91")
    );
    let live = CREATED_BODY.replace(CREATED, UPDATED);
    assert!(ignored_reason(&live).contains("Investigating"));
}

#[test]
fn private_incidents_and_other_events_are_ignored_by_name() {
    for event in [
        "private_incident.incident_created_v2",
        "private_incident.incident_updated_v2",
    ] {
        let body = format!(r#"{{"event_type": "{event}", "{event}": {{"id": "01HZ"}}}}"#);
        let reason = ignored_reason(&body);
        assert!(
            reason.contains(event) && reason.contains("private"),
            "{reason}"
        );
    }
    for event in [
        "public_incident.follow_up_created_v2",
        "public_incident.action_updated_v1",
        "public_alert.alert_created_v1",
        "public_incident.postmortem_document_status_updated_v1",
    ] {
        let body =
            format!(r#"{{"event_type": "{event}", "{event}": {{"id": "01HZ", "title": "x"}}}}"#);
        assert!(ignored_reason(&body).contains(event));
    }
}

#[test]
fn without_a_message_id_the_body_hash_deduplicates() {
    let h = headers(&[]);
    let parsed = IncidentIo
        .parse(&delivery(&h, CREATED_BODY))
        .expect("parses");
    assert_eq!(parsed.delivery_id, None);
    assert_eq!(
        IncidentIo.descriptor().kept_headers,
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    );
}

#[test]
fn malformed_payloads_are_refused_saying_why() {
    refuses_malformed(
        &IncidentIo,
        &headers(&[]),
        "incident.io",
        &[
            ("not json", "invalid_json"),
            (r#"{"event_type": "#, "invalid_json"),
            ("[1, 2]", "invalid_payload"),
            ("{}", "invalid_payload"),
            (r#"{"event_type": 7}"#, "invalid_payload"),
            (
                r#"{"event_type": "public_incident.incident_created_v2"}"#,
                "invalid_payload",
            ),
            (
                r#"{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"name": "no id"}}"#,
                "invalid_payload",
            ),
            (
                r#"{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"id": 42}}"#,
                "invalid_payload",
            ),
            (
                r#"{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"id": "a", "created_at": "yesterday"}}"#,
                "invalid_payload",
            ),
            (
                r#"{"event_type": "public_incident.incident_status_updated_v2", "public_incident.incident_status_updated_v2": {"new_status": {"category": "closed"}}}"#,
                "invalid_payload",
            ),
            (
                r#"{"event_type": "public_incident.incident_updated_v2", "public_incident.incident_updated_v2": "01HZ"}"#,
                "invalid_payload",
            ),
        ],
    );
}

// --- Svix signatures ---------------------------------------------------------------------

const KEY: &[u8] = b"aurora-test-signing-key-0123456789";

fn secret() -> String {
    format!("whsec_{}", STANDARD.encode(KEY))
}

fn svix_sign(key: &[u8], id: &str, timestamp: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("key");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn now_ts() -> i64 {
    let h = headers(&[]);
    delivery(&h, "").received_at.timestamp()
}

fn verify(pairs: &[(&str, &str)], body: &str, secret: &str) -> Result<(), Refusal> {
    let h = headers(pairs);
    IncidentIo.verify(&delivery(&h, body), secret.as_bytes())
}

fn signed(ts: &str, signature: &str) -> Vec<(&'static str, String)> {
    vec![
        (ID_HEADER, MESSAGE_ID.to_owned()),
        (TIMESTAMP_HEADER, ts.to_owned()),
        (SIGNATURE_HEADER, signature.to_owned()),
    ]
}

fn verify_owned(pairs: &[(&'static str, String)], body: &str, secret: &str) -> Result<(), Refusal> {
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    verify(&borrowed, body, secret)
}

fn assert_unauthorized(result: Result<(), Refusal>, says: &str) {
    match result {
        Err(Refusal::Unauthorized(message)) => {
            assert!(message.contains(says), "{message:?} should say {says:?}")
        }
        other => panic!("expected 401 saying {says:?}, got {other:?}"),
    }
}

#[test]
fn a_svix_signature_of_this_delivery_with_the_secret_gets_in() {
    let ts = now_ts().to_string();
    let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
    assert!(verify_owned(&signed(&ts, &good), CREATED_BODY, &secret()).is_ok());
    // During a rotation Svix sends several signatures; any one matching is enough.
    let rotated = format!("v1,c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5 {good}");
    assert!(verify_owned(&signed(&ts, &rotated), CREATED_BODY, &secret()).is_ok());
    // Svix's libraries accept the secret without its prefix.
    let bare = STANDARD.encode(KEY);
    assert!(verify_owned(&signed(&ts, &good), CREATED_BODY, &bare).is_ok());
}

#[test]
fn only_the_right_secret_gets_in_as_for_every_source() {
    let ts = now_ts().to_string();
    let prove = |secret: &[u8], body: &str| {
        let secret = std::str::from_utf8(secret).expect("a text secret");
        let key = STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .expect("a svix secret");
        let pairs = signed(&ts, &svix_sign(&key, MESSAGE_ID, &ts, body));
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        headers(&borrowed)
    };
    let another = format!("whsec_{}", STANDARD.encode(b"another integration's key"));
    only_the_right_secret_gets_in_by(
        &IncidentIo,
        (secret().as_bytes(), another.as_bytes()),
        (CREATED_BODY, STATUS_BODY),
        &prove,
    );
}

#[test]
fn a_timestamp_within_five_minutes_either_way_is_accepted() {
    for offset in [-299, -60, 0, 60, 299] {
        let ts = (now_ts() + offset).to_string();
        let sig = svix_sign(KEY, MESSAGE_ID, &ts, STATUS_BODY);
        assert!(
            verify_owned(&signed(&ts, &sig), STATUS_BODY, &secret()).is_ok(),
            "{offset}"
        );
    }
}

#[test]
fn a_timestamp_outside_five_minutes_is_refused_even_if_signed() {
    for offset in [-301, -3600, 301, 86_400] {
        let ts = (now_ts() + offset).to_string();
        let sig = svix_sign(KEY, MESSAGE_ID, &ts, STATUS_BODY);
        assert_unauthorized(
            verify_owned(&signed(&ts, &sig), STATUS_BODY, &secret()),
            "5-minute tolerance",
        );
    }
    let sig = svix_sign(KEY, MESSAGE_ID, "soon", STATUS_BODY);
    assert_unauthorized(
        verify_owned(&signed("soon", &sig), STATUS_BODY, &secret()),
        "unix seconds",
    );
}

#[test]
fn a_wrong_secret_another_body_or_another_id_is_refused() {
    let ts = now_ts().to_string();
    let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
    for (sig, body) in [
        (
            svix_sign(b"another key", MESSAGE_ID, &ts, CREATED_BODY),
            CREATED_BODY,
        ),
        (svix_sign(KEY, MESSAGE_ID, &ts, STATUS_BODY), CREATED_BODY),
        (svix_sign(KEY, "msg_other", &ts, CREATED_BODY), CREATED_BODY),
        (good.clone(), STATUS_BODY),
        ("v1,not base64!".to_owned(), CREATED_BODY),
    ] {
        assert_unauthorized(
            verify_owned(&signed(&ts, &sig), body, &secret()),
            "does not match",
        );
    }
    let other_secret = format!("whsec_{}", STANDARD.encode(b"someone else's key"));
    assert_unauthorized(
        verify_owned(&signed(&ts, &good), CREATED_BODY, &other_secret),
        "does not match",
    );
    let bare = good.trim_start_matches("v1,").to_owned();
    assert_unauthorized(
        verify_owned(&signed(&ts, &bare), CREATED_BODY, &secret()),
        "v1,<base64 signature>",
    );
    assert_unauthorized(
        verify_owned(
            &signed(&ts, &good.replacen("v1,", "v2,", 1)),
            CREATED_BODY,
            &secret(),
        ),
        "v1,<base64 signature>",
    );
}

#[test]
fn each_missing_svix_header_is_refused_by_name() {
    let ts = now_ts().to_string();
    let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
    for missing in [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER] {
        let pairs: Vec<_> = signed(&ts, &good)
            .into_iter()
            .filter(|(k, _)| *k != missing)
            .collect();
        assert_unauthorized(verify_owned(&pairs, CREATED_BODY, &secret()), missing);
    }
    assert_unauthorized(verify(&[], CREATED_BODY, &secret()), "missing");
}

#[test]
fn a_secret_that_is_not_a_svix_secret_is_refused_saying_so() {
    let ts = now_ts().to_string();
    let good = svix_sign(KEY, MESSAGE_ID, &ts, CREATED_BODY);
    for bad in ["whsec_!!!", "whsec_", "plain secret"] {
        assert_unauthorized(
            verify_owned(&signed(&ts, &good), CREATED_BODY, bad),
            "whsec_",
        );
    }
}

#[test]
fn setup_asks_for_the_signing_secret_incident_io_generates() {
    let setup = IncidentIo.setup("https://aurora.example.com/webhooks/incidentio/x", None);
    assert_eq!(setup.header, None, "incident.io signs; no header to add");
    assert!(setup.steps[0].contains("Public incident created (v2)"));
    assert!(setup.steps[2].contains("whsec_"), "{}", setup.steps[2]);
    assert_eq!(IncidentIo.descriptor().auth, Auth::Svix);
    assert_eq!(IncidentIo.descriptor().secret_origin, SecretOrigin::Source);
    assert!(IncidentIo.descriptor().rca_by_default);
}
