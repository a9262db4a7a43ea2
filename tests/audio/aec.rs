//! The shipped echo canceller ([`Aec3Canceller`]) on real speech, driven directly at its own
//! rate: a far end that talks, pauses while the near end talks, and talks again.

use std::time::Duration;

use realtime_agent::audio::aec::AEC_RATE;
use realtime_agent::audio::{Aec3Canceller, EchoCanceller, StreamResampler};

use crate::support::max_jump;

/// Samples per call: 10 ms.
const CHUNK: usize = 160;

/// The canceller's delay on the microphone signal: its own block and AEC3's (8 ms).
const LAG: usize = 128;

/// espeak-ng speech at 16 kHz, -1..1, from its first audible sample to its last.
fn speech(voice: &str, words: &str) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "160", "-w"])
        .arg(&path)
        .arg(words)
        .status()
        .expect("espeak-ng is needed: apt-get install espeak-ng")
        .success();
    assert!(ok, "espeak-ng failed");
    let mut reader = hound::WavReader::open(&path).unwrap();
    let rate = reader.spec().sample_rate;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let mut resampler = StreamResampler::new(rate, AEC_RATE).unwrap();
    let mut out = Vec::new();
    resampler.process(&samples, &mut out);
    resampler.flush(&mut out);
    // Without espeak-ng's silence before and after.
    let audible = |s: &f32| s.abs() > 1e-3;
    let start = out.iter().position(audible).unwrap_or(0);
    let end = out.iter().rposition(audible).map_or(0, |e| e + 1);
    out[start..end].to_vec()
}

/// A laptop's loudspeaker-to-microphone path: 120 ms, -6 dB, a small speaker's band (one-pole
/// high-pass at 200 Hz, low-pass at 5 kHz) and two weak reflections.
fn echo_path(far: &[f32]) -> Vec<f32> {
    let rate = AEC_RATE as usize;
    let a = |hz: f32| (-std::f32::consts::TAU * hz / AEC_RATE as f32).exp();
    let (hp_a, lp_a) = (a(200.0), a(5000.0));
    let (mut hp_in, mut hp_out, mut lp) = (0.0f32, 0.0f32, 0.0f32);
    let shaped: Vec<f32> = far
        .iter()
        .map(|&x| {
            hp_out = hp_a * (hp_out + x - hp_in);
            hp_in = x;
            lp = lp_a * lp + (1.0 - lp_a) * hp_out;
            lp
        })
        .collect();
    let delay = rate * 120 / 1000;
    let taps = [
        (0, 0.5f32),
        (rate * 7 / 1000, 0.12),
        (rate * 19 / 1000, 0.05),
    ];
    (0..far.len())
        .map(|i| {
            taps.iter()
                .filter_map(|&(extra, gain)| i.checked_sub(delay + extra).map(|j| gain * shaped[j]))
                .sum()
        })
        .collect()
}

fn power(x: &[f32]) -> f64 {
    x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64
}

/// How much less of `echo` (microphone samples `range`) is in the output, in dB.
fn erle(mic: &[f32], out: &[f32], range: std::ops::Range<usize>) -> f64 {
    let sent = &out[range.start + LAG..range.end + LAG];
    10.0 * (power(&mic[range]) / power(sent).max(1e-20)).log10()
}

/// What one conversation-like run saw.
struct Turns {
    mic: Vec<f32>,
    out: Vec<f32>,
    /// Where the far end stops and starts again, in samples.
    pause: std::ops::Range<usize>,
    /// The chunks after which the canceller went idle and came back.
    idle_from: usize,
    idle_to: usize,
    /// AEC3's delay just before the pause.
    delay_before: i32,
    /// Times the echo guard had come on by the pause (the first answer's, until AEC3 first
    /// has the echo).
    guards_before: u64,
    stats: realtime_agent::audio::aec::AecStats,
}

/// The far end talks (8 s), is silent for 6 s while the near end talks (4.4 s from 0.3 s on),
/// then talks again; the microphone hears the echo, the near end and a -70 dBFS noise floor.
fn run_turns() -> Turns {
    let first = speech(
        "en-us",
        "Here is the long answer you asked for. The weather today is mild with a light \
         breeze from the west, and tomorrow brings some rain in the afternoon.",
    );
    let second = speech(
        "en-us",
        "The train to the city leaves at ten past nine from platform four, and the next one \
         half an hour later.",
    );
    let talker = speech(
        "en-gb+m3",
        "Wait, stop, I have a different question about the train to the city.",
    );
    let rate = AEC_RATE as usize;
    let pause_len = rate * 6;
    let mut far = first.clone();
    far.resize(first.len() + pause_len, 0.0);
    far.extend_from_slice(&second);
    far.resize(far.len().div_ceil(CHUNK) * CHUNK, 0.0);
    let pause = first.len()..first.len() + pause_len;
    assert!(
        talker.len() + rate * 3 / 10 < pause_len - rate,
        "the talker fits the pause"
    );
    let mut noise = 0x2545_f491_u32;
    let mut mic = echo_path(&far);
    for (i, m) in mic.iter_mut().enumerate() {
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        *m += (noise as f32 / u32::MAX as f32 - 0.5) * 2.0 * 10f32.powf(-70.0 / 20.0);
        if let Some(t) = i.checked_sub(pause.start + rate * 3 / 10) {
            *m += 0.5 * talker.get(t).copied().unwrap_or(0.0);
        }
    }
    let far_i16: Vec<i16> = far.iter().map(|&s| (s * 32767.0) as i16).collect();
    let mut aec = Aec3Canceller::new();
    let mut out = mic.clone();
    let (mut idle_from, mut idle_to, mut delay_before, mut guards_before) = (None, None, 0, 0);
    for (c, (near, far)) in out.chunks_mut(CHUNK).zip(far_i16.chunks(CHUNK)).enumerate() {
        aec.set_playback_lead(Duration::from_millis(60));
        aec.process(near, AEC_RATE, far, AEC_RATE);
        let stats = aec.stats();
        if c == pause.start / CHUNK {
            delay_before = stats.delay_ms;
            guards_before = stats.guards;
        }
        if stats.idle && idle_from.is_none() {
            idle_from = Some(c);
        }
        if !stats.idle && idle_from.is_some() && idle_to.is_none() {
            idle_to = Some(c);
        }
    }
    // The output is the microphone signal `LAG` later: pad the comparison range.
    out.extend(std::iter::repeat_n(0.0, LAG));
    Turns {
        mic,
        out,
        pause,
        idle_from: idle_from.expect("the canceller went idle"),
        idle_to: idle_to.expect("the canceller came back"),
        delay_before,
        guards_before,
        stats: aec.stats(),
    }
}

