//! What an agent reports while it runs, and the fan-out to every subscriber.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::protocol::{ApiError, McpCallError, ResponseStatus, UnknownEvent, Usage};

/// Where the conversation is, for a status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// Opening the connection (or reconnecting).
    Connecting,
    /// Waiting for the user.
    Listening,
    /// The user is speaking.
    UserSpeaking,
    /// The model is preparing an answer.
    Thinking,
    /// The assistant's audio is playing.
    Speaking,
    /// Tools are running.
    RunningTools,
    /// The session has ended.
    Closed,
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AgentState::Connecting => "connecting",
            AgentState::Listening => "listening",
            AgentState::UserSpeaking => "hearing you",
            AgentState::Thinking => "thinking",
            AgentState::Speaking => "speaking",
            AgentState::RunningTools => "running tools",
            AgentState::Closed => "closed",
        })
    }
}

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolStatus {
    /// It returned a result.
    Ok,
    /// It returned an error.
    Failed,
    /// Its arguments were not valid JSON or did not match its schema; it did not run.
    InvalidArguments,
    /// The model asked for a tool that does not exist.
    UnknownTool,
    /// It panicked.
    Panicked,
    /// It exceeded its timeout.
    TimedOut,
    /// It was cancelled (barge-in on a `cancel` tool).
    Cancelled,
    /// The user did not approve it.
    Rejected,
}

impl ToolStatus {
    /// Whether the tool produced a real result.
    pub fn is_ok(self) -> bool {
        self == ToolStatus::Ok
    }
}

