//! Hosted MCP, as the API runs it: listing a declared server's tools, asking approval, calling.

use std::collections::HashSet;

use super::*;
use crate::protocol::{
    McpApprovalRequestItem, McpCallArguments, McpCallItem, McpItemEvent, McpListToolsItem,
    McpToolDefinition, ToolDefinition,
};

/// An approval request the fake has sent, and the client's answer once it came.
#[derive(Debug)]
pub(super) struct PendingApproval {
    id: String,
    label: String,
    name: String,
    arguments: String,
    approved: Option<bool>,
}

/// The connection's hosted MCP state.
#[derive(Debug, Default)]
pub(super) struct HostedState {
    /// Labels whose tools were listed on this connection.
    listed: HashSet<String>,
    approvals: Vec<PendingApproval>,
}

impl Connection {
    /// The session's `mcp` tool labelled `label`.
    fn hosted_definition(&self, label: &str) -> Option<McpToolDefinition> {
        let state = self.state.lock().unwrap();
        state
            .session
            .tools
            .as_ref()?
            .iter()
            .find_map(|tool| match tool {
                ToolDefinition::Mcp(def) if def.server_label == label => Some(def.clone()),
                _ => None,
            })
    }

    /// Lists the tools of each `mcp` tool `update` declares that this connection has not
    /// listed yet: the `mcp_list_tools` item, `in_progress`, then `completed` (with the item's
    /// tools) or `failed` (an unknown label, a refused token, a server that is down).
    pub(super) fn list_hosted_tools(&mut self, update: &SessionConfig) -> Vec<ServerEvent> {
        let mut events = Vec::new();
        let Some(tools) = &update.tools else {
            return events;
        };
        for tool in tools {
            let ToolDefinition::Mcp(def) = tool else {
                continue;
            };
            if !self.hosted.listed.insert(def.server_label.clone()) {
                continue;
            }
            let item_id = self.next_id("mcpl");
            let mut item = McpListToolsItem {
                id: Some(item_id.clone()),
                server_label: def.server_label.clone(),
                ..McpListToolsItem::default()
            };
            let previous = self.last_item_id();
            events.extend(
                self.item_events(&Item::McpListTools(item.clone()), previous.clone())
                    .into_iter()
                    .take(1),
            );
            let progress = McpItemEvent {
                item_id: item_id.clone(),
                ..Default::default()
            };
            events.push(ServerEvent::McpListToolsInProgress(progress.clone()));
            let server = self
                .shared
                .hosted_mcp
                .iter()
                .find(|s| s.label == def.server_label);
            let token = def.authorization.as_ref().map(crate::ApiKey::expose);
            match server.filter(|s| s.admits(token)) {
                Some(server) => {
                    item.tools = server
                        .tools
                        .iter()
                        .filter(|(info, _)| def.allows(&info.name))
                        .map(|(info, _)| info.clone())
                        .collect();
                    events.push(ServerEvent::McpListToolsCompleted(progress));
                }
                None => events.push(ServerEvent::McpListToolsFailed(progress)),
            }
            let item = Item::McpListTools(item);
            self.state.lock().unwrap().conversation.push(item.clone());
            events.push(ServerEvent::ConversationItemDone(ItemEvent {
                previous_item_id: previous,
                item,
                ..Default::default()
            }));
        }
        events
    }

