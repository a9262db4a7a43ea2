//! Round trips of the JSON fixtures in tests/fixtures/protocol.

use std::path::{Path, PathBuf};

use realtime_agent::protocol::{
    ClientEvent, Dialect, RENAMED_SERVER_EVENTS, SERVER_EVENT_TYPES, ServerEvent,
};
use serde_json::Value;

fn fixture_dir(parts: &[&str]) -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/protocol");
    for part in parts {
        dir.push(part);
    }
    dir
}

fn fixtures(parts: &[&str]) -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(fixture_dir(parts))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {parts:?}");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                value,
            )
        })
        .collect()
}

/// In server events an explicit `null` and an absent optional field mean the same, and the types
/// keep only one of them; so both sides drop null-valued keys before comparing. Everything else
/// (every other key, value, number type and nesting) must be identical.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn wire_type(value: &Value) -> &str {
    value["type"].as_str().expect("fixture has a type")
}

fn check_server_fixtures(dialect: Dialect) {
    let dir = dialect.as_str();
    let mut seen = std::collections::BTreeSet::new();
    for (name, wire) in fixtures(&[dir, "server"]) {
        let text = wire.to_string();
        let event = ServerEvent::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !matches!(event, ServerEvent::Unknown(_)),
            "{name}: a known event decoded as unknown"
        );
        assert!(
            name.starts_with(wire_type(&wire)),
            "{name}: file name and type differ"
        );
        seen.insert(event.event_type().to_owned());
        let encoded = event.to_value(dialect);
        assert_eq!(
            without_nulls(&encoded),
            without_nulls(&wire),
            "{name} did not survive decode + encode in {dialect}"
        );
        // Decoding what we encode gives the same event.
        let again = ServerEvent::from_json(&encoded.to_string()).unwrap();
        assert_eq!(again, event, "{name}: second decode differs");
    }
    // Every event type of the dialect has a fixture.
    let beta_only = [
        "conversation.created",
        "transcription_session.created",
        "transcription_session.updated",
    ];
    let ga_only = |t: &str| {
        t.starts_with("mcp_list_tools")
            || t.starts_with("response.mcp_call")
            || t == "conversation.item.added"
            || t == "conversation.item.done"
            || t == "conversation.item.input_audio_transcription.segment"
            || t == "input_audio_buffer.dtmf_event_received"
    };
    for t in SERVER_EVENT_TYPES {
        let expected = match dialect {
            Dialect::Ga => !beta_only.contains(t) || *t == "conversation.created",
            Dialect::Beta => !ga_only(t),
        };
        if expected {
            assert!(seen.contains(*t), "no {dialect} fixture for {t}");
        }
    }
}

/// Every GA server fixture decodes, is a known event, and encodes back to the same JSON.
#[test]
fn ga_server_events_round_trip() {
    check_server_fixtures(Dialect::Ga);
}

/// Every beta server fixture decodes, is a known event, and encodes back to the same JSON,
/// beta names included (`response.audio.delta`, not `response.output_audio.delta`).
#[test]
fn beta_server_events_round_trip() {
    check_server_fixtures(Dialect::Beta);
}

fn check_client_fixtures(dialect: Dialect) {
    for (name, wire) in fixtures(&[dialect.as_str(), "client"]) {
        let event =
            ClientEvent::from_json(&wire.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.event_type(), wire_type(&wire), "{name}");
        let encoded: Value = serde_json::from_str(&event.to_json(dialect)).unwrap();
        // Client events are compared exactly: in `session.update` a null turns a feature off.
        assert_eq!(
            encoded, wire,
            "{name} did not survive decode + encode in {dialect}"
        );
    }
}

/// Every GA client fixture decodes and encodes back to exactly the same JSON.
#[test]
fn ga_client_events_round_trip() {
    check_client_fixtures(Dialect::Ga);
}

/// Every beta client fixture decodes and encodes back to exactly the same JSON.
#[test]
fn beta_client_events_round_trip() {
    check_client_fixtures(Dialect::Beta);
}

/// Beta event names decode to the same variants as their GA names.
#[test]
fn beta_names_map_to_ga_variants() {
    for (ga, beta) in RENAMED_SERVER_EVENTS {
        let frame = format!(
            r#"{{"type":"{beta}","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0}}"#
        );
        let event = ServerEvent::from_json(&frame).unwrap();
        assert_eq!(event.event_type(), *ga);
        assert_eq!(event.to_value(Dialect::Beta)["type"], *beta);
        assert_eq!(event.to_value(Dialect::Ga)["type"], *ga);
    }
}

/// Unknown event types decode to `Unknown` with every field kept; known events with unknown
/// fields (at any depth) keep them and encode them again.
#[test]
fn unknown_events_and_fields_survive() {
    for (name, wire) in fixtures(&["unknown"]) {
        let event =
            ServerEvent::from_json(&wire.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let known = SERVER_EVENT_TYPES.contains(&wire_type(&wire));
        if known {
            assert!(!matches!(event, ServerEvent::Unknown(_)), "{name}");
        } else {
            let ServerEvent::Unknown(unknown) = &event else {
                panic!("{name}: an unknown type decoded as a known event");
            };
            assert_eq!(unknown.event_type, wire_type(&wire));
        }
        assert_eq!(
            without_nulls(&event.to_value(Dialect::Ga)),
            without_nulls(&wire),
            "{name}: something was lost"
        );
    }
}

/// The error event decodes into a typed error with every field.
#[test]
fn error_event_is_typed() {
    let (_, wire) = fixtures(&["ga", "server"])
        .into_iter()
        .find(|(n, _)| n == "error.active_response.json")
        .unwrap();
    let ServerEvent::Error(event) = ServerEvent::from_json(&wire.to_string()).unwrap() else {
        panic!("not an error event");
    };
    assert_eq!(event.error.kind, "invalid_request_error");
    assert_eq!(
        event.error.code.as_deref(),
        Some("conversation_already_has_active_response")
    );
    assert_eq!(
        event.error.message,
        wire["error"]["message"].as_str().unwrap()
    );
    assert_eq!(
        event.error.event_id.as_deref(),
        wire["error"]["event_id"].as_str()
    );
    assert!(!event.error.is_fatal());
}

/// Frames that are not events are errors, never panics; a binary-looking or empty frame too.
#[test]
fn malformed_frames_are_errors() {
    for frame in [
        "",
        "not json",
        "[1,2]",
        "{}",
        r#"{"type":7}"#,
        r#"{"type":"response.done","response":5}"#,
    ] {
        assert!(ServerEvent::from_json(frame).is_err(), "{frame:?} decoded");
    }
}
