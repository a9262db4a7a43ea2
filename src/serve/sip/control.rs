//! The REST calls that control a SIP call: accept, reject, refer (transfer), hangup.

use serde_json::Value;

use crate::ApiKey;
use crate::token::{API_BASE_ENV_VAR, DEFAULT_API_BASE};

/// One SIP call's control endpoints (`{base}/realtime/calls/{call_id}/…`).
#[derive(Clone)]
pub(crate) struct CallControl {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) key: Option<ApiKey>,
    pub(crate) call_id: String,
}

/// The REST base: the setting, else `OPENAI_BASE_URL`, else the OpenAI API.
pub(crate) fn api_base(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| {
            std::env::var(API_BASE_ENV_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

impl CallControl {
    /// POSTs `body` to `…/calls/{call_id}/{action}`; an error says what the provider answered,
    /// never the key.
    pub(crate) async fn post(&self, action: &str, body: &Value) -> Result<(), String> {
        let call =
            url::form_urlencoded::byte_serialize(self.call_id.as_bytes()).collect::<String>();
        let url = format!("{}/realtime/calls/{call}/{action}", self.base);
        let mut request = self.http.post(&url).json(body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let scrub = |text: String| match &self.key {
            Some(key) => key.scrub(&text),
            None => text,
        };
        let response = request
            .send()
            .await
            .map_err(|e| scrub(format!("{action}: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or(text);
        Err(scrub(format!(
            "{action}: HTTP {}: {message}",
            status.as_u16()
        )))
    }
}
