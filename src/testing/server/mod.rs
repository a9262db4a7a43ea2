//! The fake Realtime server: a real WebSocket server on 127.0.0.1 and the handle tests drive.

mod accept;
mod inspect;

use accept::{accept_loop, default_session};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use super::conn::{Command, Connection};
use super::record::{Handshake, Received, Sent};
use super::script::{Reply, Responder, ResponseRequest};
use crate::protocol::{
    ApiError, ClientEvent, Dialect, ErrorEvent, Item, ServerEvent, SessionConfig,
};

/// The state of one connection, visible to tests.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    pub(crate) open: bool,
    pub(crate) dialect: Dialect,
    pub(crate) session: SessionConfig,
    pub(crate) conversation: super::conversation::Conversation,
    pub(crate) input_buffer: Vec<u8>,
    pub(crate) input_audio: Vec<u8>,
    pub(crate) received: Vec<Received>,
    pub(crate) sent: Vec<Sent>,
    pub(crate) errors_sent: Vec<ApiError>,
    pub(crate) truncations: Vec<(String, u64)>,
    pub(crate) audio_bytes_sent: HashMap<String, usize>,
    pub(crate) responses_done: usize,
    /// When the first `function_call_arguments.done` not yet answered by a `response.create`
    /// was sent.
    pub(crate) call_sent_at: Option<Duration>,
    pub(crate) round_trips: Vec<Duration>,
    pub(crate) calls_sent: usize,
    pub(crate) outputs_received: usize,
}

struct ConnSlot {
    state: Arc<Mutex<ConnState>>,
    commands: mpsc::UnboundedSender<Command>,
}

/// A handshake the server refuses instead of upgrading.
#[derive(Debug, Clone)]
struct HandshakeFault {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

struct Script {
    replies: VecDeque<Reply>,
    responder: Option<Box<dyn Responder>>,
}

pub(crate) struct Shared {
    started: Instant,
    /// The hosted MCP servers sessions can reach, by label.
    pub(crate) hosted_mcp: Vec<super::SimulatedMcpServer>,
    pub(crate) changed: Notify,
    pub(crate) keep_input_audio: bool,
    pub(crate) detect_speech: bool,
    record_payloads: bool,
    record_events: bool,
    initial_session: SessionConfig,
    conns: Mutex<Vec<ConnSlot>>,
    script: Mutex<Script>,
    faults: Mutex<VecDeque<HandshakeFault>>,
    handshakes: Mutex<Vec<Handshake>>,
    panic: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn record_received(
        &self,
        state: &Mutex<ConnState>,
        connection: usize,
        event_type: &str,
        event: Option<&ClientEvent>,
        raw: &str,
    ) {
        let at = self.started.elapsed();
        let mut state = state.lock().unwrap();
        match event {
            Some(ClientEvent::ResponseCreate(_)) => {
                // A tool round trip ends with the response.create that follows the outputs.
                if let Some(sent) = state.call_sent_at.take() {
                    state.round_trips.push(at - sent);
                }
            }
            Some(ClientEvent::ConversationItemCreate(create))
                if matches!(create.item, Item::FunctionCallOutput(_)) =>
            {
                state.outputs_received += 1;
            }
            _ => {}
        }
        if self.record_events {
            state.received.push(Received {
                at,
                connection,
                event_type: event_type.to_owned(),
                event: if self.record_payloads {
                    event.cloned()
                } else {
                    None
                },
                raw: if self.record_payloads {
                    raw.to_owned()
                } else {
                    String::new()
                },
            });
        }
        drop(state);
        self.changed.notify_waiters();
    }

    pub(crate) fn record_sent(
        &self,
        state: &Mutex<ConnState>,
        connection: usize,
        event_type: &str,
        event: ServerEvent,
    ) {
        let at = self.started.elapsed();
        let mut state = state.lock().unwrap();
        if matches!(event, ServerEvent::ResponseFunctionCallArgumentsDone(_)) {
            state.calls_sent += 1;
            state.call_sent_at.get_or_insert(at);
        }
        if self.record_events {
            state.sent.push(Sent {
                at,
                connection,
                event_type: event_type.to_owned(),
                event: self.record_payloads.then_some(event),
            });
        }
        drop(state);
        self.changed.notify_waiters();
    }

    pub(crate) fn record_raw_sent(&self, state: &Mutex<ConnState>, connection: usize) {
        let record = Sent {
            at: self.started.elapsed(),
            connection,
            event_type: "(raw frame)".into(),
            event: None,
        };
        state.lock().unwrap().sent.push(record);
        self.changed.notify_waiters();
    }

