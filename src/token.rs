//! Ephemeral client secrets for browser and mobile clients.
//!
//! A server holding the real API key mints a short-lived secret (`ek_…`) and hands it to a
//! client that connects to the Realtime API directly. GA: `POST /v1/realtime/client_secrets`;
//! beta: `POST /v1/realtime/sessions`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::protocol::{Dialect, SessionConfig, SessionKind};
use crate::secret::ApiKey;
use crate::transport::AuthStyle;

/// The REST API used when neither a setting nor `OPENAI_BASE_URL` names one.
pub const DEFAULT_API_BASE: &str = "https://api.openai.com/v1";

/// The environment variable that overrides the REST base URL (as in OpenAI's own SDKs).
pub const API_BASE_ENV_VAR: &str = "OPENAI_BASE_URL";

/// What to mint.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// The real API key (stays on the server).
    pub api_key: ApiKey,
    /// How the key is sent (`Authorization: Bearer`, or `api-key` for Azure).
    pub auth_style: AuthStyle,
    /// The REST base URL; `None` uses `OPENAI_BASE_URL`, else [`DEFAULT_API_BASE`].
    pub api_base: Option<String>,
    /// GA (`/realtime/client_secrets`) or beta (`/realtime/sessions`).
    pub dialect: Dialect,
    /// The model the secret's sessions use.
    pub model: String,
    /// The session configuration attached to the secret.
    pub session: SessionConfig,
    /// How long the secret is valid (the API allows 10 s to 2 h; GA default 10 min).
    pub expires_after: Option<Duration>,
    /// How long the request may take.
    pub timeout: Duration,
}

impl TokenOptions {
    /// Options for `model` with the API's defaults.
    pub fn new(api_key: ApiKey, model: impl Into<String>) -> Self {
        TokenOptions {
            api_key,
            auth_style: AuthStyle::Bearer,
            api_base: None,
            dialect: Dialect::Ga,
            model: model.into(),
            session: SessionConfig::default(),
            expires_after: None,
            timeout: Duration::from_secs(15),
        }
    }
}

/// A minted secret.
#[derive(Debug, Clone)]
pub struct ClientSecret {
    /// The secret itself (`ek_…`), for the client's `Authorization: Bearer`.
    pub value: ApiKey,
    /// When it expires, as a Unix time, if the server said.
    pub expires_at: Option<i64>,
    /// The effective session configuration the server reported.
    pub session: Value,
}

/// Why a secret could not be minted. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The server answered with an error status. 401/403: fix the key; 429 and 5xx: retry later.
    #[error("the API answered HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The server's explanation (key scrubbed).
        message: String,
    },
    /// The request did not reach the server or timed out. Retrying may help.
    #[error("could not reach {url}: {reason}")]
    Network {
        /// The endpoint.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The answer was not the expected JSON. Retrying does not help.
    #[error("unexpected answer from the API: {0}")]
    InvalidResponse(String),
}

/// The endpoint for `dialect` under `api_base`.
pub fn endpoint(api_base: Option<&str>, dialect: Dialect) -> String {
    let base = api_base
        .map(str::to_owned)
        .filter(|b| !b.trim().is_empty())
        .or_else(|| {
            std::env::var(API_BASE_ENV_VAR)
                .ok()
                .filter(|b| !b.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
    let base = base.trim_end_matches('/');
    match dialect {
        Dialect::Ga => format!("{base}/realtime/client_secrets"),
        Dialect::Beta => format!("{base}/realtime/sessions"),
    }
}

/// The request body for `options`.
pub fn request_body(options: &TokenOptions) -> Value {
    let mut session = options.session.clone();
    session.model = Some(options.model.clone());
    let seconds = options.expires_after.map(|d| d.as_secs());
    match options.dialect {
        Dialect::Ga => {
            session.kind.get_or_insert(SessionKind::Realtime);
            let mut body = json!({ "session": session.to_wire(Dialect::Ga) });
            if let Some(seconds) = seconds {
                body["expires_after"] = json!({"anchor": "created_at", "seconds": seconds});
            }
            body
        }
        Dialect::Beta => {
            let mut body = session.to_wire(Dialect::Beta);
            if let Some(seconds) = seconds {
                body["client_secret"] =
                    json!({"expires_after": {"anchor": "created_at", "seconds": seconds}});
            }
            body
        }
    }
}

/// Mints a client secret.
pub async fn mint_client_secret(options: &TokenOptions) -> Result<ClientSecret, TokenError> {
    let url = endpoint(options.api_base.as_deref(), options.dialect);
    let scrub = |text: String| options.api_key.scrub(&text);
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured((*crate::transport::tls::client_config()).clone())
        .timeout(options.timeout)
        .user_agent(concat!("realtime-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TokenError::Network {
            url: url.clone(),
            reason: scrub(e.to_string()),
        })?;
    let request = client.post(&url).json(&request_body(options));
    let request = match options.auth_style {
        AuthStyle::Bearer => request.bearer_auth(options.api_key.expose()),
        AuthStyle::AzureApiKey => request.header("api-key", options.api_key.expose()),
    };
    let response = request.send().await.map_err(|e| TokenError::Network {
        url: url.clone(),
        // reqwest errors can carry the URL but never the headers; scrub anyway.
        reason: scrub(e.without_url().to_string()),
    })?;
    let status = response.status();
    let text = response.text().await.map_err(|e| TokenError::Network {
        url: url.clone(),
        reason: scrub(e.to_string()),
    })?;
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or(text);
        return Err(TokenError::Http {
            status: status.as_u16(),
            message: scrub(message),
        });
    }
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| TokenError::InvalidResponse(format!("not JSON: {e}")))?;
    // GA: {value, expires_at, session}; beta: the session with client_secret {value, expires_at}.
    let (secret, session) = match options.dialect {
        Dialect::Ga => (&body, body.get("session").cloned().unwrap_or(Value::Null)),
        Dialect::Beta => (
            body.get("client_secret").unwrap_or(&Value::Null),
            body.clone(),
        ),
    };
    let value = secret
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| TokenError::InvalidResponse("no secret `value` in the answer".into()))?;
    Ok(ClientSecret {
        value: ApiKey::new(value),
        expires_at: secret.get("expires_at").and_then(Value::as_i64),
        session,
    })
}
