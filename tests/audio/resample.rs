//! The streaming resampler keeps a tone's frequency, timing and length through every pair of
//! common rates, whatever size the pieces come in.

use realtime_agent::audio::StreamResampler;
use realtime_agent::audio::resample::COMMON_RATES;

use crate::support::{max_jump, measure_frequency, rms, tone};

/// Piece sizes that never line up with the resampler's chunks.
const PIECES: [usize; 7] = [1, 137, 999, 2, 480, 31, 4411];

fn resample_in_pieces(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    let mut r = StreamResampler::new(from, to).unwrap();
    let mut out = Vec::new();
    let mut rest = input;
    for &size in PIECES.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        r.process(piece, &mut out);
        rest = tail;
    }
    r.flush(&mut out);
    out
}

fn resample_at_once(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    let mut r = StreamResampler::new(from, to).unwrap();
    let mut out = Vec::new();
    r.process(input, &mut out);
    r.flush(&mut out);
    out
}

/// A 440 Hz tone keeps its frequency, amplitude, phase and length through each pair of rates.
#[test]
fn tone_keeps_frequency_and_length_through_every_pair() {
    for from in COMMON_RATES {
        for to in COMMON_RATES {
            let input = tone(440.0, from, 1.0, 0.5);
            let out = resample_in_pieces(&input, from, to);
            let expected_len =
                (input.len() as u64 * u64::from(to) + u64::from(from) / 2) / u64::from(from);
            assert_eq!(out.len() as u64, expected_len, "{from} -> {to}: length");

            // Ignore 20 ms at each end, where the filter meets the silence around the clip.
            let edge = to as usize / 50;
            let freq = measure_frequency(&out, to, edge);
            assert!((freq - 440.0).abs() < 0.2, "{from} -> {to}: {freq} Hz");
            let level = rms(&out[edge..out.len() - edge]);
            assert!(
                (level - 0.5 / 2f64.sqrt()).abs() < 0.01,
                "{from} -> {to}: rms {level}"
            );

            // No delay: the output lines up with the ideal tone sampled at the new rate.
            let ideal = tone(440.0, to, 1.0, 0.5);
            let worst = out[edge..out.len() - edge]
                .iter()
                .zip(&ideal[edge..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 0.01,
                "{from} -> {to}: off the ideal tone by {worst}"
            );
        }
    }
}

/// Feeding odd-sized pieces gives exactly the output of one piece: no clicks at piece edges.
#[test]
fn pieces_give_the_same_output_as_one_call() {
    for (from, to) in [
        (48_000, 24_000),
        (44_100, 24_000),
        (24_000, 48_000),
        (8_000, 24_000),
        (22_050, 16_000),
    ] {
        let input = tone(440.0, from, 0.5, 0.5);
        let pieces = resample_in_pieces(&input, from, to);
        let whole = resample_at_once(&input, from, to);
        assert_eq!(pieces, whole, "{from} -> {to}");
        // A 440 Hz sine of amplitude 0.5 moves at most 2*pi*440/rate*0.5 per sample.
        let limit = (std::f64::consts::TAU * 440.0 / f64::from(to) * 0.5 * 1.05) as f32;
        let edge = to as usize / 50;
        assert!(
            max_jump(&pieces[edge..pieces.len() - edge]) <= limit,
            "{from} -> {to}"
        );
    }
}

/// After a flush the resampler starts clean: a second clip comes out exactly like the first.
#[test]
fn flush_resets_for_the_next_stream() {
    let input = tone(440.0, 44_100, 0.2, 0.5);
    let mut r = StreamResampler::new(44_100, 24_000).unwrap();
    let mut first = Vec::new();
    r.process(&input, &mut first);
    r.flush(&mut first);
    let mut second = Vec::new();
    r.process(&input, &mut second);
    r.flush(&mut second);
    assert_eq!(first, second);
}

/// The low-latency resampler of the echo canceller's stages (16 kHz to and from the device and
/// session rates): a tone keeps its frequency and level and comes out exactly `latency()`
/// late, the same in any pieces, and the flush pushes out that much more.
#[test]
fn low_latency_stages_delay_by_their_latency_only() {
    for (from, to) in [
        (48_000, 16_000),
        (24_000, 16_000),
        (16_000, 24_000),
        (8_000, 16_000),
        (16_000, 48_000),
    ] {
        let r = StreamResampler::low_latency(from, to).unwrap();
        let latency = r.latency().as_secs_f64();
        // Under 2 ms between 16 kHz and the usual device rates; 8 kHz's narrower band
        // takes a longer filter.
        let bound = if from.min(to) < 16_000 { 0.004 } else { 0.002 };
        assert!(
            latency > 0.0 && latency < bound,
            "{from} -> {to}: {latency} s"
        );
        let input = tone(440.0, from, 1.0, 0.5);
        let mut whole = Vec::new();
        let mut r = StreamResampler::low_latency(from, to).unwrap();
        r.process(&input, &mut whole);
        let mut pieces = Vec::new();
        let mut r = StreamResampler::low_latency(from, to).unwrap();
        let mut rest = &input[..];
        for &size in PIECES.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at(size.min(rest.len()));
            r.process(piece, &mut pieces);
            rest = tail;
        }
        assert_eq!(whole, pieces, "{from} -> {to}: pieces");
        assert_eq!(
            whole.len() as u64,
            input.len() as u64 * u64::from(to) / u64::from(from)
        );
        r.flush(&mut pieces);
        let tail = (latency * f64::from(to)).ceil() as usize;
        assert_eq!(pieces.len(), whole.len() + tail, "{from} -> {to}: flush");

        let edge = to as usize / 50;
        let freq = measure_frequency(&whole, to, edge);
        assert!((freq - 440.0).abs() < 0.2, "{from} -> {to}: {freq} Hz");
        let level = rms(&whole[edge..whole.len() - edge]);
        assert!(
            (level - 0.5 / 2f64.sqrt()).abs() < 0.005,
            "{from} -> {to}: rms {level}"
        );
        // Output sample k is the ideal tone at time k / to - latency.
        let worst = (edge..whole.len() - edge)
            .map(|k| {
                let t = k as f64 / f64::from(to) - latency;
                let ideal = 0.5 * (std::f64::consts::TAU * 440.0 * t).sin();
                (f64::from(whole[k]) - ideal).abs()
            })
            .fold(0.0, f64::max);
        assert!(
            worst < 0.002,
            "{from} -> {to}: off the delayed tone by {worst}"
        );
    }
}

