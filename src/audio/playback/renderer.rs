//! The consumer end of the playback core: what a device callback (or a clock) calls to take the
//! next frames out of the ring.
//!
//! Nothing here blocks, locks or allocates: frames come out of a lock-free SPSC ring, progress
//! goes into atomics, and the optional echo-canceller copy goes into a second bounded ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::shared::Shared;
use crate::audio::echo::StreamClock;

/// Takes queued playback audio (mono `i16` at the render rate) out of the ring, and records what
/// has been heard.
///
/// Created with its [`PlaybackQueue`](super::PlaybackQueue) by
/// [`playback_channel`](super::playback_channel); one thread owns it (usually the audio
/// callback).
pub struct PlaybackRenderer {
    pub(super) shared: Arc<Shared>,
    pub(super) ring: rtrb::Consumer<i16>,
    /// Frames taken from the ring so far (played or dropped).
    pub(super) position: u64,
    pub(super) far_end: rtrb::Producer<i16>,
    pub(super) far_end_dropped: Arc<AtomicU64>,
    /// When the frames copied to the far end are heard.
    pub(super) far_end_clock: Arc<StreamClock>,
    /// Frames copied to the far end so far.
    pub(super) far_end_written: u64,
    /// Silence put into the far end for the device's underruns so far, in frames.
    pub(super) far_end_underrun: Arc<AtomicU64>,
    /// When the frame after the last one rendered is heard, if the device keeps up: a later
    /// `starts_at` means the device played silence in between (an underrun).
    pub(super) next_heard: Option<Instant>,
    /// Frames rendered since the device's stream (re)started.
    pub(super) steady_frames: u64,
}

/// A device's output starting at least this much later than where its last output ended is an
/// underrun (it played silence in between), once the stream has run for half a second and up
/// to [`UNDERRUN_MAX`]. Less is taken for jitter in its timestamps.
pub const UNDERRUN_MIN: Duration = Duration::from_millis(30);

/// A device's output starting more than this late is a stream that (re)started, not an
/// underrun: nothing goes into the far end for it.
pub const UNDERRUN_MAX: Duration = Duration::from_millis(500);

/// Frames rendered back to back (at the render rate, in ms) after a stream (re)started before
/// its lateness counts as an underrun: the first callbacks of a stream are dated roughly.
const SETTLE_MS: u64 = 500;

/// Zeros to copy silence from without allocating.
static SILENCE: [i16; 256] = [0; 256];

impl std::fmt::Debug for PlaybackRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybackRenderer")
            .field("rate", &self.shared.render_rate)
            .field("position", &self.position)
            .field("queued", &self.ring.slots())
            .finish()
    }
}

impl PlaybackRenderer {
    /// Frames per second of the rendered audio.
    pub fn rate(&self) -> u32 {
        self.shared.render_rate
    }

    /// Frames waiting to be played; frames a stop flushed do not count, though the ring only
    /// drops them on the next render (the producer cannot touch the consumer's end).
    pub fn queued(&self) -> usize {
        let flushed = self.shared.flush_to().saturating_sub(self.position) as usize;
        self.ring.slots().saturating_sub(flushed)
    }

    /// Fills `out` with the next frames and silence after them; returns how many were audio.
    ///
    /// `starts_at` is when `out[0]` will be heard (the callback time plus the device's output
    /// latency); the frames count as heard one after another from then on. When it is
    /// [`UNDERRUN_MIN`] to [`UNDERRUN_MAX`] later than where the previous call's frames ended,
    /// after the stream has run for half a second, the device played silence in between (an
    /// underrun): that much silence goes into the far end before these frames, so that an
    /// echo canceller's reference stays aligned with what was heard.
    pub fn render(&mut self, out: &mut [i16], starts_at: Instant) -> usize {
        self.render_with(out, Some(starts_at))
    }

    /// Like [`render`](Self::render), for a consumer that has no latency of its own (a file, an
    /// app's buffer): the frames count as heard at once.
    pub fn render_heard(&mut self, out: &mut [i16]) -> usize {
        self.render_with(out, None)
    }

    /// Takes up to `frames` frames as played without copying them, heard one after another
    /// from `starts_at`: the clock of a virtual device. Returns how many were audio.
    pub fn skip(&mut self, frames: usize, starts_at: Instant) -> usize {
        self.skip_with(frames, Some(starts_at))
    }

    /// Takes up to `frames` frames as played and heard at once, without copying them: a clock
    /// a test or an app advances by hand. Returns how many were audio.
    pub fn skip_heard(&mut self, frames: usize) -> usize {
        self.skip_with(frames, None)
    }

