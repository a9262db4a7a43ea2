//! Hosted MCP servers: remote MCP servers that the Realtime API (GA) lists and calls itself,
//! declared as `{"type":"mcp", …}` tools of the session.

use std::collections::BTreeMap;

use crate::ApiKey;
use crate::protocol::{AllowedTools, McpToolDefinition, RequireApproval};

/// A remote MCP server the Realtime API calls on the agent's behalf (GA only), added with
/// [`AgentBuilder::hosted_mcp`](super::AgentBuilder::hosted_mcp).
///
/// Its tools are listed by the API ([`AgentEvent::HostedMcpTools`](super::AgentEvent::HostedMcpTools)),
/// its calls are reported as [`AgentEvent::HostedMcpCallStarted`](super::AgentEvent::HostedMcpCallStarted)
/// and [`AgentEvent::HostedMcpCallFinished`](super::AgentEvent::HostedMcpCallFinished), and a call
/// that needs approval goes through [`AgentEvent::ApprovalRequested`](super::AgentEvent::ApprovalRequested)
/// and [`AgentHandle::approve`](super::AgentHandle::approve) / `reject`, like the agent's own
/// tools.
///
/// ```
/// use realtime_agent::agent::{Agent, HostedMcp};
/// use realtime_agent::protocol::RequireApproval;
///
/// let docs = HostedMcp::url("docs", "https://mcp.example.com/sse")
///     .allowed_tools(["search"])
///     .require_approval(RequireApproval::Never)
///     .authorization_env("DOCS_MCP_TOKEN");
/// let builder = Agent::builder().hosted_mcp(docs);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct HostedMcp {
    definition: McpToolDefinition,
    authorization_env: Option<String>,
}

/// Why a hosted MCP server cannot be used. Fix the configuration; retrying does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostedMcpError {
    /// The beta dialect has no MCP tools.
    #[error(
        "hosted MCP server {label:?}: hosted MCP needs the GA interface (api = \"ga\"); the beta \
         interface has no MCP tools"
    )]
    NeedsGa {
        /// The server's label.
        label: String,
    },
    /// The variable named by `authorization_env` is not set (or empty).
    #[error("hosted MCP server {label:?}: the variable {var} (authorization_env) is not set")]
    MissingAuthorization {
        /// The server's label.
        label: String,
        /// The variable.
        var: String,
    },
    /// Both or neither of `server_url` and `connector_id`.
    #[error("hosted MCP server {label:?}: give exactly one of server_url and connector_id")]
    Target {
        /// The server's label.
        label: String,
    },
    /// Two hosted servers with one label.
    #[error("two hosted MCP servers are labelled {label:?}; labels must be unique")]
    DuplicateLabel {
        /// The label.
        label: String,
    },
}

impl HostedMcp {
    /// The server at `url`, known to the model and in events as `label`.
    pub fn url(label: impl Into<String>, url: impl Into<String>) -> HostedMcp {
        HostedMcp {
            definition: McpToolDefinition {
                server_label: label.into(),
                server_url: Some(url.into()),
                ..McpToolDefinition::default()
            },
            authorization_env: None,
        }
    }

    /// The OpenAI connector `connector_id` (e.g. `connector_googlecalendar`), known as `label`.
    pub fn connector(label: impl Into<String>, connector_id: impl Into<String>) -> HostedMcp {
        HostedMcp {
            definition: McpToolDefinition {
                server_label: label.into(),
                connector_id: Some(connector_id.into()),
                ..McpToolDefinition::default()
            },
            authorization_env: None,
        }
    }

    /// A server as the session declares it (both or neither of `server_url` and
    /// `connector_id` is an error at build).
    pub fn from_definition(definition: McpToolDefinition) -> HostedMcp {
        HostedMcp {
            definition,
            authorization_env: None,
        }
    }

    /// The session's tool entry as declared, without a token read from the environment.
    pub(crate) fn declared(&self) -> &McpToolDefinition {
        &self.definition
    }

    /// The label.
    pub fn label(&self) -> &str {
        &self.definition.server_label
    }

    /// The server's URL, if it is given by URL.
    pub fn server_url(&self) -> Option<&str> {
        self.definition.server_url.as_deref()
    }

    /// The connector, if it is one.
    pub fn connector_id(&self) -> Option<&str> {
        self.definition.connector_id.as_deref()
    }

    /// The variable the `authorization` token is read from, if any.
    pub fn authorization_var(&self) -> Option<&str> {
        self.authorization_env.as_deref()
    }

