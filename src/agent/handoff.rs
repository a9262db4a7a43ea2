//! Handoffs: several agents on one session, each with its own instructions and tools, handing
//! the conversation to one another through generated `transfer_to_NAME` tools.
//!
//! A handoff keeps the session and the conversation; it switches the instructions and the tools
//! with one `session.update` (a [`ToolChange`](super::ToolChange) that replaces every tool). The
//! voice stays: the API refuses to change it once audio has been produced.

use std::collections::BTreeMap;

use crate::protocol::SessionConfig;
use crate::tool::{RegistryError, ToolOverrides, ToolRegistry, tool_fn_without_context};

use super::ToolChange;

/// The prefix of the generated handoff tools: `transfer_to_billing` hands to `billing`.
pub const TRANSFER_PREFIX: &str = "transfer_to_";

/// One agent the conversation can be handed to: its name, instructions, own tools and the
/// agents it may hand on to ([`AgentBuilder::agent`](super::AgentBuilder::agent)).
///
/// ```
/// use realtime_agent::agent::AgentProfile;
/// use realtime_agent::tool::ToolRegistry;
///
/// let billing = AgentProfile::new("billing")
///     .instructions("You handle invoices and refunds.")
///     .tools(ToolRegistry::new())
///     .hands_to(["support"]);
/// assert_eq!(billing.name(), "billing");
/// ```
#[derive(Clone)]
pub struct AgentProfile {
    name: String,
    instructions: Option<String>,
    tools: ToolRegistry,
    handoffs: Vec<String>,
}

impl std::fmt::Debug for AgentProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentProfile")
            .field("name", &self.name)
            .field("tools", &self.tools.names())
            .field("handoffs", &self.handoffs)
            .finish_non_exhaustive()
    }
}

impl AgentProfile {
    /// An agent called `name`, without instructions, tools or handoffs yet.
    pub fn new(name: impl Into<String>) -> Self {
        AgentProfile {
            name: name.into(),
            instructions: None,
            tools: ToolRegistry::new(),
            handoffs: Vec::new(),
        }
    }

    /// Its instructions, sent when the conversation is handed to it.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Its own tools (its `transfer_to_*` tools are added to them).
    pub fn tools(mut self, tools: ToolRegistry) -> Self {
        self.tools = tools;
        self
    }

    /// The agents it may hand the conversation to.
    pub fn hands_to(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.handoffs = names.into_iter().map(Into::into).collect();
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agents it may hand to.
    pub fn handoffs(&self) -> &[String] {
        &self.handoffs
    }
}

/// Why a set of agents cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// Two agents have the same name. Rename one.
    #[error("two agents are called {0:?}; give each agent its own name")]
    DuplicateAgent(String),
    /// An agent hands to one that does not exist. Fix the name or add the agent.
    #[error("agent {from:?} hands to {to:?}, but there is no agent of that name (agents: {known})")]
    UnknownAgent {
        /// The agent handing off.
        from: String,
        /// The missing target.
        to: String,
        /// The agents there are, comma-separated.
        known: String,
    },
    /// A generated `transfer_to_*` tool could not be added to an agent's tools (its name is
    /// taken, or the agent's name makes an invalid tool name).
    #[error("agent {agent:?}: {error}")]
    Tool {
        /// The agent whose tools refused it.
        agent: String,
        /// Why.
        error: RegistryError,
    },
}

/// An agent ready to take over: what one handoff sends.
#[derive(Clone)]
struct Resolved {
    instructions: Option<String>,
    tools: ToolRegistry,
}

/// Every agent of a session, by name, with its `transfer_to_*` tools in place.
#[derive(Clone)]
pub(crate) struct Roster {
    start: String,
    agents: BTreeMap<String, Resolved>,
}

impl Roster {
    /// Checks the agents and adds each one's `transfer_to_*` tools. `start` is the agent that
    /// begins: its tools (`start_tools`) get its transfer tools too.
    pub(crate) fn build(
        start: AgentProfile,
        others: Vec<AgentProfile>,
        start_tools: &mut ToolRegistry,
    ) -> Result<Roster, HandoffError> {
        let mut profiles: Vec<AgentProfile> = Vec::with_capacity(others.len() + 1);
        for profile in std::iter::once(start).chain(others) {
            if profiles.iter().any(|p| p.name == profile.name) {
                return Err(HandoffError::DuplicateAgent(profile.name));
            }
            profiles.push(profile);
        }
        let known = profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut agents = BTreeMap::new();
        for (index, profile) in profiles.iter().enumerate() {
            let mut tools = if index == 0 {
                std::mem::take(start_tools)
            } else {
                profile.tools.clone()
            };
            for target in &profile.handoffs {
                let Some(to) = profiles.iter().find(|p| &p.name == target) else {
                    return Err(HandoffError::UnknownAgent {
                        from: profile.name.clone(),
                        to: target.clone(),
                        known,
                    });
                };
                tools
                    .add_with(transfer_tool(to), ToolOverrides::default())
                    .map_err(|error| HandoffError::Tool {
                        agent: profile.name.clone(),
                        error,
                    })?;
            }
            if index == 0 {
                *start_tools = tools.clone();
            }
            agents.insert(
                profile.name.clone(),
                Resolved {
                    instructions: profile.instructions.clone(),
                    tools,
                },
            );
        }
        let start = profiles[0].name.clone();
        Ok(Roster { start, agents })
    }

