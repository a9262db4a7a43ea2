//! Standard Webhooks signatures, as OpenAI sends them: `webhook-id`, `webhook-timestamp` (unix
//! seconds) and `webhook-signature` (space-separated `v1,<base64>`), an HMAC-SHA256 over
//! `{id}.{timestamp}.{raw body}` keyed with the decoded secret.

use base64::Engine as _;
use ring::hmac;

/// How far a webhook's timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRefusal {
    /// A `webhook-*` header is missing.
    #[error("the webhook-id, webhook-timestamp and webhook-signature headers are required")]
    Unsigned,
    /// The timestamp is not a number, or more than five minutes from now (a replay).
    #[error("the webhook timestamp is missing, malformed or more than 5 minutes away")]
    Stale,
    /// No `v1` signature matches.
    #[error("no webhook signature matches the secret")]
    BadSignature,
}

fn content(id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut signed = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    signed
}

/// The `webhook-signature` value for this message (`v1,<base64>`), as the sender computes it.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, &content(id, &timestamp.to_string(), body));
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    )
}

/// Checks a webhook before anything in it is believed: the headers are present, the timestamp
/// is within [`TOLERANCE_SECONDS`] of `now`, and one `v1` signature matches (constant time).
pub fn verify(
    secret: &[u8],
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookRefusal> {
    let (Some(id), Some(timestamp), Some(signatures)) = (id, timestamp, signatures) else {
        return Err(WebhookRefusal::Unsigned);
    };
    let sent: i64 = timestamp.parse().map_err(|_| WebhookRefusal::Stale)?;
    if (now - sent).abs() > TOLERANCE_SECONDS {
        return Err(WebhookRefusal::Stale);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let signed = content(id, timestamp, body);
    let matches = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .any(|tag| hmac::verify(&key, &signed, &tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(WebhookRefusal::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's test vector.
    #[test]
    fn the_specifications_example_verifies() {
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let body = br#"{"test": 2432232314}"#;
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let signature = sign(&secret, id, 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let ok =
            |sigs: &str, now| verify(&secret, Some(id), Some("1614265330"), Some(sigs), body, now);
        assert_eq!(ok(&signature, 1614265330), Ok(()));
        assert_eq!(ok(&format!("v1,bm9wZQ== {signature}"), 1614265630), Ok(()));
        assert_eq!(ok(&signature, 1614265330 + 301), Err(WebhookRefusal::Stale));
        assert_eq!(
            ok("v1,bm9wZQ==", 1614265330),
            Err(WebhookRefusal::BadSignature)
        );
        assert_eq!(
            verify(&secret, Some(id), None, Some(&signature), body, 0),
            Err(WebhookRefusal::Unsigned)
        );
    }
}
