//! Turning a failed handshake into an error a user can act on.

use std::time::Duration;

use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::http::StatusCode;

use super::io::snippet;
use super::{ConnectError, ConnectOptions};
pub(super) fn handshake_error(
    err: tungstenite::Error,
    options: &ConnectOptions,
    host: &str,
    addr: &str,
) -> ConnectError {
    let scrub = |text: String| match &options.api_key {
        Some(key) => key.scrub(&text),
        None => text,
    };
    match err {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let message = response
                .body()
                .as_deref()
                .map(|body| scrub(error_message(body)))
                .filter(|m| !m.is_empty());
            match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectError::Unauthorized {
                    status: status.as_u16(),
                    message,
                },
                StatusCode::NOT_FOUND => ConnectError::NotFound {
                    model: options.model.clone(),
                    message,
                },
                StatusCode::TOO_MANY_REQUESTS => ConnectError::RateLimited {
                    retry_after: response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after),
                    message,
                },
                other => ConnectError::Http {
                    status: other.as_u16(),
                    message,
                },
            }
        }
        tungstenite::Error::Io(io) => io_error(io, host, addr, &scrub),
        tungstenite::Error::Tls(tls) => ConnectError::Tls {
            host: host.to_owned(),
            reason: scrub(tls.to_string()),
        },
        other => ConnectError::Other {
            host: host.to_owned(),
            reason: scrub(other.to_string()),
        },
    }
}

fn io_error(
    io: std::io::Error,
    host: &str,
    addr: &str,
    scrub: &dyn Fn(String) -> String,
) -> ConnectError {
    use std::io::ErrorKind;
    let text = io.to_string();
    match io.kind() {
        ErrorKind::ConnectionRefused => ConnectError::Refused {
            addr: addr.to_owned(),
        },
        ErrorKind::TimedOut => ConnectError::Timeout {
            host: host.to_owned(),
            timeout: Duration::ZERO,
        },
        _ if text.contains("failed to lookup address")
            || text.contains("Name or service not known")
            || text.contains("nodename nor servname") =>
        {
            ConnectError::Dns {
                host: host.to_owned(),
                reason: text,
            }
        }
        _ if io
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            ConnectError::Tls {
                host: host.to_owned(),
                reason: scrub(text),
            }
        }
        _ => ConnectError::Other {
            host: host.to_owned(),
            reason: scrub(text),
        },
    }
}

/// The `error.message` of an OpenAI JSON error body, else the body text (shortened).
fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| snippet(text.trim()))
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and treated as unknown).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn error_message_prefers_the_json_message() {
        assert_eq!(
            error_message(br#"{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}"#),
            "Incorrect API key"
        );
        assert_eq!(error_message(b"plain text"), "plain text");
    }
}
