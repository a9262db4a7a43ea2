//! What the user sees: both sides' transcripts as they grow, tool calls with their arguments,
//! results and durations, errors, and a status line.
//!
//! The conversation goes to stdout (so it can be piped); status, notes, warnings and errors go
//! to stderr. Colour and the live status line are used only on a terminal.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use crate::agent::{AgentEvent, AgentState, LatencySummary, ToolStatus, TurnMetrics};
use crate::protocol::ResponseStatus;

/// The longest tool output shown on its line.
const MAX_OUTPUT_CHARS: usize = 300;

/// How to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Style {
    /// ANSI colours.
    pub(crate) color: bool,
    /// A status line redrawn in place on stderr (a terminal in voice and file modes).
    pub(crate) live_status: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speaker {
    User,
    Assistant,
}

impl Speaker {
    fn label(self) -> &'static str {
        match self {
            Speaker::User => "you: ",
            Speaker::Assistant => "assistant: ",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Speaker::User => CYAN,
            Speaker::Assistant => GREEN,
        }
    }
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const CLEAR_LINE: &str = "\r\x1b[2K";

/// Draws agent events and notes on two streams.
pub(crate) struct Renderer {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    style: Style,
    /// The transcript line being written (who, which item).
    open: Option<(Speaker, String)>,
    /// Items whose deltas have been shown, so their final text is not printed twice.
    streamed: HashSet<String>,
    status_visible: bool,
    state: Option<AgentState>,
    /// Microphone audio lost, as last reported (reported again only when it has doubled).
    dropped_reported_ms: u64,
    /// `--metrics`: a line per turn.
    show_metrics: bool,
    /// Every turn's figures, for the closing summary.
    turns: Vec<TurnMetrics>,
}

impl Renderer {
    pub(crate) fn new(
        out: impl Write + Send + 'static,
        err: impl Write + Send + 'static,
        style: Style,
    ) -> Renderer {
        Renderer {
            out: Box::new(out),
            err: Box::new(err),
            style,
            open: None,
            streamed: HashSet::new(),
            status_visible: false,
            state: None,
            dropped_reported_ms: 0,
            show_metrics: false,
            turns: Vec::new(),
        }
    }

    /// Whether each turn's latency is printed as it ends (`--metrics`).
    pub(crate) fn show_metrics(&mut self, show: bool) {
        self.show_metrics = show;
    }

    /// The session's latency percentiles, one line; `None` when no turn was measured.
    pub(crate) fn latency_summary(&self) -> Option<String> {
        LatencySummary::of(&self.turns).line()
    }

    /// stdout and stderr, with colour and a live status when stderr is a terminal.
    pub(crate) fn terminal(live_status: bool) -> Renderer {
        use std::io::IsTerminal;
        let tty = std::io::stderr().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none();
        Renderer::new(
            std::io::stdout(),
            std::io::stderr(),
            Style {
                color,
                live_status: live_status && tty,
            },
        )
    }

