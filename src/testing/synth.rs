//! Speech-like audio for the fake model's spoken replies, so that playback, barge-in and
//! WAV output have real, audible samples to work with.

use crate::protocol::AudioFormat;

/// Milliseconds of audio per character of text (about 15 characters per second, as in speech).
const MS_PER_CHAR: u64 = 65;

/// A soft tone with a syllable-like envelope, `MS_PER_CHAR` per character of `text` (at least
/// 200 ms), in `format`.
pub fn speech(text: &str, format: AudioFormat) -> Vec<u8> {
    let ms = (text.chars().count() as u64 * MS_PER_CHAR).max(200);
    let rate = format.sample_rate() as u64;
    let samples = (rate * ms / 1000) as usize;
    let mut out = Vec::with_capacity(samples * format.bytes_per_sample());
    for n in 0..samples {
        let t = n as f64 / rate as f64;
        // 4 syllables a second; each rises and falls smoothly.
        let envelope = (std::f64::consts::PI * 4.0 * t).sin().abs();
        let pitch = 180.0 + 40.0 * (std::f64::consts::TAU * 0.5 * t).sin();
        let value = 0.25 * envelope * (std::f64::consts::TAU * pitch * t).sin();
        let sample = (value * i16::MAX as f64) as i16;
        match format {
            AudioFormat::Pcm16 => out.extend_from_slice(&sample.to_le_bytes()),
            AudioFormat::G711Ulaw => out.push(crate::audio::g711::ulaw_encode(sample)),
            AudioFormat::G711Alaw => out.push(crate::audio::g711::alaw_encode(sample)),
        }
    }
    out
}
