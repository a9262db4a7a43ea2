//! The error object of the server's `error` event, and its codes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An error reported by the server in an `error` event.
///
/// Most errors leave the session open; [`ApiError::is_fatal`] tells the ones after which the
/// server closes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}{}: {message}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ApiError {
    /// `invalid_request_error`, `server_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// A machine-readable code, e.g. [`ApiErrorCode::ConversationAlreadyHasActiveResponse`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ApiErrorCode>,
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
            code: Some(ApiErrorCode::from(code)),
            message: message.into(),
            ..ApiError::default()
        }
    }

    /// Whether the error has `code` (as the server spells it).
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_ref().is_some_and(|c| c.as_str() == code)
    }

    /// Whether the server ends the session after this error (`session_expired`,
    /// `beta_api_shape_disabled`).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.code,
            Some(ApiErrorCode::SessionExpired | ApiErrorCode::BetaApiShapeDisabled)
        )
    }
}

/// The `code` of an [`ApiError`]: the codes the agent acts on or that are commonly seen, and
/// [`Other`](ApiErrorCode::Other) for any code this crate does not know (kept as sent).
///
/// It reads as the server's string (`Display`, and `Deref<Target = str>` so that
/// `error.code.as_deref() == Some("invalid_value")` works); on the wire it is that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorCode {
    /// `conversation_already_has_active_response`: a `response.create` arrived while another
    /// response was active. The agent asks again once that response is done.
    ConversationAlreadyHasActiveResponse,
    /// `response_cancel_not_active`: a cancel raced with the response's end. Benign.
    ResponseCancelNotActive,
    /// `item_truncate_invalid_item_id`: a truncate named an item the server no longer has.
    /// Benign.
    ItemTruncateInvalidItemId,
    /// `input_audio_buffer_commit_empty`: a commit with less than 100 ms of new audio.
    InputAudioBufferCommitEmpty,
    /// `session_expired`: the session reached its time limit; the server closes it.
    SessionExpired,
    /// `beta_api_shape_disabled`: a beta-dialect client on a GA-only endpoint; the server
    /// closes the session.
    BetaApiShapeDisabled,
    /// `invalid_event`: a client event the server could not parse.
    InvalidEvent,
    /// `invalid_value`: a field had a value the server does not accept.
    InvalidValue,
    /// `unknown_parameter`: a field the server does not know.
    UnknownParameter,
    /// `rate_limit_exceeded`.
    RateLimitExceeded,
    /// Any other code, as sent.
    Other(String),
}

impl ApiErrorCode {
    /// Every named code with its wire spelling.
    const NAMED: [(ApiErrorCode, &'static str); 10] = [
        (
            ApiErrorCode::ConversationAlreadyHasActiveResponse,
            "conversation_already_has_active_response",
        ),
        (
            ApiErrorCode::ResponseCancelNotActive,
            "response_cancel_not_active",
        ),
        (
            ApiErrorCode::ItemTruncateInvalidItemId,
            "item_truncate_invalid_item_id",
        ),
        (
            ApiErrorCode::InputAudioBufferCommitEmpty,
            "input_audio_buffer_commit_empty",
        ),
        (ApiErrorCode::SessionExpired, "session_expired"),
        (
            ApiErrorCode::BetaApiShapeDisabled,
            "beta_api_shape_disabled",
        ),
        (ApiErrorCode::InvalidEvent, "invalid_event"),
        (ApiErrorCode::InvalidValue, "invalid_value"),
        (ApiErrorCode::UnknownParameter, "unknown_parameter"),
        (ApiErrorCode::RateLimitExceeded, "rate_limit_exceeded"),
    ];

    /// The code as the server spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ApiErrorCode::Other(code) => code,
            named => Self::NAMED
                .iter()
                .find(|(code, _)| code == named)
                .map(|(_, text)| *text)
                .expect("every named code is in NAMED"),
        }
    }

    /// Whether the error is a harmless race the agent loop swallows (a cancel or truncate that
    /// came just too late).
    pub fn is_benign_race(&self) -> bool {
        matches!(
            self,
            ApiErrorCode::ResponseCancelNotActive | ApiErrorCode::ItemTruncateInvalidItemId
        )
    }
}

impl From<&str> for ApiErrorCode {
    fn from(code: &str) -> Self {
        Self::NAMED
            .iter()
            .find(|(_, text)| *text == code)
            .map(|(named, _)| named.clone())
            .unwrap_or_else(|| ApiErrorCode::Other(code.to_owned()))
    }
}

impl From<String> for ApiErrorCode {
    fn from(code: String) -> Self {
        match ApiErrorCode::from(code.as_str()) {
            ApiErrorCode::Other(_) => ApiErrorCode::Other(code),
            named => named,
        }
    }
}

impl std::ops::Deref for ApiErrorCode {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ApiErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ApiErrorCode::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_named_or_not() {
        for (named, text) in ApiErrorCode::NAMED {
            assert_eq!(ApiErrorCode::from(text), named);
            assert_eq!(named.as_str(), text);
            assert_eq!(serde_json::to_value(&named).unwrap(), Value::from(text));
        }
        let other: ApiErrorCode = serde_json::from_str("\"brand_new_code\"").unwrap();
        assert_eq!(other, ApiErrorCode::Other("brand_new_code".into()));
        assert_eq!(other.to_string(), "brand_new_code");
    }

    #[test]
    fn an_error_event_parses_to_the_enum_and_reads_as_before() {
        let error: ApiError = serde_json::from_str(
            r#"{"type":"invalid_request_error","code":"session_expired","message":"Your session hit the maximum duration of 60 minutes.","event_id":null}"#,
        )
        .unwrap();
        assert_eq!(error.code, Some(ApiErrorCode::SessionExpired));
        assert_eq!(error.code.as_deref(), Some("session_expired"));
        assert!(error.is_fatal());
        assert_eq!(
            error.to_string(),
            "invalid_request_error (session_expired): Your session hit the maximum duration of 60 minutes."
        );
        let null_code: ApiError =
            serde_json::from_str(r#"{"type":"server_error","code":null,"message":"x"}"#).unwrap();
        assert_eq!(null_code.code, None);
    }
}
