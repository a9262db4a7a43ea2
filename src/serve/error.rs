//! What can go wrong starting `agent serve`.

use std::net::SocketAddr;

/// Why the server could not start. Fix the setting named; retrying does not help, except for
/// [`ServeError::Bind`] when another program held the port.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A setting is missing or invalid.
    #[error("{0}")]
    Config(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The tools of agent.toml could not be built.
    #[error(transparent)]
    Tools(#[from] crate::config::ConfigError),
    /// The HTTP server failed while running.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}
