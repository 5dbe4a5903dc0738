//! The tenants' live connectors held in memory, so that a tool call's lookup (the account of a
//! kind, every connected secret for redaction) asks no database once a tenant's rows are read.
//!
//! **Invalidation.** The connectors projector announces each commit on core NATS,
//! `projected.<tenant>.connectors` (`aurora_projections::runner`), and an entry is dropped on
//! hearing it. The notice, not the connector events themselves (`evt.*.connector.*`): an event
//! reaches a subscriber before the projector has written it, so a lookup on hearing it would read,
//! and keep, the old rows; the notice is sent after the commit, so the next read sees the change.
//! Every connector change (connect, disconnect, checks, GCP projects) is such a commit. The
//! gateway also drops the tenant's entry itself after a change it made (having waited for the
//! projection), so in its own process the change is seen at once, not a NATS hop later.
//!
//! **Safety.** Nothing is kept while the subscription is not in place. An entry is kept only if
//! no notice arrived between starting to read the rows and keeping them (a generation counter),
//! so a read racing a change cannot outlive the change. Notices are at most once: entries made
//! before a reconnect to NATS (notices may have been missed meanwhile) are not used after it,
//! and none is used after [`TTL`], which bounds what a notice lost anyway (a projector killed
//! between its commit and its notice) can cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use aurora_domain::connector::{ConnectorKind, ConnectorState};
use aurora_nats::subjects;
use futures::StreamExt;
use uuid::Uuid;

/// The longest an entry is used without a notice.
pub const TTL: Duration = Duration::from_secs(60);

/// One live connector of a tenant, as the read model has it.
#[derive(Debug)]
pub struct LiveRow {
    pub id: Uuid,
    pub kind: ConnectorKind,
    pub state: ConnectorState,
}

/// A tenant's live connectors, newest first.
pub type LiveRows = Arc<[LiveRow]>;

/// The cache. Shared by every clone of a `Connectors`; its listener stops when it is dropped.
pub struct LiveCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every notice (and every local change): a read started before it is not kept.
    generation: AtomicU64,
    /// Whether the subscription to the notices is in place.
    listening: AtomicBool,
    nats: Option<async_nats::Client>,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

struct Entry {
    rows: LiveRows,
    connects: u64,
    kept_at: Instant,
}

/// What a read must still match to be kept: taken before it starts.
#[derive(Clone, Copy)]
pub struct Ticket {
    generation: u64,
    connects: u64,
}

impl LiveCache {
    /// A cache listening on `nats` for the projector's notices (in a task of the current Tokio
    /// runtime). Without NATS or a runtime it keeps nothing: every lookup reads the read model.
    pub fn new(nats: Option<async_nats::Client>) -> Arc<Self> {
        let cache = Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            nats,
            listener: Mutex::new(None),
        });
        if let (Some(nats), Ok(runtime)) = (&cache.nats, tokio::runtime::Handle::try_current()) {
            let task = runtime.spawn(listen(nats.clone(), Arc::downgrade(&cache)));
            if let Ok(mut listener) = cache.listener.lock() {
                *listener = Some(task.abort_handle());
            }
        }
        cache
    }

    /// The tenant's rows, if kept and still good.
    pub fn get(&self, tenant: &str) -> Option<LiveRows> {
        let connects = self.connects()?;
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(tenant)?;
        (entry.connects == connects && entry.kept_at.elapsed() < TTL).then(|| entry.rows.clone())
    }

    /// Taken before reading a tenant's rows; `None` when nothing may be kept now.
    pub fn ticket(&self) -> Option<Ticket> {
        let connects = self.connects()?;
        Some(Ticket {
            generation: self.generation.load(Ordering::Acquire),
            connects,
        })
    }

    /// Keeps `rows`, read after `ticket` was taken, unless a notice came since.
    pub fn keep(&self, tenant: &str, ticket: Ticket, rows: LiveRows) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        // Checked under the lock `drop_tenant` bumps under: no notice can slip in between.
        if self.generation.load(Ordering::Acquire) != ticket.generation
            || self.connects() != Some(ticket.connects)
        {
            return;
        }
        entries.insert(
            tenant.to_owned(),
            Entry {
                rows,
                connects: ticket.connects,
                kept_at: Instant::now(),
            },
        );
    }

    /// Forgets the tenant's rows: they changed.
    pub fn drop_tenant(&self, tenant: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.remove(tenant);
        }
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }

    /// Whether entries are kept: the subscription to the notices is in place.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// How many times the NATS client has connected, while the subscription is in place.
    fn connects(&self) -> Option<u64> {
        if !self.listening() {
            return None;
        }
        Some(
            self.nats
                .as_ref()
                .map_or(0, |nats| nats.statistics().connects.load(Ordering::Acquire)),
        )
    }
}

