//! From `agent.toml` to the session, the connection and the agent builder: the one path that
//! both the command line and Rust code take.

use super::error::{ConfigError, ConfigErrorKind};
use super::sections::{NoiseReductionChoice, TurnDetectionKind, TurnDetectionSection};
use super::{Config, ConfigTool};
use crate::ApiKey;
use crate::agent::{Agent, AgentBuilder, AgentProfile};
use crate::protocol::{
    Dialect, InputTranscription, NoiseReduction, SemanticVad, ServerVad, SessionConfig,
    TurnDetection, Voice,
};
use crate::tool::{RegisteredTool, ToolOverrides, ToolRegistry};
use crate::transport::{ConnectOptions, DEFAULT_MODEL};

/// The variable the API key is read from unless `api_key_env` names another.
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// The transcription model used unless `[transcription]` names one.
pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "gpt-4o-mini-transcribe";

impl TurnDetectionSection {
    /// The session's `turn_detection`: `None` for manual turns.
    pub fn to_protocol(&self) -> Option<TurnDetection> {
        match self.kind {
            TurnDetectionKind::None => None,
            TurnDetectionKind::ServerVad => Some(TurnDetection::ServerVad(ServerVad {
                threshold: self.threshold,
                prefix_padding_ms: self.prefix_padding_ms,
                silence_duration_ms: self.silence_duration_ms,
                create_response: self.create_response,
                interrupt_response: self.interrupt_response,
                idle_timeout_ms: self.idle_timeout_ms.map(Some),
                ..ServerVad::default()
            })),
            TurnDetectionKind::SemanticVad => Some(TurnDetection::SemanticVad(SemanticVad {
                eagerness: self.eagerness.map(|e| e.as_str().to_owned()),
                create_response: self.create_response,
                interrupt_response: self.interrupt_response,
                ..SemanticVad::default()
            })),
        }
    }
}

impl Config {
    /// The model (`[agent] model`, else `gpt-realtime`).
    pub fn model(&self) -> &str {
        self.agent.model.as_deref().unwrap_or(DEFAULT_MODEL)
    }

    /// The wire dialect (`[agent] api`, else GA).
    pub fn dialect(&self) -> Dialect {
        self.agent.api.unwrap_or_default()
    }

    /// The environment variable that holds the API key.
    pub fn api_key_env(&self) -> &str {
        self.agent
            .api_key_env
            .as_deref()
            .unwrap_or(DEFAULT_API_KEY_ENV)
    }

    /// The API key from the environment, if set.
    pub fn api_key(&self) -> Option<ApiKey> {
        ApiKey::from_env(self.api_key_env())
    }

