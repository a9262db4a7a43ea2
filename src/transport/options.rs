//! Where and how to connect: URL, model, dialect, authentication.

use std::time::Duration;

use url::Url;

use crate::protocol::Dialect;
use crate::secret::ApiKey;

/// The OpenAI Realtime endpoint, used when neither a setting nor `OPENAI_REALTIME_URL` names one.
pub const DEFAULT_URL: &str = "wss://api.openai.com/v1/realtime";

/// The environment variable that overrides the default URL (an explicit setting wins over it).
pub const URL_ENV_VAR: &str = "OPENAI_REALTIME_URL";

/// The model used when none is given.
pub const DEFAULT_MODEL: &str = "gpt-realtime";

/// How the key is presented in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>` (OpenAI, ephemeral keys, Azure with an Entra ID token).
    #[default]
    Bearer,
    /// `api-key: <key>` (Azure OpenAI keys).
    AzureApiKey,
}

/// Everything needed to open a Realtime session.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// An explicit URL; wins over `OPENAI_REALTIME_URL` and the default.
    pub url: Option<String>,
    /// The model (or Azure deployment), sent as the `model` query parameter unless the URL
    /// already names a target (`model`, `deployment`, `call_id` or `intent`).
    pub model: String,
    /// The wire dialect; beta adds `OpenAI-Beta: realtime=v1`.
    pub dialect: Dialect,
    /// The key; `None` connects without authentication (the fake server accepts that).
    pub api_key: Option<ApiKey>,
    /// How the key is sent. [`ConnectOptions::resolved_auth_style`] picks `api-key` for Azure
    /// hosts when this is left at `Bearer`.
    pub auth_style: AuthStyle,
    /// Extra handshake headers (e.g. `OpenAI-Safety-Identifier`). Do not put secrets in logs.
    pub headers: Vec<(String, String)>,
    /// How long the TCP, TLS and WebSocket handshake may take.
    pub connect_timeout: Duration,
    /// Send a WebSocket ping this often and treat the connection as dead when no pong (or any
    /// other frame) arrives within the same period again. `None` disables it.
    pub keepalive: Option<Duration>,
    /// The largest frame accepted from the server.
    pub max_frame_bytes: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            url: None,
            model: DEFAULT_MODEL.to_owned(),
            dialect: Dialect::Ga,
            api_key: None,
            auth_style: AuthStyle::Bearer,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(15),
            keepalive: Some(Duration::from_secs(20)),
            max_frame_bytes: 32 << 20,
        }
    }
}

impl ConnectOptions {
    /// Options for `model` with everything else default.
    pub fn new(model: impl Into<String>) -> Self {
        ConnectOptions {
            model: model.into(),
            ..ConnectOptions::default()
        }
    }

    /// The Azure OpenAI shape for `resource` and `deployment`: the GA form
    /// `wss://<resource>.openai.azure.com/openai/v1/realtime?model=<deployment>`, or for the beta
    /// dialect the preview form `…/openai/realtime?api-version=2025-04-01-preview&deployment=…`,
    /// with the `api-key` header.
    pub fn azure(resource: &str, deployment: &str, dialect: Dialect, key: ApiKey) -> Self {
        let url = match dialect {
            Dialect::Ga => format!("wss://{resource}.openai.azure.com/openai/v1/realtime"),
            Dialect::Beta => format!(
                "wss://{resource}.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment={deployment}"
            ),
        };
        ConnectOptions {
            url: Some(url),
            model: deployment.to_owned(),
            dialect,
            api_key: Some(key),
            auth_style: AuthStyle::AzureApiKey,
            ..ConnectOptions::default()
        }
    }

    /// The base URL by the crate-wide rule: an explicit setting, else `OPENAI_REALTIME_URL`, else
    /// [`DEFAULT_URL`].
    pub fn base_url(&self) -> String {
        resolve_url(self.url.as_deref())
    }

    /// The URL the handshake goes to: the base URL plus `model=<model>` unless it already names
    /// a target.
    pub fn request_url(&self) -> Result<Url, super::ConnectError> {
        let base = self.base_url();
        let mut url = Url::parse(&base).map_err(|e| super::ConnectError::InvalidUrl {
            url: base.clone(),
            reason: e.to_string(),
        })?;
        match url.scheme() {
            "ws" | "wss" => {}
            "http" => url.set_scheme("ws").expect("http to ws is a valid change"),
            "https" => url
                .set_scheme("wss")
                .expect("https to wss is a valid change"),
            other => {
                return Err(super::ConnectError::InvalidUrl {
                    url: base,
                    reason: format!("the scheme must be ws or wss, not `{other}`"),
                });
            }
        }
        let names_target = url
            .query_pairs()
            .any(|(k, _)| matches!(k.as_ref(), "model" | "deployment" | "call_id" | "intent"));
        if !names_target && !self.model.is_empty() {
            url.query_pairs_mut().append_pair("model", &self.model);
        }
        Ok(url)
    }

    /// The auth style in effect: `api-key` for `*.openai.azure.com` hosts unless set otherwise.
    pub fn resolved_auth_style(&self, url: &Url) -> AuthStyle {
        let azure_host = url
            .host_str()
            .is_some_and(|h| h.ends_with(".openai.azure.com") || h.ends_with(".azure.com"));
        match self.auth_style {
            AuthStyle::Bearer if azure_host && self.api_key.is_some() => AuthStyle::AzureApiKey,
            style => style,
        }
    }
}

/// The crate-wide URL rule: `explicit`, else the `OPENAI_REALTIME_URL` environment variable,
/// else [`DEFAULT_URL`]. Every binary and example uses it.
pub fn resolve_url(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .filter(|u| !u.trim().is_empty())
        .or_else(|| {
            std::env::var(URL_ENV_VAR)
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_added_unless_the_url_names_a_target() {
        let mut options = ConnectOptions::new("gpt-realtime");
        options.url = Some("ws://127.0.0.1:9/v1/realtime".into());
        assert_eq!(
            options.request_url().unwrap().as_str(),
            "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime"
        );
        options.url =
            Some("wss://x.openai.azure.com/openai/realtime?deployment=d&api-version=v".into());
        assert_eq!(
            options.request_url().unwrap().as_str(),
            "wss://x.openai.azure.com/openai/realtime?deployment=d&api-version=v"
        );
    }

    #[test]
    fn azure_hosts_use_the_api_key_header() {
        let options = ConnectOptions::azure("res", "dep", Dialect::Ga, ApiKey::new("k"));
        let url = options.request_url().unwrap();
        assert_eq!(
            url.as_str(),
            "wss://res.openai.azure.com/openai/v1/realtime?model=dep"
        );
        assert_eq!(options.resolved_auth_style(&url), AuthStyle::AzureApiKey);
    }

    #[test]
    fn bad_schemes_are_errors() {
        let mut options = ConnectOptions::new("m");
        options.url = Some("ftp://example.com".into());
        let err = options.request_url().unwrap_err().to_string();
        assert!(err.contains("ws or wss"), "{err}");
    }
}