    fn paint(&self, color: &str, text: &str) -> String {
        if self.style.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// Shows one agent event.
    pub(crate) fn event(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::State(state) => {
                self.state = Some(*state);
                self.draw_status();
            }
            AgentEvent::UserTranscriptDelta { item_id, delta } => {
                self.delta(Speaker::User, item_id, delta);
            }
            AgentEvent::UserTranscript { item_id, text } => {
                self.whole(Speaker::User, item_id, text);
            }
            AgentEvent::AssistantDelta { item_id, delta, .. } => {
                self.delta(Speaker::Assistant, item_id, delta);
            }
            AgentEvent::AssistantMessage { item_id, text, .. } => {
                self.whole(Speaker::Assistant, item_id, text);
            }
            AgentEvent::Interrupted { played_ms, .. } => {
                let text = format!("  [interrupted after {}]", format_ms(*played_ms));
                let text = self.paint(DIM, &text);
                self.line_out(&text);
            }
            AgentEvent::ToolStarted {
                name, arguments, ..
            } => {
                let text = format!("  → {name} {}", one_line(arguments, MAX_OUTPUT_CHARS));
                let text = self.paint(YELLOW, &text);
                self.line_out(&text);
            }
            AgentEvent::ToolFinished {
                name,
                output,
                status,
                duration,
                ..
            } => self.tool_finished(name, output, *status, *duration),
            AgentEvent::HostedMcpCallStarted {
                server_label,
                name,
                arguments,
                ..
            } => {
                let text = format!(
                    "  → {server_label}.{name} {}",
                    one_line(arguments, MAX_OUTPUT_CHARS)
                );
                let text = self.paint(YELLOW, &text);
                self.line_out(&text);
            }
            AgentEvent::HostedMcpCallFinished {
                server_label,
                name,
                result,
                ..
            } => {
                let (text, color) = match result {
                    Ok(output) => (
                        format!(
                            "  ← {server_label}.{name}: {}",
                            one_line(output, MAX_OUTPUT_CHARS)
                        ),
                        YELLOW,
                    ),
                    Err(error) => (
                        format!(
                            "  ✗ {server_label}.{name} failed: {}",
                            one_line(&error.to_string(), MAX_OUTPUT_CHARS)
                        ),
                        RED,
                    ),
                };
                let text = self.paint(color, &text);
                self.line_out(&text);
            }
            AgentEvent::HostedMcpTools {
                server_label,
                tools,
            } => self.note(&format!(
                "hosted MCP server {server_label:?}: {} tool{} ({})",
                tools.len(),
                if tools.len() == 1 { "" } else { "s" },
                tools.join(", ")
            )),
            AgentEvent::HostedMcpToolsFailed { server_label } => self.warn(&format!(
                "hosted MCP server {server_label:?}: the API could not list its tools; the model cannot use them"
            )),
            AgentEvent::ToolProgress { name, message, .. } => {
                let text = format!("  … {name}: {}", one_line(message, MAX_OUTPUT_CHARS));
                let text = self.paint(DIM, &text);
                self.line_out(&text);
            }
            AgentEvent::HandedOff { from, to } => {
                let text = self.paint(DIM, &format!("  ⇢ {from} hands the conversation to {to}"));
                self.line_out(&text);
            }
            AgentEvent::ToolAnsweredEarly { name, output, .. } => {
                let text = format!(
                    "  ← {name} (working on in the background): {}",
                    one_line(output, MAX_OUTPUT_CHARS)
                );
                let text = self.paint(YELLOW, &text);
                self.line_out(&text);
            }
            AgentEvent::ResponseDone { status, .. } => match status {
                ResponseStatus::Failed => self.warn("the model's response failed"),
                ResponseStatus::Incomplete => {
                    self.warn("the model's response was cut short (token limit or content filter)")
                }
                _ => {}
            },
            AgentEvent::ServerError(error) => self.error(&format!("server error: {error}")),
            AgentEvent::MalformedFrame { error } => {
                self.warn(&format!("skipped a frame the server sent: {error}"));
            }
            // Once, then each time the loss doubles: a warning, not a flood.
            AgentEvent::InputAudioDropped { total_ms }
                if *total_ms >= self.dropped_reported_ms.saturating_mul(2).max(1) =>
            {
                self.dropped_reported_ms = *total_ms;
                self.warn(&format!(
                    "{} of microphone audio lost so far: the network is not keeping up",
                    format_ms(*total_ms)
                ));
            }
            AgentEvent::AudioError(message) => self.warn(&format!("audio: {message}")),
            AgentEvent::McpServer { message, .. } => self.warn(message),
            AgentEvent::Reconnecting {
                attempt,
                delay,
                reason,
            } => self.warn(&format!(
                "connection lost ({reason}); reconnecting in {} (attempt {attempt})",
                format_ms(delay.as_millis() as u64)
            )),
            AgentEvent::Reconnected { replayed_items } => self.note(&format!(
                "reconnected; the conversation so far was restored ({replayed_items} items)"
            )),
            AgentEvent::Lagged { missed } => {
                tracing::debug!(missed, "the display fell behind and skipped events");
            }
            AgentEvent::TurnMetrics(metrics) => {
                if self.show_metrics {
                    let line = self.paint(DIM, &metrics.summary_line());
                    self.line_err(&line);
                }
                self.turns.push((**metrics).clone());
            }
            AgentEvent::Closed { .. } => self.close_line(),
            _ => {}
        }
        self.flush();
    }

