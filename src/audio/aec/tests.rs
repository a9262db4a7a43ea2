//! The canceller on synthetic signals: echo removal, stalls, underruns, late playback.

use super::*;

/// Speech-like far end: a few harmonics under a syllable envelope, int16 range as f32.
fn voice(n: usize, seed: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / AEC_RATE as f32;
            let env = (std::f32::consts::PI * 3.0 * t + seed).sin().abs();
            let f0 = 140.0 + 30.0 * (0.7 * t + seed).sin();
            (1..6)
                .map(|h| (std::f32::consts::TAU * f0 * h as f32 * t).sin() / h as f32)
                .sum::<f32>()
                * 0.2
                * env
        })
        .collect()
}

/// What the microphone hears of `far`: `delay` samples late, 8 dB down.
fn echo_of(far: &[f32], delay: usize) -> Vec<f32> {
    (0..far.len())
        .map(|i| i.checked_sub(delay).map_or(0.0, |j| 0.4 * far[j]))
        .collect()
}

/// `x` as the int16 samples a speaker is handed.
fn int16(x: &[f32]) -> Vec<i16> {
    x.iter().map(|&s| (s * 32767.0) as i16).collect()
}

fn power(x: &[f32]) -> f64 {
    x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64
}

/// A delayed, quieter copy of the playback signal is removed from the microphone signal,
/// by more than 20 dB once the canceller has converged.
#[test]
fn removes_a_delayed_echo() {
    let n = AEC_RATE as usize * 8;
    let far = voice(n, 0.0);
    let delay = AEC_RATE as usize * 120 / 1000;
    let echo = echo_of(&far, delay);
    let far_i16 = int16(&far);
    let mut aec = Aec3Canceller::new();
    let mut out = echo.clone();
    for (near, far) in out.chunks_mut(160).zip(far_i16.chunks(160)) {
        aec.set_playback_lead(Duration::ZERO);
        aec.process(near, AEC_RATE, far, AEC_RATE);
    }
    let tail = AEC_RATE as usize * 4..n;
    let erle = 10.0 * (power(&echo[tail.clone()]) / power(&out[tail])).log10();
    assert!(erle > 20.0, "ERLE {erle:.1} dB");
}

/// When the speaker stalls for 100 ms (its stream resumes where it stopped, so the echo
/// comes 100 ms later than before), the guard comes on at once and keeps the echo at
/// least 25 dB down while AEC3 finds it again, then comes off.
#[test]
fn a_stalled_speaker_turns_the_guard_on_until_the_echo_is_found_again() {
    let n = AEC_RATE as usize * 16;
    let far = voice(n, 0.0);
    let far_i16 = int16(&far);
    let chunk = 160;
    let stall_at = AEC_RATE as usize * 6 / chunk;
    let stall = 10;
    // What the speaker plays: the far end, with 100 ms of silence where it stalled.
    let mut played: Vec<f32> = Vec::with_capacity(n + stall * chunk);
    for (c, piece) in far.chunks(chunk).enumerate() {
        if c == stall_at {
            played.extend(std::iter::repeat_n(0.0, stall * chunk));
        }
        played.extend_from_slice(piece);
    }
    let delay = AEC_RATE as usize * 120 / 1000;
    let echo: Vec<f32> = (0..n)
        .map(|i| i.checked_sub(delay).map_or(0.0, |j| 0.4 * played[j]))
        .collect();
    let mut aec = Aec3Canceller::new();
    let mut out = echo.clone();
    let mut far_chunks = far_i16.chunks(chunk);
    for (c, near) in out.chunks_mut(chunk).enumerate() {
        let far = if (stall_at..stall_at + stall).contains(&c) {
            &[][..]
        } else {
            far_chunks.next().unwrap_or(&[])
        };
        aec.set_playback_lead(Duration::from_millis(60));
        aec.process(near, AEC_RATE, far, AEC_RATE);
        if c == stall_at + stall {
            assert!(aec.stats().guarded, "{:?}", aec.stats());
        }
    }
    let stats = aec.stats();
    assert!(stats.guards >= 1, "{stats:?}");
    assert!(!stats.guarded, "the guard came off: {stats:?}");
    let after = stall_at * chunk..n;
    let erle = 10.0 * (power(&echo[after.clone()]) / power(&out[after])).log10();
    assert!(erle > 25.0, "ERLE {erle:.1} dB after the stall");
}

