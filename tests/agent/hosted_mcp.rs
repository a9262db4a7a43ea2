//! Hosted MCP: servers the Realtime API calls itself, declared in `session.update`, listed,
//! called, approved or rejected through the agent's approval path, against the fake server's
//! simulated MCP servers.

use realtime_agent::ApiKey;
use realtime_agent::agent::{Agent, AgentEvent, HostedMcp, HostedMcpError};
use realtime_agent::protocol::{Dialect, Item, McpCallError, RequireApproval};
use realtime_agent::testing::{FakeServer, Reply, SimulatedMcpServer};
use serde_json::{Value, json};

use super::support::{start, until_idle, wait_for};

const TOKEN: &str = "docs-token-planted-5150";

fn docs_server() -> SimulatedMcpServer {
    SimulatedMcpServer::new("docs")
        .tool(
            "search",
            "Searches the docs.",
            json!({"type": "object", "properties": {"q": {"type": "string"}}}),
            "3 pages found",
        )
        .failing_tool(
            "delete",
            "Deletes a page.",
            json!({"type": "object"}),
            McpCallError::new("tool_execution_error", "the docs are read-only"),
        )
        .requires_authorization(TOKEN)
}

fn docs() -> HostedMcp {
    HostedMcp::url("docs", "https://mcp.example.com/mcp").authorization(ApiKey::new(TOKEN))
}

/// The events the server received after the first one of type `after`, in order, as (type,
/// JSON without `event_id`).
fn received_after(server: &FakeServer, after: &str) -> Vec<(String, Value)> {
    server
        .received()
        .into_iter()
        .skip_while(|r| r.event_type != after)
        .skip(1)
        .map(|r| {
            let mut frame: Value = serde_json::from_str(&r.raw).unwrap();
            frame.as_object_mut().unwrap().remove("event_id");
            (r.event_type, frame)
        })
        .collect()
}

/// The first `session.update` declares the hosted server exactly as the API takes it, token
/// included; the fake lists its allowed tools and the agent reports them.
#[tokio::test]
async fn the_session_declares_the_server_and_its_tools_are_listed() {
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.hosted_mcp(
            docs()
                .allowed_tools(["search"])
                .require_approval(RequireApproval::per_tool(Vec::<String>::new(), ["search"]))
                .server_description("The product docs."),
        )
    })
    .await;
    let listed = wait_for(&mut agent.events, "the listing", |e| {
        matches!(
            e,
            AgentEvent::HostedMcpTools { .. } | AgentEvent::HostedMcpToolsFailed { .. }
        )
    })
    .await;
    let AgentEvent::HostedMcpTools {
        server_label,
        tools,
    } = listed
    else {
        panic!("the listing failed: {listed:?}");
    };
    assert_eq!(server_label, "docs");
    assert_eq!(tools, vec!["search".to_owned()], "only the allowed tool");

    let update = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "session.update")
        .unwrap();
    let update: Value = serde_json::from_str(&update.raw).unwrap();
    assert_eq!(
        update["session"]["tools"],
        json!([{
            "type": "mcp",
            "server_label": "docs",
            "server_url": "https://mcp.example.com/mcp",
            "authorization": TOKEN,
            "server_description": "The product docs.",
            "allowed_tools": ["search"],
            "require_approval": {"never": {"tool_names": ["search"]}},
        }])
    );
    let sent: Vec<String> = server.sent().into_iter().map(|s| s.event_type).collect();
    let at = sent.iter().position(|t| t == "session.updated").unwrap();
    assert_eq!(
        sent[at..at + 5],
        [
            "session.updated",
            "conversation.item.added",
            "mcp_list_tools.in_progress",
            "mcp_list_tools.completed",
            "conversation.item.done",
        ]
    );
    agent.stop().await;
}

