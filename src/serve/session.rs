//! Running one call's agent: its log span, its counters, its end.

use std::sync::Arc;

use tracing::Instrument as _;

use super::events::ServeEvent;
use super::metrics::{Channel, ErrorKind};
use super::slots::Slot;
use super::state::State;
use crate::agent::event::Observer;
use crate::agent::{Agent, AgentBuilder, AgentEvent, AgentHandle};
use crate::audio::{AudioSink, AudioSource};
use crate::protocol::AudioFormat;

/// Who is on a call.
#[derive(Debug, Clone)]
pub(crate) struct CallInfo {
    pub(crate) id: String,
    pub(crate) channel: Channel,
}

/// The agent builder every call starts from: agent.toml's connection, session and tools (and
/// the Rust ones), with the key when its variable is set.
pub(crate) fn builder(state: &State) -> Result<AgentBuilder, crate::config::ConfigError> {
    let options = &state.options;
    Ok(options
        .config
        .agent_builder_with(&options.rust_tools)?
        .audio_events(false))
}

/// The agent for a call whose audio passes through us (Twilio, the browser): agent.toml's
/// session in `format` both ways, with the call's own source and sink. On failure the error is
/// counted and logged with the call id.
pub(crate) fn build_with_audio(
    state: &State,
    call: &CallInfo,
    format: AudioFormat,
    source: impl AudioSource + 'static,
    sink: impl AudioSink + 'static,
) -> Option<Agent> {
    let mut session_config = state.options.config.session();
    session_config.input_audio_format = Some(format);
    session_config.output_audio_format = Some(format);
    let agent = builder(state).map_err(|e| e.to_string()).and_then(|b| {
        b.session(session_config)
            .audio_source(source)
            .audio_sink(sink)
            .build()
            .map_err(|e| e.to_string())
    });
    match agent {
        Ok(agent) => Some(agent),
        Err(error) => {
            state.error(ErrorKind::Session);
            tracing::error!(call_id = %call.id, %error, "the agent could not be built");
            None
        }
    }
}

/// Runs `agent` for `call` until it ends (the caller hung up and `handle.shutdown()` was
/// called, the session failed, or the server's drain time ran out). Logs and counters carry the
/// call id; the slot is freed at the end.
pub(crate) async fn run(state: Arc<State>, agent: Agent, call: CallInfo, slot: Slot) {
    let span = tracing::info_span!("call", call_id = %call.id, channel = call.channel.as_str());
    async move {
        let handle = agent.handle();
        // Counted and logged as they are emitted: no queue, no task of its own.
        handle.observe(watch(state.clone(), call.clone()));
        tracing::info!("session started");
        state.emit(ServeEvent::CallStarted {
            call_id: call.id.clone(),
            channel: call.channel,
        });
        // The server's drain time ran out: the session ends (and still answers its calls). A
        // task of its own, waiting once: polled with the session, the shared token's waiter
        // list would be locked on every wake-up of every session.
        let end = state.end_sessions.clone();
        let stop = handle.clone();
        let drain = tokio::spawn(async move {
            end.cancelled().await;
            stop.shutdown();
        });
        // On the heap, as the agent loop is: this task holds a pointer to the session.
        let outcome = Box::pin(agent.run()).await;
        drain.abort();
        let reason = match outcome {
            Ok(summary) => {
                tracing::info!(
                    seconds = summary.duration.as_secs_f64(),
                    tool_calls = summary.tool_calls,
                    "session ended"
                );
                if state.end_sessions.is_cancelled() {
                    "the server is shutting down".to_owned()
                } else {
                    "ended".to_owned()
                }
            }
            Err(error) => {
                state.error(ErrorKind::Session);
                tracing::warn!(%error, "session failed");
                error.to_string()
            }
        };
        drop(slot);
        state.emit(ServeEvent::CallEnded {
            call_id: call.id,
            channel: call.channel,
            reason,
        });
    }
    .instrument(span)
    .await
}

/// Follows a call's events into counters and the log.
fn watch(state: Arc<State>, call: CallInfo) -> Observer {
    let mut dropped_ms = 0;
    Box::new(move |event| {
        match event {
            AgentEvent::InputAudioDropped { total_ms } => {
                // Caller audio the session lost on its way to the model, in 20 ms frames.
                state
                    .metrics
                    .frames_dropped(total_ms.saturating_sub(dropped_ms).div_ceil(20));
                dropped_ms = dropped_ms.max(*total_ms);
            }
            AgentEvent::ToolFinished {
                name,
                output,
                status,
                duration,
                ..
            } => {
                state.metrics.tool_call(name, *duration);
                if !status.is_ok() {
                    state.error(ErrorKind::Tool);
                }
                tracing::info!(tool = %name, ?status, ms = duration.as_millis() as u64, "tool call");
                state.emit(ServeEvent::ToolCall {
                    call_id: call.id.clone(),
                    name: name.clone(),
                    output: output.clone(),
                });
            }
            AgentEvent::ServerError(error) => {
                state.error(ErrorKind::Server);
                tracing::warn!(%error, "server error");
            }
            AgentEvent::Reconnecting {
                attempt, reason, ..
            } => {
                tracing::warn!(attempt, %reason, "reconnecting");
            }
            AgentEvent::Interrupted { played_ms, .. } => {
                tracing::debug!(played_ms, "caller interrupted");
            }
            _ => {}
        }
    })
}

/// Sends a keypad digit to the model as text when `[serve] dtmf_as_text` says so; always
/// reports it.
pub(crate) async fn dtmf(state: &State, handle: &AgentHandle, call_id: &str, digit: &str) {
    tracing::info!(digit, "keypad digit");
    state.emit(ServeEvent::Dtmf {
        call_id: call_id.to_owned(),
        digit: digit.to_owned(),
    });
    if state.options.dtmf_as_text {
        let _ = handle.send_text(format!("[DTMF {digit}]")).await;
    }
}