/// Something an agent reports while it runs. Subscribe with
/// [`AgentHandle::subscribe`](super::AgentHandle::subscribe).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AgentEvent {
    /// The state of the conversation changed.
    State(AgentState),
    /// An MCP server failed to start, crashed or stopped answering, and is being restarted with
    /// backoff: one line for the user per outage. Its calls fail with a clear output meanwhile.
    McpServer {
        /// The server's name.
        server: String,
        /// What happened, in one line.
        message: String,
    },
    /// The session is open and configured (`session.updated` arrived).
    Ready {
        /// The server's session id.
        session_id: Option<String>,
    },
    /// The server detected the start of the user's speech.
    UserSpeechStarted,
    /// The server detected the end of the user's speech.
    UserSpeechStopped,
    /// More of the transcript of what the user said.
    UserTranscriptDelta {
        /// The user item.
        item_id: String,
        /// The new text.
        delta: String,
    },
    /// The whole transcript of what the user said (or the text they sent).
    UserTranscript {
        /// The user item.
        item_id: String,
        /// The text.
        text: String,
    },
    /// More of the assistant's answer: text, or the transcript of its audio.
    AssistantDelta {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
        /// The new text.
        delta: String,
    },
    /// The whole of one assistant message (its text or transcript).
    AssistantMessage {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
        /// The text.
        text: String,
    },
    /// A chunk of the assistant's audio, in the session output format. Only with
    /// [`AgentBuilder::audio_events`](super::AgentBuilder::audio_events) on.
    AssistantAudio {
        /// The response.
        response_id: String,
        /// The assistant item.
        item_id: String,
        /// The audio bytes.
        audio: Arc<[u8]>,
    },
    /// The user interrupted the assistant: playback stopped and the item was truncated to what
    /// was heard.
    Interrupted {
        /// The assistant item.
        item_id: String,
        /// How much of it was played.
        played_ms: u64,
        /// The part of its transcript that was heard (approximately: transcripts are not aligned
        /// with audio, so the cut is proportional to time, at a word boundary).
        heard_text: String,
    },
    /// A tool call is waiting for the user's approval
    /// ([`AgentHandle::approve`](super::AgentHandle::approve) or `reject`): a call to one of the
    /// agent's own tools, or one the API wants to make to a hosted MCP server.
    ApprovalRequested {
        /// The call id; for a hosted MCP call, the `mcp_approval_request` item's id.
        call_id: String,
        /// The tool.
        name: String,
        /// The arguments, as JSON text.
        arguments: String,
        /// The hosted MCP server (its label) that would run the call; `None` for the agent's
        /// own tools.
        server: Option<String>,
    },
    /// The API listed a hosted MCP server's tools (`mcp_list_tools.completed`).
    HostedMcpTools {
        /// The server's label.
        server_label: String,
        /// The names of its tools the model may use.
        tools: Vec<String>,
    },
    /// The API could not list a hosted MCP server's tools (`mcp_list_tools.failed`): the model
    /// cannot use them.
    HostedMcpToolsFailed {
        /// The server's label.
        server_label: String,
    },
    /// The API started calling a hosted MCP server's tool.
    HostedMcpCallStarted {
        /// The `mcp_call` item.
        item_id: String,
        /// The server's label.
        server_label: String,
        /// The tool.
        name: String,
        /// The arguments, as JSON text.
        arguments: String,
    },
    /// A hosted MCP call ended: the tool's output, or the error (`tool_execution_error`,
    /// `protocol_error`, `http_error`).
    HostedMcpCallFinished {
        /// The `mcp_call` item.
        item_id: String,
        /// The server's label.
        server_label: String,
        /// The tool.
        name: String,
        /// The arguments, as JSON text.
        arguments: String,
        /// What the tool returned, or why it failed.
        result: Result<String, McpCallError>,
    },
    /// A tool call started.
    ToolStarted {
        /// The call id.
        call_id: String,
        /// The tool.
        name: String,
        /// The arguments, as JSON text.
        arguments: String,
    },
    /// The conversation was handed to another agent (a `transfer_to_NAME` call): its
    /// instructions and tools are now the session's.
    HandedOff {
        /// The agent that handed over.
        from: String,
        /// The agent now answering.
        to: String,
    },
    /// A running tool call reported progress ([`ToolContext::progress`](crate::tool::ToolContext::progress)).
    ToolProgress {
        /// The call id.
        call_id: String,
        /// The tool.
        name: String,
        /// What it said.
        message: String,
    },
    /// A tool call answered at once and works on in the background
    /// ([`ToolContext::answer_now`](crate::tool::ToolContext::answer_now)); its real result
    /// follows as [`AgentEvent::ToolFinished`] and enters the conversation then.
    ToolAnsweredEarly {
        /// The call id.
        call_id: String,
        /// The tool.
        name: String,
        /// The `function_call_output` the model got now.
        output: String,
    },
    /// The assistant was asked to say a short filler while a tool works (an out-of-band
    /// response: it does not enter the conversation).
    FillerRequested {
        /// The call it covers.
        call_id: String,
        /// The tool.
        name: String,
    },
    /// A tool call finished and its output was posted (for a background call: its result
    /// entered the conversation, or will at the next quiet moment).
    ToolFinished {
        /// The call id.
        call_id: String,
        /// The tool.
        name: String,
        /// The arguments, as JSON text.
        arguments: String,
        /// The `function_call_output` the model gets.
        output: String,
        /// How it ended.
        status: ToolStatus,
        /// How long it ran.
        duration: Duration,
    },
    /// A response finished.
    ResponseDone {
        /// The response.
        response_id: String,
        /// How it ended.
        status: ResponseStatus,
        /// Its token usage.
        usage: Option<Box<Usage>>,
    },
    /// The latency figures of a turn that is over (reported just before [`AgentEvent::Idle`],
    /// or when the user cut the turn short).
    TurnMetrics(Box<super::TurnMetrics>),
    /// Nothing is left to do until the user speaks or writes again: no response is active or
    /// wanted, no tool runs and no audio plays. Reported once per exchange; the CLI's text and
    /// file modes wait for it.
    Idle,
    /// The server reported an error. The session goes on unless the server closes it.
    ServerError(ApiError),
    /// A frame from the server could not be decoded; it was skipped.
    MalformedFrame {
        /// Why.
        error: String,
    },
    /// The server sent an event type this crate does not know (kept whole).
    UnknownEvent(UnknownEvent),
    /// Microphone audio was lost or held back because the network did not keep up.
    InputAudioDropped {
        /// Milliseconds lost so far in this session.
        total_ms: u64,
    },
    /// An audio source or sink failed; the session goes on without it.
    AudioError(String),
    /// The connection dropped; a reconnect attempt follows after `delay`.
    Reconnecting {
        /// The attempt about to be made (1 for the first).
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// Why the connection is being replaced.
        reason: String,
    },
    /// A new connection is up and the conversation was replayed into it.
    Reconnected {
        /// Items replayed.
        replayed_items: usize,
    },
    /// This subscriber fell behind and missed events.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// The session ended.
    Closed {
        /// Why.
        reason: String,
    },
}

