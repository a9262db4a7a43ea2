//! Client events from other frameworks' clients: `null` wherever the API treats it as absent
//! decodes exactly as if the field were left out; where `null` means "off" it still does.

use realtime_agent::protocol::{ClientEvent, SessionConfig};
use serde_json::{Value, json};

/// `value` without its `null` object fields, at any depth.
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

/// Every optional field of every client event, sent as `null` (both dialects' spellings).
fn events_with_nulls() -> Vec<Value> {
    let tool = json!({"type": "function", "name": "lookup", "description": null,
                      "parameters": {"type": "object", "properties": {}}});
    let message = json!({"type": "message", "id": null, "object": null, "status": null,
                         "role": "user", "content": [{"type": "input_text", "text": "hi",
                         "audio": null, "transcript": null}]});
    vec![
        // GA session.update: every optional field but the three where null means "off".
        json!({"type": "session.update", "event_id": null, "session": {
            "type": "realtime", "model": null, "instructions": null, "tools": [tool],
            "tool_choice": null, "output_modalities": null, "max_output_tokens": null,
            "audio": {"input": {"format": null}, "output": {"format": null, "voice": null,
                      "speed": null}}}}),
        json!({"type": "session.update", "session": {"audio": null, "tools": null}}),
        // Beta session.update.
        json!({"type": "session.update", "session": {
            "modalities": ["text"], "voice": null, "speed": null, "input_audio_format": null,
            "output_audio_format": null, "temperature": null,
            "max_response_output_tokens": null, "instructions": null, "tools": null,
            "tool_choice": null}}),
        json!({"type": "input_audio_buffer.append", "event_id": null, "audio": "AAA="}),
        json!({"type": "input_audio_buffer.commit", "event_id": null}),
        json!({"type": "input_audio_buffer.clear", "event_id": null}),
        json!({"type": "output_audio_buffer.clear", "event_id": null}),
        json!({"type": "conversation.item.create", "event_id": null, "previous_item_id": null,
               "item": message}),
        json!({"type": "conversation.item.create", "item": {"type": "function_call",
               "call_id": "call_1", "name": null, "arguments": null, "id": null,
               "status": null}}),
        json!({"type": "conversation.item.create", "item": {"type": "function_call_output",
               "call_id": "call_1", "output": "42", "id": null, "status": null}}),
        json!({"type": "conversation.item.create", "item": {"type": "message",
               "role": "assistant", "content": null}}),
        json!({"type": "conversation.item.retrieve", "event_id": null, "item_id": "item_1"}),
        json!({"type": "conversation.item.delete", "event_id": null, "item_id": "item_1"}),
        json!({"type": "conversation.item.truncate", "event_id": null, "item_id": "item_1",
               "content_index": null, "audio_end_ms": 120}),
        json!({"type": "response.create", "event_id": null, "response": null}),
        // What LiveKit Agents sends, and every other optional field of `response`.
        json!({"type": "response.create", "response": {
            "instructions": null, "tools": null, "tool_choice": null, "conversation": null,
            "metadata": null, "input": null, "output_modalities": null, "modalities": null,
            "voice": null, "output_audio_format": null, "temperature": null,
            "max_output_tokens": null, "max_response_output_tokens": null,
            "audio": {"output": {"format": null, "voice": null}}}}),
        json!({"type": "response.create", "response": {"audio": null, "tools": [tool]}}),
        json!({"type": "response.cancel", "event_id": null, "response_id": null}),
    ]
}

/// Each event with `null` fields decodes, and to the same event as without them.
#[test]
fn null_is_absent_in_every_optional_client_field() {
    for event in events_with_nulls() {
        let with = ClientEvent::from_json(&event.to_string())
            .unwrap_or_else(|e| panic!("{event} was refused: {e}"));
        let without = ClientEvent::from_json(&without_nulls(&event).to_string()).unwrap();
        assert_eq!(with, without, "for {event}");
    }
}

/// Where the API gives `null` a meaning (turn detection, transcription and noise reduction
/// off), it keeps it.
#[test]
fn null_still_turns_features_off() {
    let ga = json!({"audio": {"input": {"turn_detection": null, "transcription": null,
                    "noise_reduction": null}}});
    let beta = json!({"turn_detection": null, "input_audio_transcription": null,
                      "input_audio_noise_reduction": null});
    for wire in [ga, beta] {
        let config = SessionConfig::from_wire(&wire).unwrap();
        assert_eq!(config.turn_detection, Some(None), "{wire}");
        assert_eq!(config.input_transcription, Some(None), "{wire}");
        assert_eq!(config.noise_reduction, Some(None), "{wire}");
    }
}
