//! Audio through the agent: barge-in on a controllable clock, and microphone audio reaching the
//! server byte for byte with the server detecting the turn.

use std::time::Duration;

use realtime_agent::agent::AgentEvent;
use realtime_agent::audio::{ChannelSink, ChannelSource};
use realtime_agent::protocol::{AudioFormat, ClientEvent, Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};

use super::support::{WAIT, start, wait_for};

fn pcm_tone(ms: usize) -> Vec<u8> {
    (0..24 * ms)
        .flat_map(|i| {
            let v = 0.2 * (i as f64 * std::f64::consts::TAU * 300.0 / 24000.0).sin();
            ((v * 32767.0) as i16).to_le_bytes()
        })
        .collect()
}

/// The user barges in after 500 ms of a 2 s answer has been played: playback stops at once,
/// `conversation.item.truncate` says exactly 500 ms (what was played, not the 2 s received),
/// nothing more is played, and the transcript shown is cut to match.
#[tokio::test]
async fn barge_in_truncates_to_what_was_played() {
    let audio = pcm_tone(2000);
    let server = FakeServer::builder()
        .reply(Reply::audio("one two three four five six seven eight", audio.clone()).chunked(4800))
        .start()
        .await;
    let (sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let mut agent = start(&server, |b| {
        b.session(SessionConfig {
            output_modalities: Some(vec![Modality::Audio]),
            ..SessionConfig::default()
        })
        .audio_sink(sink)
    })
    .await;
    let (handle, events) = (agent.handle.clone(), &mut agent.events);

    handle.send_text("Count to eight.").await.unwrap();
    // All 2 s of audio arrive (far faster than real time) and wait in the player.
    server
        .wait_until("response.done", WAIT, |s| s.responses_done() >= 1)
        .await;
    let item_id = server
        .conversation()
        .iter()
        .rev()
        .find_map(|i| {
            i.id()
                .filter(|id| server.audio_bytes_sent(id) > 0)
                .map(str::to_owned)
        })
        .unwrap();
    assert_eq!(server.audio_bytes_sent(&item_id), audio.len());
    wait_for(events, "all audio queued", |_| player.queued() >= 48_000).await;
    assert_eq!(player.queued(), 48_000, "2 s at 24 kHz are queued");

    // The clock: 500 ms are played.
    player.advance_ms(500);
    server.speech_started();
    let interrupted = wait_for(events, "interruption", |e| {
        matches!(e, AgentEvent::Interrupted { .. })
    })
    .await;
    let AgentEvent::Interrupted {
        item_id: cut_item,
        played_ms,
        heard_text,
    } = interrupted
    else {
        unreachable!()
    };
    assert_eq!(cut_item, item_id);
    assert_eq!(played_ms, 500);
    assert_eq!(
        heard_text, "one two",
        "a quarter of the transcript, at a word"
    );
    server
        .wait_for_received("conversation.item.truncate", 1, WAIT)
        .await;
    assert_eq!(server.truncations(), [(item_id.clone(), 500)]);
    let truncate = server
        .received()
        .into_iter()
        .find(|r| r.event_type == "conversation.item.truncate")
        .unwrap();
    assert!(
        matches!(truncate.event, Some(ClientEvent::ConversationItemTruncate(ref t)) if t.content_index == 0 && t.audio_end_ms == 500)
    );
    // Nothing more is played: the queue was flushed.
    assert_eq!(player.queued(), 0);
    let mut out = vec![0i16; 2400];
    assert_eq!(player.pull(&mut out), 0);
    assert!(out.iter().all(|&s| s == 0));
    // The server cancelled the response itself (turn detection interrupts): no response.cancel.
    assert!(
        !server
            .received_types()
            .contains(&"response.cancel".to_owned())
    );
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    agent.stop().await;
}

/// Interrupting through the handle (push-to-talk) with turn detection off sends
/// `response.cancel` as well, since the server will not cancel by itself.
#[tokio::test]
async fn manual_interrupt_cancels_the_response() {
    let server = FakeServer::builder()
        .reply(
            Reply::audio("a long answer", pcm_tone(3000))
                .chunked(4800)
                .paced(Duration::from_millis(50)),
        )
        .start()
        .await;
    let (sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let mut agent = start(&server, |b| {
        b.session(SessionConfig {
            turn_detection: Some(None),
            ..SessionConfig::default()
        })
        .audio_sink(sink)
        .audio_events(true)
    })
    .await;
    let (handle, events) = (agent.handle.clone(), &mut agent.events);
    handle.send_text("Talk.").await.unwrap();
    wait_for(events, "audio", |e| {
        matches!(e, AgentEvent::AssistantAudio { .. })
    })
    .await;
    player.advance_ms(40);
    handle.interrupt().await.unwrap();
    let AgentEvent::Interrupted { played_ms, .. } = wait_for(events, "interruption", |e| {
        matches!(e, AgentEvent::Interrupted { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(played_ms, 40);
    server.wait_for_received("response.cancel", 1, WAIT).await;
    let types = server.received_types();
    let truncate = types
        .iter()
        .position(|t| t == "conversation.item.truncate")
        .unwrap();
    let cancel = types.iter().position(|t| t == "response.cancel").unwrap();
    assert!(truncate < cancel, "{types:?}");
    server
        .wait_until("cancelled response", WAIT, |s| s.responses_done() >= 1)
        .await;
    assert!(
        server.errors_sent().is_empty(),
        "{:?}",
        server.errors_sent()
    );
    agent.stop().await;
}

/// Microphone audio streams as `input_audio_buffer.append` and reaches the server byte for
/// byte; the server's voice detection ends the turn and the answer's audio is played.
#[tokio::test]
async fn microphone_audio_reaches_the_server_and_the_turn_is_answered() {
    let server = FakeServer::builder()
        .detect_speech(true)
        .reply(Reply::audio("I heard you.", pcm_tone(300)))
        .start()
        .await;
    let (source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 256).unwrap();
    let (sink, player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let mut agent = start(&server, |b| {
        // The API's default session: audio out, server turn detection.
        b.session(SessionConfig::default())
            .audio_source(source)
            .audio_sink(sink)
    })
    .await;
    let events = &mut agent.events;

    // 300 ms of silence, 600 ms of "speech", 700 ms of silence: one turn.
    let mut spoken = vec![0u8; 24 * 300 * 2];
    spoken.extend(pcm_tone(600));
    spoken.extend(vec![0u8; 24 * 700 * 2]);
    feeder.push_encoded(&spoken).await.unwrap();

    wait_for(events, "speech start", |e| {
        matches!(e, AgentEvent::UserSpeechStarted)
    })
    .await;
    wait_for(events, "speech stop", |e| {
        matches!(e, AgentEvent::UserSpeechStopped)
    })
    .await;
    wait_for(
        events,
        "answer",
        |e| matches!(e, AgentEvent::AssistantMessage { text, .. } if text == "I heard you."),
    )
    .await;
    server
        .wait_until("all audio", WAIT, |s| s.input_audio().len() >= spoken.len())
        .await;
    assert_eq!(
        server.input_audio(),
        spoken,
        "the server got exactly the microphone's bytes"
    );
    // Appends are 20 ms frames: 960 bytes each.
    let appends: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.event_type == "input_audio_buffer.append")
        .collect();
    assert_eq!(appends.len(), spoken.len() / 960);
    wait_for(events, "answer audio queued", |_| player.queued() >= 7200).await;
    assert_eq!(player.queued(), 7200, "300 ms of answer audio at 24 kHz");
    agent.stop().await;
}
