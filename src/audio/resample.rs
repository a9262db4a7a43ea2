//! A streaming sample-rate converter for mono audio, built on rubato's FFT resampler.
//!
//! Audio arrives in pieces of any size (a capture callback, a response delta); the resampler
//! keeps its filter state between pieces, so the output is the same as resampling the whole
//! stream at once: no clicks at piece edges. Its start-up delay is trimmed, so output sample `k`
//! lines up with input time `k / output_rate`, and [`StreamResampler::flush`] pushes out the
//! tail so that the output has the input's duration.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::AudioError;
use super::polyphase::Polyphase;

/// The rates this crate is tested with; any rate from 1 Hz to 384 kHz works.
pub const COMMON_RATES: [u32; 6] = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

/// Highest rate accepted.
const MAX_RATE: u32 = 384_000;

/// Converts a stream of mono `f32` samples from one rate to another.
pub struct StreamResampler {
    from: u32,
    to: u32,
    /// `None` when the rates are equal (samples pass through untouched) or `poly` is used.
    fft: Option<Box<Fft<f32>>>,
    /// The low-latency polyphase filter ([`StreamResampler::low_latency`]).
    poly: Option<Polyphase>,
    /// Input that does not yet fill a chunk.
    pending: Vec<f32>,
    /// One chunk of output.
    chunk_out: Vec<f32>,
    /// Output samples still to drop: the resampler's start-up delay.
    to_trim: usize,
    input_total: u64,
    output_total: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// Input frames per chunk: about 10 ms, a whole number of the smallest blocks that hold an
/// integer number of samples at both rates, with an even number of samples on both sides:
/// the filter delays by half a block, which can only be trimmed in whole samples.
fn chunk_frames(from: u32, to: u32) -> usize {
    let gcd = gcd(from, to);
    let (block_in, block_out) = ((from / gcd) as usize, (to / gcd) as usize);
    let mut blocks = (from as usize / 100).max(64).div_ceil(block_in);
    if (blocks * block_in) % 2 == 1 || (blocks * block_out) % 2 == 1 {
        blocks += 1;
    }
    blocks * block_in
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl StreamResampler {
    /// A resampler from `from` Hz to `to` Hz. Chunks are about 10 ms of input, which bounds the
    /// added latency to about 15 ms.
    pub fn new(from: u32, to: u32) -> Result<Self, AudioError> {
        for rate in [from, to] {
            if rate == 0 || rate > MAX_RATE {
                return Err(AudioError::InvalidParameter(format!(
                    "sample rate {rate} Hz (supported: 1 to {MAX_RATE} Hz)"
                )));
            }
        }
        let (fft, chunk_out, to_trim) = if from == to {
            (None, Vec::new(), 0)
        } else {
            let fft = Fft::<f32>::new(
                from as usize,
                to as usize,
                chunk_frames(from, to),
                1,
                FixedSync::Both,
            )
            .map_err(|e| {
                AudioError::InvalidParameter(format!("resampler {from} -> {to} Hz: {e}"))
            })?;
            let chunk_out = vec![0.0; fft.output_frames_max()];
            let delay = fft.output_delay();
            (Some(Box::new(fft)), chunk_out, delay)
        };
        Ok(Self {
            from,
            to,
            fft,
            poly: None,
            pending: Vec::new(),
            chunk_out,
            to_trim,
            input_total: 0,
            output_total: 0,
        })
    }

    /// A resampler that adds as little latency as it can: for ratios of small whole numbers
    /// (48 kHz, 32 kHz, 24 kHz or 8 kHz to 16 kHz, 16 kHz to 24 kHz, ...) a polyphase filter
    /// that turns each input sample into output at once, delaying it by the filter's group
    /// delay only ([`latency`](Self::latency): 1.8 ms between 16 kHz and 24 or 48 kHz, 3.3 ms
    /// from 8 kHz), instead of 10 ms chunks; for
    /// other ratios the same resampler as [`new`](Self::new).
    ///
    /// Unlike [`new`](Self::new), the filter's delay is not trimmed from the start: the output
    /// lags the input by [`latency`](Self::latency), and [`flush`](Self::flush) pushes out
    /// that much more.
    pub fn low_latency(from: u32, to: u32) -> Result<Self, AudioError> {
        let mut resampler = Self::new(from, to)?;
        if let Some(poly) = Polyphase::new(from, to) {
            resampler.fft = None;
            resampler.chunk_out = Vec::new();
            resampler.to_trim = 0;
            resampler.poly = Some(poly);
        }
        Ok(resampler)
    }

    /// How long the output lags the input for a [`low_latency`](Self::low_latency) polyphase
    /// filter; zero otherwise (the FFT resampler trims its delay, and holds back up to one
    /// chunk of input instead).
    pub fn latency(&self) -> std::time::Duration {
        match &self.poly {
            Some(poly) => std::time::Duration::from_secs_f64(poly.delay_seconds(self.from)),
            None => std::time::Duration::ZERO,
        }
    }

    /// The input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.from
    }

    /// The output rate in Hz.
    pub fn output_rate(&self) -> u32 {
        self.to
    }

    /// Whether input arrived since the last flush or reset (so a tail may still be inside).
    pub fn has_input(&self) -> bool {
        self.input_total > 0
    }

    /// Whether samples pass through unchanged (equal rates).
    pub fn is_passthrough(&self) -> bool {
        self.fft.is_none() && self.poly.is_none()
    }

    /// Resamples `input` and appends whatever output is ready to `out`. Some input stays inside
    /// (less than one chunk plus the filter delay) until more arrives or [`flush`](Self::flush).
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.input_total += input.len() as u64;
        if let Some(poly) = self.poly.as_mut() {
            poly.process(input, out);
            return;
        }
        if self.fft.is_none() {
            out.extend_from_slice(input);
            self.output_total += input.len() as u64;
            return;
        }
        let mut rest = input;
        // Complete a chunk started by an earlier call.
        if !self.pending.is_empty() {
            let need = self.chunk_in() - self.pending.len();
            let take = need.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < self.chunk_in() {
                return;
            }
            let pending = std::mem::take(&mut self.pending);
            self.run_chunk(&pending, pending.len(), out);
            self.pending = pending;
            self.pending.clear();
        }
        // Whole chunks straight from the input, then keep the remainder.
        let chunk = self.chunk_in();
        let mut chunks = rest.chunks_exact(chunk);
        for piece in &mut chunks {
            self.run_chunk(piece, chunk, out);
        }
        self.pending.extend_from_slice(chunks.remainder());
    }

