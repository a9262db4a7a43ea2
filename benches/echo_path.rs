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
//! Conversation: the same path when the two ends take turns, as in a session: the assistant
//! answers (espeak-ng, played as items when its turn comes), the user talks (espeak-ng too,
//! 6 dB down, into the microphone), with pauses between (a tool running, the user thinking). The
//! canceller leaves AEC3 out while the far end has been silent for long enough, so this costs
//! less than the same time of continuous two-way speech.
//!
//! Run: `cargo bench --bench echo_path` (needs espeak-ng). `PART=continuous` or
//! `PART=conversation` runs one part, `REPEAT=n` streams each signal n times (3).

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
    run_turns(mic, &[(0, far.to_vec())], rate, channels, aec, repeat)
}

/// [`run`] with the far end in `turns`: each (start sample, speech) played as an item when the
/// microphone reaches its start, the speaker rendering silence between them.
fn run_turns(
    mic: &[f32],
    turns: &[(usize, Vec<f32>)],
    rate: u32,
    channels: usize,
    aec: bool,
    repeat: usize,
) -> Run {
    let mut encoder = CaptureEncoder::new(rate, AudioFormat::Pcm16, 20).unwrap();
    let (mut sink, mut player) =
        ChannelSink::with_rate(AudioFormat::Pcm16, rate, Duration::from_secs(600)).unwrap();
    if aec {
        encoder.set_echo_canceller(Box::new(Aec3Canceller::new()), sink.far_end());
    }
    let items: Vec<(usize, Vec<u8>)> = turns
        .iter()
        .map(|(start, far)| {
            let mut r = StreamResampler::new(rate, 24_000).unwrap();
            let mut out = Vec::new();
            r.process(far, &mut out);
            r.flush(&mut out);
            let mut samples = Vec::new();
            pcm::f32_slice_to_i16(&out, &mut samples);
            (
                *start,
                samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
            )
        })
        .collect();
    let callback = rate as usize / 100;
    let mut interleaved = vec![0.0f32; callback * channels];
    let mut mono = Vec::with_capacity(callback);
    let mut rendered = vec![0i16; callback];
    let mut output = Vec::new();
    let (mut frames_out, mut emerge_sum, mut emerge_n) = (0usize, 0.0f64, 0usize);
    let cpu_start = thread_cpu();
    let mut audio_s = 0.0;
    for pass in 0..repeat {
        for (c, chunk) in mic.chunks_exact(callback).enumerate() {
            for (t, (_, item)) in items
                .iter()
                .enumerate()
                .filter(|(_, (s, _))| s / callback == c)
            {
                sink.play(&format!("item_{pass}_{t}"), item).unwrap();
            }
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
    let part = std::env::var("PART").unwrap_or_default();
    if part != "conversation" {
        continuous(rate, channels, repeat);
    }
    if part != "continuous" {
        conversation(rate, channels, repeat);
    }
}

/// Both ends talk all the time: the assistant's answer, and its echo in the microphone.
fn continuous(rate: u32, channels: usize, repeat: usize) {
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

/// Turns as in a session: the assistant answers, a pause, the user talks, a tool runs, and so on.
fn conversation(rate: u32, channels: usize, repeat: usize) {
    let s = |seconds: f64| (seconds * f64::from(rate)) as usize;
    // (who, what, the pause after it in s)
    let script: [(bool, &str, f64); 6] = [
        (
            true,
            "Sure. The weather today is mild with a light breeze from the west.",
            1.2,
        ),
        (false, "And what about tomorrow, will it rain?", 2.5),
        (
            true,
            "Tomorrow brings some rain in the afternoon. If you are planning a walk, the \
             morning is the best time, while the evening stays cool and clear.",
            1.0,
        ),
        (
            false,
            "Then book me a table for lunch at noon, please.",
            3.0,
        ),
        (
            true,
            "Done: a table for two at noon, at the place by the river.",
            1.5,
        ),
        (false, "Thanks, that is all.", 2.0),
    ];
    let mut turns = Vec::new();
    let mut mic = Vec::new();
    let mut far_talks = 0;
    for (assistant, words, pause) in script {
        let start = mic.len();
        if assistant {
            let far = speech(words, rate);
            far_talks += far.len();
            mic.resize(start + far.len(), 0.0);
            turns.push((start, far));
        } else {
            mic.extend(speech(words, rate).iter().map(|s| 0.5 * s));
        }
        mic.resize(mic.len() + s(pause), 0.0);
    }
    // The echo: every turn 100 ms later at -10 dB, over the user's voice.
    let delay = rate as usize / 10;
    for (start, far) in &turns {
        for (i, &x) in far.iter().enumerate() {
            if let Some(m) = mic.get_mut(start + delay + i) {
                *m += 0.316 * x;
            }
        }
    }
    let seconds = mic.len() as f64 / f64::from(rate);
    println!(
        "conversation, device {rate} Hz x {channels}, {seconds:.1} s x {repeat}: the assistant \
         talks {:.0}% of the time (espeak-ng, played as items), {} turns each, pauses 1-3 s:",
        100.0 * far_talks as f64 / mic.len() as f64,
        turns.len()
    );
    let off = run_turns(&mic, &turns, rate, channels, false, repeat).cpu_per_minute;
    let on = run_turns(&mic, &turns, rate, channels, true, repeat).cpu_per_minute;
    println!(
        "  echo cancellation off: {off:.3}, on: {on:.3} CPU-s per audio minute (the canceller \
         adds {:.3})",
        on - off
    );
}
