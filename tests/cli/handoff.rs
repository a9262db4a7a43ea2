//! Handoffs declared in agent.toml: `[agents.NAME]`, the graph `agent check` shows, the
//! errors a broken graph gets, and a conversation handed to billing through the config path.

use realtime_agent::testing::{FakeServer, Reply};
use serde_json::{Value, json};

use super::support::{Scratch, outputs, refused};

const AGENTS_TOML: &str = r#"
[agent]
instructions = "You are the receptionist."
voice = "marin"
tools = ["lookup_order"]
handoffs = ["billing", "support"]

[agents.billing]
instructions = "You handle invoices and refunds."
tools = ["issue_refund"]
handoffs = ["agent"]

[agents.support]
instructions = "You fix problems."
voice = "marin"

[[tools]]
kind = "command"
name = "lookup_order"
description = "Finds an order."
program = "./answer"
args = ["order 7"]

[[tools]]
kind = "command"
name = "issue_refund"
description = "Refunds an invoice."
program = "./answer"
args = ["refunded invoice 42"]
"#;

const ANSWER_SCRIPT: &str = "#!/bin/sh\nprintf '%s' \"$1\"\n";

/// `agent check` prints one line per agent: whom it may hand to.
#[tokio::test]
async fn handoff_graph_is_shown_by_check() {
    let scratch = Scratch::new();
    let config = scratch.config(AGENTS_TOML);
    scratch.script("answer", ANSWER_SCRIPT);
    let run = scratch
        .run(&["check", "--config", config.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(
            "handoffs:\n  agent -> billing, support\n  billing -> agent\n  support -> (none)\n"
        ),
        "{}",
        run.stdout
    );
}

/// A handoff target with another voice is refused, with the API rule explained, at the
/// target's `voice` key.
#[tokio::test]
async fn handoff_with_a_voice_mismatch_is_refused_and_explained() {
    let error = refused(
        "[agent]\nvoice = \"marin\"\nhandoffs = [\"billing\"]\n\n[agents.billing]\n\
         instructions = \"Billing.\"\nvoice = \"cedar\"\n",
    )
    .await;
    assert_eq!(
        error,
        "7:9: `agents.billing.voice`: agent (voice \"marin\") hands off to billing (voice \
         \"cedar\"), but the voice cannot change once audio has been produced (a Realtime API \
         rule): agents that hand off to each other share the session's voice; give them the \
         same `voice` or leave it out of [agents.*] to use [agent]'s"
    );
}

/// Unknown agent and tool names are refused at the list entry, with the nearest name.
#[tokio::test]
async fn handoff_to_unknown_agents_or_tools_is_refused() {
    let error = refused("[agent]\nhandoffs = [\"biling\"]\n\n[agents.billing]\n").await;
    assert_eq!(
        error,
        "2:13: `agent.handoffs[0]`: there is no agent named \"biling\": did you mean `billing`? \
         declare it as [agents.biling] (agents: agent, billing)"
    );
    let error = refused(
        "[agents.billing]\ntools = [\"refund\"]\n\n[[tools]]\nkind = \"command\"\n\
         name = \"issue_refund\"\ndescription = \"Refunds.\"\nprogram = \"/bin/true\"\n",
    )
    .await;
    assert_eq!(
        error,
        "2:10: `agents.billing.tools[0]`: no tool named \"refund\" is declared in [[tools]] \
         (declared: issue_refund)"
    );
    let error = refused("[agents.agent]\ninstructions = \"x\"\n").await;
    assert_eq!(
        error,
        "1:1: `agents.agent`: the starting agent is [agent]; give this agent another name"
    );
}

/// Through the config path: the model calls `transfer_to_billing`, the next `session.update`
/// carries billing's instructions and tools, and billing's tool answers the next call.
#[tokio::test]
async fn handoff_to_billing_through_agent_toml() {
    let scratch = Scratch::new();
    let config = scratch.config(AGENTS_TOML);
    scratch.script("answer", ANSWER_SCRIPT);
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_t1", "transfer_to_billing", json!({})))
        .reply(Reply::new().and_call_with_id("call_r1", "issue_refund", json!({})))
        .reply(Reply::text("Your refund is on its way."))
        .start()
        .await;
    let url = server.url();
    let run = scratch
        .run(
            &[
                "--text",
                "--url",
                &url,
                "--config",
                config.to_str().unwrap(),
            ],
            "I want a refund.\n",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let updates: Vec<Value> = server
        .received()
        .into_iter()
        .filter(|r| r.event_type == "session.update")
        .map(|r| serde_json::from_str(&r.raw).unwrap())
        .collect();
    let names = |update: &Value| -> Value {
        update["session"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect()
    };
    assert_eq!(updates.len(), 2, "{updates:#?}");
    assert_eq!(
        names(&updates[0]),
        json!(["lookup_order", "transfer_to_billing", "transfer_to_support"])
    );
    let tools = scratch
        .run(&["tools", "--config", config.to_str().unwrap()], "", &[])
        .await;
    assert_eq!(tools.code, 0, "{tools:#?}");
    let printed: Value = serde_json::from_str(&tools.stdout).unwrap();
    assert_eq!(
        printed, updates[0]["session"]["tools"],
        "agent tools prints what the starting agent sends"
    );
    assert_eq!(
        updates[1]["session"]["instructions"],
        "You handle invoices and refunds."
    );
    assert_eq!(
        names(&updates[1]),
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
    assert!(
        run.stdout
            .contains("  ⇢ agent hands the conversation to billing\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("assistant: Your refund is on its way."),
        "{}",
        run.stdout
    );
}
