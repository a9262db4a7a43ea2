//! The acoustic echo canceller this crate ships: WebRTC's AEC3, in its pure-Rust port
//! `sonora-aec3` (feature `aec`), behind the [`EchoCanceller`] hook.
//!
//! AEC3 works on 4 ms blocks at 16 kHz: an adaptive filter removes the echo it can model and a
//! suppressor takes out what is left while only the far end talks, and its own delay estimator
//! finds how long the room and the devices take (up to about half a second). This wrapper
//! feeds it: the playback signal is resampled to 16 kHz and held back by what the devices
//! report about their latencies ([`EchoCanceller::set_playback_lead`]), so the echo always
//! comes after its reference and the estimator only has the acoustic path and the latencies
//! nobody reported left to find. The two sound cards' clocks drift apart; when the backlog
//! strays from the reported lead by more than [`REALIGN_AT`], the far end is cut or padded
//! once, and AEC3 re-finds the delay.
//!
//! The canceller adds a fixed delay of one block (4 ms) to the microphone signal. The capture
//! path resamples to 16 kHz for it, so what is sent upstream carries up to 8 kHz.

use std::collections::VecDeque;
use std::time::Duration;

use sonora_aec3::block::Block;
use sonora_aec3::block_processor::BlockProcessor;
use sonora_aec3::config::EchoCanceller3Config;

use super::echo::EchoCanceller;
use super::resample::StreamResampler;

/// The rate AEC3 runs at here: one band, no band splitting.
pub const AEC_RATE: u32 = 16_000;

/// Samples per AEC3 block (4 ms at 16 kHz).
const BLOCK: usize = 64;

/// How much earlier than the microphone's capture time the far end is taken, so that an echo
/// never comes before its reference when the reported latencies are a little off.
const MARGIN: Duration = Duration::from_millis(50);

/// How far the far-end backlog may stray from the reported lead before it is realigned.
pub const REALIGN_AT: Duration = Duration::from_millis(100);

/// Longest far-end backlog kept without timing information: AEC3 searches about this far.
const MAX_BACKLOG: Duration = Duration::from_millis(500);

/// Samples in `duration` at [`AEC_RATE`].
fn samples(duration: Duration) -> usize {
    (duration.as_micros() as u64 * u64::from(AEC_RATE) / 1_000_000) as usize
}

/// WebRTC's AEC3 as an [`EchoCanceller`]. See the [module docs](self).
pub struct Aec3Canceller {
    processor: BlockProcessor,
    render: Block,
    capture: Block,
    far_resampler: Option<StreamResampler>,
    far_f32: Vec<f32>,
    far_16k: Vec<f32>,
    /// The playback signal at 16 kHz, int16 scale, oldest first.
    far: VecDeque<f32>,
    /// Microphone samples (16 kHz, int16 scale) not yet making a whole block.
    near_in: Vec<f32>,
    /// Cleaned samples not yet handed back, primed with one block.
    near_out: VecDeque<f32>,
    /// The reported lead, smoothed, in samples.
    lead: Option<f64>,
    realignments: u64,
    blocks: u64,
}

impl std::fmt::Debug for Aec3Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aec3Canceller")
            .field("far_backlog", &self.far.len())
            .field("lead", &self.lead)
            .field("realignments", &self.realignments)
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
    /// The delay AEC3 found between the (already lead-aligned) far end and the echo, in ms.
    pub delay_ms: i32,
    /// Times the far end was cut or padded to follow the devices' clocks.
    pub realignments: u64,
}

impl Aec3Canceller {
    /// A canceller with WebRTC's default AEC3 tuning.
    pub fn new() -> Self {
        let config = EchoCanceller3Config::default();
        Self {
            processor: BlockProcessor::new(&config, AEC_RATE as usize, 1, 1),
            render: Block::new(1, 1),
            capture: Block::new(1, 1),
            far_resampler: None,
            far_f32: Vec::new(),
            far_16k: Vec::new(),
            far: VecDeque::new(),
            near_in: Vec::with_capacity(BLOCK * 16),
            near_out: std::iter::repeat_n(0.0, BLOCK).collect(),
            lead: None,
            realignments: 0,
            blocks: 0,
        }
    }