    /// The next scripted reply, else the responder's, else an empty-ish default.
    pub(crate) fn next_reply(
        &self,
        state: &Mutex<ConnState>,
        from_turn_detection: bool,
        committed_audio_ms: u64,
        options: Option<&crate::protocol::ResponseOptions>,
    ) -> Reply {
        let mut script = self.script.lock().unwrap();
        if let Some(reply) = script.replies.pop_front() {
            return reply;
        }
        let Some(responder) = script.responder.as_mut() else {
            return Reply::text("OK.");
        };
        let state = state.lock().unwrap();
        responder.respond(&ResponseRequest {
            session: &state.session,
            conversation: state.conversation.items(),
            from_turn_detection,
            committed_audio_ms,
            options,
        })
    }
}

/// Builds a [`FakeServer`].
#[must_use = "a FakeServerBuilder does nothing until started"]
pub struct FakeServerBuilder {
    replies: VecDeque<Reply>,
    responder: Option<Box<dyn Responder>>,
    record_payloads: bool,
    keep_input_audio: bool,
    detect_speech: bool,
    record_events: bool,
    session: SessionConfig,
    port: u16,
    hosted_mcp: Vec<super::SimulatedMcpServer>,
}

impl std::fmt::Debug for FakeServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServerBuilder").finish_non_exhaustive()
    }
}

impl FakeServerBuilder {
    /// Queues a reply for the next response (in order, one per response).
    pub fn reply(mut self, reply: Reply) -> Self {
        self.replies.push_back(reply);
        self
    }

    /// Decides replies when none is queued. Without one, the server answers "OK.".
    pub fn responder(mut self, responder: impl Responder) -> Self {
        self.responder = Some(Box::new(responder));
        self
    }

    /// Whether to keep each event and frame text in the logs (default true). Benchmarks turn it
    /// off to keep the server lean; event types and timestamps are always kept.
    pub fn record_payloads(mut self, record: bool) -> Self {
        self.record_payloads = record;
        self
    }

    /// Whether to log events at all (default true). Load tests with thousands of sessions turn
    /// it off; counters and tool round-trip times ([`FakeServer::tool_round_trips`]) are
    /// always kept.
    pub fn record_events(mut self, record: bool) -> Self {
        self.record_events = record;
        self
    }

    /// Whether to keep all appended input audio for [`FakeServer::input_audio`] (default true).
    pub fn keep_input_audio(mut self, keep: bool) -> Self {
        self.keep_input_audio = keep;
        self
    }

    /// Whether the server listens to appended audio and detects speech by its level, sending
    /// `speech_started`/`speech_stopped` and (with `create_response`) starting responses, as the
    /// API's server VAD does (default off: tests usually script VAD events with
    /// [`FakeServer::speech_started`]). Used by `agent --sim` in voice mode.
    pub fn detect_speech(mut self, detect: bool) -> Self {
        self.detect_speech = detect;
        self
    }

    /// The session configuration a new connection starts with (as in `session.created`).
    pub fn initial_session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// A hosted MCP server that sessions declaring an `mcp` tool with its label reach.
    pub fn hosted_mcp_server(mut self, server: super::SimulatedMcpServer) -> Self {
        self.hosted_mcp.push(server);
        self
    }

    /// Listens on this port of 127.0.0.1 (default 0: a free one, which tests should use).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds 127.0.0.1 on a free port (or the one set with [`port`](Self::port)) and starts
    /// accepting connections. Panics when the port cannot be bound: see
    /// [`try_start`](Self::try_start).
    pub async fn start(self) -> FakeServer {
        let port = self.port;
        self.try_start()
            .await
            .unwrap_or_else(|e| panic!("binding 127.0.0.1:{port} failed: {e}"))
    }

    /// [`start`](Self::start), with a failure to bind the port (in use, not permitted) returned.
    pub async fn try_start(self) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            started: Instant::now(),
            hosted_mcp: self.hosted_mcp,
            changed: Notify::new(),
            keep_input_audio: self.keep_input_audio,
            detect_speech: self.detect_speech,
            record_events: self.record_events,
            record_payloads: self.record_payloads,
            initial_session: self.session,
            conns: Mutex::new(Vec::new()),
            script: Mutex::new(Script {
                replies: self.replies,
                responder: self.responder,
            }),
            faults: Mutex::new(VecDeque::new()),
            handshakes: Mutex::new(Vec::new()),
            panic: Mutex::new(None),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(FakeServer {
            addr,
            shared,
            accept,
        })
    }
}

/// A fake OpenAI Realtime server on 127.0.0.1, for tests and `--sim`.
///
/// It speaks both dialects (beta when the client sends `OpenAI-Beta: realtime=v1`), answers
/// every client event the way the API does (`session.updated` with the merged config, item
/// acknowledgements, truncation and commit checks, `conversation_already_has_active_response`
/// while a response runs), streams scripted [`Reply`]s, records everything with timestamps,
/// and injects faults on demand.
///
/// ```no_run
/// # async fn demo() {
/// use realtime_agent::testing::{FakeServer, Reply};
/// let server = FakeServer::builder().reply(Reply::text("Hello!")).start().await;
/// println!("connect to {}", server.url());
/// # }
/// ```
pub struct FakeServer {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// A builder for a server with scripted replies and options.
    pub fn builder() -> FakeServerBuilder {
        FakeServerBuilder {
            replies: VecDeque::new(),
            responder: None,
            record_payloads: true,
            keep_input_audio: true,
            detect_speech: false,
            record_events: true,
            session: default_session(),
            port: 0,
            hosted_mcp: Vec::new(),
        }
    }

