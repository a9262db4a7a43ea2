//! An open Realtime connection: a clonable sender and an ordered stream of server events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::handshake::handshake_error;
use super::io::{Raw, read_loop, write_loop};
use super::{AuthStyle, ConnectError, ConnectOptions, Recorder, SendError};
use crate::protocol::{
    ClientEvent, DecodeError, Dialect, ServerEvent, encode_numbered_audio_append,
};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How many frames may wait for the writer task before senders wait (or `try_send` fails).
const OUTGOING_CAPACITY: usize = 512;
/// The socket's read buffer (see `connect_with_recorder`).
const READ_BUFFER: usize = 8 * 1024;
/// Queued outgoing bytes past which tungstenite writes before the flush. Its buffer keeps the
/// capacity of the largest burst for the whole session, and a session that fell behind sends
/// its queued audio appends (about 300 bytes each) in one burst: a small threshold keeps that
/// buffer near the size of the largest single event instead.
const WRITE_BUFFER: usize = 2 * 1024;
/// How many frames may wait for the consumer before the reader stops reading.
const INCOMING_CAPACITY: usize = 1024;

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The WebSocket close code, when the peer sent a close frame (1000 = normal, 1001 = going
    /// away, which the API uses when a session expires).
    pub code: Option<u16>,
    /// The close reason, or what broke the connection.
    pub reason: String,
    /// Whether the connection was closed by a close handshake (as opposed to dropped).
    pub clean: bool,
}

/// Something that came from the server.
#[derive(Debug)]
// `Event` is by far the most common variant; boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Incoming {
    /// A decoded event (possibly [`ServerEvent::Unknown`]).
    Event(ServerEvent),
    /// A frame that could not be decoded. It was skipped; the connection goes on.
    Malformed {
        /// Why it could not be decoded.
        error: DecodeError,
        /// The start of the frame, for the log.
        frame: String,
    },
    /// The connection ended. Nothing follows.
    Closed(CloseInfo),
}

pub(super) enum Outgoing {
    Frame(String),
    Close { code: u16, reason: String },
}

/// Sends client events on a connection. Cheap to clone; every clone feeds the same writer task,
/// and events from one clone go out in the order sent.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::Sender<Outgoing>,
    dialect: Dialect,
    next_id: Arc<AtomicU64>,
    closed: CancellationToken,
}

impl std::fmt::Debug for EventSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSender")
            .field("dialect", &self.dialect)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl EventSender {
    /// The dialect events are encoded in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A fresh client `event_id`.
    pub fn next_event_id(&self) -> String {
        format!("evt_{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled() || self.tx.is_closed()
    }

    /// Encodes `event` (giving it an `event_id` if it has none) and queues it, waiting while
    /// the queue is full. Returns the `event_id`, which the server echoes in errors it causes.
    pub async fn send(&self, mut event: ClientEvent) -> Result<String, SendError> {
        let id = event.ensure_event_id(|| self.next_event_id()).to_owned();
        self.send_frame(event.to_json(self.dialect)).await?;
        Ok(id)
    }

    /// Like [`EventSender::send`] but fails at once with [`SendError::Full`] instead of waiting.
    pub fn try_send(&self, mut event: ClientEvent) -> Result<String, SendError> {
        let id = event.ensure_event_id(|| self.next_event_id()).to_owned();
        self.try_send_frame(event.to_json(self.dialect))?;
        Ok(id)
    }

    /// Queues `input_audio_buffer.append` for raw audio bytes in the session input format,
    /// waiting while the queue is full.
    pub async fn send_audio(&self, audio: &[u8]) -> Result<(), SendError> {
        self.send_frame(self.audio_frame(audio)).await
    }

    /// Like [`EventSender::send_audio`] but fails at once when the queue is full.
    pub fn try_send_audio(&self, audio: &[u8]) -> Result<(), SendError> {
        self.try_send_frame(self.audio_frame(audio))
    }

    /// `input_audio_buffer.append` for `audio`, with the next event id.
    fn audio_frame(&self, audio: &[u8]) -> String {
        encode_numbered_audio_append(self.next_id.fetch_add(1, Ordering::Relaxed), audio)
    }

    /// Queues an already-encoded text frame.
    pub async fn send_frame(&self, frame: String) -> Result<(), SendError> {
        self.tx
            .send(Outgoing::Frame(frame))
            .await
            .map_err(|_| SendError::Closed)
    }

    /// Queues an already-encoded text frame without waiting.
    pub fn try_send_frame(&self, frame: String) -> Result<(), SendError> {
        self.tx
            .try_send(Outgoing::Frame(frame))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Closes the connection cleanly (close code 1000) after the frames already queued.
    pub async fn close(&self) {
        let _ = self
            .tx
            .send(Outgoing::Close {
                code: 1000,
                reason: String::new(),
            })
            .await;
    }
}

/// The ordered stream of what the server sends.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<Raw>,
}

impl EventStream {
    /// The next thing from the server; `None` after [`Incoming::Closed`]. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Incoming> {
        self.rx.recv().await.map(Raw::decode)
    }

    /// The next thing from the server if it has already arrived.
    pub fn try_recv(&mut self) -> Option<Incoming> {
        self.rx.try_recv().ok().map(Raw::decode)
    }
}

