//! The agent loop: one task that owns the session state and reacts to the server, the tools,
//! the handle and the clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SessionSummary;
use super::builder::Settings;
use super::calls::{Calls, Decision, Finished};
use super::event::{AgentEvent, AgentState, EventBus};
use super::gate::{ResponseGate, Want};
use super::handle::Command;
use super::history::History;
use super::speech::Speech;
use super::uplink::Uplink;
use super::usage::UsageTotals;
use crate::audio::{AudioSink, AudioSource};
use crate::protocol::{
    AudioFormat, ClientEvent, Dialect, Item, ResponseCreate, ResponseOptions, ServerEvent,
    SessionConfig, SessionKind,
};
use crate::tool::SessionInfo;
use crate::transport::{
    CloseInfo, ConnectError, Connection, ConnectionGuard, EventSender, EventStream, Incoming,
    connect_with_recorder,
};

/// The largest tool output sent to the model; longer ones are cut (a tool's output can be
/// anything, and the whole conversation is input on every turn).
const MAX_TOOL_OUTPUT_BYTES: usize = 64 * 1024;

/// Cuts `output` to [`MAX_TOOL_OUTPUT_BYTES`] at a character boundary, saying so.
fn cap_output(output: &mut String) {
    if output.len() <= MAX_TOOL_OUTPUT_BYTES {
        return;
    }
    let total = output.len();
    let mut end = MAX_TOOL_OUTPUT_BYTES;
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    output.truncate(end);
    output.push_str(&format!(
        "\n[output cut: {total} bytes, the first {end} shown]"
    ));
}

/// Error codes that are benign races (the protocol notes say to swallow them).
const BENIGN_ERRORS: &[&str] = &[
    "response_cancel_not_active",
    "item_truncate_invalid_item_id",
];

/// An agent that has been built but not started.
pub(crate) struct Runtime {
    settings: Settings,
    bus: EventBus,
    commands: mpsc::Receiver<Command>,
    commands_tx: mpsc::Sender<Command>,
    shutdown: CancellationToken,
    source: Option<Box<dyn AudioSource>>,
    sink: Option<Box<dyn AudioSink>>,
}

struct Live {
    sender: EventSender,
    events: EventStream,
    guard: ConnectionGuard,
    opened: Instant,
}

struct Reconnect {
    attempt: u32,
    at: tokio::time::Instant,
    task: Option<JoinHandle<Result<Connection, ConnectError>>>,
    /// A planned rotation (session time limit) keeps the old connection until the new is up.
    rotation: bool,
}

// A step lives for one loop iteration; boxing the common `Incoming` would cost an allocation
// per server event.
#[allow(clippy::large_enum_variant)]
enum Step {
    Shutdown,
    Finished(Finished),
    Incoming(Option<Incoming>),
    Command(Option<Command>),
    ReconnectDue,
    Connected(Result<Connection, ConnectError>),
    Tick,
}

struct Loop {
    settings: Settings,
    bus: EventBus,
    commands: mpsc::Receiver<Command>,
    shutdown: CancellationToken,
    sink: Option<Box<dyn AudioSink>>,
    dialect: Dialect,
    session: SessionConfig,
    output_format: AudioFormat,
    live: Option<Live>,
    sender_watch: watch::Sender<Option<EventSender>>,
    gate: ResponseGate,
    calls: Calls,
    speech: Speech,
    history: History,
    usage: UsageTotals,
    state: AgentState,
    ready: bool,
    user_speaking: bool,
    idle_reported: bool,
    outbox: VecDeque<ClientEvent>,
    next_options: Option<ResponseOptions>,
    call_names: HashMap<String, String>,
    response_items: HashMap<String, Vec<String>>,
    heard: HashMap<String, String>,
    reconnect: Option<Reconnect>,
    tool_calls: u64,
    started: Instant,
}

impl Runtime {
    pub(crate) fn new(
        settings: Settings,
        bus: EventBus,
        commands: mpsc::Receiver<Command>,
        commands_tx: mpsc::Sender<Command>,
        shutdown: CancellationToken,
        source: Option<Box<dyn AudioSource>>,
        sink: Option<Box<dyn AudioSink>>,
    ) -> Self {
        Runtime {
            settings,
            bus,
            commands,
            commands_tx,
            shutdown,
            source,
            sink,
        }
    }

