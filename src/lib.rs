//! realtime-agent: tool-calling voice agents on the OpenAI Realtime API.

pub mod agent;
pub mod audio;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod error;
pub mod protocol;
pub mod secret;
pub mod token;
pub mod tool;
pub mod transport;

pub use error::{Error, Result};
pub use secret::ApiKey;
#[cfg(feature = "testing")]
pub mod testing;
