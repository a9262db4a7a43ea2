//! One MCP server kept running: a supervisor task connects, lists, watches for a crash, a hang
//! or a changed tool list, and restarts with backoff; calls borrow its current peer.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::model::{ClientRequest, PingRequest, Tool};
use rmcp::{Peer, RoleClient};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::connect::{self, Session};
use super::{McpError, McpServer};
use crate::ApiKey;

/// The first wait before a restart; it doubles per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a server suspected of hanging has to answer a ping.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Tells the user about a server's trouble: one line per outage. Arguments: the server's name
/// and the line.
pub type McpNotify = Arc<dyn Fn(&str, String) + Send + Sync>;

/// The tools a server offers, as last listed.
#[derive(Debug, Clone)]
pub enum Listing {
    /// Not listed yet (starting).
    Pending,
    /// Listed; the number counts listings, so a change is seen even when the list is equal.
    Ready(u64, Arc<Vec<Tool>>),
    /// The server could not be started or listed; it is retried with backoff.
    Failed(McpError),
}

/// Where the server is, for calls.
#[derive(Clone)]
enum Link {
    Starting,
    Up(Peer<RoleClient>),
    Down(String),
}

struct Shared {
    spec: McpServer,
    link: Mutex<Link>,
    listing: watch::Sender<Listing>,
    suspect: mpsc::Sender<()>,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Secrets no variable of a stdio server may hold (the key the agent connects with).
    withheld: Vec<ApiKey>,
}

/// A connection to one MCP server, kept up by its own task. Cheap to clone.
#[derive(Clone)]
pub struct McpClient {
    shared: Arc<Shared>,
    _owner: Arc<StopOnDrop>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.shared.spec.server_name())
            .finish_non_exhaustive()
    }
}

impl McpClient {
    /// Starts `spec` and keeps it running until [`McpClient::shutdown`]. `notify` hears one
    /// line per outage (failed start, crash, hang).
    pub fn start(spec: McpServer, notify: Option<McpNotify>) -> McpClient {
        McpClient::start_withholding(spec, notify, Vec::new())
    }

