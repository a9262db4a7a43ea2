//! G.711 mu-law and A-law, the 8 kHz 8-bit telephony codecs (`g711_ulaw`, `g711_alaw`).
//!
//! Both compress a 16-bit sample to 8 bits on a piecewise-logarithmic scale: 8 segments
//! (the exponent) of 16 steps each (the mantissa), each segment twice as coarse as the one
//! below it. Decoding returns the middle of the step, so the error is at most half a step,
//! about 1/32 of the sample's magnitude (plus a small constant near zero). Code bytes are
//! stored inverted (mu-law) or with alternate bits flipped (A-law), as the standard specifies.
//! The conversions are computed with bit arithmetic, no tables.

/// Mu-law adds this bias (in 16-bit scale) so every segment starts at a power of two.
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude mu-law encodes before clipping.
const ULAW_CLIP_14: i32 = 8159;

/// Encodes one 16-bit sample as mu-law.
///
/// Works on the top 14 bits, as the classic reference implementations do, so the codes match
/// theirs bit for bit.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 2;
    let toggle = if value < 0 {
        value = -value;
        0x7F
    } else {
        0xFF
    };
    let biased = value.min(ULAW_CLIP_14) + (ULAW_BIAS >> 2);
    // `biased` is in 0x21..=0x2000: its top set bit is bit 5..=13, segment 0..=8, where 8
    // (only the clipped maximum) takes the largest code.
    let segment = (31 - biased.leading_zeros() as i32) - 5;
    let code = if segment >= 8 {
        0x7F
    } else {
        (segment << 4) | ((biased >> (segment + 1)) & 0x0F)
    };
    (code ^ toggle) as u8
}

/// Decodes one mu-law byte to a 16-bit sample.
pub fn ulaw_decode(code: u8) -> i16 {
    let code = !code;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0F);
    // The middle of the step: mantissa * 8 + 4 in the segment, plus the segment's base (16 * 8).
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    let value = if code & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    };
    value as i16
}

/// Encodes one 16-bit sample as A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13 bits.
    let mut value = i32::from(sample) >> 3;
    let toggle = if value >= 0 {
        0xD5
    } else {
        // One's complement keeps the two signs symmetric (-1 maps like 0).
        value = -value - 1;
        0x55
    };
    // Segment 0 and 1 share a step of 2; segment s >= 1 holds 32 << (s - 1) ..= (64 << (s - 1)) - 1.
    let segment = if value < 32 {
        0
    } else {
        (31 - value.leading_zeros() as i32) - 4
    };
    let code = if segment >= 8 {
        0x7F
    } else {
        let shift = if segment < 2 { 1 } else { segment };
        (segment << 4) | ((value >> shift) & 0x0F)
    };
    (code ^ toggle) as u8
}

/// Decodes one A-law byte to a 16-bit sample.
pub fn alaw_decode(code: u8) -> i16 {
    let code = i32::from(code ^ 0x55);
    let segment = (code >> 4) & 0x07;
    let mantissa = code & 0x0F;
    // Middle of the step, in 16-bit scale: segment 0 has steps of 16, segment s >= 1 starts at
    // 256 << (s - 1) with steps of 16 << (s - 1).
    let magnitude = match segment {
        0 => (mantissa << 4) + 8,
        s => ((mantissa << 4) + 0x108) << (s - 1),
    };
    let value = if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    value as i16
}

/// Appends the mu-law encoding of `samples` to `out`.
pub fn ulaw_encode_slice(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().copied().map(ulaw_encode));
}

/// Appends the samples decoded from mu-law `codes` to `out`.
pub fn ulaw_decode_slice(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().copied().map(ulaw_decode));
}

/// Appends the A-law encoding of `samples` to `out`.
pub fn alaw_encode_slice(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().copied().map(alaw_encode));
}

/// Appends the samples decoded from A-law `codes` to `out`.
pub fn alaw_decode_slice(codes: &[u8], out: &mut Vec<i16>) {
    out.extend(codes.iter().copied().map(alaw_decode));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_segment_edges() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7E);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
    }

    #[test]
    fn alaw_segment_edges() {
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
    }
}
