//! The HTTP server: routes, `/healthz`, `/metrics`, and the drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use super::events::ServeEvent;
use super::state::State;
use super::{ServeError, ServeOptions, access, browser, sip, twilio};

/// How long sessions get to close after the drain time, once told to end.
const END_GRACE: Duration = Duration::from_secs(5);

/// `agent serve` as a library: bind, then run until a shutdown future completes.
///
/// ```no_run
/// # async fn demo() -> Result<(), realtime_agent::serve::ServeError> {
/// use realtime_agent::config::Config;
/// use realtime_agent::serve::{ServeOptions, Server};
/// let options = ServeOptions::from_config(Config::load("agent.toml")?, None)?;
/// let server = Server::bind(options).await?;
/// println!("listening on {}", server.local_addr());
/// server.run(async { tokio::signal::ctrl_c().await.ok(); }).await?;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listen address (port 0 picks a free one) and checks that the tools build.
    pub async fn bind(options: ServeOptions) -> Result<Server, ServeError> {
        // A tool that cannot be built is a configuration error to see now, not per call.
        options.config.tool_registry_with(&options.rust_tools)?;
        let addr = options.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Server {
            listener,
            state: State::new(options),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Calls as they start, press keys, run tools and end.
    pub fn subscribe(&self) -> broadcast::Receiver<ServeEvent> {
        self.state.events.subscribe()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets live calls go on for up to
    /// the drain timeout, ends the rest, and returns.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = self.state;
        let app = router(state.clone());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let http = tokio::spawn(
            axum::serve(
                self.listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .into_future(),
        );
        shutdown.await;
        state.slots.start_draining();
        let _ = stop_tx.send(());
        let live = state.slots.active();
        let drain = state.options.drain_timeout;
        tracing::info!(
            live,
            ?drain,
            "shutting down: no new calls; live calls may finish"
        );
        if !state.slots.wait_idle(drain).await {
            tracing::warn!(
                live = state.slots.active(),
                "drain timeout: ending the calls still live"
            );
        }
        state.end_sessions.cancel();
        state.slots.wait_idle(END_GRACE).await;
        // Connections that are not calls (a slow client) do not hold the exit.
        if let Ok(Ok(result)) = tokio::time::timeout(END_GRACE, http).await {
            result?;
        }
        Ok(())
    }
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/twilio/voice", post(twilio::voice))
        .route("/twilio/media", get(twilio::media))
        .route("/openai/webhook", post(sip::webhook))
        .route("/", get(browser::page))
        .route("/browser/media", get(browser::media))
        .with_state(state)
}

/// `/healthz`: 200 while calls are accepted, 503 while draining (so a load balancer moves on).
async fn healthz(Shared(state): Shared<Arc<State>>) -> Response {
    if state.slots.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}

/// `/metrics`: Prometheus text. Loopback callers, or the browser token as a bearer token.
async fn metrics(
    Shared(state): Shared<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !access::bearer_or_loopback(&state, &headers, peer) {
        return (StatusCode::UNAUTHORIZED, "a token is needed\n").into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
