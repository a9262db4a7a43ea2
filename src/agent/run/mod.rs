//! The agent loop: one task that owns the session state and reacts to the server, the tools,
//! the handle and the clock.

mod dispatch;
mod hosted;
mod link;
mod talk;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SessionSummary;
use super::builder::Settings;
use super::calls::{CallEvent, Calls, Decision, Finished};
use super::event::{AgentEvent, AgentState, EventBus};
use super::gate::{ResponseGate, Want};
use super::handle::Command;
use super::history::History;
use super::speech::Speech;
use super::turns::TurnClock;
use super::uplink::Uplink;
use super::usage::UsageTotals;
use crate::audio::{AudioSink, AudioSource};
use crate::protocol::{
    ApiErrorCode, ClientEvent, Dialect, Item, ResponseCreate, ResponseOptions, ServerEvent,
    SessionConfig, SessionKind,
};
use crate::tool::{SessionInfo, ToolSignal};
use crate::transport::{
    CloseInfo, ConnectError, Connection, ConnectionGuard, EventSender, EventStream, Incoming,
    close_parts, connect_with_recorder,
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

/// An agent that has been built but not started.
pub(crate) struct Runtime {
    pub(crate) settings: Settings,
    pub(crate) bus: EventBus,
    pub(crate) commands: mpsc::Receiver<Command>,
    /// For the microphone task, which reports the end of its source through it.
    pub(crate) commands_tx: mpsc::Sender<Command>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) source: Option<Box<dyn AudioSource>>,
    pub(crate) sink: Option<Box<dyn AudioSink>>,
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
    Signal(ToolSignal),
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
    reconnect: Option<Reconnect>,
    tool_calls: u64,
    started: Instant,
    turns: TurnClock,
    /// Our out-of-band responses (fillers) in progress: their items are not in the
    /// conversation.
    out_of_band: HashSet<String>,
    /// Results of background calls, entering the conversation at the next quiet moment.
    background_results: VecDeque<Item>,
    /// Progress to say as a filler: (call id, message).
    spoken_progress: VecDeque<(String, String)>,
    /// The server's turn detection is about to answer the user (`speech_stopped` seen, no
    /// `response.created` yet): not a quiet moment until then, or until this instant.
    server_answer_due: Option<Instant>,
    /// The agent answering now, when there are handoffs.
    current_agent: Option<String>,
    /// The `tool_call` span of each running call (telemetry).
    tool_spans: HashMap<String, tracing::Span>,
    /// Hosted MCP listings, calls and approval requests.
    hosted: hosted::Hosted,
    /// The session is ending: calls are answered, but nothing new starts (no handoff).
    ending: bool,
}

/// The outcome of opening the first connection.
pub(crate) enum Opened {
    /// The session is configured; the loop is ready to run.
    Live(Box<Started>),
    /// The agent was shut down before the connection was up.
    ShutDown(SessionSummary),
}

/// An agent whose first connection is open and configured, not yet running its loop.
///
/// Everything here is on the heap, so that a session's task holds pointers rather than copies:
/// an async fn keeps a slot for each value it moves, for as long as the value's scope lasts.
pub(crate) struct Started {
    state: Box<Loop>,
    source: Option<Box<dyn AudioSource>>,
    commands_tx: mpsc::Sender<Command>,
    sender_rx: watch::Receiver<Option<EventSender>>,
    input_format: crate::protocol::AudioFormat,
    /// The session's MCP servers, stopped when the loop ends.
    #[cfg(feature = "mcp")]
    mcp: McpRunning,
}

impl Runtime {
    /// Runs the session to its end: [`Runtime::open`], then [`Started::run`].
    pub(crate) async fn run(self: Box<Self>) -> Result<SessionSummary, crate::Error> {
        // Opening (the handshake, TLS) needs a large future for a moment; on the heap it is
        // freed once the session runs instead of sizing every session's task for good.
        match Box::pin(self.open()).await? {
            // On the heap, as the loop is (see `Started::run`).
            Opened::Live(started) => Box::pin(started.run()).await,
            Opened::ShutDown(summary) => Ok(summary),
        }
    }