    /// The canceller's own figures.
    pub fn stats(&self) -> AecStats {
        let metrics = self.processor.get_metrics();
        AecStats {
            erle_db: metrics.echo_return_loss_enhancement,
            delay_ms: metrics.delay_ms,
            realignments: self.realignments,
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
            self.far_resampler = StreamResampler::new(far_rate, AEC_RATE).ok();
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

    /// Cuts or pads the far end so that, once the whole blocks waiting now are processed, the
    /// backlog is the reported lead (plus the margin and the microphone samples still waiting).
    fn align(&mut self) {
        let whole = self.near_in.len() / BLOCK * BLOCK;
        let waiting = self.near_in.len() - whole;
        let backlog = self.far.len() as i64 - whole as i64;
        let wanted = match self.lead {
            Some(lead) => (lead + samples(MARGIN) as f64) as i64 + waiting as i64,
            None => backlog.clamp(0, samples(MAX_BACKLOG) as i64),
        };
        let off = backlog - wanted;
        let realign = self.lead.is_some() && off.unsigned_abs() as usize > samples(REALIGN_AT);
        if realign || backlog < 0 || (self.lead.is_none() && off != 0) {
            if off > 0 {
                self.far.drain(..off as usize);
            } else {
                for _ in 0..(-off) {
                    self.far.push_front(0.0);
                }
            }
            if realign && self.blocks > 0 {
                self.realignments += 1;
                tracing::debug!(
                    off_samples = off,
                    lead_samples = self.lead.unwrap_or(0.0) as i64,
                    "echo canceller realigned the far end"
                );
            }
        }
    }
}

impl EchoCanceller for Aec3Canceller {
    fn process(&mut self, near: &mut [f32], near_rate: u32, far_end: &[i16], far_rate: u32) {
        self.take_far(far_end, far_rate);
        if near_rate != AEC_RATE {
            // Only the capture path's resampling gets here at another rate; leave it as it is.
            return;
        }
        self.near_in.extend(near.iter().map(|&s| s * 32768.0));
        self.align();
        let whole = self.near_in.len() / BLOCK;
        for b in 0..whole {
            for (slot, sample) in self
                .render
                .view_mut(0, 0)
                .iter_mut()
                .zip(self.far.drain(..BLOCK))
            {
                *slot = sample;
            }
            self.processor.buffer_render(&self.render);
            let block = &self.near_in[b * BLOCK..(b + 1) * BLOCK];
            let saturated = block.iter().any(|s| s.abs() >= 32_000.0);
            self.capture.view_mut(0, 0).copy_from_slice(block);
            self.processor
                .process_capture(false, saturated, None, &mut self.capture);
            self.near_out
                .extend(self.capture.view(0, 0).iter().copied());
            self.blocks += 1;
        }
        self.near_in.drain(..whole * BLOCK);
        for sample in near.iter_mut() {
            *sample = self.near_out.pop_front().unwrap_or(0.0) / 32768.0;
        }
    }

    fn rate(&self) -> Option<u32> {
        Some(AEC_RATE)
    }

    fn set_playback_lead(&mut self, lead: Duration) {
        let lead = samples(lead) as f64;
        self.lead = Some(match self.lead {
            // Timestamps jitter by a callback or two; follow the trend, not each report.
            Some(smoothed) => smoothed + 0.02 * (lead - smoothed),
            None => lead,
        });
    }
}

#[cfg(test)]
mod tests {
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
        let echo: Vec<f32> = (0..n)
            .map(|i| i.checked_sub(delay).map_or(0.0, |j| 0.4 * far[j]))
            .collect();
        let far_i16: Vec<i16> = far.iter().map(|&s| (s * 32767.0) as i16).collect();
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

    /// Near-end speech with no playback passes, one block (4 ms) later.
    #[test]
    fn passes_the_near_end_one_block_late() {
        let near = voice(AEC_RATE as usize, 1.0);
        let mut aec = Aec3Canceller::new();
        let mut out = near.clone();
        for chunk in out.chunks_mut(100) {
            aec.process(chunk, AEC_RATE, &[], 0);
        }
        assert!(out[..BLOCK].iter().all(|&s| s == 0.0));
        let kept = power(&out[BLOCK..]) / power(&near[..near.len() - BLOCK]);
        assert!(kept > 0.5, "near end kept at {kept:.2} of its power");
    }
}
