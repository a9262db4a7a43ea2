//! The two pure-Rust ports of WebRTC's AEC3 on one offline test, to choose the echo canceller.
//!
//! Far end: espeak-ng speech (about 23 s). Echo path: a delay (60 or 150 ms), a laptop-like
//! gain (-6 dB), a small speaker's band limit (one-pole high-pass at 200 Hz, low-pass at
//! 5 kHz) and two weak reflections, plus a -70 dBFS noise floor. Near end: another espeak-ng
//! voice starting at 10 s (double talk). Everything runs at 16 kHz mono, each canceller fed its
//! own block size (`sonora-aec3`: 64-sample blocks; `aec3`: 10 ms frames).
//!
//! Printed per canceller and delay:
//! - ERLE after 2 s: echo power over output power while only the far end talks (2 s to 10 s);
//! - convergence: the start of the first 100 ms window from which every window with echo in it
//!   has at least 20 dB of ERLE until the near end starts;
//! - near-end level change during double talk (output minus near-end alone, dB);
//! - CPU seconds per minute of audio (the thread's own CPU time in the processing calls);
//! - latency: the canceller's block (worst-case buffering) plus its processing lag, found by
//!   cross-correlating output and input with the near end alone and no far end.
//!
//! Run: `cargo bench --bench echo_candidates` (needs espeak-ng).

use realtime_agent::audio::StreamResampler;

const RATE: usize = 16_000;
const NEAR_START_S: f64 = 10.0;

/// One canceller under test, fed near and far blocks of its own size.
trait Candidate {
    fn name(&self) -> &'static str;
    /// Samples per call.
    fn block(&self) -> usize;
    /// Cancels the echo of `far` (int16-scale samples) in `near`, in place.
    fn process(&mut self, near: &mut [f32], far: &[f32]);
}

struct Sonora {
    processor: sonora_aec3::block_processor::BlockProcessor,
    render: sonora_aec3::block::Block,
    capture: sonora_aec3::block::Block,
}

impl Sonora {
    fn new() -> Self {
        let config = sonora_aec3::config::EchoCanceller3Config::default();
        Self {
            processor: sonora_aec3::block_processor::BlockProcessor::new(&config, RATE, 1, 1),
            render: sonora_aec3::block::Block::new(1, 1),
            capture: sonora_aec3::block::Block::new(1, 1),
        }
    }
}

impl Candidate for Sonora {
    fn name(&self) -> &'static str {
        "sonora-aec3 0.2.0"
    }
    fn block(&self) -> usize {
        64
    }
    fn process(&mut self, near: &mut [f32], far: &[f32]) {
        self.render.view_mut(0, 0).copy_from_slice(far);
        self.processor.buffer_render(&self.render);
        self.capture.view_mut(0, 0).copy_from_slice(near);
        self.processor
            .process_capture(false, false, None, &mut self.capture);
        near.copy_from_slice(self.capture.view(0, 0));
    }
}

struct Aec3Crate {
    canceller: aec3::audio_processing::aec3::echo_canceller3::EchoCanceller3,
    render: aec3::audio_processing::audio_buffer::AudioBuffer,
    capture: aec3::audio_processing::audio_buffer::AudioBuffer,
}

impl Aec3Crate {
    fn new() -> Self {
        use aec3::audio_processing::audio_buffer::AudioBuffer;
        Self {
            canceller: aec3::audio_processing::aec3::echo_canceller3::EchoCanceller3::new(
                aec3::api::config::EchoCanceller3Config::default(),
                RATE as i32,
                1,
                1,
            ),
            render: AudioBuffer::from_sample_rates(RATE, 1, RATE, 1, RATE),
            capture: AudioBuffer::from_sample_rates(RATE, 1, RATE, 1, RATE),
        }
    }
}

