//! Turn latency as the user lives it, measured on our side of the connection: from the end of
//! the user's input to the answer starting, to its first audio arriving and being heard, how
//! long each tool took, and the whole turn; and percentiles over a session.

use std::time::Duration;

use super::event::ToolStatus;

/// What ended the user's part of a turn, where its clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TurnTrigger {
    /// The server's turn detection heard the user stop (`input_audio_buffer.speech_stopped`).
    SpeechStopped,
    /// We committed the input audio (push-to-talk, or the end of a file).
    Commit,
    /// A text message was sent.
    Text,
}

impl std::fmt::Display for TurnTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TurnTrigger::SpeechStopped => "speech",
            TurnTrigger::Commit => "commit",
            TurnTrigger::Text => "text",
        })
    }
}

/// How long one tool call of a turn ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTiming {
    /// The call id.
    pub call_id: String,
    /// The tool.
    pub name: String,
    /// From the call's start to its output being posted.
    pub duration: Duration,
    /// How it ended.
    pub status: ToolStatus,
}

/// The latency figures of one turn ([`AgentEvent::TurnMetrics`](super::AgentEvent::TurnMetrics)).
///
/// Every figure counts from the end of the user's input ([`trigger`](Self::trigger)), measured
/// when our side saw it; `None` when the turn never got that far (a text-only answer has no
/// audio; an answer without a sink that keeps a playback clock has no "played").
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TurnMetrics {
    /// The turn's number in the session, from 1.
    pub turn: u64,
    /// What ended the user's input.
    pub trigger: TurnTrigger,
    /// Until the first `response.created`.
    pub response_created: Option<Duration>,
    /// Until the first text or transcript delta.
    pub first_text: Option<Duration>,
    /// Until the first audio delta arrived.
    pub first_audio: Option<Duration>,
    /// Until the first audio was heard, by the sink's playback clock (device latency included).
    pub first_audio_played: Option<Duration>,
    /// Each tool call of the turn, in the order they finished.
    pub tools: Vec<ToolTiming>,
    /// Until the turn was over: its last response done and its last audio heard; for an
    /// interrupted turn, until the interruption.
    pub total: Duration,
    /// The user spoke or wrote again before the turn was over.
    pub interrupted: bool,
}

impl TurnMetrics {
    /// One line for a log or a terminal: `turn 3 (speech): created 120 ms, first audio 200 ms,
    /// played 260 ms, lookup 310 ms, total 1.84 s`.
    pub fn summary_line(&self) -> String {
        let mut parts = Vec::new();
        let mut figure = |label: &str, value: Option<Duration>| {
            if let Some(value) = value {
                parts.push(format!("{label} {}", format_duration(value)));
            }
        };
        figure("created", self.response_created);
        figure("first text", self.first_text);
        figure("first audio", self.first_audio);
        figure("played", self.first_audio_played);
        for tool in &self.tools {
            parts.push(format!("{} {}", tool.name, format_duration(tool.duration)));
        }
        parts.push(format!("total {}", format_duration(self.total)));
        let interrupted = if self.interrupted {
            ", interrupted"
        } else {
            ""
        };
        format!(
            "turn {} ({}{interrupted}): {}",
            self.turn,
            self.trigger,
            parts.join(", ")
        )
    }
}

/// `120 ms` below ten seconds, `12.3 s` above.
fn format_duration(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// The median and 95th percentile of one figure over a session's turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// Turns that had the figure.
    pub count: usize,
    /// The median.
    pub p50: Duration,
    /// The 95th percentile (nearest rank).
    pub p95: Duration,
}

impl Percentiles {
    /// The percentiles of `values`; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = Duration>) -> Option<Percentiles> {
        let mut values: Vec<Duration> = values.into_iter().collect();
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        let rank = |p: usize| values[(values.len() * p).div_ceil(100).max(1) - 1];
        Some(Percentiles {
            count: values.len(),
            p50: rank(50),
            p95: rank(95),
        })
    }
}

/// Percentiles of every figure over the turns of a session, for its closing summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySummary {
    /// Turns measured.
    pub turns: usize,
    /// End of input to `response.created`.
    pub response_created: Option<Percentiles>,
    /// End of input to the first text or transcript delta.
    pub first_text: Option<Percentiles>,
    /// End of input to the first audio delta.
    pub first_audio: Option<Percentiles>,
    /// End of input to the first audio heard.
    pub first_audio_played: Option<Percentiles>,
    /// Every tool call's duration.
    pub tools: Option<Percentiles>,
    /// Whole turns.
    pub total: Option<Percentiles>,
}

impl LatencySummary {
    /// The summary of `turns`.
    pub fn of(turns: &[TurnMetrics]) -> LatencySummary {
        LatencySummary {
            turns: turns.len(),
            response_created: Percentiles::of(turns.iter().filter_map(|t| t.response_created)),
            first_text: Percentiles::of(turns.iter().filter_map(|t| t.first_text)),
            first_audio: Percentiles::of(turns.iter().filter_map(|t| t.first_audio)),
            first_audio_played: Percentiles::of(turns.iter().filter_map(|t| t.first_audio_played)),
            tools: Percentiles::of(
                turns
                    .iter()
                    .flat_map(|t| t.tools.iter().map(|c| c.duration)),
            ),
            total: Percentiles::of(turns.iter().map(|t| t.total)),
        }
    }

    /// One line: `latency over 4 turns (p50/p95): created 110/180 ms, …`; `None` without turns.
    pub fn line(&self) -> Option<String> {
        let total = self.total?;
        let mut parts = Vec::new();
        let figures = [
            ("created", self.response_created),
            ("first text", self.first_text),
            ("first audio", self.first_audio),
            ("played", self.first_audio_played),
            ("tools", self.tools),
            ("total", Some(total)),
        ];
        for (label, figure) in figures {
            if let Some(p) = figure {
                parts.push(format!(
                    "{label} {}/{}",
                    format_duration(p.p50).trim_end_matches(" ms"),
                    format_duration(p.p95)
                ));
            }
        }
        let turns = if self.turns == 1 { "turn" } else { "turns" };
        Some(format!(
            "latency over {} {turns} (p50/p95): {}",
            self.turns,
            parts.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=20).map(ms)).unwrap();
        assert_eq!((p.count, p.p50, p.p95), (20, ms(10), ms(19)));
        let one = Percentiles::of([ms(7)]).unwrap();
        assert_eq!((one.p50, one.p95), (ms(7), ms(7)));
        assert_eq!(Percentiles::of([]), None);
    }

    #[test]
    fn lines_name_each_figure() {
        let turn = TurnMetrics {
            turn: 2,
            trigger: TurnTrigger::SpeechStopped,
            response_created: Some(ms(120)),
            first_text: None,
            first_audio: Some(ms(200)),
            first_audio_played: Some(ms(260)),
            tools: vec![ToolTiming {
                call_id: "call_1".into(),
                name: "lookup".into(),
                duration: ms(310),
                status: ToolStatus::Ok,
            }],
            total: ms(12_340),
            interrupted: false,
        };
        assert_eq!(
            turn.summary_line(),
            "turn 2 (speech): created 120 ms, first audio 200 ms, played 260 ms, lookup 310 ms, \
             total 12.3 s"
        );
        let summary = LatencySummary::of(&[turn]);
        assert_eq!(
            summary.line().unwrap(),
            "latency over 1 turn (p50/p95): created 120/120 ms, first audio 200/200 ms, \
             played 260/260 ms, tools 310/310 ms, total 12.3 s/12.3 s"
        );
        assert_eq!(LatencySummary::of(&[]).line(), None);
    }
}
