//! The playback core every sink is built on: a bounded queue of the model's audio per item, and
//! an exact account of how much of each item has been heard.
//!
//! [`playback_channel`] makes the two ends. The [`PlaybackQueue`] (producer, owned by the sink)
//! decodes the session output format, resamples it to the render rate and pushes the frames
//! into a lock-free ring; it remembers where each item starts. The [`PlaybackRenderer`]
//! (consumer, owned by a device callback or a clock) takes frames out and publishes how far
//! playback has got and when those frames reach the listener (the device's latency).
//! [`PlaybackQueue::played`], [`PlaybackQueue::is_playing`] and the [`PlaybackMonitor`] go by
//! what has been heard. [`PlaybackQueue::stop`] tells the renderer to drop everything not yet
//! handed over and turns the handed-over position (which the device will still play out, within
//! its latency) into milliseconds of the item that was playing, rounded down and never more
//! than the item's received audio.
//!
//! The ring is sized for minutes of audio (a response arrives much faster than it plays) and
//! never grows: audio beyond it is dropped and reported as [`AudioError::PlaybackOverflow`].

mod renderer;
mod shared;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

pub use renderer::{PlaybackRenderer, UNDERRUN_MAX, UNDERRUN_MIN};
pub use shared::PlaybackMonitor;
use shared::Shared;

use super::codec::SessionDecoder;
use super::echo::{FarEnd, StreamClock};
use super::pcm;
use super::resample::StreamResampler;
use super::{AudioError, Played};
use crate::protocol::AudioFormat;

/// How much audio a playback queue holds by default: 4 minutes, longer than a spoken response.
pub const DEFAULT_CAPACITY: Duration = Duration::from_secs(240);

/// How much playback signal waits for an echo canceller before frames are dropped: 1 second.
const FAR_END_CAPACITY: Duration = Duration::from_secs(1);

/// Makes a playback queue for audio in `format`, rendered as mono `i16` at `render_rate` Hz,
/// holding up to `capacity` of audio.
pub fn playback_channel(
    format: AudioFormat,
    render_rate: u32,
    capacity: Duration,
) -> Result<(PlaybackQueue, PlaybackRenderer), AudioError> {
    let resampler = StreamResampler::new(format.sample_rate(), render_rate)?;
    let capacity_frames = frames_in(capacity, render_rate).max(1);
    let shared = Arc::new(Shared::new(render_rate));
    let (producer, consumer) = rtrb::RingBuffer::new(capacity_frames);
    let (far_producer, far_consumer) =
        rtrb::RingBuffer::new(frames_in(FAR_END_CAPACITY, render_rate).max(1));
    let far_end_dropped = Arc::new(AtomicU64::new(0));
    let far_end_clock = Arc::new(StreamClock::new());
    let far_end_underrun = Arc::new(AtomicU64::new(0));
    let far_end = FarEnd {
        underrun: far_end_underrun.clone(),
        ring: far_consumer,
        rate: render_rate,
        dropped: far_end_dropped.clone(),
        enabled: shared.far_end_enabled.clone(),
        clock: far_end_clock.clone(),
        read: 0,
    };
    let queue = PlaybackQueue {
        format,
        shared: shared.clone(),
        ring: producer,
        capacity_frames,
        decoder: SessionDecoder::new(format),
        resampler,
        decoded: Vec::new(),
        as_f32: Vec::new(),
        resampled: Vec::new(),
        frames: Vec::new(),
        items: VecDeque::new(),
        pushed_end: 0,
        far_end: Some(far_end),
    };
    let renderer = PlaybackRenderer {
        shared,
        ring: consumer,
        position: 0,
        far_end: far_producer,
        far_end_dropped,
        far_end_clock,
        far_end_written: 0,
        far_end_underrun,
        next_heard: None,
        steady_frames: 0,
    };
    Ok((queue, renderer))
}

/// One overflow error for two pushes, adding up what both dropped.
fn merge_overflow(
    first: Result<(), AudioError>,
    second: Result<(), AudioError>,
) -> Result<(), AudioError> {
    match (first, second) {
        (
            Err(AudioError::PlaybackOverflow {
                dropped_ms: a,
                capacity_ms,
            }),
            Err(AudioError::PlaybackOverflow { dropped_ms: b, .. }),
        ) => Err(AudioError::PlaybackOverflow {
            dropped_ms: a + b,
            capacity_ms,
        }),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(()),
    }
}