impl Candidate for Aec3Crate {
    fn name(&self) -> &'static str {
        "aec3 0.4.0"
    }
    fn block(&self) -> usize {
        RATE / 100
    }
    fn process(&mut self, near: &mut [f32], far: &[f32]) {
        use aec3::api::control::EchoControl;
        self.render.channel_mut(0).copy_from_slice(far);
        self.canceller.analyze_render(&mut self.render);
        self.capture.channel_mut(0).copy_from_slice(near);
        self.canceller.analyze_capture(&mut self.capture);
        self.canceller.process_capture(&mut self.capture, false);
        near.copy_from_slice(self.capture.channel(0));
    }
}

/// espeak-ng speech at 16 kHz, int16 scale.
fn speech(voice: &str, words: &str, dir: &std::path::Path, name: &str) -> Vec<f32> {
    let path = dir.join(name);
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "160", "-w"])
        .arg(&path)
        .arg(words)
        .status()
        .expect("espeak-ng is needed: apt-get install espeak-ng")
        .success();
    assert!(ok, "espeak-ng failed");
    let mut reader = hound::WavReader::open(&path).unwrap();
    let rate = reader.spec().sample_rate;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let mut resampler = StreamResampler::new(rate, RATE as u32).unwrap();
    let mut out = Vec::new();
    resampler.process(&samples, &mut out);
    resampler.flush(&mut out);
    out.iter().map(|s| s * 32768.0).collect()
}

/// The loudspeaker-to-microphone path of a laptop: delay, gain, band limit, two reflections.
fn echo_path(far: &[f32], delay_ms: usize) -> Vec<f32> {
    let delay = delay_ms * RATE / 1000;
    let mut out = vec![0.0f32; far.len()];
    let (mut hp_prev_in, mut hp_prev_out, mut lp) = (0.0f32, 0.0f32, 0.0f32);
    let hp_a = (-std::f32::consts::TAU * 200.0 / RATE as f32).exp();
    let lp_a = (-std::f32::consts::TAU * 5000.0 / RATE as f32).exp();
    let mut shaped = vec![0.0f32; far.len()];
    for (i, &x) in far.iter().enumerate() {
        let hp = hp_a * (hp_prev_out + x - hp_prev_in);
        hp_prev_in = x;
        hp_prev_out = hp;
        lp = lp_a * lp + (1.0 - lp_a) * hp;
        shaped[i] = lp;
    }
    let reflections = [
        (0usize, 0.5f32),
        (RATE * 7 / 1000, 0.12),
        (RATE * 19 / 1000, 0.05),
    ];
    for (i, o) in out.iter_mut().enumerate() {
        for &(extra, gain) in &reflections {
            if let Some(j) = i.checked_sub(delay + extra) {
                *o += gain * shaped[j];
            }
        }
    }
    out
}

fn power(x: &[f32]) -> f64 {
    x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-12).log10()
}

/// CPU seconds this thread has used (`/proc/thread-self/schedstat`), so that other load on the
/// machine does not count.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse::<u64>().ok())
        .unwrap_or(0) as f64
        / 1e9
}

/// Runs `candidate` over the whole signal; returns the output and CPU seconds spent.
fn run(candidate: &mut dyn Candidate, near_in: &[f32], far: &[f32]) -> (Vec<f32>, f64) {
    let block = candidate.block();
    let blocks = near_in.len() / block;
    let mut out = near_in[..blocks * block].to_vec();
    let start = thread_cpu();
    for b in 0..blocks {
        let range = b * block..(b + 1) * block;
        candidate.process(&mut out[range.clone()], &far[range]);
    }
    (out, thread_cpu() - start)
}