    /// Pushes out everything still inside, so that the total output since the last flush has the
    /// duration of the total input (`round(input * to / from)` samples), then makes the
    /// resampler ready for an unrelated stream.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        if let Some(poly) = self.poly.as_mut() {
            poly.flush(out);
            self.reset();
            return;
        }
        let expected = (self.input_total * u64::from(self.to) + u64::from(self.from) / 2)
            / u64::from(self.from);
        if self.fft.is_some() {
            let pending = std::mem::take(&mut self.pending);
            // The partial chunk, padded with silence, then silence until the tail is out.
            let mut fed = pending.len();
            let mut zeros = vec![0.0; self.chunk_in()];
            zeros[..fed].copy_from_slice(&pending);
            while self.output_total < expected {
                let before = out.len();
                self.run_chunk(&zeros, fed, out);
                let excess = self.output_total.saturating_sub(expected) as usize;
                out.truncate(out.len() - excess.min(out.len() - before));
                self.output_total -= excess as u64;
                zeros.fill(0.0);
                fed = 0;
            }
            self.pending = pending;
            self.pending.clear();
        }
        self.reset();
    }

    /// Drops everything inside and starts over, as for a new stream.
    pub fn reset(&mut self) {
        if let Some(poly) = self.poly.as_mut() {
            poly.reset();
        }
        if let Some(fft) = self.fft.as_mut() {
            fft.reset();
            self.to_trim = fft.output_delay();
        }
        self.pending.clear();
        self.input_total = 0;
        self.output_total = 0;
    }

    fn chunk_in(&self) -> usize {
        self.fft.as_ref().map_or(1, |fft| fft.input_frames_next())
    }

    /// Resamples one chunk whose first `valid` samples are audio (the rest is read as silence).
    fn run_chunk(&mut self, input: &[f32], valid: usize, out: &mut Vec<f32>) {
        let Some(fft) = self.fft.as_mut() else {
            return;
        };
        let frames_in = fft.input_frames_next();
        let frames_out = fft.output_frames_next();
        // The sizes are fixed at construction and the buffers are sized from them, so rubato
        // cannot reject them.
        let adapter_in = InterleavedSlice::new(input, 1, input.len()).expect("mono input slice");
        let capacity = self.chunk_out.len();
        let mut adapter_out =
            InterleavedSlice::new_mut(&mut self.chunk_out, 1, capacity).expect("mono output slice");
        let indexing = (valid < frames_in).then(|| rubato::Indexing::new().partial_len(valid));
        let (_, written) = fft
            .process_into_buffer(&adapter_in, &mut adapter_out, indexing.as_ref())
            .expect("chunk sizes match the resampler");
        debug_assert_eq!(written, frames_out);
        let skip = self.to_trim.min(written);
        self.to_trim -= skip;
        out.extend_from_slice(&self.chunk_out[skip..written]);
        self.output_total += (written - skip) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_rates_pass_through() {
        let mut r = StreamResampler::new(24_000, 24_000).unwrap();
        let mut out = Vec::new();
        r.process(&[0.1, 0.2, 0.3], &mut out);
        r.flush(&mut out);
        assert_eq!(out, [0.1, 0.2, 0.3]);
        assert!(r.is_passthrough());
    }

    #[test]
    fn zero_rate_is_rejected() {
        let err = StreamResampler::new(0, 24_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid audio parameter: sample rate 0 Hz (supported: 1 to 384000 Hz)"
        );
    }

    #[test]
    fn flush_gives_the_input_duration() {
        for (from, to) in [(44_100, 24_000), (8_000, 24_000), (24_000, 22_050)] {
            let mut r = StreamResampler::new(from, to).unwrap();
            let mut out = Vec::new();
            for _ in 0..7 {
                r.process(&vec![0.0; 333], &mut out);
            }
            r.flush(&mut out);
            let expected = (7 * 333 * u64::from(to) + u64::from(from) / 2) / u64::from(from);
            assert_eq!(out.len() as u64, expected, "{from} -> {to}");
        }
    }
}
