//! Building an agent: connection, session, tools, audio.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::EventBus;
use super::handle::AgentHandle;
use super::reconnect::ReconnectPolicy;
use super::run::Runtime;
use crate::ApiKey;
use crate::audio::{AudioSink, AudioSource};
use crate::protocol::{Dialect, SessionConfig};
use crate::tool::{DynTool, RegistryError, ToolOverrides, ToolRegistry};
use crate::transport::{ConnectOptions, Recorder};

/// Settings the agent loop runs with.
pub(crate) struct Settings {
    pub(crate) connect: ConnectOptions,
    pub(crate) session: SessionConfig,
    pub(crate) tools: Arc<ToolRegistry>,
    pub(crate) recorder: Option<Arc<dyn Recorder>>,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) history_budget_chars: usize,
    pub(crate) emit_audio_events: bool,
    pub(crate) tool_shutdown_grace: Duration,
    pub(crate) max_session: Option<Duration>,
    pub(crate) input_buffer_ms: u64,
    /// MCP servers whose tools join the registry when the agent starts.
    #[cfg(feature = "mcp")]
    pub(crate) mcp: Vec<crate::mcp::McpServer>,
    /// Where registered tools come from, for an MCP name clash.
    #[cfg(feature = "mcp")]
    pub(crate) tool_origins: crate::mcp::Origins,
}

/// Builds an [`Agent`]. Errors (such as an invalid tool name) surface at [`AgentBuilder::build`].
pub struct AgentBuilder {
    settings: Settings,
    tools: ToolRegistry,
    error: Option<RegistryError>,
    source: Option<Box<dyn AudioSource>>,
    sink: Option<Box<dyn AudioSink>>,
}

impl std::fmt::Debug for AgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBuilder")
            .field("connect", &self.settings.connect)
            .field("tools", &self.tools.names())
            .finish_non_exhaustive()
    }
}

impl Default for AgentBuilder {
    fn default() -> Self {
        AgentBuilder {
            settings: Settings {
                connect: ConnectOptions::default(),
                session: SessionConfig::default(),
                tools: Arc::new(ToolRegistry::new()),
                recorder: None,
                reconnect: ReconnectPolicy::default(),
                history_budget_chars: 64_000,
                emit_audio_events: true,
                tool_shutdown_grace: Duration::from_secs(2),
                max_session: None,
                input_buffer_ms: 10_000,
                #[cfg(feature = "mcp")]
                mcp: Vec::new(),
                #[cfg(feature = "mcp")]
                tool_origins: crate::mcp::Origins::new(),
            },
            tools: ToolRegistry::new(),
            error: None,
            source: None,
            sink: None,
        }
    }
}

impl AgentBuilder {
    /// All connection options at once (URL, model, dialect, key, timeouts).
    pub fn connect_options(mut self, options: ConnectOptions) -> Self {
        self.settings.connect = options;
        self
    }

