//! The counters the queue (producer) and the renderer (consumer) share, and what can be read
//! from them without locking: how much has been heard, whether playback is active.
//!
//! Positions count frames at the render rate since the queue was created, over everything
//! pushed, so a position names one frame of one item whether it was played or dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Shared {
    /// Times are stored as nanoseconds since this instant.
    base: Instant,
    pub(crate) render_rate: u32,
    /// Producer: position after the last frame pushed.
    pushed_end: AtomicU64,
    /// Producer: frames before this position are to be dropped, not played (set by stop).
    flush_to: AtomicU64,
    /// Consumer: position after the last frame taken from the ring (played or dropped).
    rendered_end: AtomicU64,
    /// Consumer: when the frame before `rendered_end` will have been heard (ns since `base`).
    /// Written before `rendered_end`, read after it, so a reader never pairs a new position
    /// with an old time (which would overstate what was heard).
    heard_by_ns: AtomicU64,
    /// Producer: playback was stopped and nothing was queued since.
    stopped: AtomicBool,
    /// Producer: frames dropped because the ring was full.
    overflow_frames: AtomicU64,
    /// Consumer: whether a [`FarEnd`](crate::audio::FarEnd) reader wants the rendered signal.
    pub(crate) far_end_enabled: std::sync::Arc<AtomicBool>,
    /// Producer: a frame position to time (turn latency), `u64::MAX` for none.
    mark: AtomicU64,
    /// Consumer: when the frame at `mark` is heard (ns since `base`); 0 until it is rendered.
    mark_heard_ns: AtomicU64,
}

impl Shared {
    pub(crate) fn new(render_rate: u32) -> Self {
        Self {
            base: Instant::now(),
            render_rate,
            pushed_end: AtomicU64::new(0),
            flush_to: AtomicU64::new(0),
            rendered_end: AtomicU64::new(0),
            heard_by_ns: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            overflow_frames: AtomicU64::new(0),
            far_end_enabled: std::sync::Arc::new(AtomicBool::new(false)),
            mark: AtomicU64::new(u64::MAX),
            mark_heard_ns: AtomicU64::new(0),
        }
    }

