//! The playback core through its sinks: played position per item, stop, never more than
//! received, the monitor half-duplex consults, bounded buffering, and the null sink's pacing.

use std::time::{Duration, Instant};

use realtime_agent::audio::{AudioError, AudioSink, ChannelSink, NullSink, Played, playback};
use realtime_agent::protocol::AudioFormat;

use crate::support::{f32_to_pcm16, tone};

fn pcm16_ms(ms: u64) -> Vec<u8> {
    f32_to_pcm16(&tone(440.0, 24_000, ms as f64 / 1000.0, 0.5))
}

fn played(item: &str, ms: u64) -> Option<Played> {
    Some(Played {
        item_id: item.into(),
        played_ms: ms,
    })
}

/// Stop reports what the clock played, not what was received, and nothing plays after it.
#[test]
fn stop_reports_what_was_played_and_drops_the_rest() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_1", &pcm16_ms(1000)).unwrap();
    assert!(sink.is_playing());
    assert_eq!(player.advance_ms(250), 6_000);
    assert_eq!(sink.played(), played("item_1", 250));
    assert_eq!(sink.stop(), played("item_1", 250));
    assert!(!sink.is_playing());
    // Everything queued was dropped: the player only gets silence now.
    let mut out = vec![1i16; 4_800];
    assert_eq!(player.pull(&mut out), 0);
    assert!(out.iter().all(|&s| s == 0));
    assert_eq!(sink.stop(), None, "a second stop has nothing to report");
}

/// The played amount is rounded down to whole milliseconds.
#[test]
fn played_rounds_down() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_1", &pcm16_ms(500)).unwrap();
    player.advance(2_399); // 99.958 ms
    assert_eq!(sink.stop(), played("item_1", 99));
}

/// When everything received was played, stop has nothing to truncate.
#[test]
fn fully_played_item_is_not_truncated() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_1", &pcm16_ms(100)).unwrap();
    assert_eq!(
        player.advance_ms(500),
        2_400,
        "only the received audio plays"
    );
    assert!(!sink.is_playing());
    assert_eq!(sink.stop(), None);
}

/// With two items queued, the one being heard is reported, in its own milliseconds.
#[test]
fn second_item_is_reported_in_its_own_time() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_a", &pcm16_ms(200)).unwrap();
    sink.play("item_b", &pcm16_ms(300)).unwrap();
    player.advance_ms(250);
    assert_eq!(sink.stop(), played("item_b", 50));
}

/// An item queued but not yet reached is reported as 0 ms heard.
#[test]
fn queued_item_not_reached_reports_zero() {
    let (mut sink, _player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_1", &pcm16_ms(300)).unwrap();
    assert_eq!(sink.stop(), played("item_1", 0));
}

/// After a stop the next response plays from its own start.
#[test]
fn playback_resumes_after_stop() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_1", &pcm16_ms(1000)).unwrap();
    player.advance_ms(100);
    sink.stop();
    let audio = pcm16_ms(200);
    sink.play("item_2", &audio).unwrap();
    let mut out = vec![0i16; 4_800];
    assert_eq!(player.pull(&mut out), 4_800);
    let expected: Vec<i16> = audio
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(
        out, expected,
        "item_2 plays from its first sample, byte for byte"
    );
    assert_eq!(sink.stop(), None);
}

/// G.711 audio rendered at 24 kHz: the played time maps back to the item's 8 kHz samples and
/// never exceeds what was received.
#[test]
fn g711_played_position_through_resampling() {
    let (mut sink, mut player) =
        ChannelSink::with_rate(AudioFormat::G711Ulaw, 24_000, playback::DEFAULT_CAPACITY).unwrap();
    let pcm = pcm16_ms(1000);
    let ulaw =
        realtime_agent::audio::codec::convert(&pcm, AudioFormat::Pcm16, AudioFormat::G711Ulaw)
            .unwrap();
    sink.play("item_1", &ulaw).unwrap();
    player.advance(7_200);
    assert_eq!(sink.played(), played("item_1", 300));
    // The resampler holds back its last milliseconds until the item is finished.
    assert!(player.queued() < 24_000);
    sink.finish_item("item_1").unwrap();
    assert_eq!(player.queued() + 7_200, 24_000);
    player.advance(1_000_000);
    assert_eq!(sink.stop(), None);
}

