//! `/twilio/media`: the Media Streams WebSocket. It is refused unless its `start` carries a
//! fresh one-time token minted by a verified webhook for the same call; then the caller's µ-law
//! goes to the session unchanged and the answer comes back as `media` frames with marks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State as Shared;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use base64::Engine as _;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::messages::{Inbound, Outbound, StartInfo};
use super::sink::{Marks, TwilioSink};
use crate::agent::AgentHandle;
use crate::audio::{AudioError, ChannelFeeder, ChannelSource};
use crate::protocol::AudioFormat;
use crate::serve::metrics::{Channel, ErrorKind};
use crate::serve::session::{self, CallInfo};
use crate::serve::slots::Slot;
use crate::serve::state::State;

/// How long a new socket may take to send `start`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Caller audio frames (20 ms each) that may wait for the session: 2 seconds.
const INPUT_QUEUE: usize = 100;
/// Read buffer of the socket. Twilio's messages are small (a 20 ms `media` is about 300 bytes)
/// and tungstenite zero-fills the free part of this buffer on every read, so the default
/// (128 KiB) would cost most of a call's memory and a large memset per frame.
const READ_BUFFER: usize = 2 * 1024;
/// Queued outgoing bytes past which a write goes out before the flush.
const WRITE_BUFFER: usize = 8 * 1024;
/// WebSocket close code for a policy violation (no valid token).
const POLICY: u16 = 1008;
/// WebSocket close code for "try again later" (at max_sessions).
const TRY_LATER: u16 = 1013;

/// `GET /twilio/media` (upgraded to a WebSocket).
pub(crate) async fn media(Shared(state): Shared<Arc<State>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(1 << 20)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| stream(state, socket))
}

type Writer = SplitSink<WebSocket, Message>;

async fn close(mut writer: Writer, code: u16, reason: &'static str) {
    let _ = writer
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
}

/// Reads until `start` (skipping `connected`); `None` if anything else comes first.
async fn read_start(reader: &mut SplitStream<WebSocket>) -> Option<StartInfo> {
    while let Some(Ok(message)) = reader.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        match Inbound::from_json(&text) {
            Ok(Inbound::Connected) => continue,
            Ok(Inbound::Start { start }) => return Some(start),
            _ => return None,
        }
    }
    None
}

async fn stream(state: Arc<State>, socket: WebSocket) {
    let (writer, mut reader) = socket.split();
    let start = match tokio::time::timeout(START_TIMEOUT, read_start(&mut reader)).await {
        Ok(Some(start)) => start,
        _ => {
            state.error(ErrorKind::SocketRefused);
            tracing::warn!("media socket refused: no start message");
            return close(writer, POLICY, "expected start").await;
        }
    };
    // A token works once, for the call it was minted for.
    let redeemed = start
        .custom_parameters
        .get("token")
        .and_then(|token| state.tokens.redeem(token));
    if redeemed.as_deref() != Some(start.call_sid.as_str()) {
        state.error(ErrorKind::SocketRefused);
        tracing::warn!(call_id = %start.call_sid, "media socket refused: no valid one-time token");
        return close(writer, POLICY, "invalid token").await;
    }
    if let Some(format) = &start.media_format
        && (format.encoding != "audio/x-mulaw" || format.sample_rate != 8000)
    {
        tracing::warn!(call_id = %start.call_sid, encoding = %format.encoding, "media socket refused: not µ-law 8 kHz");
        return close(writer, POLICY, "audio/x-mulaw 8000 expected").await;
    }
    let Some(slot) = state.slots.try_acquire(Channel::Twilio) else {
        state.error(ErrorKind::AtCapacity);
        tracing::warn!(call_id = %start.call_sid, "media socket refused: at max_sessions");
        return close(writer, TRY_LATER, "busy").await;
    };
    let call = CallInfo {
        id: start.call_sid.clone(),
        channel: Channel::Twilio,
    };
    let Running {
        handle,
        feeder,
        marks,
        mut run,
        writer_task,
    } = match begin(&state, &start, call.clone(), slot, writer) {
        Ok(running) => running,
        Err(writer) => return close(writer, 1011, "agent unavailable").await,
    };

    loop {
        tokio::select! {
            _ = &mut run => break,
            message = reader.next() => {
                let Some(Ok(message)) = message else { break };
                let Message::Text(text) = message else { continue };
                match Inbound::from_json(&text) {
                    Ok(Inbound::Media { media }) => {
                        if media.track.as_deref().is_some_and(|t| t != "inbound") {
                            continue;
                        }
                        let Ok(audio) = base64::engine::general_purpose::STANDARD.decode(media.payload.as_bytes()) else {
                            continue;
                        };
                        match feeder.try_push_encoded(&audio) {
                            Ok(()) => {}
                            Err(AudioError::QueueFull) => state.metrics.frames_dropped(1),
                            Err(_) => break,
                        }
                    }
                    Ok(Inbound::Mark { mark }) => marks.lock().expect("marks lock").acknowledge(&mark.name),
                    Ok(Inbound::Dtmf { dtmf }) => session::dtmf(&state, &handle, &call.id, &dtmf.digit).await,
                    Ok(Inbound::Stop) => break,
                    Ok(_) => {}
                    Err(error) => tracing::debug!(call_id = %call.id, %error, "unreadable media message skipped"),
                }
            }
        }
    }
    // The caller hung up (or the session ended): end the session, then the socket.
    handle.shutdown();
    drop(feeder);
    if !run.is_finished() {
        let _ = run.await;
    }
    let _ = writer_task.await;
}

/// A call's session, started.
struct Running {
    handle: AgentHandle,
    feeder: ChannelFeeder,
    marks: Arc<Mutex<Marks>>,
    run: JoinHandle<()>,
    writer_task: JoinHandle<()>,
}

/// Builds the call's agent and starts its tasks; gives the writer back if the agent cannot be
/// built. Not async: the socket's task holds only what `Running` holds, not the builder and
/// the agent that were moved away (an async fn keeps a slot for every local in scope at an
/// await).
fn begin(
    state: &Arc<State>,
    start: &StartInfo,
    call: CallInfo,
    slot: Slot,
    writer: Writer,
) -> Result<Running, Writer> {
    // µ-law 8 kHz both ways: the caller's bytes go to the session as they are.
    let format = AudioFormat::G711Ulaw;
    let (source, feeder) = ChannelSource::new(format, 20, INPUT_QUEUE).expect("valid parameters");
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let marks = Arc::new(Mutex::new(Marks::default()));
    let sink = TwilioSink::new(out_tx, marks.clone());
    let Some(agent) = session::build_with_audio(state, &call, format, source, sink) else {
        return Err(writer);
    };
    Ok(Running {
        handle: agent.handle(),
        feeder,
        marks,
        writer_task: tokio::spawn(write(writer, out_rx, start.stream_sid.clone())),
        run: tokio::spawn(session::run(state.clone(), agent, call, slot)),
    })
}

/// Sends the sink's messages to Twilio until the session drops the sink, then closes. What is
/// queued together (a `media` and its `mark` at least) goes out in one write.
async fn write(mut writer: Writer, mut out: mpsc::UnboundedReceiver<Outbound>, stream_sid: String) {
    while let Some(first) = out.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            let frame = Message::Text(message.to_json(&stream_sid).into());
            if writer.feed(frame).await.is_err() {
                return;
            }
            next = out.try_recv().ok();
        }
        if writer.flush().await.is_err() {
            return;
        }
    }
    close(writer, 1000, "call ended").await;
}