/// When the speaker underruns for 100 ms and the renderer dates it (the silence the
/// speaker played arrives in the playback signal, late, and the underrun is reported), the
/// padding the canceller did meanwhile is taken back: the render stream stays aligned with
/// what was heard (the backlog is what it was before), the guard comes on at once, and the
/// echo stays removed.
#[test]
fn a_dated_underrun_keeps_the_render_stream_aligned() {
    let n = AEC_RATE as usize * 12;
    let far = voice(n, 0.0);
    let far_i16 = int16(&far);
    let chunk = 160;
    let stall_at = AEC_RATE as usize * 6 / chunk;
    let stall = 10;
    let mut played: Vec<f32> = Vec::with_capacity(n + stall * chunk);
    for (c, piece) in far.chunks(chunk).enumerate() {
        if c == stall_at {
            played.extend(std::iter::repeat_n(0.0, stall * chunk));
        }
        played.extend_from_slice(piece);
    }
    let delay = AEC_RATE as usize * 120 / 1000;
    let echo: Vec<f32> = (0..n)
        .map(|i| i.checked_sub(delay).map_or(0.0, |j| 0.4 * played[j]))
        .collect();
    let mut aec = Aec3Canceller::new();
    let mut out = echo.clone();
    let mut far_chunks = far_i16.chunks(chunk);
    let mut backlog_before = 0;
    let mut delay_before = 0;
    let mut late = Vec::new();
    for (c, near) in out.chunks_mut(chunk).enumerate() {
        aec.set_playback_lead(Duration::from_millis(60));
        if (stall_at..stall_at + stall).contains(&c) {
            aec.process(near, AEC_RATE, &[], AEC_RATE);
            continue;
        }
        if c == stall_at - 1 {
            backlog_before = aec.far.len();
            delay_before = aec.stats().delay_ms;
        }
        late.clear();
        if c == stall_at + stall {
            late.resize(stall * chunk, 0);
            aec.playback_underrun(Duration::from_millis(100));
        }
        late.extend_from_slice(far_chunks.next().unwrap_or(&[]));
        aec.process(near, AEC_RATE, &late, AEC_RATE);
        if c == stall_at + stall {
            let stats = aec.stats();
            assert!(stats.guarded, "{stats:?}");
            assert_eq!(stats.underruns, 1);
            assert!(stats.render_gaps > 0, "the stall padded: {stats:?}");
            assert_eq!(aec.far.len(), backlog_before, "{stats:?}");
        }
    }
    let stats = aec.stats();
    assert_eq!(
        stats.delay_ms, delay_before,
        "AEC3 kept the echo: {stats:?}"
    );
    assert_eq!(stats.render_drops, 0, "{stats:?}");
    let after = stall_at * chunk..n;
    let erle = 10.0 * (power(&echo[after.clone()]) / power(&out[after])).log10();
    assert!(erle > 15.0, "ERLE {erle:.1} dB after the underrun");
}

/// Playback that reaches the canceller 70 ms late while the speaker plays on (a stalled
/// process, not a stalled device): the 50 ms cushion runs dry, 20 ms of silence is padded
/// in, and the late signal then arrives all at once. Left alone the render stream would
/// stay 20 ms behind the echo and AEC3 would have to find it again; the canceller sees
/// the backlog's floor risen by those 20 ms, drops them, and AEC3 keeps its delay and the
/// echo.
#[test]
fn playback_padded_over_while_the_speaker_played_on_is_put_back() {
    let n = AEC_RATE as usize * 12;
    let far = voice(n, 0.0);
    let far_i16 = int16(&far);
    let chunk = 160;
    let stall_at = AEC_RATE as usize * 6 / chunk;
    let stall = 7;
    let delay = AEC_RATE as usize * 120 / 1000;
    let echo = echo_of(&far, delay);
    let mut aec = Aec3Canceller::new();
    let mut out = echo.clone();
    let mut backlog_before = 0;
    let mut backlog_after = 0;
    let mut delay_before = 0;
    let mut delivered = 0;
    for (c, near) in out.chunks_mut(chunk).enumerate() {
        aec.set_playback_lead(Duration::from_millis(60));
        if c == stall_at - 1 {
            backlog_before = aec.far.len();
            delay_before = aec.stats().delay_ms;
        }
        // 2.5 s later, at the same point of the blocks' and the chunks' cycle.
        if c == stall_at - 1 + 250 {
            backlog_after = aec.far.len();
        }
        let due = ((c + 1) * chunk).min(n);
        let late = (stall_at..stall_at + stall).contains(&c);
        let far = if late {
            &[][..]
        } else {
            &far_i16[delivered..due]
        };
        delivered += far.len();
        aec.process(near, AEC_RATE, far, AEC_RATE);
    }
    let stats = aec.stats();
    assert!(stats.render_gaps > 0, "the cushion ran dry: {stats:?}");
    assert_eq!(stats.realigns, 1, "{stats:?}");
    assert_eq!(stats.render_drops, 0, "{stats:?}");
    assert_eq!(
        backlog_after, backlog_before,
        "the backlog is back: {stats:?}"
    );
    assert_eq!(
        stats.delay_ms, delay_before,
        "AEC3 kept the echo: {stats:?}"
    );
    // Half a second at a time from the stall on, the echo stays removed (these windows
    // are at 35-40 dB with nothing happening; 3-5 dB when the echo is lost).
    for start in (0..3).map(|k| stall_at * chunk + k * AEC_RATE as usize / 2) {
        let window = start..start + AEC_RATE as usize / 2;
        let erle = 10.0 * (power(&echo[window.clone()]) / power(&out[window])).log10();
        assert!(erle > 25.0, "ERLE {erle:.1} dB from sample {start}");
    }
}

