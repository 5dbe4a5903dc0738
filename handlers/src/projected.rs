//! A tenant's rows of one read model held in memory, so that a hot lookup (a tool call's
//! connectors, a search's chunk vectors) asks no database once the tenant's rows are read.
//!
//! **Invalidation.** A projector that announces (`Projector::announces`) tells each commit on
//! core NATS, `projected.<tenant>.<projector>` (`aurora_projections::runner`), and the tenant's
//! entry is dropped on hearing it. The notice, not the events themselves: an event reaches a
//! subscriber before the projector has written it, so a lookup on hearing it would read, and
//! keep, the old rows; the notice is sent after the commit, so the next read sees the change. A
//! process that made a change itself may also drop the tenant's entry at once
//! ([`TenantCache::drop_tenant`]), not a NATS hop later.
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

use aurora_nats::subjects;
use futures::StreamExt;

/// The longest an entry is used without a notice.
pub const TTL: Duration = Duration::from_secs(60);

/// The cache of one projector's rows, by tenant. Its listener stops when it is dropped.
pub struct TenantCache<T: ?Sized> {
    projector: &'static str,
    entries: Mutex<HashMap<String, Entry<T>>>,
    /// Bumped by every notice (and every local change): a read started before it is not kept.
    generation: AtomicU64,
    /// Whether the subscription to the notices is in place.
    listening: AtomicBool,
    nats: Option<async_nats::Client>,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

struct Entry<T: ?Sized> {
    rows: Arc<T>,
    connects: u64,
    kept_at: Instant,
}

/// What a read must still match to be kept: taken before it starts.
#[derive(Clone, Copy)]
pub struct Ticket {
    generation: u64,
    connects: u64,
}

impl<T: ?Sized + Send + Sync + 'static> TenantCache<T> {
    /// A cache listening on `nats` for `projector`'s notices (in a task of the current Tokio
    /// runtime). Without NATS or a runtime it keeps nothing: every lookup reads the read model.
    pub fn new(projector: &'static str, nats: Option<async_nats::Client>) -> Arc<Self> {
        let cache = Arc::new(Self {
            projector,
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
    pub fn get(&self, tenant: &str) -> Option<Arc<T>> {
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
    pub fn keep(&self, tenant: &str, ticket: Ticket, rows: Arc<T>) {
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

impl<T: ?Sized> Drop for TenantCache<T> {
    fn drop(&mut self) {
        if let Some(task) = self.listener.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// Subscribes to the projector's notices and drops the tenants they name, until the cache is
/// dropped. If the subscription cannot be made or ends, nothing is kept any more.
async fn listen<T: ?Sized + Send + Sync + 'static>(
    nats: async_nats::Client,
    cache: Weak<TenantCache<T>>,
) {
    let Some(projector) = cache.upgrade().map(|c| c.projector) else {
        return;
    };
    let filter = subjects::projected_all_tenants(projector);
    let mut notices = match nats.subscribe(filter).await {
        Ok(notices) => notices,
        Err(e) => {
            tracing::warn!(error = %e, projector, "lookups will not be cached: no subscription to the projector's notices");
            return;
        }
    };
    // The server has the interest once a flush returns: no notice after this is missed.
    if let Err(e) = nats.flush().await {
        tracing::warn!(error = %e, projector, "lookups will not be cached: the subscription was not confirmed");
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
    fn listening_cache() -> Arc<TenantCache<[u32]>> {
        let cache = TenantCache::new("connectors", None);
        cache.listening.store(true, Ordering::Release);
        cache
    }

    fn rows() -> Arc<[u32]> {
        Arc::from(vec![7])
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
        let cache = TenantCache::<[u32]>::new("connectors", None);
        assert!(cache.ticket().is_none());
        let listening = listening_cache();
        let ticket = listening.ticket().expect("listening");
        listening.listening.store(false, Ordering::Release);
        listening.keep("acme", ticket, rows());
        listening.listening.store(true, Ordering::Release);
        assert!(listening.get("acme").is_none(), "kept while not listening");
    }
}
