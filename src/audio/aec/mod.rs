//! The acoustic echo canceller this crate ships: WebRTC's AEC3, in its pure-Rust port
//! `sonora-aec3` (feature `aec`), behind the [`EchoCanceller`] hook.
//!
//! AEC3 works on 4 ms blocks at 16 kHz: an adaptive filter removes the echo it can model and a
//! suppressor takes out what is left while only the far end talks, and its own delay estimator
//! finds how long the room and the devices take (up to about half a second). This wrapper feeds
//! it the way WebRTC's audio processing does: the playback signal as the speaker's callback
//! hands it to the device, and the microphone signal as it is captured, one render block with
//! each capture block. The two streams are continuous (silence included), so a render block and
//! the capture block it goes in with stay the same distance apart, and AEC3's estimator finds
//! that distance once. The devices' reported latencies are only a hint for AEC3's start
//! ([`EchoCanceller::set_playback_lead`]); jitter in them never moves the alignment.
//!
//! Both devices hand audio over in bursts (on PulseAudio the speaker's 20 ms periods, the
//! microphone's 25 ms fragments), so a cushion of playback signal waits here: as much as the
//! bursts need, and less than the playback lead, so that a render block is never heard after
//! the capture block it goes with (AEC3 cannot remove an echo that comes before its reference).
//! When the cushion runs dry (the speaker stalled) the render stream is padded with silence;
//! when it stays above [`MAX_BACKLOG`] for [`CHECK_EVERY`] (the speaker's clock is faster, or
//! the canceller started late) the excess is dropped. Either moves the echo in the render
//! stream, and AEC3 re-finds it, resetting its filters. A speaker's underrun (it played
//! silence its callback did not hand over) does not: the renderer dates it by the device's
//! timestamps and puts that silence into the playback signal where it was heard
//! ([`PlaybackRenderer::render`](super::PlaybackRenderer::render)), and the padding done here
//! meanwhile is taken back ([`EchoCanceller::playback_underrun`]).
//!
//! Playback that reaches the canceller late while the speaker plays on (this process stalled,
//! not the device) is padded over all the same, which leaves the render stream behind the echo
//! by the padding. The devices' timestamps cannot tell this from an underrun (their jitter here
//! is larger than the shift), but the backlog can: its floor, its lowest point over each
//! 100 ms, stays put to the sample while both streams flow, and comes back higher by exactly
//! the padding once the late signal arrives. Then the padding's worth is dropped
//! (`floor::BacklogFloor`) and AEC3 keeps the echo; the microphone is turned down from the first
//! matching window until 200 ms after. Other rises of the floor are left to AEC3: how the
//! devices' bursts interleave moves it by up to a burst with nothing misaligned.
//!
//! While it re-converges after such a glitch, what AEC3 lets through of the assistant's voice
//! would be taken for the user talking. The echo guard covers that: after a stall, a drop, a
//! speaker's underrun or a move of AEC3's delay, and the first time the assistant talks (AEC3
//! may start from a wrong delay), the microphone signal is turned down by 30 dB
//! while the assistant is audible, until AEC3 has the echo again (its ERLE estimate above 6 dB,
//! and 15 dB measured between its input and output for half a second of the assistant talking;
//! at least 1 s, at most 5 s). Barge-in waits for that; on a machine that keeps up it never
//! happens.
//!
//! While the far end is silent (the user talks, a tool runs, nobody does), AEC3 has nothing to
//! remove, and it is left out: once every render block for longer than AEC3 keeps render signal
//! (its delay estimator's 612 ms, its filter's 52 ms and a block: 167 blocks with the default
//! tuning; plus 32 ms) has been silence (RMS under -70 dBFS), neither the render blocks nor the
//! capture blocks go to AEC3, and the microphone blocks are passed on as AEC3 would hand them back
//! (it changes nothing there: no echo to subtract, no suppression, no comfort noise). Both streams
//! are left out alike, so for AEC3 the pause is just shorter: its render buffer holds only the
//! silence it had, its delay and its filters stay as they were (the room did not change), and when
//! the far end talks again (the first render block that is not silence) it removes the echo at
//! once. It is handed the block before that one first (the silent render block, the previous
//! microphone block), so that its overlap-add holds that block and not the one it saw last, and the
//! switches fade over one block between its output and the passed-on signal. Everything else goes
//! on while AEC3 is left out: the cushion, padding, drops and underruns are kept track of block by
//! block, and the echo guard's clock runs. [`AecStats::skipped`] counts the blocks left out. In the
//! benchmark's conversation (the assistant talking 46% of the time) the capture path costs 35-40%
//! less CPU (BENCHMARKS.md).
//!
//! The canceller delays the microphone signal by two blocks (8 ms): the block it gathers, and
//! AEC3's own (its output is the overlap-add of the previous block and this one).

