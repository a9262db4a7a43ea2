//! `agent --input in.wav --output out.wav`: a recorded turn, its answer written to a WAV file.

use std::time::Duration;

use realtime_agent::protocol::{ContentKind, InputTranscriptionCompleted, Item, ServerEvent};
use realtime_agent::testing::{FakeServer, Reply};
use serde_json::Value;

use super::support::{Scratch, speech_wav};

/// One second of a recognisable PCM16 pattern at 24 kHz.
fn reply_audio() -> Vec<u8> {
    (0..24_000u32)
        .flat_map(|n| {
            let t = f64::from(n) / 24_000.0;
            let sample = (0.3 * (std::f64::consts::TAU * 440.0 * t).sin() * 32767.0) as i16;
            sample.to_le_bytes()
        })
        .collect()
}

/// The file mode streams the whole WAV (converted to the session format), commits it as one
/// manual turn after the prompt, waits for the answer, writes exactly the server's audio bytes
/// to a valid 24 kHz mono WAV, prints both transcripts, and records the events without audio.
#[tokio::test]
async fn file_mode_writes_the_servers_audio_to_a_wav() {
    let scratch = Scratch::new();
    let spoken = "What is the weather like in Paris today?";
    let input = speech_wav(&scratch, spoken);
    let input_seconds = {
        let reader = hound::WavReader::open(&input).unwrap();
        f64::from(reader.duration()) / f64::from(reader.spec().sample_rate)
    };
    let audio = reply_audio();
    let server = FakeServer::builder()
        .reply(Reply::audio("It is sunny in Paris.", audio.clone()))
        .start()
        .await;
    let url = server.url();
    let args = [
        "--input",
        "in.wav",
        "--output",
        "out.wav",
        "--prompt",
        "Answer the question.",
        "--url",
        &url,
        "--record",
        "events.jsonl",
    ];
    let run = scratch.run(&args, "", &[]);
    // The fake has no speech-to-text: play the transcription model once the turn is committed.
    let transcribe = async {
        server
            .wait_for_received("input_audio_buffer.commit", 1, Duration::from_secs(30))
            .await;
        let item_id = server
            .conversation()
            .iter()
            .find_map(|item| match item {
                Item::Message(m) if m.content.iter().any(|p| p.kind == ContentKind::InputAudio) => {
                    m.id.clone()
                }
                _ => None,
            })
            .expect("the committed turn is a user audio item");
        server.push(ServerEvent::InputTranscriptionCompleted(
            InputTranscriptionCompleted {
                item_id,
                transcript: spoken.to_owned(),
                ..Default::default()
            },
        ));
    };
    let (run, ()) = tokio::join!(run, transcribe);
    assert_eq!(run.code, 0, "{run:#?}");

    // The reply file: a valid WAV holding exactly the server's bytes.
    let mut reader = hound::WavReader::open(scratch.path("out.wav")).expect("a valid WAV");
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 24_000, 16)
    );
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let written: Vec<u8> = reader
        .samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect();
    assert_eq!(written.len(), audio.len());
    assert!(
        written == audio,
        "the reply WAV holds the server's audio bytes"
    );

    // What went over the wire: the prompt, the whole file, one commit, one response.
    assert_eq!(
        server.received_types(),
        [
            "session.update",
            "conversation.item.create",
            "input_audio_buffer.commit",
            "response.create"
        ]
    );
    let expected_bytes = (input_seconds * 48_000.0) as i64;
    let sent_bytes = server.input_audio().len() as i64;
    assert!(
        (sent_bytes - expected_bytes).abs() <= 4_800,
        "sent {sent_bytes} bytes of 24 kHz PCM16 for {input_seconds} s"
    );
    let received = server.received();
    let update: Value = serde_json::from_str(&received[0].raw).unwrap();
    assert_eq!(
        update["session"]["audio"]["input"]["turn_detection"],
        Value::Null,
        "a manual turn"
    );
    assert!(
        received[1]
            .raw
            .contains("\"text\":\"Answer the question.\""),
        "{}",
        received[1].raw
    );

    // Both transcripts, whatever order they arrived in.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let user: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("you: "))
        .collect();
    assert_eq!(user, [format!("you: {spoken}")], "{}", run.stdout);
    let assistant: String = lines
        .iter()
        .filter_map(|l| l.strip_prefix("assistant: "))
        .map(|l| l.strip_prefix('…').unwrap_or(l))
        .collect();
    assert_eq!(assistant, "It is sunny in Paris.", "{}", run.stdout);
    assert!(
        run.stderr.contains("sending in.wav: ")
            && run
                .stderr
                .contains("wrote the reply to out.wav (1.0 s of audio)"),
        "{}",
        run.stderr
    );

    // The recording elides the audio and keeps every append.
    let recording = std::fs::read_to_string(scratch.path("events.jsonl")).unwrap();
    let appends: Vec<Value> = recording
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"]["type"] == "input_audio_buffer.append")
        .collect();
    let server_appends = received
        .iter()
        .filter(|r| r.event_type == "input_audio_buffer.append")
        .count();
    assert_eq!(appends.len(), server_appends);
    for append in &appends {
        let audio = append["event"]["audio"].as_str().unwrap();
        assert!(
            audio.starts_with("<elided: ") && audio.ends_with(" base64 characters>"),
            "{audio}"
        );
    }
}

/// `--sim --input` with a prompt that names a tool: the simulated model calls it, speaks the
/// result, and the spoken answer is written as a WAV.
#[tokio::test]
async fn sim_answers_a_file_and_calls_the_tool_its_prompt_names() {
    let scratch = Scratch::new();
    let input = speech_wav(&scratch, "Please tell me the time.");
    let config = super::support::package_dir().join("agent.toml");
    let run = scratch
        .run(
            &[
                "--sim",
                "--config",
                config.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                "answer.wav",
                "--prompt",
                "what time is it",
            ],
            "",
            &[],
        )
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .starts_with("  → time_and_date {}\n  ← time_and_date: "),
        "{}",
        run.stdout
    );
    let assistant: String = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("assistant: "))
        .map(|l| l.strip_prefix('…').unwrap_or(l))
        .collect();
    assert!(
        assistant.starts_with("time_and_date says: "),
        "{}",
        run.stdout
    );
    let reader = hound::WavReader::open(scratch.path("answer.wav")).expect("a valid WAV");
    assert_eq!(reader.spec().sample_rate, 24_000);
    assert!(reader.duration() > 24_000, "the answer was spoken");
}