    /// Only these of the server's tools.
    pub fn allowed_tools<I, S>(mut self, names: I) -> HostedMcp
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.definition.allowed_tools = Some(AllowedTools::Names(
            names.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Which calls wait for the user's approval (the API's default is
    /// [`RequireApproval::Always`]).
    pub fn require_approval(mut self, require: RequireApproval) -> HostedMcp {
        self.definition.require_approval = Some(require);
        self
    }

    /// The token the API sends to the server (its `authorization` field).
    pub fn authorization(mut self, token: ApiKey) -> HostedMcp {
        self.definition.authorization = Some(token);
        self.authorization_env = None;
        self
    }

    /// Reads the `authorization` token from the environment variable `var` when the agent is
    /// built; an unset variable is an error then.
    pub fn authorization_env(mut self, var: impl Into<String>) -> HostedMcp {
        self.definition.authorization = None;
        self.authorization_env = Some(var.into());
        self
    }

    /// Extra HTTP headers for the server.
    pub fn headers<I, K, V>(mut self, headers: I) -> HostedMcp
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let headers: BTreeMap<String, String> = headers
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.definition.headers = (!headers.is_empty()).then_some(headers);
        self
    }

    /// What the server is for, for the model.
    pub fn server_description(mut self, description: impl Into<String>) -> HostedMcp {
        self.definition.server_description = Some(description.into());
        self
    }

    /// The session's tool entry, with the token read from the environment if it comes from
    /// there.
    pub fn resolve(&self) -> Result<McpToolDefinition, HostedMcpError> {
        let label = self.label().to_owned();
        if self.definition.server_url.is_some() == self.definition.connector_id.is_some() {
            return Err(HostedMcpError::Target { label });
        }
        let mut definition = self.definition.clone();
        if let Some(var) = &self.authorization_env {
            let token =
                ApiKey::from_env(var).ok_or_else(|| HostedMcpError::MissingAuthorization {
                    label: label.clone(),
                    var: var.clone(),
                })?;
            definition.authorization = Some(token);
        }
        Ok(definition)
    }
}

/// Resolves every server for a session of `dialect`.
pub(crate) fn resolve_all(
    servers: &[HostedMcp],
    dialect: crate::protocol::Dialect,
) -> Result<Vec<McpToolDefinition>, HostedMcpError> {
    let mut resolved: Vec<McpToolDefinition> = Vec::with_capacity(servers.len());
    for server in servers {
        if dialect == crate::protocol::Dialect::Beta {
            return Err(HostedMcpError::NeedsGa {
                label: server.label().to_owned(),
            });
        }
        let definition = server.resolve()?;
        if resolved
            .iter()
            .any(|d| d.server_label == definition.server_label)
        {
            return Err(HostedMcpError::DuplicateLabel {
                label: definition.server_label,
            });
        }
        resolved.push(definition);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug() {
        let server = HostedMcp::url("docs", "https://mcp.example.com")
            .authorization(ApiKey::new("mcp-token-planted-123"))
            .headers([("X-Api-Key", "header-secret-456")]);
        let definition = server.resolve().unwrap();
        let shown = format!("{server:?} {definition:?}");
        assert!(!shown.contains("planted"), "{shown}");
        assert!(!shown.contains("header-secret"), "{shown}");
        let wire = serde_json::to_value(crate::protocol::ToolDefinition::Mcp(definition)).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"type": "mcp", "server_label": "docs",
                "server_url": "https://mcp.example.com", "authorization": "mcp-token-planted-123",
                "headers": {"X-Api-Key": "header-secret-456"}})
        );
    }

    #[test]
    fn per_tool_approval_is_spelled_as_the_api_spells_it() {
        let require = RequireApproval::per_tool(["delete"], ["search", "read"]);
        let wire = serde_json::to_value(&require).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"always": {"tool_names": ["delete"]},
                "never": {"tool_names": ["search", "read"]}})
        );
        let back: RequireApproval = serde_json::from_value(wire).unwrap();
        assert_eq!(back, require);
        assert!(!require.requires("search"));
        assert!(require.requires("delete"));
        assert!(require.requires("unlisted"));
    }

    #[test]
    fn beta_and_a_double_target_are_refused() {
        let server = HostedMcp::url("docs", "https://x");
        assert_eq!(
            resolve_all(
                std::slice::from_ref(&server),
                crate::protocol::Dialect::Beta
            ),
            Err(HostedMcpError::NeedsGa {
                label: "docs".into()
            })
        );
        let mut both = McpToolDefinition {
            server_label: "both".into(),
            server_url: Some("https://x".into()),
            connector_id: Some("connector_x".into()),
            ..Default::default()
        };
        assert_eq!(
            HostedMcp::from_definition(both.clone()).resolve(),
            Err(HostedMcpError::Target {
                label: "both".into()
            })
        );
        both.server_url = None;
        both.connector_id = None;
        assert!(HostedMcp::from_definition(both).resolve().is_err());
    }
}
