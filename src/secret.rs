//! The API key, in a type that never shows itself.

use std::fmt;

/// An API key (or an ephemeral `ek_…` client secret).
///
/// `Debug` and `Display` print `ApiKey(***)`, so the key cannot end up in a log line, an error
/// message, a `--record` file or a panic by accident. The only way to read it is
/// [`ApiKey::expose`], which the transport calls when it builds the handshake headers.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// Reads the key from the environment variable `var` (normally `OPENAI_API_KEY`). `None`
    /// when the variable is unset or empty.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        std::env::var(var)
            .ok()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .map(ApiKey)
    }

    /// The key itself. Only for building a request; never log or format the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of this key in `text` with `***`, for text that came from
    /// elsewhere (a server's error body may echo the key).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_owned();
        }
        text.replace(&self.0, "***")
    }
}

/// Whether `name` can be an environment variable holding a secret: letters, digits and `_`,
/// not starting with a digit.
pub(crate) fn is_env_var_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::ApiKey;

    #[test]
    fn never_shows_itself() {
        let key = ApiKey::new("sk-planted-secret-123");
        assert_eq!(format!("{key:?} {key}"), "ApiKey(***) ***");
        assert_eq!(
            key.scrub("Incorrect API key provided: sk-planted-secret-123."),
            "Incorrect API key provided: ***."
        );
    }
}
