//! The error object of the server's `error` event.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An error reported by the server in an `error` event.
///
/// Most errors leave the session open; [`ApiError::is_fatal`] tells the ones after which the
/// server closes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ApiError {
    /// `invalid_request_error`, `server_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// A machine-readable code, e.g. `conversation_already_has_active_response`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong, in words.
    #[serde(default)]
    pub message: String,
    /// The parameter at fault, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The `event_id` of the client event that caused it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// An error of `kind` with `code` and `message`.
    pub fn new(kind: &str, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            kind: kind.to_owned(),
            code: Some(code.to_owned()),
            message: message.into(),
            ..ApiError::default()
        }
    }

    /// Whether the error has `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the server ends the session after this error (`session_expired`,
    /// `beta_api_shape_disabled`).
    pub fn is_fatal(&self) -> bool {
        self.has_code("session_expired") || self.has_code("beta_api_shape_disabled")
    }
}
