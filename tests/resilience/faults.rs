//! Connection faults and server errors, against the fake server.

use std::time::{Duration, Instant};

use realtime_agent::agent::{AgentEvent, ReconnectPolicy};
use realtime_agent::audio::ChannelSource;
use realtime_agent::protocol::{
    ApiError, AudioFormat, ClientEvent, Item, RateLimit, RateLimitsUpdated, ServerEvent,
};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::tool_fn_without_context;
use realtime_agent::transport::ConnectOptions;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::support::{WAIT, start, until_idle, wait_for};

#[derive(Deserialize, JsonSchema)]
struct Nothing {}

fn fast_reconnect() -> ReconnectPolicy {
    ReconnectPolicy {
        max_attempts: 4,
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        jitter: 0.1,
    }
}

/// Items created on connection `index`, as (kind, call id or text).
fn items_on(server: &FakeServer, index: usize) -> Vec<(String, String)> {
    server
        .received()
        .into_iter()
        .filter(|r| r.connection == index)
        .filter_map(|r| match r.event {
            Some(ClientEvent::ConversationItemCreate(c)) => Some(match c.item {
                Item::Message(m) => (
                    format!("{:?}", m.role).to_lowercase(),
                    m.content
                        .iter()
                        .filter_map(|p| p.words())
                        .collect::<String>(),
                ),
                Item::FunctionCall(f) => ("function_call".into(), f.call_id),
                Item::FunctionCallOutput(o) => {
                    ("output".into(), format!("{}={}", o.call_id, o.output))
                }
                // The MCP items, and any other kind.
                _ => ("other".into(), String::new()),
            }),
            _ => None,
        })
        .collect()
}

fn session_update_on(server: &FakeServer, index: usize) -> ClientEvent {
    let mut event = server
        .received()
        .into_iter()
        .find(|r| r.connection == index && r.event_type == "session.update")
        .and_then(|r| r.event)
        .expect("a session.update");
    if let ClientEvent::SessionUpdate(update) = &mut event {
        update.event_id = None;
    }
    event
}

/// The connection drops in the middle of a response while a tool runs. The agent reconnects
/// with backoff (an event for each step), sends the same config, replays the conversation,
/// delivers the tool's output to the new session, and the model answers there; a message the
/// user sent during the outage arrives once.
#[tokio::test]
async fn dropped_connection_reconnects_replays_and_delivers_the_tool_output() {
    let server = FakeServer::builder()
        // The call is streamed, then the connection is reset before `response.done`.
        .reply(
            Reply::new()
                .and_call_with_id("call_slow", "slow_lookup", json!({}))
                .drop_connection_after(6),
        )
        .reply(Reply::text("The lookup says 42."))
        .start()
        .await;
    let slow = tool_fn_without_context("slow_lookup", "A slow lookup.", |_: Nothing| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok::<_, String>("42")
    });
    let mut agent = start(&server, |b| b.tool(slow).reconnect(fast_reconnect())).await;
    agent.handle.send_text("Look it up.").await.unwrap();
    wait_for(&mut agent.events, "tool start", |e| {
        matches!(e, AgentEvent::ToolStarted { .. })
    })
    .await;
    let reconnecting = wait_for(&mut agent.events, "reconnecting", |e| {
        matches!(e, AgentEvent::Reconnecting { .. })
    })
    .await;
    let AgentEvent::Reconnecting { attempt, delay, .. } = reconnecting else {
        unreachable!()
    };
    assert_eq!(attempt, 1);
    assert!(delay <= Duration::from_millis(60));
    agent
        .handle
        .send_text("Are you still there?")
        .await
        .unwrap();
    let AgentEvent::Reconnected { replayed_items } =
        wait_for(&mut agent.events, "reconnected", |e| {
            matches!(e, AgentEvent::Reconnected { .. })
        })
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        replayed_items, 2,
        "the user's message and the function call"
    );
    let seen = until_idle(&mut agent.events).await;
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "The lookup says 42.")
    ));

    assert_eq!(server.connection_count(), 2);
    assert_eq!(
        session_update_on(&server, 0),
        session_update_on(&server, 1),
        "same config"
    );
    assert_eq!(
        items_on(&server, 1),
        [
            ("user".to_owned(), "Look it up.".to_owned()),
            ("function_call".to_owned(), "call_slow".to_owned()),
            ("user".to_owned(), "Are you still there?".to_owned()),
            ("output".to_owned(), "call_slow=42".to_owned()),
        ]
    );
    assert!(server.unanswered_calls().is_empty());
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    agent.stop().await;
}

