//! Tool sets that change mid-session: the registry and the session's tools change together, with
//! one `session.update`, kept across reconnects.

use std::time::Duration;

use realtime_agent::agent::{AgentEvent, ReconnectPolicy, ToolChange, ToolChangeError, ToolStatus};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::{DynTool, RegistryError, ToolRegistry, tool_fn_without_context};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::support::{WAIT, outputs, start, until_idle, wait_for};

#[derive(Deserialize, JsonSchema)]
struct Lights {
    /// On or off.
    on: bool,
}

#[derive(Deserialize, JsonSchema)]
struct City {
    /// The city.
    city: String,
}

fn lights() -> impl DynTool + 'static {
    tool_fn_without_context(
        "set_lights",
        "Turns the lights on or off.",
        |args: Lights| async move { Ok::<_, String>(if args.on { "lights on" } else { "lights off" }) },
    )
}

fn weather() -> impl DynTool + 'static {
    tool_fn_without_context("get_weather", "Current weather.", |args: City| async move {
        Ok::<_, String>(format!("sunny in {}", args.city))
    })
}

/// The `session.update` frames the server received, as JSON without their `event_id`.
fn session_updates(server: &FakeServer) -> Vec<(usize, Value)> {
    server
        .received()
        .into_iter()
        .filter(|r| r.event_type == "session.update")
        .map(|r| {
            let mut value: Value = serde_json::from_str(&r.raw).expect("a JSON frame");
            value.as_object_mut().unwrap().remove("event_id");
            (r.connection, value)
        })
        .collect()
}

fn lights_definition() -> Value {
    json!({
        "type": "function",
        "name": "set_lights",
        "description": "Turns the lights on or off.",
        "parameters": {
            "type": "object",
            "properties": {"on": {"type": "boolean", "description": "On or off."}},
            "required": ["on"]
        }
    })
}

fn weather_definition() -> Value {
    json!({
        "type": "function",
        "name": "get_weather",
        "description": "Current weather.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city."}},
            "required": ["city"]
        }
    })
}

/// Adding a tool sends exactly one `session.update` carrying the whole new set (and nothing
/// else); the model's calls to it then run, two in one response answered by one
/// `response.create`.
#[tokio::test]
async fn an_added_tool_is_announced_once_and_runs() {
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_call_with_id("call_l1", "set_lights", json!({"on": true}))
                .and_call_with_id("call_w1", "get_weather", json!({"city": "Oslo"})),
        )
        .reply(Reply::text("Done."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.tool(weather())).await;
    agent.handle.add_tools([lights()]).await.unwrap();
    server.wait_for_received("session.update", 2, WAIT).await;
    let updates = session_updates(&server);
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[1].1,
        json!({
            "type": "session.update",
            "session": {
                "type": "realtime",
                "tools": [weather_definition(), lights_definition()]
            }
        })
    );

    agent
        .handle
        .send_text("Lights on, and the weather?")
        .await
        .unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert_eq!(
        outputs(&server),
        [
            ("call_l1".to_owned(), "lights on".to_owned()),
            ("call_w1".to_owned(), "sunny in Oslo".to_owned())
        ]
    );
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "session.update",
            "conversation.item.create",
            "response.create",
            "conversation.item.create",
            "conversation.item.create",
            "response.create"
        ]
    );
    assert!(seen.iter().any(|e| matches!(e, AgentEvent::ToolFinished { name, status: ToolStatus::Ok, .. } if name == "set_lights")));
    agent.stop().await;
}

