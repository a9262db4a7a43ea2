//! What a server runs with: agent.toml, its `[serve]` section, and the secrets from the
//! environment.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;

use super::ServeError;
use crate::config::Config;
use crate::tool::ToolRegistry;

/// A secret read from the environment (a token, an auth token, a webhook secret). Its `Debug`
/// never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    /// The bytes, for computing an HMAC or comparing a token.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Everything a [`Server`](super::Server) runs with. [`ServeOptions::from_config`] fills it
/// from agent.toml and the environment; tests and embedding apps may set fields directly.
#[derive(Debug)]
pub struct ServeOptions {
    /// agent.toml: the session, tools and connection every call uses.
    pub config: Config,
    /// Rust tools added after the declared ones.
    pub rust_tools: ToolRegistry,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The public `https://` base address (no trailing slash), if configured.
    pub public_url: Option<String>,
    /// Sessions at once over every channel.
    pub max_sessions: usize,
    /// How long live calls may go on after shutdown starts.
    pub drain_timeout: Duration,
    /// The browser access token (`token_env`).
    pub browser_token: Option<Secret>,
    /// Twilio's auth token (`twilio_auth_token_env`).
    pub twilio_auth_token: Option<Secret>,
    /// The OpenAI webhook secret, already base64-decoded (`openai_webhook_secret_env`).
    pub webhook_secret: Option<Secret>,
    /// Whether keypad digits are sent to the model as text.
    pub dtmf_as_text: bool,
    /// The REST API base for SIP calls (accept, reject, refer, hangup); `None` uses
    /// `OPENAI_BASE_URL`, else `https://api.openai.com/v1`.
    pub api_base: Option<String>,
}

impl ServeOptions {
    /// Options from `config`'s `[serve]` section, with the secrets its `*_env` keys name read
    /// from the environment. `listen` overrides the section's address (`--listen`).
    pub fn from_config(config: Config, listen: Option<&str>) -> Result<ServeOptions, ServeError> {
        let serve = config.serve.clone();
        let listen_text = listen.unwrap_or(serve.listen_addr());
        let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
            ServeError::Config(format!(
                "--listen {listen_text:?} is not an address: give IP:PORT, e.g. 127.0.0.1:8080"
            ))
        })?;
        let env = |name: &Option<String>| -> Option<Secret> {
            let name = name.as_deref()?;
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)
        };
        let webhook_secret = match (
            &serve.openai_webhook_secret_env,
            env(&serve.openai_webhook_secret_env),
        ) {
            (_, None) => None,
            (Some(name), Some(raw)) => {
                Some(decode_webhook_secret(raw.expose()).ok_or_else(|| {
                    ServeError::Config(format!(
                        "the webhook secret in {name} is not of the form whsec_<base64>: copy it \
                     whole from the project's webhook settings"
                    ))
                })?)
            }
            (None, Some(_)) => None,
        };
        Ok(ServeOptions {
            listen,
            public_url: serve
                .public_url
                .as_deref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            max_sessions: serve.max_sessions() as usize,
            drain_timeout: serve.drain_timeout(),
            browser_token: env(&serve.token_env),
            twilio_auth_token: env(&serve.twilio_auth_token_env),
            webhook_secret,
            dtmf_as_text: serve.dtmf_as_text.unwrap_or(false),
            api_base: None,
            rust_tools: ToolRegistry::new(),
            config,
        })
    }
}

/// The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`.
pub fn decode_webhook_secret(raw: &[u8]) -> Option<Secret> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    let encoded = text.strip_prefix("whsec_").unwrap_or(text);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
        .map(Secret::new)
}