use std::collections::VecDeque;
use std::time::Duration;

use sonora_aec3::block::Block;
use sonora_aec3::block_processor::BlockProcessor;
use sonora_aec3::config::EchoCanceller3Config;

use super::echo::EchoCanceller;
use super::resample::StreamResampler;

mod floor;

use floor::BacklogFloor;

/// The rate AEC3 runs at here: one band, no band splitting.
pub const AEC_RATE: u32 = 16_000;

/// Samples per AEC3 block (4 ms at 16 kHz).
const BLOCK: usize = 64;

/// Longest backlog of playback signal kept waiting for the microphone signal. More, for all of
/// [`CHECK_EVERY`], is dropped down to the cushion the canceller keeps.
pub const MAX_BACKLOG: Duration = Duration::from_millis(80);

/// The most playback signal kept ready for the microphone's blocks, at the start and after a
/// drop: the speaker's and the microphone's bursts (20 and 25 ms on PulseAudio) and scheduling
/// jitter fit in it.
const CUSHION: Duration = Duration::from_millis(50);

/// The least kept ready, when the devices report a short playback lead.
const MIN_CUSHION: Duration = Duration::from_millis(10);

/// How long the backlog must stay above [`MAX_BACKLOG`] before the excess is dropped.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Largest playback lead passed to AEC3 as its starting delay; beyond this (a sound server
/// still settling) AEC3 starts from its default and searches.
const MAX_HINT_MS: i32 = 400;

/// A render block whose RMS (int16 scale) is above this is the assistant talking.
const LOUD_RENDER: f32 = 100.0;

/// A render block whose RMS (int16 scale) is at most this is silence (-70 dBFS: far below
/// what AEC3 counts as render activity, and its echo below any microphone's noise).
const SILENT_RENDER: f32 = 10.0;

/// Blocks of silent render, past all AEC3 still holds, before it is left out (32 ms).
const IDLE_MARGIN_BLOCKS: u64 = 8;

/// How long after loud playback its echo may still arrive, in blocks (600 ms).
const ECHO_TAIL_BLOCKS: u64 = 150;

/// Consecutive padded render blocks (a stalled speaker) that turn the echo guard on.
const GAP_RUN_GUARD: usize = 3;

/// How long padding is remembered for an underrun reported after it, in blocks (200 ms).
const PAD_MEMORY_BLOCKS: u64 = 50;

/// How far AEC3's delay must move to turn the echo guard on, in ms.
const DELAY_MOVE_MS: i32 = 8;

/// AEC3's ERLE estimate at which it counts as converged, in dB.
const GUARD_RELEASE_DB: f64 = 6.0;

/// Shortest the echo guard stays on, in blocks (1 s).
const MIN_GUARD_BLOCKS: u64 = 250;

/// Watch periods in a row with an audible echo well removed before the guard comes off
/// (0.5 s of the assistant talking).
const GOOD_RUN: u32 = 5;

/// How much of the microphone signal AEC3 must remove over a watch period, while the
/// assistant is audible, before the guard comes off, in dB.
const GUARD_REMOVED_DB: f64 = 15.0;

/// A microphone signal whose RMS (int16 scale) stays below this cannot pass for speech.
const QUIET_MIC: f64 = 30.0;

/// Longest the echo guard stays on, in blocks (5 s).
const MAX_GUARD_BLOCKS: u64 = 1250;

/// Gain on the microphone signal while guarded and the assistant is audible (-30 dB).
const GUARD_GAIN: f32 = 0.031_6;

/// How long the microphone stays turned down after the render stream was put back, while
/// AEC3's filter unlearns what it adapted to in between, in blocks (200 ms).
const REALIGN_SETTLE_BLOCKS: u64 = 50;

/// Blocks between two looks at AEC3's figures (100 ms).
const WATCH_EVERY: u64 = 25;

/// Blocks between two debug reports of the canceller's figures (2 s).
const REPORT_EVERY: u64 = 500;