    fn tool_finished(&mut self, name: &str, output: &str, status: ToolStatus, duration: Duration) {
        let took = format_ms(duration.as_millis() as u64);
        let text = match status {
            ToolStatus::Ok => format!(
                "  ← {name}: {} ({took})",
                one_line(output, MAX_OUTPUT_CHARS)
            ),
            other => {
                let what = match other {
                    ToolStatus::InvalidArguments => "got invalid arguments",
                    ToolStatus::UnknownTool => "is not a known tool",
                    ToolStatus::Panicked => "crashed",
                    ToolStatus::TimedOut => "timed out",
                    ToolStatus::Cancelled => "was cancelled",
                    ToolStatus::Rejected => "was not allowed",
                    _ => "failed",
                };
                let message = serde_json::from_str::<serde_json::Value>(output)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| output.to_owned());
                format!(
                    "  ✗ {name} {what} ({took}): {}",
                    one_line(&message, MAX_OUTPUT_CHARS)
                )
            }
        };
        let color = if status.is_ok() { YELLOW } else { RED };
        let text = self.paint(color, &text);
        self.line_out(&text);
    }

    fn delta(&mut self, speaker: Speaker, item_id: &str, delta: &str) {
        let same = self
            .open
            .as_ref()
            .is_some_and(|(s, id)| *s == speaker && id == item_id);
        if !same {
            self.close_line();
            self.clear_status();
            let resumed = self.streamed.contains(item_id);
            let label = self.paint(speaker.color(), speaker.label());
            let _ = write!(self.out, "{label}{}", if resumed { "…" } else { "" });
            self.open = Some((speaker, item_id.to_owned()));
        }
        self.streamed.insert(item_id.to_owned());
        let _ = self.out.write_all(delta.as_bytes());
    }

    fn whole(&mut self, speaker: Speaker, item_id: &str, text: &str) {
        let was_open = self.open.as_ref().is_some_and(|(_, id)| id == item_id);
        let streamed = self.streamed.remove(item_id);
        if was_open {
            self.close_line();
        } else if !streamed && !text.trim().is_empty() {
            let label = self.paint(speaker.color(), speaker.label());
            self.line_out(&format!("{label}{}", text.trim()));
        }
        self.draw_status();
    }

    /// Ends the transcript line being written, if any.
    pub(crate) fn close_line(&mut self) {
        if self.open.take().is_some() {
            let _ = self.out.write_all(b"\n");
        }
    }

    /// A line of the conversation on stdout.
    fn line_out(&mut self, text: &str) {
        self.close_line();
        self.clear_status();
        let _ = writeln!(self.out, "{text}");
        self.flush();
    }

    /// A line on stderr (notes, warnings, errors, the summary).
    fn line_err(&mut self, text: &str) {
        self.close_line();
        self.clear_status();
        let _ = self.out.flush();
        let _ = writeln!(self.err, "{text}");
        self.flush();
    }

    /// Something the user should know (on stderr).
    pub(crate) fn note(&mut self, text: &str) {
        self.line_err(text);
    }

    /// A problem that does not end the session.
    pub(crate) fn warn(&mut self, text: &str) {
        let text = self.paint(YELLOW, &format!("warning: {text}"));
        self.line_err(&text);
    }

    /// A problem that ends the command.
    pub(crate) fn error(&mut self, text: &str) {
        let text = self.paint(RED, &format!("error: {text}"));
        self.line_err(&text);
    }

    /// Invites the next message in an interactive text conversation.
    pub(crate) fn prompt(&mut self) {
        self.close_line();
        self.clear_status();
        let prompt = self.paint(CYAN, "> ");
        let _ = write!(self.err, "{prompt}");
        self.flush();
    }

    /// Asks whether a tool may run. `answer` is shown when it was already given (piped input).
    pub(crate) fn approval_prompt(&mut self, name: &str, arguments: &str, answer: Option<&str>) {
        self.close_line();
        self.clear_status();
        let _ = self.out.flush();
        let question = format!(
            "? allow {name} {}? [y/N] ",
            one_line(arguments, MAX_OUTPUT_CHARS)
        );
        let question = self.paint(YELLOW, &question);
        match answer {
            Some(answer) => {
                let _ = writeln!(self.err, "{question}{answer}");
            }
            None => {
                let _ = write!(self.err, "{question}");
            }
        }
        self.flush();
    }

    /// Shows how much of a file has been sent: a bar redrawn in place on a terminal, nothing
    /// elsewhere (the caller notes the start and the end).
    pub(crate) fn progress(&mut self, label: &str, sent: Duration, total: Duration) {
        if !self.style.live_status {
            return;
        }
        let fraction = if total.is_zero() {
            1.0
        } else {
            (sent.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0)
        };
        const WIDTH: usize = 30;
        let filled = (fraction * WIDTH as f64).round() as usize;
        let bar = format!("{}{}", "█".repeat(filled), "░".repeat(WIDTH - filled));
        let _ = write!(
            self.err,
            "{CLEAR_LINE}sending {label} {bar} {:>3.0}% {:.1}/{:.1} s",
            fraction * 100.0,
            sent.as_secs_f64(),
            total.as_secs_f64()
        );
        self.status_visible = true;
        self.flush();
    }

    fn draw_status(&mut self) {
        if !self.style.live_status || self.open.is_some() {
            return;
        }
        let Some(state) = self.state else {
            return;
        };
        let text = self.paint(DIM, &format!("· {state}"));
        let _ = write!(self.err, "{CLEAR_LINE}{text}");
        self.status_visible = true;
        self.flush();
    }

    fn clear_status(&mut self) {
        if self.status_visible {
            let _ = write!(self.err, "{CLEAR_LINE}");
            self.status_visible = false;
        }
    }

    /// Ends any open line and status, for the last words of the command.
    pub(crate) fn finish(&mut self) {
        self.close_line();
        self.clear_status();
        self.flush();
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

/// `text` on one line, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let flat = flat
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// `250 ms`, `1.2 s`, `2 min 5 s`.
pub(crate) fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn transcripts_stream_and_tools_show_arguments_results_and_durations() {
        let (out, err) = (Shared::default(), Shared::default());
        let mut r = Renderer::new(out.clone(), err.clone(), Style::default());
        let delta = |item: &str, d: &str| AgentEvent::AssistantDelta {
            response_id: "r".into(),
            item_id: item.into(),
            delta: d.into(),
        };
        r.event(&AgentEvent::UserTranscriptDelta {
            item_id: "u1".into(),
            delta: "what ".into(),
        });
        r.event(&delta("a1", "Let"));
        r.event(&AgentEvent::UserTranscriptDelta {
            item_id: "u1".into(),
            delta: "time".into(),
        });
        r.event(&AgentEvent::UserTranscript {
            item_id: "u1".into(),
            text: "what time".into(),
        });
        r.event(&delta("a1", " me see."));
        r.event(&AgentEvent::AssistantMessage {
            response_id: "r".into(),
            item_id: "a1".into(),
            text: "Let me see.".into(),
        });
        r.event(&AgentEvent::ToolStarted {
            call_id: "c".into(),
            name: "calc".into(),
            arguments: "{\"x\":\n1}".into(),
        });
        r.event(&AgentEvent::ToolFinished {
            call_id: "c".into(),
            name: "calc".into(),
            arguments: "{}".into(),
            output: "42\n".into(),
            status: ToolStatus::Ok,
            duration: Duration::from_millis(12),
        });
        r.event(&AgentEvent::ToolFinished {
            call_id: "d".into(),
            name: "calc".into(),
            arguments: "{}".into(),
            output: r#"{"error":"timeout","message":"calc did not finish within 5s"}"#.into(),
            status: ToolStatus::TimedOut,
            duration: Duration::from_millis(5000),
        });
        assert_eq!(
            out.text(),
            "you: what \nassistant: Let\nyou: …time\nassistant: … me see.\n  \
             → calc {\"x\": 1}\n  ← calc: 42 (12 ms)\n  ✗ calc timed out (5.0 s): calc did not \
             finish within 5s\n"
        );
        assert_eq!(err.text(), "");
    }
}