    /// Starts a server with default settings.
    pub async fn start() -> FakeServer {
        FakeServer::builder().start().await
    }

    /// The WebSocket URL to connect to, e.g. `ws://127.0.0.1:41234/v1/realtime`.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/realtime", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Time since the server started, on the clock of [`Received::at`] and [`Sent::at`].
    pub fn elapsed(&self) -> Duration {
        self.shared.started.elapsed()
    }

    /// Queues a reply for the next response.
    pub fn enqueue(&self, reply: Reply) {
        self.shared.script.lock().unwrap().replies.push_back(reply);
    }

    /// Sets the responder used when no reply is queued.
    pub fn set_responder(&self, responder: impl Responder) {
        self.shared.script.lock().unwrap().responder = Some(Box::new(responder));
    }

    /// Refuses the next `count` handshakes with HTTP `status` (e.g. 401, 429), with a
    /// `Retry-After` header when given and an OpenAI-style JSON error body.
    pub fn refuse_handshakes(&self, status: u16, retry_after: Option<u64>, count: usize) {
        let message = match status {
            401 => "Incorrect API key provided.",
            403 => "You do not have access to this model.",
            404 => "The model does not exist.",
            429 => "Rate limit reached for requests.",
            _ => "The server could not open the session.",
        };
        let body =
            serde_json::json!({"error": {"message": message, "type": "invalid_request_error"}});
        let mut faults = self.shared.faults.lock().unwrap();
        for _ in 0..count {
            faults.push_back(HandshakeFault {
                status,
                retry_after,
                body: body.to_string(),
            });
        }
    }

    fn slot<T>(&self, connection: Option<usize>, f: impl FnOnce(&ConnSlot) -> T) -> Option<T> {
        let conns = self.shared.conns.lock().unwrap();
        let slot = match connection {
            Some(i) => conns.get(i),
            None => conns.last(),
        }?;
        Some(f(slot))
    }

    fn command(&self, command: Command) {
        // Commands go to the newest connection; none yet means nothing to do.
        self.slot(None, |slot| slot.commands.send(command).ok());
    }

    /// Sends `event` to the newest connection (an `event_id` is added if missing).
    pub fn push(&self, event: ServerEvent) {
        self.command(Command::Push(Box::new(event)));
    }

    /// Sends an `error` event.
    pub fn send_error(&self, error: ApiError) {
        self.push(ServerEvent::Error(ErrorEvent {
            error,
            ..Default::default()
        }));
    }

    /// Sends a raw text frame, e.g. malformed JSON.
    pub fn send_raw(&self, frame: impl Into<String>) {
        self.command(Command::Raw(frame.into()));
    }

    /// Sends a binary frame (the protocol only uses text frames; clients must reject it).
    pub fn send_binary(&self, bytes: Vec<u8>) {
        self.command(Command::Binary(bytes));
    }

    /// Makes the newest connection go silent without closing: nothing is read or written, not
    /// even pongs, as when a peer vanishes. [`FakeServer::drop_connection`] ends it.
    pub fn freeze_connection(&self) {
        self.command(Command::Freeze);
    }

    /// The user starts speaking: `input_audio_buffer.speech_started`, and under turn detection
    /// with `interrupt_response` the active response is cancelled (`turn_detected`).
    pub fn speech_started(&self) {
        self.command(Command::SpeechStarted);
    }

    /// The user stops speaking: `speech_stopped`, and under turn detection the buffer is
    /// committed as a user item and (with `create_response`) a response starts.
    pub fn speech_stopped(&self) {
        self.command(Command::SpeechStopped);
    }

    /// Starts a response now, as the server does on its own (e.g. after turn detection).
    pub fn start_response(&self, reply: Reply) {
        self.command(Command::StartResponse(reply));
    }

    /// Closes the newest connection with a close frame.
    pub fn close_connection(&self, code: u16, reason: &str) {
        self.command(Command::Close(code, reason.to_owned()));
    }

    /// Drops the newest connection abruptly (TCP reset, no close frame).
    pub fn drop_connection(&self) {
        self.command(Command::Drop);
    }

    /// How many connections were accepted (upgraded) so far.
    pub fn connection_count(&self) -> usize {
        self.shared.conns.lock().unwrap().len()
    }

    /// Whether connection `index` is still open.
    pub fn is_open(&self, index: usize) -> bool {
        self.slot(Some(index), |s| s.state.lock().unwrap().open)
            .unwrap_or(false)
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        self.accept.abort();
        let conns = self.shared.conns.lock().unwrap();
        for slot in conns.iter() {
            let _ = slot.commands.send(Command::Drop);
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shutdown();
        // Re-raise a panic from a server task so that a test cannot pass over a server bug.
        if let Some(message) = self.shared.panic.lock().unwrap().take()
            && !std::thread::panicking()
        {
            panic!("the fake server panicked: {message}");
        }
    }
}
