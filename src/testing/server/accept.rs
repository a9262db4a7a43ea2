//! Accepting connections: the handshake (with its faults), the dialect, a connection's task.

use super::*;

/// The read buffer of each connection (see `serve`).
const READ_BUFFER: usize = 8 * 1024;

/// What a new connection reports in `session.created`: the API's defaults.
pub(super) fn default_session() -> SessionConfig {
    use crate::protocol::{AudioFormat, Modality, ServerVad, TurnDetection, Voice};
    SessionConfig {
        model: Some("gpt-realtime".into()),
        instructions: Some("You are a helpful assistant.".into()),
        voice: Some(Voice::from("alloy")),
        output_modalities: Some(vec![Modality::Audio]),
        input_audio_format: Some(AudioFormat::Pcm16),
        output_audio_format: Some(AudioFormat::Pcm16),
        turn_detection: Some(Some(TurnDetection::ServerVad(ServerVad {
            threshold: Some(0.5),
            prefix_padding_ms: Some(300),
            silence_duration_ms: Some(200),
            create_response: Some(true),
            interrupt_response: Some(true),
            ..ServerVad::default()
        }))),
        input_transcription: Some(None),
        tools: Some(Vec::new()),
        tool_choice: Some(crate::protocol::ToolChoice::Auto),
        ..SessionConfig::default()
    }
}

pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let outcome = tokio::spawn(serve(tcp, shared.clone())).await;
            if let Err(err) = outcome
                && err.is_panic()
            {
                let payload = err.into_panic();
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                *shared.panic.lock().unwrap() = Some(message);
            }
        });
    }
}

async fn serve(tcp: tokio::net::TcpStream, shared: Arc<Shared>) {
    let fault = shared.faults.lock().unwrap().pop_front();
    let mut seen: Option<Handshake> = None;
    // The callback's signature is tungstenite's; its error type is what it is.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut handshake = Handshake {
            path: request
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            authorization: header("authorization"),
            api_key: header("api-key"),
            beta: header("openai-beta").is_some_and(|v| v.contains("realtime=v1")),
            status: 101,
        };
        let result = match &fault {
            None => Ok(response),
            Some(fault) => {
                handshake.status = fault.status;
                // Like some servers, a 401 quotes the key it was given: clients must not
                // repeat it (the tests check that they scrub it).
                let body = match (&handshake.authorization, fault.status) {
                    (Some(auth), 401) => {
                        let key = auth.trim_start_matches("Bearer ");
                        serde_json::json!({"error": {"message": format!("Incorrect API key provided: {key}."), "type": "invalid_request_error", "code": "invalid_api_key"}}).to_string()
                    }
                    _ => fault.body.clone(),
                };
                let mut error = ErrorResponse::new(Some(body));
                *error.status_mut() =
                    StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                error.headers_mut().insert(
                    "content-type",
                    "application/json".parse().expect("static header"),
                );
                if let Some(seconds) = fault.retry_after {
                    error
                        .headers_mut()
                        .insert("retry-after", seconds.to_string().parse().expect("digits"));
                }
                Err(error)
            }
        };
        seen = Some(handshake);
        result
    };
    // tungstenite zero-fills the free part of its read buffer before every read: with the
    // default 128 KiB that memset was a third of a tool round trip's instructions (server and
    // agent together). Client events are small; a large one takes a few reads.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER);
    let accepted =
        tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(config)).await;
    let Some(handshake) = seen else {
        return;
    };
    let beta = handshake.beta;
    shared.handshakes.lock().unwrap().push(handshake);
    shared.changed.notify_waiters();
    let Ok(ws) = accepted else {
        return;
    };
    let dialect = if beta { Dialect::Beta } else { Dialect::Ga };
    let (tx, rx) = mpsc::unbounded_channel();
    let mut session = shared.initial_session.clone();
    if dialect == Dialect::Ga {
        session.kind = Some(crate::protocol::SessionKind::Realtime);
    }
    session.extra.insert("id".into(), "sess_fake".into());
    session
        .extra
        .insert("object".into(), "realtime.session".into());
    let state = Arc::new(Mutex::new(ConnState {
        open: true,
        dialect,
        session,
        ..ConnState::default()
    }));
    let id = {
        let mut conns = shared.conns.lock().unwrap();
        conns.push(ConnSlot {
            state: state.clone(),
            commands: tx,
        });
        conns.len() - 1
    };
    shared.changed.notify_waiters();
    Connection::new(id, dialect, ws, shared, state, rx)
        .run()
        .await;
}