/// A floor that rises without a padding to match is left alone: here the microphone loses
/// 20 ms (the sound server dropped what a stalled process did not read), which raises the
/// floor by 20 ms just as the devices' bursts interleaving differently can with nothing
/// misaligned. Nothing is dropped; AEC3 finds the moved echo by itself.
#[test]
fn a_rise_without_padding_is_left_to_aec3() {
    let n = AEC_RATE as usize * 10;
    let far = voice(n, 0.0);
    let far_i16 = int16(&far);
    let chunk = 160;
    let lost_at = AEC_RATE as usize * 6;
    let lost = 2 * chunk;
    let delay = AEC_RATE as usize * 120 / 1000;
    let echo = echo_of(&far, delay);
    let mut captured: Vec<f32> = echo[..lost_at].to_vec();
    captured.extend_from_slice(&echo[lost_at + lost..]);
    let mut out = captured.clone();
    let mut aec = Aec3Canceller::new();
    let mut backlog_before = 0;
    let mut backlog_after = 0;
    let mut near_chunks = out.chunks_mut(chunk);
    for (c, far) in far_i16.chunks(chunk).enumerate() {
        aec.set_playback_lead(Duration::from_millis(60));
        if c * chunk == lost_at - chunk {
            backlog_before = aec.far.len();
        }
        if c * chunk == lost_at - chunk + 250 * chunk {
            backlog_after = aec.far.len();
        }
        let missing = (lost_at..lost_at + lost).contains(&(c * chunk));
        let near = if missing {
            &mut [][..]
        } else {
            near_chunks.next().unwrap_or(&mut [])
        };
        aec.process(near, AEC_RATE, far, AEC_RATE);
    }
    let stats = aec.stats();
    assert_eq!(
        backlog_after,
        backlog_before + lost,
        "the floor rose: {stats:?}"
    );
    assert_eq!(stats.realigns, 0, "{stats:?}");
    assert_eq!(stats.render_gaps, 0, "{stats:?}");
    assert_eq!(stats.render_drops, 0, "{stats:?}");
}

/// Near-end speech with no playback passes unchanged, two blocks (8 ms) later: through
/// AEC3 (within its rounding) and, once the far end has been silent for long enough,
/// without it, sample for sample.
#[test]
fn passes_the_near_end_two_blocks_late() {
    let near = voice(AEC_RATE as usize * 2, 1.0);
    let mut aec = Aec3Canceller::new();
    let mut out = near.clone();
    for chunk in out.chunks_mut(100) {
        aec.process(chunk, AEC_RATE, &[], 0);
    }
    assert!(out[..2 * BLOCK].iter().all(|&s| s.abs() < 1e-6));
    let off = out[2 * BLOCK..]
        .iter()
        .zip(&near)
        .map(|(o, n)| (o - n).abs())
        .fold(0.0, f32::max);
    assert!(off < 1e-6, "off by {off:e}");
    let stats = aec.stats();
    assert!(stats.idle, "{stats:?}");
    let idle_from = (stats.blocks - stats.skipped) as usize * BLOCK;
    assert!(
        out[idle_from + 2 * BLOCK..]
            .iter()
            .zip(&near[idle_from..])
            .all(|(o, n)| o == n),
        "not sample for sample from {idle_from}"
    );
    assert_eq!(
        stats.blocks - stats.skipped,
        aec.idle_after + 1,
        "{stats:?}"
    );
}

/// The first time the assistant talks, AEC3 has not found the echo yet (here the devices'
/// hint says 60 ms and the echo comes 200 ms late): the guard holds the microphone down until
/// it has, so the echo of the first words stays 25 dB down, then comes off.
#[test]
fn the_first_answer_is_guarded_until_aec3_finds_the_echo() {
    let n = AEC_RATE as usize * 8;
    let far = voice(n, 0.0);
    let far_i16 = int16(&far);
    let delay = AEC_RATE as usize * 200 / 1000;
    let echo = echo_of(&far, delay);
    let mut aec = Aec3Canceller::new();
    let mut out = echo.clone();
    let mut guarded_early = false;
    for (c, (near, far)) in out.chunks_mut(160).zip(far_i16.chunks(160)).enumerate() {
        aec.set_playback_lead(Duration::from_millis(60));
        aec.process(near, AEC_RATE, far, AEC_RATE);
        if c == 10 {
            guarded_early = aec.stats().guarded;
        }
    }
    let stats = aec.stats();
    assert!(guarded_early, "guarded from the first words: {stats:?}");
    assert_eq!(stats.guards, 1, "{stats:?}");
    assert!(!stats.guarded, "the guard came off: {stats:?}");
    let first = delay..AEC_RATE as usize;
    let erle = 10.0 * (power(&echo[first.clone()]) / power(&out[first])).log10();
    assert!(erle > 25.0, "ERLE {erle:.1} dB over the first words' echo");
}
