//! The MCP servers of `agent tools` and `agent check`: each started once, listed, stopped.

use crate::config::Config;
use crate::mcp::{McpClient, start_all, stop_started};
use crate::tool::ToolRegistry;

use super::super::exit::{ExitCode, Failure};

/// What one server offered.
pub(crate) struct Listed {
    /// The server's name.
    pub(crate) name: String,
    /// How it is reached, for `agent check`.
    pub(crate) reached: String,
    /// The names the model sees, or why the server could not be listed.
    pub(crate) outcome: Result<Vec<String>, crate::mcp::McpError>,
}

/// Starts the configuration's MCP servers, adds their tools to `registry` (a clash fails, as it
/// would fail a session), and stops them.
pub(crate) async fn list(
    config: &Config,
    registry: &mut ToolRegistry,
) -> Result<Vec<Listed>, Failure> {
    if config.mcp.is_empty() {
        return Ok(Vec::new());
    }
    let secrets = config.api_key().into_iter().collect();
    let started = start_all(
        &config.mcp,
        registry,
        &config.tool_origins(),
        None,
        secrets,
        None,
    )
    .await
    .map_err(|error| Failure::new(ExitCode::Config, error.to_string()))?;
    let mut listed = Vec::with_capacity(started.len());
    for server in &started {
        listed.push(describe(&server.client, registry).await);
    }
    stop_started(&started).await;
    Ok(listed)
}

async fn describe(client: &McpClient, registry: &ToolRegistry) -> Listed {
    let spec = client.spec();
    let reached = match spec.transport() {
        crate::mcp::McpTransport::Stdio { command, args, .. } => std::iter::once(command.as_str())
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        crate::mcp::McpTransport::Http { url, .. } => url.clone(),
    };
    let outcome = client.first_listing().await.map(|tools| {
        tools
            .iter()
            .filter(|tool| spec.offers(&tool.name))
            .map(|tool| spec.model_name(&tool.name))
            .filter(|name| registry.get(name).is_some())
            .collect()
    });
    Listed {
        name: spec.server_name().to_owned(),
        reached,
        outcome,
    }
}
