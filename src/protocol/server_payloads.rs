//! The payloads of server events: one struct per shape, shared by the events that have it.

use serde_json::Value;

use super::wire::wire_struct;
use super::{ApiError, ContentPart, Item, RateLimit, Response, SessionConfig};

wire_struct! {
    /// `error`: something the client sent (or the server) went wrong.
    pub struct ErrorEvent {
        /// The error.
        pub error: ApiError,
    }
}

wire_struct! {
    /// `session.created` / `session.updated` (and the beta `transcription_session.*`).
    pub struct SessionEvent {
        /// The full effective session configuration (boxed: it is large and rare).
        pub session: Box<SessionConfig>,
    }
}

wire_struct! {
    /// `conversation.created` (beta).
    pub struct ConversationCreated {
        /// `{id:"conv_…", object:"realtime.conversation"}`.
        pub conversation: Value,
    }
}

wire_struct! {
    /// `conversation.item.created` (beta), `.added` and `.done` (GA): an item entered the
    /// conversation or finished.
    pub struct ItemEvent {
        /// The item before it, `None` at the start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub previous_item_id: Option<String>,
        /// The item (without audio bytes).
        pub item: Item,
    }
}

wire_struct! {
    /// `conversation.item.retrieved`: the answer to `conversation.item.retrieve`, with audio.
    pub struct ItemRetrieved {
        /// The item.
        pub item: Item,
    }
}

wire_struct! {
    /// `conversation.item.input_audio_transcription.delta`.
    pub struct InputTranscriptionDelta {
        /// The user item being transcribed.
        pub item_id: String,
        /// The content part.
        #[serde(default)]
        pub content_index: u32,
        /// New text.
        #[serde(default)]
        pub delta: String,
        /// Log probabilities, when requested.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub logprobs: Option<Value>,
    }
}

wire_struct! {
    /// `conversation.item.input_audio_transcription.completed`.
    pub struct InputTranscriptionCompleted {
        /// The user item transcribed.
        pub item_id: String,
        /// The content part.
        #[serde(default)]
        pub content_index: u32,
        /// The whole transcript.
        #[serde(default)]
        pub transcript: String,
        /// Log probabilities, when requested.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub logprobs: Option<Value>,
        /// Transcription usage (billed separately).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub usage: Option<Value>,
    }
}

wire_struct! {
    /// `conversation.item.input_audio_transcription.segment` (GA, diarization).
    pub struct InputTranscriptionSegment {
        /// The user item.
        pub item_id: String,
        /// The content part.
        #[serde(default)]
        pub content_index: u32,
        /// The segment id.
        #[serde(default)]
        pub id: String,
        /// The segment text.
        #[serde(default)]
        pub text: String,
        /// The speaker label.
        #[serde(default)]
        pub speaker: String,
        /// Start, in seconds.
        #[serde(default)]
        pub start: f64,
        /// End, in seconds.
        #[serde(default)]
        pub end: f64,
    }
}

wire_struct! {
    /// `conversation.item.input_audio_transcription.failed`.
    pub struct InputTranscriptionFailed {
        /// The user item.
        pub item_id: String,
        /// The content part.
        #[serde(default)]
        pub content_index: u32,
        /// Why it failed.
        pub error: ApiError,
    }
}

wire_struct! {
    /// `conversation.item.truncated`: the answer to `conversation.item.truncate`.
    pub struct ItemTruncated {
        /// The assistant item.
        pub item_id: String,
        /// The content part.
        #[serde(default)]
        pub content_index: u32,
        /// Where its audio now ends.
        pub audio_end_ms: u64,
    }
}

wire_struct! {
    /// `conversation.item.deleted`.
    pub struct ItemDeleted {
        /// The deleted item.
        pub item_id: String,
    }
}

wire_struct! {
    /// `input_audio_buffer.committed`: the buffer became a user item.
    pub struct BufferCommitted {
        /// The item before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub previous_item_id: Option<String>,
        /// The new user item.
        pub item_id: String,
    }
}

wire_struct! {
    /// An event with no payload (`input_audio_buffer.cleared`).
    pub struct EmptyEvent {}
}

wire_struct! {
    /// `input_audio_buffer.speech_started`: the user started speaking.
    pub struct SpeechStarted {
        /// Where speech starts in the buffer (prefix padding included).
        #[serde(default)]
        pub audio_start_ms: u64,
        /// The user item that the speech will become.
        #[serde(default)]
        pub item_id: String,
    }
}