    pub(crate) async fn run(self) -> Result<SessionSummary, crate::Error> {
        let Runtime {
            settings,
            bus,
            commands,
            commands_tx,
            shutdown,
            source,
            sink,
        } = self;
        let dialect = settings.connect.dialect;
        let mut session = settings.session.clone();
        session.tools = Some(settings.tools.definitions());
        if !settings.tools.is_empty() || session.tool_choice.is_none() {
            session.tool_choice = Some(settings.tools.tool_choice().clone());
        }
        if dialect == Dialect::Ga && session.kind.is_none() {
            session.kind = Some(SessionKind::Realtime);
        }
        let info = SessionInfo::new(settings.connect.model.clone(), dialect);
        let (sender_watch, sender_rx) = watch::channel(None);
        let uplink_cancel = shutdown.child_token();
        let mut state = Loop {
            calls: Calls::new(settings.tools.clone(), info),
            history: History::new(settings.history_budget_chars),
            output_format: session.output_audio_format.unwrap_or_default(),
            settings,
            bus,
            commands,
            shutdown,
            sink,
            dialect,
            session: session.clone(),
            live: None,
            sender_watch,
            gate: ResponseGate::default(),
            speech: Speech::default(),
            usage: UsageTotals::default(),
            state: AgentState::Connecting,
            ready: false,
            user_speaking: false,
            idle_reported: true,
            outbox: VecDeque::new(),
            next_options: None,
            call_names: HashMap::new(),
            response_items: HashMap::new(),
            heard: HashMap::new(),
            reconnect: None,
            tool_calls: 0,
            started: Instant::now(),
        };
        state.bus.emit(AgentEvent::State(AgentState::Connecting));

        // The first connection: a refused key or a wrong URL is the caller's to fix, so it
        // fails the run rather than retrying.
        let connection = tokio::select! {
            _ = state.shutdown.cancelled() => {
                state.bus.emit(AgentEvent::Closed { reason: "shut down before connecting".into() });
                state.bus.close();
                return Ok(state.summary());
            }
            connection = connect_with_recorder(&state.settings.connect, state.settings.recorder.clone()) => connection,
        };
        let connection = match connection {
            Ok(connection) => connection,
            Err(error) => {
                state.bus.emit(AgentEvent::Closed {
                    reason: error.to_string(),
                });
                state.bus.close();
                return Err(crate::Error::Connect(error));
            }
        };
        state.install(connection, false).await;

        let uplink = source.map(|source| {
            tokio::spawn(
                Uplink {
                    source,
                    sender: sender_rx,
                    commands: commands_tx,
                    bus: state.bus.clone(),
                    cancel: uplink_cancel.clone(),
                    format: session.input_audio_format.unwrap_or_default(),
                    hold_ms: state.settings.input_buffer_ms,
                }
                .run(),
            )
        });

        let outcome = state.run_loop().await;

        uplink_cancel.cancel();
        if let Some(uplink) = uplink {
            let _ = uplink.await;
        }
        state.finish(&outcome).await;
        outcome.map(|()| state.summary())
    }
}

async fn recv_live(live: &mut Option<Live>) -> Option<Incoming> {
    match live {
        Some(live) => live.events.recv().await,
        None => std::future::pending().await,
    }
}

async fn reconnect_step(reconnect: &mut Option<Reconnect>) -> Step {
    let Some(plan) = reconnect else {
        return std::future::pending().await;
    };
    match &mut plan.task {
        None => {
            tokio::time::sleep_until(plan.at).await;
            Step::ReconnectDue
        }
        Some(task) => match task.await {
            Ok(result) => Step::Connected(result),
            Err(_) => Step::Connected(Err(ConnectError::Other {
                host: String::new(),
                reason: "the connection attempt was aborted".into(),
            })),
        },
    }
}

