//! Half-duplex: hold the microphone back while the assistant is audible.
//!
//! With a loudspeaker the microphone hears the assistant, the server's voice detection takes
//! that for the user, and the assistant interrupts itself. Until an echo canceller sits in the
//! capture path, the agent drops microphone frames while a [`PlaybackMonitor`] says playback is
//! active, plus a short tail for the room's echo and the device latency. With the echo canceller
//! ([`Aec3Canceller`](super::Aec3Canceller)) in the capture path it is off by default, so the user
//! can interrupt by voice; without it, on by default with the default speaker ([`half_duplex_default`]).

use std::time::Duration;

use async_trait::async_trait;

use super::playback::PlaybackMonitor;
use super::{AudioError, AudioSource};
use crate::protocol::AudioFormat;

/// How long the microphone stays closed after playback ends on its own: 300 ms.
pub const DEFAULT_TAIL: Duration = Duration::from_millis(300);

/// Whether half-duplex is on when the user did not say: off while an echo canceller cleans the
/// microphone signal, otherwise on with the default speaker (probably a loudspeaker) and off
/// with a speaker the user picked (probably headphones).
pub fn half_duplex_default(echo_cancellation: bool, default_speaker: bool) -> bool {
    !echo_cancellation && default_speaker
}

/// Wraps a source and drops its frames while the monitored sink plays (and for `tail` after).
///
/// Dropped frames are read from the inner source, so a live microphone does not back up.
#[derive(Debug)]
pub struct HalfDuplexSource<S> {
    inner: S,
    monitor: PlaybackMonitor,
    tail: Duration,
    enabled: bool,
    format: AudioFormat,
    held_back_bytes: u64,
}

impl<S: AudioSource> HalfDuplexSource<S> {
    /// Gates `inner`, whose frames are in `format`, on `monitor` with the given tail.
    pub fn new(inner: S, format: AudioFormat, monitor: PlaybackMonitor, tail: Duration) -> Self {
        Self {
            inner,
            monitor,
            tail,
            enabled: true,
            format,
            held_back_bytes: 0,
        }
    }

    /// Turns the gate on or off (off: frames pass at all times, e.g. with headphones).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Whether the gate is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Milliseconds of microphone audio held back so far.
    pub fn held_back_ms(&self) -> u64 {
        self.format.ms_for_bytes(self.held_back_bytes as usize)
    }

    /// The wrapped source.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

#[async_trait]
impl<S: AudioSource> AudioSource for HalfDuplexSource<S> {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
        loop {
            let Some(frame) = self.inner.next_frame().await? else {
                return Ok(None);
            };
            if self.enabled && self.monitor.is_active(self.tail) {
                self.held_back_bytes += frame.len() as u64;
                continue;
            }
            return Ok(Some(frame));
        }
    }

    fn dropped_ms(&self) -> u64 {
        self.inner.dropped_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::half_duplex_default;

    /// Echo cancellation turns the half-duplex default off; without it, the default speaker
    /// (probably a loudspeaker) turns it on.
    #[test]
    fn half_duplex_defaults_off_with_echo_cancellation() {
        assert!(!half_duplex_default(true, true));
        assert!(!half_duplex_default(true, false));
        assert!(half_duplex_default(false, true));
        assert!(!half_duplex_default(false, false));
    }
}
