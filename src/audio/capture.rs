//! Turning captured audio (mono `f32` at any rate) into fixed frames of the session input format.
//!
//! Every source goes through a [`CaptureEncoder`]: the microphone, a WAV file, an embedding
//! app's buffers. It runs the echo hook, resamples to the format's rate with state kept across
//! pushes, encodes (PCM16 or G.711) and cuts fixed frames.

use std::collections::VecDeque;
use std::time::Instant;

use super::echo::{EchoCanceller, EchoStage, FarEnd};
use super::pcm;
use super::resample::StreamResampler;
use super::{AudioError, codec};
use crate::protocol::AudioFormat;

/// The default frame length: 20 ms.
pub const DEFAULT_FRAME_MS: u32 = 20;

/// Longest frame accepted, in milliseconds.
const MAX_FRAME_MS: u32 = 10_000;

/// Converts captured mono audio into session-format frames of a fixed length.
pub struct CaptureEncoder {
    format: AudioFormat,
    frame_bytes: usize,
    /// The rate [`push`](Self::push) takes.
    input_rate: u32,
    /// From the input rate to the echo canceller's, when it wants one of its own.
    echo_resampler: Option<StreamResampler>,
    /// To the session's rate (from the canceller's rate when there is an `echo_resampler`).
    resampler: StreamResampler,
    echo: Option<EchoStage>,
    near: Vec<f32>,
    resampled: Vec<f32>,
    samples: Vec<i16>,
    /// Encoded bytes not yet cut into a frame.
    encoded: Vec<u8>,
    frames: VecDeque<Vec<u8>>,
}

impl std::fmt::Debug for CaptureEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureEncoder")
            .field("format", &self.format)
            .field("frame_bytes", &self.frame_bytes)
            .field("input_rate", &self.resampler.input_rate())
            .field("frames_ready", &self.frames.len())
            .finish_non_exhaustive()
    }
}

impl CaptureEncoder {
    /// An encoder from mono audio at `input_rate` Hz to frames of `frame_ms` milliseconds of
    /// `format`.
    pub fn new(input_rate: u32, format: AudioFormat, frame_ms: u32) -> Result<Self, AudioError> {
        let frame_bytes = frame_bytes(format, frame_ms)?;
        Ok(Self {
            format,
            frame_bytes,
            input_rate,
            echo_resampler: None,
            resampler: StreamResampler::new(input_rate, format.sample_rate())?,
            echo: None,
            near: Vec::new(),
            resampled: Vec::new(),
            samples: Vec::new(),
            encoded: Vec::new(),
            frames: VecDeque::new(),
        })
    }

