//! Signals and measurements shared by the audio tests.

#![allow(dead_code)]

use std::f64::consts::TAU;

/// `seconds` of a sine at `freq` Hz sampled at `rate` Hz, peak `amplitude`.
pub fn tone(freq: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| (amplitude * (TAU * freq * i as f64 / f64::from(rate)).sin()) as f32)
        .collect()
}

/// The frequency of a clean tone, from its rising zero crossings (interpolated), ignoring
/// `skip` samples at each end.
pub fn measure_frequency(samples: &[f32], rate: u32, skip: usize) -> f64 {
    let s = &samples[skip..samples.len() - skip];
    let mut crossings = Vec::new();
    for i in 1..s.len() {
        let (a, b) = (f64::from(s[i - 1]), f64::from(s[i]));
        if a < 0.0 && b >= 0.0 {
            crossings.push((i - 1) as f64 + a / (a - b));
        }
    }
    assert!(
        crossings.len() > 2,
        "no tone found ({} crossings)",
        crossings.len()
    );
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f64 * f64::from(rate) / span
}

/// Root mean square.
pub fn rms(samples: &[f32]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

/// The largest difference between neighbouring samples.
pub fn max_jump(samples: &[f32]) -> f32 {
    samples
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// PCM16 little-endian bytes as `f32` samples.
pub fn pcm16_to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

/// `f32` samples as PCM16 little-endian bytes.
pub fn f32_to_pcm16(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|&s| ((s * 32767.0).round() as i16).to_le_bytes())
        .collect()
}

/// Runs a future to completion on a fresh current-thread runtime with time enabled.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Reads every frame of a source.
pub fn read_all<S: realtime_agent::audio::AudioSource>(source: &mut S) -> Vec<Vec<u8>> {
    block_on(async {
        let mut frames = Vec::new();
        while let Some(frame) = source.next_frame().await.expect("frame") {
            frames.push(frame);
        }
        frames
    })
}
