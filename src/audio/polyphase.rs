//! A low-latency streaming resampler for small rational ratios (48 kHz -> 16 kHz, 24 kHz ->
//! 16 kHz, 16 kHz -> 24 kHz, ...): a polyphase FIR filter that turns every input sample into
//! output at once, with no chunking. Its only delay is the filter's group delay, about 1.7 ms,
//! where the FFT resampler holds back a 10 ms chunk. The echo canceller's stage uses it
//! ([`StreamResampler::low_latency`](super::StreamResampler::low_latency)).
//!
//! The filter is a Kaiser-windowed sinc designed at the common multiple of the two rates: flat
//! (within 0.01 dB) up to 85% of the lower rate's Nyquist frequency, at least 65 dB down from
//! its Nyquist frequency on (no aliasing, no images).

/// Largest up-sampling factor accepted (the filter has this many phases).
const MAX_UP: usize = 16;

/// Largest down-sampling factor accepted.
const MAX_DOWN: usize = 16;

/// Stop-band attenuation of the filter, in dB.
const ATTENUATION_DB: f64 = 65.0;

/// Pass band edge, as a fraction of the lower rate's Nyquist frequency; the stop band starts at
/// that Nyquist frequency.
const PASS_EDGE: f64 = 0.85;

/// A streaming polyphase resampler from `from` Hz to `to` Hz (`to / from = up / down`).
#[derive(Clone)]
pub(crate) struct Polyphase {
    up: usize,
    down: usize,
    /// Taps per phase.
    taps: usize,
    /// Phase `p`'s coefficients, reversed (so they line up with the input oldest first):
    /// `coeffs[p * taps + (taps - 1 - k)] = h[p + k * up]`.
    coeffs: Vec<f32>,
    /// The input the next outputs need: at least the `taps - 1` samples before them.
    history: Vec<f32>,
    /// The next output's position at the high rate (`up` times the input rate), counted from
    /// `history[0]`.
    next: usize,
    /// The filter's group delay in input samples (for callers that report latency).
    delay_in: f64,
}

impl std::fmt::Debug for Polyphase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Polyphase")
            .field("up", &self.up)
            .field("down", &self.down)
            .field("taps", &self.taps)
            .finish_non_exhaustive()
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The zeroth-order modified Bessel function of the first kind (for the Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..50 {
        term *= half / k as f64;
        sum += term * term;
        if term * term < sum * 1e-17 {
            break;
        }
    }
    sum
}

impl Polyphase {
    /// A resampler from `from` to `to` Hz, or `None` when the reduced ratio is too large for a
    /// small polyphase filter (44.1 kHz to 16 kHz is 160/441) or the rates are equal.
    pub(crate) fn new(from: u32, to: u32) -> Option<Self> {
        if from == to || from == 0 || to == 0 {
            return None;
        }
        let g = gcd(u64::from(from), u64::from(to));
        let (up, down) = ((u64::from(to) / g) as usize, (u64::from(from) / g) as usize);
        if up > MAX_UP || down > MAX_DOWN {
            return None;
        }
        let high = f64::from(from) * up as f64;
        let nyquist = f64::from(from.min(to)) / 2.0;
        let transition = nyquist * (1.0 - PASS_EDGE);
        let cutoff = nyquist * (1.0 + PASS_EDGE) / 2.0;
        // Kaiser's estimate of the length for this attenuation and transition width.
        let d_omega = std::f64::consts::TAU * transition / high;
        let length = ((ATTENUATION_DB - 8.0) / (2.285 * d_omega)).ceil() as usize + 1;
        let taps = length.div_ceil(up);
        let n = taps * up;
        let beta = 0.1102 * (ATTENUATION_DB - 8.7);
        let centre = (n - 1) as f64 / 2.0;
        let fc = cutoff / high;
        let mut h: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 - centre;
                let sinc = if t == 0.0 {
                    2.0 * fc
                } else {
                    (std::f64::consts::TAU * fc * t).sin() / (std::f64::consts::PI * t)
                };
                let r = t / centre;
                let window = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta);
                sinc * window
            })
            .collect();
        // Unity gain at DC for every phase taken together: each output sums `taps` of them.
        let sum: f64 = h.iter().sum();
        for c in &mut h {
            *c *= up as f64 / sum;
        }
        let mut coeffs = vec![0.0f32; n];
        for p in 0..up {
            for k in 0..taps {
                coeffs[p * taps + (taps - 1 - k)] = h[p + k * up] as f32;
            }
        }
        Some(Self {
            up,
            down,
            taps,
            coeffs,
            history: vec![0.0; taps - 1],
            next: (taps - 1) * up,
            delay_in: centre / up as f64,
        })
    }

    /// The filter's group delay, in seconds at input rate `from`.
    pub(crate) fn delay_seconds(&self, from: u32) -> f64 {
        self.delay_in / f64::from(from)
    }

    /// The delay in output samples, rounded up: what [`flush`](Self::flush) pushes out.
    fn tail_outputs(&self) -> usize {
        (self.delay_in * self.up as f64 / self.down as f64).ceil() as usize
    }

    /// Resamples `input`, appending every output sample it completes to `out`.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.history.extend_from_slice(input);
        let taps = self.taps;
        // The output at high-rate position `t` needs input up to index `t / up`.
        while self.next / self.up < self.history.len() {
            let newest = self.next / self.up;
            let phase = self.next % self.up;
            let window = &self.history[newest + 1 - taps..=newest];
            let coeffs = &self.coeffs[phase * taps..(phase + 1) * taps];
            out.push(dot(window, coeffs));
            self.next += self.down;
        }
        // Keep the last `taps - 1` samples before the next output's newest input.
        let keep_from = (self.next / self.up + 1).saturating_sub(taps);
        if keep_from > 0 {
            self.history.drain(..keep_from);
            self.next -= keep_from * self.up;
        }
    }

    /// Pushes out the filter's tail (its delay in output samples) and starts over.
    pub(crate) fn flush(&mut self, out: &mut Vec<f32>) {
        let before = out.len();
        let want = self.tail_outputs();
        while out.len() - before < want {
            self.process(&[0.0; 16], out);
        }
        out.truncate(before + want);
        self.reset();
    }

    /// Forgets the stream so far.
    pub(crate) fn reset(&mut self) {
        self.history.clear();
        self.history.resize(self.taps - 1, 0.0);
        self.next = (self.taps - 1) * self.up;
    }
}

