//! `agent fake-server`: the `--sim` model served to a client in any language, here a raw
//! WebSocket client doing one tool round.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use super::support::Scratch;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads frames until one of type `kind`; an `error` event fails the test.
async fn until(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} within 10 s"))
            .expect("the connection is open")
            .expect("a valid frame");
        let Message::Text(text) = frame else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(event["type"], "error", "{event}");
        if event["type"] == kind {
            return event;
        }
    }
}

/// `agent fake-server --port 0` prints its URL; a raw client configures a tool, asks for the
/// time, gets the simulated model's `function_call`, answers it and hears the result back.
#[tokio::test]
async fn fake_server_serves_one_tool_round_to_a_raw_client() {
    let scratch = Scratch::new();
    let mut child = scratch
        .command(&["fake-server", "--port", "0"], &[])
        .spawn()
        .expect("the agent binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the URL is printed")
        .unwrap()
        .expect("a first line");
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.ends_with("/v1/realtime"),
        "{url}"
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    until(&mut socket, "session.created").await;
    let send = |event: Value| Message::text(event.to_string());
    socket
        .send(send(json!({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"],
            "tools": [{"type": "function", "name": "get_time",
                       "description": "The current time.",
                       "parameters": {"type": "object", "properties": {}}}]}})))
        .await
        .unwrap();
    until(&mut socket, "session.updated").await;
    socket
        .send(send(
            json!({"type": "conversation.item.create", "item": {"type": "message",
            "role": "user", "content": [{"type": "input_text", "text": "What time is it?"}]}}),
        ))
        .await
        .unwrap();
    socket
        .send(send(json!({"type": "response.create"})))
        .await
        .unwrap();
    let done = until(&mut socket, "response.done").await;
    let call = &done["response"]["output"][0];
    assert_eq!(call["type"], "function_call", "{done}");
    assert_eq!(call["name"], "get_time");
    let call_id = call["call_id"].as_str().unwrap().to_owned();
    socket
        .send(send(json!({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call_id, "output": "12:34"}})))
        .await
        .unwrap();
    socket
        .send(send(json!({"type": "response.create"})))
        .await
        .unwrap();
    let done = until(&mut socket, "response.done").await;
    let text = done["response"]["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text answer: {done}"));
    assert!(text.contains("get_time says: 12:34"), "{text}");
    socket.close(None).await.unwrap();
    child.kill().await.unwrap();
}

/// A port that is taken is a clear error, not a panic.
#[tokio::test]
async fn fake_server_reports_a_taken_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let scratch = Scratch::new();
    let run = scratch
        .run(&["fake-server", "--port", &port], "", &[])
        .await;
    assert_eq!(run.code, 10, "{run:#?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: ")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(try another --port)"),
        "{}",
        run.stderr
    );
}
