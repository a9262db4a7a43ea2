//! Driving a running agent from elsewhere in the application.

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::event::{AgentEvents, EventBus};
use super::toolset::{ToolChange, ToolChangeError};
use crate::protocol::{ClientEvent, ResponseOptions, SessionConfig};
use crate::tool::{DynTool, RegistryError, ToolRegistry};

/// What the handle asks the agent loop to do.
#[derive(Debug)]
pub(crate) enum Command {
    Text(String),
    Audio(Vec<u8>),
    Commit,
    Respond(Option<Box<ResponseOptions>>),
    Interrupt,
    Decide {
        call_id: String,
        approve: bool,
        reason: Option<String>,
    },
    UpdateSession(Box<SessionConfig>),
    ChangeTools {
        change: Box<ToolChange>,
        reply: oneshot::Sender<Result<(), RegistryError>>,
    },
    Raw(Box<ClientEvent>),
    /// The audio source ended (a file was read to its end).
    SourceEnded,
}

/// The agent has stopped; nothing more can be sent to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the agent is not running")]
pub struct AgentStopped;

/// A cheap, clonable handle to a running [`Agent`](super::Agent): send text and audio,
/// interrupt, approve tool calls, subscribe to events, shut down.
#[derive(Clone)]
pub struct AgentHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) bus: EventBus,
    pub(crate) shutdown: CancellationToken,
}

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHandle")
            .field("running", &!self.commands.is_closed())
            .finish()
    }
}

impl AgentHandle {
    async fn command(&self, command: Command) -> Result<(), AgentStopped> {
        self.commands.send(command).await.map_err(|_| AgentStopped)
    }

    /// Sends a user text message and asks for a response.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), AgentStopped> {
        self.command(Command::Text(text.into())).await
    }

    /// Appends user audio (bytes in the session input format) to the input buffer.
    ///
    /// For a continuous stream prefer an [`AudioSource`](crate::audio::AudioSource) (such as the
    /// channel source), which the agent reads on its own task.
    pub async fn send_audio(&self, audio: Vec<u8>) -> Result<(), AgentStopped> {
        self.command(Command::Audio(audio)).await
    }

    /// Ends a manual turn (turn detection off, e.g. push-to-talk): commits the input buffer and
    /// asks for a response.
    pub async fn commit(&self) -> Result<(), AgentStopped> {
        self.command(Command::Commit).await
    }

    /// Asks for a response now (sent as soon as no other response is active).
    pub async fn respond(&self, options: Option<ResponseOptions>) -> Result<(), AgentStopped> {
        self.command(Command::Respond(options.map(Box::new))).await
    }

    /// Interrupts the assistant: stops playback, truncates what was not heard, cancels the
    /// response in progress, and treats running tools as after a barge-in.
    pub async fn interrupt(&self) -> Result<(), AgentStopped> {
        self.command(Command::Interrupt).await
    }

    /// Approves a tool call that is waiting for approval.
    pub async fn approve(&self, call_id: impl Into<String>) -> Result<(), AgentStopped> {
        self.command(Command::Decide {
            call_id: call_id.into(),
            approve: true,
            reason: None,
        })
        .await
    }

    /// Rejects a tool call that is waiting for approval; the model is told, with `reason`.
    pub async fn reject(
        &self,
        call_id: impl Into<String>,
        reason: Option<String>,
    ) -> Result<(), AgentStopped> {
        self.command(Command::Decide {
            call_id: call_id.into(),
            approve: false,
            reason,
        })
        .await
    }

    /// Changes the session configuration (sent as `session.update`; kept for reconnects).
    ///
    /// To change the tools, use [`change_tools`](AgentHandle::change_tools) and friends: `tools`
    /// set here change only what the model sees, not what the agent can run.
    pub async fn update_session(&self, update: SessionConfig) -> Result<(), AgentStopped> {
        self.command(Command::UpdateSession(Box::new(update))).await
    }

    /// Changes the agent's tools as one step: the tools it can run and the tools the model sees
    /// change together, with one `session.update` (sent in order with the handle's other
    /// commands; a reconnect sends the new set). Returns once the change is made.
    ///
    /// A call that is already running finishes; a call to a removed tool that the model was
    /// still generating gets an output saying the tool was removed. A refused change (see
    /// [`ToolChangeError::Refused`]) changes nothing.
    pub async fn change_tools(&self, change: ToolChange) -> Result<(), ToolChangeError> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::ChangeTools {
            change: Box::new(change),
            reply,
        })
        .await?;
        answer.await.map_err(|_| AgentStopped)??;
        Ok(())
    }

    /// Adds `tools` (see [`change_tools`](AgentHandle::change_tools)). For tools of different
    /// types, chain [`ToolChange::add`].
    pub async fn add_tools<T: DynTool + 'static>(
        &self,
        tools: impl IntoIterator<Item = T>,
    ) -> Result<(), ToolChangeError> {
        let change = tools.into_iter().fold(ToolChange::new(), ToolChange::add);
        self.change_tools(change).await
    }

    /// Removes the tools called `names` (see [`change_tools`](AgentHandle::change_tools)).
    pub async fn remove_tools(
        &self,
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<(), ToolChangeError> {
        let change = names
            .into_iter()
            .fold(ToolChange::new(), ToolChange::remove);
        self.change_tools(change).await
    }

    /// Replaces every tool with `tools`, and the `tool_choice` with theirs (see
    /// [`change_tools`](AgentHandle::change_tools)).
    pub async fn set_tools(&self, tools: ToolRegistry) -> Result<(), ToolChangeError> {
        self.change_tools(ToolChange::replace_all(tools)).await
    }

    /// Sends any client event as is (an escape hatch; the agent does not track its effects).
    pub async fn send_event(&self, event: ClientEvent) -> Result<(), AgentStopped> {
        self.command(Command::Raw(Box::new(event))).await
    }

    /// A new stream of the agent's events from now on, holding up to `capacity` unread events
    /// (older ones are then missed and reported as [`AgentEvent::Lagged`](super::AgentEvent)).
    pub fn subscribe(&self, capacity: usize) -> AgentEvents {
        self.bus.subscribe(capacity)
    }

    /// Calls `observer` with every event from now on, as it is emitted (see
    /// [`EventBus::observe`]).
    pub(crate) fn observe(&self, observer: super::event::Observer) {
        self.bus.observe(observer)
    }

    /// Ends the session: running tools are cancelled, the connection closed, and
    /// [`Agent::run`](super::Agent::run) returns.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Whether the agent is still running.
    pub fn is_running(&self) -> bool {
        !self.commands.is_closed() && !self.shutdown.is_cancelled()
    }
}
