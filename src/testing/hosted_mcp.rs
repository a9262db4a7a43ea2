//! Hosted MCP servers as the fake Realtime server simulates them: what it lists and what each
//! tool answers.

use serde_json::Value;

use crate::protocol::{McpCallError, McpToolInfo};

/// A remote MCP server the fake server "reaches" when a session declares an `mcp` tool with its
/// label ([`FakeServerBuilder::hosted_mcp_server`](super::FakeServerBuilder::hosted_mcp_server)).
///
/// On `session.update` the fake lists its tools (`mcp_list_tools` item,
/// `mcp_list_tools.in_progress`, then `.completed`, or `.failed` for a server built with
/// [`failing_listing`](Self::failing_listing), an unknown label, or a wrong token); a scripted
/// [`Reply::mcp_call`](super::Reply::mcp_call) calls one of them, with the answer given here.
///
/// ```
/// use realtime_agent::protocol::McpCallError;
/// use realtime_agent::testing::SimulatedMcpServer;
/// use serde_json::json;
///
/// let docs = SimulatedMcpServer::new("docs")
///     .tool("search", "Searches the docs.", json!({"type": "object"}), "3 pages found")
///     .failing_tool(
///         "delete",
///         "Deletes a page.",
///         json!({"type": "object"}),
///         McpCallError::new("tool_execution_error", "read-only"),
///     )
///     .requires_authorization("docs-token");
/// # drop(docs);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct SimulatedMcpServer {
    pub(crate) label: String,
    pub(crate) tools: Vec<(McpToolInfo, Result<String, McpCallError>)>,
    pub(crate) listing_fails: bool,
    pub(crate) authorization: Option<String>,
}

impl SimulatedMcpServer {
    /// A server with no tools, reached when a session declares an `mcp` tool labelled `label`.
    pub fn new(label: impl Into<String>) -> SimulatedMcpServer {
        SimulatedMcpServer {
            label: label.into(),
            tools: Vec::new(),
            listing_fails: false,
            authorization: None,
        }
    }

    /// A tool that answers every call with `output`.
    pub fn tool(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        output: impl Into<String>,
    ) -> SimulatedMcpServer {
        self.tools
            .push((info(name, description, input_schema), Ok(output.into())));
        self
    }

    /// A tool whose every call fails with `error`.
    pub fn failing_tool(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        error: McpCallError,
    ) -> SimulatedMcpServer {
        self.tools
            .push((info(name, description, input_schema), Err(error)));
        self
    }

    /// Listing its tools fails (`mcp_list_tools.failed`), as for a server that is down.
    pub fn failing_listing(mut self) -> SimulatedMcpServer {
        self.listing_fails = true;
        self
    }

    /// Lists and answers only when the session's `authorization` is exactly `token`.
    pub fn requires_authorization(mut self, token: impl Into<String>) -> SimulatedMcpServer {
        self.authorization = Some(token.into());
        self
    }

    /// Whether a session declaring it with `authorization` reaches it.
    pub(crate) fn admits(&self, authorization: Option<&str>) -> bool {
        !self.listing_fails
            && self
                .authorization
                .as_deref()
                .is_none_or(|token| authorization == Some(token))
    }

    /// What a call to `name` answers.
    pub(crate) fn answer(&self, name: &str) -> Result<String, McpCallError> {
        self.tools
            .iter()
            .find(|(info, _)| info.name == name)
            .map(|(_, answer)| answer.clone())
            .unwrap_or_else(|| {
                Err(
                    McpCallError::new("protocol_error", format!("Unknown tool: {name}"))
                        .with_code(-32602),
                )
            })
    }
}

fn info(name: impl Into<String>, description: impl Into<String>, schema: Value) -> McpToolInfo {
    McpToolInfo {
        name: name.into(),
        description: Some(description.into()),
        input_schema: schema,
        ..McpToolInfo::default()
    }
}
