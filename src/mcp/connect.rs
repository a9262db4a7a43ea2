//! Opening one connection to an MCP server: start the program (or reach the URL), shake hands,
//! list its tools. Every failure becomes an [`McpError`] that says plainly what happened.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, Tool};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, Peer, RoleClient, ServiceExt as _};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{McpError, McpServer, McpTransport};
use crate::ApiKey;

/// The longest a server may take to start and finish the handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `tools/list` may take.
pub(crate) const LIST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many of a server's last stderr lines are kept for error messages.
const STDERR_LINES: usize = 8;

/// Our side of the MCP session: identifies the agent and hears `tools/list_changed`.
pub(crate) struct Handler {
    list_changed: mpsc::Sender<()>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("realtime-agent", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        // A full channel already holds a pending re-list, which will see this change too.
        let _ = self.list_changed.try_send(());
    }
}

/// A live connection: the MCP session and, for stdio, the program.
pub(crate) struct Session {
    pub(crate) service: RunningService<RoleClient, Handler>,
    pub(crate) process: Option<Process>,
}

/// A stdio server's program and the task reading its stderr.
pub(crate) struct Process {
    child: Child,
    stderr: Option<JoinHandle<()>>,
}

impl Process {
    /// Ends the program (kill, then reap).
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// `exit status: 3`, when the program exits within a moment (its stdout closes just
    /// before the system reaps it).
    pub(crate) async fn exit_status(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_millis(500), self.child.wait())
            .await
            .ok()?
            .ok()
            .map(|status| status.to_string())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(stderr) = self.stderr.take() {
            stderr.abort();
        }
    }
}

impl Session {
    /// Closes the session and ends the program.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.service.close()).await;
        if let Some(process) = self.process.as_mut() {
            process.kill().await;
        }
    }
}

/// Connects to `spec` and lists its tools (all of them; the filter applies later).
pub(crate) async fn connect(
    spec: &McpServer,
    list_changed: mpsc::Sender<()>,
    withheld: &[ApiKey],
) -> Result<(Session, Vec<Tool>), McpError> {
    let session = open(spec, Handler { list_changed }, withheld).await?;
    let tools = match list(spec, session.service.peer()).await {
        Ok(tools) => tools,
        Err(error) => {
            session.close().await;
            return Err(error);
        }
    };
    Ok((session, tools))
}

/// Lists the tools of a connected server.
pub(crate) async fn list(spec: &McpServer, peer: &Peer<RoleClient>) -> Result<Vec<Tool>, McpError> {
    match tokio::time::timeout(LIST_TIMEOUT, peer.list_all_tools()).await {
        Err(_) => Err(McpError::Timeout {
            server: spec.server_name().to_owned(),
            seconds: LIST_TIMEOUT.as_secs(),
            during: "tools/list",
        }),
        Ok(Err(error)) => Err(McpError::ListFailed {
            server: spec.server_name().to_owned(),
            reason: error.to_string(),
        }),
        Ok(Ok(tools)) => Ok(tools),
    }
}

async fn open(
    spec: &McpServer,
    handler: Handler,
    withheld: &[ApiKey],
) -> Result<Session, McpError> {
    let server = spec.server_name().to_owned();
    match spec.transport() {
        McpTransport::Stdio { command, args, .. } => {
            let mut program = Command::new(command);
            program
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            // The one place a stdio MCP server's environment is set: never the API key.
            let mut child_env = spec.child_env();
            for secret in withheld {
                child_env = child_env.withhold_secret(secret.clone());
            }
            child_env.apply(program.as_std_mut());
            let mut child = program.spawn().map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => McpError::ProgramNotFound {
                    server: server.clone(),
                    program: command.clone(),
                },
                _ => McpError::SpawnFailed {
                    server: server.clone(),
                    program: command.clone(),
                    reason: error.to_string(),
                },
            })?;
            let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
                return Err(McpError::SpawnFailed {
                    server,
                    program: command.clone(),
                    reason: "its stdin and stdout could not be connected".into(),
                });
            };
            let tail = Arc::new(Mutex::new(VecDeque::new()));
            let stderr = child
                .stderr
                .take()
                .map(|stderr| tokio::spawn(read_stderr(server.clone(), stderr, tail.clone())));
            let handshake =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, handler.serve((stdout, stdin))).await;
            let service = match handshake {
                Ok(Ok(service)) => service,
                Ok(Err(error)) => {
                    // Give the program a moment to leave its last words and exit status.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let mut reason = error.to_string();
                    if let Ok(Some(status)) = child.try_wait() {
                        reason = format!("the program exited ({status}) during the handshake");
                    }
                    let said = last_words(&tail);
                    if !said.is_empty() {
                        reason.push_str(&format!("; it said: {said}"));
                    }
                    return Err(McpError::HandshakeFailed { server, reason });
                }
                Err(_) => {
                    return Err(McpError::Timeout {
                        server,
                        seconds: HANDSHAKE_TIMEOUT.as_secs(),
                        during: "handshake",
                    });
                }
            };
            Ok(Session {
                service,
                process: Some(Process { child, stderr }),
            })
        }
        McpTransport::Http {
            url,
            bearer_token_env,
        } => {
            use rmcp::transport::StreamableHttpClientTransport;
            use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
            if let Some(var) = bearer_token_env {
                match std::env::var(var) {
                    Ok(token) if !token.is_empty() => config = config.auth_header(token),
                    _ => {
                        return Err(McpError::MissingToken {
                            server,
                            var: var.clone(),
                        });
                    }
                }
            }
            let client = reqwest::Client::builder()
                .tls_backend_preconfigured((*crate::transport::tls::client_config()).clone())
                .user_agent(concat!("realtime-agent/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| McpError::HandshakeFailed {
                    server: server.clone(),
                    reason: format!("the HTTP client could not be built: {error}"),
                })?;
            let transport = StreamableHttpClientTransport::with_client(client, config);
            let service =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, handler.serve(transport)).await {
                    Ok(Ok(service)) => service,
                    Ok(Err(error)) => {
                        return Err(McpError::HandshakeFailed {
                            server,
                            reason: error.to_string(),
                        });
                    }
                    Err(_) => {
                        return Err(McpError::Timeout {
                            server,
                            seconds: HANDSHAKE_TIMEOUT.as_secs(),
                            during: "handshake",
                        });
                    }
                };
            Ok(Session {
                service,
                process: None,
            })
        }
    }
}

/// Logs the server's stderr and keeps its last lines for error messages.
async fn read_stderr(
    server: String,
    stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(server = %server, "{line}");
        let mut tail = tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

fn last_words(tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tail.iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}
