//! Linear PCM sample conversions: 16-bit little-endian bytes, `i16` and `f32`, channel mixing.
//!
//! `f32` samples use the range `-1.0..=1.0`; `i16` maps to it by dividing by 32768, so
//! `i16 -> f32 -> i16` is exact.

/// Converts one 16-bit sample to `f32` in `-1.0..1.0`.
#[inline]
pub fn i16_to_f32(sample: i16) -> f32 {
    f32::from(sample) / 32768.0
}

/// Converts one `f32` sample to 16 bits, rounding to nearest and clipping values outside
/// `-1.0..=1.0`.
#[inline]
pub fn f32_to_i16(sample: f32) -> i16 {
    // `as` saturates, and NaN becomes 0.
    (sample * 32768.0).round() as i16
}

/// Appends the samples held in PCM16 little-endian `bytes` to `out`.
///
/// A trailing odd byte (half a sample) is ignored; callers that stream bytes keep it for the
/// next call (see [`Pcm16Decoder`]).
pub fn pcm16_to_i16(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(
        bytes
            .chunks_exact(2)
            .map(|pair| i16::from_le_bytes([pair[0], pair[1]])),
    );
}

/// Appends `samples` to `out` as PCM16 little-endian bytes.
pub fn i16_to_pcm16(samples: &[i16], out: &mut Vec<u8>) {
    out.reserve(samples.len() * 2);
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

/// Appends `samples` to `out` converted to `f32`.
pub fn i16_slice_to_f32(samples: &[i16], out: &mut Vec<f32>) {
    out.extend(samples.iter().copied().map(i16_to_f32));
}

/// Appends `samples` to `out` converted to 16 bits (rounded, clipped).
pub fn f32_slice_to_i16(samples: &[f32], out: &mut Vec<i16>) {
    out.extend(samples.iter().copied().map(f32_to_i16));
}

/// Appends the mono mix (the mean of all channels) of `interleaved` frames to `out`.
///
/// A trailing partial frame is ignored. `channels` of 0 is treated as 1.
pub fn mix_to_mono(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    let channels = channels.max(1);
    if channels == 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale),
    );
}

/// Streams PCM16 bytes into samples, keeping an odd trailing byte for the next call so that
/// deltas split anywhere still decode correctly.
#[derive(Debug, Default, Clone)]
pub struct Pcm16Decoder {
    carry: Option<u8>,
}

impl Pcm16Decoder {
    /// A decoder with nothing carried over.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the samples completed by `bytes` to `out`.
    pub fn decode(&mut self, mut bytes: &[u8], out: &mut Vec<i16>) {
        if let Some(low) = self.carry.take() {
            match bytes.split_first() {
                Some((&high, rest)) => {
                    out.push(i16::from_le_bytes([low, high]));
                    bytes = rest;
                }
                None => {
                    self.carry = Some(low);
                    return;
                }
            }
        }
        pcm16_to_i16(bytes, out);
        if bytes.len() % 2 == 1 {
            self.carry = bytes.last().copied();
        }
    }

    /// Forgets a carried byte (after playback was stopped).
    pub fn reset(&mut self) {
        self.carry = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i16_f32_round_trip_is_exact() {
        for s in [i16::MIN, -12345, -1, 0, 1, 12345, i16::MAX] {
            assert_eq!(f32_to_i16(i16_to_f32(s)), s);
        }
    }

    #[test]
    fn f32_clips_and_rounds() {
        assert_eq!(f32_to_i16(1.0), i16::MAX);
        assert_eq!(f32_to_i16(-1.0), i16::MIN);
        assert_eq!(f32_to_i16(3.0), i16::MAX);
        assert_eq!(f32_to_i16(-3.0), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
        assert_eq!(f32_to_i16(0.6 / 32768.0), 1);
    }

    #[test]
    fn pcm16_bytes_are_little_endian() {
        let mut bytes = Vec::new();
        i16_to_pcm16(&[1, -2, 0x1234], &mut bytes);
        assert_eq!(bytes, [0x01, 0x00, 0xFE, 0xFF, 0x34, 0x12]);
        let mut back = Vec::new();
        pcm16_to_i16(&bytes, &mut back);
        assert_eq!(back, [1, -2, 0x1234]);
    }

    #[test]
    fn decoder_joins_samples_split_across_calls() {
        let mut dec = Pcm16Decoder::new();
        let mut out = Vec::new();
        dec.decode(&[0x34], &mut out);
        dec.decode(&[], &mut out);
        dec.decode(&[0x12, 0xFE], &mut out);
        dec.decode(&[0xFF, 0x01, 0x00], &mut out);
        assert_eq!(out, [0x1234, -2, 1]);
    }

    #[test]
    fn stereo_mixes_to_the_mean() {
        let mut out = Vec::new();
        mix_to_mono(&[0.5, -0.5, 1.0, 0.0, 0.25], 2, &mut out);
        assert_eq!(out, [0.0, 0.5]);
    }
}
