//! `POST /openai/webhook`: OpenAI's call webhook. Verified before it is read; on
//! `realtime.call.incoming` the call is accepted with agent.toml's session (or rejected at
//! `max_sessions`), then a sideband WebSocket runs the agent loop and tools for it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::control::{CallControl, api_base};
use super::signature;
use super::tools::with_call_tools;
use crate::agent::ReconnectPolicy;
use crate::protocol::{Dialect, SessionKind, ToolDefinition};
use crate::serve::metrics::{Channel, ErrorKind};
use crate::serve::session::{self, CallInfo};
use crate::serve::state::State;
use crate::transport::resolve_url;

/// The parts of a webhook event this server reads.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: EventData,
}

#[derive(Debug, Default, Deserialize)]
struct EventData {
    #[serde(default)]
    call_id: String,
}

fn refused(state: &State, why: &str) -> Response {
    state.error(ErrorKind::WebhookRefused);
    tracing::warn!(why, "openai webhook refused");
    (StatusCode::FORBIDDEN, "forbidden\n").into_response()
}

/// `POST /openai/webhook`.
pub(crate) async fn webhook(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = &state.options.webhook_secret else {
        return refused(
            &state,
            "openai_webhook_secret_env must be set to take SIP calls",
        );
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if let Err(refusal) = signature::verify(
        secret.expose(),
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        &body,
        now,
    ) {
        return refused(&state, &refusal.to_string());
    }
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a webhook event\n").into_response();
    };
    if event.kind != "realtime.call.incoming" {
        return (StatusCode::OK, "ignored\n").into_response();
    }
    let call_id = event.data.call_id;
    if call_id.is_empty() {
        return (StatusCode::BAD_REQUEST, "no data.call_id\n").into_response();
    }
    incoming(state, call_id).await
}

async fn incoming(state: Arc<State>, call_id: String) -> Response {
    let config = &state.options.config;
    let control = CallControl {
        http: state.http.clone(),
        base: api_base(state.options.api_base.as_deref()),
        key: config.api_key(),
        call_id: call_id.clone(),
    };
    let Some(slot) = state.slots.try_acquire(Channel::Sip) else {
        state.error(ErrorKind::AtCapacity);
        tracing::warn!(call_id = %call_id, "call rejected: at max_sessions or draining");
        // 486 Busy Here: the caller's phone shows a busy line.
        if let Err(error) = control.post("reject", &json!({"status_code": 486})).await {
            state.error(ErrorKind::Provider);
            tracing::warn!(call_id = %call_id, %error, "the reject failed");
        }
        return (StatusCode::OK, "rejected\n").into_response();
    };
    let tools = match config.tool_registry_with(&state.options.rust_tools) {
        Ok(tools) => with_call_tools(tools, control.clone()),
        Err(error) => {
            tracing::error!(call_id = %call_id, %error, "the tools could not be built");
            return (StatusCode::INTERNAL_SERVER_ERROR, "tools unavailable\n").into_response();
        }
    };
    // The accept carries the whole session, as a GA session.update would.
    let mut session_config = config.session();
    session_config.kind = Some(SessionKind::Realtime);
    session_config.model = Some(config.model().to_owned());
    // The hosted MCP servers too: the API lists and calls their tools from the first word.
    let hosted = config
        .hosted_mcp
        .iter()
        .map(|server| server.resolve().map(ToolDefinition::Mcp))
        .collect::<Result<Vec<_>, _>>();
    let hosted = match hosted {
        Ok(hosted) => hosted,
        Err(error) => {
            tracing::error!(call_id = %call_id, %error, "a hosted MCP server cannot be offered");
            return (StatusCode::INTERNAL_SERVER_ERROR, "tools unavailable\n").into_response();
        }
    };
    session_config.tools = Some(tools.definitions().into_iter().chain(hosted).collect());
    session_config.tool_choice = Some(tools.tool_choice().clone());

    // The sideband socket: the same Realtime URL, naming the call instead of a model.
    let sideband = match url::Url::parse(&resolve_url(config.agent.url.as_deref())) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .clear()
                .append_pair("call_id", &call_id);
            url.to_string()
        }
        Err(error) => {
            tracing::error!(%error, "the Realtime URL is invalid");
            return (StatusCode::INTERNAL_SERVER_ERROR, "bad realtime url\n").into_response();
        }
    };
    let agent = session::builder(&state)
        .map_err(|e| e.to_string())
        .and_then(|builder| {
            builder
                .url(sideband)
                .tools(tools)
                // The call's audio format is the SIP leg's; only the rest is ours to set.
                .session(crate::protocol::SessionConfig {
                    input_audio_format: None,
                    output_audio_format: None,
                    ..config.session()
                })
                // A call that ended on the phone does not come back.
                .reconnect(ReconnectPolicy::never())
                .build()
                .map_err(|e| e.to_string())
        });
    let agent = match agent {
        Ok(agent) => agent,
        Err(error) => {
            tracing::error!(call_id = %call_id, %error, "the agent could not be built");
            return (StatusCode::INTERNAL_SERVER_ERROR, "agent unavailable\n").into_response();
        }
    };
    // Accepted only once the agent that will run the call exists.
    if let Err(error) = control
        .post("accept", &session_config.to_wire(Dialect::Ga))
        .await
    {
        state.error(ErrorKind::Provider);
        tracing::warn!(call_id = %call_id, %error, "the accept failed");
        return (StatusCode::BAD_GATEWAY, "the call could not be accepted\n").into_response();
    }
    tracing::info!(call_id = %call_id, "call accepted; attaching the sideband socket");
    let call = CallInfo {
        id: call_id,
        channel: Channel::Sip,
    };
    tokio::spawn(session::run(state.clone(), agent, call, slot));
    (StatusCode::OK, "accepted\n").into_response()
}