/// How many render blocks AEC3 keeps with the `config` it runs with (sonora-aec3's
/// `get_render_delay_buffer_size`): the delay estimator's matched filters (each a window of 32
/// blocks, shifted by 24), one block, the adaptive filter's length and one more. 167 blocks
/// (668 ms) with the default tuning: once the render signal has been silent that long, every
/// block AEC3 could still hear is silence.
fn render_memory_blocks(config: &EchoCanceller3Config) -> u64 {
    (24 * config.delay.num_filters + 32 + 1 + config.filter.refined.length_blocks + 1) as u64
}

/// Samples in `duration` at [`AEC_RATE`].
fn samples(duration: Duration) -> usize {
    (duration.as_micros() as u64 * u64::from(AEC_RATE) / 1_000_000) as usize
}

/// WebRTC's AEC3 as an [`EchoCanceller`]. See the [module docs](self).
pub struct Aec3Canceller {
    processor: BlockProcessor,
    render: Block,
    capture: Block,
    /// A silent render block, to catch AEC3 up when it is called again after being left out.
    silent: Block,
    /// The previous microphone block (int16 scale): what AEC3 hands back for this one (its
    /// overlap-add lags by a block), and what is passed on while AEC3 is left out.
    prev_near: [f32; BLOCK],
    far_resampler: Option<StreamResampler>,
    far_f32: Vec<f32>,
    far_16k: Vec<f32>,
    /// The playback signal at 16 kHz, int16 scale, not yet handed to AEC3, oldest first.
    far: VecDeque<f32>,
    /// Microphone samples (16 kHz, int16 scale) not yet making a whole block.
    near_in: Vec<f32>,
    /// Cleaned samples not yet handed back, primed with one block.
    near_out: VecDeque<f32>,
    /// The smallest backlog of playback signal since the last check, in samples.
    far_min: usize,
    /// The backlog's floor, to put the render stream back when it falls behind.
    floor: BacklogFloor,
    /// Times the render stream was put back ([`BacklogFloor`]).
    realigns: u64,
    /// The block until which the microphone stays turned down after a put-back.
    settle_until: u64,
    /// Blocks processed since the last check.
    since_check: usize,
    /// The last starting delay given to AEC3, in ms.
    hint_ms: Option<i32>,
    /// The devices' playback lead reported since the last call, in ms.
    lead_ms: Option<f64>,
    /// The devices' last reported playback lead, in ms.
    last_lead_ms: Option<f64>,
    /// Over the last report period, the smallest and largest time (by the devices' clocks)
    /// between the render block handed to AEC3 and the capture block it went with, in ms.
    offset_range: (f64, f64),
    gaps: u64,
    drops: u64,
    blocks: u64,
    /// Consecutive render blocks padded so far.
    gap_run: usize,
    /// Silence padded into the render stream since the playback signal last ran dry, that an
    /// underrun's silence arriving later would count twice, in samples.
    padded: usize,
    /// Blocks since the render stream was last padded.
    since_pad: u64,
    /// Underrun silence reported and not yet reconciled with the padding, in samples.
    underrun_pending: usize,
    underruns: u64,
    /// The last block with a loud playback signal.
    last_loud: u64,
    /// The last block whose playback signal was not silent ([`SILENT_RENDER`]).
    last_sound: u64,
    /// Silent render blocks after which AEC3 is left out: all it keeps, and a margin.
    idle_after: u64,
    /// Whether AEC3 is left out now (the far end has been silent long enough).
    idle: bool,
    /// Blocks passed through without AEC3.
    skipped: u64,
    /// Whether AEC3 has converged once (its ERLE reached [`GUARD_RELEASE_DB`]).
    converged: bool,
    /// Whether the guard came on for the first time the assistant talked.
    first_guarded: bool,
    /// The delay AEC3 had found, to notice when it moves.
    last_delay_ms: Option<i32>,
    /// Since when (block) the echo guard is on, if it is.
    guard_since: Option<u64>,
    /// The gain applied to the microphone signal (1 unless guarded).
    gain: f32,
    /// Power into and out of AEC3 over this watch period, while the assistant is audible.
    watch_in: f64,
    watch_out: f64,
    /// Watch periods in a row, while guarded, in which AEC3 removed enough of an audible echo.
    good_run: u32,
    guards: u64,
}