impl Loop {
    async fn run_loop(&mut self) -> Result<(), crate::Error> {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // Kept across iterations: registering a fresh waiter every time costs a lock each.
        let shutdown = self.shutdown.clone().cancelled_owned();
        tokio::pin!(shutdown);
        loop {
            let watching_playback =
                self.state == AgentState::Speaking || !self.idle_reported || self.gate.held();
            let step = tokio::select! {
                biased;
                _ = &mut shutdown => Step::Shutdown,
                finished = self.calls.next_finished() => Step::Finished(finished),
                incoming = recv_live(&mut self.live) => Step::Incoming(incoming),
                command = self.commands.recv() => Step::Command(command),
                step = reconnect_step(&mut self.reconnect) => step,
                _ = tick.tick(), if watching_playback => Step::Tick,
            };
            match step {
                Step::Shutdown => return Ok(()),
                Step::Finished(finished) => self.on_finished(finished).await,
                Step::Incoming(incoming) => {
                    self.on_incoming(incoming).await?;
                    // Take whatever else has arrived in the same burst before looking around
                    // again: one wake-up for a burst of events, not one per event.
                    for _ in 0..64 {
                        let Some(next) = self.live.as_mut().and_then(|l| l.events.try_recv())
                        else {
                            break;
                        };
                        self.on_incoming(Some(next)).await?;
                    }
                }
                Step::Command(Some(command)) => self.on_command(command).await,
                // Every handle is gone and nothing can drive the agent: end.
                Step::Command(None) => return Ok(()),
                Step::ReconnectDue => self.start_reconnect(),
                Step::Connected(result) => self.on_reconnected(result).await?,
                Step::Tick => {}
            }
            self.pump().await;
            self.refresh_state();
        }
    }

    async fn on_incoming(&mut self, incoming: Option<Incoming>) -> Result<(), crate::Error> {
        match incoming {
            Some(Incoming::Event(event)) => self.on_event(event).await,
            Some(Incoming::Malformed { error, frame }) => {
                tracing::warn!(%error, frame, "skipped a malformed frame");
                self.bus.emit(AgentEvent::MalformedFrame {
                    error: error.to_string(),
                });
            }
            Some(Incoming::Closed(info)) => self.on_closed(info)?,
            None => self.on_closed(CloseInfo {
                code: None,
                reason: "the connection ended".into(),
                clean: false,
            })?,
        }
        Ok(())
    }

    fn summary(&self) -> SessionSummary {
        SessionSummary {
            usage: self.usage,
            tool_calls: self.tool_calls,
            duration: self.started.elapsed(),
        }
    }

    /// Sends `event` on the live connection; `None` when there is none (or it just closed).
    async fn send(&mut self, event: ClientEvent) -> Option<String> {
        let live = self.live.as_ref()?;
        live.sender.send(event).await.ok()
    }

    /// Sends `event`, or keeps it for the next connection: for what must not be lost.
    async fn post(&mut self, event: ClientEvent) {
        if self.live.is_some() && self.send(event.clone()).await.is_some() {
            self.remember(&event);
        } else {
            self.outbox.push_back(event);
        }
    }

    /// Keeps a conversation item we sent for replay. Only items that went out are kept: what
    /// waits in the outbox is sent (and then kept) after the replay, never twice.
    fn remember(&mut self, event: &ClientEvent) {
        let ClientEvent::ConversationItemCreate(create) = event else {
            return;
        };
        match &create.item {
            Item::FunctionCallOutput(output) => self
                .history
                .function_output(&output.call_id, &output.output),
            Item::Message(message) => {
                for part in &message.content {
                    if let Some(text) = part.words() {
                        self.history.user_text(text);
                    }
                }
            }
            _ => {}
        }
    }