    /// Plans a scripted hosted MCP call: an approval request when the session requires one
    /// (then `true`: the response ends there), else the call.
    pub(super) fn plan_hosted(
        &mut self,
        active: &mut Active,
        index: u32,
        label: &str,
        name: &str,
        arguments: &str,
    ) -> bool {
        let needs_approval = self
            .hosted_definition(label)
            .is_none_or(|def| def.requires_approval(name));
        if !needs_approval {
            self.plan_mcp_call(active, index, label, name, arguments, None);
            return false;
        }
        let id = self.next_id("mcpr");
        let request = Item::McpApprovalRequest(McpApprovalRequestItem {
            id: Some(id.clone()),
            server_label: label.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
            ..McpApprovalRequestItem::default()
        });
        let in_conversation = active.out_of_band.is_none();
        for event in super::response::added_item(
            self.dialect,
            in_conversation,
            &active.id,
            index,
            request.clone(),
        )
        .into_iter()
        .chain(super::response::done_item(
            self.dialect,
            in_conversation,
            &active.id,
            index,
            request.clone(),
        )) {
            active.planned.push_back(Planned {
                event,
                delta: false,
                wait: None,
            });
        }
        active.output.push(request);
        self.hosted.approvals.push(PendingApproval {
            id,
            label: label.to_owned(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
            approved: None,
        });
        true
    }

    /// Plans an `mcp_call`: the item, its arguments, `in_progress`, then `completed` or `failed`
    /// and the item with its output or error.
    pub(super) fn plan_mcp_call(
        &mut self,
        active: &mut Active,
        index: u32,
        label: &str,
        name: &str,
        arguments: &str,
        approval_request_id: Option<String>,
    ) {
        let item_id = self.next_id("mcp");
        let response_id = active.id.clone();
        let in_conversation = active.out_of_band.is_none();
        let mut item = McpCallItem {
            id: Some(item_id.clone()),
            server_label: label.to_owned(),
            name: name.to_owned(),
            approval_request_id,
            ..McpCallItem::default()
        };
        let push = |active: &mut Active, event: ServerEvent, delta: bool| {
            active.planned.push_back(Planned {
                event,
                delta,
                wait: None,
            });
        };
        for event in super::response::added_item(
            self.dialect,
            in_conversation,
            &response_id,
            index,
            Item::McpCall(Box::new(item.clone())),
        ) {
            push(active, event, false);
        }
        let half = super::response::split_point(arguments, arguments.len() / 2);
        for piece in [&arguments[..half], &arguments[half..]] {
            if piece.is_empty() {
                continue;
            }
            let delta = McpCallArguments {
                response_id: response_id.clone(),
                item_id: item_id.clone(),
                output_index: index,
                delta: Some(piece.to_owned()),
                ..Default::default()
            };
            push(
                active,
                ServerEvent::ResponseMcpCallArgumentsDelta(delta),
                true,
            );
        }
        let done = McpCallArguments {
            response_id: response_id.clone(),
            item_id: item_id.clone(),
            output_index: index,
            arguments: Some(arguments.to_owned()),
            ..Default::default()
        };
        push(
            active,
            ServerEvent::ResponseMcpCallArgumentsDone(done),
            false,
        );
        let progress = McpItemEvent {
            item_id: item_id.clone(),
            output_index: Some(index),
            ..Default::default()
        };
        push(
            active,
            ServerEvent::ResponseMcpCallInProgress(progress.clone()),
            false,
        );
        let def = self.hosted_definition(label);
        let token = def
            .as_ref()
            .and_then(|d| d.authorization.as_ref())
            .map(crate::ApiKey::expose);
        let server = self
            .shared
            .hosted_mcp
            .iter()
            .find(|s| s.label == label)
            .filter(|s| s.admits(token));
        let outcome = match (server, &def) {
            (Some(server), Some(def)) if def.allows(name) => server.answer(name),
            (Some(_), Some(_)) => Err(crate::protocol::McpCallError::new(
                "protocol_error",
                format!("Tool {name} is not allowed on server {label}."),
            )
            .with_code(-32602)),
            _ => Err(crate::protocol::McpCallError::new(
                "http_error",
                format!("Could not reach the MCP server {label}."),
            )
            .with_code(424)),
        };
        item.arguments = arguments.to_owned();
        match outcome {
            Ok(output) => {
                item.output = Some(output);
                push(
                    active,
                    ServerEvent::ResponseMcpCallCompleted(progress),
                    false,
                );
            }
            Err(error) => {
                item.error = Some(error);
                push(active, ServerEvent::ResponseMcpCallFailed(progress), false);
            }
        }
        for event in super::response::done_item(
            self.dialect,
            in_conversation,
            &response_id,
            index,
            Item::McpCall(Box::new(item.clone())),
        ) {
            push(active, event, false);
        }
        active.output.push(Item::McpCall(Box::new(item)));
    }

    /// The client answered approval request `id`. False when no request with that id waits.
    pub(super) fn answer_approval(&mut self, id: &str, approve: bool) -> bool {
        match self
            .hosted
            .approvals
            .iter_mut()
            .find(|a| a.id == id && a.approved.is_none())
        {
            Some(pending) => {
                pending.approved = Some(approve);
                true
            }
            None => false,
        }
    }

    /// The answered requests, which the next response acts on: an approved call runs first,
    /// a rejected one is skipped. Returns (label, tool, arguments, request id) of the approved.
    pub(super) fn take_approved(&mut self) -> Vec<(String, String, String, String)> {
        let (answered, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.hosted.approvals)
            .into_iter()
            .partition(|a| a.approved.is_some());
        self.hosted.approvals = waiting;
        answered
            .into_iter()
            .filter(|a| a.approved == Some(true))
            .map(|a| (a.label, a.name, a.arguments, a.id))
            .collect()
    }
}