/// The events of one subscriber. Read with [`AgentEvents::recv`], or as a
/// [`Stream`](futures_util::Stream) (with `StreamExt`'s `next`, `filter`, …); either way it ends
/// once the agent has stopped and every event has been read.
#[derive(Debug)]
pub struct AgentEvents {
    rx: mpsc::Receiver<AgentEvent>,
}

impl futures_util::Stream for AgentEvents {
    type Item = AgentEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<AgentEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl AgentEvents {
    /// The next event; `None` once the agent has stopped and every event has been read.
    pub async fn recv(&mut self) -> Option<AgentEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<AgentEvent> {
        self.rx.try_recv().ok()
    }
}

struct Subscriber {
    tx: mpsc::Sender<AgentEvent>,
    missed: u64,
}

/// Sends each event to every subscriber without ever waiting: a subscriber whose queue is full
/// misses events and is told how many ([`AgentEvent::Lagged`]), so a slow reader cannot stall
/// the conversation and memory stays bounded.
#[derive(Clone, Default)]
pub(crate) struct EventBus {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    observers: Arc<Mutex<Vec<Observer>>>,
}

/// Called with each event by the task that emits it (mostly the agent's), under the bus's lock:
/// it must be quick, and must not emit on the same bus.
pub(crate) type Observer = Box<dyn FnMut(&AgentEvent) + Send>;

impl EventBus {
    pub(crate) fn subscribe(&self, capacity: usize) -> AgentEvents {
        let (tx, rx) = mpsc::channel(capacity.max(2));
        self.subscribers
            .lock()
            .expect("event bus lock")
            .push(Subscriber { tx, missed: 0 });
        AgentEvents { rx }
    }

    /// Calls `observer` with every event from now on, in place of a queue and a task that
    /// reads it: for a consumer that only counts or logs (a server's per-call bookkeeping).
    pub(crate) fn observe(&self, observer: Observer) {
        self.observers
            .lock()
            .expect("event bus lock")
            .push(observer);
    }

    /// Whether anyone listens (to skip building costly events for nobody).
    pub(crate) fn has_subscribers(&self) -> bool {
        !self.subscribers.lock().expect("event bus lock").is_empty()
            || !self.observers.lock().expect("event bus lock").is_empty()
    }

    pub(crate) fn emit(&self, event: AgentEvent) {
        for observer in self.observers.lock().expect("event bus lock").iter_mut() {
            observer(&event);
        }
        let mut subscribers = self.subscribers.lock().expect("event bus lock");
        subscribers.retain_mut(|sub| {
            if sub.missed > 0 {
                match sub.tx.try_send(AgentEvent::Lagged { missed: sub.missed }) {
                    Ok(()) => sub.missed = 0,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        sub.missed += 1;
                        return true;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            match sub.tx.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    sub.missed += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Drops every subscriber's sender so that their streams end after the queued events.
    pub(crate) fn close(&self) {
        self.subscribers.lock().expect("event bus lock").clear();
        self.observers.lock().expect("event bus lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observers_see_every_event_until_the_bus_closes() {
        let bus = EventBus::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        bus.observe(Box::new(move |event| {
            log.lock().unwrap().push(format!("{event:?}"));
        }));
        assert!(bus.has_subscribers());
        bus.emit(AgentEvent::UserSpeechStarted);
        bus.emit(AgentEvent::Idle);
        bus.close();
        bus.emit(AgentEvent::UserSpeechStarted);
        assert!(!bus.has_subscribers());
        assert_eq!(*seen.lock().unwrap(), ["UserSpeechStarted", "Idle"]);
    }

    #[tokio::test]
    async fn slow_subscribers_lag_instead_of_blocking() {
        let bus = EventBus::default();
        let mut events = bus.subscribe(2);
        for _ in 0..5 {
            bus.emit(AgentEvent::UserSpeechStarted);
        }
        // Two fit; three were missed. The next emit first reports the gap.
        assert!(matches!(
            events.recv().await,
            Some(AgentEvent::UserSpeechStarted)
        ));
        assert!(matches!(
            events.recv().await,
            Some(AgentEvent::UserSpeechStarted)
        ));
        bus.emit(AgentEvent::UserSpeechStopped);
        assert!(matches!(
            events.recv().await,
            Some(AgentEvent::Lagged { missed: 3 })
        ));
        assert!(matches!(
            events.recv().await,
            Some(AgentEvent::UserSpeechStopped)
        ));
        bus.close();
        assert!(events.recv().await.is_none());
    }
}
