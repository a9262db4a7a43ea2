//! Why a frame could not be decoded.

/// A frame that is not a valid Realtime event.
///
/// Decoding never panics and never fails for unknown event types or unknown fields; these
/// errors are for frames that cannot be events at all, or known events with fields of the wrong
/// shape. Retrying does not help: the frame is malformed, so it is logged and skipped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON.
    #[error("not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// JSON, but not an object.
    #[error("an event must be a JSON object")]
    NotAnObject,
    /// An object without a string `type`.
    #[error("the event has no string `type` field")]
    MissingType,
    /// A client event type that does not exist (the fake server reports it as the API does).
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    /// A binary WebSocket frame; the protocol only uses text frames.
    #[error("unexpected binary frame of {0} bytes (the Realtime protocol uses text frames)")]
    Binary(usize),
    /// A known event type whose fields have the wrong shape.
    #[error("invalid `{event_type}` event: {source}")]
    Invalid {
        /// The event type.
        event_type: String,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },
}

impl DecodeError {
    pub(crate) fn json(err: serde_json::Error) -> Self {
        DecodeError::Json(err)
    }

    pub(crate) fn invalid(event_type: &str, source: serde_json::Error) -> Self {
        DecodeError::Invalid {
            event_type: event_type.to_owned(),
            source,
        }
    }
}
