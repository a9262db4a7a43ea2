//! An audio sink drained from memory, on the app's (or a test's) clock.

use std::time::{Duration, Instant};

use crate::audio::playback::{self, PlaybackMonitor, PlaybackQueue, PlaybackRenderer};
use crate::audio::{AudioError, AudioSink, FarEnd, Played};
use crate::protocol::AudioFormat;

/// A sink whose audio an app pulls through a [`ChannelPlayer`].
#[derive(Debug)]
pub struct ChannelSink {
    queue: PlaybackQueue,
}

/// The app's end of a [`ChannelSink`], and its clock: audio counts as played when it is pulled
/// ([`pull`](Self::pull)) or skipped ([`advance`](Self::advance)), so a test decides exactly
/// how much has been played. Send it to the thread that plays.
#[derive(Debug)]
pub struct ChannelPlayer {
    renderer: PlaybackRenderer,
}

impl ChannelSink {
    /// A sink for audio in `format`, pulled as mono `i16` at the format's own rate.
    pub fn new(format: AudioFormat) -> Result<(ChannelSink, ChannelPlayer), AudioError> {
        Self::with_rate(format, format.sample_rate(), playback::DEFAULT_CAPACITY)
    }

    /// A sink for audio in `format`, pulled as mono `i16` at `rate` Hz (resampled), holding at
    /// most `capacity` of unpulled audio.
    pub fn with_rate(
        format: AudioFormat,
        rate: u32,
        capacity: Duration,
    ) -> Result<(ChannelSink, ChannelPlayer), AudioError> {
        let (queue, renderer) = playback::playback_channel(format, rate, capacity)?;
        Ok((ChannelSink { queue }, ChannelPlayer { renderer }))
    }

    /// What has been played so far of the item playing now, without stopping.
    pub fn played(&self) -> Option<Played> {
        self.queue.played()
    }
}

impl AudioSink for ChannelSink {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        self.queue.play(item_id, audio)
    }

    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        self.queue.finish_item(item_id)
    }

    fn stop(&mut self) -> Option<Played> {
        self.queue.stop()
    }

    fn is_playing(&self) -> bool {
        self.queue.is_playing()
    }

    fn monitor(&self) -> Option<PlaybackMonitor> {
        Some(self.queue.monitor())
    }

    fn far_end(&mut self) -> Option<FarEnd> {
        self.queue.take_far_end()
    }
}

impl ChannelPlayer {
    /// Frames per second of the pulled audio.
    pub fn rate(&self) -> u32 {
        self.renderer.rate()
    }

    /// Frames queued and not yet pulled.
    pub fn queued(&self) -> usize {
        self.renderer.queued()
    }

    /// Fills `out` with the next frames (silence after the queued audio); they count as played
    /// now. Returns how many were audio.
    pub fn pull(&mut self, out: &mut [i16]) -> usize {
        self.renderer.render_heard(out)
    }

    /// Like [`pull`](Self::pull) for an app whose own output has latency: the frames count as
    /// heard one after another from `starts_at`.
    pub fn pull_scheduled(&mut self, out: &mut [i16], starts_at: Instant) -> usize {
        self.renderer.render(out, starts_at)
    }

    /// Marks the next `frames` frames as played without reading them (a manual clock).
    /// Returns how many were audio.
    pub fn advance(&mut self, frames: usize) -> usize {
        self.renderer.skip_heard(frames)
    }

    /// Marks the next `ms` milliseconds as played. Returns how many frames were audio.
    pub fn advance_ms(&mut self, ms: u64) -> usize {
        let frames = ms * u64::from(self.rate()) / 1000;
        self.advance(frames as usize)
    }
}
