//! A fake Realtime server on loopback, for our tests, our benchmarks, `--sim`, and users' own
//! tests (feature `testing`).
//!
//! [`FakeServer`] is a real WebSocket server on `127.0.0.1` (port 0) that speaks both dialects,
//! answers as the API does, plays scripted [`Reply`]s (text, audio with transcript, one or
//! several function calls), sends VAD events on demand, records everything it receives and sends
//! with timestamps, and injects faults: refused handshakes (401, 429 with `Retry-After`), `error`
//! events, malformed frames, dropped connections mid-response.

mod conn;
mod conversation;
mod hosted_mcp;
mod record;
mod script;
mod server;
pub mod sim;
mod synth;

pub use hosted_mcp::SimulatedMcpServer;
pub use record::{Handshake, Received, Sent};
pub use script::{Output, Reply, Responder, ResponseRequest};
pub use server::{FakeServer, FakeServerBuilder};
pub use synth::speech as synth_speech;