wire_struct! {
    /// `input_audio_buffer.speech_stopped`: the user stopped speaking.
    pub struct SpeechStopped {
        /// Where speech ends in the buffer.
        #[serde(default)]
        pub audio_end_ms: u64,
        /// The user item.
        #[serde(default)]
        pub item_id: String,
    }
}

wire_struct! {
    /// `input_audio_buffer.timeout_triggered` (GA): the idle timeout fired.
    pub struct BufferTimeoutTriggered {
        /// Start of the committed audio.
        #[serde(default)]
        pub audio_start_ms: u64,
        /// End of the committed audio.
        #[serde(default)]
        pub audio_end_ms: u64,
        /// The user item.
        #[serde(default)]
        pub item_id: String,
    }
}

wire_struct! {
    /// `input_audio_buffer.dtmf_event_received` (GA, SIP calls).
    pub struct DtmfReceived {
        /// The key pressed.
        #[serde(default)]
        pub event: String,
        /// When, as a Unix time.
        #[serde(default)]
        pub received_at: i64,
    }
}

wire_struct! {
    /// `output_audio_buffer.started` / `.stopped` / `.cleared` (WebRTC and SIP).
    pub struct OutputAudioBufferEvent {
        /// The response whose audio it is.
        #[serde(default)]
        pub response_id: String,
    }
}

wire_struct! {
    /// `rate_limits.updated`.
    pub struct RateLimitsUpdated {
        /// The current limits.
        #[serde(default)]
        pub rate_limits: Vec<RateLimit>,
    }
}

wire_struct! {
    /// `response.created` / `response.done`.
    pub struct ResponseEvent {
        /// The response (boxed: it is large).
        pub response: Box<Response>,
    }
}

wire_struct! {
    /// `response.output_item.added` / `.done`.
    pub struct OutputItemEvent {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The item's place in the response's output.
        #[serde(default)]
        pub output_index: u32,
        /// The item.
        pub item: Item,
    }
}

wire_struct! {
    /// `response.content_part.added` / `.done`.
    pub struct ContentPartEvent {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The part's place in the item's content.
        #[serde(default)]
        pub content_index: u32,
        /// The part.
        pub part: ContentPart,
    }
}

wire_struct! {
    /// A streamed piece of text, transcript or base64 audio (`response.output_text.delta`,
    /// `response.output_audio_transcript.delta`, `response.output_audio.delta`).
    pub struct ContentDelta {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The part's place in the item's content.
        #[serde(default)]
        pub content_index: u32,
        /// The new piece (base64 for audio).
        #[serde(default)]
        pub delta: String,
    }
}

wire_struct! {
    /// `response.output_text.done`.
    pub struct TextDone {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The part's place in the item's content.
        #[serde(default)]
        pub content_index: u32,
        /// The whole text.
        #[serde(default)]
        pub text: String,
    }
}

wire_struct! {
    /// `response.output_audio_transcript.done`.
    pub struct TranscriptDone {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The part's place in the item's content.
        #[serde(default)]
        pub content_index: u32,
        /// The whole transcript.
        #[serde(default)]
        pub transcript: String,
    }
}

wire_struct! {
    /// `response.output_audio.done`.
    pub struct AudioDone {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The part's place in the item's content.
        #[serde(default)]
        pub content_index: u32,
    }
}

wire_struct! {
    /// `response.function_call_arguments.delta`.
    pub struct FunctionCallArgumentsDelta {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The function_call item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The call id.
        #[serde(default)]
        pub call_id: String,
        /// New argument text.
        #[serde(default)]
        pub delta: String,
    }
}

wire_struct! {
    /// `response.function_call_arguments.done`: the call is complete and can run.
    pub struct FunctionCallArgumentsDone {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The function_call item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// The call id that the output must answer.
        pub call_id: String,
        /// The function name (GA only; beta takes it from the item).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// The complete arguments, a JSON string.
        #[serde(default)]
        pub arguments: String,
    }
}

wire_struct! {
    /// `mcp_list_tools.*` and `response.mcp_call.*` (GA): progress of a server-run MCP tool.
    pub struct McpItemEvent {
        /// The MCP item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output, for `response.mcp_call.*`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub output_index: Option<u32>,
    }
}

wire_struct! {
    /// `response.mcp_call_arguments.delta` / `.done` (GA).
    pub struct McpCallArguments {
        /// The response.
        #[serde(default)]
        pub response_id: String,
        /// The MCP call item.
        #[serde(default)]
        pub item_id: String,
        /// The item's place in the output.
        #[serde(default)]
        pub output_index: u32,
        /// New argument text (delta).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub delta: Option<String>,
        /// The complete arguments (done).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub arguments: Option<String>,
    }
}
