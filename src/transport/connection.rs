//! An open Realtime connection: a clonable sender and an ordered stream of server events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::{AuthStyle, ConnectError, ConnectOptions, Direction, Recorder, SendError};
use crate::protocol::{ClientEvent, DecodeError, Dialect, ServerEvent, encode_audio_append};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How many frames may wait for the writer task before senders wait (or `try_send` fails).
const OUTGOING_CAPACITY: usize = 512;
/// How many decoded events may wait for the consumer before the reader stops reading.
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

enum Outgoing {
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
        self.send_frame(encode_audio_append(&self.next_event_id(), audio))
            .await
    }

    /// Like [`EventSender::send_audio`] but fails at once when the queue is full.
    pub fn try_send_audio(&self, audio: &[u8]) -> Result<(), SendError> {
        self.try_send_frame(encode_audio_append(&self.next_event_id(), audio))
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
    rx: mpsc::Receiver<Incoming>,
}

impl EventStream {
    /// The next thing from the server; `None` after [`Incoming::Closed`]. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Incoming> {
        self.rx.recv().await
    }

    /// The next thing from the server if it has already arrived.
    pub fn try_recv(&mut self) -> Option<Incoming> {
        self.rx.try_recv().ok()
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
        self.sender.close().await;
        let (_, mut events, guard) = self.into_parts();
        // Drain until the reader reports the close, bounded in case the peer never answers.
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

    let config = WebSocketConfig::default()
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

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<Socket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    cancel: CancellationToken,
    recorder: Option<Arc<dyn Recorder>>,
    keepalive: Option<Duration>,
    started: Instant,
    last_seen: Arc<AtomicU64>,
) {
    let period = keepalive.unwrap_or(Duration::from_secs(3600));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            next = rx.recv() => {
                let Some(first) = next else {
                    // Every sender is gone: say goodbye properly.
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000.into(), reason: "".into() }))).await;
                    break;
                };
                // Feed everything already queued, then flush once: one write for a burst.
                let mut next = Some(first);
                let mut closing = None;
                while let Some(outgoing) = next.take() {
                    match outgoing {
                        Outgoing::Frame(frame) => {
                            if let Some(recorder) = &recorder {
                                recorder.record(Direction::Sent, &frame);
                            }
                            if sink.feed(Message::text(frame)).await.is_err() {
                                cancel.cancel();
                                return;
                            }
                        }
                        Outgoing::Close { code, reason } => {
                            closing = Some(CloseFrame { code: code.into(), reason: reason.into() });
                            break;
                        }
                    }
                    next = rx.try_recv().ok();
                }
                if let Some(frame) = closing {
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
                if sink.flush().await.is_err() {
                    cancel.cancel();
                    return;
                }
            }
            _ = ping.tick(), if keepalive.is_some() => {
                let silent_ms = (started.elapsed().as_millis() as u64)
                    .saturating_sub(last_seen.load(Ordering::Relaxed));
                if silent_ms > 2 * period.as_millis() as u64 {
                    tracing::warn!(silent_ms, "no frame or pong from the server; treating the connection as dead");
                    cancel.cancel();
                    return;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    cancel.cancel();
                    return;
                }
            }
        }
    }
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<Socket>,
    tx: mpsc::Sender<Incoming>,
    cancel: CancellationToken,
    recorder: Option<Arc<dyn Recorder>>,
    started: Instant,
    last_seen: Arc<AtomicU64>,
) {
    let mut close = CloseInfo {
        code: None,
        reason: "the connection was dropped without a close frame".into(),
        clean: false,
    };
    loop {
        let message = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                if close.code.is_none() {
                    close.reason = "the connection was closed (keepalive timeout or local shutdown)".into();
                }
                break;
            }
            message = stream.next() => message,
        };
        last_seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let incoming = match message {
            None => break,
            Some(Err(err)) => {
                close.reason = match err {
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                        close.reason
                    }
                    other => format!("the connection broke: {other}"),
                };
                break;
            }
            Some(Ok(Message::Text(text))) => {
                if let Some(recorder) = &recorder {
                    recorder.record(Direction::Received, &text);
                }
                match ServerEvent::from_json(&text) {
                    Ok(event) => Incoming::Event(event),
                    Err(error) => Incoming::Malformed {
                        error,
                        frame: snippet(&text),
                    },
                }
            }
            Some(Ok(Message::Binary(bytes))) => Incoming::Malformed {
                error: DecodeError::Binary(bytes.len()),
                frame: String::new(),
            },
            Some(Ok(Message::Close(frame))) => {
                close = match frame {
                    Some(frame) => CloseInfo {
                        code: Some(frame.code.into()),
                        reason: frame.reason.to_string(),
                        clean: true,
                    },
                    None => CloseInfo {
                        code: None,
                        reason: String::new(),
                        clean: true,
                    },
                };
                // tungstenite answers the close; keep reading until the stream ends.
                continue;
            }
            Some(Ok(_)) => continue, // ping/pong: tungstenite answers pings itself
        };
        if tx.send(incoming).await.is_err() {
            // Nobody listens any more: stop reading.
            break;
        }
    }
    cancel.cancel();
    let _ = tx.send(Incoming::Closed(close)).await;
}