/// When every attempt fails the run ends with a clear error naming the attempts, not a hang.
#[tokio::test]
async fn giving_up_is_a_clear_error() {
    let server = FakeServer::start().await;
    let mut agent = start(&server, |b| b.reconnect(fast_reconnect())).await;
    server.refuse_handshakes(503, None, 10);
    server.drop_connection();
    let error = tokio::time::timeout(WAIT, agent.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(
            error,
            realtime_agent::Error::ReconnectFailed { attempts: 4, .. }
        ),
        "{error:?}"
    );
    assert!(
        text.contains("4 attempts") && text.contains("503"),
        "{text}"
    );
    let mut steps = 0;
    while let Some(event) = agent.events.recv().await {
        if let AgentEvent::Reconnecting { attempt, .. } = event {
            steps += 1;
            assert_eq!(attempt, steps);
        }
    }
    assert_eq!(steps, 4);
}

/// A 429 on reconnect is waited out for at least its Retry-After.
#[tokio::test]
async fn rate_limited_reconnect_honours_retry_after() {
    let server = FakeServer::start().await;
    let mut agent = start(&server, |b| b.reconnect(fast_reconnect())).await;
    server.refuse_handshakes(429, Some(1), 1);
    server.drop_connection();
    wait_for(&mut agent.events, "first attempt", |e| {
        matches!(e, AgentEvent::Reconnecting { attempt: 1, .. })
    })
    .await;
    let AgentEvent::Reconnecting { delay, reason, .. } =
        wait_for(&mut agent.events, "second attempt", |e| {
            matches!(e, AgentEvent::Reconnecting { attempt: 2, .. })
        })
        .await
    else {
        unreachable!()
    };
    assert!(delay >= Duration::from_secs(1), "{delay:?}");
    assert!(reason.contains("429"), "{reason}");
    let began = Instant::now();
    wait_for(&mut agent.events, "reconnected", |e| {
        matches!(e, AgentEvent::Reconnected { .. })
    })
    .await;
    assert!(began.elapsed() >= Duration::from_millis(900));
    assert_eq!(server.connection_count(), 2);
    agent.stop().await;
}

/// A peer that goes silent (no pongs, no close) is detected by the keepalive and replaced.
#[tokio::test]
async fn missed_pongs_are_detected() {
    let server = FakeServer::start().await;
    let options = ConnectOptions {
        url: Some(server.url()),
        keepalive: Some(Duration::from_millis(100)),
        ..ConnectOptions::default()
    };
    let mut agent = start(&server, |b| {
        b.connect_options(options).reconnect(fast_reconnect())
    })
    .await;
    server.freeze_connection();
    let began = Instant::now();
    wait_for(&mut agent.events, "reconnecting", |e| {
        matches!(e, AgentEvent::Reconnecting { .. })
    })
    .await;
    assert!(began.elapsed() < Duration::from_secs(2));
    wait_for(&mut agent.events, "reconnected", |e| {
        matches!(e, AgentEvent::Reconnected { .. })
    })
    .await;
    assert_eq!(server.connection_count(), 2);
    agent.stop().await;
}

/// Before the session time limit the agent rotates to a new session at a turn boundary,
/// replaying the conversation, and the conversation goes on there.
#[tokio::test]
async fn session_rotates_before_its_time_limit() {
    let server = FakeServer::builder()
        .reply(Reply::text("First answer."))
        .reply(Reply::text("Second answer."))
        .start()
        .await;
    // The limit leaves the first exchange time enough on a loaded machine, so the first turn
    // boundary comes before it and the second after it.
    let limit = Duration::from_millis(1_500);
    let began = Instant::now();
    let mut agent = start(&server, |b| {
        b.max_session_duration(Some(limit))
            .reconnect(fast_reconnect())
    })
    .await;
    agent.handle.send_text("One.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            AgentEvent::Reconnecting { .. } | AgentEvent::Reconnected { .. }
        )),
        "rotated before the limit: {seen:?}"
    );
    tokio::time::sleep_until((began + limit + Duration::from_millis(50)).into()).await;
    agent.handle.send_text("Two.").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(seen.iter().any(
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Second answer.")
    ));
    // The rotation happened after the second exchange's turn boundary: its response.done.
    wait_for(&mut agent.events, "rotation", |e| {
        matches!(e, AgentEvent::Reconnected { .. })
    })
    .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, AgentEvent::Reconnecting { .. })),
        "no outage to report"
    );
    assert_eq!(server.connection_count(), 2);
    server
        .wait_until("the replay", WAIT, |s| items_on(s, 1).len() >= 4)
        .await;
    assert_eq!(
        items_on(&server, 1),
        [
            ("user".to_owned(), "One.".to_owned()),
            ("assistant".to_owned(), "First answer.".to_owned()),
            ("user".to_owned(), "Two.".to_owned()),
            ("assistant".to_owned(), "Second answer.".to_owned()),
        ]
    );
    server
        .wait_until("old session closed", WAIT, |s| !s.is_open(0))
        .await;
    agent.stop().await;
}