/// Far end silent for 6 s while the near end talks: once the far end has been silent for
/// longer than AEC3 remembers, AEC3 is left out (the stats count the blocks) and the near
/// end's speech passes sample for sample, 8 ms late.
#[test]
fn a_silent_far_end_leaves_aec3_out_and_passes_the_near_end_unchanged() {
    let t = run_turns();
    let rate = AEC_RATE as usize;
    // Idle from about 0.75 s into the pause (AEC3 keeps 668 ms of render, the canceller's
    // cushion holds 50 ms) to its end.
    let idle_at = (t.idle_from * CHUNK).checked_sub(t.pause.start);
    assert!(
        idle_at.is_some_and(|at| (rate * 65 / 100..rate * 85 / 100).contains(&at)),
        "idle at {}, the pause from {}",
        t.idle_from * CHUNK,
        t.pause.start
    );
    let back_at = t.idle_to * CHUNK;
    assert!(
        (t.pause.end..t.pause.end + rate / 10).contains(&back_at),
        "back at {back_at}, the far end at {}",
        t.pause.end
    );
    let expected = (t.idle_to - t.idle_from) * CHUNK / 64;
    assert!(
        t.stats.skipped.abs_diff(expected as u64) <= 4,
        "{} blocks skipped, about {expected} expected: {:?}",
        t.stats.skipped,
        t.stats
    );
    assert_eq!(t.stats.blocks, (t.mic.len() / 64) as u64, "{:?}", t.stats);
    // Sample for sample while idle (after the block that fades into it).
    let idle = (t.idle_from + 1) * CHUNK..t.pause.end;
    let mut differ = idle
        .clone()
        .filter(|&i| t.out[i] != t.mic[i - LAG])
        .peekable();
    assert!(
        differ.peek().is_none(),
        "{} samples of {} differ from the microphone's, the first at {:?}",
        differ.clone().count(),
        idle.len(),
        differ.next()
    );
    // The near end talks there.
    let talk = power(&t.mic[t.pause.start + rate..t.pause.start + 2 * rate]);
    assert!(10.0 * talk.log10() > -40.0, "near end at {talk:e}");
}

/// When the far end talks again after its silence, its echo is removed from the start as
/// well as before the pause (AEC3 kept its delay and filters: no re-convergence, no guard),
/// and going idle and coming back make no click.
#[test]
fn after_the_silence_the_echo_is_removed_at_once_without_clicks() {
    let t = run_turns();
    let rate = AEC_RATE as usize;
    let before = erle(&t.mic, &t.out, 2 * rate..t.pause.start);
    let start = erle(&t.mic, &t.out, t.pause.end + rate / 5..t.pause.end + rate);
    let rest = erle(&t.mic, &t.out, t.pause.end + rate / 5..t.mic.len() - LAG);
    println!(
        "ERLE before the pause {before:.1} dB, after it {start:.1} dB (0.2-1 s), \
         {rest:.1} dB (0.2 s on)"
    );
    assert!(
        start >= 25.0,
        "ERLE {start:.1} dB in the first second after the pause"
    );
    assert!(
        start >= before - 3.0 && rest >= before - 3.0,
        "ERLE {start:.1} / {rest:.1} dB after the pause, {before:.1} dB before"
    );
    assert_eq!(
        t.stats.guards, t.guards_before,
        "no guard after the pause: {:?}",
        t.stats
    );
    assert_eq!(t.stats.delay_ms, t.delay_before, "{:?}", t.stats);
    // No click: around each switch (a window of 30 ms at the switching block) the output's
    // largest step is no larger than in the 200 ms around it, and it stays within a hair of
    // the microphone signal (neither switch has echo in the microphone yet).
    for (what, chunk) in [("going idle", t.idle_from), ("coming back", t.idle_to)] {
        let at = chunk * CHUNK;
        let switch = at - CHUNK..at + 2 * CHUNK;
        let around = at - rate / 10..at + rate / 10;
        let (step, usual) = (
            max_jump(&t.out[switch.clone()]),
            max_jump(&t.out[around.start..switch.start])
                .max(max_jump(&t.out[switch.end..around.end])),
        );
        println!("{what}: largest step {step:e} at the switch, {usual:e} around it");
        assert!(
            step <= usual,
            "{what}: a step of {step:e} at the switch, {usual:e} around it"
        );
        let worst = switch
            .clone()
            .map(|i| (t.out[i] - t.mic[i - LAG]).abs())
            .fold(0.0, f32::max);
        let level = power(&t.mic[around.clone()]).sqrt() as f32;
        println!("{what}: output off the microphone signal by {worst:e} at most (RMS {level:e})");
        assert!(
            worst <= 0.1 * level,
            "{what}: off by {worst:e}, RMS {level:e}"
        );
    }
}
