//! `[serve]`: the settings of `agent serve` (phone calls and the browser page).

use std::net::SocketAddr;
use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Source};

/// The address `agent serve` listens on unless `listen` or `--listen` names another.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Sessions served at once unless `max_sessions` says otherwise.
pub const DEFAULT_MAX_SESSIONS: u32 = 100;
/// Seconds live calls get to finish after SIGTERM unless `drain_timeout` says otherwise.
pub const DEFAULT_DRAIN_TIMEOUT: f64 = 30.0;

/// `[serve]`: how `agent serve` listens, whom it lets in, and how it stops.
///
/// Secrets (the browser token, Twilio's auth token, the OpenAI webhook secret) never go in the
/// file: the `*_env` keys name the environment variables that hold them.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// The address to listen on (default `127.0.0.1:8080`; `--listen` wins).
    pub listen: Option<String>,
    /// The `https://` address callers' providers reach (behind any proxy). Twilio signatures
    /// are computed over it and the media stream URL is built from it.
    pub public_url: Option<String>,
    /// Sessions served at once, over every channel (default 100); beyond it new calls are
    /// refused cleanly.
    pub max_sessions: Option<u32>,
    /// Seconds that live calls may go on after SIGTERM before they are ended (default 30).
    pub drain_timeout: Option<f64>,
    /// The variable holding the browser page's access token. Without one the page and its
    /// socket answer only on loopback.
    pub token_env: Option<String>,
    /// The variable holding the Twilio auth token (signs `/twilio/voice`). Without one the
    /// Twilio routes refuse every request.
    pub twilio_auth_token_env: Option<String>,
    /// The variable holding the OpenAI webhook secret (`whsec_…`). Without one
    /// `/openai/webhook` refuses every request.
    pub openai_webhook_secret_env: Option<String>,
    /// Whether keypad digits (DTMF) are also sent to the model as text, e.g. `[DTMF 5]`
    /// (default false: they are reported as events only).
    pub dtmf_as_text: Option<bool>,
}

impl ServeSection {
    /// The listen address in effect (`listen`, else `127.0.0.1:8080`).
    pub fn listen_addr(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }

    /// The session limit in effect.
    pub fn max_sessions(&self) -> u32 {
        self.max_sessions.unwrap_or(DEFAULT_MAX_SESSIONS)
    }

    /// The drain timeout in effect.
    pub fn drain_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT))
    }
}

/// Checks the values `serde` cannot: addresses, URLs, ranges and variable names.
pub(crate) fn check(
    source: &Source<'_>,
    table: Option<&DeTable<'_>>,
    serve: &ServeSection,
) -> Result<(), ConfigError> {
    let span = |key: &str| -> Option<Range<usize>> {
        table.and_then(|t| t.get(key)).map(toml::Spanned::span)
    };
    if let Some(listen) = &serve.listen {
        if listen.parse::<SocketAddr>().is_err() {
            return Err(source.invalid(
                span("listen"),
                "serve.listen",
                format!("{listen:?} is not an address: give IP:PORT, e.g. \"0.0.0.0:8080\""),
            ));
        }
    }
    if let Some(url) = &serve.public_url {
        let ok = url::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
        if !ok {
            return Err(source.invalid(
                span("public_url"),
                "serve.public_url",
                format!(
                    "{url:?} is not an http(s) URL: give the https:// address callers' providers \
                     reach, e.g. \"https://agent.example.com\""
                ),
            ));
        }
    }
    if serve.max_sessions == Some(0) {
        return Err(source.invalid(
            span("max_sessions"),
            "serve.max_sessions",
            "0 would refuse every call: give 1 or more",
        ));
    }
    if let Some(seconds) = serve.drain_timeout {
        if !(seconds.is_finite() && (0.0..=86_400.0).contains(&seconds)) {
            return Err(source.invalid(
                span("drain_timeout"),
                "serve.drain_timeout",
                format!("{seconds} is out of range: use 0 to 86400 seconds"),
            ));
        }
    }
    for key in [
        "token_env",
        "twilio_auth_token_env",
        "openai_webhook_secret_env",
    ] {
        let value = match key {
            "token_env" => &serve.token_env,
            "twilio_auth_token_env" => &serve.twilio_auth_token_env,
            _ => &serve.openai_webhook_secret_env,
        };
        let Some(name) = value else { continue };
        if !crate::secret::is_env_var_name(name) {
            // The value may be the secret itself: leave the line out of the error.
            return Err(source
                .invalid(
                    span(key),
                    &format!("serve.{key}"),
                    format!(
                        "`{key}` names the environment variable that holds the secret (letters, \
                         digits and _, e.g. \"AGENT_TOKEN\"); never put the secret itself in \
                         agent.toml"
                    ),
                )
                .without_source_line());
        }
    }
    Ok(())
}

/// The `[serve]` table of `root`, when present and a table.
pub(crate) fn table<'a, 'i>(root: &'a DeTable<'i>) -> Option<&'a DeTable<'i>> {
    match root.get("serve").map(toml::Spanned::get_ref) {
        Some(DeValue::Table(table)) => Some(table),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Config;

    fn parse(text: &str) -> Result<Config, super::ConfigError> {
        Config::parse(text, Path::new("agent.toml"))
    }

    #[test]
    fn the_section_reads_every_public_name() {
        let config = parse(
            "[serve]\nlisten = \"0.0.0.0:9000\"\npublic_url = \"https://a.example\"\n\
             max_sessions = 3\ndrain_timeout = 2.5\ntoken_env = \"T\"\n\
             twilio_auth_token_env = \"TW\"\nopenai_webhook_secret_env = \"WH\"\ndtmf_as_text = true\n",
        )
        .unwrap();
        let serve = &config.serve;
        assert_eq!(serve.listen_addr(), "0.0.0.0:9000");
        assert_eq!(serve.public_url.as_deref(), Some("https://a.example"));
        assert_eq!(serve.max_sessions(), 3);
        assert_eq!(serve.drain_timeout().as_millis(), 2500);
        assert_eq!(serve.token_env.as_deref(), Some("T"));
        assert_eq!(serve.twilio_auth_token_env.as_deref(), Some("TW"));
        assert_eq!(serve.openai_webhook_secret_env.as_deref(), Some("WH"));
        assert_eq!(serve.dtmf_as_text, Some(true));
        let defaults = parse("").unwrap().serve;
        assert_eq!(defaults.listen_addr(), "127.0.0.1:8080");
        assert_eq!(defaults.max_sessions(), 100);
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let e = parse("[serve]\nlisten = \"8080\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "agent.toml:2:10: `serve.listen`: \"8080\" is not an address: give IP:PORT, e.g. \
             \"0.0.0.0:8080\""
        );
        let e = parse("[serve]\nmax_sessions = 0\n").unwrap_err();
        assert!(e.to_string().contains("give 1 or more"), "{e}");
        let e = parse("[serve]\npublic_url = \"ftp://x\"\n").unwrap_err();
        assert!(e.to_string().contains("`serve.public_url`"), "{e}");
        let e = parse("[serve]\ntoken_env = \"s3cr3t-value!\"\n").unwrap_err();
        assert!(!e.render().contains("s3cr3t-value!"), "{}", e.render());
        let e = parse("[serve]\nmax_session = 4\n").unwrap_err();
        assert!(e.to_string().contains("did you mean `max_sessions`"), "{e}");
    }
}
