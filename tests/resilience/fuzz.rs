//! The decoders never panic: arbitrary bytes, arbitrary JSON, known event types with fields of
//! arbitrary shape, huge strings and deep nesting all give a value or an error.

use proptest::prelude::*;
use realtime_agent::protocol::{CLIENT_EVENT_TYPES, ClientEvent, SERVER_EVENT_TYPES, ServerEvent};
use serde_json::{Map, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => Just(Value::Null),
        4 => any::<bool>().prop_map(Value::Bool),
        4 => any::<i64>().prop_map(Value::from),
        4 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        8 => ".{0,40}".prop_map(Value::String),
        // Invalid base64 where audio would go, and (rarely) huge strings.
        4 => "[A-Za-z0-9+/=!@#]{0,200}".prop_map(Value::String),
        1 => (10_000usize..300_000).prop_map(|n| Value::String("A".repeat(n))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names the events really use, so that generated objects hit the typed decoders.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "event_id",
            "item",
            "item_id",
            "response",
            "response_id",
            "session",
            "delta",
            "audio",
            "transcript",
            "text",
            "call_id",
            "name",
            "arguments",
            "output",
            "content",
            "output_index",
            "content_index",
            "audio_end_ms",
            "error",
            "usage",
            "status",
            "rate_limits",
            "part",
            "previous_item_id",
            "role",
            "tools",
            "turn_detection",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

/// A known event type with arbitrary fields.
fn known_event() -> impl Strategy<Value = String> {
    let types: Vec<&'static str> = SERVER_EVENT_TYPES
        .iter()
        .chain(CLIENT_EVENT_TYPES)
        .chain(["response.audio.delta", "response.text.delta"].iter())
        .copied()
        .collect();
    (
        prop::sample::select(types),
        prop::collection::btree_map(field_name(), json_value(), 0..6),
    )
        .prop_map(|(kind, fields)| {
            let mut map: Map<String, Value> = fields.into_iter().collect();
            map.insert("type".into(), kind.into());
            Value::Object(map).to_string()
        })
}

fn decode_both(text: &str) {
    let _ = ServerEvent::from_json(text);
    let _ = ClientEvent::from_json(text);
}

proptest! {
    // 4,000 cases each: 12,000 in all, in CI.
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes (as a lossy UTF-8 frame) decode to a value or an error.
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_both(&String::from_utf8_lossy(&bytes));
    }

    /// Arbitrary JSON decodes to a value or an error.
    #[test]
    fn arbitrary_json(value in json_value()) {
        decode_both(&value.to_string());
    }

    /// Known event types with wrong, missing or extra fields decode to a value or an error, and
    /// what decodes encodes again.
    #[test]
    fn known_types_with_arbitrary_fields(frame in known_event()) {
        if let Ok(event) = ServerEvent::from_json(&frame) {
            let _ = event.to_json(realtime_agent::protocol::Dialect::Ga);
            let _ = event.to_json(realtime_agent::protocol::Dialect::Beta);
        }
        if let Ok(event) = ClientEvent::from_json(&frame) {
            let _ = event.to_json(realtime_agent::protocol::Dialect::Beta);
        }
    }
}

/// Nesting far deeper than any event is an error, not a stack overflow.
#[test]
fn deep_nesting_is_an_error() {
    for depth in [200, 10_000, 100_000] {
        let frame = format!(
            r#"{{"type":"response.done","response":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(ServerEvent::from_json(&frame).is_err());
        let frame = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(ServerEvent::from_json(&frame).is_err());
        assert!(ClientEvent::from_json(&frame).is_err());
    }
}
