//! Starting a session's MCP servers and putting their tools in its registry.

use std::collections::HashMap;
use std::sync::Arc;

use super::{McpClient, McpError, McpNotify, McpServer, McpTool};
use crate::tool::{ToolOverrides, ToolRegistry};

/// Where each tool of a registry comes from, for a name clash: tool name → `"[[tools]] entry
/// at agent.toml:3:1"`. Tools not in it are described as registered in Rust.
pub(crate) type Origins = HashMap<String, String>;

/// Starts every server and waits for each one's first listing (or failure), then adds the tools
/// of those that answered to `registry`, in declaration order. A server that failed has told the
/// user through `notify` and keeps being retried; a name clash is an error.
pub(crate) async fn start_all(
    servers: &[McpServer],
    registry: &mut ToolRegistry,
    origins: &Origins,
    notify: Option<McpNotify>,
    secrets: Vec<crate::ApiKey>,
) -> Result<Vec<McpClient>, McpError> {
    let clients: Vec<McpClient> = servers
        .iter()
        .map(|spec| McpClient::start_withholding(spec.clone(), notify.clone(), secrets.clone()))
        .collect();
    let listings =
        futures_util::future::join_all(clients.iter().map(McpClient::first_listing)).await;
    let mut owners: HashMap<String, String> = HashMap::new();
    for (client, listing) in clients.iter().zip(listings) {
        let Ok(tools) = listing else { continue };
        let tools = match McpTool::from_listing(client, &tools) {
            Ok(tools) => tools,
            Err(error) => {
                stop_all(&clients).await;
                return Err(error);
            }
        };
        for tool in tools {
            if let Err(error) = add(registry, tool, origins, &mut owners) {
                stop_all(&clients).await;
                return Err(error);
            }
        }
    }
    Ok(clients)
}

fn add(
    registry: &mut ToolRegistry,
    tool: McpTool,
    origins: &Origins,
    owners: &mut HashMap<String, String>,
) -> Result<(), McpError> {
    let name = crate::tool::DynTool::name(&tool).to_owned();
    let server = tool.client_spec().describe();
    if registry.get(&name).is_some() {
        let other = owners
            .get(&name)
            .or_else(|| origins.get(&name))
            .cloned()
            .unwrap_or_else(|| "a tool of that name registered in Rust".to_owned());
        return Err(McpError::NameCollision {
            name,
            server,
            other,
        });
    }
    registry
        .add_shared(Arc::new(tool), ToolOverrides::default())
        .map_err(|error| McpError::UnusableTool {
            name: name.clone(),
            server: server.clone(),
            reason: error.to_string(),
        })?;
    owners.insert(name.clone(), format!("the tool {name:?} of {server}"));
    Ok(())
}

/// Stops every client, waiting for each.
pub(crate) async fn stop_all(clients: &[McpClient]) {
    futures_util::future::join_all(clients.iter().map(McpClient::shutdown)).await;
}
