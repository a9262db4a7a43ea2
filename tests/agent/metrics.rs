//! Turn latency: the figures the agent reports against delays injected at the fake server and a
//! playback clock the test drives by hand.

use std::time::{Duration, Instant};

use realtime_agent::agent::{AgentEvent, ToolStatus, TurnMetrics, TurnTrigger};
use realtime_agent::audio::ChannelSink;
use realtime_agent::protocol::{AudioFormat, Modality, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};
use realtime_agent::tool::{BoxError, tool_fn_without_context};
use serde_json::json;

use super::support::{WAIT, start, wait_for};

/// A tool without arguments.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

/// How far a reported figure may be from the one the test set up, on a machine that schedules
/// promptly. On a loaded machine every message and timer is late by some scheduling delay; the
/// tests measure that delay as it happens (how late the test saw an event the server sent, how
/// far its own timers overshot) and allow it on top, so the check stays exact when the machine
/// is quiet and still holds when it is not. The agent's own receipt of a later event can be
/// late without the test seeing it (it failed once by that, with three builds running beside
/// it), hence 20 ms rather than a few: still far below the 80 and 120 ms delays injected.
const TOLERANCE: Duration = Duration::from_millis(20);

fn pcm_tone(ms: usize) -> Vec<u8> {
    (0..24 * ms)
        .flat_map(|i| {
            let v = 0.2 * (i as f64 * std::f64::consts::TAU * 300.0 / 24000.0).sin();
            ((v * 32767.0) as i16).to_le_bytes()
        })
        .collect()
}

#[track_caller]
fn close_to(what: &str, reported: Option<Duration>, expected: Duration, lag: Duration) {
    let reported = reported.unwrap_or_else(|| panic!("{what} was not reported"));
    let gap = reported.abs_diff(expected);
    assert!(
        gap <= TOLERANCE + lag,
        "{what}: reported {reported:?}, expected {expected:?} (off by {gap:?}, scheduling lag \
         {lag:?})"
    );
}

async fn turn_metrics(events: &mut realtime_agent::agent::AgentEvents) -> TurnMetrics {
    match wait_for(events, "turn metrics", |e| {
        matches!(e, AgentEvent::TurnMetrics(_))
    })
    .await
    {
        AgentEvent::TurnMetrics(metrics) => *metrics,
        _ => unreachable!(),
    }
}