impl std::fmt::Debug for Aec3Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aec3Canceller")
            .field("far_backlog", &self.far.len())
            .field("render_gaps", &self.gaps)
            .field("render_drops", &self.drops)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl Default for Aec3Canceller {
    fn default() -> Self {
        Self::new()
    }
}

/// What the canceller reports about itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AecStats {
    /// AEC3's own estimate of its echo return loss enhancement, in dB.
    pub erle_db: f64,
    /// The delay AEC3 found between the render stream and the echo, in ms.
    pub delay_ms: i32,
    /// Times the playback signal ran dry and the render stream was padded with silence.
    pub render_gaps: u64,
    /// Times a backlog of playback signal above [`MAX_BACKLOG`] was dropped.
    pub render_drops: u64,
    /// Underruns of the speaker reported ([`EchoCanceller::playback_underrun`]).
    pub underruns: u64,
    /// Times the echo guard came on (see the [module docs](self)).
    pub guards: u64,
    /// Times the render stream had fallen behind the microphone's and was put back.
    pub realigns: u64,
    /// Whether the echo guard is on now.
    pub guarded: bool,
    /// Blocks processed, AEC3's and those passed through without it.
    pub blocks: u64,
    /// Blocks of microphone signal passed through without AEC3 because the far end had been
    /// silent for longer than AEC3 remembers (see the [module docs](self)).
    pub skipped: u64,
    /// Whether AEC3 is left out now.
    pub idle: bool,
}

impl Aec3Canceller {
    /// A canceller with WebRTC's default AEC3 tuning.
    pub fn new() -> Self {
        let config = EchoCanceller3Config::default();
        Self {
            processor: BlockProcessor::new(&config, AEC_RATE as usize, 1, 1),
            render: Block::new(1, 1),
            capture: Block::new(1, 1),
            silent: Block::new(1, 1),
            prev_near: [0.0; BLOCK],
            far_resampler: None,
            far_f32: Vec::new(),
            far_16k: Vec::new(),
            far: VecDeque::new(),
            near_in: Vec::with_capacity(BLOCK * 16),
            near_out: std::iter::repeat_n(0.0, BLOCK).collect(),
            far_min: usize::MAX,
            floor: BacklogFloor::new(),
            realigns: 0,
            settle_until: 0,
            since_check: 0,
            hint_ms: None,
            lead_ms: None,
            last_lead_ms: None,
            offset_range: (f64::MAX, f64::MIN),
            gaps: 0,
            drops: 0,
            blocks: 0,
            gap_run: 0,
            padded: 0,
            since_pad: 0,
            underrun_pending: 0,
            underruns: 0,
            last_loud: 0,
            last_sound: 0,
            // Past the echo guard's tail too: idle is never audible.
            idle_after: (render_memory_blocks(&config) + IDLE_MARGIN_BLOCKS).max(ECHO_TAIL_BLOCKS),
            idle: false,
            skipped: 0,
            converged: false,
            first_guarded: false,
            last_delay_ms: None,
            guard_since: None,
            gain: 1.0,
            watch_in: 0.0,
            watch_out: 0.0,
            good_run: 0,
            guards: 0,
        }
    }

    /// The canceller's own figures.
    pub fn stats(&self) -> AecStats {
        let metrics = self.processor.get_metrics();
        AecStats {
            erle_db: metrics.echo_return_loss_enhancement,
            delay_ms: metrics.delay_ms,
            render_gaps: self.gaps,
            render_drops: self.drops,
            underruns: self.underruns,
            guards: self.guards,
            realigns: self.realigns,
            guarded: self.guard_since.is_some(),
            blocks: self.blocks,
            skipped: self.skipped,
            idle: self.idle,
        }
    }

    fn take_far(&mut self, far_end: &[i16], far_rate: u32) {
        if far_end.is_empty() || far_rate == 0 {
            return;
        }
        if self
            .far_resampler
            .as_ref()
            .is_none_or(|r| r.input_rate() != far_rate)
        {
            self.far_resampler = StreamResampler::low_latency(far_rate, AEC_RATE).ok();
        }
        let Some(resampler) = self.far_resampler.as_mut() else {
            return;
        };
        self.far_f32.clear();
        self.far_f32
            .extend(far_end.iter().map(|&s| f32::from(s) / 32768.0));
        self.far_16k.clear();
        resampler.process(&self.far_f32, &mut self.far_16k);
        self.far.extend(self.far_16k.iter().map(|&s| s * 32768.0));
    }

