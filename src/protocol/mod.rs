//! Wire types of the OpenAI Realtime protocol, both dialects: serde only, no I/O.
//!
//! The crate has one event model. [`ServerEvent`] decodes either dialect (beta names map to the
//! GA-named variants) and keeps unknown event types and unknown fields; [`ClientEvent`] encodes
//! for the [`Dialect`] a session speaks. [`SessionConfig`] and [`ResponseOptions`] are the two
//! places where the dialects differ in shape; they hold one neutral form and spell it per dialect.

mod api_error;
mod audio_format;
mod client_event;
pub(crate) use client_event::encode_numbered_audio_append;
mod decode_error;
mod dialect;
mod item;
mod mcp;
mod response;
mod server_event;
mod server_payloads;
mod session;
mod tools;
mod wire;

#[cfg(feature = "testing")]
pub(crate) use wire::Peek;

pub use api_error::{ApiError, ApiErrorCode};
pub use audio_format::AudioFormat;
pub use client_event::{
    AudioAppend, Bare, CLIENT_EVENT_TYPES, ClientEvent, ItemCreate, ItemRef, ItemTruncate,
    ResponseCancel, ResponseCreate, SessionUpdate, TranscriptionSessionUpdate, encode_audio_append,
};
pub use decode_error::DecodeError;
pub use dialect::{Dialect, RENAMED_SERVER_EVENTS, server_event_name};
pub use item::{
    ContentKind, ContentPart, FunctionCallItem, FunctionCallOutputItem, Item, ItemStatus,
    MessageItem, Role,
};
pub use mcp::{
    AllowedTools, McpApprovalRequestItem, McpApprovalResponseItem, McpCallError, McpCallItem,
    McpListToolsItem, McpToolDefinition, McpToolFilter, McpToolInfo, RequireApproval,
};
pub use response::{
    CachedTokenDetails, InputTokenDetails, OutputTokenDetails, RateLimit, Response,
    ResponseOptions, ResponseStatus, StatusDetails, Usage,
};
pub use server_event::*;
pub use session::{
    InputTranscription, MaxTokens, Modality, NoiseReduction, SemanticVad, ServerVad, SessionConfig,
    SessionKind, TurnDetection, Voice, modalities_to_wire,
};
pub use tools::{FunctionDefinition, ToolChoice, ToolDefinition};
