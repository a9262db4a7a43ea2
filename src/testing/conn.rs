//! One fake-server connection: the Realtime protocol, answered the way the API answers it.

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
}

/// A response being streamed.
struct Active {
    id: String,
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
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Flow::Stop,
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
            let value = event.to_value(self.dialect);
            let frame = value.to_string();
            self.ws.feed(Message::text(frame)).await.map_err(|_| ())?;
            self.shared.record_sent(
                &self.state,
                self.id,
                value["type"].as_str().unwrap_or(""),
                event,
            );
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

    async fn on_frame(&mut self, text: &str) -> Flow {
        let decoded = ClientEvent::from_json(text);
        let event_type = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "?".into());
        self.shared.record_received(
            &self.state,
            self.id,
            &event_type,
            decoded.as_ref().ok(),
            text,
        );
        let event = match decoded {
            Ok(event) => event,
            Err(err) => {
                let event_id = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("event_id").and_then(Value::as_str).map(str::to_owned));
                let error = match err {
                    crate::protocol::DecodeError::MissingType => ApiError::new(
                        "invalid_request_error",
                        "invalid_event",
                        "The 'type' field is missing.",
                    ),
                    other => {
                        ApiError::new("invalid_request_error", "invalid_event", other.to_string())
                    }
                };
                return self.send_error(error, event_id).await;
            }
        };
        let event_id = event.event_id().map(str::to_owned);
        match event {
            ClientEvent::SessionUpdate(update) => {
                self.on_session_update(*update.session, event_id, text)
                    .await
            }
            ClientEvent::TranscriptionSessionUpdate(_) => {
                let session = self.state.lock().unwrap().session.clone();
                self.flow(vec![ServerEvent::TranscriptionSessionUpdated(
                    SessionEvent {
                        session: Box::new(session),
                        ..Default::default()
                    },
                )])
                .await
            }
            ClientEvent::InputAudioBufferAppend(append) => {
                match base64::engine::general_purpose::STANDARD.decode(append.audio.as_bytes()) {
                    Ok(bytes) => {
                        let mut state = self.state.lock().unwrap();
                        state.input_buffer.extend_from_slice(&bytes);
                        if self.shared.keep_input_audio {
                            state.input_audio.extend_from_slice(&bytes);
                        }
                        Flow::Continue
                    }
                    Err(_) => {
                        self.send_error(
                            ApiError::new(
                                "invalid_request_error",
                                "invalid_value",
                                "Invalid base64 audio.",
                            ),
                            event_id,
                        )
                        .await
                    }
                }
            }
            ClientEvent::InputAudioBufferCommit(_) => self.commit(event_id).await,
            ClientEvent::InputAudioBufferClear(_) => {
                self.state.lock().unwrap().input_buffer.clear();
                self.flow(vec![ServerEvent::InputAudioBufferCleared(
                    EmptyEvent::default(),
                )])
                .await
            }
            ClientEvent::ConversationItemCreate(create) => {
                self.on_item_create(create.item, create.previous_item_id, event_id)
                    .await
            }
            ClientEvent::ConversationItemRetrieve(r) => {
                let item = self.find_item(&r.item_id);
                match item {
                    Some(item) => {
                        self.flow(vec![ServerEvent::ConversationItemRetrieved(
                            crate::protocol::ItemRetrieved {
                                item,
                                ..Default::default()
                            },
                        )])
                        .await
                    }
                    None => self.no_such_item(&r.item_id, event_id).await,
                }
            }
            ClientEvent::ConversationItemTruncate(t) => {
                self.on_truncate(t.item_id, t.content_index, t.audio_end_ms, event_id)
                    .await
            }
            ClientEvent::ConversationItemDelete(d) => {
                let removed = {
                    let mut state = self.state.lock().unwrap();
                    let before = state.conversation.len();
                    state
                        .conversation
                        .retain(|i| i.id() != Some(d.item_id.as_str()));
                    before != state.conversation.len()
                };
                if removed {
                    self.flow(vec![ServerEvent::ConversationItemDeleted(ItemDeleted {
                        item_id: d.item_id,
                        ..Default::default()
                    })])
                    .await
                } else {
                    self.no_such_item(&d.item_id, event_id).await
                }
            }
            ClientEvent::ResponseCreate(_) => {
                if let Some(active) = &self.active {
                    let message = format!(
                        "Conversation already has an active response in progress: {}. Wait until the response is finished before creating a new one.",
                        active.id
                    );
                    return self
                        .send_error(
                            ApiError::new(
                                "invalid_request_error",
                                "conversation_already_has_active_response",
                                message,
                            ),
                            event_id,
                        )
                        .await;
                }
                let reply = self.shared.next_reply(&self.state, false, 0);
                self.start_response(reply).await
            }
            ClientEvent::ResponseCancel(_) => {
                if self.active.is_some() {
                    self.cancel("client_cancelled").await
                } else {
                    self.send_error(
                        ApiError::new(
                            "invalid_request_error",
                            "response_cancel_not_active",
                            "Cancellation failed: no active response found",
                        ),
                        event_id,
                    )
                    .await
                }
            }
            ClientEvent::OutputAudioBufferClear(_) => Flow::Continue,
            // `ClientEvent` is non-exhaustive for users of the crate, not for us.
            #[allow(unreachable_patterns)]
            _ => Flow::Continue,
        }
    }

    async fn on_session_update(
        &mut self,
        update: SessionConfig,
        event_id: Option<String>,
        raw: &str,
    ) -> Flow {
        // The real API rejects the other dialect's fields, and GA requires `session.type`.
        let wire: Value = serde_json::from_str(raw).unwrap_or_default();
        let session_wire = wire.get("session").and_then(Value::as_object);
        if let Some(session_wire) = session_wire {
            let shape = SessionConfig::detect_dialect(session_wire);
            if !session_wire.is_empty() && shape != self.dialect {
                let key = session_wire.keys().next().cloned().unwrap_or_default();
                return self
                    .send_error(
                        ApiError {
                            param: Some(format!("session.{key}")),
                            ..ApiError::new(
                                "invalid_request_error",
                                "unknown_parameter",
                                format!("Unknown parameter: 'session.{key}'."),
                            )
                        },
                        event_id,
                    )
                    .await;
            }
            if self.dialect == Dialect::Ga && !session_wire.contains_key("type") {
                return self
                    .send_error(
                        ApiError {
                            param: Some("session.type".into()),
                            ..ApiError::new(
                                "invalid_request_error",
                                "missing_required_parameter",
                                "Missing required parameter: 'session.type'.",
                            )
                        },
                        event_id,
                    )
                    .await;
            }
        }
        let session = {
            let mut state = self.state.lock().unwrap();
            state.session.merge(&update);
            state.session.clone()
        };
        self.flow(vec![ServerEvent::SessionUpdated(SessionEvent {
            session: Box::new(session),
            ..Default::default()
        })])
        .await
    }

    fn find_item(&self, id: &str) -> Option<Item> {
        let state = self.state.lock().unwrap();
        state
            .conversation
            .iter()
            .find(|i| i.id() == Some(id))
            .cloned()
    }

    async fn no_such_item(&mut self, id: &str, event_id: Option<String>) -> Flow {
        self.send_error(
            ApiError::new(
                "invalid_request_error",
                "item_not_found",
                format!("Item with item_id not found: {id}"),
            ),
            event_id,
        )
        .await
    }

    /// Events announcing a new conversation item, as the dialect does it.
    fn item_events(&self, item: &Item, previous: Option<String>) -> Vec<ServerEvent> {
        let event = ItemEvent {
            previous_item_id: previous,
            item: item.clone(),
            ..Default::default()
        };
        match self.dialect {
            Dialect::Beta => vec![ServerEvent::ConversationItemCreated(event)],
            Dialect::Ga => vec![
                ServerEvent::ConversationItemAdded(event.clone()),
                ServerEvent::ConversationItemDone(event),
            ],
        }
    }

    fn last_item_id(&self) -> Option<String> {
        let state = self.state.lock().unwrap();
        state
            .conversation
            .last()
            .and_then(|i| i.id().map(str::to_owned))
    }

    async fn on_item_create(
        &mut self,
        mut item: Item,
        previous: Option<String>,
        event_id: Option<String>,
    ) -> Flow {
        if let Item::FunctionCallOutput(output) = &item {
            let known = {
                let state = self.state.lock().unwrap();
                state
                    .conversation
                    .iter()
                    .any(|i| matches!(i, Item::FunctionCall(c) if c.call_id == output.call_id))
            };
            if !known {
                let message = format!(
                    "No tool call found for function call output with call_id {}.",
                    output.call_id
                );
                return self
                    .send_error(
                        ApiError {
                            param: Some("item.call_id".into()),
                            ..ApiError::new("invalid_request_error", "invalid_value", message)
                        },
                        event_id,
                    )
                    .await;
            }
        }
        if let Item::Message(MessageItem {
            role: Role::Assistant,
            content,
            ..
        }) = &item
        {
            if content.iter().any(ContentPart::is_audio) {
                return self
                    .send_error(
                        ApiError::new(
                            "invalid_request_error",
                            "invalid_value",
                            "Assistant messages cannot contain audio content.",
                        ),
                        event_id,
                    )
                    .await;
            }
        }
        if item.id().is_none() {
            let id = self.next_id("item");
            item.set_id(id);
        }
        let prev = match previous {
            Some(p) if p == "root" => None,
            Some(p) => Some(p),
            None => self.last_item_id(),
        };
        set_status(&mut item, ItemStatus::Completed);
        self.state.lock().unwrap().conversation.push(item.clone());
        let events = self.item_events(&item, prev);
        self.flow(events).await
    }

    async fn on_truncate(
        &mut self,
        item_id: String,
        content_index: u32,
        audio_end_ms: u64,
        event_id: Option<String>,
    ) -> Flow {
        let format = self.output_format();
        let Some(audio_ms) = self
            .audio_bytes_by_item
            .get(&item_id)
            .map(|bytes| format.ms_for_bytes(*bytes))
        else {
            return self
                .send_error(
                    ApiError::new(
                        "invalid_request_error",
                        "item_truncate_invalid_item_id",
                        format!("Invalid item_id for truncation: {item_id}"),
                    ),
                    event_id,
                )
                .await;
        };
        if audio_end_ms > audio_ms {
            return self
                .send_error(
                    ApiError {
                        param: Some("audio_end_ms".into()),
                        ..ApiError::new(
                            "invalid_request_error",
                            "invalid_value",
                            format!("Audio content of {audio_ms}ms is already shorter than {audio_end_ms}ms"),
                        )
                    },
                    event_id,
                )
                .await;
        }
        let kept = format.bytes_for_ms(audio_end_ms as u32);
        self.audio_bytes_by_item.insert(item_id.clone(), kept);
        self.state
            .lock()
            .unwrap()
            .truncations
            .push((item_id.clone(), audio_end_ms));
        self.flow(vec![ServerEvent::ConversationItemTruncated(
            ItemTruncated {
                item_id,
                content_index,
                audio_end_ms,
                ..Default::default()
            },
        )])
        .await
    }

    async fn commit(&mut self, event_id: Option<String>) -> Flow {
        let format = self.input_format();
        let bytes = std::mem::take(&mut self.state.lock().unwrap().input_buffer);
        let ms = format.ms_for_bytes(bytes.len());
        if ms < 100 {
            let message = format!(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has {ms}.00ms of audio."
            );
            return self
                .send_error(
                    ApiError::new(
                        "invalid_request_error",
                        "input_audio_buffer_commit_empty",
                        message,
                    ),
                    event_id,
                )
                .await;
        }
        self.commit_turn(ms).await.0
    }

    /// Turns the input buffer's audio into a user item (and, under turn detection that creates
    /// responses, starts one). Returns the flow and the committed length.
    async fn commit_turn(&mut self, ms: u64) -> (Flow, u64) {
        let item_id = self.next_id("item");
        let previous = self.last_item_id();
        let item = Item::Message(MessageItem {
            id: Some(item_id.clone()),
            role: Role::User,
            status: Some(ItemStatus::Completed),
            content: vec![ContentPart {
                kind: ContentKind::InputAudio,
                ..ContentPart::default()
            }],
            ..MessageItem::default()
        });
        let wire_item = item.clone();
        {
            let mut state = self.state.lock().unwrap();
            state.conversation.push(item);
            state.user_audio_ms.insert(item_id.clone(), ms);
        }
        let mut events = vec![ServerEvent::InputAudioBufferCommitted(BufferCommitted {
            previous_item_id: previous.clone(),
            item_id,
            ..Default::default()
        })];
        events.extend(self.item_events(&wire_item, previous));
        (self.flow(events).await, ms)
    }

    fn input_format(&self) -> crate::protocol::AudioFormat {
        self.state
            .lock()
            .unwrap()
            .session
            .input_audio_format
            .unwrap_or_default()
    }

    fn output_format(&self) -> crate::protocol::AudioFormat {
        self.state
            .lock()
            .unwrap()
            .session
            .output_audio_format
            .unwrap_or_default()
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
                    .state
                    .lock()
                    .unwrap()
                    .session
                    .effective_turn_detection()
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
                let detection = self
                    .state
                    .lock()
                    .unwrap()
                    .session
                    .effective_turn_detection();
                let Some(detection) = detection else {
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
                let reply = self.shared.next_reply(&self.state, true, ms);
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
            Command::Drop => {
                // Reset the TCP connection: no close frame, no FIN handshake.
                let _ = self.ws.get_ref().set_zero_linger();
                Flow::Stop
            }
        }
    }

    fn buffered_ms(&self) -> u64 {
        let format = self.input_format();
        format.ms_for_bytes(self.state.lock().unwrap().input_buffer.len())
    }

    async fn start_response(&mut self, reply: Reply) -> Flow {
        let id = self.next_id("resp");
        let session = self.state.lock().unwrap().session.clone();
        let audio = session
            .output_modalities
            .as_ref()
            .is_none_or(|m| m.contains(&crate::protocol::Modality::Audio));
        let mut active = Active {
            id: id.clone(),
            planned: VecDeque::new(),
            output: Vec::new(),
            pace: reply.pace,
            next_at: Instant::now(),
            sent_events: 0,
            drop_after: reply.drop_after_events,
            fail: reply.fail,
            audio_ms: 0,
            text_chars: 0,
        };
        let mut response = self.response_object(&id, ResponseStatus::InProgress, &session);
        response.output.clear();
        let created = ServerEvent::ResponseCreated(ResponseEvent {
            response: Box::new(response),
            ..Default::default()
        });
        for (index, output) in reply.outputs.iter().enumerate() {
            self.plan_output(
                &mut active,
                index as u32,
                output,
                audio,
                reply.audio_chunk_bytes,
            );
        }
        self.active = Some(active);
        let flow = self.flow(vec![created]).await;
        if matches!(flow, Flow::Stop) {
            return flow;
        }
        self.stream_due().await
    }

    fn plan_output(
        &mut self,
        active: &mut Active,
        index: u32,
        output: &Output,
        audio: bool,
        chunk: usize,
    ) {
        let item_id = self.next_id("item");
        let response_id = active.id.clone();
        let push = |active: &mut Active, event: ServerEvent, delta: bool| {
            active.planned.push_back(Planned { event, delta });
        };
        match output {
            Output::FunctionCall {
                name,
                arguments,
                call_id,
            } => {
                let call_id = call_id.clone().unwrap_or_else(|| self.next_id("call"));
                let mut item = FunctionCallItem {
                    id: Some(item_id.clone()),
                    status: Some(ItemStatus::InProgress),
                    call_id: call_id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    ..FunctionCallItem::default()
                };
                push(
                    active,
                    added_item(&response_id, index, Item::FunctionCall(item.clone())),
                    false,
                );
                let half = split_point(arguments, arguments.len() / 2);
                for piece in [&arguments[..half], &arguments[half..]] {
                    if piece.is_empty() {
                        continue;
                    }
                    push(
                        active,
                        ServerEvent::ResponseFunctionCallArgumentsDelta(
                            FunctionCallArgumentsDelta {
                                response_id: response_id.clone(),
                                item_id: item_id.clone(),
                                output_index: index,
                                call_id: call_id.clone(),
                                delta: piece.to_owned(),
                                ..Default::default()
                            },
                        ),
                        true,
                    );
                }
                push(
                    active,
                    ServerEvent::ResponseFunctionCallArgumentsDone(FunctionCallArgumentsDone {
                        response_id: response_id.clone(),
                        item_id: item_id.clone(),
                        output_index: index,
                        call_id,
                        name: (self.dialect == Dialect::Ga).then(|| name.clone()),
                        arguments: arguments.clone(),
                        ..Default::default()
                    }),
                    false,
                );
                item.status = Some(ItemStatus::Completed);
                item.arguments = arguments.clone();
                push(
                    active,
                    done_item(&response_id, index, Item::FunctionCall(item.clone())),
                    false,
                );
                active.output.push(Item::FunctionCall(item));
            }
            Output::Message { text, audio: bytes } => {
                let format = self.output_format();
                let (part_kind, item_kind) = match (audio, self.dialect) {
                    (true, Dialect::Ga) => (ContentKind::Audio, ContentKind::OutputAudio),
                    (true, Dialect::Beta) => (ContentKind::Audio, ContentKind::Audio),
                    (false, Dialect::Ga) => (ContentKind::Text, ContentKind::OutputText),
                    (false, Dialect::Beta) => (ContentKind::Text, ContentKind::Text),
                };
                let mut item = MessageItem {
                    id: Some(item_id.clone()),
                    status: Some(ItemStatus::InProgress),
                    role: Role::Assistant,
                    ..MessageItem::default()
                };
                push(
                    active,
                    added_item(&response_id, index, Item::Message(item.clone())),
                    false,
                );
                let empty_part = ContentPart {
                    kind: part_kind.clone(),
                    text: (!audio).then(String::new),
                    transcript: audio.then(String::new),
                    ..ContentPart::default()
                };
                let part_event = |part: ContentPart| ContentPartEvent {
                    response_id: response_id.clone(),
                    item_id: item_id.clone(),
                    output_index: index,
                    content_index: 0,
                    part,
                    ..Default::default()
                };
                push(
                    active,
                    ServerEvent::ResponseContentPartAdded(part_event(empty_part)),
                    false,
                );
                let delta = |delta: String| ContentDelta {
                    response_id: response_id.clone(),
                    item_id: item_id.clone(),
                    output_index: index,
                    content_index: 0,
                    delta,
                    ..Default::default()
                };
                let words: Vec<String> = split_words(text);
                active.text_chars += text.len();
                if audio {
                    let pcm = bytes.clone().unwrap_or_else(|| synth::speech(text, format));
                    active.audio_ms += format.ms_for_bytes(pcm.len());
                    let chunks: Vec<&[u8]> = pcm.chunks(chunk.max(1)).collect();
                    let steps = chunks.len().max(words.len());
                    for i in 0..steps {
                        if let Some(word) = words.get(i) {
                            push(
                                active,
                                ServerEvent::ResponseOutputAudioTranscriptDelta(delta(
                                    word.clone(),
                                )),
                                true,
                            );
                        }
                        if let Some(chunk) = chunks.get(i) {
                            let b64 = base64::engine::general_purpose::STANDARD.encode(chunk);
                            push(
                                active,
                                ServerEvent::ResponseOutputAudioDelta(delta(b64)),
                                true,
                            );
                        }
                    }
                    push(
                        active,
                        ServerEvent::ResponseOutputAudioDone(AudioDone {
                            response_id: response_id.clone(),
                            item_id: item_id.clone(),
                            output_index: index,
                            content_index: 0,
                            ..Default::default()
                        }),
                        false,
                    );
                    push(
                        active,
                        ServerEvent::ResponseOutputAudioTranscriptDone(TranscriptDone {
                            response_id: response_id.clone(),
                            item_id: item_id.clone(),
                            output_index: index,
                            content_index: 0,
                            transcript: text.clone(),
                            ..Default::default()
                        }),
                        false,
                    );
                } else {
                    for word in &words {
                        push(
                            active,
                            ServerEvent::ResponseOutputTextDelta(delta(word.clone())),
                            true,
                        );
                    }
                    push(
                        active,
                        ServerEvent::ResponseOutputTextDone(TextDone {
                            response_id: response_id.clone(),
                            item_id: item_id.clone(),
                            output_index: index,
                            content_index: 0,
                            text: text.clone(),
                            ..Default::default()
                        }),
                        false,
                    );
                }
                let full_part = ContentPart {
                    kind: part_kind,
                    text: (!audio).then(|| text.clone()),
                    transcript: audio.then(|| text.clone()),
                    ..ContentPart::default()
                };
                push(
                    active,
                    ServerEvent::ResponseContentPartDone(part_event(full_part.clone())),
                    false,
                );
                item.status = Some(ItemStatus::Completed);
                item.content = vec![ContentPart {
                    kind: item_kind,
                    ..full_part
                }];
                push(
                    active,
                    done_item(&response_id, index, Item::Message(item.clone())),
                    false,
                );
                active.output.push(Item::Message(item));
            }
        }
    }

    /// Sends the planned events that are due (all of them when unpaced).
    async fn stream_due(&mut self) -> Flow {
        loop {
            let Some(active) = self.active.as_mut() else {
                return Flow::Continue;
            };
            if active.next_at > Instant::now() {
                return Flow::Continue;
            }
            let Some(planned) = active.planned.pop_front() else {
                let status = if active.fail {
                    ResponseStatus::Failed
                } else {
                    ResponseStatus::Completed
                };
                return self.finish_response(status, None).await;
            };
            if let Some(limit) = active.drop_after {
                if active.sent_events >= limit {
                    let _ = self.ws.get_ref().set_zero_linger();
                    return Flow::Stop;
                }
            }
            active.sent_events += 1;
            if planned.delta {
                if let Some(pace) = active.pace {
                    active.next_at = Instant::now() + pace;
                }
            }
            let event = planned.event;
            self.track(&event);
            if let Flow::Stop = self.flow(vec![event]).await {
                return Flow::Stop;
            }
        }
    }

    /// Keeps the conversation in step with what has been streamed.
    fn track(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::ResponseOutputItemAdded(e) => {
                self.state.lock().unwrap().conversation.push(e.item.clone());
            }
            ServerEvent::ResponseOutputItemDone(e) => {
                let mut state = self.state.lock().unwrap();
                if let Some(slot) = state
                    .conversation
                    .iter_mut()
                    .find(|i| i.id() == e.item.id())
                {
                    *slot = e.item.clone();
                }
            }
            ServerEvent::ResponseOutputAudioDelta(d) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(d.delta.as_bytes())
                    .map(|b| b.len())
                    .unwrap_or(0);
                *self
                    .audio_bytes_by_item
                    .entry(d.item_id.clone())
                    .or_insert(0) += bytes;
                let mut state = self.state.lock().unwrap();
                *state.audio_bytes_sent.entry(d.item_id.clone()).or_insert(0) += bytes;
            }
            _ => {}
        }
    }

    async fn cancel(&mut self, reason: &str) -> Flow {
        let Some(active) = self.active.as_mut() else {
            return Flow::Continue;
        };
        let remaining: Vec<ServerEvent> = active
            .planned
            .drain(..)
            .filter(|p| !p.delta)
            .map(|p| p.event)
            .collect();
        for item in &mut active.output {
            set_status(item, ItemStatus::Incomplete);
        }
        for event in &remaining {
            self.track(event);
        }
        if let Flow::Stop = self.flow(remaining).await {
            return Flow::Stop;
        }
        self.finish_response(ResponseStatus::Cancelled, Some(reason))
            .await
    }

    async fn finish_response(&mut self, status: ResponseStatus, reason: Option<&str>) -> Flow {
        let Some(active) = self.active.take() else {
            return Flow::Continue;
        };
        let session = self.state.lock().unwrap().session.clone();
        let mut response = self.response_object(&active.id, status.clone(), &session);
        response.output = active.output;
        response.status_details = match status {
            ResponseStatus::Cancelled => Some(StatusDetails {
                kind: Some("cancelled".into()),
                reason: reason.map(str::to_owned),
                ..Default::default()
            }),
            ResponseStatus::Failed => Some(StatusDetails {
                kind: Some("failed".into()),
                error: Some(json!({"type": "server_error", "code": "fake_failure"})),
                ..Default::default()
            }),
            _ => None,
        };
        response.usage = Some(self.usage(active.audio_ms, active.text_chars));
        let done = ServerEvent::ResponseDone(ResponseEvent {
            response: Box::new(response),
            ..Default::default()
        });
        let limits = ServerEvent::RateLimitsUpdated(RateLimitsUpdated {
            rate_limits: vec![RateLimit {
                name: "tokens".into(),
                limit: 40_000,
                remaining: 39_000,
                reset_seconds: 1.5,
                ..Default::default()
            }],
            ..Default::default()
        });
        {
            let mut state = self.state.lock().unwrap();
            state.responses_done += 1;
        }
        self.flow(vec![done, limits]).await
    }

    fn usage(&self, audio_out_ms: u64, text_out_chars: usize) -> Usage {
        let state = self.state.lock().unwrap();
        let mut text_in = 0u64;
        let mut audio_in = 0u64;
        for item in &state.conversation {
            match item {
                Item::Message(m) => {
                    for part in &m.content {
                        text_in += part.words().map_or(0, |w| w.len() as u64 / 4);
                    }
                    audio_in +=
                        m.id.as_ref()
                            .and_then(|id| state.user_audio_ms.get(id))
                            .copied()
                            .unwrap_or(0)
                            / 100;
                }
                Item::FunctionCall(c) => text_in += (c.arguments.len() / 4) as u64,
                Item::FunctionCallOutput(o) => text_in += (o.output.len() / 4) as u64,
                Item::Other(_) => {}
            }
        }
        let text_out = (text_out_chars / 4) as u64 + 1;
        let audio_out = audio_out_ms / 50;
        let input = text_in + audio_in;
        let output = text_out + audio_out;
        Usage {
            total_tokens: input + output,
            input_tokens: input,
            output_tokens: output,
            input_token_details: Some(InputTokenDetails {
                text_tokens: text_in,
                audio_tokens: audio_in,
                cached_tokens: 0,
                cached_tokens_details: Some(Default::default()),
                ..Default::default()
            }),
            output_token_details: Some(OutputTokenDetails {
                text_tokens: text_out,
                audio_tokens: audio_out,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn response_object(
        &self,
        id: &str,
        status: ResponseStatus,
        session: &SessionConfig,
    ) -> Response {
        let mut response = Response {
            id: Some(id.to_owned()),
            object: Some("realtime.response".into()),
            status: Some(status),
            conversation_id: Some("conv_fake".into()),
            ..Response::default()
        };
        let modalities = session
            .output_modalities
            .clone()
            .unwrap_or_else(|| vec![crate::protocol::Modality::Audio]);
        let format = session.output_audio_format.unwrap_or_default();
        let voice = session.voice.clone().map_or_else(
            || Value::from("alloy"),
            |v| serde_json::to_value(v).unwrap_or_default(),
        );
        match self.dialect {
            Dialect::Ga => {
                response.extra.insert(
                    "output_modalities".into(),
                    crate::protocol::modalities_to_wire(&modalities, Dialect::Ga),
                );
                response.extra.insert(
                    "audio".into(),
                    json!({"output": {"format": format.to_wire(Dialect::Ga), "voice": voice}}),
                );
            }
            Dialect::Beta => {
                response.extra.insert(
                    "modalities".into(),
                    crate::protocol::modalities_to_wire(&modalities, Dialect::Beta),
                );
                response.extra.insert("voice".into(), voice);
                response
                    .extra
                    .insert("output_audio_format".into(), format.to_wire(Dialect::Beta));
            }
        }
        response
    }
}

fn added_item(response_id: &str, index: u32, item: Item) -> ServerEvent {
    ServerEvent::ResponseOutputItemAdded(OutputItemEvent {
        response_id: response_id.to_owned(),
        output_index: index,
        item,
        ..Default::default()
    })
}

fn done_item(response_id: &str, index: u32, item: Item) -> ServerEvent {
    ServerEvent::ResponseOutputItemDone(OutputItemEvent {
        response_id: response_id.to_owned(),
        output_index: index,
        item,
        ..Default::default()
    })
}

fn set_status(item: &mut Item, status: ItemStatus) {
    match item {
        Item::Message(m) => m.status = Some(status),
        Item::FunctionCall(c) => c.status = Some(status),
        Item::FunctionCallOutput(o) => o.status = Some(status),
        Item::Other(_) => {}
    }
}

/// Splits text into word-sized deltas that concatenate back to it exactly.
fn split_words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        if ch == ' ' && !current.trim().is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(ch);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

fn split_point(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn words_concatenate_back() {
        for text in [
            "",
            "one",
            "it is 18 degrees",
            "  spaced  out ",
            "héllo wörld",
        ] {
            assert_eq!(split_words(text).concat(), text);
        }
    }
}
