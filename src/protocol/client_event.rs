//! Events the client sends.

use std::fmt::Write as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::{null_as_default, wire_struct};
use super::{Dialect, Item, ResponseOptions, SessionConfig};

wire_struct! {
    /// `session.update`: change the session configuration.
    pub struct SessionUpdate {
        /// The fields to change (boxed: it is large and rare).
        pub session: Box<SessionConfig>,
    }
}

wire_struct! {
    /// `transcription_session.update` (beta): configure a transcription-only session.
    pub struct TranscriptionSessionUpdate {
        /// The beta transcription session object, as sent.
        pub session: Value,
    }
}

wire_struct! {
    /// `input_audio_buffer.append`: more user audio (no acknowledgement).
    pub struct AudioAppend {
        /// Base64 audio in the session input format.
        pub audio: String,
    }
}

wire_struct! {
    /// An event with no payload (`input_audio_buffer.commit`, `.clear`,
    /// `output_audio_buffer.clear`).
    pub struct Bare {}
}

wire_struct! {
    /// `conversation.item.create`: add an item to the conversation.
    pub struct ItemCreate {
        /// Insert after this item; absent appends, `"root"` inserts at the start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub previous_item_id: Option<String>,
        /// The item.
        pub item: Item,
    }
}

wire_struct! {
    /// `conversation.item.retrieve` / `conversation.item.delete`.
    pub struct ItemRef {
        /// The item.
        pub item_id: String,
    }
}

wire_struct! {
    /// `conversation.item.truncate`: cut an assistant item's audio at what the user heard.
    pub struct ItemTruncate {
        /// The assistant item.
        pub item_id: String,
        /// The content part (0).
        #[serde(default, deserialize_with = "null_as_default")]
        pub content_index: u32,
        /// Milliseconds actually played; never more than the item's audio.
        pub audio_end_ms: u64,
    }
}

wire_struct! {
    /// `response.create`: ask the model to respond.
    pub struct ResponseCreate {
        /// Options for this response only (boxed: large and rare).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub response: Option<Box<ResponseOptions>>,
    }
}

wire_struct! {
    /// `response.cancel`: stop the response in progress.
    pub struct ResponseCancel {
        /// The response to cancel; absent means the active one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub response_id: Option<String>,
    }
}

/// An event from the client.
///
/// Encode with [`ClientEvent::to_json`] (the dialect decides the shape of `session.update` and
/// `response.create`); the fake server decodes with [`ClientEvent::from_json`], which accepts
/// either dialect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum ClientEvent {
    /// `session.update`
    #[serde(rename = "session.update")]
    SessionUpdate(SessionUpdate),
    /// `transcription_session.update` (beta)
    #[serde(rename = "transcription_session.update")]
    TranscriptionSessionUpdate(TranscriptionSessionUpdate),
    /// `input_audio_buffer.append`
    #[serde(rename = "input_audio_buffer.append")]
    InputAudioBufferAppend(AudioAppend),
    /// `input_audio_buffer.commit`
    #[serde(rename = "input_audio_buffer.commit")]
    InputAudioBufferCommit(Bare),
    /// `input_audio_buffer.clear`
    #[serde(rename = "input_audio_buffer.clear")]
    InputAudioBufferClear(Bare),
    /// `conversation.item.create`
    #[serde(rename = "conversation.item.create")]
    ConversationItemCreate(ItemCreate),
    /// `conversation.item.retrieve`
    #[serde(rename = "conversation.item.retrieve")]
    ConversationItemRetrieve(ItemRef),
    /// `conversation.item.truncate`
    #[serde(rename = "conversation.item.truncate")]
    ConversationItemTruncate(ItemTruncate),
    /// `conversation.item.delete`
    #[serde(rename = "conversation.item.delete")]
    ConversationItemDelete(ItemRef),
    /// `response.create`
    #[serde(rename = "response.create")]
    ResponseCreate(ResponseCreate),
    /// `response.cancel`
    #[serde(rename = "response.cancel")]
    ResponseCancel(ResponseCancel),
    /// `output_audio_buffer.clear` (WebRTC/SIP)
    #[serde(rename = "output_audio_buffer.clear")]
    OutputAudioBufferClear(Bare),
}

/// Every client event type, by wire name.
pub const CLIENT_EVENT_TYPES: &[&str] = &[
    "session.update",
    "transcription_session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
];

