//! What the fake server answers: scripted replies and responders.

use std::time::Duration;

use serde_json::Value;

use crate::protocol::{Item, SessionConfig};

/// One output of a scripted response.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// An assistant message. In an audio session it is spoken: its `audio` bytes (session output
    /// format) stream as audio deltas with `text` as the transcript; in a text session `text`
    /// streams as text deltas.
    Message {
        /// The words.
        text: String,
        /// The audio to stream, in the session output format. `None` makes the fake synthesize a
        /// short tone of a length that fits the words.
        audio: Option<Vec<u8>>,
    },
    /// A function call.
    FunctionCall {
        /// The function name.
        name: String,
        /// The arguments, a JSON string (sent as given, valid or not).
        arguments: String,
        /// The call id; generated when `None`.
        call_id: Option<String>,
    },
    /// A call to a hosted MCP server's tool, which the fake runs itself (GA sessions with an
    /// `mcp` tool labelled `server_label`): an `mcp_approval_request` that ends the response
    /// when the session's `require_approval` asks for one, else the `mcp_call` and its outcome
    /// from the [`SimulatedMcpServer`](super::SimulatedMcpServer).
    McpCall {
        /// The server's label.
        server_label: String,
        /// The tool.
        name: String,
        /// The arguments, a JSON string.
        arguments: String,
    },
}

/// How the fake server answers one response: its outputs, and how they are streamed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// The outputs, in order.
    pub outputs: Vec<Output>,
    /// Wait this long between streamed deltas (none: everything at once).
    pub pace: Option<Duration>,
    /// Bytes of audio per audio delta.
    pub audio_chunk_bytes: usize,
    /// Drop the connection (no close frame) after sending this many events of the response.
    pub drop_after_events: Option<usize>,
    /// End the response with `status: failed` instead of `completed`.
    pub fail: bool,
    /// Wait this long before `response.created`, like a model that is slow to start.
    pub created_after: Option<Duration>,
    /// Wait this long (after `response.created` and the first item's announcements) before the
    /// first delta, like a model that is slow to produce its first token.
    pub first_delta_after: Option<Duration>,
}

impl Reply {
    /// An empty reply (`response.done` with no output).
    pub fn new() -> Reply {
        Reply {
            audio_chunk_bytes: 4800,
            ..Reply::default()
        }
    }

    /// A spoken (or, in text sessions, written) message with synthesized audio.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::new().and_text(text)
    }

    /// A spoken message with exactly these audio bytes (session output format).
    pub fn audio(transcript: impl Into<String>, audio: Vec<u8>) -> Reply {
        Reply::new().and_audio(transcript, audio)
    }

    /// One function call with `arguments` (any JSON value, sent as its string form).
    pub fn call(name: impl Into<String>, arguments: Value) -> Reply {
        Reply::new().and_call(name, arguments)
    }

    /// One call to the hosted MCP server `server_label`'s tool `name`.
    pub fn mcp_call(
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: Value,
    ) -> Reply {
        Reply::new().and_mcp_call(server_label, name, arguments)
    }

    /// Adds a call to a hosted MCP server's tool.
    pub fn and_mcp_call(
        mut self,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: Value,
    ) -> Reply {
        self.outputs.push(Output::McpCall {
            server_label: server_label.into(),
            name: name.into(),
            arguments: arguments.to_string(),
        });
        self
    }

    /// Adds a message.
    pub fn and_text(mut self, text: impl Into<String>) -> Reply {
        self.outputs.push(Output::Message {
            text: text.into(),
            audio: None,
        });
        self
    }

    /// Adds a message with exactly these audio bytes.
    pub fn and_audio(mut self, transcript: impl Into<String>, audio: Vec<u8>) -> Reply {
        self.outputs.push(Output::Message {
            text: transcript.into(),
            audio: Some(audio),
        });
        self
    }

    /// Adds a function call.
    pub fn and_call(self, name: impl Into<String>, arguments: Value) -> Reply {
        self.and_raw_call(name, arguments.to_string())
    }

    /// Adds a function call whose arguments string is sent exactly as given (e.g. invalid JSON).
    pub fn and_raw_call(mut self, name: impl Into<String>, arguments: impl Into<String>) -> Reply {
        self.outputs.push(Output::FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
            call_id: None,
        });
        self
    }

    /// Adds a function call with a fixed call id.
    pub fn and_call_with_id(
        mut self,
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: Value,
    ) -> Reply {
        self.outputs.push(Output::FunctionCall {
            name: name.into(),
            arguments: arguments.to_string(),
            call_id: Some(call_id.into()),
        });
        self
    }

    /// Waits `pace` between deltas, like a model generating in real time.
    pub fn paced(mut self, pace: Duration) -> Reply {
        self.pace = Some(pace);
        self
    }

    /// Bytes of audio per delta.
    pub fn chunked(mut self, audio_chunk_bytes: usize) -> Reply {
        self.audio_chunk_bytes = audio_chunk_bytes.max(1);
        self
    }

    /// Drops the connection after `events` events of this response.
    pub fn drop_connection_after(mut self, events: usize) -> Reply {
        self.drop_after_events = Some(events);
        self
    }

    /// Sends `response.created` only after `delay` (turn latency tests).
    pub fn created_after(mut self, delay: Duration) -> Reply {
        self.created_after = Some(delay);
        self
    }

    /// Sends the first delta only `delay` after what precedes it (turn latency tests).
    pub fn first_delta_after(mut self, delay: Duration) -> Reply {
        self.first_delta_after = Some(delay);
        self
    }

    /// Ends the response with `status: failed`.
    pub fn failing(mut self) -> Reply {
        self.fail = true;
        self
    }
}

/// What a responder sees when a response starts.
#[derive(Debug, Clone)]
pub struct ResponseRequest<'a> {
    /// The session configuration in effect.
    pub session: &'a SessionConfig,
    /// The conversation so far, oldest first.
    pub conversation: &'a [Item],
    /// Whether the server's turn detection started this response (rather than `response.create`).
    pub from_turn_detection: bool,
    /// Milliseconds of user audio committed for the turn that triggered this response.
    pub committed_audio_ms: u64,
    /// The options of the `response.create` that asked for it (instructions, out of band…).
    pub options: Option<&'a crate::protocol::ResponseOptions>,
}

/// Decides replies when no scripted reply is queued (the `--sim` model is one).
pub trait Responder: Send + 'static {
    /// The reply to a response that is starting.
    fn respond(&mut self, request: &ResponseRequest<'_>) -> Reply;
}

impl<F> Responder for F
where
    F: FnMut(&ResponseRequest<'_>) -> Reply + Send + 'static,
{
    fn respond(&mut self, request: &ResponseRequest<'_>) -> Reply {
        self(request)
    }
}