    /// Runs `canceller` on the captured audio before anything else, with the playback signal
    /// from `far_end` when there is one. A canceller with a [rate](EchoCanceller::rate) of its
    /// own gets the audio at that rate; the session's frames are made from its output. Call it
    /// before pushing audio.
    pub fn set_echo_canceller(
        &mut self,
        canceller: Box<dyn EchoCanceller>,
        far_end: Option<FarEnd>,
    ) {
        self.echo_resampler = None;
        if let Some(rate) = canceller.rate().filter(|&r| r != self.input_rate) {
            // Both stages stream sample by sample where the ratio allows (see
            // `StreamResampler::low_latency`), so the canceller's stage adds milliseconds, not
            // two more 10 ms chunks.
            match (
                StreamResampler::low_latency(self.input_rate, rate),
                StreamResampler::low_latency(rate, self.format.sample_rate()),
            ) {
                (Ok(to_canceller), Ok(to_session)) => {
                    self.echo_resampler = Some(to_canceller);
                    self.resampler = to_session;
                }
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "the echo canceller gets the capture rate instead");
                }
            }
        }
        self.echo = Some(EchoStage::new(canceller, far_end));
    }

    /// The session format of the frames.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Bytes in a full frame.
    pub fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// The rate [`push`](Self::push) expects.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Adds mono samples at [`input_rate`](Self::input_rate).
    pub fn push(&mut self, mono: &[f32]) {
        self.push_captured(mono, None);
    }

    /// Adds mono samples at [`input_rate`](Self::input_rate), the last of them captured at
    /// `captured` by the device's clock: the echo canceller lines the microphone up with the
    /// playback signal by it.
    pub fn push_captured(&mut self, mono: &[f32], captured: Option<Instant>) {
        let samples = match self.echo.as_mut() {
            Some(echo) => {
                self.near.clear();
                let rate = match self.echo_resampler.as_mut() {
                    Some(resampler) => {
                        resampler.process(mono, &mut self.near);
                        resampler.output_rate()
                    }
                    None => {
                        self.near.extend_from_slice(mono);
                        self.input_rate
                    }
                };
                echo.apply(&mut self.near, rate, captured);
                &self.near[..]
            }
            None => mono,
        };
        self.resampled.clear();
        self.resampler.process(samples, &mut self.resampled);
        self.encode_resampled();
    }

    /// Adds mono samples at `rate` Hz; a new rate finishes the audio at the old rate first.
    pub fn push_at_rate(&mut self, mono: &[f32], rate: u32) -> Result<(), AudioError> {
        if rate != self.input_rate {
            let session_rate = self.format.sample_rate();
            let next = match self.echo_resampler.as_ref() {
                Some(to_canceller) => (
                    Some(StreamResampler::low_latency(
                        rate,
                        to_canceller.output_rate(),
                    )?),
                    None,
                ),
                None => (None, Some(StreamResampler::new(rate, session_rate)?)),
            };
            self.flush_resampler();
            match next {
                (Some(to_canceller), _) => self.echo_resampler = Some(to_canceller),
                (None, Some(to_session)) => self.resampler = to_session,
                (None, None) => {}
            }
            self.input_rate = rate;
        }
        self.push(mono);
        Ok(())
    }

    /// Adds bytes already in the session format (after any audio pushed before them).
    pub fn push_encoded(&mut self, bytes: &[u8]) {
        self.flush_resampler();
        self.encoded.extend_from_slice(bytes);
        self.cut_frames();
    }

    /// The next full frame, if one is ready.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        self.frames.pop_front()
    }

    /// Ends the stream: pushes out the resampler's tail and a last, shorter frame.
    pub fn finish(&mut self) {
        self.flush_resampler();
        if !self.encoded.is_empty() {
            let last = std::mem::take(&mut self.encoded);
            self.frames.push_back(last);
        }
    }

    fn flush_resampler(&mut self) {
        // The tail held in the canceller's resampler goes through the canceller first.
        let tail = match (self.echo_resampler.as_mut(), self.echo.as_mut()) {
            (Some(resampler), Some(echo)) if resampler.has_input() => Some((resampler, echo)),
            _ => None,
        };
        if let Some((resampler, echo)) = tail {
            self.near.clear();
            resampler.flush(&mut self.near);
            let rate = resampler.output_rate();
            echo.apply(&mut self.near, rate, None);
            self.resampled.clear();
            self.resampler.process(&self.near, &mut self.resampled);
            self.encode_resampled();
        }
        self.resampled.clear();
        self.resampler.flush(&mut self.resampled);
        self.encode_resampled();
    }

    fn encode_resampled(&mut self) {
        if self.resampled.is_empty() {
            return;
        }
        self.samples.clear();
        pcm::f32_slice_to_i16(&self.resampled, &mut self.samples);
        codec::encode(self.format, &self.samples, &mut self.encoded);
        self.cut_frames();
    }

    fn cut_frames(&mut self) {
        let full = self.encoded.len() / self.frame_bytes * self.frame_bytes;
        if full == 0 {
            return;
        }
        for frame in self.encoded[..full].chunks_exact(self.frame_bytes) {
            self.frames.push_back(frame.to_vec());
        }
        self.encoded.drain(..full);
    }
}

/// Bytes in a frame of `frame_ms` of `format`, checking the length is usable.
pub fn frame_bytes(format: AudioFormat, frame_ms: u32) -> Result<usize, AudioError> {
    if frame_ms == 0 || frame_ms > MAX_FRAME_MS {
        return Err(AudioError::InvalidParameter(format!(
            "frame length {frame_ms} ms (supported: 1 to {MAX_FRAME_MS} ms)"
        )));
    }
    Ok(format.bytes_for_ms(frame_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_configured_length() {
        let mut enc = CaptureEncoder::new(24_000, AudioFormat::Pcm16, 20).unwrap();
        enc.push(&[0.0; 1000]);
        assert_eq!(enc.next_frame().map(|f| f.len()), Some(960));
        assert_eq!(enc.next_frame().map(|f| f.len()), Some(960));
        assert_eq!(enc.next_frame(), None);
        enc.finish();
        assert_eq!(enc.next_frame().map(|f| f.len()), Some(80));
        assert_eq!(enc.next_frame(), None);
    }

    #[test]
    fn zero_frame_length_is_rejected() {
        let err = CaptureEncoder::new(24_000, AudioFormat::Pcm16, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid audio parameter: frame length 0 ms (supported: 1 to 10000 ms)"
        );
    }

    #[test]
    fn ulaw_frames_are_160_bytes() {
        let mut enc = CaptureEncoder::new(48_000, AudioFormat::G711Ulaw, 20).unwrap();
        enc.push(&vec![0.0; 48_000]);
        enc.finish();
        let mut total = 0;
        while let Some(frame) = enc.next_frame() {
            assert_eq!(frame.len(), 160);
            assert!(frame.iter().all(|&b| b == 0xFF));
            total += frame.len();
        }
        assert_eq!(total, 8_000);
    }
}
