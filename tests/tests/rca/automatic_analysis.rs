//! The automatic analysis of a new incident follows the integration its alert came in through,
//! not its source: with two Grafana integrations, the one turned off stays off.

use aurora_domain::investigation::run_id;
use aurora_domain::{IncidentEvent, IncidentId};
use aurora_nats::{subjects, EventLog};
use aurora_tests::Answer;
use esrs::event::Upcaster;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{automatic, rca, Rca};
use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};
use aurora_domain::incident::Opening;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_incident_is_analysed_only_when_the_integration_its_alert_came_through_asks() {
    // Arrange: two Grafana integrations (analysis on by the source's default), one turned off as
    // the settings page does; every alert opens its own incident (shadow mode), so each is
    // judged on its own.
    let r = rca(None, automatic()).await;
    let (app, admin) = (&r.app, &r.admin);
    Answer::of(
        app.request(Method::PUT, "/api/correlation/settings", Some(admin))
            .json(&json!({ "shadow_mode": true }))
            .send()
            .await,
    )
    .await
    .expect_status(200);
    let on = integration(app, admin, "grafana", "Grafana EU").await;
    let off = integration(app, admin, "grafana", "Grafana US").await;
    let turned_off = Answer::of(
        app.request(
            Method::PATCH,
            &format!("/api/integrations/{}", id_of(&off)),
            Some(admin),
        )
        .json(&json!({ "settings": { "rca_on_new_incidents": false } }))
        .send()
        .await,
    )
    .await
    .expect_status(200);
    assert_eq!(turned_off["rca_on_new_incidents"], false);

    // Act: an alert through the integration that is off, then one through the one that is on.
    let off_incident = alert_through(&r, &off, "Payments errors high", 1).await;
    let on_incident = alert_through(&r, &on, "Checkout latency high", 2).await;

    // Assert: the incident of the "on" integration is analysed.
    r.until(on_incident, 1, |_| true).await;
    // The rca consumer takes the incidents' events in order, and the "off" incident opened
    // first: by the time the later one's run was asked for, this one had been decided — not
    // analysed.
    let not_analysed = r.incident(off_incident).await;
    assert_eq!(not_analysed.rca_run, None, "{not_analysed:#?}");
    assert_eq!(not_analysed.rca_runs, 0);
    assert!(r.investigation(run_id(off_incident, 1)).await.is_none());
    // What decided it: each incident's opening names the integration its alert came through.
    assert_eq!(opened_through(&r, off_incident).await, Some(id_of(&off)));
    assert_eq!(opened_through(&r, on_incident).await, Some(id_of(&on)));
}

fn id_of(integration: &Value) -> Uuid {
    integration["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .expect("an integration id")
}

/// Delivers one firing alert titled `title` through `integration` and returns the incident it
/// opened, the tenant's `nth`.
async fn alert_through(r: &Rca, integration: &Value, title: &str, nth: usize) -> IncidentId {
    let secret = integration["secret"].as_str().expect("a generated secret");
    let body = grafana(&[("firing", &format!("fp-{nth}"), "checkout", title)]);
    deliver(&r.app, &path_of(integration), Some(secret), &body)
        .await
        .expect_status(202);
    let items = incidents_until(&r.app, &r.admin, |items| items.len() == nth).await;
    let opened = items
        .iter()
        .find(|i| i["title"] == title)
        .expect("the alert's incident");
    let id = opened["id"].as_str().expect("an incident id");
    IncidentId(Uuid::parse_str(id).expect("a uuid"))
}

/// The integration the incident's `opened` event names.
async fn opened_through(r: &Rca, incident: IncidentId) -> Option<Uuid> {
    let subject = subjects::aggregate(&r.admin.tenant, "incident", incident.0);
    let events = EventLog::new(r.app.nats.client.clone())
        .read_subject(&subject, 1)
        .await
        .expect("the log answers");
    let first = events.into_iter().next().expect("the incident has events");
    match IncidentEvent::upcast(first.data, first.version).expect("an incident event") {
        IncidentEvent::Opened(Opening { integration_id, .. }) => integration_id,
        other => panic!("the first event is not the opening: {other:?}"),
    }
}