/// A spoken turn: the server starts its response 120 ms after the user stopped speaking and
/// sends the first delta 80 ms later; the test plays the first audio 300 ms after the user
/// stopped and the rest 100 ms after that. Every reported figure matches, within 5 ms, the
/// same span on the server's send clock and the test's playback clock.
#[tokio::test]
async fn spoken_turn_figures_match_injected_delays_and_the_playback_clock() {
    let server = FakeServer::builder()
        .reply(
            Reply::audio("Hello there.", pcm_tone(400))
                .created_after(Duration::from_millis(120))
                .first_delta_after(Duration::from_millis(80)),
        )
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
    let server_start = Instant::now() - server.elapsed();

    server.speech_started();
    server.speech_stopped();
    wait_for(&mut agent.events, "speech stopped", |e| {
        matches!(e, AgentEvent::UserSpeechStopped)
    })
    .await;
    let stopped = Instant::now();
    // All 400 ms of audio arrive long before they are played.
    let deadline = Instant::now() + WAIT;
    while player.queued() < 24 * 400 {
        assert!(Instant::now() < deadline, "the audio never arrived");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep_until((stopped + Duration::from_millis(300)).into()).await;
    let first_played = Instant::now();
    player.advance_ms(100);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let last_played = Instant::now();
    player.advance_ms(300);
    let metrics = turn_metrics(&mut agent.events).await;

    // The server's own clock: when it sent what the agent measures. On a busy machine the
    // server is late too; the agent must report what really happened on the wire.
    let sent = server.sent();
    let at = |event_type: &str| {
        server_start
            + sent
                .iter()
                .find(|s| s.event_type == event_type)
                .unwrap_or_else(|| panic!("the server sent no {event_type}"))
                .at
    };
    let server_stopped = at("input_audio_buffer.speech_stopped");
    let server_created = at("response.created");
    let server_first_audio = at("response.output_audio.delta");
    // Scheduling lag seen during this turn: how late the test heard of `speech_stopped`, and how
    // far its own two sleeps overshot.
    let lag = (stopped - server_stopped)
        + (first_played - (stopped + Duration::from_millis(300)))
        + (last_played - first_played).saturating_sub(Duration::from_millis(100));
    assert!(server_created - server_stopped >= Duration::from_millis(120));
    assert!(server_first_audio - server_created >= Duration::from_millis(80));
    assert!(stopped >= server_stopped);
    assert_eq!(metrics.trigger, TurnTrigger::SpeechStopped);
    assert!(!metrics.interrupted);
    close_to(
        "response.created",
        metrics.response_created,
        server_created - server_stopped,
        lag,
    );
    close_to(
        "first audio delta",
        metrics.first_audio,
        server_first_audio - server_stopped,
        lag,
    );
    close_to(
        "first audio played",
        metrics.first_audio_played,
        first_played - server_stopped,
        lag,
    );
    close_to(
        "whole turn",
        Some(metrics.total),
        last_played - server_stopped,
        lag,
    );
    assert!(metrics.tools.is_empty());
    agent.stop().await;
}

/// A written turn with a tool: the tool's duration is reported under its name, the turn spans
/// the call and the follow-up answer, and no audio figures appear in a text session.
#[tokio::test]
async fn text_turn_reports_each_tool_and_the_whole_turn() {
    let server = FakeServer::builder()
        .reply(Reply::call("slow_lookup", json!({})))
        .reply(Reply::text("Found it.").created_after(Duration::from_millis(30)))
        .start()
        .await;
    // The tool records how long its body really took (60 ms, or more on a loaded machine).
    let ran = std::sync::Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let ran_in_tool = ran.clone();
    let lookup = tool_fn_without_context(
        "slow_lookup",
        "Looks something up, slowly.",
        move |_: Nothing| {
            let ran = ran_in_tool.clone();
            async move {
                let start = Instant::now();
                tokio::time::sleep(Duration::from_millis(60)).await;
                *ran.lock().unwrap() = start.elapsed();
                Ok::<_, BoxError>("found")
            }
        },
    );
    let mut agent = start(&server, |b| b.tool(lookup)).await;
    let sent = Instant::now();
    agent.handle.send_text("Look it up.").await.unwrap();
    let metrics = turn_metrics(&mut agent.events).await;
    let idle = Instant::now();
    assert_eq!(metrics.trigger, TurnTrigger::Text);
    assert_eq!(metrics.turn, 1);
    assert_eq!(metrics.tools.len(), 1);
    let tool = &metrics.tools[0];
    assert_eq!(
        (tool.name.as_str(), tool.status),
        ("slow_lookup", ToolStatus::Ok)
    );
    let ran = *ran.lock().unwrap();
    assert!(ran >= Duration::from_millis(60));
    // The agent's figure also holds the hop from the tool's task back to the loop.
    assert!(
        tool.duration >= ran
            && tool.duration <= ran + TOLERANCE + 2 * (ran - Duration::from_millis(60)),
        "tool: reported {:?}, the tool ran {ran:?}",
        tool.duration
    );
    assert!(metrics.response_created.unwrap() < tool.duration);
    assert!(metrics.first_text.unwrap() > tool.duration + Duration::from_millis(30));
    assert_eq!(
        (metrics.first_audio, metrics.first_audio_played),
        (None, None)
    );
    assert!(metrics.total >= metrics.first_text.unwrap());
    assert!(metrics.total <= idle - sent);
    agent.stop().await;
}

/// A turn the user cuts short is reported at once, marked interrupted, and the next turn gets
/// the next number.
#[tokio::test]
async fn a_barge_in_reports_the_open_turn_as_interrupted() {
    let server = FakeServer::builder()
        .reply(Reply::audio("A long answer.", pcm_tone(2000)))
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
    agent.handle.send_text("Talk.").await.unwrap();
    let deadline = Instant::now() + WAIT;
    while player.queued() < 48_000 {
        assert!(Instant::now() < deadline, "the audio never arrived");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    player.advance_ms(200);
    server.speech_started();
    let first = turn_metrics(&mut agent.events).await;
    assert_eq!((first.turn, first.interrupted), (1, true));
    assert!(first.first_audio_played.is_some());
    server.speech_stopped();
    wait_for(&mut agent.events, "second turn's answer", |e| {
        matches!(e, AgentEvent::ResponseDone { .. })
    })
    .await;
    player.advance_ms(60_000);
    let second = turn_metrics(&mut agent.events).await;
    assert_eq!(
        (second.turn, second.trigger, second.interrupted),
        (2, TurnTrigger::SpeechStopped, false)
    );
    agent.stop().await;
}
