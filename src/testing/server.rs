//! The fake Realtime server: a real WebSocket server on 127.0.0.1 and the handle tests drive.

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
    pub(crate) changed: Notify,
    pub(crate) keep_input_audio: bool,
    pub(crate) detect_speech: bool,
    record_payloads: bool,
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
        let record = Received {
            at: self.started.elapsed(),
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
        };
        state.lock().unwrap().received.push(record);
        self.changed.notify_waiters();
    }

    pub(crate) fn record_sent(
        &self,
        state: &Mutex<ConnState>,
        connection: usize,
        event_type: &str,
        event: ServerEvent,
    ) {
        let keep =
            self.record_payloads || !matches!(event, ServerEvent::ResponseOutputAudioDelta(_));
        let record = Sent {
            at: self.started.elapsed(),
            connection,
            event_type: event_type.to_owned(),
            event: keep.then_some(event),
        };
        state.lock().unwrap().sent.push(record);
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
        })
    }
}

/// Builds a [`FakeServer`].
pub struct FakeServerBuilder {
    replies: VecDeque<Reply>,
    responder: Option<Box<dyn Responder>>,
    record_payloads: bool,
    keep_input_audio: bool,
    detect_speech: bool,
    session: SessionConfig,
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

    /// Binds 127.0.0.1 on a free port and starts accepting connections.
    pub async fn start(self) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0 works on any machine with loopback");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            started: Instant::now(),
            changed: Notify::new(),
            keep_input_audio: self.keep_input_audio,
            detect_speech: self.detect_speech,
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
        FakeServer {
            addr,
            shared,
            accept,
        }
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
            session: default_session(),
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