    /// Puts a new connection in place: configure, replay, send what waited.
    async fn install(&mut self, connection: Connection, replay: bool) -> usize {
        let (sender, events, guard) = connection.into_parts();
        let mut replayed = 0;
        let _ = sender
            .send(ClientEvent::session_update(self.session.clone()))
            .await;
        if replay {
            let items: Vec<Item> = self.history.items().cloned().collect();
            for item in items {
                if sender.send(ClientEvent::item_create(item)).await.is_ok() {
                    replayed += 1;
                }
            }
        }
        while let Some(event) = self.outbox.pop_front() {
            if sender.send(event.clone()).await.is_err() {
                self.outbox.push_front(event);
                break;
            }
            self.remember(&event);
        }
        self.gate.reset();
        let _ = self.sender_watch.send(Some(sender.clone()));
        if let Some(old) = self.live.replace(Live {
            sender,
            events,
            guard,
            opened: Instant::now(),
        }) {
            // A rotation: the old session is no longer needed.
            old.sender.close().await;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                old.guard.shutdown().await;
            });
        }
        replayed
    }

    fn on_closed(&mut self, info: CloseInfo) -> Result<(), crate::Error> {
        let was_rotating = self.reconnect.as_ref().is_some_and(|r| r.rotation);
        self.live = None;
        let _ = self.sender_watch.send(None);
        if self.shutdown.is_cancelled() {
            return Ok(());
        }
        let reason = match info.code {
            Some(code) => format!("closed by the server ({code}) {}", info.reason),
            None => info.reason.clone(),
        };
        tracing::warn!(%reason, "connection lost");
        if self.settings.reconnect.max_attempts == 0 {
            return Err(crate::Error::Disconnected(info));
        }
        // Responses in flight on the old connection are gone: their calls' outputs go to the new
        // session, and a finished batch asks for its follow-up there.
        if self.calls.connection_lost() {
            self.gate.want(Want::ToolOutputs);
        }
        self.gate.reset();
        if was_rotating && self.reconnect.is_some() {
            return Ok(());
        }
        self.schedule_reconnect(1, None, reason);
        Ok(())
    }

    fn schedule_reconnect(&mut self, attempt: u32, at_least: Option<Duration>, reason: String) {
        let delay = self.settings.reconnect.delay(attempt, at_least);
        self.bus.emit(AgentEvent::Reconnecting {
            attempt,
            delay,
            reason,
        });
        self.reconnect = Some(Reconnect {
            attempt,
            at: tokio::time::Instant::now() + delay,
            task: None,
            rotation: false,
        });
    }

    fn start_reconnect(&mut self) {
        let options = self.settings.connect.clone();
        let recorder = self.settings.recorder.clone();
        if let Some(plan) = &mut self.reconnect {
            plan.task = Some(tokio::spawn(async move {
                connect_with_recorder(&options, recorder).await
            }));
        }
    }

    async fn on_reconnected(
        &mut self,
        result: Result<Connection, ConnectError>,
    ) -> Result<(), crate::Error> {
        let Some(plan) = self.reconnect.take() else {
            return Ok(());
        };
        match result {
            Ok(connection) => {
                let replayed = self.install(connection, true).await;
                self.bus.emit(AgentEvent::Reconnected {
                    replayed_items: replayed,
                });
                Ok(())
            }
            Err(error) if plan.rotation => {
                // The old session is still up: try again at the next turn boundary.
                tracing::warn!(%error, "could not open the replacement session");
                Ok(())
            }
            Err(error) => {
                let attempt = plan.attempt + 1;
                if !error.is_retryable() || attempt > self.settings.reconnect.max_attempts {
                    return Err(crate::Error::ReconnectFailed {
                        attempts: plan.attempt,
                        last: error,
                    });
                }
                let at_least = error.retry_after();
                self.schedule_reconnect(attempt, at_least, error.to_string());
                Ok(())
            }
        }
    }

    /// Opens a replacement session ahead of the server's time limit, at a turn boundary.
    fn maybe_rotate(&mut self) {
        let (Some(limit), Some(live)) = (self.settings.max_session, &self.live) else {
            return;
        };
        if self.reconnect.is_some() || live.opened.elapsed() < limit {
            return;
        }
        if self.gate.busy() || self.calls.any_running() || self.user_speaking {
            return;
        }
        tracing::info!("rotating to a new session before the time limit");
        self.reconnect = Some(Reconnect {
            attempt: 1,
            at: tokio::time::Instant::now(),
            task: None,
            rotation: true,
        });
        self.start_reconnect();
    }

    async fn on_finished(&mut self, mut finished: Finished) {
        cap_output(&mut finished.output);
        let output = Item::function_call_output(&finished.call_id, &finished.output);
        self.post(ClientEvent::item_create(output)).await;
        if let Some(posted) = self.calls.posted(&finished) {
            self.tool_calls += 1;
            if posted.batch_ready {
                self.gate.want(Want::ToolOutputs);
            }
            self.bus.emit(posted.event);
        }
    }

    fn start_call(&mut self, response_id: &str, call_id: &str, name: &str, arguments: &str) {
        let events = self.calls.start(response_id, call_id, name, arguments);
        if !events.is_empty() {
            self.idle_reported = false;
            self.history.function_call(call_id, name, arguments);
        }
        for event in events {
            self.bus.emit(event);
        }
    }

    async fn on_event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::SessionCreated(e) => {
                if let Some(id) = e.session.id() {
                    self.calls.set_session_id(id);
                }
            }
            ServerEvent::SessionUpdated(e) if !self.ready => {
                self.ready = true;
                self.bus.emit(AgentEvent::Ready {
                    session_id: e.session.id().map(str::to_owned),
                });
            }
            ServerEvent::Error(e) => {
                let code = e.error.code.clone();
                let ours = self
                    .gate
                    .on_error(e.error.event_id.as_deref(), code.as_deref());
                let benign = code.as_deref().is_some_and(|c| BENIGN_ERRORS.contains(&c))
                    || (ours
                        && code.as_deref() == Some("conversation_already_has_active_response"));
                if benign {
                    tracing::debug!(error = %e.error, "benign race");
                } else {
                    tracing::warn!(error = %e.error, "server error");
                    self.bus.emit(AgentEvent::ServerError(e.error));
                }
            }
            ServerEvent::SpeechStarted(_) => {
                self.user_speaking = true;
                self.idle_reported = false;
                self.bus.emit(AgentEvent::UserSpeechStarted);
                let server_cancels = self
                    .session
                    .effective_turn_detection()
                    .is_some_and(|t| t.interrupts_responses());
                self.interrupt(server_cancels).await;
            }
            ServerEvent::SpeechStopped(_) => {
                self.user_speaking = false;
                self.bus.emit(AgentEvent::UserSpeechStopped);
            }
            ServerEvent::InputAudioBufferTimeoutTriggered(_) => {
                self.user_speaking = false;
            }
            ServerEvent::InputTranscriptionDelta(e) => {
                self.bus.emit(AgentEvent::UserTranscriptDelta {
                    item_id: e.item_id,
                    delta: e.delta,
                });
            }
            ServerEvent::InputTranscriptionCompleted(e) => {
                self.history.user_text(&e.transcript);
                self.bus.emit(AgentEvent::UserTranscript {
                    item_id: e.item_id,
                    text: e.transcript,
                });
            }
            ServerEvent::ResponseCreated(e) => {
                let id = e.response.id.clone().unwrap_or_default();
                self.gate.on_created(&id);
                self.idle_reported = false;
            }
            ServerEvent::ResponseOutputItemAdded(e) => {
                if let Item::FunctionCall(call) = &e.item {
                    if let Some(item_id) = &call.id {
                        self.call_names.insert(item_id.clone(), call.name.clone());
                    }
                }
                if let Some(id) = e.item.id() {
                    self.response_items
                        .entry(e.response_id.clone())
                        .or_default()
                        .push(id.to_owned());
                }
            }
            ServerEvent::ResponseFunctionCallArgumentsDone(e) => {
                let name = e
                    .name
                    .clone()
                    .or_else(|| self.call_names.get(&e.item_id).cloned())
                    .unwrap_or_default();
                self.start_call(&e.response_id, &e.call_id, &name, &e.arguments);
            }
            ServerEvent::ResponseOutputItemDone(e) => match &e.item {
                Item::FunctionCall(call) => {
                    self.start_call(&e.response_id, &call.call_id, &call.name, &call.arguments);
                }
                Item::Message(message) => {
                    let id = message.id.clone().unwrap_or_default();
                    let text = match self.heard.remove(&id) {
                        Some(heard) => heard,
                        None => message
                            .content
                            .iter()
                            .filter_map(|p| p.words())
                            .collect::<Vec<_>>()
                            .join(" "),
                    };
                    self.history.assistant_text(&text, self.dialect);
                }
                _ => {}
            },
            ServerEvent::ResponseOutputTextDelta(e)
            | ServerEvent::ResponseOutputAudioTranscriptDelta(e) => {
                if self.speech.is_muted(&e.response_id) {
                    return;
                }
                self.speech.transcript(&e.item_id, &e.delta);
                self.bus.emit(AgentEvent::AssistantDelta {
                    response_id: e.response_id,
                    item_id: e.item_id,
                    delta: e.delta,
                });
            }
            ServerEvent::ResponseOutputTextDone(e) => {
                self.bus.emit(AgentEvent::AssistantMessage {
                    response_id: e.response_id,
                    item_id: e.item_id,
                    text: e.text,
                });
            }
            ServerEvent::ResponseOutputAudioTranscriptDone(e) => {
                let text = self.heard.get(&e.item_id).cloned().unwrap_or(e.transcript);
                self.bus.emit(AgentEvent::AssistantMessage {
                    response_id: e.response_id,
                    item_id: e.item_id,
                    text,
                });
            }
            ServerEvent::ResponseOutputAudioDelta(e) => self.on_audio(e),
            ServerEvent::ResponseOutputAudioDone(e) => {
                if let Some(sink) = &mut self.sink {
                    if let Err(error) = sink.finish_item(&e.item_id) {
                        self.bus.emit(AgentEvent::AudioError(error.to_string()));
                    }
                }
            }
            ServerEvent::ResponseDone(e) => {
                let id = e.response.id.clone().unwrap_or_default();
                self.gate.on_done(&id);
                if let Some(usage) = &e.response.usage {
                    self.usage.add(usage);
                }
                if self.calls.response_done(&id) {
                    self.gate.want(Want::ToolOutputs);
                }
                if let Some(items) = self.response_items.remove(&id) {
                    self.speech.response_done(&items);
                    for item in &items {
                        self.call_names.remove(item);
                    }
                }
                self.bus.emit(AgentEvent::ResponseDone {
                    response_id: id,
                    status: e.response.status.clone().unwrap_or_default(),
                    usage: e.response.usage.clone().map(Box::new),
                });
                self.maybe_rotate();
            }
            ServerEvent::RateLimitsUpdated(e) => {
                // An exhausted limit: no new response until it resets (the server would refuse).
                for limit in e.rate_limits.iter().filter(|l| l.remaining == 0) {
                    let wait = Duration::from_secs_f64(limit.reset_seconds.clamp(0.0, 3600.0));
                    tracing::warn!(limit = %limit.name, ?wait, "rate limit exhausted; holding responses");
                    self.gate.hold_until(Instant::now() + wait);
                }
            }
            ServerEvent::Unknown(unknown) => {
                tracing::debug!(event_type = %unknown.event_type, "unknown server event");
                self.bus.emit(AgentEvent::UnknownEvent(unknown));
            }
            _ => {}
        }
    }

    fn on_audio(&mut self, delta: crate::protocol::ContentDelta) {
        if self.speech.is_muted(&delta.response_id) {
            return;
        }
        let audio = match base64::engine::general_purpose::STANDARD.decode(delta.delta.as_bytes()) {
            Ok(audio) => audio,
            Err(error) => {
                self.bus.emit(AgentEvent::MalformedFrame {
                    error: format!("audio delta is not valid base64: {error}"),
                });
                return;
            }
        };
        self.speech.received(&delta.item_id, audio.len());
        if let Some(sink) = &mut self.sink {
            if let Err(error) = sink.play(&delta.item_id, &audio) {
                self.bus.emit(AgentEvent::AudioError(error.to_string()));
            }
        }
        if self.settings.emit_audio_events && self.bus.has_subscribers() {
            self.bus.emit(AgentEvent::AssistantAudio {
                response_id: delta.response_id,
                item_id: delta.item_id,
                audio: audio.into(),
            });
        }
    }

    /// Barge-in (the user spoke) or an interrupt through the handle.
    async fn interrupt(&mut self, server_cancels: bool) {
        let active = self.gate.active().map(str::to_owned);
        let sink = self.sink.as_deref_mut();
        if let Some(cut) = self
            .speech
            .interrupt(sink, self.output_format, active.as_deref())
        {
            self.send(ClientEvent::truncate(&cut.item_id, 0, cut.audio_end_ms))
                .await;
            self.heard
                .insert(cut.item_id.clone(), cut.heard_text.clone());
            self.bus.emit(AgentEvent::Interrupted {
                item_id: cut.item_id,
                played_ms: cut.audio_end_ms,
                heard_text: cut.heard_text,
            });
        }
        if active.is_some() && !server_cancels {
            self.send(ClientEvent::response_cancel()).await;
        }
        self.calls.interrupt();
        self.gate.forget();
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Text(text) => {
                self.idle_reported = false;
                self.post(ClientEvent::item_create(Item::user_text(text)))
                    .await;
                self.gate.want(Want::UserTurn);
            }
            Command::Audio(audio) => {
                if let Some(live) = &self.live {
                    let _ = live.sender.send_audio(&audio).await;
                }
            }
            Command::Commit | Command::SourceEnded => {
                let manual = self.session.effective_turn_detection().is_none();
                if matches!(command, Command::Commit) || manual {
                    self.idle_reported = false;
                    self.send(ClientEvent::commit()).await;
                    self.gate.want(Want::UserTurn);
                }
            }
            Command::Respond(options) => {
                self.idle_reported = false;
                self.next_options = options.map(|o| *o);
                self.gate.want(Want::Requested);
            }
            Command::Interrupt => self.interrupt(false).await,
            Command::Decide {
                call_id,
                approve,
                reason,
            } => {
                let decision = if approve {
                    Decision::Approve
                } else {
                    Decision::Reject(reason)
                };
                if !self.calls.decide(&call_id, decision) {
                    tracing::warn!(call_id, "no tool call is waiting for approval with this id");
                }
            }
            Command::UpdateSession(update) => {
                let mut update = *update;
                if self.dialect == Dialect::Ga && update.kind.is_none() {
                    update.kind = Some(SessionKind::Realtime);
                }
                self.session.merge(&update);
                if let Some(format) = update.output_audio_format {
                    self.output_format = format;
                }
                self.send(ClientEvent::session_update(update)).await;
            }
            Command::Raw(event) => {
                self.send(*event).await;
            }
        }
    }

    /// Sends `response.create` if one is wanted and allowed (the gate decides).
    async fn pump(&mut self) {
        if self.live.is_none() {
            return;
        }
        let Some(want) = self.gate.ready() else {
            return;
        };
        let options = self.next_options.take();
        let event = ClientEvent::ResponseCreate(ResponseCreate {
            response: options.map(Box::new),
            ..ResponseCreate::default()
        });
        match self.send(event).await {
            Some(event_id) => self.gate.sent(event_id, want),
            None => self.gate.want(want),
        }
    }

    fn refresh_state(&mut self) {
        let playing = self.sink.as_ref().is_some_and(|s| s.is_playing());
        let state = if self.live.is_none() {
            AgentState::Connecting
        } else if self.user_speaking {
            AgentState::UserSpeaking
        } else if playing {
            AgentState::Speaking
        } else if self.calls.any_running() {
            AgentState::RunningTools
        } else if self.gate.busy() {
            AgentState::Thinking
        } else {
            AgentState::Listening
        };
        if state != self.state {
            self.state = state;
            self.bus.emit(AgentEvent::State(state));
        }
        if !self.idle_reported
            && state == AgentState::Listening
            && !self.gate.busy()
            && !self.gate.is_wanted()
        {
            self.idle_reported = true;
            self.bus.emit(AgentEvent::Idle);
        }
    }

    async fn finish(&mut self, outcome: &Result<(), crate::Error>) {
        self.calls.shutdown(self.settings.tool_shutdown_grace).await;
        if let Some(live) = self.live.take() {
            let _ = self.sender_watch.send(None);
            live.sender.close().await;
            let Live {
                mut events, guard, ..
            } = live;
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
        if let Some(plan) = self.reconnect.take() {
            if let Some(task) = plan.task {
                task.abort();
                let _ = task.await;
            }
        }
        if let Some(sink) = &mut self.sink {
            if let Err(error) = sink.close() {
                self.bus.emit(AgentEvent::AudioError(error.to_string()));
            }
        }
        self.state = AgentState::Closed;
        self.bus.emit(AgentEvent::State(AgentState::Closed));
        let reason = match outcome {
            Ok(()) => "shut down".to_owned(),
            Err(error) => error.to_string(),
        };
        self.bus.emit(AgentEvent::Closed { reason });
        self.bus.close();
    }
}