/// The monitor sees playback, the tail after it ends on its own, and no tail after a stop.
#[test]
fn monitor_tracks_playback_and_tail() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let monitor = sink.monitor().unwrap();
    assert!(!monitor.is_playing());
    assert!(
        !monitor.is_active(Duration::from_secs(60)),
        "nothing has played yet"
    );
    sink.play("item_1", &pcm16_ms(100)).unwrap();
    assert!(monitor.is_playing());
    player.advance_ms(100);
    assert!(!monitor.is_playing());
    assert!(
        monitor.is_active(Duration::from_secs(60)),
        "within the tail"
    );
    assert!(!monitor.is_active(Duration::ZERO));
    sink.play("item_2", &pcm16_ms(100)).unwrap();
    player.advance_ms(10);
    sink.stop();
    assert!(!monitor.is_playing());
    assert!(
        !monitor.is_active(Duration::from_secs(60)),
        "a stop opens the microphone at once"
    );
}

/// Audio beyond the buffer is dropped and reported; what was buffered still plays.
#[test]
fn overflow_is_bounded_and_reported() {
    let (mut sink, mut player) =
        ChannelSink::with_rate(AudioFormat::Pcm16, 24_000, Duration::from_millis(100)).unwrap();
    let err = sink.play("item_1", &pcm16_ms(150)).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::PlaybackOverflow {
                dropped_ms: 50,
                capacity_ms: 100
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "playback buffer full (100 ms): dropped 50 ms of audio"
    );
    assert_eq!(player.advance_ms(1000), 2_400);
    // 150 ms were received but only 100 ms could play: nothing is pending.
    assert_eq!(sink.stop(), None);
    // Room again after draining.
    sink.play("item_2", &pcm16_ms(100)).unwrap();
}

/// A consumer with output latency: frames count as heard only from when they reach the ear;
/// stop counts everything handed over.
#[test]
fn latency_delays_what_counts_as_heard() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    sink.play("item_1", &pcm16_ms(1000)).unwrap();
    let mut out = vec![0i16; 4_800];
    player.pull_scheduled(&mut out, Instant::now() + Duration::from_secs(30));
    assert_eq!(
        sink.played(),
        played("item_1", 0),
        "rendered but not yet heard"
    );
    player.pull_scheduled(&mut out, Instant::now() - Duration::from_secs(30));
    assert_eq!(sink.played(), played("item_1", 400), "heard long ago");
    player.pull_scheduled(&mut out, Instant::now() + Duration::from_secs(30));
    // What was handed over cannot be called back: stop counts it.
    assert_eq!(sink.stop(), played("item_1", 600));
}

/// The far-end copy for an echo canceller receives exactly what was rendered.
#[test]
fn far_end_sees_the_rendered_signal() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let mut far_end = sink.far_end().expect("first call gives the far end");
    assert!(sink.far_end().is_none());
    sink.play("item_1", &pcm16_ms(50)).unwrap();
    let mut out = vec![0i16; 2_000];
    player.pull(&mut out);
    let mut seen = Vec::new();
    far_end.drain_into(&mut seen);
    assert_eq!(seen, out);
    assert_eq!(far_end.rate(), 24_000);
}

