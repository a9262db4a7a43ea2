//! Hosted MCP: the server lists and calls the tools; the agent reports what it sees and takes
//! the user's answer to each approval request back to the server.
//!
//! An `mcp_approval_request` holds its response's batch open like a tool call does: its
//! `mcp_approval_response` is posted the moment the user decides, and one `response.create`
//! follows once the response is done and every call and request of it is answered.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::protocol::{McpApprovalRequestItem, McpCallError, McpCallItem, ToolDefinition};

/// What the loop knows of the hosted MCP items of the session.
#[derive(Default)]
pub(super) struct Hosted {
    /// `mcp_list_tools` items: their server, their tools once known, their outcome once known.
    lists: HashMap<String, Listing>,
    /// `mcp_call` items seen being added, until they are done.
    calls: HashMap<String, HostedCall>,
    /// `mcp_call` items already reported finished (both announcements of an item arrive).
    finished: HashSet<String>,
    /// Approval requests waiting for the user: id to (server, tool).
    approvals: HashMap<String, (String, String)>,
    /// Every approval request ever seen (both announcements of an item arrive).
    seen_approvals: HashSet<String>,
}

#[derive(Default)]
struct Listing {
    label: Option<String>,
    tools: Option<Vec<String>>,
    /// `Some(true)` completed, `Some(false)` failed.
    outcome: Option<bool>,
    reported: bool,
}

#[derive(Default)]
struct HostedCall {
    label: String,
    name: String,
    arguments: Option<String>,
    started: bool,
    failed: bool,
}

impl Hosted {
    /// Reports a listing once both its outcome and (for a completed one) its tools are known.
    fn listing_event(&mut self, item_id: &str) -> Option<AgentEvent> {
        let listing = self.lists.get_mut(item_id)?;
        if listing.reported {
            return None;
        }
        let event = match (listing.outcome?, &listing.tools) {
            (true, Some(tools)) => AgentEvent::HostedMcpTools {
                server_label: listing.label.clone().unwrap_or_default(),
                tools: tools.clone(),
            },
            (true, None) => return None,
            (false, _) => AgentEvent::HostedMcpToolsFailed {
                server_label: listing.label.clone().unwrap_or_default(),
            },
        };
        listing.reported = true;
        Some(event)
    }
}

/// The session's tools: the registry's functions, then the hosted MCP servers.
pub(super) fn with_hosted(
    hosted: &[crate::protocol::McpToolDefinition],
    mut tools: Vec<ToolDefinition>,
) -> Vec<ToolDefinition> {
    tools.extend(hosted.iter().cloned().map(ToolDefinition::Mcp));
    tools
}

impl Loop {
    /// `mcp_list_tools.completed` (`true`) or `.failed`.
    pub(super) fn on_listing(&mut self, item_id: &str, completed: bool) {
        self.hosted
            .lists
            .entry(item_id.to_owned())
            .or_default()
            .outcome = Some(completed);
        if let Some(event) = self.hosted.listing_event(item_id) {
            self.bus.emit(event);
        }
    }

    /// A hosted MCP item seen in `conversation.item.*` or `response.output_item.*`
    /// (`response_id` is known only in the latter). Items of other types are not ours.
    pub(super) fn on_hosted_item(&mut self, item: &Item, response_id: Option<&str>, done: bool) {
        match item {
            Item::McpListTools(list) => {
                let Some(id) = list.id.clone() else {
                    return;
                };
                let listing = self.hosted.lists.entry(id.clone()).or_default();
                listing.label = Some(list.server_label.clone());
                if done {
                    listing.tools = Some(list.tools.iter().map(|t| t.name.clone()).collect());
                }
                if let Some(event) = self.hosted.listing_event(&id) {
                    self.bus.emit(event);
                }
            }
            Item::McpCall(call) if done => self.hosted_call_done(call),
            Item::McpCall(call) => {
                if let Some(id) = &call.id {
                    let entry = self.hosted.calls.entry(id.clone()).or_default();
                    entry.label = call.server_label.clone();
                    entry.name = call.name.clone();
                }
            }
            Item::McpApprovalRequest(request) if done => {
                self.hosted_approval_request(request, response_id);
            }
            _ => {}
        }
    }

