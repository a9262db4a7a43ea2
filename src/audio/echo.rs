//! The hook in the capture path where an echo canceller sits.
//!
//! A loudspeaker feeds the microphone the assistant's own voice. Without an echo canceller the
//! agent uses half-duplex (see [`HalfDuplexSource`](super::HalfDuplexSource)); with one, an
//! [`EchoCanceller`] sees each block of microphone audio together with the playback signal
//! that was rendered meanwhile ([`FarEnd`], taken from a sink with
//! [`AudioSink::far_end`](super::AudioSink::far_end)), and how far the two are apart in time
//! by the devices' own account ([`EchoCanceller::set_playback_lead`], a hint). The canceller
//! this crate ships is [`Aec3Canceller`](super::Aec3Canceller).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Removes the echo of the playback signal from the microphone signal.
///
/// Closures `FnMut(&mut [f32], u32, &[i16], u32) + Send` implement it too.
pub trait EchoCanceller: Send {
    /// Cleans one block of microphone audio in place.
    ///
    /// `near` is mono `f32` at `near_rate` Hz, in capture order. `far_end` is the playback
    /// signal (mono, at `far_rate` Hz, silence included so it stays aligned in time) rendered
    /// since the previous call; it is empty when no sink feeds this canceller.
    fn process(&mut self, near: &mut [f32], near_rate: u32, far_end: &[i16], far_rate: u32);

    /// The rate the canceller works at, if it wants the microphone signal at one rate: the
    /// capture path then resamples to it before [`process`](Self::process) (and from it to the
    /// session's rate after). `None` (the default): any rate.
    fn rate(&self) -> Option<u32> {
        None
    }

    /// Called before [`process`](Self::process) when the devices report their timing: the
    /// newest playback sample handed over so far is heard `lead` after the newest microphone
    /// sample was captured (the output and input latencies the sound system reports). The
    /// reports jitter by a device period or two and can be off by more; a canceller should
    /// take them as a hint (where to start looking for the echo, how much playback signal it
    /// may hold back) and find the delay itself: [`Aec3Canceller`](super::Aec3Canceller) does.
    fn set_playback_lead(&mut self, lead: Duration) {
        let _ = lead;
    }

    /// Called before [`process`](Self::process) when the speaker underran: it played
    /// `silence` that its callback did not hand over. That silence is already in the
    /// playback signal `process` gets (this call's or an earlier one's), where the speaker
    /// played it; a canceller that padded its reference for the missing signal meanwhile
    /// should take that padding back, and may guard against the echo moving.
    fn playback_underrun(&mut self, silence: Duration) {
        let _ = silence;
    }
}

impl<F> EchoCanceller for F
where
    F: FnMut(&mut [f32], u32, &[i16], u32) + Send,
{
    fn process(&mut self, near: &mut [f32], near_rate: u32, far_end: &[i16], far_rate: u32) {
        self(near, near_rate, far_end, far_rate)
    }
}

/// When the newest sample written to a stream is (or was) heard or captured, lock-free: one
/// atomic word holding the time (microseconds since a base instant, 40 bits) and the stream
/// position of that sample (modulo 2^24), so that a reader can date exactly the samples it has
/// read, whatever was written since.
#[derive(Debug)]
pub(crate) struct StreamClock {
    base: Instant,
    stamp: AtomicU64,
}

/// Positions are compared modulo this: far more than any reader lags behind.
const POSITION_BITS: u32 = 24;
const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;

impl StreamClock {
    pub(crate) fn new() -> Self {
        Self {
            base: Instant::now(),
            stamp: AtomicU64::new(0),
        }
    }

    /// Records that the sample before `position` is heard (or was captured) at `at`. Audio
    /// thread: one atomic store.
    pub(crate) fn mark(&self, position: u64, at: Instant) {
        let micros = (at.saturating_duration_since(self.base).as_micros() as u64).max(1);
        self.stamp.store(
            (micros << POSITION_BITS) | (position & POSITION_MASK),
            Ordering::Release,
        );
    }

    /// When the sample before `position` is heard (or was captured), from the latest mark and
    /// the stream's `rate`; `None` before the first mark.
    pub(crate) fn time_of(&self, position: u64, rate: u32) -> Option<Instant> {
        let stamp = self.stamp.load(Ordering::Acquire);
        if stamp == 0 {
            return None;
        }
        let at = self.base + Duration::from_micros(stamp >> POSITION_BITS);
        let marked = stamp & POSITION_MASK;
        // Signed distance from `position` to the marked one, modulo 2^24.
        let diff = ((marked.wrapping_sub(position) & POSITION_MASK) << (64 - POSITION_BITS)) as i64
            >> (64 - POSITION_BITS);
        let offset =
            Duration::from_nanos(diff.unsigned_abs() * 1_000_000_000 / u64::from(rate.max(1)));
        Some(if diff >= 0 {
            at.checked_sub(offset).unwrap_or(self.base)
        } else {
            at + offset
        })
    }
}