    /// Where and how to connect (no key: see [`Config::api_key`]).
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            url: self.agent.url.clone(),
            model: self.model().to_owned(),
            dialect: self.dialect(),
            ..ConnectOptions::default()
        }
    }

    /// The input transcription setting: on with the configured (or default) model unless
    /// `enabled = false`.
    pub fn input_transcription(&self) -> Option<InputTranscription> {
        let t = &self.transcription;
        if t.enabled == Some(false) {
            return None;
        }
        Some(InputTranscription {
            model: Some(
                t.model
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TRANSCRIPTION_MODEL.to_owned()),
            ),
            language: t.language.clone(),
            prompt: t.prompt.clone(),
            ..InputTranscription::default()
        })
    }

    /// The session configuration (tools come from [`Config::tool_registry`]).
    pub fn session(&self) -> SessionConfig {
        let agent = &self.agent;
        SessionConfig {
            instructions: agent.instructions.clone(),
            voice: agent.voice.as_deref().map(Voice::from),
            speed: agent.speed,
            output_modalities: agent.output_modalities.clone(),
            temperature: agent.temperature,
            max_output_tokens: agent.max_output_tokens,
            turn_detection: self.turn_detection.as_ref().map(|t| t.to_protocol()),
            input_transcription: Some(self.input_transcription()),
            noise_reduction: self.audio.noise_reduction.map(|choice| match choice {
                NoiseReductionChoice::Off => None,
                NoiseReductionChoice::NearField => Some(NoiseReduction {
                    kind: "near_field".into(),
                    ..NoiseReduction::default()
                }),
                NoiseReductionChoice::FarField => Some(NoiseReduction {
                    kind: "far_field".into(),
                    ..NoiseReduction::default()
                }),
            }),
            ..SessionConfig::default()
        }
    }

    /// The declared tools in a registry, in file order.
    pub fn tool_registry(&self) -> Result<ToolRegistry, ConfigError> {
        self.tool_registry_with(&ToolRegistry::new())
    }

    /// The declared tools in file order, then the tools of `rust` (registered in code, e.g. by
    /// a custom command line), with their options.
    pub fn tool_registry_with(&self, rust: &ToolRegistry) -> Result<ToolRegistry, ConfigError> {
        let mut registry = ToolRegistry::new();
        for tool in &self.tools {
            registry
                .add_shared(tool.tool(), ToolOverrides::default())
                .map_err(|error| {
                    ConfigError::at(
                        self.path.as_deref(),
                        tool.position(),
                        Some(format!("tools.{}", tool.name())),
                        error.to_string(),
                        ConfigErrorKind::Tool,
                    )
                })?;
        }
        for registered in rust.iter() {
            let overrides = overrides_of(registered);
            if let Err(error) = registry.add_shared(registered.tool().clone(), overrides) {
                let declared = self.tools.iter().find(|t| t.name() == registered.name());
                let message = match declared {
                    Some(_) => format!(
                        "a tool named {:?} is declared here and also registered in Rust; rename \
                         one of them",
                        registered.name()
                    ),
                    None => error.to_string(),
                };
                return Err(ConfigError::at(
                    self.path.as_deref(),
                    declared.and_then(ConfigTool::position),
                    Some(format!("tools.{}", registered.name())),
                    message,
                    ConfigErrorKind::Tool,
                ));
            }
        }
        Ok(registry)
    }

    /// An agent builder with this file's connection, session and tools, and the API key when
    /// its variable is set. Add audio, a recorder or more tools, then build.
    pub fn agent_builder(&self) -> Result<AgentBuilder, ConfigError> {
        self.agent_builder_with(&ToolRegistry::new())
    }

    /// [`Config::agent_builder`] with the tools of `rust` after the declared ones.
    ///
    /// With `[agents.NAME]` or `[agent] handoffs`, the agents and their handoffs go in through
    /// [`AgentBuilder::starting_agent`] and [`AgentBuilder::agent`]; `[agent] tools` then picks
    /// the starting agent's declared tools (the tools of `rust` stay with it).
    pub fn agent_builder_with(&self, rust: &ToolRegistry) -> Result<AgentBuilder, ConfigError> {
        let all = self.tool_registry_with(rust)?;
        let tools = match &self.agent.tools {
            Some(names) => {
                let mut picked = pick(&all, names.iter().map(String::as_str));
                for registered in rust.iter() {
                    if picked.get(registered.name()).is_none() {
                        let _ =
                            picked.add_shared(registered.tool().clone(), overrides_of(registered));
                    }
                }
                picked
            }
            None => all.clone(),
        };
        let mut builder = Agent::builder()
            .connect_options(self.connect_options())
            .session(self.session())
            .tools(tools)
            .api_key_env(self.api_key_env());
        if !self.agents.is_empty() || self.agent.handoffs.is_some() {
            builder = builder.starting_agent(
                super::STARTING_AGENT,
                self.agent.handoffs.clone().unwrap_or_default(),
            );
            for entry in &self.agents {
                let mut profile = AgentProfile::new(&entry.name)
                    .tools(pick(&all, entry.tools.iter().map(String::as_str)))
                    .hands_to(entry.handoffs.iter().cloned());
                if let Some(text) = &entry.instructions {
                    profile = profile.instructions(text.clone());
                }
                builder = builder.agent(profile);
            }
        }
        if let Some(key) = self.api_key() {
            builder = builder.api_key(key);
        }
        for server in &self.hosted_mcp {
            builder = builder.hosted_mcp(server.clone());
        }
        #[cfg(feature = "mcp")]
        {
            for (name, origin) in self.tool_origins() {
                builder = builder.tool_origin(&name, origin);
            }
            for server in &self.mcp {
                builder = builder.mcp_server(server.clone());
            }
        }
        Ok(builder)
    }

    /// Where each declared tool is, for a clash with an MCP server's tool.
    #[cfg(feature = "mcp")]
    pub(crate) fn tool_origins(&self) -> crate::mcp::Origins {
        let file = self
            .path
            .as_deref()
            .unwrap_or(std::path::Path::new(super::DEFAULT_PATH));
        self.tools
            .iter()
            .map(|tool| {
                let origin = match tool.position() {
                    Some(at) => format!(
                        "the [[tools]] entry {:?} at {}:{at}",
                        tool.name(),
                        file.display()
                    ),
                    None => format!("the [[tools]] entry {:?}", tool.name()),
                };
                (tool.name().to_owned(), origin)
            })
            .collect()
    }
}

