//! The capture path with and without the echo canceller: CPU per minute of two-way audio, and
//! the latency the canceller adds.
//!
//! A device at 48 kHz stereo (DEVICE=24k-mono for 24 kHz mono) delivers 10 ms callbacks; the
//! speaker renders espeak-ng speech at the same time (a [`ChannelSink`] pulled 10 ms per
//! callback, so the canceller's far end is real), and the microphone hears it 100 ms later at
//! -10 dB. Each callback goes through the [`CaptureEncoder`] (mix, the canceller, resampling,
//! PCM16, 20 ms frames) as in the microphone source. CPU is the thread's own (`/proc`).
//!
//! Latency: the audio time between a sample entering the encoder and leaving it in a frame
//! (frames come out when the callback completing them arrives, plus any delay inside), the
//! inside delay found by cross-correlating output and input with the far end silent.
//!
//! Run: `cargo bench --bench echo_path` (needs espeak-ng).

use std::time::Duration;

use realtime_agent::audio::{
    Aec3Canceller, AudioSink, CaptureEncoder, ChannelSink, StreamResampler, pcm,
};
use realtime_agent::protocol::AudioFormat;

/// CPU seconds this thread has used (`/proc/thread-self/schedstat`).
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse::<u64>().ok())
        .unwrap_or(0) as f64
        / 1e9
}

/// espeak-ng speech at `rate`, -1..1.
fn speech(text: &str, rate: u32) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    let ok = std::process::Command::new("espeak-ng")
        .args(["-s", "160", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng is needed: apt-get install espeak-ng")
        .success();
    assert!(ok, "espeak-ng failed");
    let mut reader = hound::WavReader::open(&path).unwrap();
    let from = reader.spec().sample_rate;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let mut resampler = StreamResampler::new(from, rate).unwrap();
    let mut out = Vec::new();
    resampler.process(&samples, &mut out);
    resampler.flush(&mut out);
    out
}

struct Run {
    cpu_per_minute: f64,
    /// Mean audio time from a sample's arrival to its frame's, in ms.
    emerge_ms: f64,
    /// The first pass's output samples, 24 kHz.
    output: Vec<f32>,
}

/// Streams `mic` (mono at `rate`, delivered as `channels`-channel callbacks) through an
/// encoder, with `far` rendered at the same time, `repeat` times over.
fn run(mic: &[f32], far: &[f32], rate: u32, channels: usize, aec: bool, repeat: usize) -> Run {
    let mut encoder = CaptureEncoder::new(rate, AudioFormat::Pcm16, 20).unwrap();
    let (mut sink, mut player) =
        ChannelSink::with_rate(AudioFormat::Pcm16, rate, Duration::from_secs(600)).unwrap();
    if aec {
        encoder.set_echo_canceller(Box::new(Aec3Canceller::new()), sink.far_end());
    }
    let far_24k: Vec<u8> = {
        let mut r = StreamResampler::new(rate, 24_000).unwrap();
        let mut out = Vec::new();
        r.process(far, &mut out);
        r.flush(&mut out);
        let mut samples = Vec::new();
        pcm::f32_slice_to_i16(&out, &mut samples);
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    };
    let callback = rate as usize / 100;
    let mut interleaved = vec![0.0f32; callback * channels];
    let mut mono = Vec::with_capacity(callback);
    let mut rendered = vec![0i16; callback];
    let mut output = Vec::new();
    let (mut frames_out, mut emerge_sum, mut emerge_n) = (0usize, 0.0f64, 0usize);
    let cpu_start = thread_cpu();
    let mut audio_s = 0.0;
    for pass in 0..repeat {
        sink.play(&format!("item_{pass}"), &far_24k).unwrap();
        for (c, chunk) in mic.chunks_exact(callback).enumerate() {
            // The speaker's callback, then the microphone's, each 10 ms.
            player.pull(&mut rendered);
            for (frame, &s) in interleaved.chunks_exact_mut(channels).zip(chunk) {
                frame.fill(s);
            }
            mono.clear();
            pcm::mix_to_mono(&interleaved, channels, &mut mono);
            encoder.push(&mono);
            while let Some(frame) = encoder.next_frame() {
                frames_out += 1;
                let arrived_ms = ((pass * mic.len() / callback + c + 1) * 10) as f64;
                emerge_sum += arrived_ms - (frames_out * 20) as f64;
                emerge_n += 1;
                if pass == 0 {
                    output.extend(pcm16(&frame));
                }
            }
        }
        audio_s += mic.len() as f64 / f64::from(rate);
        sink.stop();
    }
    Run {
        cpu_per_minute: (thread_cpu() - cpu_start) / audio_s * 60.0,
        emerge_ms: emerge_sum / emerge_n.max(1) as f64,
        output,
    }
}

fn pcm16(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
}

/// Lag in ms (0 to 40) at which `out` best matches `input` (both 24 kHz).
fn lag_ms(input: &[f32], out: &[f32]) -> f64 {
    let n = out.len().min(input.len());
    let corr = |l: usize| -> f64 {
        (l..n)
            .map(|i| f64::from(out[i]) * f64::from(input[i - l]))
            .sum()
    };
    let best = (0..24 * 40)
        .max_by(|&a, &b| corr(a).total_cmp(&corr(b)))
        .unwrap_or(0);
    best as f64 / 24.0
}

fn main() {
    let (rate, channels): (u32, usize) = match std::env::var("DEVICE").as_deref() {
        Ok("24k-mono") => (24_000, 1),
        _ => (48_000, 2),
    };
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let far = speech(
        "Here is the long answer you asked for. The weather today is mild with a light breeze \
         from the west, and tomorrow brings some rain in the afternoon. If you are planning a \
         walk, the morning is the best time, while the evening stays cool and clear.",
        rate,
    );
    let delay = rate as usize / 10;
    let mic: Vec<f32> = (0..far.len())
        .map(|i| i.checked_sub(delay).map_or(0.0, |j| 0.316 * far[j]))
        .collect();
    let seconds = far.len() as f64 / f64::from(rate);
    println!(
        "capture path, device {rate} Hz x {channels}, {seconds:.1} s of two-way speech x {repeat} \
         (echo 100 ms, -10 dB):"
    );
    let mut results = Vec::new();
    for aec in [false, true] {
        let two_way = run(&mic, &far, rate, channels, aec, repeat);
        // Latency: the near end alone (the far end silent), input against output at 24 kHz.
        let talker = speech(
            "Wait, stop, I have a different question about the train.",
            rate,
        );
        let silent = vec![0.0f32; talker.len()];
        let near_only = run(&talker, &silent, rate, channels, aec, 1);
        let mut talker_24k = Vec::new();
        let mut r = StreamResampler::new(rate, 24_000).unwrap();
        r.process(&talker, &mut talker_24k);
        let inside = lag_ms(&talker_24k, &near_only.output);
        println!(
            "  echo cancellation {:<3}: {:.3} CPU-s per audio minute; frames out {:.1} ms after \
             their last sample arrives, content delayed {:.1} ms inside: {:.1} ms in all",
            if aec { "on" } else { "off" },
            two_way.cpu_per_minute,
            near_only.emerge_ms,
            inside,
            near_only.emerge_ms + inside,
        );
        results.push((two_way.cpu_per_minute, near_only.emerge_ms + inside));
    }
    println!(
        "  the canceller adds {:.3} CPU-s per audio minute and {:.1} ms of latency",
        results[1].0 - results[0].0,
        results[1].1 - results[0].1
    );
}