/// The canceller that leaves the microphone signal as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEchoCanceller;

impl EchoCanceller for NoEchoCanceller {
    fn process(&mut self, _: &mut [f32], _: u32, _: &[i16], _: u32) {}
}

/// The playback signal as it is rendered, for an echo canceller.
///
/// A sink's renderer writes every frame it renders (including silence) into a bounded lock-free
/// ring once a `FarEnd` has been taken; reading drains it. When the reader falls more than the
/// ring's length behind, new frames are dropped and counted ([`FarEnd::dropped`]).
pub struct FarEnd {
    pub(crate) ring: rtrb::Consumer<i16>,
    pub(crate) rate: u32,
    pub(crate) dropped: Arc<AtomicU64>,
    /// Cleared when this reader is dropped so the renderer stops copying.
    pub(crate) enabled: Arc<AtomicBool>,
    /// When the frames written into `ring` are heard.
    pub(crate) clock: Arc<StreamClock>,
    /// Frames read so far.
    pub(crate) read: u64,
    /// Silence the renderer put into `ring` for the device's underruns, in frames.
    pub(crate) underrun: Arc<AtomicU64>,
}

impl std::fmt::Debug for FarEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FarEnd")
            .field("rate", &self.rate)
            .field("queued", &self.ring.slots())
            .finish()
    }
}

impl FarEnd {
    /// The rate of the playback signal in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Appends everything rendered since the last call to `out`.
    pub fn drain_into(&mut self, out: &mut Vec<i16>) {
        let n = self.ring.slots();
        if let Ok(chunk) = self.ring.read_chunk(n) {
            let (a, b) = chunk.as_slices();
            out.extend_from_slice(a);
            out.extend_from_slice(b);
            chunk.commit_all();
            self.read += n as u64;
        }
    }

    /// When the last frame drained so far is heard, as the renderer's device reported it;
    /// `None` before the first rendered frame.
    pub fn heard_at(&self) -> Option<Instant> {
        self.clock.time_of(self.read, self.rate)
    }

    /// Silence the renderer put into the signal for the device's underruns so far, in frames
    /// (see [`PlaybackRenderer::render`](super::playback::PlaybackRenderer::render)). Read
    /// before [`drain_into`](Self::drain_into): the silence counted is then in what it drains
    /// (or drained before).
    pub fn underrun_frames(&self) -> u64 {
        self.underrun.load(Ordering::Acquire)
    }

    /// Frames the renderer could not hand over because this reader was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for FarEnd {
    fn drop(&mut self) {
        self.enabled.store(false, Ordering::Relaxed);
    }
}

/// A canceller with the playback signal it listens to: the echo stage of a capture path.
pub(crate) struct EchoStage {
    canceller: Box<dyn EchoCanceller>,
    far_end: Option<FarEnd>,
    far: Vec<i16>,
    /// The far end's underrun silence already reported to the canceller, in frames.
    underrun_seen: u64,
}

impl EchoStage {
    pub(crate) fn new(canceller: Box<dyn EchoCanceller>, far_end: Option<FarEnd>) -> Self {
        Self {
            canceller,
            far_end,
            far: Vec::new(),
            underrun_seen: 0,
        }
    }

    /// Cleans `near`, whose last sample was captured at `captured` when the device says so.
    pub(crate) fn apply(&mut self, near: &mut [f32], near_rate: u32, captured: Option<Instant>) {
        self.far.clear();
        let far_rate = match self.far_end.as_mut() {
            Some(far_end) => {
                let underrun = far_end.underrun_frames();
                far_end.drain_into(&mut self.far);
                if underrun > self.underrun_seen {
                    let frames = underrun - self.underrun_seen;
                    self.underrun_seen = underrun;
                    self.canceller.playback_underrun(Duration::from_nanos(
                        frames * 1_000_000_000 / u64::from(far_end.rate().max(1)),
                    ));
                }
                far_end.rate()
            }
            None => 0,
        };
        let heard = self.far_end.as_ref().and_then(FarEnd::heard_at);
        if let (Some(heard), Some(captured)) = (heard, captured) {
            self.canceller
                .set_playback_lead(heard.saturating_duration_since(captured));
        }
        self.canceller.process(near, near_rate, &self.far, far_rate);
    }
}
