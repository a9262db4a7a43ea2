//! One fake-server connection: the Realtime protocol, answered the way the API answers it.
//!
//! `client` answers client events, `response` plans and streams responses; this file holds the
//! connection itself: its loop, sending, and the commands a test sends it.

mod client;
mod hosted;
mod response;
mod vad;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::script::{Output, Reply};
use super::server::{ConnState, Shared};
use super::synth;
use crate::protocol::{
    ApiError, AudioDone, BufferCommitted, ClientEvent, ContentDelta, ContentKind, ContentPart,
    ContentPartEvent, Dialect, EmptyEvent, ErrorEvent, FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone, FunctionCallItem, InputTokenDetails, Item, ItemDeleted, ItemEvent,
    ItemStatus, ItemTruncated, MessageItem, OutputItemEvent, OutputTokenDetails, RateLimit,
    RateLimitsUpdated, Response, ResponseEvent, ResponseStatus, Role, ServerEvent, SessionConfig,
    SessionEvent, SpeechStarted, SpeechStopped, StatusDetails, TextDone, TranscriptDone, Usage,
};

/// Something a test (through [`super::FakeServer`]) asks a connection to do.
#[derive(Debug)]
pub(crate) enum Command {
    Push(Box<ServerEvent>),
    Raw(String),
    SpeechStarted,
    SpeechStopped,
    StartResponse(Reply),
    Close(u16, String),
    Drop,
    Binary(Vec<u8>),
    Freeze,
}

/// What makes a response out of band (`conversation: "none"`): its output stays out of the
/// conversation, and its `metadata` is echoed.
#[derive(Debug, Clone)]
pub(super) struct OutOfBand {
    metadata: Option<Value>,
}

impl OutOfBand {
    pub(super) fn of(options: &crate::protocol::ResponseOptions) -> Option<OutOfBand> {
        (options.conversation.as_deref() == Some("none")).then(|| OutOfBand {
            metadata: options.metadata.clone(),
        })
    }
}

/// A response being streamed.
///
/// One at a time: the fake refuses a `response.create` while any response streams, also while
/// an out-of-band one does (the API would run that one in parallel).
struct Active {
    id: String,
    out_of_band: Option<OutOfBand>,
    planned: VecDeque<Planned>,
    output: Vec<Item>,
    pace: Option<Duration>,
    next_at: Instant,
    sent_events: usize,
    drop_after: Option<usize>,
    fail: bool,
    audio_ms: u64,
    text_chars: usize,
}

struct Planned {
    event: ServerEvent,
    /// Deltas are skipped when the response is cancelled; done events are still sent.
    delta: bool,
    /// Wait this long before sending it (taken when the wait starts).
    wait: Option<Duration>,
}

pub(crate) struct Connection {
    id: usize,
    dialect: Dialect,
    ws: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    state: Arc<std::sync::Mutex<ConnState>>,
    commands: mpsc::UnboundedReceiver<Command>,
    active: Option<Active>,
    counter: u64,
    /// Audio bytes of each assistant item as the server holds it (cut by truncation).
    audio_bytes_by_item: HashMap<String, usize>,
    /// The simulated server VAD, created on first use with the session's parameters.
    detector: Option<vad::SpeechDetector>,
    /// Hosted MCP listings and approval requests.
    hosted: hosted::HostedState,
}

enum Flow {
    Continue,
    Stop,
}

impl Connection {
    pub(crate) fn new(
        id: usize,
        dialect: Dialect,
        ws: WebSocketStream<TcpStream>,
        shared: Arc<Shared>,
        state: Arc<std::sync::Mutex<ConnState>>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        Connection {
            id,
            dialect,
            ws,
            shared,
            state,
            commands,
            active: None,
            counter: 0,
            audio_bytes_by_item: HashMap::new(),
            detector: None,
            hosted: hosted::HostedState::default(),
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{:03}{:05}", self.id, self.counter)
    }

    pub(crate) async fn run(mut self) {
        let session = self.state.lock().unwrap().session.clone();
        let created = ServerEvent::SessionCreated(SessionEvent {
            session: Box::new(session),
            ..Default::default()
        });
        if self.send(vec![created]).await.is_err() {
            return self.finish();
        }
        if self.dialect == Dialect::Beta {
            let conversation =
                ServerEvent::ConversationCreated(crate::protocol::ConversationCreated {
                    conversation: json!({"id": "conv_fake", "object": "realtime.conversation"}),
                    ..Default::default()
                });
            if self.send(vec![conversation]).await.is_err() {
                return self.finish();
            }
        }
        loop {
            let due = self.active.as_ref().map(|a| a.next_at);
            let flow = tokio::select! {
                frame = self.ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.on_frame(&text).await,
                    Some(Ok(Message::Close(_))) => {
                        // Complete the close handshake: tungstenite has queued the reply, and
                        // closing the sink writes it (a read would too, but there is none).
                        let _ = SinkExt::close(&mut self.ws).await;
                        Flow::Stop
                    }
                    None | Some(Err(_)) => Flow::Stop,
                    Some(Ok(Message::Binary(_))) => {
                        self.send_error(ApiError::new("invalid_request_error", "invalid_event", "Binary frames are not supported."), None).await
                    }
                    Some(Ok(_)) => Flow::Continue,
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => Flow::Stop,
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.stream_due().await
                }
            };
            if matches!(flow, Flow::Stop) {
                break;
            }
        }
        self.finish();
    }

