//! CPU time per minute of audio for the audio layer's part of the path, both ways, and the
//! buffering it adds. Run with `cargo bench --bench audio_path`.
//!
//! Each figure is the single-threaded time to convert one minute of audio (best of several
//! runs, no I/O, no waiting), so it is the CPU cost of one real-time stream: 60 ms per minute
//! is 0.1% of one core.
//!
//! - capture: 48 kHz stereo `f32` in 10 ms device callbacks (what a microphone gives) → mono mix
//!   → resample → encode → 20 ms session frames (PCM16 24 kHz, or G.711 8 kHz);
//! - playback: session audio in 100 ms deltas → decode → resample → the playback ring → 10 ms
//!   device callbacks writing 48 kHz stereo `f32` (what a speaker takes);
//! - G.711 alone: encoding and decoding one minute of 8 kHz samples.

use std::hint::black_box;
use std::time::{Duration, Instant};

use realtime_agent::audio::codec;
use realtime_agent::audio::g711;
use realtime_agent::audio::pcm::{i16_to_f32, mix_to_mono};
use realtime_agent::audio::{AudioSink, CaptureEncoder, ChannelSink, playback};
use realtime_agent::protocol::AudioFormat;

const DEVICE_RATE: u32 = 48_000;
const SECONDS: usize = 60;
const RUNS: usize = 5;

fn tone(freq: f32, rate: u32, seconds: usize) -> Vec<f32> {
    (0..rate as usize * seconds)
        .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
        .collect()
}

/// The best time of `RUNS` runs of `work`.
fn best(mut work: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn report(what: &str, per_minute: Duration) {
    let share = per_minute.as_secs_f64() / 60.0 * 100.0;
    println!(
        "{what:<58} {:>8.2} ms per minute of audio  ({share:.4}% of one core)",
        per_minute.as_secs_f64() * 1000.0
    );
}

fn capture(format: AudioFormat, rate: u32, channels: usize) -> Duration {
    let mono = tone(440.0, rate, SECONDS);
    let device: Vec<f32> = mono
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, channels))
        .collect();
    let callback = rate as usize / 100 * channels;
    best(|| {
        let mut encoder = CaptureEncoder::new(rate, format, 20).unwrap();
        let mut mixed = Vec::with_capacity(callback);
        let mut frames = 0;
        for block in device.chunks(callback) {
            mixed.clear();
            mix_to_mono(block, channels, &mut mixed);
            encoder.push(&mixed);
            while let Some(frame) = encoder.next_frame() {
                frames += 1;
                black_box(frame);
            }
        }
        assert!(frames >= SECONDS * 50 - 2);
    })
}

fn playback(format: AudioFormat) -> Duration {
    let pcm = tone(440.0, 24_000, SECONDS)
        .iter()
        .flat_map(|&s| ((s * 32767.0) as i16).to_le_bytes())
        .collect::<Vec<u8>>();
    let audio = codec::convert(&pcm, AudioFormat::Pcm16, format).unwrap();
    let delta = format.bytes_for_ms(100);
    let callback_frames = DEVICE_RATE as usize / 100;
    best(|| {
        let (mut sink, mut player) =
            ChannelSink::with_rate(format, DEVICE_RATE, playback::DEFAULT_CAPACITY).unwrap();
        let mut mono = vec![0i16; callback_frames];
        let mut device = vec![0f32; callback_frames * 2];
        let mut rendered = 0;
        for piece in audio.chunks(delta) {
            sink.play("item", piece).unwrap();
            // The device takes 100 ms for every 100 ms delta, in 10 ms callbacks.
            for _ in 0..10 {
                rendered += player.pull(&mut mono);
                for (frame, &s) in device.chunks_exact_mut(2).zip(&mono) {
                    frame.fill(i16_to_f32(s));
                }
                black_box(&device);
            }
        }
        assert!(rendered > (SECONDS - 1) * DEVICE_RATE as usize);
    })
}

fn g711_encode(encode: fn(i16) -> u8) -> Duration {
    let samples: Vec<i16> = tone(440.0, 8_000, SECONDS)
        .iter()
        .map(|&s| (s * 32767.0) as i16)
        .collect();
    best(|| {
        let codes: Vec<u8> = samples.iter().map(|&s| encode(black_box(s))).collect();
        black_box(codes);
    })
}

fn g711_decode(decode: fn(u8) -> i16) -> Duration {
    let codes: Vec<u8> = (0..8_000 * SECONDS).map(|i| (i % 256) as u8).collect();
    best(|| {
        let samples: Vec<i16> = codes.iter().map(|&c| decode(black_box(c))).collect();
        black_box(samples);
    })
}

/// Input needed before the first 20 ms frame comes out of the capture path.
fn capture_buffering() -> Duration {
    let mut encoder = CaptureEncoder::new(DEVICE_RATE, AudioFormat::Pcm16, 20).unwrap();
    let block = vec![0.1f32; DEVICE_RATE as usize / 1000];
    let mut ms = 0;
    while encoder.next_frame().is_none() {
        encoder.push(&block);
        ms += 1;
    }
    Duration::from_millis(ms)
}

/// Audio of a first 20 ms delta that the playback path holds back (resampler) instead of
/// handing to the device at once.
fn playback_buffering() -> Duration {
    let (mut sink, player) =
        ChannelSink::with_rate(AudioFormat::Pcm16, DEVICE_RATE, playback::DEFAULT_CAPACITY)
            .unwrap();
    sink.play("item", &vec![1u8; AudioFormat::Pcm16.bytes_for_ms(20)])
        .unwrap();
    let ready_ms = player.queued() as u64 * 1000 / u64::from(DEVICE_RATE);
    Duration::from_millis(20 - ready_ms.min(20))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    println!("audio layer, CPU time per minute of audio (best of {RUNS} runs)");
    report(
        "capture 48k stereo f32 -> PCM16 24k 20 ms frames",
        capture(AudioFormat::Pcm16, DEVICE_RATE, 2),
    );
    report(
        "capture 24k mono f32 (device at session rate) -> PCM16",
        capture(AudioFormat::Pcm16, 24_000, 1),
    );
    report(
        "capture 48k stereo f32 -> G.711 mu-law 8k 20 ms frames",
        capture(AudioFormat::G711Ulaw, DEVICE_RATE, 2),
    );
    report(
        "playback PCM16 24k deltas -> 48k stereo f32 callbacks",
        playback(AudioFormat::Pcm16),
    );
    report(
        "playback G.711 A-law 8k deltas -> 48k stereo f32 callbacks",
        playback(AudioFormat::G711Alaw),
    );
    report(
        "G.711 mu-law encode (8k samples)",
        g711_encode(g711::ulaw_encode),
    );
    report("G.711 mu-law decode", g711_decode(g711::ulaw_decode));
    report("G.711 A-law encode", g711_encode(g711::alaw_encode));
    report("G.711 A-law decode", g711_decode(g711::alaw_decode));
    println!("buffering added by the audio layer (48 kHz device):");
    println!(
        "  capture: first 20 ms frame after {:?} of microphone input",
        capture_buffering()
    );
    println!(
        "  playback: {:?} of a first 20 ms PCM16 delta held back by the resampler",
        playback_buffering()
    );
}