/// A tool's effective options, to register it again elsewhere unchanged.
fn overrides_of(registered: &RegisteredTool) -> ToolOverrides {
    let options = registered.options();
    ToolOverrides {
        timeout: Some(options.timeout),
        on_interrupt: Some(options.on_interrupt),
        requires_approval: Some(options.requires_approval),
        filler_after: options.filler_after,
    }
}

/// The tools of `all` called `names` (checked to exist at load), with their options.
fn pick<'a>(all: &ToolRegistry, names: impl IntoIterator<Item = &'a str>) -> ToolRegistry {
    let mut picked = ToolRegistry::new();
    for registered in names.into_iter().filter_map(|name| all.get(name)) {
        // A name listed twice is added once.
        let _ = picked.add_shared(registered.tool().clone(), overrides_of(registered));
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::{BoxError, tool_fn_without_context};
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn the_file_becomes_the_session_sent() {
        let config = Config::parse(
            r#"
[agent]
api = "beta"
voice = "cedar"
instructions = "Be brief."
output_modalities = ["text"]
temperature = 0.7

[turn_detection]
type = "semantic_vad"
eagerness = "low"
interrupt_response = false

[transcription]
model = "whisper-1"
language = "fr"

[audio]
noise_reduction = "far_field"
"#,
            Path::new("agent.toml"),
        )
        .unwrap();
        assert_eq!(config.dialect(), Dialect::Beta);
        assert_eq!(
            config.session().to_wire(Dialect::Beta),
            json!({
                "modalities": ["text"],
                "voice": "cedar",
                "input_audio_transcription": {"model": "whisper-1", "language": "fr"},
                "input_audio_noise_reduction": {"type": "far_field"},
                "turn_detection": {"type": "semantic_vad", "eagerness": "low", "interrupt_response": false},
                "temperature": 0.7,
                "instructions": "Be brief."
            })
        );
        let off = Config::parse(
            "[transcription]\nenabled = false\n[turn_detection]\ntype = \"none\"\n",
            Path::new("agent.toml"),
        )
        .unwrap()
        .session();
        assert_eq!(off.input_transcription, Some(None));
        assert_eq!(off.turn_detection, Some(None));
    }

    #[test]
    fn rust_tools_follow_declared_ones_and_may_not_share_a_name() {
        let config = Config::parse(
            "[[tools]]\nkind = \"command\"\nname = \"clock\"\nprogram = \"date\"\n",
            Path::new("agent.toml"),
        )
        .unwrap();
        let mut rust = ToolRegistry::new();
        rust.add(tool_fn_without_context("dice", "Rolls", |_: ()| async {
            Ok::<_, BoxError>(4)
        }))
        .unwrap();
        let registry = config.tool_registry_with(&rust).unwrap();
        assert_eq!(registry.names(), ["clock", "dice"]);
        let mut clash = ToolRegistry::new();
        clash
            .add(tool_fn_without_context("clock", "Another", |_: ()| async {
                Ok::<_, BoxError>(0)
            }))
            .unwrap();
        let error = config.tool_registry_with(&clash).unwrap_err();
        assert_eq!(
            error.to_string(),
            "agent.toml:3:8: `tools.clock`: a tool named \"clock\" is declared here and also \
             registered in Rust; rename one of them"
        );
    }
}
