#![allow(dead_code)] // shared by several test binaries; each uses a part
//! Shared helpers: start an agent against a fake server and read its events.

use std::time::Duration;

use realtime_agent::agent::{Agent, AgentBuilder, AgentEvent, AgentEvents, AgentHandle};
use realtime_agent::protocol::{ClientEvent, Item, Modality, SessionConfig};
use realtime_agent::testing::FakeServer;
use tokio::task::JoinHandle;

/// Long enough for the MCP tests' third-party servers (they share these helpers) on a loaded
/// machine.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Running {
    pub handle: AgentHandle,
    pub events: AgentEvents,
    pub task: JoinHandle<Result<realtime_agent::agent::SessionSummary, realtime_agent::Error>>,
}

/// A text-only session against `server`, configured by `build`.
pub async fn start(
    server: &FakeServer,
    build: impl FnOnce(AgentBuilder) -> AgentBuilder,
) -> Running {
    let builder = Agent::builder().url(server.url()).session(SessionConfig {
        instructions: Some("Test agent.".into()),
        output_modalities: Some(vec![Modality::Text]),
        ..SessionConfig::default()
    });
    let agent = build(builder).build().expect("agent builds");
    let handle = agent.handle();
    let mut events = handle.subscribe(4096);
    let task = tokio::spawn(agent.run());
    wait_for(&mut events, "ready", |e| {
        matches!(e, AgentEvent::Ready { .. })
    })
    .await;
    Running {
        handle,
        events,
        task,
    }
}

/// Reads events until `matches` accepts one (returned), panicking after [`WAIT`].
pub async fn wait_for(
    events: &mut AgentEvents,
    what: &str,
    mut matches: impl FnMut(&AgentEvent) -> bool,
) -> AgentEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if matches(&event) => return event,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("events ended while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// Reads events until [`AgentEvent::Idle`], returning everything seen.
pub async fn until_idle(events: &mut AgentEvents) -> Vec<AgentEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(AgentEvent::Idle)) => return seen,
            Ok(Some(event)) => seen.push(event),
            Ok(None) => panic!("events ended before idle; saw {seen:#?}"),
            Err(_) => panic!("timed out waiting for idle; saw {seen:#?}"),
        }
    }
}

/// The `function_call_output` items the server received, as (call_id, output).
pub fn outputs(server: &FakeServer) -> Vec<(String, String)> {
    server
        .received()
        .into_iter()
        .filter_map(|r| match r.event {
            Some(ClientEvent::ConversationItemCreate(create)) => match create.item {
                Item::FunctionCallOutput(o) => Some((o.call_id, o.output)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The parsed JSON of a tool output.
pub fn json(output: &str) -> serde_json::Value {
    serde_json::from_str(output).unwrap_or_else(|e| panic!("output is not JSON ({e}): {output}"))
}

impl Running {
    /// Shuts the agent down and waits for `run` to return.
    pub async fn stop(self) -> realtime_agent::agent::SessionSummary {
        self.handle.shutdown();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("run returns after shutdown")
            .expect("run does not panic")
            .expect("run ends without error")
    }
}
