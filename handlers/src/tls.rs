//! The process's TLS crypto provider, which every HTTPS client Aurora builds needs.

/// Installs rustls' ring provider for the process. reqwest (with rustls and no provider of its
/// own) panics when building a client unless the process has one: ring, which async-nats brings
/// anyway. Call it before building a client; a second install is refused harmlessly.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
