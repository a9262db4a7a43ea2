//! realtime-agent: tool-calling voice agents on the OpenAI Realtime API.

pub mod audio;
pub mod error;
pub mod protocol;
pub mod tool;

pub use error::{Error, Result};