/// A server the API cannot list (here: the wrong token) is reported as failed.
#[tokio::test]
async fn a_listing_that_fails_is_reported() {
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.hosted_mcp(
            HostedMcp::url("docs", "https://mcp.example.com/mcp")
                .authorization(ApiKey::new("a-wrong-token-000")),
        )
    })
    .await;
    let event = wait_for(&mut agent.events, "the listing", |e| {
        matches!(
            e,
            AgentEvent::HostedMcpTools { .. } | AgentEvent::HostedMcpToolsFailed { .. }
        )
    })
    .await;
    assert!(
        matches!(&event, AgentEvent::HostedMcpToolsFailed { server_label } if server_label == "docs"),
        "{event:?}"
    );
    agent.stop().await;
}

/// With the default `require_approval` ("always") the call waits: the request goes through
/// `ApprovalRequested`; approved, the agent sends the `mcp_approval_response` and exactly one
/// `response.create`, and the server runs the call.
#[tokio::test]
async fn an_approved_call_runs() {
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(Reply::mcp_call("docs", "search", json!({"q": "refunds"})))
        .reply(Reply::text("The docs have 3 pages on refunds."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.hosted_mcp(docs())).await;
    agent.handle.send_text("Search the docs.").await.unwrap();
    let request = wait_for(&mut agent.events, "the approval request", |e| {
        matches!(e, AgentEvent::ApprovalRequested { .. })
    })
    .await;
    let AgentEvent::ApprovalRequested {
        call_id,
        name,
        arguments,
        server: from,
    } = request
    else {
        unreachable!()
    };
    assert_eq!(
        (name.as_str(), arguments.as_str(), from.as_deref()),
        ("search", r#"{"q":"refunds"}"#, Some("docs"))
    );
    let request_item = server
        .conversation()
        .into_iter()
        .find(|i| matches!(i, Item::McpApprovalRequest(_)))
        .expect("the request is in the conversation");
    assert_eq!(request_item.id(), Some(call_id.as_str()));
    assert_eq!(
        server.count_received("response.create"),
        1,
        "nothing more before the answer"
    );

    agent.handle.approve(call_id.clone()).await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert_eq!(
        received_after(&server, "response.create"),
        vec![
            (
                "conversation.item.create".to_owned(),
                json!({"type": "conversation.item.create", "item": {
                    "type": "mcp_approval_response",
                    "approval_request_id": call_id,
                    "approve": true,
                }})
            ),
            (
                "response.create".to_owned(),
                json!({"type": "response.create"})
            ),
        ]
    );
    let started = seen
        .iter()
        .position(|e| matches!(e, AgentEvent::HostedMcpCallStarted { server_label, name, arguments, .. } if server_label == "docs" && name == "search" && arguments == r#"{"q":"refunds"}"#))
        .expect("the call started");
    let finished = seen
        .iter()
        .position(|e| matches!(e, AgentEvent::HostedMcpCallFinished { result: Ok(output), .. } if output == "3 pages found"))
        .expect("the call finished with the server's output");
    let answered = seen
        .iter()
        .position(|e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "The docs have 3 pages on refunds."))
        .expect("the model answered");
    assert!(started < finished && finished < answered, "{seen:#?}");
    let call = server
        .conversation()
        .into_iter()
        .find_map(|i| match i {
            Item::McpCall(call) => Some(call),
            _ => None,
        })
        .expect("the call is in the conversation");
    assert_eq!(call.approval_request_id.as_deref(), Some(call_id.as_str()));
    agent.stop().await;
}

/// Rejected, the answer carries `approve: false` and the reason, one `response.create`
/// follows, and the server never runs the call.
#[tokio::test]
async fn a_rejected_call_does_not_run() {
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(Reply::mcp_call("docs", "search", json!({"q": "salaries"})))
        .reply(Reply::text("All right, I will not search."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.hosted_mcp(docs())).await;
    agent.handle.send_text("Search the docs.").await.unwrap();
    let AgentEvent::ApprovalRequested { call_id, .. } =
        wait_for(&mut agent.events, "the approval request", |e| {
            matches!(e, AgentEvent::ApprovalRequested { .. })
        })
        .await
    else {
        unreachable!()
    };
    agent
        .handle
        .reject(call_id.clone(), Some("not that".into()))
        .await
        .unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert_eq!(
        received_after(&server, "response.create"),
        vec![
            (
                "conversation.item.create".to_owned(),
                json!({"type": "conversation.item.create", "item": {
                    "type": "mcp_approval_response",
                    "approval_request_id": call_id,
                    "approve": false,
                    "reason": "not that",
                }})
            ),
            (
                "response.create".to_owned(),
                json!({"type": "response.create"})
            ),
        ]
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, AgentEvent::HostedMcpCallStarted { .. })),
        "{seen:#?}"
    );
    assert!(
        !server
            .conversation()
            .iter()
            .any(|i| matches!(i, Item::McpCall(_)))
    );
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "All right, I will not search.")
    ));
    agent.stop().await;
}