/// A device whose output starts later than where its previous output ended played silence in
/// between (an underrun): the far end gets that much silence before the new frames, and counts
/// it; a lateness under `UNDERRUN_MIN` (timestamp jitter), an earlier start, one in the
/// stream's first half second or one over `UNDERRUN_MAX` (a stream restarted) adds nothing.
#[test]
fn far_end_dates_the_devices_underruns_with_silence() {
    let (mut queue, mut renderer) =
        playback::playback_channel(AudioFormat::Pcm16, 24_000, Duration::from_secs(5)).unwrap();
    let mut far_end = queue.take_far_end().unwrap();
    queue.play("item_1", &pcm16_ms(1000)).unwrap();
    let ms = Duration::from_millis;
    let t0 = Instant::now();
    let mut rendered = Vec::new();
    let mut seen = Vec::new();
    let mut out = vec![0i16; 240]; // 10 ms
    let mut render_at = |at: Instant, rendered: &mut Vec<i16>| {
        renderer.render(&mut out, at);
        rendered.extend_from_slice(&out);
    };
    // Late in the stream's first half second: not counted.
    render_at(t0 - ms(600), &mut rendered);
    render_at(t0 - ms(500), &mut rendered);
    for i in 0..48 {
        render_at(t0 - ms(480) + ms(10) * i, &mut rendered);
    }
    // Back to back, then 20 ms late (jitter), then 5 ms early: no underrun.
    render_at(t0, &mut rendered);
    render_at(t0 + ms(10), &mut rendered);
    render_at(t0 + ms(40), &mut rendered);
    render_at(t0 + ms(45), &mut rendered);
    far_end.drain_into(&mut seen);
    assert_eq!(far_end.underrun_frames(), 0);
    assert_eq!(seen, rendered);
    // The next output starts 55 ms after the last one ended (at 55 ms): 1320 frames of
    // silence, before the new frames.
    render_at(t0 + ms(110), &mut rendered);
    assert_eq!(far_end.underrun_frames(), 1_320);
    let before = seen.len();
    far_end.drain_into(&mut seen);
    assert_eq!(seen.len(), before + 1_320 + 240);
    assert!(seen[before..before + 1_320].iter().all(|&s| s == 0));
    assert_eq!(seen[before + 1_320..], rendered[before..]);
    assert!(seen[before + 1_320..].iter().any(|&s| s != 0));
    // Then back to back again, and a restart 2 s later.
    render_at(t0 + ms(120), &mut rendered);
    render_at(t0 + ms(2_130), &mut rendered);
    assert_eq!(far_end.underrun_frames(), 1_320);
    assert!(playback::UNDERRUN_MIN > ms(20) && playback::UNDERRUN_MIN <= ms(55));
}

/// The null sink plays in real time: not finished before the audio's duration has passed.
#[test]
fn null_sink_is_paced_in_real_time() {
    let mut sink = NullSink::new(AudioFormat::Pcm16).unwrap();
    let start = Instant::now();
    sink.play("item_1", &pcm16_ms(150)).unwrap();
    assert!(sink.is_playing());
    while sink.is_playing() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "null sink never finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(sink.stop(), None);
}

/// The null sink reports the part whose time has passed, never more than the time elapsed.
/// The items are a minute long, so a stalled test thread still stops them mid-play.
#[test]
fn null_sink_stop_reports_elapsed_time() {
    let minute = vec![0xD5; 8_000 * 60];
    let mut sink = NullSink::new(AudioFormat::G711Alaw).unwrap();
    let start = Instant::now();
    sink.play("item_1", &minute).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let played = sink.stop().expect("still playing");
    let elapsed = start.elapsed().as_millis() as u64;
    assert_eq!(played.item_id, "item_1");
    assert!(
        played.played_ms >= 100 && played.played_ms <= elapsed,
        "{played:?} after {elapsed} ms"
    );
    assert!(!sink.is_playing());
    // A new item starts now, not after the dropped audio's time: what it reports is bounded by
    // its own time, not the first item's.
    let start = Instant::now();
    sink.play("item_2", &minute).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let played = sink.stop().expect("still playing");
    let elapsed = start.elapsed().as_millis() as u64;
    assert_eq!(played.item_id, "item_2");
    assert!(
        played.played_ms >= 20 && played.played_ms <= elapsed,
        "{played:?} after {elapsed} ms"
    );
}
