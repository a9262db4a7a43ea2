//! What every request handler shares.

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::ServeOptions;
use super::events::ServeEvent;
use super::metrics::{ErrorKind, Metrics};
use super::slots::Slots;
use super::tokens::OneTimeTokens;

/// The server's shared state: settings, the session limit, counters, one-time tokens.
pub(crate) struct State {
    pub(crate) options: ServeOptions,
    pub(crate) slots: Arc<Slots>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) tokens: OneTimeTokens,
    /// Cancelled when the drain time is over: every live session ends.
    pub(crate) end_sessions: CancellationToken,
    pub(crate) events: broadcast::Sender<ServeEvent>,
    pub(crate) http: reqwest::Client,
}

impl State {
    pub(crate) fn new(options: ServeOptions) -> Arc<State> {
        let metrics = Arc::new(Metrics::default());
        let (events, _) = broadcast::channel(1024);
        Arc::new(State {
            slots: Slots::new(options.max_sessions, metrics.clone()),
            metrics,
            tokens: OneTimeTokens::default(),
            end_sessions: CancellationToken::new(),
            events,
            http: http_client(),
            options,
        })
    }

    /// Reports `event` to subscribers, if any.
    pub(crate) fn emit(&self, event: ServeEvent) {
        let _ = self.events.send(event);
    }

    /// Counts an error.
    pub(crate) fn error(&self, kind: ErrorKind) {
        self.metrics.error(kind);
    }
}

/// The client for the provider's REST API: the crate's TLS setup, a timeout, no redirects.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured((*crate::transport::tls::client_config()).clone())
        .timeout(std::time::Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("realtime-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with a preconfigured TLS backend builds")
}