    /// Turns the echo guard on after a glitch: AEC3 has to find the echo again, and until it
    /// has, what it lets through while the assistant is audible would be heard as the user
    /// talking. Before AEC3 has found the echo once, the first-words guard covers that instead
    /// ([`Self::guard_first_words`]).
    fn guard(&mut self, why: &str) {
        if self.converged {
            self.guard_on(why);
        }
    }

    /// Turns the echo guard on the first time the assistant talks, before AEC3 has found the
    /// echo: it may start from a wrong delay.
    fn guard_first_words(&mut self) {
        if !self.converged && !self.first_guarded {
            self.first_guarded = true;
            self.guard_on("the assistant talks before AEC3 has found the echo");
        }
    }

    fn guard_on(&mut self, why: &str) {
        if self.guard_since.is_none() {
            self.guard_since = Some(self.blocks);
            self.good_run = 0;
            self.guards += 1;
            tracing::debug!(
                why,
                "echo canceller: guarding the microphone until AEC3 has the echo"
            );
        }
    }

    /// Follows AEC3's figures every [`WATCH_EVERY`] blocks: convergence, a moved delay, and
    /// when the guard can come off.
    fn watch(&mut self) {
        if !self.blocks.is_multiple_of(WATCH_EVERY) {
            return;
        }
        let metrics = self.processor.get_metrics();
        let good = metrics.echo_return_loss_enhancement >= GUARD_RELEASE_DB;
        // What AEC3 actually took out while the assistant was audible (nothing audible, or a
        // microphone too quiet to matter, counts as enough).
        let quiet = self.watch_in < QUIET_MIC * QUIET_MIC * (WATCH_EVERY as usize * BLOCK) as f64;
        if !quiet {
            if self.watch_in >= self.watch_out * 10f64.powf(GUARD_REMOVED_DB / 10.0) {
                self.good_run += 1;
            } else {
                self.good_run = 0;
            }
        }
        self.watch_in = 0.0;
        self.watch_out = 0.0;
        if self.converged
            && self
                .last_delay_ms
                .is_some_and(|d| (d - metrics.delay_ms).abs() >= DELAY_MOVE_MS)
        {
            self.guard("the echo moved");
        } else if let Some(since) = self.guard_since
            && ((good && self.good_run >= GOOD_RUN && self.blocks - since >= MIN_GUARD_BLOCKS)
                || self.blocks - since >= MAX_GUARD_BLOCKS)
        {
            self.guard_since = None;
        }
        if good {
            self.converged = true;
        }
        self.last_delay_ms = Some(metrics.delay_ms);
    }

    /// The backlog of playback signal to keep ready: enough that the render stream does not
    /// run dry between the speaker's bursts and the microphone's, and less than the playback
    /// lead, so that the render block handed to AEC3 is never heard after the capture block it
    /// goes with (AEC3 cannot cancel an echo that comes before its reference).
    fn cushion(&self) -> usize {
        let lead = self
            .last_lead_ms
            .map_or(CUSHION.as_secs_f64() * 1000.0, |l| l - 10.0);
        let ms = lead.clamp(
            MIN_CUSHION.as_secs_f64() * 1000.0,
            CUSHION.as_secs_f64() * 1000.0,
        );
        (ms * f64::from(AEC_RATE) / 1000.0) as usize
    }

    /// An underrun's silence is in the render stream where the speaker played it; what this
    /// canceller padded meanwhile (the playback signal ran dry while the speaker was silent)
    /// stands for the same silence, so as much of it is taken out of the front of the backlog
    /// (the underrun's silence, there once the signal ran dry).
    fn reconcile_underrun(&mut self) {
        if self.underrun_pending == 0 {
            return;
        }
        let excess = self.underrun_pending.min(self.padded).min(self.far.len());
        self.far.drain(..excess);
        self.floor.cut();
        self.padded -= excess;
        self.underrun_pending = 0;
    }

    /// Drops the oldest playback signal, or puts silence before it, to leave `backlog` samples.
    fn set_backlog(&mut self, backlog: usize) {
        if self.far.len() > backlog {
            let excess = self.far.len() - backlog;
            self.far.drain(..excess);
        } else {
            for _ in self.far.len()..backlog {
                self.far.push_front(0.0);
            }
        }
    }