    /// Nanoseconds since `base`, at least 1 so that 0 can mean "never".
    fn nanos(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.base).as_nanos() as u64).max(1)
    }

    fn instant(&self, nanos: u64) -> Instant {
        self.base + Duration::from_nanos(nanos)
    }

    // --- producer side ---

    pub(crate) fn publish_pushed(&self, end: u64) {
        self.pushed_end.store(end, Ordering::Release);
        self.stopped.store(false, Ordering::Release);
    }

    pub(crate) fn publish_stop(&self, end: u64) {
        self.flush_to.store(end, Ordering::Release);
        self.stopped.store(true, Ordering::Release);
    }

    pub(crate) fn count_overflow(&self, frames: u64) {
        self.overflow_frames.fetch_add(frames, Ordering::Relaxed);
    }

    pub(crate) fn overflow_frames(&self) -> u64 {
        self.overflow_frames.load(Ordering::Relaxed)
    }

    /// Times the next frame pushed: [`Shared::mark_heard`] reports when it is heard.
    pub(crate) fn mark_next(&self) {
        self.mark_heard_ns.store(0, Ordering::Release);
        self.mark
            .store(self.pushed_end.load(Ordering::Acquire), Ordering::Release);
    }

    // --- consumer side ---

    /// Frames `[from, to)` were rendered, the frame at `from` heard at `first_heard` and each
    /// next one `1 / render_rate` later: records when the marked frame is heard, if it is among
    /// them. Two atomic loads when it is not (this runs in the audio callback).
    pub(crate) fn rendered_range(&self, from: u64, to: u64, first_heard: Instant) {
        let mark = self.mark.load(Ordering::Acquire);
        if mark < from || mark >= to || self.mark_heard_ns.load(Ordering::Acquire) != 0 {
            return;
        }
        let offset =
            Duration::from_nanos((mark - from) * 1_000_000_000 / u64::from(self.render_rate));
        self.mark_heard_ns
            .store(self.nanos(first_heard + offset), Ordering::Release);
    }

    pub(crate) fn flush_to(&self) -> u64 {
        self.flush_to.load(Ordering::Acquire)
    }

    /// Records that frames up to `end` have left the ring, the last one heard by `heard_by`.
    pub(crate) fn publish_rendered(&self, end: u64, heard_by: Instant) {
        self.heard_by_ns
            .store(self.nanos(heard_by), Ordering::Release);
        self.rendered_end.store(end, Ordering::Release);
    }

    /// Records that frames up to `end` left the ring unplayed (dropped by a stop).
    pub(crate) fn publish_dropped(&self, end: u64) {
        self.rendered_end.store(end, Ordering::Release);
    }

    /// When the last rendered frame will have been heard; `None` before any audio was rendered.
    pub(crate) fn heard_by(&self) -> Option<Instant> {
        match self.heard_by_ns.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.instant(nanos)),
        }
    }

    /// Moves "heard by" back to `now` at the latest: for sinks without a device, whose rendered
    /// but unheard frames vanish on stop.
    pub(crate) fn cut(&self, now: Instant) {
        let now = self.nanos(now);
        self.heard_by_ns.fetch_min(now, Ordering::AcqRel);
    }

    // --- readers ---

    /// The position heard by `now`: every frame before it has been played.
    ///
    /// Frames still between the renderer and the listener (device latency, or audio a virtual
    /// sink rendered ahead of time) are assumed to play back to back, ending at `heard_by`. When
    /// there was a gap the estimate is low, never high.
    pub(crate) fn heard_at(&self, now: Instant) -> u64 {
        let end = self.rendered_end.load(Ordering::Acquire);
        let heard_by = self.heard_by_ns.load(Ordering::Acquire);
        let now = self.nanos(now);
        if heard_by <= now {
            return end;
        }
        let unheard_ns = u128::from(heard_by - now);
        let unheard = (unheard_ns * u128::from(self.render_rate)).div_ceil(1_000_000_000);
        end.saturating_sub(unheard.min(u128::from(u64::MAX)) as u64)
    }

    /// Position after the last frame handed over by the renderer.
    pub(crate) fn rendered_end(&self) -> u64 {
        self.rendered_end.load(Ordering::Acquire)
    }

    pub(crate) fn pushed_end(&self) -> u64 {
        self.pushed_end.load(Ordering::Acquire)
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// When the frame marked by [`Shared::mark_next`] is (or will be) heard; `None` until it
    /// has been rendered.
    pub(crate) fn mark_heard(&self) -> Option<Instant> {
        match self.mark_heard_ns.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.instant(nanos)),
        }
    }
}

/// A cheap, cloneable view of a sink's playback for the capture side: is the assistant audible
/// now, or was it a moment ago? Half-duplex uses it to hold the microphone back.
#[derive(Debug, Clone)]
pub struct PlaybackMonitor {
    pub(crate) shared: std::sync::Arc<Shared>,
}

impl PlaybackMonitor {
    /// Whether queued audio is still being heard: pushed and not yet played, and not stopped.
    pub fn is_playing(&self) -> bool {
        self.is_playing_at(Instant::now())
    }

    /// Whether audio is playing, or stopped playing on its own less than `tail` ago (a room's
    /// echo and the device's latency outlast the last sample). After
    /// [`AudioSink::stop`](crate::audio::AudioSink::stop) this is false at once: the user is
    /// speaking and must be heard.
    pub fn is_active(&self, tail: Duration) -> bool {
        let now = Instant::now();
        if self.shared.is_stopped() {
            return false;
        }
        self.is_playing_at(now)
            || self
                .shared
                .heard_by()
                .is_some_and(|heard_by| now < heard_by + tail)
    }

    /// Starts timing the next audio queued to this playback: once its first frame has been
    /// rendered, [`next_audio_heard`](Self::next_audio_heard) says when the listener hears it.
    /// One timing at a time per playback (the agent times the first audio of each turn); a new
    /// call replaces the previous one.
    pub fn time_next_audio(&self) {
        self.shared.mark_next();
    }

    /// When the first frame queued after [`time_next_audio`](Self::time_next_audio) is heard
    /// (the render time plus the device's latency); `None` until it has been rendered.
    pub fn next_audio_heard(&self) -> Option<Instant> {
        self.shared.mark_heard()
    }

    /// When the last frame rendered so far is heard; `None` before any audio was rendered.
    pub fn heard_by(&self) -> Option<Instant> {
        self.shared.heard_by()
    }

    fn is_playing_at(&self, now: Instant) -> bool {
        !self.shared.is_stopped() && self.shared.heard_at(now) < self.shared.pushed_end()
    }
}