/// With `require_approval = "never"` the call runs inside the response that made it: no
/// approval, no answer, no second `response.create`.
#[tokio::test]
async fn never_needs_no_approval() {
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(
            Reply::mcp_call("docs", "search", json!({"q": "pricing"}))
                .and_text("There are 3 pages on pricing."),
        )
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.hosted_mcp(docs().require_approval(RequireApproval::Never))
    })
    .await;
    agent.handle.send_text("Search the docs.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, AgentEvent::ApprovalRequested { .. })),
        "{seen:#?}"
    );
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::HostedMcpCallFinished { name, result: Ok(output), .. } if name == "search" && output == "3 pages found")
    ));
    assert_eq!(server.count_received("response.create"), 1);
    assert!(received_after(&server, "response.create").is_empty());
    agent.stop().await;
}

/// A call that fails reports the server's error type and message.
#[tokio::test]
async fn a_failing_call_reports_the_error() {
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(Reply::mcp_call("docs", "delete", json!({"page": 7})).and_text("I could not."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.hosted_mcp(docs().require_approval(RequireApproval::Never))
    })
    .await;
    agent.handle.send_text("Delete page 7.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    let result = seen
        .iter()
        .find_map(|e| match e {
            AgentEvent::HostedMcpCallFinished { result, .. } => Some(result.clone()),
            _ => None,
        })
        .expect("the call finished");
    assert_eq!(
        result,
        Err(McpCallError::new(
            "tool_execution_error",
            "the docs are read-only"
        ))
    );
    let types: Vec<String> = server.sent().into_iter().map(|s| s.event_type).collect();
    assert!(types.iter().any(|t| t == "response.mcp_call.failed"));
    assert!(!types.iter().any(|t| t == "response.mcp_call.completed"));
    agent.stop().await;
}

/// Hosted MCP is GA-only: a beta agent does not build, and says why.
#[test]
fn the_beta_dialect_is_refused() {
    let error = Agent::builder()
        .no_api_key()
        .url("ws://127.0.0.1:9/v1/realtime")
        .dialect(Dialect::Beta)
        .hosted_mcp(docs())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &error,
            realtime_agent::Error::HostedMcp(HostedMcpError::NeedsGa { label }) if label == "docs"
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("GA"), "{error}");
}

/// A hosted server's token is withheld like the key: a Rust tool that starts a program
/// through `ChildEnv::withhold_from` cannot hand it a variable holding the token.
#[tokio::test]
async fn the_hosted_token_is_withheld_from_tools_programs() {
    use realtime_agent::tool::{ChildEnv, ToolContext, tool};

    realtime_agent::tool_args! {
        struct NoArgs {}
    }
    let env_names = tool(
        "env_names",
        "Names the variables a program would get.",
        |_: NoArgs, ctx: ToolContext| async move {
            let env = ChildEnv::inherit().withhold_from(&ctx).resolve_from([
                ("COPY_OF_TOKEN".into(), TOKEN.into()),
                ("VISIBLE".into(), "yes".into()),
            ]);
            Ok(env.names().join(","))
        },
    );
    let server = FakeServer::builder()
        .hosted_mcp_server(docs_server())
        .reply(Reply::call("env_names", json!({})))
        .reply(Reply::text("done"))
        .start()
        .await;
    let mut agent = start(&server, |b| b.hosted_mcp(docs()).tool(env_names)).await;
    agent.handle.send_text("Which variables?").await.unwrap();
    until_idle(&mut agent.events).await;
    let outputs = super::support::outputs(&server);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0].1, "VISIBLE");
    agent.stop().await;
}
