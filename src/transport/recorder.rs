//! A hook that sees every frame sent and received, for `--record` and debugging.

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Sent,
    /// Server to client.
    Received,
}

impl Direction {
    /// `"sent"` or `"received"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// Sees every text frame on a connection, in order, from the transport's tasks.
///
/// Called on the I/O path: implementations must be quick and must not block for long (buffer
/// and write in the background if needed).
pub trait Recorder: Send + Sync + 'static {
    /// One frame, exactly as it went over the wire.
    fn record(&self, direction: Direction, frame: &str);
}