/// Lag (in samples, 0 to 40 ms) at which `out` best matches `input`.
fn lag(input: &[f32], out: &[f32]) -> usize {
    let n = out.len().min(input.len());
    (0..RATE * 40 / 1000)
        .max_by(|&a, &b| {
            let c = |l: usize| -> f64 {
                (l..n)
                    .map(|i| f64::from(out[i]) * f64::from(input[i - l]))
                    .sum()
            };
            c(a).total_cmp(&c(b))
        })
        .unwrap_or(0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let far = speech(
        "en-us",
        "Sure. Here is a longer answer so that the echo canceller has real speech to work \
         with. The weather today is mild with a light breeze from the west, and tomorrow \
         brings some rain in the afternoon. If you are planning a walk, the morning is the \
         best time, while the evening stays cool and clear. Let me know if you want the \
         forecast for the weekend as well, or the times of sunrise and sunset.",
        dir.path(),
        "far.wav",
    );
    let talker = speech(
        "en-gb+m3",
        "Wait, stop, I have a different question about the train to the city.",
        dir.path(),
        "near.wav",
    );
    let len = far.len();
    let near_start = (NEAR_START_S * RATE as f64) as usize;
    let mut near_only = vec![0.0f32; len];
    for (i, &s) in talker.iter().enumerate() {
        if near_start + i < len {
            near_only[near_start + i] = s;
        }
    }
    let mut noise = 0x2545_f491_u32;
    let floor: Vec<f32> = (0..len)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            (noise as f32 / u32::MAX as f32 - 0.5) * 2.0 * 32768.0 * 10f32.powf(-70.0 / 20.0)
        })
        .collect();
    let audio_s = len as f64 / RATE as f64;
    println!(
        "far end {audio_s:.1} s of espeak-ng speech at {:.1} dBFS, near end from {NEAR_START_S} s, 16 kHz mono",
        db(power(&far) / (32768.0f64 * 32768.0))
    );
    println!(
        "| canceller | delay | ERLE after 2 s | convergence (20 dB) | near end in double talk | CPU per audio minute | block + lag |"
    );
    println!("|---|---|---|---|---|---|---|");
    for delay_ms in [60usize, 150] {
        let echo = echo_path(&far, delay_ms);
        let mic: Vec<f32> = (0..len)
            .map(|i| echo[i] + near_only[i] + floor[i])
            .collect();
        let candidates: Vec<Box<dyn Candidate>> =
            vec![Box::new(Sonora::new()), Box::new(Aec3Crate::new())];
        for mut candidate in candidates {
            let (out, cpu) = run(candidate.as_mut(), &mic, &far);
            let n = out.len();
            let (from, to) = (2 * RATE, near_start.min(n));
            let erle = db(power(&echo[from..to]) / power(&out[from..to]));
            // Convergence: the first 100 ms window from which all windows with echo in them
            // (above -50 dBFS) keep 20 dB of ERLE until the near end starts.
            let window = RATE / 10;
            let active =
                |w: usize| power(&echo[w * window..(w + 1) * window]) > 32768.0f64.powi(2) * 1e-5;
            let good = |w: usize| {
                let r = w * window..(w + 1) * window;
                db(power(&echo[r.clone()]) / power(&out[r])) >= 20.0
            };
            let windows = to / window;
            let converged = (0..windows)
                .find(|&start| (start..windows).all(|w| !active(w) || good(w)))
                .map(|w| format!("{:.1} s", (w * window) as f64 / RATE as f64))
                .unwrap_or_else(|| "never".into());
            let dt = near_start..(near_start + talker.len()).min(n);
            let near_change = db(power(&out[dt.clone()]) / power(&near_only[dt]));
            // Latency: near end alone, no far end.
            let mut fresh: Box<dyn Candidate> = match candidate.name() {
                "aec3 0.4.0" => Box::new(Aec3Crate::new()),
                _ => Box::new(Sonora::new()),
            };
            let silent = vec![0.0f32; len];
            let speech_in: Vec<f32> = (0..len).map(|i| near_only[i] + floor[i]).collect();
            let (passed, _) = run(fresh.as_mut(), &speech_in, &silent);
            let lag = lag(&speech_in[near_start..], &passed[near_start..]);
            println!(
                "| {} | {delay_ms} ms | {erle:.1} dB | {converged} | {near_change:+.1} dB | {:.3} CPU-s | {:.1} + {:.1} ms |",
                candidate.name(),
                cpu / audio_s * 60.0,
                candidate.block() as f64 * 1000.0 / RATE as f64,
                lag as f64 * 1000.0 / RATE as f64,
            );
        }
    }
}
