//! Building an agent: connection, session, tools, audio.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::event::EventBus;
use super::handle::AgentHandle;
use super::handoff::{AgentProfile, Roster};
use super::reconnect::ReconnectPolicy;
use super::run::{Opened, Runtime};
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
    /// Hosted MCP servers (resolved: tokens read), declared in every `session.update` that
    /// carries the tools.
    pub(crate) hosted_mcp: Vec<crate::protocol::McpToolDefinition>,
    /// The agents the conversation can be handed between, when there are several.
    pub(crate) roster: Option<Arc<super::handoff::Roster>>,
    /// MCP servers whose tools join the registry when the agent starts.
    #[cfg(feature = "mcp")]
    pub(crate) mcp: Vec<crate::mcp::McpServer>,
    /// Where registered tools come from, for an MCP name clash.
    #[cfg(feature = "mcp")]
    pub(crate) tool_origins: crate::mcp::Origins,
}

impl Settings {
    /// What no program a tool or MCP server starts may see: the API key and the hosted MCP
    /// servers' tokens.
    pub(crate) fn withheld_secrets(&self) -> Vec<crate::ApiKey> {
        let hosted = self
            .hosted_mcp
            .iter()
            .filter_map(|d| d.authorization.clone());
        self.connect.api_key.iter().cloned().chain(hosted).collect()
    }
}

/// The environment variable the key is read from when none is given.
const KEY_ENV: &str = "OPENAI_API_KEY";

/// Builds an [`Agent`]. Errors (such as an invalid tool name, or no key for OpenAI's endpoint)
/// surface at [`AgentBuilder::build`].
#[must_use = "an AgentBuilder does nothing until built"]
pub struct AgentBuilder {
    settings: Settings,
    /// Where the key comes from when none is given: this environment variable, or nowhere.
    key_env: Option<String>,
    tools: ToolRegistry,
    error: Option<RegistryError>,
    source: Option<Box<dyn AudioSource>>,
    sink: Option<Box<dyn AudioSink>>,
    /// The starting agent's name and handoffs, and the other agents.
    start: Option<AgentProfile>,
    agents: Vec<AgentProfile>,
    /// Hosted MCP servers, resolved at build.
    hosted_mcp: Vec<super::HostedMcp>,
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
                emit_audio_events: false,
                tool_shutdown_grace: Duration::from_secs(2),
                max_session: None,
                input_buffer_ms: 10_000,
                roster: None,
                hosted_mcp: Vec::new(),
                #[cfg(feature = "mcp")]
                mcp: Vec::new(),
                #[cfg(feature = "mcp")]
                tool_origins: crate::mcp::Origins::new(),
            },
            key_env: Some(KEY_ENV.to_owned()),
            tools: ToolRegistry::new(),
            error: None,
            source: None,
            sink: None,
            start: None,
            agents: Vec::new(),
            hosted_mcp: Vec::new(),
        }
    }
}

impl AgentBuilder {
    /// All connection options at once (URL, model, dialect, key, timeouts). Without a key in
    /// `options`, the key is still read from the environment at [`build`](AgentBuilder::build)
    /// (see [`api_key_env`](AgentBuilder::api_key_env)).
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

