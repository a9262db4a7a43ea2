//! MCP (Model Context Protocol) servers as tool sources: the agent is the MCP client (feature
//! `mcp`, on by default).
//!
//! An [`McpServer`] says how to reach a server — a program speaking MCP on stdio
//! ([`McpServer::stdio`]) or a streamable HTTP endpoint ([`McpServer::http`]) — and how its
//! tools are offered (a filter, a name prefix, approval, a timeout, barge-in behaviour). Add it
//! with [`AgentBuilder::mcp_server`](crate::agent::AgentBuilder::mcp_server) or as `[[mcp]]` in
//! `agent.toml`.
//!
//! When the agent runs, an [`McpClient`] per server starts it, lists its tools and registers each
//! as an [`McpTool`], with its input schema reshaped the way Rust tools' schemas are. A call is a
//! `tools/call`: text content becomes the output, structured content JSON, other content is
//! described in words; `isError` results and protocol errors are failure outputs. A call cancelled
//! on barge-in (`on_interrupt = "cancel"`) sends `notifications/cancelled` for its request.
//!
//! A server that fails to start, crashes or stops answering is restarted with backoff by its
//! client's task; its calls fail with a clear output meanwhile, and the user hears one line per
//! outage ([`AgentEvent::McpServer`](crate::agent::AgentEvent::McpServer)). A stdio server never
//! receives the API key in its environment.
//!
//! # Layout
//!
//! - `server.rs`: [`McpServer`], the settings (pure data).
//! - `connect.rs`: one connection: start the program or reach the URL, handshake, list.
//! - `client.rs`: [`McpClient`], the supervisor task: restarts, hangs, `list_changed`.
//! - `tool.rs`: [`McpTool`], a server's tool as a [`DynTool`](crate::tool::DynTool).
//! - `content.rs`: a `tools/call` result as output text.
//! - `start.rs`: a session's servers into its registry.

mod client;
mod connect;
mod content;
mod error;
mod server;
mod start;
mod tool;

pub use client::{Listing, McpClient, McpNotify};
pub use error::McpError;
pub use server::{McpConfirm, McpServer, McpTransport};
pub(crate) use start::{Origins, Started, follow, start_all, stop_started};
pub use tool::McpTool;

/// How long a session waits for its MCP servers before it starts; the tools of a server that is
/// slower are added when it is ready, with one `session.update`.
pub(crate) const STARTUP_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
