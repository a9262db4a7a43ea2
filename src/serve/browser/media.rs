//! `/browser/media`: the page's WebSocket. Binary frames are PCM16 24 kHz both ways; text
//! frames carry the page's playback reports in and the conversation's events out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::sync::mpsc;

use super::sink::{BrowserSink, PagePlayback, ToPage};
use crate::agent::{AgentEvent, AgentEvents};
use crate::audio::{AudioError, ChannelSource};
use crate::protocol::AudioFormat;
use crate::serve::access;
use crate::serve::metrics::{Channel, ErrorKind};
use crate::serve::session::{self, CallInfo};
use crate::serve::state::State;

/// Microphone frames (20 ms) that may wait for the session: 2 seconds.
const INPUT_QUEUE: usize = 100;

/// Whether the upgrade comes from a page of this server (no cross-site WebSocket).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser: the token or loopback check decides alone.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    host.is_some() && origin_host == host
}

/// Read buffer of the socket. The page sends 24 kHz PCM16 in chunks of a few kilobytes and
/// small JSON messages; tungstenite zero-fills the free part of this buffer on every read, so
/// the default (128 KiB) would cost most of a session's memory and a large memset per chunk.
/// Larger messages still arrive whole, over several reads.
const READ_BUFFER: usize = 16 * 1024;
/// Queued outgoing bytes past which a write goes out before the flush.
const WRITE_BUFFER: usize = 16 * 1024;

/// `GET /browser/media` (upgraded to a WebSocket).
pub(crate) async fn media(
    Shared(state): Shared<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !access::token_or_loopback(&state, access::cookie(&headers), peer) || !same_origin(&headers)
    {
        state.error(ErrorKind::SocketRefused);
        tracing::warn!(%peer, "browser socket refused: no valid token");
        return (StatusCode::UNAUTHORIZED, "a token is needed\n").into_response();
    }
    let Some(slot) = state.slots.try_acquire(Channel::Browser) else {
        state.error(ErrorKind::AtCapacity);
        return (StatusCode::SERVICE_UNAVAILABLE, "busy: try again later\n").into_response();
    };
    ws.max_message_size(1 << 20)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| run(state, socket, slot))
}

async fn run(state: Arc<State>, socket: WebSocket, slot: crate::serve::slots::Slot) {
    let id = format!(
        "web-{}",
        &crate::serve::tokens::random_token(&ring::rand::SystemRandom::new())[..12]
    );
    let call = CallInfo {
        id,
        channel: Channel::Browser,
    };
    let format = AudioFormat::Pcm16;
    let (source, feeder) = ChannelSource::new(format, 20, INPUT_QUEUE).expect("valid parameters");
    let (out_tx, mut out_rx) = mpsc::unbounded_channel();
    let playback = Arc::new(Mutex::new(PagePlayback::default()));
    let sink = BrowserSink::new(out_tx.clone(), playback.clone());
    let Some(agent) = session::build_with_audio(&state, &call, format, source, sink) else {
        return;
    };
    let handle = agent.handle();
    let events = handle.subscribe(1024);
    let forward = tokio::spawn(forward(events, out_tx));
    let (mut writer, mut reader) = socket.split();
    let writer_task = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let frame = match message {
                ToPage::Audio(audio) => Message::Binary(audio.into()),
                ToPage::Json(text) => Message::Text(text.into()),
            };
            if writer.send(frame).await.is_err() {
                return;
            }
        }
        let _ = writer.send(Message::Close(None)).await;
    });
    let mut run = tokio::spawn(session::run(state.clone(), agent, call.clone(), slot));
    loop {
        tokio::select! {
            _ = &mut run => break,
            message = reader.next() => {
                match message {
                    Some(Ok(Message::Binary(audio))) => match feeder.try_push_encoded(&audio) {
                        Ok(()) => {}
                        Err(AudioError::QueueFull) => state.metrics.frames_dropped(1),
                        Err(_) => break,
                    },
                    Some(Ok(Message::Text(text))) => {
                        let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                        if report["type"] == "played" {
                            let epoch = report["epoch"].as_u64().unwrap_or(0);
                            let samples = report["samples"].as_u64().unwrap_or(0);
                            playback.lock().expect("playback lock").report(epoch, samples);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
        }
    }
    handle.shutdown();
    drop(feeder);
    if !run.is_finished() {
        let _ = run.await;
    }
    let _ = forward.await;
    let _ = writer_task.await;
}

/// The conversation as the page shows it: transcripts of both sides, tool calls and results.
async fn forward(mut events: AgentEvents, out: mpsc::UnboundedSender<ToPage>) {
    while let Some(event) = events.recv().await {
        let message = match event {
            AgentEvent::State(state) => json!({"type": "state", "state": state.to_string()}),
            AgentEvent::UserTranscriptDelta { item_id, delta } => {
                json!({"type": "user_delta", "item_id": item_id, "delta": delta})
            }
            AgentEvent::UserTranscript { item_id, text } => {
                json!({"type": "user", "item_id": item_id, "text": text})
            }
            AgentEvent::AssistantDelta { item_id, delta, .. } => {
                json!({"type": "assistant_delta", "item_id": item_id, "delta": delta})
            }
            AgentEvent::AssistantMessage { item_id, text, .. } => {
                json!({"type": "assistant", "item_id": item_id, "text": text})
            }
            AgentEvent::ToolStarted {
                call_id,
                name,
                arguments,
            } => {
                json!({"type": "tool_started", "call_id": call_id, "name": name, "arguments": arguments})
            }
            AgentEvent::ToolFinished {
                call_id,
                name,
                arguments,
                output,
                ..
            } => json!({
                "type": "tool_finished", "call_id": call_id, "name": name,
                "arguments": arguments, "output": output
            }),
            AgentEvent::Interrupted {
                item_id,
                heard_text,
                ..
            } => {
                json!({"type": "interrupted", "item_id": item_id, "heard_text": heard_text})
            }
            AgentEvent::ServerError(error) => {
                json!({"type": "error", "message": error.to_string()})
            }
            _ => continue,
        };
        if out.send(ToPage::Json(message.to_string())).is_err() {
            return;
        }
    }
}
