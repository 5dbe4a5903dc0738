//! The tests' one tracing subscriber: the formatted events (with their spans' fields) of the
//! whole test process go to the test writer when `TEST_LOG` is set, and into a shared buffer
//! while a [`LogCapture`] is open — so a test can read what the app logged (the secret-leak
//! test). Installed once, by [`crate::init_logs`]; when no capture is open the capture layer is
//! disabled per event, so other tests pay one atomic load.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use tracing::Level;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Open captures.
static OPEN: AtomicUsize = AtomicUsize::new(0);
/// What was logged while a capture was open.
static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Installs the subscriber (once per process).
pub fn install() {
    INSTALL.call_once(|| {
        let shown = std::env::var_os("TEST_LOG").map(|_| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(EnvFilter::from_default_env())
        });
        // Everything of Aurora, and what its libraries say at DEBUG and above.
        let captured = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Captured)
            .with_filter(filter_fn(|meta| {
                OPEN.load(Ordering::Relaxed) > 0
                    && (*meta.level() <= Level::DEBUG || meta.target().starts_with("aurora"))
            }));
        let _ = tracing_subscriber::registry()
            .with(shown)
            .with(captured)
            .try_init();
    });
}

/// While alive, the process's logs are kept; [`LogCapture::text`] reads them.
pub struct LogCapture(());

impl LogCapture {
    pub fn start() -> Self {
        install();
        OPEN.fetch_add(1, Ordering::SeqCst);
        Self(())
    }

    /// Everything logged since the first open capture (other tests running at the same time
    /// included: a capture is for looking for what must never be logged).
    pub fn text(&self) -> String {
        let bytes = CAPTURED.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        if OPEN.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Ok(mut bytes) = CAPTURED.lock() {
                bytes.clear();
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Captured;

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = CAPTURED.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}
