//! The hook in the capture path where an echo canceller can sit.
//!
//! A loudspeaker feeds the microphone the assistant's own voice. Until a real acoustic echo
//! canceller is plugged in, the agent uses half-duplex (see
//! [`HalfDuplexSource`](super::HalfDuplexSource)); this module is the seam for the real thing:
//! an [`EchoCanceller`] sees each block of microphone audio together with the playback signal
//! that was rendered meanwhile ([`FarEnd`], taken from a sink with
//! [`AudioSink::far_end`](super::AudioSink::far_end)).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
}

impl<F> EchoCanceller for F
where
    F: FnMut(&mut [f32], u32, &[i16], u32) + Send,
{
    fn process(&mut self, near: &mut [f32], near_rate: u32, far_end: &[i16], far_rate: u32) {
        self(near, near_rate, far_end, far_rate)
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
        }
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
}

impl EchoStage {
    pub(crate) fn new(canceller: Box<dyn EchoCanceller>, far_end: Option<FarEnd>) -> Self {
        Self {
            canceller,
            far_end,
            far: Vec::new(),
        }
    }

    pub(crate) fn apply(&mut self, near: &mut [f32], near_rate: u32) {
        self.far.clear();
        let far_rate = match self.far_end.as_mut() {
            Some(far_end) => {
                far_end.drain_into(&mut self.far);
                far_end.rate()
            }
            None => 0,
        };
        self.canceller.process(near, near_rate, &self.far, far_rate);
    }
}
