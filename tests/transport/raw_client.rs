//! The fake server driven by a raw WebSocket client, as other frameworks' clients drive it:
//! `null` fields are accepted, and a client's close frame gets one back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use realtime_agent::testing::{FakeServer, Reply};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame as JSON (skipping nothing: a close or an error fails the test).
async fn next_json(socket: &mut Socket) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("the connection is open")
        .expect("a valid frame");
    match frame {
        Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Reads frames until one of type `kind`, returning every type seen on the way.
async fn until(socket: &mut Socket, kind: &str) -> (Vec<String>, Value) {
    let mut seen = Vec::new();
    loop {
        let event = next_json(socket).await;
        let event_type = event["type"].as_str().unwrap_or_default().to_owned();
        seen.push(event_type.clone());
        assert_ne!(event_type, "error", "the server refused an event: {event}");
        if event_type == kind {
            return (seen, event);
        }
    }
}

/// LiveKit Agents' `response.create` (`"instructions": null` and friends) and other events with
/// `null` optional fields get their normal answers, never `invalid_event`.
#[tokio::test]
async fn null_optional_fields_are_accepted() {
    let server = FakeServer::builder()
        .reply(Reply::text("Hello there."))
        .start()
        .await;
    let (mut socket, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "session.created");
    let frames = [
        json!({"type": "session.update", "event_id": null, "session": {"type": "realtime",
               "instructions": null, "tools": null, "tool_choice": null,
               "output_modalities": ["text"], "max_output_tokens": null}}),
        json!({"type": "conversation.item.create", "previous_item_id": null, "item": {
               "type": "message", "id": null, "role": "user",
               "content": [{"type": "input_text", "text": "hi", "audio": null}]}}),
        json!({"type": "response.create", "event_id": null, "response": {
               "instructions": null, "conversation": null, "metadata": null, "tools": null,
               "tool_choice": null, "input": null, "voice": null,
               "max_output_tokens": null, "output_modalities": null}}),
    ];
    for frame in &frames {
        socket.send(Message::text(frame.to_string())).await.unwrap();
    }
    let (seen, _) = until(&mut socket, "response.done").await;
    assert!(
        seen.starts_with(&["session.updated".into(), "conversation.item.added".into()])
            || seen.starts_with(&["session.updated".into(), "conversation.item.created".into()]),
        "{seen:?}"
    );
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
}

/// A client that closes gets a close frame back (the close handshake completes), with its
/// code echoed.
#[tokio::test]
async fn a_client_close_is_answered_with_a_close_frame() {
    let server = FakeServer::start().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "session.created");
    socket
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return Some(frame),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the server answers within 5 s");
    let frame = reply.expect("a close frame came back before the connection ended");
    assert_eq!(frame.map(|f| f.code), Some(CloseCode::Normal));
}
