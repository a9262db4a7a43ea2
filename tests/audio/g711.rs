//! G.711 mu-law and A-law against an independent reference, and within the codec's error bound.

use realtime_agent::audio::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};

/// Reference values computed by CPython's `audioop` (see the fixture's header).
const REFERENCE: &str = include_str!("../fixtures/audio/g711_reference.txt");

fn decode_table(name: &str) -> Vec<i16> {
    let line = REFERENCE
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .expect("table in fixture");
    line.split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

/// Every code decodes to the reference implementation's value.
#[test]
fn decoding_matches_the_reference_for_every_code() {
    let ulaw = decode_table("ulaw_decode ");
    let alaw = decode_table("alaw_decode ");
    assert_eq!((ulaw.len(), alaw.len()), (256, 256));
    for code in 0..=255u8 {
        assert_eq!(
            ulaw_decode(code),
            ulaw[usize::from(code)],
            "mu-law 0x{code:02X}"
        );
        assert_eq!(
            alaw_decode(code),
            alaw[usize::from(code)],
            "A-law 0x{code:02X}"
        );
    }
}

/// Samples across the whole range encode to the reference implementation's codes.
#[test]
fn encoding_matches_the_reference() {
    let mut checked = 0;
    for line in REFERENCE.lines().filter_map(|l| l.strip_prefix("encode ")) {
        let mut parts = line.split_whitespace();
        let sample: i16 = parts.next().unwrap().parse().unwrap();
        let ulaw = u8::from_str_radix(parts.next().unwrap(), 16).unwrap();
        let alaw = u8::from_str_radix(parts.next().unwrap(), 16).unwrap();
        assert_eq!(ulaw_encode(sample), ulaw, "mu-law of {sample}");
        assert_eq!(alaw_encode(sample), alaw, "A-law of {sample}");
        checked += 1;
    }
    assert!(checked > 3800, "fixture has {checked} samples");
}

/// Every 16-bit sample comes back within half a quantisation step (1/32 of its magnitude plus
/// the smallest step), and decoding then encoding any code gives the code back.
#[test]
fn round_trips_stay_within_the_codec_error_bound() {
    for x in i16::MIN..=i16::MAX {
        let x32 = i32::from(x);
        let u = i32::from(ulaw_decode(ulaw_encode(x)));
        assert!((u - x32).abs() <= x32.abs() / 32 + 8, "mu-law {x} -> {u}");
        let a = i32::from(alaw_decode(alaw_encode(x)));
        assert!((a - x32).abs() <= x32.abs() / 32 + 16, "A-law {x} -> {a}");
    }
    for code in 0..=255u8 {
        // Mu-law has two zeros; 0x7F (negative zero) encodes back as 0xFF.
        let expected = if code == 0x7F { 0xFF } else { code };
        assert_eq!(
            ulaw_encode(ulaw_decode(code)),
            expected,
            "mu-law code 0x{code:02X}"
        );
        assert_eq!(
            alaw_encode(alaw_decode(code)),
            code,
            "A-law code 0x{code:02X}"
        );
    }
}
