//! What the fake server saw and sent, with timestamps.

use std::time::Duration;

use crate::protocol::{ClientEvent, ServerEvent};

/// A client event the fake server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived, since the server started.
    pub at: Duration,
    /// Which connection (0 for the first).
    pub connection: usize,
    /// Its `type` (`"?"` when the frame had none).
    pub event_type: String,
    /// The decoded event; `None` when the frame was not a valid client event.
    pub event: Option<ClientEvent>,
    /// The frame as received; empty when the server was built without payload recording.
    pub raw: String,
}

/// A server event the fake server sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// When it was written, since the server started.
    pub at: Duration,
    /// Which connection.
    pub connection: usize,
    /// Its `type` as sent (in the connection's dialect).
    pub event_type: String,
    /// The event; `None` for raw frames and when payloads are not recorded.
    pub event: Option<ServerEvent>,
}

/// One WebSocket handshake the fake server saw.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Path and query of the request, e.g. `/v1/realtime?model=gpt-realtime`.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `api-key` header (Azure style).
    pub api_key: Option<String>,
    /// Whether `OpenAI-Beta: realtime=v1` was sent (the beta dialect).
    pub beta: bool,
    /// The HTTP status the server answered (101 when upgraded).
    pub status: u16,
}