/// The first part of a frame, for logs (never the whole of a large audio frame).
fn snippet(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

fn handshake_error(
    err: tungstenite::Error,
    options: &ConnectOptions,
    host: &str,
    addr: &str,
) -> ConnectError {
    let scrub = |text: String| match &options.api_key {
        Some(key) => key.scrub(&text),
        None => text,
    };
    match err {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let message = response
                .body()
                .as_deref()
                .map(|body| scrub(error_message(body)))
                .filter(|m| !m.is_empty());
            match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectError::Unauthorized {
                    status: status.as_u16(),
                    message,
                },
                StatusCode::NOT_FOUND => ConnectError::NotFound {
                    model: options.model.clone(),
                    message,
                },
                StatusCode::TOO_MANY_REQUESTS => ConnectError::RateLimited {
                    retry_after: response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after),
                    message,
                },
                other => ConnectError::Http {
                    status: other.as_u16(),
                    message,
                },
            }
        }
        tungstenite::Error::Io(io) => io_error(io, host, addr, &scrub),
        tungstenite::Error::Tls(tls) => ConnectError::Tls {
            host: host.to_owned(),
            reason: scrub(tls.to_string()),
        },
        other => ConnectError::Other {
            host: host.to_owned(),
            reason: scrub(other.to_string()),
        },
    }
}

fn io_error(
    io: std::io::Error,
    host: &str,
    addr: &str,
    scrub: &dyn Fn(String) -> String,
) -> ConnectError {
    use std::io::ErrorKind;
    let text = io.to_string();
    match io.kind() {
        ErrorKind::ConnectionRefused => ConnectError::Refused {
            addr: addr.to_owned(),
        },
        ErrorKind::TimedOut => ConnectError::Timeout {
            host: host.to_owned(),
            timeout: Duration::ZERO,
        },
        _ if text.contains("failed to lookup address")
            || text.contains("Name or service not known")
            || text.contains("nodename nor servname") =>
        {
            ConnectError::Dns {
                host: host.to_owned(),
                reason: text,
            }
        }
        _ if io
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            ConnectError::Tls {
                host: host.to_owned(),
                reason: scrub(text),
            }
        }
        _ => ConnectError::Other {
            host: host.to_owned(),
            reason: scrub(text),
        },
    }
}

/// The `error.message` of an OpenAI JSON error body, else the body text (shortened).
fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| snippet(text.trim()))
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and treated as unknown).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn error_message_prefers_the_json_message() {
        assert_eq!(
            error_message(br#"{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}"#),
            "Incorrect API key"
        );
        assert_eq!(error_message(b"plain text"), "plain text");
    }
}
