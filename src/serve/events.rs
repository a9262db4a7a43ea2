//! What a running server reports about its calls, for embedding apps and tests.

use super::metrics::Channel;

/// Something that happened on a call. Subscribe with
/// [`Server::subscribe`](super::Server::subscribe).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServeEvent {
    /// A session started.
    CallStarted {
        /// The call id (Twilio's CallSid, OpenAI's call_id, or a browser session id).
        call_id: String,
        /// How the caller came in.
        channel: Channel,
    },
    /// The caller pressed a key (DTMF).
    Dtmf {
        /// The call.
        call_id: String,
        /// `0`-`9`, `*` or `#`.
        digit: String,
    },
    /// A tool ran on a call.
    ToolCall {
        /// The call.
        call_id: String,
        /// The tool.
        name: String,
        /// Its output, as the model got it.
        output: String,
    },
    /// A session ended.
    CallEnded {
        /// The call.
        call_id: String,
        /// How the caller came in.
        channel: Channel,
        /// Why it ended.
        reason: String,
    },
}
