//! Starting a session's MCP servers and putting their tools in its registry.

use std::collections::HashMap;
use std::sync::Arc;

use std::time::Duration;

use super::{Listing, McpClient, McpError, McpNotify, McpServer, McpTool};
use crate::agent::{AgentHandle, ToolChange};
use crate::protocol::FunctionDefinition;
use crate::tool::{ToolOverrides, ToolRegistry};

/// Where each tool of a registry comes from, for a name clash: tool name → `"[[tools]] entry
/// at agent.toml:3:1"`. Tools not in it are described as registered in Rust.
pub(crate) type Origins = HashMap<String, String>;

/// A started server and what of it is in the registry.
pub(crate) struct Started {
    /// The server's client.
    pub(crate) client: McpClient,
    /// The listing whose tools are registered (0: none yet).
    pub(crate) applied: u64,
    /// The definitions of its tools in the registry.
    pub(crate) tools: Vec<FunctionDefinition>,
}

/// Starts every server and waits for each one's first listing (or failure), at most `wait`
/// when given, then adds the tools of those that answered to `registry`, in declaration order.
/// A server that failed has told the user through `notify` and keeps being retried; one not
/// ready in time is left to [`follow`]; a name clash is an error.
pub(crate) async fn start_all(
    servers: &[McpServer],
    registry: &mut ToolRegistry,
    origins: &Origins,
    notify: Option<McpNotify>,
    secrets: Vec<crate::ApiKey>,
    wait: Option<Duration>,
) -> Result<Vec<Started>, McpError> {
    let clients: Vec<McpClient> = servers
        .iter()
        .map(|spec| McpClient::start_withholding(spec.clone(), notify.clone(), secrets.clone()))
        .collect();
    let listings = futures_util::future::join_all(clients.iter().map(|client| async move {
        match wait {
            Some(limit) => tokio::time::timeout(limit, client.first_listing())
                .await
                .ok()
                .and_then(Result::ok),
            None => client.first_listing().await.ok(),
        }
    }))
    .await;
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut started = Vec::with_capacity(clients.len());
    for (client, listing) in clients.iter().zip(listings) {
        let applied = match &*client.listing().borrow() {
            Listing::Ready(number, _) => *number,
            _ => 0,
        };
        let mut registered = Vec::new();
        let Some(tools) = listing else {
            started.push(Started {
                client: client.clone(),
                applied: 0,
                tools: registered,
            });
            continue;
        };
        let tools = match McpTool::from_listing(client, &tools) {
            Ok(tools) => tools,
            Err(error) => {
                stop_all(&clients).await;
                return Err(error);
            }
        };
        for tool in tools {
            registered.push(crate::tool::DynTool::definition(&tool));
            if let Err(error) = add(registry, tool, origins, &mut owners) {
                stop_all(&clients).await;
                return Err(error);
            }
        }
        started.push(Started {
            client: client.clone(),
            applied,
            tools: registered,
        });
    }
    Ok(started)
}

/// Keeps a running session's tools in step with one server: a server that was not ready at
/// start, came back after a restart with other tools, or sent `tools/list_changed` has its tools
/// replaced in the registry and the session together ([`AgentHandle::change_tools`]). A change
/// that cannot apply (a name clash) is one line for the user. Runs until the client stops.
pub(crate) async fn follow(started: Started, handle: AgentHandle, notify: McpNotify) {
    let Started {
        client,
        mut applied,
        mut tools,
    } = started;
    let mut listing = client.listing();
    let spec = client.spec().clone();
    loop {
        let current = listing.borrow_and_update().clone();
        if let Listing::Ready(number, listed) = current {
            if number > applied {
                applied = number;
                match McpTool::from_listing(&client, &listed) {
                    Ok(fresh) => {
                        let definitions: Vec<FunctionDefinition> =
                            fresh.iter().map(crate::tool::DynTool::definition).collect();
                        // A restart that lists the same tools changes nothing the model sees.
                        if definitions != tools {
                            let mut change = ToolChange::new();
                            for old in &tools {
                                change = change.remove(old.name.clone());
                            }
                            for tool in fresh {
                                change =
                                    change.add_shared(Arc::new(tool), ToolOverrides::default());
                            }
                            match handle.change_tools(change).await {
                                Ok(()) => tools = definitions,
                                Err(error) => notify(
                                    spec.server_name(),
                                    format!(
                                        "{}: its new tools could not be added: {error}",
                                        spec.describe()
                                    ),
                                ),
                            }
                        }
                    }
                    Err(error) => notify(spec.server_name(), error.to_string()),
                }
            }
        }
        if listing.changed().await.is_err() {
            return;
        }
    }
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

/// Stops every started server, waiting for each.
pub(crate) async fn stop_started(started: &[Started]) {
    futures_util::future::join_all(started.iter().map(|s| s.client.shutdown())).await;
}