    /// The WebSocket URL (else `OPENAI_REALTIME_URL`, else the OpenAI endpoint).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.settings.connect.url = Some(url.into());
        self
    }

    /// The model (default `gpt-realtime`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.settings.connect.model = model.into();
        self
    }

    /// The wire dialect (default GA).
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.settings.connect.dialect = dialect;
        self
    }

    /// The API key.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.settings.connect.api_key = Some(key);
        self
    }

    /// The session configuration (instructions, voice, formats, turn detection, …). Tools come
    /// from the registered tools.
    pub fn session(mut self, session: SessionConfig) -> Self {
        self.settings.session = session;
        self
    }

    /// Registers a tool.
    pub fn tool(mut self, tool: impl DynTool + 'static) -> Self {
        if let Err(error) = self.tools.add(tool) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Registers a tool with option overrides (timeout, barge-in behaviour, approval).
    pub fn tool_with(mut self, tool: impl DynTool + 'static, overrides: ToolOverrides) -> Self {
        if let Err(error) = self.tools.add_with(tool, overrides) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Uses `registry` for the tools (replacing any registered so far).
    pub fn tools(mut self, registry: ToolRegistry) -> Self {
        self.tools = registry;
        self
    }

    /// Offers the tools of an MCP server: started (or reached) when the agent runs, listed, and
    /// registered after the tools above. A name clash fails [`Agent::run`].
    ///
    /// ```no_run
    /// use realtime_agent::agent::Agent;
    /// use realtime_agent::mcp::McpServer;
    ///
    /// let agent = Agent::builder()
    ///     .mcp_server(McpServer::stdio("npx").args(["-y", "@modelcontextprotocol/server-everything"]))
    ///     .build();
    /// ```
    #[cfg(feature = "mcp")]
    pub fn mcp_server(mut self, server: crate::mcp::McpServer) -> Self {
        self.settings.mcp.push(server);
        self
    }

    /// Records where the tool `name` was declared, for a clash with an MCP tool.
    #[cfg(feature = "mcp")]
    pub(crate) fn tool_origin(mut self, name: &str, origin: String) -> Self {
        self.settings.tool_origins.insert(name.to_owned(), origin);
        self
    }

    /// Where the user's audio comes from.
    pub fn audio_source(mut self, source: impl AudioSource + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Where the model's audio goes.
    pub fn audio_sink(mut self, sink: impl AudioSink + 'static) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Shows every frame sent and received to `recorder` (for `--record`).
    pub fn recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.settings.recorder = Some(recorder);
        self
    }

    /// How to reconnect after the connection drops.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.settings.reconnect = policy;
        self
    }

    /// How much of the conversation (in characters, about four per token) is kept for replay
    /// into a new session after a reconnect.
    pub fn history_budget(mut self, chars: usize) -> Self {
        self.settings.history_budget_chars = chars;
        self
    }

    /// Whether to report every chunk of assistant audio as an event (default true). Turn off
    /// when a sink plays it and nobody else needs it.
    pub fn audio_events(mut self, emit: bool) -> Self {
        self.settings.emit_audio_events = emit;
        self
    }

    /// Rotate to a fresh session (replaying the conversation) at a turn boundary before this
    /// much time has passed (the API ends GA sessions at 60 minutes). `None` (the default)
    /// waits for the server's `session_expired` and then reconnects.
    pub fn max_session_duration(mut self, limit: Option<Duration>) -> Self {
        self.settings.max_session = limit;
        self
    }

    /// How much microphone audio to hold while reconnecting (default 10 s); beyond it the
    /// oldest is dropped and the user told.
    pub fn reconnect_audio_buffer(mut self, ms: u64) -> Self {
        self.settings.input_buffer_ms = ms;
        self
    }

    /// Builds the agent.
    pub fn build(mut self) -> Result<Agent, crate::Error> {
        if let Some(error) = self.error {
            return Err(crate::Error::ToolRegistry(error));
        }
        self.settings.tools = Arc::new(self.tools);
        let (commands_tx, commands_rx) = mpsc::channel(256);
        let bus = EventBus::default();
        let shutdown = CancellationToken::new();
        let handle = AgentHandle {
            commands: commands_tx.clone(),
            bus: bus.clone(),
            shutdown: shutdown.clone(),
        };
        let runtime = Runtime {
            settings: self.settings,
            bus,
            commands: commands_rx,
            commands_tx,
            shutdown,
            source: self.source,
            sink: self.sink,
        };
        Ok(Agent { runtime, handle })
    }
}

/// A tool-calling voice agent on one Realtime session, embeddable in any tokio application.
///
/// ```no_run
/// # async fn demo() -> Result<(), realtime_agent::Error> {
/// use realtime_agent::agent::Agent;
/// let agent = Agent::builder().model("gpt-realtime").build()?;
/// let handle = agent.handle();
/// let mut events = handle.subscribe(256);
/// let run = tokio::spawn(agent.run());
/// handle.send_text("What time is it?").await.ok();
/// while let Some(event) = events.recv().await {
///     println!("{event:?}");
/// }
/// # Ok(()) }
/// ```
pub struct Agent {
    runtime: Runtime,
    handle: AgentHandle,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").finish_non_exhaustive()
    }
}

impl Agent {
    /// A builder with default settings.
    pub fn builder() -> AgentBuilder {
        AgentBuilder::default()
    }

    /// A handle to drive the agent once it runs. Subscribe to events before calling
    /// [`Agent::run`] so that none are missed.
    pub fn handle(&self) -> AgentHandle {
        self.handle.clone()
    }

    /// Runs the session until it is shut down through a handle, or fails for good (the key is
    /// refused, reconnection gave up). Returns what the session used.
    pub async fn run(self) -> Result<super::SessionSummary, crate::Error> {
        self.runtime.run().await
    }
}