impl Drop for LiveCache {
    fn drop(&mut self) {
        if let Some(task) = self.listener.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// Subscribes to the connectors projector's notices and drops the tenants they name, until the
/// cache is dropped. If the subscription cannot be made or ends, nothing is kept any more.
async fn listen(nats: async_nats::Client, cache: Weak<LiveCache>) {
    let filter = subjects::projected_all_tenants("connectors");
    let mut notices = match nats.subscribe(filter).await {
        Ok(notices) => notices,
        Err(e) => {
            tracing::warn!(error = %e, "connector lookups will not be cached: no subscription to the projector's notices");
            return;
        }
    };
    // The server has the interest once a flush returns: no notice after this is missed.
    if let Err(e) = nats.flush().await {
        tracing::warn!(error = %e, "connector lookups will not be cached: the subscription was not confirmed");
        return;
    }
    match cache.upgrade() {
        Some(cache) => {
            cache.clear();
            cache.listening.store(true, Ordering::Release);
        }
        None => return,
    }
    while let Some(notice) = notices.next().await {
        let Some(cache) = cache.upgrade() else {
            return;
        };
        match subjects::projected_tenant(&notice.subject) {
            Some(tenant) => cache.drop_tenant(tenant),
            None => cache.clear(),
        }
    }
    if let Some(cache) = cache.upgrade() {
        cache.listening.store(false, Ordering::Release);
        cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache as if its subscription were in place (no NATS: the connects count stays 0).
    fn listening_cache() -> Arc<LiveCache> {
        let cache = LiveCache::new(None);
        cache.listening.store(true, Ordering::Release);
        cache
    }

    fn rows() -> LiveRows {
        Arc::from(vec![LiveRow {
            id: Uuid::now_v7(),
            kind: ConnectorKind::Datadog,
            state: ConnectorState::default(),
        }])
    }

    #[test]
    fn rows_are_kept_per_tenant_until_a_notice_names_the_tenant() {
        let cache = listening_cache();
        let ticket = cache.ticket().expect("listening");
        cache.keep("acme", ticket, rows());
        let ticket = cache.ticket().expect("listening");
        cache.keep("globex", ticket, rows());
        assert_eq!(cache.get("acme").map(|r| r.len()), Some(1));
        cache.drop_tenant("acme");
        assert!(cache.get("acme").is_none());
        assert!(cache.get("globex").is_some(), "another tenant's rows stay");
    }

    #[test]
    fn a_read_that_raced_a_notice_is_not_kept() {
        let cache = listening_cache();
        let ticket = cache.ticket().expect("listening");
        // The rows were being read when the change was announced: they may be the old ones.
        cache.drop_tenant("acme");
        cache.keep("acme", ticket, rows());
        assert!(cache.get("acme").is_none());
        // Even a notice about another tenant: the generation is one for all.
        let ticket = cache.ticket().expect("listening");
        cache.drop_tenant("globex");
        cache.keep("acme", ticket, rows());
        assert!(cache.get("acme").is_none());
    }

    #[test]
    fn nothing_is_kept_without_the_subscription() {
        let cache = LiveCache::new(None);
        assert!(cache.ticket().is_none());
        let listening = listening_cache();
        let ticket = listening.ticket().expect("listening");
        listening.listening.store(false, Ordering::Release);
        listening.keep("acme", ticket, rows());
        listening.listening.store(true, Ordering::Release);
        assert!(listening.get("acme").is_none(), "kept while not listening");
    }
}
