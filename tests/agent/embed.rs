//! The embedding API: a key from the environment, `build` failing early without one for
//! OpenAI, `connect` returning handshake errors typed, opt-in audio events, events as a
//! `Stream`, API error codes as an enum.

use std::time::Duration;

use futures_util::StreamExt as _;
use realtime_agent::agent::{Agent, AgentEvent};
use realtime_agent::protocol::{ApiError, ApiErrorCode, Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::transport::ConnectError;
use realtime_agent::{ApiKey, Error};

use super::support::{WAIT, start, until_idle, wait_for};

/// A variable no test environment sets.
const UNSET: &str = "REALTIME_AGENT_TEST_UNSET_KEY";

fn text_session() -> SessionConfig {
    SessionConfig {
        instructions: Some("Test agent.".into()),
        output_modalities: Some(vec![Modality::Text]),
        ..SessionConfig::default()
    }
}

/// Without a key for OpenAI's endpoint, `build` fails before anything connects, naming the
/// variable to set; `no_api_key` fails the same way there.
#[test]
fn build_without_a_key_for_openai_fails_clearly() {
    let error = Agent::builder()
        .url("wss://api.openai.com/v1/realtime")
        .api_key_env(UNSET)
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::MissingApiKey { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "no API key for wss://api.openai.com/v1/realtime: set the environment variable \
         REALTIME_AGENT_TEST_UNSET_KEY, or give one with AgentBuilder::api_key (a local server, \
         such as the fake server, needs none)"
    );
    let error = Agent::builder()
        .url("wss://api.openai.com/v1/realtime?model=gpt-realtime")
        .no_api_key()
        .build()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "no API key for wss://api.openai.com/v1/realtime: the builder was told to use none \
         (no_api_key), or give one with AgentBuilder::api_key (a local server, such as the fake \
         server, needs none)"
    );
    // A key given, or a server of one's own: fine.
    Agent::builder()
        .url("wss://api.openai.com/v1/realtime")
        .api_key(ApiKey::new("sk-test"))
        .build()
        .unwrap();
    Agent::builder()
        .url("ws://127.0.0.1:9/v1/realtime")
        .api_key_env(UNSET)
        .build()
        .unwrap();
    // A URL that cannot work is refused at build too.
    let error = Agent::builder()
        .url("ftp://example.com")
        .api_key(ApiKey::new("sk-test"))
        .build()
        .unwrap_err();
    assert!(
        matches!(error, Error::Connect(ConnectError::InvalidUrl { .. })),
        "{error:?}"
    );
}

/// With no key given, the key comes from the environment variable (here one every test
/// environment has, on the fake server's record of the handshake); `no_api_key` sends none.
#[tokio::test]
async fn the_key_comes_from_the_environment_unless_told_otherwise() {
    let server = FakeServer::start().await;
    let expected = format!("Bearer {}", std::env::var("PATH").unwrap());
    let agent = start(&server, |b| b.api_key_env("PATH")).await;
    agent.stop().await;
    let agent = start(&server, |b| b.api_key_env("PATH").no_api_key()).await;
    agent.stop().await;
    let handshakes = server.handshakes();
    assert_eq!(handshakes.len(), 2);
    assert_eq!(
        handshakes[0].authorization.as_deref(),
        Some(expected.as_str())
    );
    assert_eq!(handshakes[1].authorization, None);
}

/// A refused key comes back from `connect`, typed, and the session never starts.
#[tokio::test]
async fn connect_returns_a_refused_key_as_a_typed_error() {
    let server = FakeServer::start().await;
    server.refuse_handshakes(401, None, 1);
    let agent = Agent::builder()
        .url(server.url())
        .api_key(ApiKey::new("sk-wrong-key"))
        .session(text_session())
        .build()
        .unwrap();
    let handle = agent.handle();
    let error = agent.connect().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connect(ConnectError::Unauthorized { status: 401, .. })
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("sk-wrong-key"), "{error}");
    assert!(!handle.is_running());
    assert_eq!(server.received_types(), Vec::<String>::new());
}

/// `connect` returns once the session is configured; the running session takes text through
/// its handle and `shutdown` returns what it used.
#[tokio::test]
async fn connect_then_talk_then_shut_down() {
    let server = FakeServer::builder()
        .reply(Reply::text("Hello there."))
        .start()
        .await;
    let agent = Agent::builder()
        .url(server.url())
        .session(text_session())
        .build()
        .unwrap();
    let mut events = agent.handle().subscribe(256);
    let session = agent.connect().await.unwrap();
    server.wait_for_received("session.update", 1, WAIT).await;
    session.send_text("Hi").await.unwrap();
    let seen = until_idle(&mut events).await;
    assert!(
        seen.iter().any(
            |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Hello there.")
        )
    );
    let summary = session.shutdown().await.unwrap();
    assert_eq!(summary.usage.responses, 1);
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
}