    /// Opens and configures the first connection. A refused key or a wrong URL is the caller's
    /// to fix, so it comes back here rather than being retried.
    pub(crate) async fn open(self: Box<Self>) -> Result<Opened, crate::Error> {
        let Runtime {
            #[cfg_attr(not(feature = "mcp"), allow(unused_mut))]
            mut settings,
            bus,
            commands,
            commands_tx,
            shutdown,
            source,
            sink,
        } = *self;
        #[cfg(feature = "mcp")]
        let mcp = tokio::select! {
            _ = shutdown.cancelled() => {
                bus.emit(AgentEvent::Closed { reason: "shut down before connecting".into() });
                bus.close();
                return Ok(Opened::ShutDown(SessionSummary::default()));
            }
            started = start_mcp(&mut settings, &bus, super::AgentHandle {
                commands: commands_tx.clone(),
                bus: bus.clone(),
                shutdown: shutdown.clone(),
            }) => match started {
                Ok(clients) => clients,
                Err(error) => {
                    bus.emit(AgentEvent::Closed { reason: error.to_string() });
                    bus.close();
                    return Err(error.into());
                }
            },
        };
        let dialect = settings.connect.dialect;
        let mut session = settings.session.clone();
        session.tools = Some(hosted::with_hosted(
            &settings.hosted_mcp,
            settings.tools.definitions(),
        ));
        if !settings.tools.is_empty() || session.tool_choice.is_none() {
            session.tool_choice = Some(settings.tools.tool_choice().clone());
        }
        if dialect == Dialect::Ga && session.kind.is_none() {
            session.kind = Some(SessionKind::Realtime);
        }
        let info = SessionInfo::new(settings.connect.model.clone(), dialect);
        let (sender_watch, sender_rx) = watch::channel(None);
        let monitor = sink.as_ref().and_then(|sink| sink.monitor());
        let session_span = tracing::info_span!("session", model = %settings.connect.model);
        let settings_start_agent = settings.roster.as_ref().map(|r| r.start().to_owned());
        let mut state = Box::new(Loop {
            calls: Calls::new(
                settings.tools.clone(),
                info,
                settings.withheld_secrets().into(),
            ),
            history: History::new(settings.history_budget_chars),
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
            reconnect: None,
            tool_calls: 0,
            started: Instant::now(),
            turns: TurnClock::new(monitor, session_span),
            out_of_band: HashSet::new(),
            background_results: VecDeque::new(),
            spoken_progress: VecDeque::new(),
            server_answer_due: None,
            current_agent: settings_start_agent,
            tool_spans: HashMap::new(),
            hosted: hosted::Hosted::default(),
            ending: false,
        });
        state.bus.emit(AgentEvent::State(AgentState::Connecting));

        let connection = tokio::select! {
            _ = state.shutdown.cancelled() => {
                state.bus.emit(AgentEvent::Closed { reason: "shut down before connecting".into() });
                state.bus.close();
                return Ok(Opened::ShutDown(state.summary()));
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
        Ok(Opened::Live(Box::new(Started {
            state,
            source,
            commands_tx,
            sender_rx,
            input_format: session.input_audio_format.unwrap_or_default(),
            #[cfg(feature = "mcp")]
            mcp,
        })))
    }
}

impl Started {
    /// Runs the loop until the session ends, then closes everything.
    pub(crate) async fn run(self: Box<Self>) -> Result<SessionSummary, crate::Error> {
        let Started {
            mut state,
            source,
            commands_tx,
            sender_rx,
            input_format,
            #[cfg(feature = "mcp")]
            mcp,
        } = *self;
        let uplink_cancel = state.shutdown.child_token();
        let uplink = source.map(|source| {
            tokio::spawn(
                Uplink {
                    source,
                    sender: sender_rx,
                    commands: commands_tx,
                    bus: state.bus.clone(),
                    cancel: uplink_cancel.clone(),
                    format: input_format,
                    hold_ms: state.settings.input_buffer_ms,
                }
                .run(),
            )
        });

        // The loop's future (about 4 KiB) on the heap by itself, once per session: the async
        // fns it runs under hold a pointer to it, not a copy of its state machine each.
        let outcome = Box::pin(state.run_loop()).await;

        uplink_cancel.cancel();
        if let Some(uplink) = uplink {
            let _ = uplink.await;
        }
        // Like opening, closing is a large future needed once: on the heap, only then.
        Box::pin(state.finish(&outcome)).await;
        #[cfg(feature = "mcp")]
        Box::pin(mcp.stop()).await;
        outcome.map(|()| state.summary())
    }
}

/// Starts the MCP servers and adds their tools to the registry, before the first
/// `session.update`. Their trouble is reported on `bus`, one line per outage.
#[cfg(feature = "mcp")]
async fn start_mcp(
    settings: &mut Settings,
    bus: &EventBus,
    handle: super::AgentHandle,
) -> Result<McpRunning, crate::mcp::McpError> {
    let mut running = McpRunning {
        started: Vec::new(),
        followers: tokio::task::JoinSet::new(),
    };
    if settings.mcp.is_empty() {
        return Ok(running);
    }
    let events = bus.clone();
    let notify: crate::mcp::McpNotify = std::sync::Arc::new(move |server: &str, message| {
        events.emit(AgentEvent::McpServer {
            server: server.to_owned(),
            message,
        });
    });
    let mut registry = (*settings.tools).clone();
    let started = crate::mcp::start_all(
        &settings.mcp,
        &mut registry,
        &settings.tool_origins,
        Some(notify.clone()),
        settings.withheld_secrets(),
        Some(crate::mcp::STARTUP_WAIT),
    )
    .await?;
    settings.tools = std::sync::Arc::new(registry);
    for server in &started {
        let follow = crate::mcp::Started {
            client: server.client.clone(),
            applied: server.applied,
            tools: server.tools.clone(),
        };
        running
            .followers
            .spawn(crate::mcp::follow(follow, handle.clone(), notify.clone()));
    }
    running.started = started;
    Ok(running)
}

/// The session's MCP servers and the tasks keeping its tools in step with them.
#[cfg(feature = "mcp")]
struct McpRunning {
    started: Vec<crate::mcp::Started>,
    followers: tokio::task::JoinSet<()>,
}

#[cfg(feature = "mcp")]
impl McpRunning {
    async fn stop(mut self) {
        self.followers.abort_all();
        while self.followers.join_next().await.is_some() {}
        crate::mcp::stop_started(&self.started).await;
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
            let wake_at = self.next_wake();
            let watching_playback =
                self.state == AgentState::Speaking || !self.idle_reported || self.gate.held();
            let step = tokio::select! {
                biased;
                _ = &mut shutdown => Step::Shutdown,
                event = self.calls.next_event() => match event {
                    CallEvent::Signal(signal) => Step::Signal(signal),
                    CallEvent::Finished(finished) => Step::Finished(finished),
                },
                incoming = recv_live(&mut self.live) => Step::Incoming(incoming),
                command = self.commands.recv() => Step::Command(command),
                step = reconnect_step(&mut self.reconnect) => step,
                _ = tick.tick(), if watching_playback => Step::Tick,
                _ = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now).into()), if wake_at.is_some() => Step::Tick,
            };
            match step {
                Step::Shutdown => return Ok(()),
                Step::Finished(finished) => self.on_finished(finished).await,
                Step::Signal(signal) => self.on_signal(signal).await,
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

    /// Sends `response.create` if one is wanted and allowed (the gate decides); at a quiet
    /// moment, first lets background results into the conversation, or says a filler.
    async fn pump(&mut self) {
        if self.live.is_none() {
            return;
        }
        if !self.background_results.is_empty() && self.quiet() && !self.calls.any_running() {
            while let Some(item) = self.background_results.pop_front() {
                self.post(ClientEvent::item_create(item)).await;
            }
            self.idle_reported = false;
            self.gate.want(Want::Background);
        }
        let Some(want) = self.gate.ready() else {
            if self.quiet() {
                self.say_filler().await;
            }
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
        // Between `speech_stopped` and the server's own answer nothing is done yet.
        let server_answering = self
            .server_answer_due
            .is_some_and(|due| Instant::now() < due);
        if !self.idle_reported
            && state == AgentState::Listening
            && !self.gate.busy()
            && !self.gate.is_wanted()
            && !server_answering
        {
            self.idle_reported = true;
            if let Some(metrics) = self.turns.idle(Instant::now()) {
                self.bus.emit(AgentEvent::TurnMetrics(Box::new(metrics)));
            }
            self.bus.emit(AgentEvent::Idle);
        }
    }

    async fn finish(&mut self, outcome: &Result<(), crate::Error>) {
        // Calls the loop had not answered yet (one may have finished just as the session
        // ended): their outputs go out before the close frame and each is reported, so a tool
        // that ran is never missing from the conversation, the events or the metrics. No
        // response follows them.
        self.ending = true;
        for finished in self.calls.shutdown(self.settings.tool_shutdown_grace).await {
            self.on_finished(finished).await;
        }
        if let Some(live) = self.live.take() {
            let _ = self.sender_watch.send(None);
            close_parts(&live.sender, live.events, live.guard).await;
        }
        if let Some(plan) = self.reconnect.take()
            && let Some(task) = plan.task
        {
            task.abort();
            let _ = task.await;
        }
        if let Some(sink) = &mut self.sink
            && let Err(error) = sink.close()
        {
            self.bus.emit(AgentEvent::AudioError(error.to_string()));
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
