//! `agent.toml`: the agent's settings and declared tools, into the same
//! [`AgentBuilder`](crate::agent::AgentBuilder) that Rust code uses.
//!
//! ```toml
//! [agent]
//! model = "gpt-realtime"          # api = "ga" | "beta", url = "wss://…", voice = "marin"
//! instructions = "You are a helpful voice assistant."   # or instructions_file = "prompt.md"
//! api_key_env = "OPENAI_API_KEY"  # the variable holding the key; never the key itself
//!
//! [turn_detection]
//! type = "server_vad"             # or "semantic_vad" (eagerness), or "none" (manual turns)
//! silence_duration_ms = 500
//!
//! [transcription]
//! model = "gpt-4o-mini-transcribe"
//!
//! [audio]
//! echo_cancellation = true        # talk over the assistant on open speakers (the default)
//!
//! [[tools]]
//! kind = "command"
//! name = "time_and_date"
//! description = "The current date and time."
//! program = "tools/time-and-date"
//!
//! [[tools]]                      # a remote MCP server the Realtime API calls itself (GA)
//! kind = "hosted_mcp"
//! server_label = "docs"
//! server_url = "https://mcp.example.com/mcp"   # or connector_id = "connector_…"
//! require_approval = "never"      # "always" (default), or { never = ["search"] }
//!
//! [agents.billing]               # an agent [agent] can hand to: [agent] handoffs = ["billing"]
//! instructions = "You handle invoices and refunds."
//! tools = ["time_and_date"]       # names of declared [[tools]]
//! handoffs = ["agent"]            # `agent` is the starting agent, [agent]
//!
//! [[mcp]]                          # an MCP server's tools (feature `mcp`)
//! name = "everything"
//! command = "npx"
//! args = ["-y", "@modelcontextprotocol/server-everything"]
//!
//! [serve]                         # `agent serve`: phone calls and the browser page
//! public_url = "https://agent.example.com"
//! max_sessions = 100
//! twilio_auth_token_env = "TWILIO_AUTH_TOKEN"
//!
//! [prices."gpt-realtime"]         # USD per million tokens, to override the built-in table
//! text_in = 4.0
//! cached_text_in = 0.4
//! text_out = 16.0
//! audio_in = 32.0
//! cached_audio_in = 0.4
//! audio_out = 64.0
//! ```
//!
//! Every error names the file, the line and column, and the key; an unknown key comes with the
//! nearest valid one. Secrets come only from the environment. See [`Config`] for each table.
//!
//! ```
//! use realtime_agent::config::Config;
//!
//! let config = Config::parse(
//!     "[agent]\nmodel = \"gpt-realtime\"\nvoice = \"marin\"\n",
//!     "agent.toml",
//! )?;
//! let builder = config.agent_builder()?; // connection, session and tools, ready for audio
//! # drop(builder);
//! # Ok::<(), realtime_agent::config::ConfigError>(())
//! ```

mod agents;
mod error;
mod hosted_mcp;
mod keys;
mod load;
#[cfg(feature = "mcp")]
mod mcp;
mod secret_vars;
mod sections;
mod serve;
mod session;
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use agents::{AgentEntry, STARTING_AGENT};
pub use error::{ConfigError, ConfigErrorKind, Position};
pub use secret_vars::SecretVar;
pub use sections::{
    AgentSection, AudioSection, Eagerness, HostChoice, NoiseReductionChoice, TranscriptionSection,
    TurnDetectionKind, TurnDetectionSection,
};
pub use serve::{DEFAULT_DRAIN_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_SESSIONS, ServeSection};
pub use session::{DEFAULT_API_KEY_ENV, DEFAULT_TRANSCRIPTION_MODEL};
pub use tools::ConfigTool;

use crate::agent::Prices;

/// The file read when no path is given.
pub const DEFAULT_PATH: &str = "agent.toml";

/// A loaded `agent.toml`. Fields are public so that a command line can override them before
/// building ([`Config::agent_builder`]).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from (`None` for defaults).
    pub path: Option<PathBuf>,
    /// `[agent]`. `instructions_file` has already been read into `instructions`.
    pub agent: AgentSection,
    /// `[turn_detection]`; `None` leaves the server's default (server VAD).
    pub turn_detection: Option<TurnDetectionSection>,
    /// `[transcription]`.
    pub transcription: TranscriptionSection,
    /// `[audio]`.
    pub audio: AudioSection,
    /// `[[tools]]`, checked and built, in file order.
    pub tools: Vec<ConfigTool>,
    /// `[[tools]]` with `kind = "hosted_mcp"`: remote MCP servers the Realtime API calls
    /// itself, in file order.
    pub hosted_mcp: Vec<crate::agent::HostedMcp>,
    /// `[agents.NAME]`: agents the conversation can be handed to, in file order.
    pub agents: Vec<AgentEntry>,
    /// `[[mcp]]`: MCP servers whose tools the agent offers, in file order (feature `mcp`).
    #[cfg(feature = "mcp")]
    pub mcp: Vec<crate::mcp::McpServer>,
    /// `[prices."model"]`: prices that replace the built-in table.
    pub prices: BTreeMap<String, Prices>,
    /// `[serve]`: `agent serve`'s settings.
    pub serve: ServeSection,
    /// The variables this file names as holding secrets (the API key's first): no program the
    /// agent starts gets them, and the CLI's logs mask their values. Empty for defaults, where
    /// the key's variable is `OPENAI_API_KEY`, which is always withheld.
    pub secrets: Vec<SecretVar>,
}

impl Config {
    /// Reads and checks `path`. Relative paths inside it (`instructions_file`, tool programs)
    /// are taken from the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::read(path, &e))?;
        Config::parse(&text, path)
    }

    /// Checks `text` as the contents of the file `path` (used in messages and as the base of
    /// relative paths).
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        load::parse(text, path.as_ref())
    }

    /// The price table for `model`: `[prices."model"]` if the file has it, else the built-in
    /// one ([`Prices::for_model`]).
    pub fn prices_for(&self, model: &str) -> Option<Prices> {
        self.prices
            .get(model)
            .copied()
            .or_else(|| Prices::for_model(model))
    }

    /// The handoff graph, one line per agent (`agent -> billing, support`, `support -> (none)`);
    /// empty when the file has a single agent.
    pub fn handoff_graph(&self) -> Vec<String> {
        if self.agents.is_empty() && self.agent.handoffs.is_none() {
            return Vec::new();
        }
        agents::graph(&self.agent, &self.agents)
    }

    /// The directory relative paths are taken from.
    pub fn base_dir(&self) -> PathBuf {
        base_dir(self.path.as_deref())
    }
}

/// The directory of `path` (`.` for a bare file name or none).
pub(crate) fn base_dir(path: Option<&Path>) -> PathBuf {
    match path.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