/// A subscriber with a small queue that reads only after a long spoken answer has streamed:
/// without `audio_events` it sees no audio chunks and misses nothing (no `Lagged`, the answer
/// and the end of the turn are there); with them the same subscriber's queue fills with audio.
#[tokio::test]
async fn audio_events_are_opt_in() {
    async fn session(audio_events: bool) -> Vec<AgentEvent> {
        let server = FakeServer::builder()
            // 2 s of audio in 20 ms chunks: 100 audio deltas.
            .reply(Reply::audio("Here is a long answer.", vec![0; 96_000]).chunked(960))
            .start()
            .await;
        let mut agent = start(&server, |b| {
            b.session(SessionConfig {
                output_modalities: Some(vec![Modality::Audio]),
                ..SessionConfig::default()
            })
            .audio_events(audio_events)
        })
        .await;
        let mut small = agent.handle.subscribe(32);
        agent.handle.send_text("Talk.").await.unwrap();
        until_idle(&mut agent.events).await;
        let mut seen = Vec::new();
        while let Some(event) = small.try_recv() {
            seen.push(event);
        }
        agent.stop().await;
        seen
    }

    let quiet = session(false).await;
    assert!(
        !quiet.iter().any(|e| matches!(
            e,
            AgentEvent::AssistantAudio { .. } | AgentEvent::Lagged { .. }
        )),
        "{quiet:#?}"
    );
    assert!(quiet.iter().any(|e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "Here is a long answer.")));
    assert!(quiet.iter().any(|e| matches!(e, AgentEvent::Idle)));

    let loud = session(true).await;
    assert!(
        loud.iter()
            .any(|e| matches!(e, AgentEvent::AssistantAudio { .. })),
        "{loud:#?}"
    );
    // Its queue filled with audio: the end of the answer was missed.
    assert_eq!(loud.len(), 32);
    assert!(
        !loud.iter().any(|e| matches!(e, AgentEvent::Idle)),
        "{loud:#?}"
    );
}

/// `AgentEvents` is a `Stream`: `StreamExt` combinators read it, and it ends when the agent
/// stops.
#[tokio::test]
async fn events_are_a_stream() {
    let server = FakeServer::builder()
        .reply(Reply::text("One."))
        .reply(Reply::text("Two."))
        .start()
        .await;
    let agent = start(&server, |b| b).await;
    let messages = agent
        .handle
        .subscribe(256)
        .filter_map(|event| async move {
            match event {
                AgentEvent::AssistantMessage { text, .. } => Some(text),
                _ => None,
            }
        })
        .take(2);
    agent.handle.send_text("First").await.unwrap();
    agent.handle.send_text("Second").await.unwrap();
    let texts: Vec<String> = tokio::time::timeout(WAIT, messages.collect())
        .await
        .expect("two messages");
    assert_eq!(texts, ["One.", "Two."]);

    let rest = agent.handle.subscribe(256);
    let handle = agent.handle.clone();
    agent.stop().await;
    let after: Vec<AgentEvent> = tokio::time::timeout(WAIT, rest.collect())
        .await
        .expect("the stream ends");
    assert!(
        matches!(after.last(), Some(AgentEvent::Closed { .. })),
        "{after:#?}"
    );
    assert!(!handle.is_running());
}

/// Error codes arrive as the enum: a benign race is swallowed, an unknown code reaches the
/// subscriber as `Other` with the server's spelling.
#[tokio::test]
async fn api_error_codes_are_an_enum_with_a_fallback() {
    let server = FakeServer::start().await;
    let mut agent = start(&server, |b| b).await;
    server.send_error(ApiError::new(
        "invalid_request_error",
        "response_cancel_not_active",
        "Cancellation failed: no active response found",
    ));
    server.send_error(ApiError::new(
        "server_error",
        "brand_new_code",
        "Something new.",
    ));
    let AgentEvent::ServerError(error) = wait_for(&mut agent.events, "a server error", |e| {
        matches!(e, AgentEvent::ServerError(_))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(
        error.code,
        Some(ApiErrorCode::Other("brand_new_code".into()))
    );
    assert_eq!(
        error.to_string(),
        "server_error (brand_new_code): Something new."
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        agent
            .events
            .try_recv()
            .is_none_or(|e| !matches!(e, AgentEvent::ServerError(_)))
    );
    agent.stop().await;
}
