//! Handoffs: the model calls `transfer_to_billing`; one `session.update` switches the
//! instructions and tools, the conversation goes on, and billing's tool answers the next call.

use realtime_agent::agent::{AgentEvent, AgentProfile, ToolStatus};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::{DynTool, ToolRegistry, tool_fn_without_context};
use serde_json::{Value, json};

use super::support::{outputs, start, until_idle};

fn lookup() -> impl DynTool + 'static {
    tool_fn_without_context("lookup_order", "Finds an order.", |_: ()| async {
        Ok::<_, String>("order 7")
    })
}

fn refund() -> impl DynTool + 'static {
    tool_fn_without_context("issue_refund", "Refunds an invoice.", |_: ()| async {
        Ok::<_, String>("refunded invoice 42")
    })
}

/// The `session.update` frames the server received, as JSON without their `event_id`.
fn session_updates(server: &FakeServer) -> Vec<Value> {
    server
        .received()
        .into_iter()
        .filter(|r| r.event_type == "session.update")
        .map(|r| {
            let mut value: Value = serde_json::from_str(&r.raw).expect("a JSON frame");
            value.as_object_mut().unwrap().remove("event_id");
            value
        })
        .collect()
}

fn tool_names(update: &Value) -> Value {
    update["session"]["tools"]
        .as_array()
        .expect("the update carries tools")
        .iter()
        .map(|t| t["name"].clone())
        .collect()
}

#[tokio::test]
async fn handoff_to_billing_switches_instructions_and_tools_in_one_update() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_t1", "transfer_to_billing", json!({})))
        .reply(Reply::new().and_call_with_id("call_r1", "issue_refund", json!({})))
        .reply(Reply::text("Your refund is on its way."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.tool(lookup())
            .starting_agent("agent", ["billing", "support"])
            .agent(
                AgentProfile::new("billing")
                    .instructions("You handle invoices and refunds.")
                    .tools({
                        let mut tools = ToolRegistry::new();
                        tools.add(refund()).unwrap();
                        tools
                    })
                    .hands_to(["agent"]),
            )
            .agent(AgentProfile::new("support").instructions("You fix problems."))
    })
    .await;

    let first = &session_updates(&server)[0];
    assert_eq!(
        tool_names(first),
        json!(["lookup_order", "transfer_to_billing", "transfer_to_support"])
    );
    assert_eq!(
        first["session"]["tools"][1]["description"],
        "Hand the conversation to the billing agent. You handle invoices and refunds."
    );

    agent.handle.send_text("I want a refund.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;

    let updates = session_updates(&server);
    assert_eq!(updates.len(), 2, "one update for the handoff: {updates:#?}");
    assert_eq!(
        updates[1]["session"]["instructions"],
        "You handle invoices and refunds."
    );
    assert_eq!(
        tool_names(&updates[1]),
        json!(["issue_refund", "transfer_to_agent"])
    );
    assert_eq!(
        outputs(&server),
        [
            (
                "call_t1".to_owned(),
                "Transferred to the billing agent. Continue the conversation as billing."
                    .to_owned()
            ),
            ("call_r1".to_owned(), "refunded invoice 42".to_owned()),
        ]
    );
    // The switch goes out before the transfer's output, and one response.create follows
    // each batch.
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "response.create",
            "session.update",
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
            "response.create",
        ]
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        AgentEvent::ToolFinished { name, status: ToolStatus::Ok, .. } if name == "issue_refund"
    )));
    let handoffs: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            AgentEvent::HandedOff { from, to } => Some((from.as_str(), to.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(handoffs, [("agent", "billing")]);
    agent.stop().await;
}

/// After the handoff the starting agent's tools are gone: a call to one gets an output saying
/// it was removed, and billing's tool list is what the model sees.
#[tokio::test]
async fn handoff_removes_the_previous_agents_tools() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_t1", "transfer_to_billing", json!({})))
        .reply(Reply::new().and_call_with_id("call_l1", "lookup_order", json!({})))
        .reply(Reply::text("Sorry."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.tool(lookup())
            .starting_agent("agent", ["billing"])
            .agent(AgentProfile::new("billing").instructions("Billing."))
    })
    .await;
    agent.handle.send_text("Refund please.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    let outputs = outputs(&server);
    assert_eq!(outputs.len(), 2);
    assert!(
        outputs[1].1.contains("lookup_order") && outputs[1].1.contains("removed"),
        "{outputs:?}"
    );
    assert!(seen.iter().any(|e| matches!(
        e,
        AgentEvent::ToolFinished { name, status: ToolStatus::UnknownTool, .. } if name == "lookup_order"
    )));
    agent.stop().await;
}