    fn finish(&self) {
        self.state.lock().unwrap().open = false;
        self.shared.changed.notify_waiters();
    }

    /// Sends events, recording them. Fails when the socket is gone.
    async fn send(&mut self, events: Vec<ServerEvent>) -> Result<(), ()> {
        for mut event in events {
            if event.event_id().is_none() {
                let id = self.next_id("event");
                event.set_event_id(id);
            }
            let frame = event.to_json(self.dialect);
            self.ws.feed(Message::text(frame)).await.map_err(|_| ())?;
            let wire_type = match event.known_type() {
                Some(ga) => crate::protocol::server_event_name(ga, self.dialect).to_owned(),
                None => event.event_type().to_owned(),
            };
            self.shared
                .record_sent(&self.state, self.id, &wire_type, event);
        }
        self.ws.flush().await.map_err(|_| ())
    }

    async fn send_error(&mut self, mut error: ApiError, event_id: Option<String>) -> Flow {
        error.event_id = event_id;
        self.state.lock().unwrap().errors_sent.push(error.clone());
        let event = ServerEvent::Error(ErrorEvent {
            error,
            ..Default::default()
        });
        self.flow(vec![event]).await
    }

    async fn flow(&mut self, events: Vec<ServerEvent>) -> Flow {
        match self.send(events).await {
            Ok(()) => Flow::Continue,
            Err(()) => Flow::Stop,
        }
    }

    async fn on_command(&mut self, command: Command) -> Flow {
        match command {
            Command::Push(event) => self.flow(vec![*event]).await,
            Command::Raw(frame) => {
                if self.ws.send(Message::text(frame)).await.is_err() {
                    return Flow::Stop;
                }
                self.shared.record_raw_sent(&self.state, self.id);
                Flow::Continue
            }
            Command::SpeechStarted => {
                let (audio_start_ms, item_id) = (self.buffered_ms(), self.next_id("item"));
                let flow = self
                    .flow(vec![ServerEvent::SpeechStarted(SpeechStarted {
                        audio_start_ms,
                        item_id,
                        ..Default::default()
                    })])
                    .await;
                if matches!(flow, Flow::Stop) {
                    return flow;
                }
                let interrupts = self
                    .turn_detection()
                    .is_some_and(|t| t.interrupts_responses());
                if interrupts && self.active.is_some() {
                    return self.cancel("turn_detected").await;
                }
                Flow::Continue
            }
            Command::SpeechStopped => {
                let audio_end_ms = self.buffered_ms();
                let item_id = self.next_id("item");
                let flow = self
                    .flow(vec![ServerEvent::SpeechStopped(SpeechStopped {
                        audio_end_ms,
                        item_id,
                        ..Default::default()
                    })])
                    .await;
                if matches!(flow, Flow::Stop) {
                    return flow;
                }
                let Some(detection) = self.turn_detection() else {
                    return Flow::Continue;
                };
                let ms = {
                    let format = self.input_format();
                    let mut state = self.state.lock().unwrap();
                    format.ms_for_bytes(std::mem::take(&mut state.input_buffer).len())
                };
                let (flow, ms) = self.commit_turn(ms).await;
                if matches!(flow, Flow::Stop)
                    || !detection.creates_responses()
                    || self.active.is_some()
                {
                    return flow;
                }
                let reply = self.shared.next_reply(&self.state, true, ms, None);
                self.start_response(reply).await
            }
            Command::StartResponse(reply) => {
                if self.active.is_some() {
                    return Flow::Continue;
                }
                self.start_response(reply).await
            }
            Command::Close(code, reason) => {
                let _ = self
                    .ws
                    .send(Message::Close(Some(CloseFrame {
                        code: code.into(),
                        reason: reason.into(),
                    })))
                    .await;
                // Wait briefly for the client's close reply, then end.
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Some(Ok(_)) = self.ws.next().await {}
                })
                .await;
                Flow::Stop
            }
            Command::Binary(bytes) => {
                if self.ws.send(Message::binary(bytes)).await.is_err() {
                    return Flow::Stop;
                }
                self.shared.record_raw_sent(&self.state, self.id);
                Flow::Continue
            }
            Command::Freeze => {
                // Neither read nor write (so no pongs either) until told to drop: a peer that
                // vanished without closing the connection.
                loop {
                    match self.commands.recv().await {
                        Some(Command::Drop) | None => {
                            let _ = self.ws.get_ref().set_zero_linger();
                            return Flow::Stop;
                        }
                        Some(_) => continue,
                    }
                }
            }
            Command::Drop => {
                // Reset the TCP connection: no close frame, no FIN handshake.
                let _ = self.ws.get_ref().set_zero_linger();
                Flow::Stop
            }
        }
    }
}
