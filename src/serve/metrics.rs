//! The server's counters, and their Prometheus text form for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// How a caller reached the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A phone call through Twilio Media Streams (audio passes through the server).
    Twilio,
    /// A phone call through OpenAI SIP (the server only runs the tools, on a sideband socket).
    Sip,
    /// The browser page.
    Browser,
}

impl Channel {
    /// Every channel, in the order `/metrics` lists them.
    pub const ALL: [Channel; 3] = [Channel::Twilio, Channel::Sip, Channel::Browser];

    /// The label value in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Twilio => "twilio",
            Channel::Sip => "sip",
            Channel::Browser => "browser",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What counts as an error in `agent_errors_total{kind=…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ErrorKind {
    /// A webhook without a valid signature.
    WebhookRefused,
    /// A media or browser socket without a valid token.
    SocketRefused,
    /// A call refused because `max_sessions` were running (or the server was draining).
    AtCapacity,
    /// The Realtime session failed (connect, key, network).
    Session,
    /// The server reported an error event.
    Server,
    /// A tool call did not return a result.
    Tool,
    /// A REST call to the provider (accept, reject, refer, hangup) failed.
    Provider,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::WebhookRefused => "webhook_refused",
            ErrorKind::SocketRefused => "socket_refused",
            ErrorKind::AtCapacity => "at_capacity",
            ErrorKind::Session => "session",
            ErrorKind::Server => "server",
            ErrorKind::Tool => "tool",
            ErrorKind::Provider => "provider",
        }
    }
}

/// Upper bounds of the tool-duration histogram buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters shared by every session; updated with atomics or a short lock, never awaited.
#[derive(Default)]
pub(crate) struct Metrics {
    active: [AtomicI64; 3],
    started: [AtomicU64; 3],
    frames_dropped: AtomicU64,
    errors: Mutex<BTreeMap<ErrorKind, u64>>,
    tools: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    pub(crate) fn session_started(&self, channel: Channel) {
        self.active[channel.index()].fetch_add(1, Ordering::Relaxed);
        self.started[channel.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn session_ended(&self, channel: Channel) {
        self.active[channel.index()].fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn active(&self, channel: Channel) -> i64 {
        self.active[channel.index()].load(Ordering::Relaxed)
    }

    pub(crate) fn frames_dropped(&self, frames: u64) {
        self.frames_dropped.fetch_add(frames, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, kind: ErrorKind) {
        *self
            .errors
            .lock()
            .expect("metrics lock")
            .entry(kind)
            .or_default() += 1;
    }

    pub(crate) fn tool_call(&self, tool: &str, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let mut tools = self.tools.lock().expect("metrics lock");
        let histogram = match tools.get_mut(tool) {
            Some(h) => h,
            None => tools.entry(tool.to_owned()).or_default(),
        };
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The Prometheus text exposition of every counter.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP agent_active_sessions Sessions in progress.\n");
        out.push_str("# TYPE agent_active_sessions gauge\n");
        for channel in Channel::ALL {
            let _ = writeln!(
                out,
                "agent_active_sessions{{channel=\"{}\"}} {}",
                channel.as_str(),
                self.active(channel)
            );
        }
        out.push_str("# HELP agent_sessions_total Sessions started.\n");
        out.push_str("# TYPE agent_sessions_total counter\n");
        for channel in Channel::ALL {
            let _ = writeln!(
                out,
                "agent_sessions_total{{channel=\"{}\"}} {}",
                channel.as_str(),
                self.started[channel.index()].load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP agent_tool_call_duration_seconds How long tool calls ran.\n\
             # TYPE agent_tool_call_duration_seconds histogram\n",
        );
        for (tool, h) in self.tools.lock().expect("metrics lock").iter() {
            let tool = escape(tool);
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "agent_tool_call_duration_seconds_bucket{{tool=\"{tool}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "agent_tool_call_duration_seconds_bucket{{tool=\"{tool}\",le=\"+Inf\"}} {}\n\
                 agent_tool_call_duration_seconds_sum{{tool=\"{tool}\"}} {}\n\
                 agent_tool_call_duration_seconds_count{{tool=\"{tool}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        out.push_str(
            "# HELP agent_audio_frames_dropped_total Caller audio frames dropped because the session did not keep up.\n\
             # TYPE agent_audio_frames_dropped_total counter\n",
        );
        let _ = writeln!(
            out,
            "agent_audio_frames_dropped_total {}",
            self.frames_dropped.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP agent_errors_total Errors by kind.\n# TYPE agent_errors_total counter\n",
        );
        for (kind, count) in self.errors.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "agent_errors_total{{kind=\"{}\"}} {count}",
                kind.as_str()
            );
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_every_family() {
        let metrics = Metrics::default();
        metrics.session_started(Channel::Twilio);
        metrics.tool_call("clock", Duration::from_millis(3));
        metrics.frames_dropped(2);
        metrics.error(ErrorKind::WebhookRefused);
        let text = metrics.render();
        assert!(
            text.contains("agent_active_sessions{channel=\"twilio\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("agent_active_sessions{channel=\"sip\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "agent_tool_call_duration_seconds_bucket{tool=\"clock\",le=\"0.001\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "agent_tool_call_duration_seconds_bucket{tool=\"clock\",le=\"0.005\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("agent_tool_call_duration_seconds_count{tool=\"clock\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("agent_audio_frames_dropped_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("agent_errors_total{kind=\"webhook_refused\"} 1\n"),
            "{text}"
        );
        metrics.session_ended(Channel::Twilio);
        assert!(
            metrics
                .render()
                .contains("agent_active_sessions{channel=\"twilio\"} 0\n")
        );
    }
}