fn frames_in(duration: Duration, rate: u32) -> usize {
    (duration.as_nanos() * u128::from(rate) / 1_000_000_000).min(usize::MAX as u128 / 4) as usize
}

/// Where one item's audio sits in the stream of rendered frames.
#[derive(Debug)]
struct ItemSpan {
    id: String,
    /// Position of its first frame.
    start: u64,
    /// Frames pushed for it so far, at the render rate.
    frames: u64,
    /// Samples received for it, in the session output format.
    received: u64,
}

impl ItemSpan {
    fn end(&self) -> u64 {
        self.start + self.frames
    }
}

/// The producer end of the playback core, owned by a sink.
pub struct PlaybackQueue {
    format: AudioFormat,
    shared: Arc<Shared>,
    ring: rtrb::Producer<i16>,
    capacity_frames: usize,
    decoder: SessionDecoder,
    resampler: StreamResampler,
    decoded: Vec<i16>,
    as_f32: Vec<f32>,
    resampled: Vec<f32>,
    frames: Vec<i16>,
    /// Items whose audio may not all have been heard yet, oldest first.
    items: VecDeque<ItemSpan>,
    /// Position after the last frame pushed.
    pushed_end: u64,
    far_end: Option<FarEnd>,
}

impl std::fmt::Debug for PlaybackQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackQueue")
            .field("format", &self.format)
            .field("render_rate", &self.shared.render_rate)
            .field("items", &self.items)
            .field("pushed_end", &self.pushed_end)
            .finish_non_exhaustive()
    }
}

impl PlaybackQueue {
    /// The session output format this queue accepts.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Frames per second of the rendered audio.
    pub fn render_rate(&self) -> u32 {
        self.shared.render_rate
    }

