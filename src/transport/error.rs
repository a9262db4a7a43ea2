//! Why a connection could not be opened or used.

use std::time::Duration;

/// Why the WebSocket handshake failed. Each variant says whether trying again can help.
///
/// Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a usable WebSocket URL. Retrying does not help; fix the setting.
    #[error("invalid Realtime URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// 401 or 403: the key is missing, wrong, expired or lacks access. Retrying does not help.
    #[error(
        "the server refused the API key (HTTP {status}){}: check OPENAI_API_KEY (or the key variable in agent.toml), or use --sim to try without a key",
        server_message(message)
    )]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The server's explanation, with the key scrubbed out.
        message: Option<String>,
    },
    /// 404: the model, deployment or path does not exist. Retrying does not help.
    #[error(
        "not found (HTTP 404){}: check the model name (`{model}`) and the URL",
        server_message(message)
    )]
    NotFound {
        /// The model or deployment asked for.
        model: String,
        /// The server's explanation.
        message: Option<String>,
    },
    /// 429: rate limited or out of quota. Retrying after `retry_after` may help.
    #[error("rate limited (HTTP 429){}{}", retry_after.map(|d| format!("; retry after {}s", d.as_secs())).unwrap_or_default(), server_message(message))]
    RateLimited {
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
        /// The server's explanation.
        message: Option<String>,
    },
    /// Any other HTTP status instead of the WebSocket upgrade. 5xx may pass on retry.
    #[error(
        "the server answered HTTP {status} instead of opening a WebSocket{}",
        server_message(message)
    )]
    Http {
        /// The status code.
        status: u16,
        /// The server's explanation.
        message: Option<String>,
    },
    /// The host name did not resolve. Retrying helps only if the network or DNS comes back.
    #[error("cannot resolve `{host}`: {reason} (check the URL and your network)")]
    Dns {
        /// The host.
        host: String,
        /// The resolver's message.
        reason: String,
    },
    /// Nothing listens there. Retrying helps if the server comes up.
    #[error("connection refused by {addr} (is the server running? check the URL)")]
    Refused {
        /// Host and port.
        addr: String,
    },
    /// TLS failed (certificate, protocol). Retrying does not help.
    #[error("TLS handshake with `{host}` failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// What failed.
        reason: String,
    },
    /// The handshake took longer than the connect timeout. Retrying may help.
    #[error("no answer from `{host}` within {}s", timeout.as_secs_f32())]
    Timeout {
        /// The host.
        host: String,
        /// The limit.
        timeout: Duration,
    },
    /// Another I/O or WebSocket protocol failure during the handshake. Retrying may help.
    #[error("could not connect to `{host}`: {reason}")]
    Other {
        /// The host.
        host: String,
        /// What failed.
        reason: String,
    },
}

fn server_message(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(" — server says: {m}"))
        .unwrap_or_default()
}

impl ConnectError {
    /// Whether trying the same connection again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConnectError::RateLimited { .. }
            | ConnectError::Refused { .. }
            | ConnectError::Timeout { .. }
            | ConnectError::Dns { .. }
            | ConnectError::Other { .. } => true,
            ConnectError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The wait the server asked for, for 429.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Why an event could not be sent.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed; events can no longer be sent. Reconnect to go on.
    #[error("the Realtime connection is closed")]
    Closed,
    /// The outgoing queue is full (the network is not keeping up). Retrying later may help.
    #[error("the outgoing queue is full: the network is not keeping up")]
    Full,
}