/// A tool removed while the response calling it streams: the call gets an output naming the
/// tool and saying it was removed (not run), and one `response.create` follows as usual.
#[tokio::test]
async fn a_call_to_a_tool_removed_in_flight_gets_a_clear_output() {
    let server = FakeServer::builder()
        .reply(
            Reply::new()
                .and_text("Let me check the weather for you.")
                .and_call_with_id("call_w1", "get_weather", json!({"city": "Oslo"}))
                .paced(Duration::from_millis(20)),
        )
        .reply(Reply::text("The weather tool is gone."))
        .start()
        .await;
    let mut agent = start(&server, |b| b.tool(weather()).tool(lights())).await;
    agent.handle.send_text("Weather in Oslo?").await.unwrap();
    wait_for(&mut agent.events, "the answer streaming", |e| {
        matches!(e, AgentEvent::AssistantDelta { .. })
    })
    .await;
    agent.handle.remove_tools(["get_weather"]).await.unwrap();
    let seen = until_idle(&mut agent.events).await;

    let outputs = outputs(&server);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].0, "call_w1");
    assert_eq!(
        serde_json::from_str::<Value>(&outputs[0].1).unwrap(),
        json!({
            "error": "tool_removed",
            "message": "get_weather was not run: it was removed from this session's tools while \
                        the response was being generated; available tools: set_lights"
        })
    );
    assert!(seen.iter().any(|e| matches!(e, AgentEvent::ToolFinished { name, status: ToolStatus::UnknownTool, .. } if name == "get_weather")));
    // The update went out between the request and the output, in order with the rest.
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "response.create",
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
    assert_eq!(
        session_updates(&server)[1].1["session"]["tools"],
        json!([lights_definition()])
    );
    agent.stop().await;
}

/// Replacing the whole set: the new set (with its `tool_choice`) goes out once, and a reconnect
/// configures the new session with it, not with the set the agent was built with.
#[tokio::test]
async fn a_replaced_set_is_what_a_reconnect_sends() {
    let server = FakeServer::builder()
        .reply(Reply::new().and_call_with_id("call_l1", "set_lights", json!({"on": false})))
        .reply(Reply::text("Lights off."))
        .start()
        .await;
    let mut agent = start(&server, |b| {
        b.tool(weather()).reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            ..ReconnectPolicy::default()
        })
    })
    .await;
    let mut next = ToolRegistry::new();
    next.add(lights()).unwrap();
    agent.handle.set_tools(next).await.unwrap();
    server.wait_for_received("session.update", 2, WAIT).await;
    let expected = json!({
        "type": "session.update",
        "session": {"type": "realtime", "tools": [lights_definition()], "tool_choice": "auto"}
    });
    assert_eq!(session_updates(&server)[1], (0, expected));

    server.drop_connection();
    wait_for(&mut agent.events, "reconnected", |e| {
        matches!(e, AgentEvent::Reconnected { .. })
    })
    .await;
    server.wait_for_received("session.update", 1, WAIT).await;
    let updates = session_updates(&server);
    let (connection, first_on_new) = &updates[2];
    assert_eq!(*connection, 1);
    assert_eq!(
        first_on_new["session"]["tools"],
        json!([lights_definition()])
    );
    assert_eq!(first_on_new["session"]["instructions"], "Test agent.");

    agent.handle.send_text("Lights off.").await.unwrap();
    until_idle(&mut agent.events).await;
    assert_eq!(
        outputs(&server),
        [("call_l1".to_owned(), "lights off".to_owned())]
    );
    agent.stop().await;
}

/// A refused change says why and changes nothing (no `session.update`); once the agent has
/// stopped, a change says so.
#[tokio::test]
async fn refused_changes_change_nothing() {
    let server = FakeServer::start().await;
    let agent = start(&server, |b| b.tool(weather())).await;
    let duplicate = agent.handle.add_tools([weather()]).await.unwrap_err();
    assert_eq!(
        duplicate,
        ToolChangeError::Refused(RegistryError::DuplicateName {
            name: "get_weather".into()
        })
    );
    let missing = agent
        .handle
        .change_tools(ToolChange::new().add(lights()).remove("set_fan"))
        .await
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "the tool change was refused: there is no tool named \"set_fan\" to remove \
         (registered: get_weather)"
    );
    // The update that did go out is the one for a valid change, sent after both refusals.
    agent.handle.remove_tools(["get_weather"]).await.unwrap();
    server.wait_for_received("session.update", 2, WAIT).await;
    let updates = session_updates(&server);
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].1["session"]["tools"], json!([]));

    let handle = agent.handle.clone();
    agent.stop().await;
    assert_eq!(
        handle.remove_tools(["get_weather"]).await.unwrap_err(),
        ToolChangeError::Stopped(realtime_agent::agent::AgentStopped)
    );
}
