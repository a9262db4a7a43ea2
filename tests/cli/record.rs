//! `--record FILE.jsonl`: every event sent and received, with timestamps.

use realtime_agent::testing::{FakeServer, Reply};
use serde_json::{Value, json};

use super::support::Scratch;

/// The recording holds every event the server received, byte for byte as JSON, and every event
/// it sent, in order, with non-decreasing timestamps; and never the key.
#[tokio::test]
async fn record_holds_every_event_sent_and_received() {
    const KEY: &str = "sk-planted-record-key-0123456789";
    let scratch = Scratch::new();
    let config = scratch.config(
        r#"
[[tools]]
kind = "command"
name = "echo_words"
description = "Repeats words."
program = "echo"
args = ["{words}"]

[tools.parameters]
type = "object"
required = ["words"]
properties.words = { type = "string" }
"#,
    );
    let server = FakeServer::builder()
        .reply(Reply::call("echo_words", json!({"words": "hello there"})))
        .reply(Reply::text("It said hello there."))
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
                "--record",
                "session.jsonl",
            ],
            "say hello\n",
            &[("OPENAI_API_KEY", KEY)],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let text = std::fs::read_to_string(scratch.path("session.jsonl")).unwrap();
    assert!(!text.contains(KEY), "the key never reaches the recording");
    let records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();

    let sent: Vec<&Value> = records
        .iter()
        .filter(|r| r["direction"] == "sent")
        .map(|r| &r["event"])
        .collect();
    let server_received: Vec<Value> = server
        .received()
        .iter()
        .map(|r| serde_json::from_str(&r.raw).unwrap())
        .collect();
    assert_eq!(sent.len(), server_received.len());
    for (ours, theirs) in sent.iter().zip(&server_received) {
        assert_eq!(*ours, theirs);
    }

    let received_types: Vec<&str> = records
        .iter()
        .filter(|r| r["direction"] == "received")
        .map(|r| r["event"]["type"].as_str().unwrap())
        .collect();
    let server_sent: Vec<String> = server.sent().into_iter().map(|s| s.event_type).collect();
    assert_eq!(received_types, server_sent);
    assert!(received_types.contains(&"response.function_call_arguments.done"));

    let mut last = (0.0, 0.0);
    for record in &records {
        let time = record["time"].as_f64().expect("a Unix time");
        let elapsed = record["elapsed_ms"]
            .as_f64()
            .expect("milliseconds since the start");
        assert!(time >= last.0 && elapsed >= last.1, "{record}");
        last = (time, elapsed);
    }
    assert!(
        run.stderr.contains("recorded every event to session.jsonl"),
        "{}",
        run.stderr
    );
}
