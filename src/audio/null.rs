//! A sink that plays nothing, at the pace it would play.

use std::time::{Duration, Instant};

use super::playback::{self, PlaybackMonitor, PlaybackQueue, PlaybackRenderer};
use super::{AudioError, AudioSink, FarEnd, Played};
use crate::protocol::AudioFormat;

/// Discards the model's audio, but in real time: an item of 3 seconds "plays" for 3 seconds,
/// [`AudioSink::is_playing`] is true meanwhile and [`AudioSink::stop`] reports the part whose
/// time has passed.
///
/// Real-time pacing keeps barge-in honest when there is no speaker (a server, `--text` with
/// voice output off): truncation then tells the model how far the user *could* have listened,
/// as a speaker would, instead of claiming everything was heard the moment it arrived.
#[derive(Debug)]
pub struct NullSink {
    queue: PlaybackQueue,
    renderer: PlaybackRenderer,
}

impl NullSink {
    /// A null sink for audio in `format`.
    pub fn new(format: AudioFormat) -> Result<Self, AudioError> {
        Self::with_capacity(format, playback::DEFAULT_CAPACITY)
    }

    /// A null sink holding at most `capacity` of audio not yet "played".
    pub fn with_capacity(format: AudioFormat, capacity: Duration) -> Result<Self, AudioError> {
        let (queue, renderer) = playback::playback_channel(format, format.sample_rate(), capacity)?;
        Ok(Self { queue, renderer })
    }

    /// Schedules everything queued to play right after what was scheduled before (or now).
    fn schedule(&mut self) {
        let now = Instant::now();
        let start = self.renderer.heard_by().map_or(now, |t| t.max(now));
        self.renderer.skip(self.renderer.queued(), start);
    }
}

impl AudioSink for NullSink {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        let queued = self.queue.play(item_id, audio);
        self.schedule();
        queued
    }

    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        let queued = self.queue.finish_item(item_id);
        self.schedule();
        queued
    }

    fn stop(&mut self) -> Option<Played> {
        // The scheduled but unheard audio never plays.
        let now = Instant::now();
        let played = self.queue.stop_unheard(now);
        self.renderer.cut(now);
        played
    }

    fn is_playing(&self) -> bool {
        self.queue.is_playing()
    }

    fn monitor(&self) -> Option<PlaybackMonitor> {
        Some(self.queue.monitor())
    }

    fn far_end(&mut self) -> Option<FarEnd> {
        // Nothing is rendered as a signal, so there is no echo to cancel.
        None
    }
}
