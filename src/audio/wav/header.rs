//! Naming what a WAV file holds when hound cannot read it, so the error says what it is.

use std::io::Read;
use std::path::Path;

/// Reads the `fmt ` chunk of a RIFF/WAVE file and describes it, for example
/// `"mu-law (format tag 0x0007), 8-bit, 1 channel, 8000 Hz"`. `None` when the file has no
/// readable `fmt ` chunk.
pub(super) fn describe_format(path: &Path) -> Option<String> {
    let mut header = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut header)
        .ok()?;
    describe_header(&header)
}

fn describe_header(bytes: &[u8]) -> Option<String> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        let body = at + 8;
        if id == b"fmt " {
            let fmt = bytes.get(body..body + len.min(40))?;
            return describe_fmt(fmt);
        }
        // Chunks are padded to an even length.
        at = body.checked_add(len)?.checked_add(len % 2)?;
    }
    None
}

fn describe_fmt(fmt: &[u8]) -> Option<String> {
    let u16_at = |i: usize| fmt.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| {
        fmt.get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut tag = u16_at(0)?;
    let channels = u16_at(2)?;
    let rate = u32_at(4)?;
    let bits = u16_at(14)?;
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
        tag = u16_at(24).unwrap_or(tag);
    }
    let name = match tag {
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0055 => "MP3",
        0xFFFE => "extensible",
        _ => "unknown encoding",
    };
    let plural = if channels == 1 { "" } else { "s" };
    Some(format!(
        "{name} (format tag 0x{tag:04X}), {bits}-bit, {channels} channel{plural}, {rate} Hz"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        h.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        h.extend_from_slice(b"fmt \x10\0\0\0");
        h.extend_from_slice(&tag.to_le_bytes());
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * u32::from(bits / 8)).to_le_bytes());
        h.extend_from_slice(&(bits / 8).to_le_bytes());
        h.extend_from_slice(&bits.to_le_bytes());
        h
    }

    #[test]
    fn names_alaw_after_a_padded_chunk() {
        assert_eq!(
            describe_header(&header(6, 1, 8000, 8)).as_deref(),
            Some("A-law (format tag 0x0006), 8-bit, 1 channel, 8000 Hz")
        );
    }

    #[test]
    fn names_64_bit_float() {
        assert_eq!(
            describe_header(&header(3, 2, 48000, 64)).as_deref(),
            Some("IEEE float (format tag 0x0003), 64-bit, 2 channels, 48000 Hz")
        );
    }

    #[test]
    fn not_riff_is_none() {
        assert_eq!(describe_header(b"OggS\0\0\0\0\0\0\0\0\0\0\0\0"), None);
    }
}
