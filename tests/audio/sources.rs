//! In-memory sources, half-duplex gating and the echo-canceller hook.

use std::time::Duration;

use realtime_agent::audio::{
    AudioSink, AudioSource, CaptureEncoder, ChannelSink, ChannelSource, HalfDuplexSource,
};
use realtime_agent::protocol::AudioFormat;

use crate::support::{block_on, f32_to_pcm16, measure_frequency, pcm16_to_f32, read_all, tone};

/// An app pushes 48 kHz stereo `f32` in odd pieces; the source yields 24 kHz PCM16 frames of
/// the same duration and pitch, and ends after the feeder is dropped.
#[test]
fn channel_source_converts_pushed_audio() {
    let (mut source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 8).unwrap();
    let mono = tone(440.0, 48_000, 1.0, 0.5);
    let stereo: Vec<f32> = mono.iter().flat_map(|&s| [s, s]).collect();
    let frames = block_on(async move {
        let pushing = async move {
            for piece in stereo.chunks(2 * 777) {
                feeder.push_f32(piece, 48_000, 2).await.unwrap();
            }
        };
        let reading = async {
            let mut frames = Vec::new();
            while let Some(frame) = source.next_frame().await.unwrap() {
                frames.push(frame);
            }
            frames
        };
        tokio::join!(pushing, reading).1
    });
    assert!(frames.iter().all(|f| f.len() == 960));
    let bytes = frames.concat();
    assert_eq!(bytes.len(), 48_000);
    let freq = measure_frequency(&pcm16_to_f32(&bytes), 24_000, 480);
    assert!((freq - 440.0).abs() < 0.5, "{freq} Hz");
}

/// Bytes already in the session format pass through untouched, after earlier PCM.
#[test]
fn channel_source_passes_encoded_bytes_through() {
    let (mut source, feeder) = ChannelSource::new(AudioFormat::G711Ulaw, 20, 4).unwrap();
    let bytes: Vec<u8> = (0..400u32).map(|i| (i * 7 % 256) as u8).collect();
    feeder.try_push_encoded(&bytes).unwrap();
    drop(feeder);
    let frames = read_all(&mut source);
    assert_eq!(
        frames.iter().map(Vec::len).collect::<Vec<_>>(),
        [160, 160, 80]
    );
    assert_eq!(frames.concat(), bytes);
}

/// A full queue says so instead of waiting or growing; bad shapes are refused.
#[test]
fn channel_feeder_reports_full_queue_and_bad_input() {
    let (_source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 1).unwrap();
    feeder.try_push_f32(&[0.0; 10], 24_000, 1).unwrap();
    let err = feeder.try_push_f32(&[0.0; 10], 24_000, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the audio queue is full; the audio was not queued"
    );
    let err = feeder.try_push_f32(&[0.0; 10], 0, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid audio parameter: pushed audio at 0 Hz with 1 channels"
    );
}

/// Half-duplex drops microphone frames while the assistant plays and within the tail, and
/// passes them again after a stop or when switched off.
#[test]
fn half_duplex_holds_the_microphone_while_playing() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let (source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 64).unwrap();
    let mut gated = HalfDuplexSource::new(
        source,
        AudioFormat::Pcm16,
        sink.monitor().unwrap(),
        Duration::from_secs(60),
    );
    let frame = |value: u8| vec![value; 960];
    let speech = f32_to_pcm16(&tone(440.0, 24_000, 0.2, 0.5));
    block_on(async {
        // The gate decides when a frame is read: read (until nothing passes) after each step.
        let wait = Duration::from_millis(50);
        sink.play("item_1", &speech).unwrap();
        feeder
            .push_encoded(&[frame(1), frame(2)].concat())
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(wait, gated.next_frame())
                .await
                .is_err()
        );
        assert_eq!(gated.held_back_ms(), 40, "held back while playing");

        player.advance_ms(200);
        assert!(!sink.is_playing());
        feeder.push_encoded(&frame(3)).await.unwrap();
        assert!(
            tokio::time::timeout(wait, gated.next_frame())
                .await
                .is_err()
        );
        assert_eq!(gated.held_back_ms(), 60, "held back within the tail");

        sink.play("item_2", &speech).unwrap();
        sink.stop();
        feeder.push_encoded(&frame(4)).await.unwrap();
        assert_eq!(
            gated.next_frame().await.unwrap().unwrap(),
            frame(4),
            "open after a stop"
        );

        sink.play("item_3", &speech).unwrap();
        gated.set_enabled(false);
        feeder.push_encoded(&frame(5)).await.unwrap();
        assert_eq!(
            gated.next_frame().await.unwrap().unwrap(),
            frame(5),
            "gate off: passes"
        );
        assert_eq!(gated.held_back_ms(), 60);
    });
}