    /// `response.mcp_call_arguments.done`: the call starts.
    pub(super) fn on_hosted_arguments(&mut self, item_id: &str, arguments: &str) {
        let call = self.hosted.calls.entry(item_id.to_owned()).or_default();
        call.arguments = Some(arguments.to_owned());
        self.hosted_call_started(item_id);
    }

    /// `response.mcp_call.failed`: the item that follows says why.
    pub(super) fn on_hosted_call_failed(&mut self, item_id: &str) {
        self.hosted
            .calls
            .entry(item_id.to_owned())
            .or_default()
            .failed = true;
    }

    fn hosted_call_started(&mut self, item_id: &str) {
        let Some(call) = self.hosted.calls.get_mut(item_id) else {
            return;
        };
        if call.started {
            return;
        }
        call.started = true;
        self.idle_reported = false;
        self.bus.emit(AgentEvent::HostedMcpCallStarted {
            item_id: item_id.to_owned(),
            server_label: call.label.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone().unwrap_or_default(),
        });
    }

    fn hosted_call_done(&mut self, item: &McpCallItem) {
        let Some(id) = item.id.clone() else {
            return;
        };
        if !self.hosted.finished.insert(id.clone()) {
            return;
        }
        // A call whose arguments were never announced apart starts here.
        let entry = self.hosted.calls.entry(id.clone()).or_default();
        entry.label = item.server_label.clone();
        entry.name = item.name.clone();
        entry.arguments = Some(item.arguments.clone());
        self.hosted_call_started(&id);
        let failed = self.hosted.calls.remove(&id).is_some_and(|c| c.failed);
        let result = match (&item.error, &item.output) {
            (Some(error), _) => Err(error.clone()),
            (None, Some(output)) if !failed => Ok(output.clone()),
            _ => Err(McpCallError::new(
                "unknown_error",
                "the server reported the call failed without saying why",
            )),
        };
        self.bus.emit(AgentEvent::HostedMcpCallFinished {
            item_id: id,
            server_label: item.server_label.clone(),
            name: item.name.clone(),
            arguments: item.arguments.clone(),
            result,
        });
    }

    fn hosted_approval_request(
        &mut self,
        request: &McpApprovalRequestItem,
        response_id: Option<&str>,
    ) {
        let Some(id) = request.id.clone() else {
            return;
        };
        if !self.hosted.seen_approvals.insert(id.clone()) {
            return;
        }
        // Outside a response (or seen only in `conversation.item.done`): the active one, or a
        // batch of its own that is already done.
        let response_id = response_id
            .map(str::to_owned)
            .or_else(|| self.gate.active().map(str::to_owned))
            .unwrap_or_else(|| format!("approval:{id}"));
        self.calls.hold(&response_id, &id);
        if response_id.starts_with("approval:") {
            self.calls.response_done(&response_id);
        }
        self.idle_reported = false;
        self.hosted.approvals.insert(
            id.clone(),
            (request.server_label.clone(), request.name.clone()),
        );
        self.bus.emit(AgentEvent::ApprovalRequested {
            call_id: id,
            name: request.name.clone(),
            arguments: request.arguments.clone(),
            server: Some(request.server_label.clone()),
        });
    }

    /// The user's decision on hosted MCP approval request `id`: `mcp_approval_response`, then
    /// a response once the batch is complete. False when no such request waits.
    pub(super) async fn decide_hosted(
        &mut self,
        id: &str,
        approve: bool,
        reason: Option<String>,
    ) -> bool {
        if self.hosted.approvals.remove(id).is_none() || !self.calls.is_held(id) {
            return false;
        }
        let answer = Item::mcp_approval_response(id, approve, reason);
        self.send(ClientEvent::item_create(answer)).await;
        if self.calls.release(id) == Some(true) {
            self.gate.want(Want::ToolOutputs);
        }
        true
    }

    /// The connection dropped: the server that asked for the pending approvals is gone.
    pub(super) fn forget_hosted_approvals(&mut self) -> bool {
        self.hosted.approvals.clear();
        self.calls.release_all()
    }
}