    /// The agent that starts.
    pub(crate) fn start(&self) -> &str {
        &self.start
    }

    /// The agent a finished call to `tool` hands to, if `tool` is a handoff tool.
    pub(crate) fn target_of(&self, tool: &str) -> Option<&str> {
        let name = tool.strip_prefix(TRANSFER_PREFIX)?;
        self.agents.get_key_value(name).map(|(k, _)| k.as_str())
    }

    /// The change that hands the conversation to `agent`: its instructions and tools, in one
    /// `session.update`.
    pub(crate) fn change_to(&self, agent: &str) -> Option<ToolChange> {
        let resolved = self.agents.get(agent)?;
        Some(
            ToolChange::replace_all(resolved.tools.clone()).with_session(SessionConfig {
                instructions: Some(resolved.instructions.clone().unwrap_or_default()),
                ..SessionConfig::default()
            }),
        )
    }
}

/// The generated tool that hands to `to`. It only answers; the agent loop makes the switch
/// when its output is posted (before the output, so the next response is the new agent's).
fn transfer_tool(to: &AgentProfile) -> impl crate::tool::DynTool + 'static {
    let name = to.name.clone();
    let description = match to.instructions.as_deref().map(summary) {
        Some(about) if !about.is_empty() => {
            format!("Hand the conversation to the {name} agent. {about}")
        }
        _ => format!("Hand the conversation to the {name} agent."),
    };
    let output = format!("Transferred to the {name} agent. Continue the conversation as {name}.");
    tool_fn_without_context(
        format!("{TRANSFER_PREFIX}{name}"),
        description,
        move |_: ()| {
            let output = output.clone();
            async move { Ok::<_, String>(output) }
        },
    )
}

/// The first sentence of `instructions`, at most 200 characters: what the target does.
fn summary(instructions: &str) -> String {
    let text = instructions.trim();
    let end = text.find(['.', '\n']).map_or(text.len(), |i| i + 1);
    let first: String = text[..end].trim().chars().take(200).collect();
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_targets_and_duplicates_are_refused() {
        let mut tools = ToolRegistry::new();
        let error = Roster::build(
            AgentProfile::new("agent").hands_to(["billing"]),
            vec![AgentProfile::new("support")],
            &mut tools,
        )
        .err()
        .unwrap();
        assert_eq!(
            error.to_string(),
            "agent \"agent\" hands to \"billing\", but there is no agent of that name (agents: agent, support)"
        );
        let error = Roster::build(
            AgentProfile::new("agent"),
            vec![AgentProfile::new("agent")],
            &mut tools,
        )
        .err()
        .unwrap();
        assert_eq!(error, HandoffError::DuplicateAgent("agent".into()));
    }

    #[test]
    fn each_agent_gets_the_transfer_tools_of_its_own_handoffs() {
        let mut tools = ToolRegistry::new();
        let roster = Roster::build(
            AgentProfile::new("agent").hands_to(["billing", "support"]),
            vec![
                AgentProfile::new("billing")
                    .instructions("You handle invoices. Be exact.")
                    .hands_to(["agent"]),
                AgentProfile::new("support"),
            ],
            &mut tools,
        )
        .unwrap();
        assert_eq!(
            tools.names(),
            ["transfer_to_billing", "transfer_to_support"]
        );
        let wire = serde_json::to_value(tools.definitions()).unwrap();
        assert_eq!(
            wire[0]["description"],
            "Hand the conversation to the billing agent. You handle invoices."
        );
        assert_eq!(
            roster.agents["billing"].tools.names(),
            ["transfer_to_agent"]
        );
        assert_eq!(roster.target_of("transfer_to_support"), Some("support"));
        assert_eq!(roster.target_of("transfer_to_nobody"), None);
        assert_eq!(roster.target_of("get_weather"), None);
    }
}