/// A sweep through the low-latency 16 kHz stages keeps the band the canceller works in
/// (to 6.8 kHz) within 0.1 dB and leaves nothing above 8 kHz (no aliasing, no images).
#[test]
fn low_latency_stages_keep_the_band_and_nothing_else() {
    let level_db = |x: &[f32]| 20.0 * (rms(x) / (0.5 / 2f64.sqrt())).log10();
    for (from, to) in [(48_000u32, 16_000u32), (16_000, 24_000)] {
        for freq in [100.0, 500.0, 1_000.0, 2_000.0, 4_000.0, 6_000.0, 6_800.0] {
            let mut out = Vec::new();
            StreamResampler::low_latency(from, to)
                .unwrap()
                .process(&tone(freq, from, 0.5, 0.5), &mut out);
            let db = level_db(&out[out.len() / 5..]);
            assert!(db.abs() < 0.1, "{from} -> {to}: {freq} Hz at {db:.2} dB");
        }
    }
    // 48 kHz to 16 kHz: tones above the new Nyquist frequency do not fold back.
    for freq in [8_200.0, 10_000.0, 15_000.0, 20_000.0] {
        let mut out = Vec::new();
        StreamResampler::low_latency(48_000, 16_000)
            .unwrap()
            .process(&tone(freq, 48_000, 0.5, 0.5), &mut out);
        let db = level_db(&out[out.len() / 5..]);
        assert!(db < -60.0, "48000 -> 16000: {freq} Hz at {db:.1} dB");
    }
    // 16 kHz to 24 kHz: a 6.5 kHz tone has no image at 9.5 kHz.
    let mut out = Vec::new();
    StreamResampler::low_latency(16_000, 24_000)
        .unwrap()
        .process(&tone(6_500.0, 16_000, 0.5, 0.5), &mut out);
    let tail = &out[out.len() / 5..];
    let ideal: Vec<f32> = (0..tail.len())
        .map(|k| {
            let k = k + out.len() / 5;
            let t = k as f64 / 24_000.0
                - StreamResampler::low_latency(16_000, 24_000)
                    .unwrap()
                    .latency()
                    .as_secs_f64();
            (0.5 * (std::f64::consts::TAU * 6_500.0 * t).sin()) as f32
        })
        .collect();
    let residue: Vec<f32> = tail.iter().zip(&ideal).map(|(a, b)| a - b).collect();
    let db = level_db(&residue);
    assert!(
        db < -40.0,
        "16000 -> 24000: 6.5 kHz leaves {db:.1} dB of other content"
    );
}
