//! The reader and writer tasks that own the socket's halves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

use super::connection::{CloseInfo, Incoming, Outgoing, Socket};
use super::{Direction, Recorder};
use crate::protocol::{DecodeError, ServerEvent};
pub(super) async fn write_loop(
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
    let cancelled = cancel.clone().cancelled_owned();
    tokio::pin!(cancelled);
    loop {
        tokio::select! {
            biased;
            _ = &mut cancelled => break,
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

pub(super) async fn read_loop(
    mut stream: futures_util::stream::SplitStream<Socket>,
    tx: mpsc::Sender<Raw>,
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
    let cancelled = cancel.clone().cancelled_owned();
    tokio::pin!(cancelled);
    loop {
        let message = tokio::select! {
            biased;
            _ = &mut cancelled => {
                if close.code.is_none() {
                    close.reason = "the connection was closed (keepalive timeout or local shutdown)".into();
                }
                break;
            }
            message = stream.next() => message,
        };
        last_seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let raw = match message {
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
                Raw::Text(text)
            }
            Some(Ok(Message::Binary(bytes))) => Raw::Binary(bytes.len()),
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
        if tx.send(raw).await.is_err() {
            // Nobody listens any more: stop reading.
            break;
        }
    }
    cancel.cancel();
    let _ = tx.send(Raw::Closed(close)).await;
}

/// What the reader task hands to the [`EventStream`](super::EventStream): frames still encoded,
/// so that the queue's slots stay small. A decoded event takes a few hundred bytes and a queue
/// allocates its slots 32 at a time, which made the queue a sizeable part of a session's memory;
/// the stream decodes each frame as it hands it out.
#[derive(Debug)]
pub(super) enum Raw {
    Text(tungstenite::Utf8Bytes),
    Binary(usize),
    Closed(CloseInfo),
}

impl Raw {
    /// The frame decoded.
    pub(super) fn decode(self) -> Incoming {
        match self {
            Raw::Text(text) => match ServerEvent::from_json(&text) {
                Ok(event) => Incoming::Event(event),
                Err(error) => Incoming::Malformed {
                    error,
                    frame: snippet(&text),
                },
            },
            Raw::Binary(len) => Incoming::Malformed {
                error: DecodeError::Binary(len),
                frame: String::new(),
            },
            Raw::Closed(info) => Incoming::Closed(info),
        }
    }
}

/// The first part of a frame, for logs (never the whole of a large audio frame).
pub(super) fn snippet(text: &str) -> String {
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