    /// [`McpClient::start`], and a stdio server never gets a variable holding one of `secrets`
    /// (the key the agent connects with, whatever variable it came from).
    pub fn start_withholding(
        spec: McpServer,
        notify: Option<McpNotify>,
        secrets: Vec<ApiKey>,
    ) -> McpClient {
        let (suspect, suspect_rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            spec,
            link: Mutex::new(Link::Starting),
            listing: watch::Sender::new(Listing::Pending),
            suspect,
            stop: CancellationToken::new(),
            task: Mutex::new(None),
            withheld: secrets,
        });
        let task = tokio::spawn(supervise(shared.clone(), suspect_rx, notify));
        *shared.task.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
        McpClient {
            _owner: Arc::new(StopOnDrop(shared.stop.clone())),
            shared,
        }
    }

    /// The server's settings.
    pub fn spec(&self) -> &McpServer {
        &self.shared.spec
    }

    /// The latest listing, and changes to come.
    pub fn listing(&self) -> watch::Receiver<Listing> {
        self.shared.listing.subscribe()
    }

    /// Waits for the first listing or the first failure, whichever comes first.
    pub async fn first_listing(&self) -> Result<Arc<Vec<Tool>>, McpError> {
        let mut listing = self.listing();
        let settled = listing
            .wait_for(|l| !matches!(l, Listing::Pending))
            .await
            .map(|l| l.clone());
        match settled {
            Ok(Listing::Ready(_, tools)) => Ok(tools),
            Ok(Listing::Failed(error)) => Err(error),
            _ => Err(McpError::Stopped {
                server: self.shared.spec.server_name().to_owned(),
            }),
        }
    }

    /// The peer to call now, or why there is none.
    pub(crate) fn peer(&self) -> Result<Peer<RoleClient>, String> {
        let link = self
            .shared
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let name = self.shared.spec.server_name();
        match link {
            Link::Up(peer) => Ok(peer),
            Link::Starting => Err(format!("the MCP server {name:?} is still starting")),
            Link::Down(reason) => Err(format!(
                "the MCP server {name:?} is not available ({reason}); it is being restarted"
            )),
        }
    }

    /// A call got no answer in time: the supervisor pings the server and restarts it if it
    /// does not answer either.
    pub(crate) fn suspect(&self) {
        let _ = self.shared.suspect.try_send(());
    }

    /// Stops the server and its supervisor.
    pub async fn shutdown(&self) {
        self.shared.stop.cancel();
        let task = self
            .shared
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// Stops the supervisor when the last handle (the client and the tools holding it) is gone:
/// the task itself holds only `Shared`, so it would otherwise outlive its owner.
struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Why a running session ended.
enum Ended {
    Stopped,
    Crashed(String),
    Hung,
}

async fn supervise(
    shared: Arc<Shared>,
    mut suspect: mpsc::Receiver<()>,
    notify: Option<McpNotify>,
) {
    let spec = &shared.spec;
    let name = spec.server_name().to_owned();
    let say = |line: String| {
        tracing::warn!(server = %name, "{line}");
        if let Some(notify) = &notify {
            notify(&name, line);
        }
    };
    let set_link = |link: Link| {
        *shared.link.lock().unwrap_or_else(PoisonError::into_inner) = link;
    };
    let mut failures: u32 = 0;
    let mut outage = false;
    let mut listings: u64 = 0;
    loop {
        let (changed_tx, mut changed) = mpsc::channel(1);
        let attempt = tokio::select! {
            _ = shared.stop.cancelled() => return,
            attempt = connect::connect(spec, changed_tx, &shared.withheld) => attempt,
        };
        match attempt {
            Err(error) => {
                set_link(Link::Down(error.to_string()));
                // A server that has been listed keeps its tools; their calls fail meanwhile.
                shared.listing.send_if_modified(|listing| {
                    if matches!(listing, Listing::Ready(..)) {
                        return false;
                    }
                    *listing = Listing::Failed(error.clone());
                    true
                });
                if !outage {
                    say(format!(
                        "{error}; retrying in {}",
                        seconds(backoff(failures))
                    ));
                    outage = true;
                }
            }
            Ok((session, tools)) => {
                failures = 0;
                if outage {
                    tracing::info!(server = %name, "the MCP server is back");
                }
                listings += 1;
                shared
                    .listing
                    .send_replace(Listing::Ready(listings, Arc::new(tools)));
                set_link(Link::Up(session.service.peer().clone()));
                let ended =
                    watch_session(&shared, session, &mut suspect, &mut changed, &mut listings)
                        .await;
                let reason = match ended {
                    Ended::Stopped => {
                        set_link(Link::Down("the agent is shutting down".into()));
                        return;
                    }
                    Ended::Crashed(reason) => reason,
                    Ended::Hung => "it stopped answering".to_owned(),
                };
                say(format!(
                    "MCP server {name:?} stopped ({reason}); restarting in {}",
                    seconds(backoff(0))
                ));
                set_link(Link::Down(reason));
                outage = true;
            }
        }
        let delay = backoff(failures);
        failures = failures.saturating_add(1);
        tokio::select! {
            _ = shared.stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Runs alongside a live session until it ends: re-lists on `list_changed`, checks on a
/// suspected hang. The session is closed (the program ended) when this returns.
async fn watch_session(
    shared: &Shared,
    session: Session,
    suspect: &mut mpsc::Receiver<()>,
    changed: &mut mpsc::Receiver<()>,
    listings: &mut u64,
) -> Ended {
    let Session {
        service,
        mut process,
    } = session;
    let peer = service.peer().clone();
    let token = service.cancellation_token();
    // The service's loop ends when the transport closes (the program exited, the URL went away).
    let waiting = service.waiting();
    tokio::pin!(waiting);
    let ended = loop {
        tokio::select! {
            _ = shared.stop.cancelled() => break Ended::Stopped,
            _ = &mut waiting => {
                let status = match process.as_mut() {
                    Some(process) => process.exit_status().await,
                    None => None,
                };
                return Ended::Crashed(match status {
                    Some(status) => format!("the program exited, {status}"),
                    None => "the connection closed".to_owned(),
                });
            }
            Some(()) = suspect.recv() => {
                let ping = ClientRequest::PingRequest(PingRequest {
                    method: Default::default(),
                    extensions: Default::default(),
                });
                if !matches!(tokio::time::timeout(PING_TIMEOUT, peer.send_request(ping)).await, Ok(Ok(_))) {
                    break Ended::Hung;
                }
            }
            Some(()) = changed.recv() => {
                match connect::list(&shared.spec, &peer).await {
                    Ok(tools) => {
                        *listings += 1;
                        shared.listing.send_replace(Listing::Ready(*listings, Arc::new(tools)));
                    }
                    Err(error) => tracing::warn!(server = %shared.spec.server_name(), "{error}"),
                }
            }
        }
    };
    token.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), &mut waiting).await;
    if let Some(process) = process.as_mut() {
        process.kill().await;
    }
    ended
}

fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(MAX_BACKOFF)
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}
