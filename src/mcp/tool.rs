//! An MCP server's tool as a [`DynTool`]: its definition from the listing (schema reshaped like a
//! Rust tool's), its calls sent as `tools/call` to the server's current connection.

use async_trait::async_trait;
use rmcp::ServiceError;
use rmcp::model::{CallToolRequestParams, Tool};
use serde_json::Value;

use super::{McpClient, McpError, content};
use crate::protocol::FunctionDefinition;
use crate::tool::schema::{check_function_parameters, reshape};
use crate::tool::{DynTool, ToolContext, ToolError, ToolOptions};

/// A little longer than the server's own `timeout`, so that the tool's own limit (which tells
/// the supervisor to check on the server) fires first.
const OUTER_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

/// One tool of an MCP server, as the model sees it.
#[derive(Debug, Clone)]
pub struct McpTool {
    client: McpClient,
    remote: String,
    definition: FunctionDefinition,
    options: ToolOptions,
}

impl McpTool {
    /// The server's tools that `client`'s settings offer, from one listing. A tool whose name
    /// or schema the Realtime API would refuse is an error.
    pub fn from_listing(client: &McpClient, tools: &[Tool]) -> Result<Vec<McpTool>, McpError> {
        let spec = client.spec();
        tools
            .iter()
            .filter(|tool| spec.offers(&tool.name))
            .map(|tool| {
                let name = spec.model_name(&tool.name);
                let unusable = |reason: String| McpError::UnusableTool {
                    name: name.clone(),
                    server: spec.describe(),
                    reason,
                };
                crate::tool::check_tool_name(&name).map_err(|e| unusable(e.to_string()))?;
                let parameters = reshape(Value::Object((*tool.input_schema).clone()));
                check_function_parameters(&parameters).map_err(unusable)?;
                let description = tool
                    .description
                    .as_deref()
                    .or(tool.title.as_deref())
                    .unwrap_or_default();
                Ok(McpTool {
                    client: client.clone(),
                    remote: tool.name.to_string(),
                    definition: FunctionDefinition::new(&name, description, parameters),
                    options: ToolOptions {
                        timeout: spec.call_timeout() + OUTER_MARGIN,
                        on_interrupt: spec.interrupt_behaviour(),
                        requires_approval: spec.confirmation().applies_to(&tool.name),
                        ..ToolOptions::default()
                    },
                })
            })
            .collect()
    }

    /// The server it belongs to.
    pub fn server(&self) -> &str {
        self.client.spec().server_name()
    }

    /// The settings of the server it belongs to.
    pub fn client_spec(&self) -> &super::McpServer {
        self.client.spec()
    }

    /// Its name on the server (without the prefix).
    pub fn remote_name(&self) -> &str {
        &self.remote
    }

    async fn call(&self, arguments: &str, ctx: &ToolContext) -> Result<String, ToolError> {
        let server = self.client.spec().server_name();
        let arguments = if arguments.trim().is_empty() {
            serde_json::Map::new()
        } else {
            match serde_json::from_str::<Value>(arguments) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(ToolError::invalid_arguments(
                        "the arguments must be a JSON object",
                    ));
                }
                Err(error) => {
                    return Err(ToolError::invalid_arguments(
                        format!("not valid JSON: {error}").replace('`', "\""),
                    ));
                }
            }
        };
        let peer = self.client.peer().map_err(ToolError::failed)?;
        let params = CallToolRequestParams::new(self.remote.clone()).with_arguments(arguments);
        let limit = self.client.spec().call_timeout();
        // Dropping the request (barge-in, timeout) makes rmcp send `notifications/cancelled` for
        // it, which is what MCP asks of a client that gives up on a request.
        let result = tokio::select! {
            _ = ctx.cancelled() => return Err(ToolError::Cancelled),
            result = tokio::time::timeout(limit, peer.call_tool(params)) => result,
        };
        match result {
            Err(_) => {
                self.client.suspect();
                Err(ToolError::failed(format!(
                    "the MCP server {server:?} did not answer within {}s",
                    limit.as_secs_f64()
                )))
            }
            Ok(Ok(result)) => content::render(&result).map_err(ToolError::failed),
            Ok(Err(ServiceError::McpError(error))) => Err(ToolError::failed(format!(
                "the MCP server {server:?} refused the call: {} (error {})",
                error.message, error.code.0
            ))),
            Ok(Err(ServiceError::TransportClosed | ServiceError::TransportSend(_))) => {
                Err(ToolError::failed(format!(
                    "the MCP server {server:?} stopped during the call; it is being restarted"
                )))
            }
            Ok(Err(error)) => Err(ToolError::failed(format!(
                "the MCP server {server:?} failed: {error}"
            ))),
        }
    }
}

#[async_trait]
impl DynTool for McpTool {
    fn name(&self) -> &str {
        &self.definition.name
    }

    fn definition(&self) -> FunctionDefinition {
        self.definition.clone()
    }

    fn options(&self) -> ToolOptions {
        self.options
    }

    async fn call_json(&self, arguments: &str, ctx: ToolContext) -> Result<String, ToolError> {
        self.call(arguments, &ctx).await
    }
}
