//! The JetStream event store behind esrs.

mod batches;
mod concurrency;
mod reading;

use aurora_domain::{Incident, IncidentId};
use aurora_nats::envelope::Context;
use aurora_nats::AggregateStore;
use aurora_tests::TestNats;
use chrono::Utc;

use crate::fixtures::{open, tenant};

/// A store of its own (as a process has) and a new incident `title` of acme opened through it.
async fn opened(nats: &TestNats, title: &str) -> (AggregateStore<Incident>, IncidentId) {
    let id = IncidentId::new();
    let store = AggregateStore::<Incident>::new(nats.log.clone());
    store
        .execute(
            &tenant("acme"),
            id.0,
            open(id, title, "checkout", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    (store, id)
}