/// Microphone audio captured while the connection is down is held and sent after the
/// reconnect, in order; nothing the user said is lost.
#[tokio::test]
async fn audio_during_an_outage_is_delivered_after_reconnect() {
    let server = FakeServer::start().await;
    let (source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 64).unwrap();
    let mut agent = start(&server, |b| {
        b.audio_source(source).reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(300),
            ..fast_reconnect()
        })
    })
    .await;
    server.drop_connection();
    wait_for(&mut agent.events, "reconnecting", |e| {
        matches!(e, AgentEvent::Reconnecting { .. })
    })
    .await;
    let spoken: Vec<u8> = (0..9600u32).map(|i| (i % 251) as u8).collect(); // 200 ms
    feeder.push_encoded(&spoken).await.unwrap();
    wait_for(&mut agent.events, "reconnected", |e| {
        matches!(e, AgentEvent::Reconnected { .. })
    })
    .await;
    server
        .wait_until("held audio", WAIT, |s| {
            s.input_audio().len() >= spoken.len()
        })
        .await;
    assert_eq!(server.input_audio(), spoken);
    agent.stop().await;
}

/// Server `error` events are reported and the session goes on; binary frames are skipped.
#[tokio::test]
async fn server_errors_and_binary_frames_do_not_end_the_session() {
    let server = FakeServer::builder()
        .reply(Reply::text("Still fine."))
        .start()
        .await;
    let mut agent = start(&server, |b| b).await;
    server.send_error(ApiError::new(
        "server_error",
        "internal",
        "Something broke.",
    ));
    server.send_binary(vec![1, 2, 3]);
    let AgentEvent::ServerError(error) = wait_for(&mut agent.events, "server error", |e| {
        matches!(e, AgentEvent::ServerError(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(error.code.as_deref(), Some("internal"));
    let AgentEvent::MalformedFrame { error } = wait_for(&mut agent.events, "binary frame", |e| {
        matches!(e, AgentEvent::MalformedFrame { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(error.contains("binary"), "{error}");
    agent.handle.send_text("Hello?").await.unwrap();
    let seen = until_idle(&mut agent.events).await;
    assert!(
        seen.iter().any(
            |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Still fine.")
        )
    );
    assert_eq!(server.connection_count(), 1);
    agent.stop().await;
}

/// An exhausted rate limit (`rate_limits.updated` with nothing remaining) holds the next
/// `response.create` until the limit resets.
#[tokio::test]
async fn exhausted_rate_limit_holds_the_next_response() {
    let server = FakeServer::builder()
        .reply(Reply::text("After the wait."))
        .start()
        .await;
    let mut agent = start(&server, |b| b).await;
    let began = server.elapsed();
    server.push(ServerEvent::RateLimitsUpdated(RateLimitsUpdated {
        rate_limits: vec![RateLimit {
            name: "requests".into(),
            limit: 100,
            remaining: 0,
            reset_seconds: 0.6,
            ..Default::default()
        }],
        ..Default::default()
    }));
    // Server events are handled in order: once the agent reports the event sent after the
    // limit, it holds responses, however long that took on a loaded machine.
    server.send_raw(r#"{"type":"test.after_rate_limits"}"#);
    wait_for(
        &mut agent.events,
        "the event after the limit",
        |e| matches!(e, AgentEvent::UnknownEvent(u) if u.event_type == "test.after_rate_limits"),
    )
    .await;
    agent.handle.send_text("Now?").await.unwrap();
    until_idle(&mut agent.events).await;
    let create = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "response.create")
        .unwrap();
    // The agent got the limit after it was sent, so the hold ends 0.6 s after `began` at the
    // earliest, whatever the load.
    assert!(
        create.at - began >= Duration::from_millis(600),
        "{:?}",
        create.at - began
    );
    agent.stop().await;
}