    /// The API key. Without one, [`build`](AgentBuilder::build) reads `OPENAI_API_KEY` (or the
    /// variable named with [`api_key_env`](AgentBuilder::api_key_env)).
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.settings.connect.api_key = Some(key);
        self
    }

    /// The environment variable the key is read from at [`build`](AgentBuilder::build) when no
    /// key is given (default `OPENAI_API_KEY`).
    pub fn api_key_env(mut self, variable: impl Into<String>) -> Self {
        self.key_env = Some(variable.into());
        self
    }

    /// Connects without a key and never reads one from the environment: for a local server
    /// (such as the fake server of `realtime_agent::testing`) that must not receive a real key.
    /// OpenAI's endpoint needs a key, so [`build`](AgentBuilder::build) then fails for it.
    pub fn no_api_key(mut self) -> Self {
        self.settings.connect.api_key = None;
        self.key_env = None;
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

    /// Names the agent that starts (its instructions and tools are this builder's
    /// [`session`](AgentBuilder::session) and tools) and the agents it may hand the
    /// conversation to, each through a generated `transfer_to_NAME` tool. Without this, an
    /// agent added with [`agent`](AgentBuilder::agent) hands back to `"agent"`.
    pub fn starting_agent(
        mut self,
        name: impl Into<String>,
        hands_to: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.start = Some(AgentProfile::new(name).hands_to(hands_to));
        self
    }

    /// Adds an agent the conversation can be handed to. Calling its `transfer_to_NAME` tool
    /// switches the instructions and tools with one `session.update`, keeps the conversation,
    /// and the model goes on as that agent (one `response.create`, as for any tool batch). The
    /// voice stays the same: the API refuses to change it once audio has been produced.
    ///
    /// ```
    /// use realtime_agent::agent::{Agent, AgentProfile};
    ///
    /// let agent = Agent::builder()
    ///     .no_api_key()
    ///     .url("ws://127.0.0.1:9/v1/realtime")
    ///     .starting_agent("reception", ["billing"])
    ///     .agent(AgentProfile::new("billing").instructions("You handle invoices."))
    ///     .build();
    /// assert!(agent.is_ok());
    /// ```
    pub fn agent(mut self, profile: AgentProfile) -> Self {
        self.agents.push(profile);
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

    /// Adds a hosted MCP server: the Realtime API lists its tools and calls them itself (GA
    /// only; with the beta dialect [`build`](AgentBuilder::build) fails). It stays with every
    /// agent of a handoff.
    ///
    /// ```
    /// use realtime_agent::agent::{Agent, HostedMcp};
    ///
    /// let agent = Agent::builder()
    ///     .no_api_key()
    ///     .url("ws://127.0.0.1:9/v1/realtime")
    ///     .hosted_mcp(HostedMcp::connector("calendar", "connector_googlecalendar"))
    ///     .build();
    /// assert!(agent.is_ok());
    /// ```
    pub fn hosted_mcp(mut self, server: super::HostedMcp) -> Self {
        self.hosted_mcp.push(server);
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

    /// Whether to report every chunk of assistant audio as an
    /// [`AgentEvent::AssistantAudio`](super::AgentEvent::AssistantAudio) to every subscriber
    /// (default false: a sink plays the audio, and subscribers that read transcripts or tool
    /// calls are not flooded with it).
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

    /// Builds the agent. Fails, before anything connects, for a tool that could not be
    /// registered, a URL that cannot work, and a missing key for OpenAI's endpoint: no key was
    /// given and `OPENAI_API_KEY` (or the [`api_key_env`](AgentBuilder::api_key_env) variable)
    /// is not set. A local or other server (such as the fake server) needs no key.
    pub fn build(mut self) -> Result<Agent, crate::Error> {
        if let Some(error) = self.error {
            return Err(crate::Error::ToolRegistry(error));
        }
        let connect = &mut self.settings.connect;
        if connect.api_key.is_none() {
            connect.api_key = self.key_env.as_deref().and_then(ApiKey::from_env);
        }
        let url = connect.request_url()?;
        let authorized = connect.api_key.is_some()
            || connect
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        if !authorized && is_openai(&url) {
            let mut shown = url.clone();
            shown.set_query(None);
            return Err(crate::Error::MissingApiKey {
                url: shown.to_string(),
                variable: self.key_env,
            });
        }
        self.settings.hosted_mcp =
            super::hosted_mcp::resolve_all(&self.hosted_mcp, self.settings.connect.dialect)?;
        if let Some(start) = self.starting_profile() {
            let roster = Roster::build(start, self.agents, &mut self.tools)?;
            self.settings.roster = Some(Arc::new(roster));
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
        Ok(Agent {
            runtime: Box::new(runtime),
            handle,
        })
    }
}

impl AgentBuilder {
    /// The starting agent as a profile, when there are handoffs.
    fn starting_profile(&self) -> Option<AgentProfile> {
        if self.start.is_none() && self.agents.is_empty() {
            return None;
        }
        let mut start = self
            .start
            .clone()
            .unwrap_or_else(|| AgentProfile::new("agent"));
        if let Some(text) = &self.settings.session.instructions {
            start = start.instructions(text.clone());
        }
        Some(start)
    }

    /// The tools the session starts with, as [`build`](AgentBuilder::build) makes them (with
    /// the starting agent's `transfer_to_*` tools): for `agent tools`.
    pub(crate) fn starting_tools(&self) -> Result<ToolRegistry, crate::Error> {
        if let Some(error) = &self.error {
            return Err(crate::Error::ToolRegistry(error.clone()));
        }
        let mut tools = self.tools.clone();
        if let Some(start) = self.starting_profile() {
            Roster::build(start, self.agents.clone(), &mut tools)?;
        }
        Ok(tools)
    }
}

/// Whether `url` is OpenAI's own endpoint, which refuses connections without a key.
fn is_openai(url: &url::Url) -> bool {
    url.host_str()
        .is_some_and(|host| host == "openai.com" || host.ends_with(".openai.com"))
}

/// A tool-calling voice agent on one Realtime session, embeddable in any tokio application.
///
/// [`Agent::connect`] opens the session and returns it running, or the reason it could not
/// (a refused key, a wrong URL), before any audio or text flows:
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::StreamExt as _;
/// use realtime_agent::agent::{Agent, AgentEvent};
///
/// let agent = Agent::builder().build()?; // the key from OPENAI_API_KEY
/// let mut events = agent.handle().subscribe(256);
/// let session = agent.connect().await?;
/// session.send_text("What time is it?").await?;
/// while let Some(event) = events.next().await {
///     if let AgentEvent::AssistantMessage { text, .. } = event {
///         println!("{text}");
///         break;
///     }
/// }
/// let summary = session.shutdown().await?;
/// # let _ = summary; Ok(()) }
/// ```
pub struct Agent {
    // Boxed: the agent is moved into the session's task and its run future, and a future keeps
    // a slot for everything it moved; on the heap, that is a pointer.
    runtime: Box<Runtime>,
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
    /// [`Agent::connect`] (or [`Agent::run`]) so that none are missed.
    pub fn handle(&self) -> AgentHandle {
        self.handle.clone()
    }

    /// Opens the session and returns it running on its own task. Handshake errors (a refused
    /// key, a wrong URL or model, nothing listening) come back here, typed
    /// ([`Error::Connect`](crate::Error::Connect)), before any audio or text flows.
    pub async fn connect(self) -> Result<RunningAgent, crate::Error> {
        let Agent { runtime, handle } = self;
        let task = match runtime.open().await? {
            Opened::Live(started) => tokio::spawn(started.run()),
            Opened::ShutDown(summary) => tokio::spawn(async move { Ok(summary) }),
        };
        Ok(RunningAgent {
            handle,
            task: Some(task),
        })
    }

    /// Runs the session until it is shut down through a handle, or fails for good (the key is
    /// refused, reconnection gave up). Returns what the session used.
    ///
    /// [`Agent::connect`] does the same on its own task, and reports a failed handshake first.
    pub async fn run(self) -> Result<super::SessionSummary, crate::Error> {
        self.runtime.run().await
    }
}

/// A running session, from [`Agent::connect`]. It derefs to its [`AgentHandle`] (send text,
/// subscribe, change tools, …).
///
/// Dropping it shuts the session down; [`RunningAgent::shutdown`] does so and waits for what
/// the session used, [`RunningAgent::wait`] waits until it ends by itself or through a handle.
#[must_use = "dropping a RunningAgent shuts the session down"]
pub struct RunningAgent {
    handle: AgentHandle,
    task: Option<JoinHandle<Result<super::SessionSummary, crate::Error>>>,
}

impl std::fmt::Debug for RunningAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAgent")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for RunningAgent {
    type Target = AgentHandle;

    fn deref(&self) -> &AgentHandle {
        &self.handle
    }
}

impl RunningAgent {
    /// A handle to the session, to keep elsewhere.
    pub fn handle(&self) -> AgentHandle {
        self.handle.clone()
    }

    /// Waits until the session ends (shut down through a handle, or failed for good) and
    /// returns what it used.
    pub async fn wait(mut self) -> Result<super::SessionSummary, crate::Error> {
        let task = self.task.take().expect("the task is taken only here");
        match task.await {
            Ok(outcome) => outcome,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(crate::Error::Disconnected(crate::transport::CloseInfo {
                code: None,
                reason: "the agent's task was cancelled (the tokio runtime is shutting down)"
                    .into(),
                clean: false,
            })),
        }
    }

    /// Shuts the session down and returns what it used.
    pub async fn shutdown(self) -> Result<super::SessionSummary, crate::Error> {
        self.handle.shutdown();
        self.wait().await
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.handle.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_openai_api_key_unless_told_otherwise() {
        assert_eq!(
            AgentBuilder::default().key_env.as_deref(),
            Some("OPENAI_API_KEY")
        );
        assert_eq!(
            AgentBuilder::default()
                .api_key_env("MY_KEY")
                .key_env
                .as_deref(),
            Some("MY_KEY")
        );
        assert_eq!(AgentBuilder::default().no_api_key().key_env, None);
    }

    #[test]
    fn only_openai_hosts_need_a_key() {
        let openai = |u: &str| is_openai(&url::Url::parse(u).unwrap());
        assert!(openai("wss://api.openai.com/v1/realtime"));
        assert!(!openai("ws://127.0.0.1:4000/v1/realtime"));
        assert!(!openai("wss://res.openai.azure.com/openai/v1/realtime"));
        assert!(!openai("wss://notopenai.com/v1/realtime"));
    }
}