impl ClientEvent {
    /// `session.update` with `session`.
    pub fn session_update(session: SessionConfig) -> Self {
        ClientEvent::SessionUpdate(SessionUpdate {
            session: Box::new(session),
            ..SessionUpdate::default()
        })
    }

    /// `input_audio_buffer.append` of raw audio bytes (base64-encoded here).
    pub fn audio_append(audio: &[u8]) -> Self {
        ClientEvent::InputAudioBufferAppend(AudioAppend {
            audio: base64::engine::general_purpose::STANDARD.encode(audio),
            ..AudioAppend::default()
        })
    }

    /// `input_audio_buffer.commit`.
    pub fn commit() -> Self {
        ClientEvent::InputAudioBufferCommit(Bare::default())
    }

    /// `input_audio_buffer.clear`.
    pub fn clear_input() -> Self {
        ClientEvent::InputAudioBufferClear(Bare::default())
    }

    /// `conversation.item.create` appending `item`.
    pub fn item_create(item: Item) -> Self {
        ClientEvent::ConversationItemCreate(ItemCreate {
            item,
            ..ItemCreate::default()
        })
    }

    /// `conversation.item.truncate`.
    pub fn truncate(item_id: impl Into<String>, content_index: u32, audio_end_ms: u64) -> Self {
        ClientEvent::ConversationItemTruncate(ItemTruncate {
            item_id: item_id.into(),
            content_index,
            audio_end_ms,
            ..ItemTruncate::default()
        })
    }

    /// `conversation.item.delete`.
    pub fn item_delete(item_id: impl Into<String>) -> Self {
        ClientEvent::ConversationItemDelete(ItemRef {
            item_id: item_id.into(),
            ..ItemRef::default()
        })
    }

    /// `response.create` with no options.
    pub fn response_create() -> Self {
        ClientEvent::ResponseCreate(ResponseCreate::default())
    }

    /// `response.cancel` of the active response.
    pub fn response_cancel() -> Self {
        ClientEvent::ResponseCancel(ResponseCancel::default())
    }

