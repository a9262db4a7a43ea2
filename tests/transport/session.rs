//! A session over the transport: the configured `session.update`, ordered events, closes and
//! malformed frames.

use std::time::Duration;

use realtime_agent::protocol::{
    ApiError, ClientEvent, Dialect, Modality, ServerEvent, SessionConfig, SessionKind,
};
use realtime_agent::testing::FakeServer;
use realtime_agent::transport::{ConnectOptions, Incoming, connect};

async fn next_event(events: &mut realtime_agent::transport::EventStream) -> ServerEvent {
    match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
        Ok(Some(Incoming::Event(event))) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// A GA connection to `server`, past its `session.created`.
async fn open(
    server: &FakeServer,
) -> (
    realtime_agent::transport::EventSender,
    realtime_agent::transport::EventStream,
    realtime_agent::transport::ConnectionGuard,
) {
    let options = ConnectOptions {
        url: Some(server.url()),
        ..ConnectOptions::new("m")
    };
    let (sender, mut events, guard) = connect(&options).await.unwrap().into_parts();
    assert!(matches!(
        next_event(&mut events).await,
        ServerEvent::SessionCreated(_)
    ));
    (sender, events, guard)
}

fn config() -> SessionConfig {
    SessionConfig {
        kind: Some(SessionKind::Realtime),
        instructions: Some("Be brief.".into()),
        output_modalities: Some(vec![Modality::Text]),
        ..SessionConfig::default()
    }
}

async fn configured_session(dialect: Dialect) {
    let server = FakeServer::start().await;
    let options = ConnectOptions {
        url: Some(server.url()),
        dialect,
        ..ConnectOptions::new("gpt-realtime")
    };
    let (sender, mut events, _guard) = connect(&options).await.unwrap().into_parts();
    assert!(matches!(
        next_event(&mut events).await,
        ServerEvent::SessionCreated(_)
    ));
    if dialect == Dialect::Beta {
        assert!(matches!(
            next_event(&mut events).await,
            ServerEvent::ConversationCreated(_)
        ));
    }
    let mut wanted = config();
    if dialect == Dialect::Beta {
        wanted.kind = None;
    }
    let id = sender
        .send(ClientEvent::session_update(wanted.clone()))
        .await
        .unwrap();
    let ServerEvent::SessionUpdated(updated) = next_event(&mut events).await else {
        panic!("expected session.updated");
    };
    assert_eq!(updated.session.instructions.as_deref(), Some("Be brief."));
    let text_only = match dialect {
        Dialect::Ga => vec![Modality::Text],
        Dialect::Beta => vec![Modality::Text],
    };
    assert_eq!(updated.session.output_modalities, Some(text_only));
    // The server got exactly the event we sent, with its event_id.
    let received = server.received();
    let event = received[0].event.as_ref().unwrap();
    assert_eq!(event.event_id(), Some(id.as_str()));
    let ClientEvent::SessionUpdate(update) = event else {
        panic!("expected session.update, got {event:?}");
    };
    assert_eq!(*update.session, wanted);
    assert_eq!(server.session().instructions.as_deref(), Some("Be brief."));
}

/// GA: the configured `session.update` goes out and `session.updated` echoes the merged config.
#[tokio::test]
async fn ga_session_update_round_trip() {
    configured_session(Dialect::Ga).await;
}

/// Beta: the same, in the beta shape (and `conversation.created` after `session.created`).
#[tokio::test]
async fn beta_session_update_round_trip() {
    configured_session(Dialect::Beta).await;
}

/// A GA `session.update` without `session.type` is rejected, as by the real API, and the error
/// names the client event.
#[tokio::test]
async fn ga_requires_session_type() {
    let server = FakeServer::start().await;
    let (sender, mut events, _guard) = open(&server).await;
    let id = sender
        .send(ClientEvent::session_update(SessionConfig {
            instructions: Some("x".into()),
            ..SessionConfig::default()
        }))
        .await
        .unwrap();
    let ServerEvent::Error(error) = next_event(&mut events).await else {
        panic!("expected an error");
    };
    assert_eq!(
        error.error.code.as_deref(),
        Some("missing_required_parameter")
    );
    assert_eq!(error.error.event_id.as_deref(), Some(id.as_str()));
}

/// A close frame ends the stream with its code and reason.
#[tokio::test]
async fn close_frame_ends_the_stream_with_code_and_reason() {
    let server = FakeServer::start().await;
    let (_sender, mut events, _guard) = open(&server).await;
    server.close_connection(1001, "session expired");
    loop {
        match tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
        {
            Some(Incoming::Closed(info)) => {
                assert_eq!(info.code, Some(1001));
                assert_eq!(info.reason, "session expired");
                assert!(info.clean);
                break;
            }
            Some(_) => continue,
            None => panic!("stream ended without Closed"),
        }
    }
    assert!(events.recv().await.is_none());
}

/// A dropped connection (no close frame) ends the stream as not clean.
#[tokio::test]
async fn dropped_connection_is_reported() {
    let server = FakeServer::start().await;
    let (_sender, mut events, _guard) = open(&server).await;
    server.drop_connection();
    match tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
    {
        Some(Incoming::Closed(info)) => {
            assert!(!info.clean);
            assert_eq!(info.code, None);
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}

/// Malformed JSON and binary frames are reported and skipped; later events still arrive in order.
#[tokio::test]
async fn malformed_frames_are_skipped() {
    let server = FakeServer::start().await;
    let (_sender, mut events, _guard) = open(&server).await;
    server.send_raw("{not json");
    server.send_raw(r#"{"type":"response.future_event","x":1}"#);
    server.send_error(ApiError::new("server_error", "boom", "Something broke."));
    let first = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap();
    assert!(
        matches!(first, Some(Incoming::Malformed { ref frame, .. }) if frame == "{not json"),
        "{first:?}"
    );
    let ServerEvent::Unknown(unknown) = next_event(&mut events).await else {
        panic!("expected the unknown event");
    };
    assert_eq!(unknown.event_type, "response.future_event");
    let ServerEvent::Error(error) = next_event(&mut events).await else {
        panic!("expected the error event");
    };
    assert_eq!(error.error.code.as_deref(), Some("boom"));
}
