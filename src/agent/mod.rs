//! The agent loop: joins the session, the tools and the audio, embeddable in any tokio app.
//!
//! [`Agent::builder`] takes the connection, the session configuration, the tools and the audio
//! source and sink; [`Agent::connect`] opens the session and returns it running
//! ([`RunningAgent`]), or the typed reason it could not ([`Agent::run`] runs it in one future);
//! an [`AgentHandle`] sends text and audio, interrupts, approves tool calls, changes the tools
//! ([`ToolChange`]) and shuts down; [`AgentEvents`] streams what happens.
//!
//! Tool calls start the moment their arguments are complete, each on its own task; every
//! output is posted as soon as its tool finishes, and one `response.create` follows when the
//! response that asked is done and all of its calls are answered — decided in one place, never
//! while another response is active.
//!
//! A tool is polled once right where its call arrives, so a quick tool's output goes out without
//! a task switch; anything that waits continues on its own task. The code a tool runs before its
//! first `.await` therefore runs on the agent loop: keep it short, and put blocking work in
//! `tokio::task::spawn_blocking`.

mod builder;
mod calls;
pub(crate) mod event;
mod gate;
mod handle;
mod handoff;
mod history;
mod hosted_mcp;
mod metrics;
mod reconnect;
mod run;
mod speech;
mod toolset;
mod turns;
mod uplink;
mod usage;

use std::time::Duration;

pub use builder::{Agent, AgentBuilder, RunningAgent};
pub use event::{AgentEvent, AgentEvents, AgentState, ToolStatus};
pub use handle::{AgentHandle, AgentStopped};
pub use handoff::{AgentProfile, HandoffError, TRANSFER_PREFIX};
pub use hosted_mcp::{HostedMcp, HostedMcpError};
pub use metrics::{LatencySummary, Percentiles, ToolTiming, TurnMetrics, TurnTrigger};
pub use reconnect::ReconnectPolicy;
pub use toolset::{ToolChange, ToolChangeError};
pub use usage::{Prices, UsageTotals};

/// What a finished session used.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SessionSummary {
    /// Token usage summed over every response.
    pub usage: UsageTotals,
    /// Tool calls answered.
    pub tool_calls: u64,
    /// How long the session ran.
    pub duration: Duration,
}
