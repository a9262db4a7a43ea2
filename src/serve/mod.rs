//! `agent serve`: the same agent on the phone and in the browser (feature `serve`).
//!
//! One server runs one agent session per caller or visitor, with the tools agent.toml declares,
//! and is safe to put on the internet: every webhook is verified before anything happens,
//! media sockets need a fresh one-time token from a verified webhook, and the browser page
//! needs the `token_env` token (or loopback when none is set).
//!
//! | route | what |
//! |---|---|
//! | `GET /healthz` | 200 `ok`, or 503 while draining |
//! | `GET /metrics` | Prometheus text: sessions by channel, tool durations, dropped frames, errors |
//! | `POST /twilio/voice` | Twilio's call webhook (signed): TwiML connecting the call's media stream |
//! | `GET /twilio/media` | the Media Streams WebSocket (one-time token), µ-law 8 kHz both ways |
//! | `GET /` | the browser page (token once, then an HttpOnly cookie; loopback only without a token) |
//! | `GET /browser/media` | the page's WebSocket: PCM16 24 kHz both ways, transcripts and tool calls |
//! | `POST /openai/webhook` | OpenAI's SIP call webhook (Standard Webhooks): accept, then a sideband socket |
//!
//! Sessions share nothing, so scaling out is N replicas behind any load balancer.
//!
//! # Layout
//!
//! | file | job |
//! |---|---|
//! | `options.rs` | [`ServeOptions`]: agent.toml's `[serve]` and the secrets from the environment |
//! | `server.rs` | [`Server`]: routes, `/healthz`, `/metrics`, the drain on shutdown |
//! | `state.rs`, `slots.rs` | what handlers share; the session limit |
//! | `metrics.rs`, `events.rs` | counters and their text form; [`ServeEvent`]s |
//! | `tokens.rs`, `access.rs` | one-time tokens; who may use the page and `/metrics` |
//! | `session.rs` | running one call's agent with its call id in every log line |
//! | [`twilio`] | Twilio Media Streams: signature, webhook, media socket, mark-clocked sink |
//! | `browser/` | the page (`page.html`, built in), its socket and its played-position sink |
//! | [`sip`] | OpenAI SIP: webhook signature, accept/reject/refer/hangup, the sideband session |

mod access;
mod browser;
mod error;
mod events;
mod metrics;
mod options;
mod server;
mod session;
pub mod sip;
mod slots;
mod state;
mod tokens;
pub mod twilio;

pub use error::ServeError;
pub use events::ServeEvent;
pub use metrics::Channel;
pub use options::{Secret, ServeOptions, decode_webhook_secret};
pub use server::Server;
