use realtime_agent::protocol::*;
#[test]
fn smoke() {
    let e = ServerEvent::from_json(r#"{"type":"response.audio.delta","event_id":"e1","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"AAA=","obfuscation":"x"}"#).unwrap();
    println!("{e:?}");
    println!("{}", e.to_json(Dialect::Beta));
    println!("{}", e.to_json(Dialect::Ga));
    let s = SessionConfig { instructions: Some("hi".into()), turn_detection: Some(None), output_modality: Some(OutputModality::Audio), input_audio_format: Some(AudioFormat::Pcm16), ..Default::default() };
    let ev = ClientEvent::session_update(s);
    println!("{}", ev.to_json(Dialect::Ga));
    println!("{}", ev.to_json(Dialect::Beta));
    let back = ClientEvent::from_json(&ev.to_json(Dialect::Beta)).unwrap();
    println!("{back:?}");
    let u = ServerEvent::from_json(r#"{"type":"x.y","a":1}"#).unwrap();
    println!("{u:?}");
    println!("{}", encode_audio_append("evt_1", &[1,2,3,4]));
}
