//! Turn-taking: the response gate under races.

use std::time::Duration;

use realtime_agent::agent::AgentEvent;
use realtime_agent::testing::{FakeServer, Reply};

use super::support::{start, until_idle};

/// A message sent while a response is streaming does not produce a `response.create` until
/// that response is done: the server never answers `conversation_already_has_active_response`.
#[tokio::test]
async fn no_response_create_while_a_response_is_active() {
    let server = FakeServer::builder()
        .reply(
            Reply::text("one two three four five six seven eight").paced(Duration::from_millis(30)),
        )
        .reply(Reply::text("Second answer."))
        .start()
        .await;
    let mut agent = start(&server, |b| b).await;
    agent.handle.send_text("First.").await.unwrap();
    super::support::wait_for(&mut agent.events, "streaming", |e| {
        matches!(e, AgentEvent::AssistantDelta { .. })
    })
    .await;
    agent
        .handle
        .send_text("Second, while the first streams.")
        .await
        .unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Second answer.")
    ));
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    let received = server.received();
    let second_create = received
        .iter()
        .filter(|r| r.event_type == "response.create")
        .nth(1)
        .unwrap()
        .at;
    let first_done = server
        .sent()
        .iter()
        .find(|s| s.event_type == "response.done")
        .unwrap()
        .at;
    assert!(second_create > first_done);
    agent.stop().await;
}