/// Dot product in eight lanes (the compiler vectorizes it).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8 * 8;
    for (x, y) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in a[chunks..].iter().zip(&b[chunks..]) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (0.5 * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as f32
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Amplitude of `freq` in `x` (sampled at `rate`).
    fn goertzel(x: &[f32], freq: f64, rate: u32) -> f64 {
        let w = std::f64::consts::TAU * freq / f64::from(rate);
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s0 = f64::from(v) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() * 2.0 / x.len() as f64
    }

    #[test]
    fn ratios_reduce_and_large_ones_are_declined() {
        let p = Polyphase::new(48_000, 16_000).unwrap();
        assert_eq!((p.up, p.down), (1, 3));
        let p = Polyphase::new(16_000, 24_000).unwrap();
        assert_eq!((p.up, p.down), (3, 2));
        assert!(Polyphase::new(44_100, 16_000).is_none());
        assert!(Polyphase::new(16_000, 16_000).is_none());
    }

    #[test]
    fn output_count_follows_the_ratio_in_any_pieces() {
        let input = tone(1000.0, 48_000, 4_800);
        let mut whole = Vec::new();
        Polyphase::new(48_000, 16_000)
            .unwrap()
            .process(&input, &mut whole);
        let mut pieces = Vec::new();
        let mut p = Polyphase::new(48_000, 16_000).unwrap();
        for piece in input.chunks(7) {
            p.process(piece, &mut pieces);
        }
        assert_eq!(whole.len(), 1_600);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn pass_band_is_flat_and_stop_band_is_quiet() {
        for (from, to) in [(48_000, 16_000), (16_000, 24_000), (24_000, 16_000)] {
            let low = from.min(to);
            for freq in [300.0, 1000.0, 3000.0, 0.8 * f64::from(low) / 2.0] {
                let mut out = Vec::new();
                Polyphase::new(from, to)
                    .unwrap()
                    .process(&tone(freq, from, from as usize), &mut out);
                let gain = rms(&out[out.len() / 4..]) / (0.5 / 2f64.sqrt());
                assert!(
                    (20.0 * gain.log10()).abs() < 0.05,
                    "{from}->{to} {freq} Hz: {gain}"
                );
            }
            // Images of a tone (up-sampling) stay out of the output.
            if to > from {
                let freq = 0.8 * f64::from(from) / 2.0;
                let mut out = Vec::new();
                Polyphase::new(from, to)
                    .unwrap()
                    .process(&tone(freq, from, from as usize), &mut out);
                let tail = &out[out.len() / 4..];
                let image = goertzel(tail, f64::from(from) - freq, to);
                let wanted = goertzel(tail, freq, to);
                let level = 20.0 * (image / wanted).log10();
                assert!(level < -60.0, "{from}->{to}: image at {level:.1} dB");
            }
            // Above the lower Nyquist frequency nothing comes through.
            let freq = f64::from(low) / 2.0 * 1.02;
            if freq < f64::from(from) / 2.0 {
                let mut out = Vec::new();
                Polyphase::new(from, to)
                    .unwrap()
                    .process(&tone(freq, from, from as usize), &mut out);
                let level = 20.0 * (rms(&out[out.len() / 4..]) / 0.3536).log10();
                assert!(level < -60.0, "{from}->{to} {freq} Hz at {level:.1} dB");
            }
        }
    }
}
