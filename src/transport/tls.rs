//! The TLS client configuration shared by the WebSocket and HTTP clients.

use std::sync::{Arc, OnceLock};

/// A rustls client configuration with the ring provider and the Mozilla root certificates.
///
/// Built explicitly rather than through a process-wide default provider, so that embedding this
/// crate never changes global state another library relies on. Built once and shared: a server
/// opens a connection per call, and the root store is the same every time.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(build).clone()
}

fn build() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
