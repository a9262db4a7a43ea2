//! Wire types of the OpenAI Realtime protocol, both dialects, serde only (no I/O).

mod audio_format;
mod dialect;
mod tools;

pub use audio_format::AudioFormat;
pub use dialect::{Dialect, RENAMED_SERVER_EVENTS, server_event_name};
pub use tools::{FunctionDefinition, ToolChoice, ToolDefinition};
