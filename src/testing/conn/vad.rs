//! A simple energy-based voice detector, so that the fake server can turn real microphone audio
//! into `speech_started` / `speech_stopped` the way the API's server VAD does (for `--sim` and
//! for tests that stream real speech).

use crate::protocol::AudioFormat;

/// What the detector saw in a chunk of audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Speech {
    Started,
    Stopped,
}

/// Speech is audio whose level stays above a threshold for a while; it ends after
/// `silence_ms` below it.
#[derive(Debug)]
pub(crate) struct SpeechDetector {
    /// RMS level (0 to 1 of full scale) above which audio counts as voice.
    threshold: f64,
    /// Voice needed before speech starts, in ms.
    onset_ms: u64,
    /// Silence that ends speech, in ms.
    silence_ms: u64,
    speaking: bool,
    voice_run_ms: u64,
    silence_run_ms: u64,
}

impl SpeechDetector {
    /// `threshold` is the API's VAD threshold (0–1; 0.5 default), mapped to an RMS level.
    pub(crate) fn new(threshold: f64, silence_ms: u64) -> Self {
        SpeechDetector {
            // 0.5 -> about -36 dBFS: quiet speech passes, room noise does not.
            threshold: 0.016 * (threshold.clamp(0.05, 1.0) / 0.5),
            onset_ms: 60,
            silence_ms: silence_ms.max(100),
            speaking: false,
            voice_run_ms: 0,
            silence_run_ms: 0,
        }
    }

    /// Feeds a chunk of audio in `format`; returns what changed, if anything.
    pub(crate) fn feed(&mut self, audio: &[u8], format: AudioFormat) -> Option<Speech> {
        let mut samples = Vec::with_capacity(audio.len());
        crate::audio::codec::decode(format, audio, &mut samples);
        let mut changed = None;
        // 10 ms windows at the format's rate.
        let window = (format.sample_rate() / 100) as usize;
        for chunk in samples.chunks(window.max(1)) {
            let ms = (chunk.len() as u64 * 1000) / format.sample_rate() as u64;
            let energy: f64 = chunk.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum();
            let rms = (energy / chunk.len() as f64).sqrt();
            if rms >= self.threshold {
                self.voice_run_ms += ms;
                self.silence_run_ms = 0;
                if !self.speaking && self.voice_run_ms >= self.onset_ms {
                    self.speaking = true;
                    changed = Some(Speech::Started);
                }
            } else {
                self.silence_run_ms += ms;
                if self.silence_run_ms >= 30 {
                    self.voice_run_ms = 0;
                }
                if self.speaking && self.silence_run_ms >= self.silence_ms {
                    self.speaking = false;
                    changed = Some(Speech::Stopped);
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize, amplitude: f64) -> Vec<u8> {
        let n = 24 * ms;
        (0..n)
            .flat_map(|i| {
                let v = amplitude * (i as f64 * 2.0 * std::f64::consts::PI * 220.0 / 24000.0).sin();
                ((v * 32767.0) as i16).to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn speech_starts_on_voice_and_stops_after_silence() {
        let mut vad = SpeechDetector::new(0.5, 300);
        assert_eq!(vad.feed(&tone(200, 0.0), AudioFormat::Pcm16), None);
        assert_eq!(
            vad.feed(&tone(200, 0.3), AudioFormat::Pcm16),
            Some(Speech::Started)
        );
        assert_eq!(
            vad.feed(&tone(200, 0.0), AudioFormat::Pcm16),
            None,
            "a pause is not the end"
        );
        assert_eq!(
            vad.feed(&tone(200, 0.0), AudioFormat::Pcm16),
            Some(Speech::Stopped)
        );
        assert_eq!(
            vad.feed(&tone(500, 0.001), AudioFormat::Pcm16),
            None,
            "faint noise is not speech"
        );
    }
}