    /// The next render block: the oldest playback signal waiting, padded with silence when
    /// there is not enough.
    fn next_render_block(&mut self) {
        if self.blocks == 0 {
            self.set_backlog(self.cushion());
        }
        let slot = self.render.view_mut(0, 0);
        let have = self.far.len().min(BLOCK);
        for (slot, sample) in slot.iter_mut().zip(self.far.drain(..have)) {
            *slot = sample;
        }
        slot[have..].fill(0.0);
        let energy = slot.iter().map(|&s| s * s).sum::<f32>();
        if energy > LOUD_RENDER * LOUD_RENDER * BLOCK as f32 {
            self.last_loud = self.blocks;
            self.guard_first_words();
        }
        if energy > SILENT_RENDER * SILENT_RENDER * BLOCK as f32 {
            self.last_sound = self.blocks;
        }
        if have < BLOCK && self.blocks > 0 {
            self.floor.padded(BLOCK - have);
            self.padded += BLOCK - have;
            self.since_pad = 0;
            self.gap_run += 1;
            if self.gap_run == GAP_RUN_GUARD {
                self.guard("the playback signal stopped for a while");
            }
            self.gaps += 1;
            tracing::trace!(
                missing_samples = BLOCK - have,
                "echo canceller: playback signal late, render padded"
            );
        }
        if have == BLOCK {
            self.gap_run = 0;
            self.since_pad += 1;
            if self.since_pad > PAD_MEMORY_BLOCKS {
                self.padded = 0;
            }
        }
        if let Some(behind) = self.floor.observe(self.far.len()) {
            let behind = behind.min(self.far.len());
            self.far.drain(..behind);
            self.realigns += 1;
            self.settle_until = self.blocks + REALIGN_SETTLE_BLOCKS;
            tracing::debug!(
                dropped_samples = behind,
                "echo canceller: playback came late and was padded over; render stream put back"
            );
        }
        self.far_min = self.far_min.min(self.far.len());
        self.since_check += 1;
        if self.since_check >= samples(CHECK_EVERY) / BLOCK {
            if self.far_min != usize::MAX && self.far_min > samples(MAX_BACKLOG) {
                let excess = self.far_min.saturating_sub(self.cushion());
                self.far.drain(..excess);
                self.floor.cut();
                self.drops += 1;
                self.guard("playback signal dropped");
                tracing::debug!(
                    dropped_samples = excess,
                    "echo canceller: playback signal ahead of the microphone, excess dropped"
                );
            }
            self.far_min = usize::MAX;
            self.since_check = 0;
        }
    }
}

