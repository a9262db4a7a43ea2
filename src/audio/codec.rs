//! Encoding and decoding the session audio formats (PCM16 24 kHz, G.711 mu-law and A-law 8 kHz),
//! and converting audio from one session format to another.

use super::AudioError;
use super::g711;
use super::pcm::{self, Pcm16Decoder};
use super::resample::StreamResampler;
use crate::protocol::AudioFormat;

/// Appends `samples` (mono, at `format.sample_rate()`) to `out` encoded in `format`.
pub fn encode(format: AudioFormat, samples: &[i16], out: &mut Vec<u8>) {
    match format {
        AudioFormat::Pcm16 => pcm::i16_to_pcm16(samples, out),
        AudioFormat::G711Ulaw => g711::ulaw_encode_slice(samples, out),
        AudioFormat::G711Alaw => g711::alaw_encode_slice(samples, out),
    }
}

/// Appends the samples held in `bytes` of `format` to `out` (mono, at `format.sample_rate()`).
///
/// For PCM16 a trailing odd byte is ignored; use a [`SessionDecoder`] on a stream.
pub fn decode(format: AudioFormat, bytes: &[u8], out: &mut Vec<i16>) {
    match format {
        AudioFormat::Pcm16 => pcm::pcm16_to_i16(bytes, out),
        AudioFormat::G711Ulaw => g711::ulaw_decode_slice(bytes, out),
        AudioFormat::G711Alaw => g711::alaw_decode_slice(bytes, out),
    }
}

/// Decodes a stream of session-format byte chunks that may split a PCM16 sample anywhere.
#[derive(Debug, Clone)]
pub struct SessionDecoder {
    format: AudioFormat,
    pcm16: Pcm16Decoder,
}

impl SessionDecoder {
    /// A decoder for `format`.
    pub fn new(format: AudioFormat) -> Self {
        Self {
            format,
            pcm16: Pcm16Decoder::new(),
        }
    }

    /// The format this decoder reads.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Appends the samples completed by `bytes` to `out`.
    pub fn decode(&mut self, bytes: &[u8], out: &mut Vec<i16>) {
        match self.format {
            AudioFormat::Pcm16 => self.pcm16.decode(bytes, out),
            other => decode(other, bytes, out),
        }
    }

    /// Forgets any partial sample.
    pub fn reset(&mut self) {
        self.pcm16.reset();
    }
}

/// Converts a whole clip of audio from one session format to another (decode, resample,
/// encode). Returns the input unchanged when the formats are equal.
pub fn convert(bytes: &[u8], from: AudioFormat, to: AudioFormat) -> Result<Vec<u8>, AudioError> {
    if from == to {
        return Ok(bytes.to_vec());
    }
    let mut samples = Vec::new();
    decode(from, bytes, &mut samples);
    let resampled = if from.sample_rate() == to.sample_rate() {
        samples
    } else {
        let mut input = Vec::with_capacity(samples.len());
        pcm::i16_slice_to_f32(&samples, &mut input);
        let mut resampler = StreamResampler::new(from.sample_rate(), to.sample_rate())?;
        let mut output = Vec::new();
        resampler.process(&input, &mut output);
        resampler.flush(&mut output);
        let mut converted = Vec::with_capacity(output.len());
        pcm::f32_slice_to_i16(&output, &mut converted);
        converted
    };
    let mut out = Vec::with_capacity(resampled.len() * to.bytes_per_sample());
    encode(to, &resampled, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converting_changes_rate_and_keeps_duration() {
        let pcm = vec![0u8; AudioFormat::Pcm16.bytes_for_ms(100)];
        let ulaw = convert(&pcm, AudioFormat::Pcm16, AudioFormat::G711Ulaw).unwrap();
        assert_eq!(ulaw.len(), AudioFormat::G711Ulaw.bytes_for_ms(100));
        assert!(ulaw.iter().all(|&b| b == 0xFF), "silence is 0xFF in mu-law");
        let alaw = convert(&ulaw, AudioFormat::G711Ulaw, AudioFormat::G711Alaw).unwrap();
        assert!(alaw.iter().all(|&b| b == 0xD5), "silence is 0xD5 in A-law");
        let back = convert(&alaw, AudioFormat::G711Alaw, AudioFormat::Pcm16).unwrap();
        assert_eq!(back.len(), pcm.len());
    }
}