    /// Every handshake seen, refused ones included.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.shared.handshakes.lock().unwrap().clone()
    }

    fn with_state<T: Default>(
        &self,
        connection: Option<usize>,
        f: impl FnOnce(&ConnState) -> T,
    ) -> T {
        self.slot(connection, |slot| f(&slot.state.lock().unwrap()))
            .unwrap_or_default()
    }

    /// Everything received on all connections, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Received> = conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().received.clone())
            .collect();
        all.sort_by_key(|r| r.at);
        all
    }

    /// What was received (on any connection) at or after `since` on the server's clock
    /// ([`FakeServer::elapsed`]), in order. Cheaper than [`FakeServer::received`] for a long log.
    pub fn received_since(&self, since: Duration) -> Vec<Received> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Received> = conns
            .iter()
            .flat_map(|c| {
                let state = c.state.lock().unwrap();
                let start = state.received.partition_point(|r| r.at < since);
                state.received[start..].to_vec()
            })
            .collect();
        all.sort_by_key(|r| r.at);
        all
    }

    /// What was sent (on any connection) at or after `since`, in order.
    pub fn sent_since(&self, since: Duration) -> Vec<Sent> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Sent> = conns
            .iter()
            .flat_map(|c| {
                let state = c.state.lock().unwrap();
                let start = state.sent.partition_point(|s| s.at < since);
                state.sent[start..].to_vec()
            })
            .collect();
        all.sort_by_key(|s| s.at);
        all
    }

    /// How many events of `event_type` were received on all connections (cheap: nothing cloned).
    pub fn count_received(&self, event_type: &str) -> usize {
        let conns = self.shared.conns.lock().unwrap();
        conns
            .iter()
            .map(|c| {
                let state = c.state.lock().unwrap();
                state
                    .received
                    .iter()
                    .filter(|r| r.event_type == event_type)
                    .count()
            })
            .sum()
    }

    /// Event types received on the newest connection, in order, without the audio appends.
    pub fn received_types(&self) -> Vec<String> {
        self.with_state(None, |s| {
            s.received
                .iter()
                .filter(|r| r.event_type != "input_audio_buffer.append")
                .map(|r| r.event_type.clone())
                .collect()
        })
    }

    /// Everything sent on all connections, in order.
    pub fn sent(&self) -> Vec<Sent> {
        let conns = self.shared.conns.lock().unwrap();
        let mut all: Vec<Sent> = conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().sent.clone())
            .collect();
        all.sort_by_key(|s| s.at);
        all
    }

    /// The `error` events the server sent (any connection), e.g. to assert there was no
    /// `conversation_already_has_active_response`.
    pub fn errors_sent(&self) -> Vec<ApiError> {
        let conns = self.shared.conns.lock().unwrap();
        conns
            .iter()
            .flat_map(|c| c.state.lock().unwrap().errors_sent.clone())
            .collect()
    }

    /// The dialect of the newest connection (beta when the client sent the beta header).
    pub fn dialect(&self) -> Dialect {
        self.with_state(None, |s| s.dialect)
    }

    /// The session configuration in effect on the newest connection.
    pub fn session(&self) -> SessionConfig {
        self.with_state(None, |s| s.session.clone())
    }

    /// The newest connection's conversation, oldest item first.
    pub fn conversation(&self) -> Vec<Item> {
        self.with_state(None, |s| s.conversation.items().to_vec())
    }

    /// Call ids of function calls in the newest conversation that have no output yet.
    pub fn unanswered_calls(&self) -> Vec<String> {
        self.with_state(None, |s| s.conversation.unanswered_calls())
    }

    /// All input audio appended on the newest connection (decoded bytes, session format).
    pub fn input_audio(&self) -> Vec<u8> {
        self.with_state(None, |s| s.input_audio.clone())
    }

    /// The truncations the newest connection accepted, as `(item_id, audio_end_ms)`.
    pub fn truncations(&self) -> Vec<(String, u64)> {
        self.with_state(None, |s| s.truncations.clone())
    }

    /// Bytes of audio sent for each assistant item on the newest connection.
    pub fn audio_bytes_sent(&self, item_id: &str) -> usize {
        self.with_state(None, |s| {
            s.audio_bytes_sent.get(item_id).copied().unwrap_or(0)
        })
    }

    /// How many responses have finished (`response.done` sent) on the newest connection.
    pub fn responses_done(&self) -> usize {
        self.with_state(None, |s| s.responses_done)
    }

    /// Waits until `condition` holds (checked after every event), or panics after `timeout`
    /// with `what` in the message.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut(&FakeServer) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if condition(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                if condition(self) {
                    return;
                }
                panic!(
                    "fake server: timed out after {timeout:?} waiting for {what}; received so far: {:?}",
                    self.received_types()
                );
            }
        }
    }

    /// Waits until `count` events of `event_type` have been received on the newest connection.
    pub async fn wait_for_received(&self, event_type: &str, count: usize, timeout: Duration) {
        let what = format!("{count} × {event_type}");
        self.wait_until(&what, timeout, |s| {
            s.with_state(None, |st| {
                st.received
                    .iter()
                    .filter(|r| r.event_type == event_type)
                    .count()
            }) >= count
        })
        .await;
    }

    /// Waits until `count` connections have been accepted.
    pub async fn wait_for_connections(&self, count: usize, timeout: Duration) {
        self.wait_until(&format!("{count} connections"), timeout, |s| {
            s.connection_count() >= count
        })
        .await;
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
        if let Some(message) = self.shared.panic.lock().unwrap().take() {
            if !std::thread::panicking() {
                panic!("the fake server panicked: {message}");
            }
        }
    }
}

/// What a new connection reports in `session.created`: the API's defaults.
fn default_session() -> SessionConfig {
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

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let outcome = tokio::spawn(serve(tcp, shared.clone())).await;
            if let Err(err) = outcome {
                if err.is_panic() {
                    let payload = err.into_panic();
                    let message = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    *shared.panic.lock().unwrap() = Some(message);
                }
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
    let accepted = tokio_tungstenite::accept_hdr_async(tcp, callback).await;
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
