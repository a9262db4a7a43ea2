//! Events the server sends, one enum for both dialects.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::dialect::server_event_name;

use super::{Dialect, SessionConfig};

pub use super::server_payloads::*;

/// An event whose type this crate does not know, kept whole so that a server which adds events
/// does not break a running agent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnknownEvent {
    /// Its `type`.
    pub event_type: String,
    /// The whole event as it arrived.
    pub raw: Map<String, Value>,
}

macro_rules! server_events {
    ($( $(#[$doc:meta])* $name:literal => $variant:ident($payload:ty), )*) => {
        /// An event from the server.
        ///
        /// Variants are named after the GA event types. Beta names decode to the same variants
        /// (`response.audio.delta` is [`ServerEvent::ResponseOutputAudioDelta`]); encoding takes
        /// the dialect. Unknown event types decode to [`ServerEvent::Unknown`], and unknown fields
        /// are kept in each payload's `extra`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        #[non_exhaustive]
        pub enum ServerEvent {
            $(
                $(#[$doc])*
                #[serde(rename = $name)]
                $variant($payload),
            )*
            /// An event type this crate does not know.
            #[serde(skip)]
            Unknown(UnknownEvent),
        }

        /// Every server event type this crate knows, by GA name (beta names via
        /// [`server_event_name`]).
        pub const SERVER_EVENT_TYPES: &[&str] = &[$($name,)*];

        impl ServerEvent {
            /// The event's type as the GA dialect names it.
            pub fn event_type(&self) -> &str {
                match self {
                    $(ServerEvent::$variant(_) => $name,)*
                    ServerEvent::Unknown(unknown) => &unknown.event_type,
                }
            }

            /// Decodes the payload of the known event type `ga_name` straight from the frame,
            /// without building a JSON tree first (the hot path: every frame goes through it).
            fn decode_known(ga_name: &str, text: &str) -> Option<Result<ServerEvent, serde_json::Error>> {
                match ga_name {
                    $($name => Some(serde_json::from_str::<$payload>(text).map(|mut payload| {
                        // The tag is not a field of the payload; it lands among the extras.
                        payload.extra.shift_remove("type");
                        ServerEvent::$variant(payload)
                    })),)*
                    _ => None,
                }
            }

            /// The GA name of a known event type; `None` for [`ServerEvent::Unknown`].
            pub fn known_type(&self) -> Option<&'static str> {
                match self {
                    $(ServerEvent::$variant(_) => Some($name),)*
                    ServerEvent::Unknown(_) => None,
                }
            }

            /// The event's `event_id`.
            pub fn event_id(&self) -> Option<&str> {
                match self {
                    $(ServerEvent::$variant(e) => e.event_id.as_deref(),)*
                    ServerEvent::Unknown(unknown) => {
                        unknown.raw.get("event_id").and_then(Value::as_str)
                    }
                }
            }

            /// Sets the event's `event_id`.
            pub fn set_event_id(&mut self, id: String) {
                match self {
                    $(ServerEvent::$variant(e) => e.event_id = Some(id),)*
                    ServerEvent::Unknown(unknown) => {
                        unknown.raw.insert("event_id".into(), id.into());
                    }
                }
            }
        }
    };
}

server_events! {
    /// `error`
    "error" => Error(ErrorEvent),
    /// `session.created`: the first event of every session.
    "session.created" => SessionCreated(SessionEvent),
    /// `session.updated`: the answer to `session.update`.
    "session.updated" => SessionUpdated(SessionEvent),
    /// `transcription_session.created` (beta).
    "transcription_session.created" => TranscriptionSessionCreated(SessionEvent),
    /// `transcription_session.updated` (beta).
    "transcription_session.updated" => TranscriptionSessionUpdated(SessionEvent),
    /// `conversation.created` (beta).
    "conversation.created" => ConversationCreated(ConversationCreated),
    /// `conversation.item.created` (beta; also in the GA union).
    "conversation.item.created" => ConversationItemCreated(ItemEvent),
    /// `conversation.item.added` (GA).
    "conversation.item.added" => ConversationItemAdded(ItemEvent),
    /// `conversation.item.done` (GA).
    "conversation.item.done" => ConversationItemDone(ItemEvent),
    /// `conversation.item.retrieved`
    "conversation.item.retrieved" => ConversationItemRetrieved(ItemRetrieved),
    /// `conversation.item.input_audio_transcription.delta`
    "conversation.item.input_audio_transcription.delta" => InputTranscriptionDelta(InputTranscriptionDelta),
    /// `conversation.item.input_audio_transcription.completed`
    "conversation.item.input_audio_transcription.completed" => InputTranscriptionCompleted(InputTranscriptionCompleted),
    /// `conversation.item.input_audio_transcription.segment` (GA)
    "conversation.item.input_audio_transcription.segment" => InputTranscriptionSegment(InputTranscriptionSegment),
    /// `conversation.item.input_audio_transcription.failed`
    "conversation.item.input_audio_transcription.failed" => InputTranscriptionFailed(InputTranscriptionFailed),
    /// `conversation.item.truncated`
    "conversation.item.truncated" => ConversationItemTruncated(ItemTruncated),
    /// `conversation.item.deleted`
    "conversation.item.deleted" => ConversationItemDeleted(ItemDeleted),
    /// `input_audio_buffer.committed`
    "input_audio_buffer.committed" => InputAudioBufferCommitted(BufferCommitted),
    /// `input_audio_buffer.cleared`
    "input_audio_buffer.cleared" => InputAudioBufferCleared(EmptyEvent),
    /// `input_audio_buffer.speech_started`
    "input_audio_buffer.speech_started" => SpeechStarted(SpeechStarted),
    /// `input_audio_buffer.speech_stopped`
    "input_audio_buffer.speech_stopped" => SpeechStopped(SpeechStopped),
    /// `input_audio_buffer.timeout_triggered`
    "input_audio_buffer.timeout_triggered" => InputAudioBufferTimeoutTriggered(BufferTimeoutTriggered),
    /// `input_audio_buffer.dtmf_event_received` (GA)
    "input_audio_buffer.dtmf_event_received" => DtmfEventReceived(DtmfReceived),
    /// `output_audio_buffer.started` (WebRTC/SIP)
    "output_audio_buffer.started" => OutputAudioBufferStarted(OutputAudioBufferEvent),
    /// `output_audio_buffer.stopped` (WebRTC/SIP)
    "output_audio_buffer.stopped" => OutputAudioBufferStopped(OutputAudioBufferEvent),
    /// `output_audio_buffer.cleared` (WebRTC/SIP)
    "output_audio_buffer.cleared" => OutputAudioBufferCleared(OutputAudioBufferEvent),
    /// `rate_limits.updated`
    "rate_limits.updated" => RateLimitsUpdated(RateLimitsUpdated),
    /// `response.created`
    "response.created" => ResponseCreated(ResponseEvent),
    /// `response.done`: always sent, whatever the outcome.
    "response.done" => ResponseDone(ResponseEvent),
    /// `response.output_item.added`
    "response.output_item.added" => ResponseOutputItemAdded(OutputItemEvent),
    /// `response.output_item.done`
    "response.output_item.done" => ResponseOutputItemDone(OutputItemEvent),
    /// `response.content_part.added`
    "response.content_part.added" => ResponseContentPartAdded(ContentPartEvent),
    /// `response.content_part.done`
    "response.content_part.done" => ResponseContentPartDone(ContentPartEvent),
    /// `response.output_text.delta` (beta `response.text.delta`)
    "response.output_text.delta" => ResponseOutputTextDelta(ContentDelta),
    /// `response.output_text.done` (beta `response.text.done`)
    "response.output_text.done" => ResponseOutputTextDone(TextDone),
    /// `response.output_audio_transcript.delta` (beta `response.audio_transcript.delta`)
    "response.output_audio_transcript.delta" => ResponseOutputAudioTranscriptDelta(ContentDelta),
    /// `response.output_audio_transcript.done` (beta `response.audio_transcript.done`)
    "response.output_audio_transcript.done" => ResponseOutputAudioTranscriptDone(TranscriptDone),
    /// `response.output_audio.delta` (beta `response.audio.delta`): base64 audio.
    "response.output_audio.delta" => ResponseOutputAudioDelta(ContentDelta),
    /// `response.output_audio.done` (beta `response.audio.done`)
    "response.output_audio.done" => ResponseOutputAudioDone(AudioDone),
    /// `response.function_call_arguments.delta`
    "response.function_call_arguments.delta" => ResponseFunctionCallArgumentsDelta(FunctionCallArgumentsDelta),
    /// `response.function_call_arguments.done`
    "response.function_call_arguments.done" => ResponseFunctionCallArgumentsDone(FunctionCallArgumentsDone),
    /// `mcp_list_tools.in_progress` (GA)
    "mcp_list_tools.in_progress" => McpListToolsInProgress(McpItemEvent),
    /// `mcp_list_tools.completed` (GA)
    "mcp_list_tools.completed" => McpListToolsCompleted(McpItemEvent),
    /// `mcp_list_tools.failed` (GA)
    "mcp_list_tools.failed" => McpListToolsFailed(McpItemEvent),
    /// `response.mcp_call_arguments.delta` (GA)
    "response.mcp_call_arguments.delta" => ResponseMcpCallArgumentsDelta(McpCallArguments),
    /// `response.mcp_call_arguments.done` (GA)
    "response.mcp_call_arguments.done" => ResponseMcpCallArgumentsDone(McpCallArguments),
    /// `response.mcp_call.in_progress` (GA)
    "response.mcp_call.in_progress" => ResponseMcpCallInProgress(McpItemEvent),
    /// `response.mcp_call.completed` (GA)
    "response.mcp_call.completed" => ResponseMcpCallCompleted(McpItemEvent),
    /// `response.mcp_call.failed` (GA)
    "response.mcp_call.failed" => ResponseMcpCallFailed(McpItemEvent),
}

/// Maps a wire type name of either dialect to the GA name this crate knows it by.
fn known_ga_name(wire_type: &str) -> Option<&'static str> {
    if let Some((ga, _)) = super::RENAMED_SERVER_EVENTS
        .iter()
        .find(|(_, beta)| *beta == wire_type)
    {
        return Some(ga);
    }
    SERVER_EVENT_TYPES.iter().copied().find(|t| *t == wire_type)
}

impl ServerEvent {
    /// Decodes one server event from a text frame, in either dialect.
    ///
    /// An unknown `type` decodes to [`ServerEvent::Unknown`]; unknown fields are kept. Only a frame
    /// that is not a JSON object with a string `type`, or a known event whose fields have the
    /// wrong shape, is an error.
    pub fn from_json(text: &str) -> Result<ServerEvent, super::DecodeError> {
        let Some(tag) = super::wire::Peek::of(text) else {
            // Not an object (or not JSON): the slow path gives the precise error.
            let value: Value = serde_json::from_str(text).map_err(super::DecodeError::json)?;
            return Self::from_value(value);
        };
        let Some(kind) = tag.kind else {
            return Err(super::DecodeError::MissingType);
        };
        match known_ga_name(&kind).and_then(|ga| Self::decode_known(ga, text).map(|r| (ga, r))) {
            Some((_, Ok(event))) => Ok(event),
            Some((ga, Err(error))) => Err(super::DecodeError::invalid(ga, error)),
            None => {
                let value: Value = serde_json::from_str(text).map_err(super::DecodeError::json)?;
                Self::from_value(value)
            }
        }
    }

    /// Decodes one server event from a parsed JSON value, in either dialect.
    pub fn from_value(value: Value) -> Result<ServerEvent, super::DecodeError> {
        let Value::Object(mut map) = value else {
            return Err(super::DecodeError::NotAnObject);
        };
        let Some(Value::String(wire_type)) = map.get("type") else {
            return Err(super::DecodeError::MissingType);
        };
        let Some(ga_name) = known_ga_name(wire_type) else {
            return Ok(ServerEvent::Unknown(UnknownEvent {
                event_type: wire_type.clone(),
                raw: map,
            }));
        };
        if ga_name != wire_type {
            map.insert("type".into(), ga_name.into());
        }
        serde_json::from_value(Value::Object(map))
            .map_err(|e| super::DecodeError::invalid(ga_name, e))
    }

    /// Encodes the event as `dialect` spells it.
    pub fn to_value(&self, dialect: Dialect) -> Value {
        let ga_name = match self {
            ServerEvent::Unknown(unknown) => return Value::Object(unknown.raw.clone()),
            other => other.ga_name(),
        };
        let mut value = super::wire::to_value(self);
        if let Value::Object(map) = &mut value {
            map.insert("type".into(), server_event_name(ga_name, dialect).into());
            if let (Some(session), Some(Value::Object(_))) = (self.session(), map.get("session")) {
                map.insert("session".into(), session.to_wire(dialect));
            }
        }
        value
    }

    /// Encodes the event as a JSON text frame as `dialect` spells it.
    pub fn to_json(&self, dialect: Dialect) -> String {
        let renamed = dialect == Dialect::Beta
            && (self.session().is_some()
                || server_event_name(self.ga_name(), dialect) != self.ga_name());
        match self {
            // Serde writes GA names directly; only beta renames need the JSON tree.
            ServerEvent::Unknown(_) => self.to_value(dialect).to_string(),
            _ if !renamed => serde_json::to_string(self).unwrap_or_default(),
            _ => self.to_value(dialect).to_string(),
        }
    }

    /// The GA name of a known event type (`"error"` for unknown events, which are never renamed).
    fn ga_name(&self) -> &'static str {
        self.known_type().unwrap_or("error")
    }

    /// The session configuration carried by session events.
    pub fn session(&self) -> Option<&SessionConfig> {
        match self {
            ServerEvent::SessionCreated(e)
            | ServerEvent::SessionUpdated(e)
            | ServerEvent::TranscriptionSessionCreated(e)
            | ServerEvent::TranscriptionSessionUpdated(e) => Some(&e.session),
            _ => None,
        }
    }
}
