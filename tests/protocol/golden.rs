//! The exact `session.update` each dialect gets for one full configuration.

use realtime_agent::protocol::{
    AudioFormat, ClientEvent, Dialect, InputTranscription, MaxTokens, Modality, NoiseReduction,
    ServerVad, SessionConfig, SessionKind, ToolChoice, ToolDefinition, TurnDetection, Voice,
};
use serde_json::{Value, json};

fn full_config() -> SessionConfig {
    SessionConfig {
        kind: Some(SessionKind::Realtime),
        instructions: Some("You control the lights.".into()),
        voice: Some(Voice::from("marin")),
        speed: Some(1.1),
        output_modalities: Some(vec![Modality::Audio]),
        input_audio_format: Some(AudioFormat::Pcm16),
        output_audio_format: Some(AudioFormat::G711Ulaw),
        turn_detection: Some(Some(TurnDetection::ServerVad(ServerVad {
            threshold: Some(0.6),
            prefix_padding_ms: Some(300),
            silence_duration_ms: Some(500),
            create_response: Some(true),
            interrupt_response: Some(false),
            idle_timeout_ms: Some(None),
            ..ServerVad::default()
        }))),
        input_transcription: Some(Some(InputTranscription {
            model: Some("gpt-4o-transcribe".into()),
            language: Some("en".into()),
            ..InputTranscription::default()
        })),
        noise_reduction: Some(Some(NoiseReduction {
            kind: "far_field".into(),
            ..NoiseReduction::default()
        })),
        tools: Some(vec![ToolDefinition::function(
            "set_light",
            "Turn a light on or off.",
            json!({"type":"object","properties":{"on":{"type":"boolean"}},"required":["on"]}),
        )]),
        tool_choice: Some(ToolChoice::Auto),
        temperature: Some(0.7),
        max_output_tokens: Some(MaxTokens::Limit(1024)),
        ..SessionConfig::default()
    }
}

fn encoded(dialect: Dialect) -> Value {
    let mut event = ClientEvent::session_update(full_config());
    event.ensure_event_id(|| "evt_1".into());
    serde_json::from_str(&event.to_json(dialect)).unwrap()
}

/// GA: `type`, nested `audio.input`/`audio.output`, format objects, `output_modalities`,
/// `max_output_tokens`, and no temperature (the GA schema has none).
#[test]
fn ga_session_update_is_exact() {
    let tools = json!([{"type":"function","name":"set_light","description":"Turn a light on or off.",
        "parameters":{"type":"object","properties":{"on":{"type":"boolean"}},"required":["on"]}}]);
    assert_eq!(
        encoded(Dialect::Ga),
        json!({
            "type": "session.update",
            "event_id": "evt_1",
            "session": {
                "type": "realtime",
                "output_modalities": ["audio"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                        "noise_reduction": {"type": "far_field"},
                        "turn_detection": {"type": "server_vad", "threshold": 0.6,
                            "prefix_padding_ms": 300, "silence_duration_ms": 500,
                            "create_response": true, "interrupt_response": false,
                            "idle_timeout_ms": null}
                    },
                    "output": {"format": {"type": "audio/pcmu"}, "voice": "marin", "speed": 1.1}
                },
                "max_output_tokens": 1024,
                "instructions": "You control the lights.",
                "tools": tools,
                "tool_choice": "auto"
            }
        })
    );
}

/// Beta: flat fields, string formats, `modalities` with text and audio, `temperature`,
/// `max_response_output_tokens`, and no `type`.
#[test]
fn beta_session_update_is_exact() {
    let tools = json!([{"type":"function","name":"set_light","description":"Turn a light on or off.",
        "parameters":{"type":"object","properties":{"on":{"type":"boolean"}},"required":["on"]}}]);
    assert_eq!(
        encoded(Dialect::Beta),
        json!({
            "type": "session.update",
            "event_id": "evt_1",
            "session": {
                "modalities": ["text", "audio"],
                "voice": "marin",
                "speed": 1.1,
                "input_audio_format": "pcm16",
                "output_audio_format": "g711_ulaw",
                "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                "input_audio_noise_reduction": {"type": "far_field"},
                "turn_detection": {"type": "server_vad", "threshold": 0.6,
                    "prefix_padding_ms": 300, "silence_duration_ms": 500,
                    "create_response": true, "interrupt_response": false,
                    "idle_timeout_ms": null},
                "temperature": 0.7,
                "max_response_output_tokens": 1024,
                "instructions": "You control the lights.",
                "tools": tools,
                "tool_choice": "auto"
            }
        })
    );
}

/// Turning features off sends `null`; fields left unset are not sent at all.
#[test]
fn null_turns_off_and_unset_is_absent() {
    let config = SessionConfig {
        turn_detection: Some(None),
        input_transcription: Some(None),
        ..SessionConfig::default()
    };
    assert_eq!(
        config.to_wire(Dialect::Ga),
        json!({"audio": {"input": {"transcription": null, "turn_detection": null}}})
    );
    assert_eq!(
        config.to_wire(Dialect::Beta),
        json!({"input_audio_transcription": null, "turn_detection": null})
    );
    assert_eq!(
        SessionConfig::from_wire(&config.to_wire(Dialect::Ga)).unwrap(),
        config
    );
    assert_eq!(
        SessionConfig::from_wire(&config.to_wire(Dialect::Beta)).unwrap(),
        config
    );
}

/// A GA config decodes from its wire form to the same neutral config, and so does beta.
#[test]
fn both_shapes_decode_to_the_same_config() {
    let mut config = full_config();
    let ga = SessionConfig::from_wire(&config.to_wire(Dialect::Ga)).unwrap();
    // GA has no temperature; beta has no session type.
    config.temperature = None;
    assert_eq!(ga, config);
    let mut config = full_config();
    let beta = SessionConfig::from_wire(&config.to_wire(Dialect::Beta)).unwrap();
    config.kind = None;
    // Beta spells "audio with transcript" as [text, audio], and decoding keeps the spelling.
    config.output_modalities = Some(vec![Modality::Text, Modality::Audio]);
    assert_eq!(beta, config);
}