    fn render_with(&mut self, out: &mut [i16], starts_at: Option<Instant>) -> usize {
        self.drop_stopped();
        let (audio, silence) = self.ring.pop_partial_slice(out);
        let frames = audio.len();
        silence.fill(0);
        self.advance(frames, starts_at);
        let heard_end = match starts_at {
            Some(start) => {
                self.date_underrun(start);
                self.steady_frames += out.len() as u64;
                let end = start + self.duration_of(out.len());
                self.next_heard = Some(end);
                end
            }
            None => Instant::now(),
        };
        self.copy_to_far_end(out, heard_end);
        frames
    }

    fn skip_with(&mut self, frames: usize, starts_at: Option<Instant>) -> usize {
        self.drop_stopped();
        let frames = frames.min(self.ring.slots());
        if let Ok(chunk) = self.ring.read_chunk(frames) {
            chunk.commit_all();
        }
        self.advance(frames, starts_at);
        frames
    }

    /// Publishes that `frames` more frames were rendered.
    fn advance(&mut self, frames: usize, starts_at: Option<Instant>) {
        if frames == 0 {
            return;
        }
        let from = self.position;
        self.position += frames as u64;
        let (first_heard, heard_by) = match starts_at {
            Some(start) => (start, start + self.duration_of(frames)),
            None => {
                let now = Instant::now();
                (now, now)
            }
        };
        self.shared.rendered_range(from, self.position, first_heard);
        self.shared.publish_rendered(self.position, heard_by);
    }

    /// When the last frame rendered so far will have been heard.
    pub(crate) fn heard_by(&self) -> Option<Instant> {
        self.shared.heard_by()
    }

    /// Forgets frames rendered but not yet heard: for virtual devices, whose "latency" is audio
    /// they rendered ahead and can take back on stop.
    pub(crate) fn cut(&self, now: Instant) {
        self.shared.cut(now);
    }

    /// Drops the frames a stop flushed, before anything else is played.
    fn drop_stopped(&mut self) {
        let flush_to = self.shared.flush_to();
        if self.position >= flush_to {
            return;
        }
        let frames = ((flush_to - self.position) as usize).min(self.ring.slots());
        if let Ok(chunk) = self.ring.read_chunk(frames) {
            chunk.commit_all();
        }
        self.position += frames as u64;
        self.shared.publish_dropped(self.position);
    }

    /// Puts the silence the device played before `starts_at` (since the end of the previous
    /// output) into the far end, if that was an underrun.
    fn date_underrun(&mut self, starts_at: Instant) {
        let Some(expected) = self.next_heard else {
            return;
        };
        let late = starts_at.saturating_duration_since(expected);
        if late > UNDERRUN_MAX {
            self.steady_frames = 0;
            return;
        }
        let settled = self.steady_frames >= SETTLE_MS * u64::from(self.shared.render_rate) / 1000;
        if late < UNDERRUN_MIN || !settled || !self.shared.far_end_enabled.load(Ordering::Relaxed) {
            return;
        }
        let rate = u128::from(self.shared.render_rate);
        let mut frames = (late.as_nanos() * rate / 1_000_000_000) as usize;
        let mut written = 0;
        while frames > 0 {
            let n = frames.min(SILENCE.len());
            let (done, _) = self.far_end.push_partial_slice(&SILENCE[..n]);
            written += done.len();
            frames -= n;
            if done.len() < n {
                self.far_end_dropped
                    .fetch_add((n - done.len() + frames) as u64, Ordering::Relaxed);
                break;
            }
        }
        self.far_end_written += written as u64;
        // After the silence is in the ring, so that a reader who sees the count has it.
        self.far_end_underrun
            .fetch_add(written as u64, Ordering::Release);
    }

    fn copy_to_far_end(&mut self, rendered: &[i16], heard_end: Instant) {
        if !self.shared.far_end_enabled.load(Ordering::Relaxed) {
            return;
        }
        let (written, rest) = self.far_end.push_partial_slice(rendered);
        self.far_end_written += written.len() as u64;
        // Dated by the last frame written; frames that did not fit are not in the stream.
        let unwritten = self.duration_of(rest.len());
        let last_heard = heard_end.checked_sub(unwritten).unwrap_or(heard_end);
        self.far_end_clock.mark(self.far_end_written, last_heard);
        if !rest.is_empty() {
            self.far_end_dropped
                .fetch_add(rest.len() as u64, Ordering::Relaxed);
        }
    }

    fn duration_of(&self, frames: usize) -> Duration {
        let nanos = frames as u64 * 1_000_000_000 / u64::from(self.shared.render_rate);
        Duration::from_nanos(nanos)
    }
}