    /// The event's wire type.
    pub fn event_type(&self) -> &'static str {
        match self {
            ClientEvent::SessionUpdate(_) => "session.update",
            ClientEvent::TranscriptionSessionUpdate(_) => "transcription_session.update",
            ClientEvent::InputAudioBufferAppend(_) => "input_audio_buffer.append",
            ClientEvent::InputAudioBufferCommit(_) => "input_audio_buffer.commit",
            ClientEvent::InputAudioBufferClear(_) => "input_audio_buffer.clear",
            ClientEvent::ConversationItemCreate(_) => "conversation.item.create",
            ClientEvent::ConversationItemRetrieve(_) => "conversation.item.retrieve",
            ClientEvent::ConversationItemTruncate(_) => "conversation.item.truncate",
            ClientEvent::ConversationItemDelete(_) => "conversation.item.delete",
            ClientEvent::ResponseCreate(_) => "response.create",
            ClientEvent::ResponseCancel(_) => "response.cancel",
            ClientEvent::OutputAudioBufferClear(_) => "output_audio_buffer.clear",
        }
    }

    fn event_id_slot(&mut self) -> &mut Option<String> {
        match self {
            ClientEvent::SessionUpdate(e) => &mut e.event_id,
            ClientEvent::TranscriptionSessionUpdate(e) => &mut e.event_id,
            ClientEvent::InputAudioBufferAppend(e) => &mut e.event_id,
            ClientEvent::InputAudioBufferCommit(e)
            | ClientEvent::InputAudioBufferClear(e)
            | ClientEvent::OutputAudioBufferClear(e) => &mut e.event_id,
            ClientEvent::ConversationItemCreate(e) => &mut e.event_id,
            ClientEvent::ConversationItemRetrieve(e) | ClientEvent::ConversationItemDelete(e) => {
                &mut e.event_id
            }
            ClientEvent::ConversationItemTruncate(e) => &mut e.event_id,
            ClientEvent::ResponseCreate(e) => &mut e.event_id,
            ClientEvent::ResponseCancel(e) => &mut e.event_id,
        }
    }

    /// The event's `event_id`, if set.
    pub fn event_id(&self) -> Option<&str> {
        // `event_id_slot` needs `&mut`; this mirrors it for shared access.
        match self {
            ClientEvent::SessionUpdate(e) => e.event_id.as_deref(),
            ClientEvent::TranscriptionSessionUpdate(e) => e.event_id.as_deref(),
            ClientEvent::InputAudioBufferAppend(e) => e.event_id.as_deref(),
            ClientEvent::InputAudioBufferCommit(e)
            | ClientEvent::InputAudioBufferClear(e)
            | ClientEvent::OutputAudioBufferClear(e) => e.event_id.as_deref(),
            ClientEvent::ConversationItemCreate(e) => e.event_id.as_deref(),
            ClientEvent::ConversationItemRetrieve(e) | ClientEvent::ConversationItemDelete(e) => {
                e.event_id.as_deref()
            }
            ClientEvent::ConversationItemTruncate(e) => e.event_id.as_deref(),
            ClientEvent::ResponseCreate(e) => e.event_id.as_deref(),
            ClientEvent::ResponseCancel(e) => e.event_id.as_deref(),
        }
    }

    /// Sets the `event_id` unless one is set already; returns the id in effect.
    pub fn ensure_event_id(&mut self, make: impl FnOnce() -> String) -> &str {
        self.event_id_slot().get_or_insert_with(make)
    }

    /// Encodes the event as `dialect` spells it.
    pub fn to_value(&self, dialect: Dialect) -> Value {
        let mut value = super::wire::to_value(self);
        if let Value::Object(map) = &mut value {
            match self {
                ClientEvent::SessionUpdate(e) => {
                    map.insert("session".into(), e.session.to_wire(dialect));
                }
                ClientEvent::ResponseCreate(ResponseCreate {
                    response: Some(options),
                    ..
                }) => {
                    map.insert("response".into(), options.to_wire(dialect));
                }
                _ => {}
            }
        }
        value
    }

    /// Encodes the event as a JSON text frame as `dialect` spells it.
    pub fn to_json(&self, dialect: Dialect) -> String {
        // The microphone's hot path does not come here: it uses `encode_audio_append`.
        self.to_value(dialect).to_string()
    }

    /// Decodes a client event of either dialect (what the fake server does).
    pub fn from_json(text: &str) -> Result<ClientEvent, super::DecodeError> {
        let Some(tag) = super::wire::Peek::of(text) else {
            let value: Value = serde_json::from_str(text).map_err(super::DecodeError::json)?;
            return Err(match value {
                Value::Object(_) => super::DecodeError::MissingType,
                _ => super::DecodeError::NotAnObject,
            });
        };
        let Some(kind) = tag.kind else {
            return Err(super::DecodeError::MissingType);
        };
        let Some(kind) = CLIENT_EVENT_TYPES.iter().copied().find(|t| *t == kind) else {
            return Err(super::DecodeError::UnknownType(kind.into_owned()));
        };
        serde_json::from_str(text).map_err(|e| super::DecodeError::invalid(kind, e))
    }
}

/// Encodes `input_audio_buffer.append` for raw audio bytes straight into a JSON text frame,
/// without building the event: the microphone path sends one of these every few milliseconds.
pub fn encode_audio_append(event_id: &str, audio: &[u8]) -> String {
    encode_append(audio, |out| {
        let _ = write!(out, "{}", Value::from(event_id));
    })
}

/// [`encode_audio_append`] with the event id `evt_{number}` (what a connection numbers its
/// events with), written in place: one allocation per frame.
pub(crate) fn encode_numbered_audio_append(number: u64, audio: &[u8]) -> String {
    encode_append(audio, |out| {
        let _ = write!(out, "\"evt_{number}\"");
    })
}

fn encode_append(audio: &[u8], event_id: impl FnOnce(&mut String)) -> String {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut out = String::with_capacity(audio.len().div_ceil(3) * 4 + 96);
    out.push_str(r#"{"type":"input_audio_buffer.append","event_id":"#);
    event_id(&mut out);
    out.push_str(r#","audio":""#);
    engine.encode_string(audio, &mut out);
    out.push_str(r#""}"#);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_audio_append_is_the_same_frame() {
        let audio: Vec<u8> = (0..=255).collect();
        for (number, len) in [(1, 160), (42, 161), (u64::MAX, 0), (7, 256)] {
            assert_eq!(
                encode_numbered_audio_append(number, &audio[..len]),
                encode_audio_append(&format!("evt_{number}"), &audio[..len])
            );
        }
        assert_eq!(
            encode_numbered_audio_append(3, &[0xff, 0x7f]),
            r#"{"type":"input_audio_buffer.append","event_id":"evt_3","audio":"/38="}"#
        );
    }
}