/// The echo hook sees each block of captured audio with the playback signal rendered since,
/// and what it does to the captured audio is what gets sent.
#[test]
fn echo_canceller_sees_capture_and_playback() {
    let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16).unwrap();
    let far_end = sink.far_end().unwrap();
    let mut encoder = CaptureEncoder::new(24_000, AudioFormat::Pcm16, 20).unwrap();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    encoder.set_echo_canceller(
        Box::new(
            move |near: &mut [f32], near_rate: u32, far: &[i16], far_rate: u32| {
                seen_tx
                    .send((near.len(), near_rate, far.to_vec(), far_rate))
                    .unwrap();
                near.fill(0.0);
            },
        ),
        Some(far_end),
    );
    sink.play("item_1", &f32_to_pcm16(&tone(440.0, 24_000, 0.01, 0.5)))
        .unwrap();
    let mut rendered = vec![0i16; 240];
    player.pull(&mut rendered);
    encoder.push(&tone(300.0, 24_000, 0.02, 0.5));
    let (near_len, near_rate, far, far_rate) = seen_rx.try_recv().unwrap();
    assert_eq!((near_len, near_rate, far_rate), (480, 24_000, 24_000));
    assert_eq!(far, rendered);
    let frame = encoder.next_frame().unwrap();
    assert!(
        frame.iter().all(|&b| b == 0),
        "the canceller's output is what is sent"
    );
}

/// The shipped canceller in the capture path: a 48 kHz microphone hearing a sink's playback
/// 120 ms later at -8 dB sends (after 4 s to converge) at least 25 dB less of it upstream.
#[cfg(feature = "aec")]
#[test]
fn aec3_removes_the_playback_echo_from_the_frames() {
    use realtime_agent::audio::Aec3Canceller;
    let rate = 48_000u32;
    let (mut sink, mut player) =
        ChannelSink::with_rate(AudioFormat::Pcm16, rate, Duration::from_secs(60)).unwrap();
    let mut encoder = CaptureEncoder::new(rate, AudioFormat::Pcm16, 20).unwrap();
    encoder.set_echo_canceller(Box::new(Aec3Canceller::new()), sink.far_end());
    // Speech-like playback: harmonics of a gliding pitch under a syllable envelope.
    let seconds = 8.0;
    let voice: Vec<f32> = (0..(24_000.0 * seconds) as usize)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            let env = (std::f32::consts::PI * 3.0 * t).sin().abs();
            let f0 = 140.0 + 30.0 * (0.7 * t).sin();
            (1..6)
                .map(|h| (std::f32::consts::TAU * f0 * h as f32 * t).sin() / h as f32)
                .sum::<f32>()
                * 0.2
                * env
        })
        .collect();
    sink.play("item_1", &f32_to_pcm16(&voice)).unwrap();
    let delay = rate as usize * 120 / 1000;
    let mut history: Vec<f32> = vec![0.0; delay];
    let mut rendered = vec![0i16; rate as usize / 100];
    let (mut mic_power, mut sent_power, mut n) = (0.0f64, 0.0f64, 0usize);
    for callback in 0..(seconds * 100.0) as usize {
        player.pull(&mut rendered);
        history.extend(rendered.iter().map(|&s| f32::from(s) / 32768.0));
        let mic: Vec<f32> = history.drain(..rendered.len()).map(|s| 0.4 * s).collect();
        encoder.push(&mic);
        let late = callback >= 400;
        if late {
            mic_power += mic.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 2.0;
        }
        while let Some(frame) = encoder.next_frame() {
            if late {
                sent_power += pcm16_to_f32(&frame)
                    .iter()
                    .map(|&s| f64::from(s).powi(2))
                    .sum::<f64>();
                n += 1;
            }
        }
    }
    assert!(n > 150, "{n} frames after 4 s");
    let erle = 10.0 * (mic_power / sent_power.max(1e-12)).log10();
    assert!(erle >= 25.0, "ERLE {erle:.1} dB");
}