/// An open Realtime connection.
///
/// Dropping it (or all senders and the stream) closes the socket and ends both I/O tasks.
pub struct Connection {
    /// Sends client events.
    pub sender: EventSender,
    /// Receives server events.
    pub events: EventStream,
    guard: ConnectionGuard,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Ends the I/O tasks when the connection is dropped, and lets `shutdown` wait for them.
pub struct ConnectionGuard {
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl ConnectionGuard {
    /// Stops both I/O tasks now (without a close handshake) and waits for them to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl std::fmt::Debug for ConnectionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionGuard")
    }
}

impl Connection {
    /// Splits into the sender, the event stream and the guard that owns the I/O tasks.
    pub fn into_parts(self) -> (EventSender, EventStream, ConnectionGuard) {
        (self.sender, self.events, self.guard)
    }

    /// Closes the connection cleanly and waits for the I/O tasks to end.
    pub async fn close(self) {
        let (sender, events, guard) = self.into_parts();
        close_parts(&sender, events, guard).await;
    }
}

/// Closes a connection given as its parts: a close frame after what is queued, then waits (at
/// most 2 s, in case the peer never answers) for the close to come back, then ends the tasks.
pub async fn close_parts(sender: &EventSender, mut events: EventStream, guard: ConnectionGuard) {
    sender.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(incoming) = events.recv().await {
            if matches!(incoming, Incoming::Closed(_)) {
                break;
            }
        }
    })
    .await;
    guard.shutdown().await;
}

/// Opens a Realtime WebSocket session.
pub async fn connect(options: &ConnectOptions) -> Result<Connection, ConnectError> {
    connect_with_recorder(options, None).await
}

/// Opens a Realtime WebSocket session, showing every frame to `recorder`.
pub async fn connect_with_recorder(
    options: &ConnectOptions,
    recorder: Option<Arc<dyn Recorder>>,
) -> Result<Connection, ConnectError> {
    let url = options.request_url()?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let addr = format!("{host}:{}", url.port_or_known_default().unwrap_or(443));
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::InvalidUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let headers = request.headers_mut();
    if let Some(key) = &options.api_key {
        let (name, value) = match options.resolved_auth_style(&url) {
            AuthStyle::Bearer => ("authorization", format!("Bearer {}", key.expose())),
            AuthStyle::AzureApiKey => ("api-key", key.expose().to_owned()),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| ConnectError::Unauthorized {
            status: 401,
            message: Some("the API key contains characters that cannot be sent in a header".into()),
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    if options.dialect == Dialect::Beta {
        headers.insert("openai-beta", HeaderValue::from_static("realtime=v1"));
    }
    for (name, value) in &options.headers {
        let name: tungstenite::http::HeaderName =
            name.parse().map_err(|_| ConnectError::InvalidUrl {
                url: url.to_string(),
                reason: format!("invalid header name `{name}`"),
            })?;
        let value = HeaderValue::from_str(value).map_err(|_| ConnectError::InvalidUrl {
            url: url.to_string(),
            reason: format!("invalid value for header `{name}`"),
        })?;
        headers.insert(name, value);
    }

    // tungstenite zero-fills the free part of its read buffer before every read, so its size is
    // both memory per session and a memset per frame: the default 128 KiB would be most of a
    // session's memory. Events are small; a large audio delta gets room for its whole frame
    // once its header is read and then takes a few reads. Writes are flushed after each burst,
    // so the write buffer only needs to hold one.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(options.max_frame_bytes))
        .max_frame_size(Some(options.max_frame_bytes));
    let connector = Connector::Rustls(super::tls::client_config());
    let handshake = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    );
    tracing::debug!(url = %url, dialect = %options.dialect, "connecting");
    let outcome = tokio::time::timeout(options.connect_timeout, handshake).await;
    let (socket, _response) = match outcome {
        Ok(Ok(ok)) => ok,
        failed => {
            let error = match failed {
                Ok(Err(err)) => handshake_error(err, options, &host, &addr),
                _ => ConnectError::Timeout {
                    host,
                    timeout: options.connect_timeout,
                },
            };
            tracing::warn!(%error, "handshake failed");
            return Err(error);
        }
    };
    tracing::debug!(url = %url, "connected");
    Ok(spawn_io(socket, options, recorder))
}

fn spawn_io(
    socket: Socket,
    options: &ConnectOptions,
    recorder: Option<Arc<dyn Recorder>>,
) -> Connection {
    let (sink, stream) = socket.split();
    let (out_tx, out_rx) = mpsc::channel(OUTGOING_CAPACITY);
    let (in_tx, in_rx) = mpsc::channel(INCOMING_CAPACITY);
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let last_seen = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_loop(
        sink,
        out_rx,
        cancel.clone(),
        recorder.clone(),
        options.keepalive,
        started,
        last_seen.clone(),
    ));
    let reader = tokio::spawn(read_loop(
        stream,
        in_tx,
        cancel.clone(),
        recorder,
        started,
        last_seen,
    ));
    Connection {
        sender: EventSender {
            tx: out_tx,
            dialect: options.dialect,
            next_id: Arc::new(AtomicU64::new(1)),
            closed: cancel.clone(),
        },
        events: EventStream { rx: in_rx },
        guard: ConnectionGuard {
            cancel,
            tasks: vec![writer, reader],
        },
    }
}