    /// Queues `audio` (bytes in the session output format) of assistant item `item_id`.
    ///
    /// A different item id than the previous call's starts a new item after the previous one.
    /// Returns at once. When the ring is full the audio that does not fit is dropped and
    /// [`AudioError::PlaybackOverflow`] says how much.
    pub fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        // Queuing ends a stop, even if this audio stays in the resampler for now.
        self.shared.publish_pushed(self.pushed_end);
        let mut tail = Ok(());
        if self.items.back().is_none_or(|item| item.id != item_id) {
            tail = self.finish_current();
            self.prune_heard();
            self.items.push_back(ItemSpan {
                id: item_id.to_owned(),
                start: self.pushed_end,
                frames: 0,
                received: 0,
            });
        }
        self.decoded.clear();
        self.decoder.decode(audio, &mut self.decoded);
        if let Some(item) = self.items.back_mut() {
            item.received += self.decoded.len() as u64;
        }
        self.as_f32.clear();
        pcm::i16_slice_to_f32(&self.decoded, &mut self.as_f32);
        self.resampled.clear();
        self.resampler.process(&self.as_f32, &mut self.resampled);
        merge_overflow(tail, self.push_resampled())
    }

    /// Says that all audio of `item_id` has been queued, so the resampler's last few
    /// milliseconds of it can be queued too (otherwise they wait for the next item).
    pub fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        match self.items.back() {
            Some(item) if item.id == item_id => self.finish_current(),
            _ => Ok(()),
        }
    }

    /// Stops playback at once: everything still queued is dropped before it is played.
    /// Returns what had been played of the item that was playing (or was next to play), or
    /// `None` when all of its audio had been played.
    ///
    /// "Played" counts every frame the renderer already handed over (to a device, a file, an
    /// app): those cannot be called back and will be heard, at most the device's latency
    /// later. Everything after them is dropped.
    pub fn stop(&mut self) -> Option<Played> {
        let handed_over = self.shared.rendered_end();
        self.stop_after(handed_over)
    }

    /// Like [`stop`](Self::stop) for a virtual device that renders ahead of time and can take
    /// back what is not yet heard by `now` ([`NullSink`](crate::audio::NullSink)).
    pub(crate) fn stop_unheard(&mut self, now: Instant) -> Option<Played> {
        let heard = self.shared.heard_at(now);
        self.stop_after(heard)
    }

    /// Stops, counting the frames before `position` as played.
    fn stop_after(&mut self, position: u64) -> Option<Played> {
        let tail_waiting = !self.resampler.is_passthrough() && self.resampler.has_input();
        let last = self.items.len().saturating_sub(1);
        let played = self
            .items
            .iter()
            .enumerate()
            .find(|(i, item)| position < item.end() || (*i == last && tail_waiting))
            .map(|(_, item)| self.played_of(item, position));
        self.shared.publish_stop(self.pushed_end);
        self.resampler.reset();
        self.decoder.reset();
        self.items.clear();
        played
    }

    /// What has been heard so far of the item playing now (device latency accounted for),
    /// without stopping.
    pub fn played(&self) -> Option<Played> {
        let heard = self.shared.heard_at(Instant::now());
        self.items
            .iter()
            .find(|item| heard < item.end())
            .map(|item| self.played_of(item, heard))
    }

    /// The id of the newest item queued since the last stop.
    pub fn current_item(&self) -> Option<String> {
        self.items.back().map(|item| item.id.clone())
    }

    /// Whether queued audio is still to be heard (false right after [`stop`](Self::stop)).
    pub fn is_playing(&self) -> bool {
        !self.items.is_empty() && self.shared.heard_at(Instant::now()) < self.pushed_end
    }

    /// A view of this queue's playback for the capture side (half-duplex).
    pub fn monitor(&self) -> PlaybackMonitor {
        PlaybackMonitor {
            shared: self.shared.clone(),
        }
    }

    /// The rendered playback signal for an echo canceller. The first call returns it and
    /// switches the copy on; later calls return `None`.
    pub fn take_far_end(&mut self) -> Option<FarEnd> {
        let far_end = self.far_end.take()?;
        far_end
            .enabled
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Some(far_end)
    }

    /// Frames dropped so far because the ring was full.
    pub fn overflow_frames(&self) -> u64 {
        self.shared.overflow_frames()
    }

    /// How much audio the ring holds.
    pub fn capacity(&self) -> Duration {
        Duration::from_nanos(
            self.capacity_frames as u64 * 1_000_000_000 / u64::from(self.shared.render_rate),
        )
    }

    fn played_of(&self, item: &ItemSpan, heard: u64) -> Played {
        let heard_frames = heard.saturating_sub(item.start).min(item.frames);
        let source_rate = u128::from(self.format.sample_rate());
        let samples =
            (u128::from(heard_frames) * source_rate / u128::from(self.shared.render_rate)) as u64;
        let samples = samples.min(item.received);
        Played {
            item_id: item.id.clone(),
            played_ms: samples * 1000 / u64::from(self.format.sample_rate()),
        }
    }

    /// Queues the resampler's tail of the current item.
    fn finish_current(&mut self) -> Result<(), AudioError> {
        self.resampled.clear();
        self.resampler.flush(&mut self.resampled);
        self.decoder.reset();
        self.push_resampled()
    }

    /// Forgets items that have been heard completely, keeping the newest.
    fn prune_heard(&mut self) {
        let heard = self.shared.heard_at(Instant::now());
        while self.items.len() > 1 && self.items.front().is_some_and(|i| i.end() <= heard) {
            self.items.pop_front();
        }
        if self.items.len() == 1 && self.items[0].end() <= heard {
            self.items.clear();
        }
    }

    fn push_resampled(&mut self) -> Result<(), AudioError> {
        if self.resampled.is_empty() {
            return Ok(());
        }
        self.frames.clear();
        pcm::f32_slice_to_i16(&self.resampled, &mut self.frames);
        let (pushed, dropped) = self.ring.push_partial_slice(&self.frames);
        let (pushed, dropped) = (pushed.len() as u64, dropped.len() as u64);
        self.pushed_end += pushed;
        if let Some(item) = self.items.back_mut() {
            item.frames += pushed;
        }
        self.shared.publish_pushed(self.pushed_end);
        if dropped == 0 {
            return Ok(());
        }
        self.shared.count_overflow(dropped);
        let rate = u64::from(self.shared.render_rate);
        Err(AudioError::PlaybackOverflow {
            dropped_ms: dropped * 1000 / rate,
            capacity_ms: self.capacity_frames as u64 * 1000 / rate,
        })
    }
}