impl EchoCanceller for Aec3Canceller {
    fn process(&mut self, near: &mut [f32], near_rate: u32, far_end: &[i16], far_rate: u32) {
        self.take_far(far_end, far_rate);
        self.reconcile_underrun();
        if near_rate != AEC_RATE {
            // Only the capture path's resampling gets here at another rate; leave it as it is.
            return;
        }
        self.near_in.extend(near.iter().map(|&s| s * 32768.0));
        if let Some(lead) = self.lead_ms.take() {
            // When the next render block is heard, less when the next capture block was
            // captured: constant while both streams flow, whatever the devices' jitter.
            let per_ms = f64::from(AEC_RATE) / 1000.0;
            let offset = lead - self.far.len() as f64 / per_ms + self.near_in.len() as f64 / per_ms;
            self.offset_range = (
                self.offset_range.0.min(offset),
                self.offset_range.1.max(offset),
            );
        }
        let whole = self.near_in.len() / BLOCK;
        for b in 0..whole {
            self.next_render_block();
            let mut near_block = [0.0f32; BLOCK];
            near_block.copy_from_slice(&self.near_in[b * BLOCK..(b + 1) * BLOCK]);
            let audible = self.blocks.saturating_sub(self.last_loud) < ECHO_TAIL_BLOCKS;
            let idle = self.blocks - self.last_sound >= self.idle_after;
            if self.idle && idle {
                // AEC3 left out: what it would hand back, the previous block unchanged.
                self.capture.view_mut(0, 0).copy_from_slice(&self.prev_near);
                self.skipped += 1;
            } else {
                if self.idle {
                    // Back from idle: AEC3 gets the block before this one first (silent
                    // render, that microphone block), so that its overlap-add holds it, not
                    // the block it last saw; that output is dropped.
                    self.processor.buffer_render(&self.silent);
                    self.capture.view_mut(0, 0).copy_from_slice(&self.prev_near);
                    let saturated = self.prev_near.iter().any(|s| s.abs() >= 32_000.0);
                    self.processor
                        .process_capture(false, saturated, None, &mut self.capture);
                }
                self.processor.buffer_render(&self.render);
                let saturated = near_block.iter().any(|s| s.abs() >= 32_000.0);
                self.capture.view_mut(0, 0).copy_from_slice(&near_block);
                if audible {
                    self.watch_in += near_block.iter().map(|&s| f64::from(s * s)).sum::<f64>();
                }
                self.processor
                    .process_capture(false, saturated, None, &mut self.capture);
                if audible {
                    let out = self.capture.view(0, 0);
                    self.watch_out += out.iter().map(|&s| f64::from(s * s)).sum::<f64>();
                }
                if self.idle != idle {
                    // Into or out of idle: fade between AEC3's output and the passed-through
                    // block over this one (they differ by what AEC3's suppressor does).
                    let out = self.capture.view_mut(0, 0);
                    for (i, (sample, &passed)) in out.iter_mut().zip(&self.prev_near).enumerate() {
                        let ramp = (i + 1) as f32 / BLOCK as f32;
                        let w = if idle { ramp } else { 1.0 - ramp };
                        *sample += (passed - *sample) * w;
                    }
                    self.idle = idle;
                    if idle {
                        tracing::trace!("echo canceller: the far end is silent, AEC3 left out");
                    } else {
                        tracing::trace!("echo canceller: the far end talks, AEC3 back");
                    }
                }
            }
            self.prev_near = near_block;
            self.watch();
            // A risen floor may be the render stream falling behind (the echo would get
            // through until it is put back) or a window's jitter: the microphone is turned
            // down until the next window says which, and briefly after a put-back, without
            // holding off barge-in for as long as the echo guard does.
            let guarded = self.guard_since.is_some()
                || self.floor.rising()
                || self.blocks < self.settle_until;
            let target = if guarded && audible { GUARD_GAIN } else { 1.0 };
            let from = self.gain;
            for (i, sample) in self.capture.view_mut(0, 0).iter_mut().enumerate() {
                *sample *= from + (target - from) * (i + 1) as f32 / BLOCK as f32;
            }
            self.gain = target;
            self.near_out
                .extend(self.capture.view(0, 0).iter().copied());
            self.blocks += 1;
            if self.blocks.is_multiple_of(REPORT_EVERY) {
                let stats = self.stats();
                tracing::debug!(
                    erle_db = format_args!("{:.1}", stats.erle_db),
                    delay_ms = stats.delay_ms,
                    backlog_ms = self.far.len() * 1000 / AEC_RATE as usize,
                    render_gaps = stats.render_gaps,
                    render_drops = stats.render_drops,
                    realigns = stats.realigns,
                    guards = stats.guards,
                    skipped = stats.skipped,
                    device_offset_ms =
                        format_args!("{:.0}..{:.0}", self.offset_range.0, self.offset_range.1),
                    "echo canceller"
                );
                self.offset_range = (f64::MAX, f64::MIN);
            }
        }
        self.near_in.drain(..whole * BLOCK);
        for sample in near.iter_mut() {
            *sample = self.near_out.pop_front().unwrap_or(0.0) / 32768.0;
        }
    }

    fn rate(&self) -> Option<u32> {
        Some(AEC_RATE)
    }

    fn playback_underrun(&mut self, silence: Duration) {
        self.underruns += 1;
        self.underrun_pending += samples(silence);
        tracing::debug!(
            silence_ms = silence.as_millis() as u64,
            "echo canceller: the speaker underran"
        );
        self.guard("the speaker underran");
    }

    fn set_playback_lead(&mut self, lead: Duration) {
        // The delay AEC3 will find is the lead, less the backlog waiting here, plus the room.
        // Only a starting point for it (used when it resets), so a coarse value is enough.
        self.lead_ms = Some(lead.as_secs_f64() * 1000.0);
        self.last_lead_ms = self.lead_ms;
        let backlog_ms = (self.far.len() * 1000 / AEC_RATE as usize) as i32;
        let hint = lead.as_millis().min(10_000) as i32 - backlog_ms;
        if !(0..=MAX_HINT_MS).contains(&hint) {
            return;
        }
        if self.hint_ms.is_none_or(|h| (h - hint).abs() >= 8) {
            self.hint_ms = Some(hint);
            self.processor.set_audio_buffer_delay(hint);
        }
    }
}

#[cfg(test)]
mod tests;
