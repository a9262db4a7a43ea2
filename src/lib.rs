//! realtime-agent: tool-calling voice agents on the OpenAI Realtime API.
//!
//! The Realtime API is one WebSocket carrying JSON events: the client streams microphone audio,
//! the server detects turns, streams the answer back as audio and transcripts, and asks the
//! client to call functions. This crate speaks that protocol (GA and beta), runs tools
//! concurrently and answers them without wasted milliseconds, plays audio knowing what was
//! actually heard (for barge-in), and ships a fake server so everything can be tested offline.
//!
//! # Layout
//!
//! | module | part |
//! |---|---|
//! | [`protocol`] | wire types for both dialects, serde only: events, session, items |
//! | [`transport`] | the WebSocket: connect, auth, typed handshake errors, reader and writer tasks |
//! | [`tool`] | the `Tool` trait, its erased form, the registry, command and HTTP tools |
//! | [`audio`] | sources and sinks (cpal, WAV, channels), resampling, G.711, playback |
//! | [`agent`] | the loop that joins session, tools and audio; builder, handle, events |
//! | [`token`] | ephemeral client secrets for browsers and phones |
//! | [`logging`] | a `tracing-subscriber` writer that redacts keys from every log line |
//! | [`config`] | agent.toml into the same `AgentBuilder`: line/column errors, declared tools |
//! | `mcp` | MCP servers' tools (stdio or streamable HTTP) as the agent's tools (feature `mcp`) |
//! | `cli` | the `agent` command as a library: `Cli::new().tool(..).run_from_env()` (feature `cli`) |
//! | `serve` | `agent serve`: the agent on the phone (Twilio, OpenAI SIP) and in the browser (feature `serve`) |
//! | [`testing`] | a fake Realtime server on 127.0.0.1 (feature `testing`) |
//! | `otel` | OpenTelemetry export of session, turn and tool-call spans (feature `otel`) |
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `audio` | yes | microphone and speaker through cpal (`audio::device`); needs `libasound2-dev` |
//! | `aec` | yes (with `audio`) | acoustic echo cancellation (`audio::Aec3Canceller`, pure Rust) |
//! | `cli` | yes | the `agent` command line (implies `testing`, for `--sim`) |
//! | `mcp` | yes | tools from MCP servers (`mcp::McpServer`, `[[mcp]]` in agent.toml), through `rmcp` |
//! | `serve` | yes | `agent serve` and `realtime_agent::serve` (axum on hyper/tokio) |
//! | `testing` | no | [`testing::FakeServer`], for tests, benchmarks and offline demos |
//! | `otel` | no | `otel::OtlpExport`: spans with the turn latency figures over OTLP HTTP/protobuf |
//!
//! With `--no-default-features` the library still does WAV files, in-memory audio channels,
//! resampling and G.711: everything a server or telephony bridge needs, without ALSA.
//!
//! # Example
//!
//! ```no_run
//! use futures_util::StreamExt as _;
//! use realtime_agent::agent::{Agent, AgentEvent};
//! use realtime_agent::tool::tool_fn_without_context;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Lights {
//!     /// On or off.
//!     on: bool,
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let lights = tool_fn_without_context("set_lights", "Turns the lights on or off.", |args: Lights| async move {
//!     Ok::<_, String>(if args.on { "lights on" } else { "lights off" })
//! });
//! // The key comes from OPENAI_API_KEY; without one, `build` says so.
//! let agent = Agent::builder().tool(lights).build()?;
//! let mut events = agent.handle().subscribe(256);
//! // Handshake errors (a refused key, a wrong URL) come back from `connect`, typed.
//! let session = agent.connect().await?;
//! session.send_text("Turn the lights on, please.").await?;
//! while let Some(event) = events.next().await {
//!     if let AgentEvent::AssistantMessage { text, .. } = event {
//!         println!("{text}");
//!         break;
//!     }
//! }
//! session.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod agent;
pub mod audio;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod error;
pub mod logging;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "otel")]
pub mod otel;
pub mod protocol;
pub mod secret;
#[cfg(feature = "serve")]
pub mod serve;
pub mod token;
pub mod tool;
pub mod transport;

pub use error::{Error, Result};
pub use secret::ApiKey;

// What a tool author needs, at the versions this crate uses, so that a tool needs no matching
// versions of its own: `#[realtime_agent::async_trait]` for `impl Tool`, and the crates behind
// `tool_args!`.
pub use async_trait::async_trait;
pub use schemars;
pub use serde;
pub use serde_json;

/// The names a tool author and an embedding app use most: `use realtime_agent::prelude::*;`.
pub mod prelude {
    pub use crate::agent::{Agent, AgentEvent, AgentHandle};
    pub use crate::tool::{BoxError, Tool, ToolContext, tool};
    pub use crate::{async_trait, tool_args};
}
#[cfg(feature = "testing")]
pub mod testing;
