//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token, over the URL Twilio
//! requested followed by every POST parameter, sorted by name, as name then value.

use base64::Engine as _;
use ring::hmac;

/// The content Twilio signs: `url`, then each parameter's name and value, sorted by name
/// (then value, for repeated names), with no separators.
fn signed_content(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut content = String::with_capacity(url.len() + 64 * sorted.len());
    content.push_str(url);
    for (name, value) in sorted {
        content.push_str(name);
        content.push_str(value);
    }
    content
}

/// The signature Twilio would send for this request (what a client simulator sends).
pub fn sign(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token);
    let tag = hmac::sign(&key, signed_content(url, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

/// Whether `header` is the valid signature of the request, compared in constant time.
pub fn verify(auth_token: &[u8], url: &str, params: &[(String, String)], header: &str) -> bool {
    let Ok(presented) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token);
    hmac::verify(&key, signed_content(url, params).as_bytes(), &presented).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's documented example: auth token 12345, this URL and these parameters.
    #[test]
    fn twilios_documented_example_verifies() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let signature = sign(b"12345", url, &params);
        assert_eq!(signature, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(verify(b"12345", url, &params, &signature));
        assert!(!verify(b"54321", url, &params, &signature));
        assert!(!verify(
            b"12345",
            "https://mycompany.com/other",
            &params,
            &signature
        ));
        assert!(!verify(b"12345", url, &params, "not base64!"));
    }
}
