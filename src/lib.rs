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
//! | `cli` | the `agent` command as a library: `Cli::new().tool(..).run_from_env()` (feature `cli`) |
//! | `serve` | `agent serve`: the agent on the phone (Twilio, OpenAI SIP) and in the browser (feature `serve`) |
//! | [`testing`] | a fake Realtime server on 127.0.0.1 (feature `testing`) |
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `audio` | yes | microphone and speaker through cpal (`audio::device`); needs `libasound2-dev` |
//! | `cli` | yes | the `agent` command line (implies `testing`, for `--sim`) |
//! | `serve` | yes | `agent serve` and `realtime_agent::serve` (axum on hyper/tokio) |
//! | `testing` | no | [`testing::FakeServer`], for tests, benchmarks and offline demos |
//!
//! With `--no-default-features` the library still does WAV files, in-memory audio channels,
//! resampling and G.711: everything a server or telephony bridge needs, without ALSA.
//!
//! # Example
//!
//! ```no_run
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
//! let agent = Agent::builder()
//!     .api_key(realtime_agent::ApiKey::from_env("OPENAI_API_KEY").expect("set OPENAI_API_KEY"))
//!     .tool(lights)
//!     .build()?;
//! let handle = agent.handle();
//! let mut events = handle.subscribe(256);
//! tokio::spawn(agent.run());
//! handle.send_text("Turn the lights on, please.").await?;
//! while let Some(event) = events.recv().await {
//!     if let AgentEvent::AssistantMessage { text, .. } = event {
//!         println!("{text}");
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod agent;
pub mod audio;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod error;
pub mod logging;
pub mod protocol;
pub mod secret;
#[cfg(feature = "serve")]
pub mod serve;
pub mod token;
pub mod tool;
pub mod transport;

pub use error::{Error, Result};
pub use secret::ApiKey;
#[cfg(feature = "testing")]
pub mod testing;
