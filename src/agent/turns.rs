//! The turn clock: notes the instants of one turn as the loop sees them and turns them into
//! [`TurnMetrics`] when the turn is over.
//!
//! Only instants are stored while the turn runs (an `Option` check per audio delta, no
//! allocation); the playback clock's "first audio heard" is read from the sink's monitor, where
//! the renderer wrote it at the exact frame, so it does not depend on when the loop looks.

use std::time::Instant;

use super::metrics::{ToolTiming, TurnMetrics, TurnTrigger};
use crate::audio::PlaybackMonitor;

struct Open {
    /// The `turn` span (telemetry); its fields are recorded when the turn is over.
    span: tracing::Span,
    turn: u64,
    trigger: TurnTrigger,
    start: Instant,
    created: Option<Instant>,
    first_text: Option<Instant>,
    first_audio: Option<Instant>,
    /// The playback clock is timing this turn's first audio.
    timing_playback: bool,
    last_done: Option<Instant>,
    tools: Vec<ToolTiming>,
}

pub(crate) struct TurnClock {
    turns: u64,
    open: Option<Open>,
    monitor: Option<PlaybackMonitor>,
    /// The session's span, parent of every turn's.
    session: tracing::Span,
}

impl TurnClock {
    /// A clock that reads "first audio heard" from `monitor` (the sink's playback), if any.
    pub(crate) fn new(monitor: Option<PlaybackMonitor>, session: tracing::Span) -> Self {
        TurnClock {
            turns: 0,
            open: None,
            monitor,
            session,
        }
    }

    /// The span of the turn in progress (parent of its tool calls), else the session's.
    pub(crate) fn span(&self) -> &tracing::Span {
        self.open.as_ref().map_or(&self.session, |open| &open.span)
    }

    /// The user's input ended at `at`: a new turn starts. A turn still open is over, cut short.
    pub(crate) fn start(&mut self, trigger: TurnTrigger, at: Instant) -> Option<TurnMetrics> {
        let previous = self.interrupted(at);
        self.turns += 1;
        let span = tracing::info_span!(
            parent: &self.session,
            "turn",
            // Signed: OpenTelemetry has no unsigned integers (a u64 would become text).
            turn = self.turns as i64,
            trigger = %trigger,
            response_created_ms = tracing::field::Empty,
            first_text_ms = tracing::field::Empty,
            first_audio_ms = tracing::field::Empty,
            first_audio_played_ms = tracing::field::Empty,
            total_ms = tracing::field::Empty,
            interrupted = tracing::field::Empty,
            tool_calls = tracing::field::Empty,
        );
        self.open = Some(Open {
            span,
            turn: self.turns,
            trigger,
            start: at,
            created: None,
            first_text: None,
            first_audio: None,
            timing_playback: false,
            last_done: None,
            tools: Vec::new(),
        });
        previous
    }

    pub(crate) fn response_created(&mut self, at: Instant) {
        if let Some(open) = &mut self.open {
            open.created.get_or_insert(at);
        }
    }

    /// A text or transcript delta arrived.
    pub(crate) fn text(&mut self) {
        if let Some(open) = &mut self.open
            && open.first_text.is_none()
        {
            open.first_text = Some(Instant::now());
        }
    }

    /// An audio delta arrived, about to be queued to the sink.
    pub(crate) fn audio(&mut self) {
        let Some(open) = &mut self.open else {
            return;
        };
        if open.first_audio.is_none() {
            open.first_audio = Some(Instant::now());
            if let Some(monitor) = &self.monitor {
                monitor.time_next_audio();
                open.timing_playback = true;
            }
        }
    }

    pub(crate) fn tool(&mut self, timing: ToolTiming) {
        if let Some(open) = &mut self.open {
            open.tools.push(timing);
        }
    }

    pub(crate) fn response_done(&mut self, at: Instant) {
        if let Some(open) = &mut self.open {
            open.last_done = Some(at);
        }
    }

    /// Whether a turn is being timed.
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The user took the turn at `at` (barge-in, a new message) before this one was over.
    pub(crate) fn interrupted(&mut self, at: Instant) -> Option<TurnMetrics> {
        let open = self.open.take()?;
        Some(self.metrics(open, at, true))
    }

    /// Nothing is left to do: the turn is over. It ended when its last response was done or
    /// its last audio was heard, whichever came later.
    pub(crate) fn idle(&mut self, now: Instant) -> Option<TurnMetrics> {
        let open = self.open.take()?;
        let mut end = open.last_done.unwrap_or(now);
        if open.timing_playback
            && let Some(heard_by) = self.monitor.as_ref().and_then(|m| m.heard_by())
        {
            end = end.max(heard_by);
        }
        Some(self.metrics(open, end, false))
    }

    fn metrics(&self, open: Open, end: Instant, interrupted: bool) -> TurnMetrics {
        let since = |at: Option<Instant>| at.map(|at| at.saturating_duration_since(open.start));
        let played = if open.timing_playback {
            self.monitor
                .as_ref()
                .and_then(PlaybackMonitor::next_audio_heard)
                // Audio of this turn cannot be heard after it was cut off.
                .filter(|heard| !interrupted || *heard <= end)
        } else {
            None
        };
        let metrics = TurnMetrics {
            turn: open.turn,
            trigger: open.trigger,
            response_created: since(open.created),
            first_text: since(open.first_text),
            first_audio: since(open.first_audio),
            first_audio_played: since(played),
            total: end.saturating_duration_since(open.start),
            tools: open.tools,
            interrupted,
        };
        record(&open.span, &metrics);
        // The span closes here, when `open` is dropped.
        metrics
    }
}

/// Puts the figures on the turn's span.
fn record(span: &tracing::Span, metrics: &TurnMetrics) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let figures = [
        ("response_created_ms", metrics.response_created),
        ("first_text_ms", metrics.first_text),
        ("first_audio_ms", metrics.first_audio),
        ("first_audio_played_ms", metrics.first_audio_played),
    ];
    for (field, value) in figures {
        if let Some(value) = value {
            span.record(field, ms(value));
        }
    }
    span.record("total_ms", ms(metrics.total));
    span.record("interrupted", metrics.interrupted);
    span.record("tool_calls", metrics.tools.len() as i64);
}
