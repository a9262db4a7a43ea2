//! `--record FILE.jsonl`: every event sent and received, one JSON object a line.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::transport::{Direction, Recorder};

/// Event types whose base64 audio is elided unless `--record-audio`, and the field holding it.
const AUDIO_FIELDS: &[(&str, &str)] = &[
    ("input_audio_buffer.append", "audio"),
    ("response.output_audio.delta", "delta"),
    ("response.audio.delta", "delta"),
];

/// Writes each frame as `{"time":…,"elapsed_ms":…,"direction":"sent"|"received","event":{…}}`:
/// `time` in Unix seconds, `elapsed_ms` since the recording started, `event` the frame's JSON
/// (a frame that is not JSON is kept as `"raw"` text). Audio payloads become
/// `"<elided: N base64 characters>"` unless kept.
///
/// Lines go through a buffer (a write is a copy in memory, quick enough for the transport's
/// tasks); [`JsonlRecorder::finish`] flushes it. A failing disk is reported once at the end.
pub(crate) struct JsonlRecorder {
    path: PathBuf,
    out: Mutex<Option<BufWriter<File>>>,
    started: Instant,
    keep_audio: bool,
    error: Mutex<Option<std::io::Error>>,
}

impl JsonlRecorder {
    /// Creates (or truncates) `path`.
    pub(crate) fn create(path: &Path, keep_audio: bool) -> std::io::Result<JsonlRecorder> {
        let file = File::create(path)?;
        Ok(JsonlRecorder {
            path: path.to_path_buf(),
            out: Mutex::new(Some(BufWriter::new(file))),
            started: Instant::now(),
            keep_audio,
            error: Mutex::new(None),
        })
    }

    /// The file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and closes the file; the first write error, if any.
    pub(crate) fn finish(&self) -> std::io::Result<()> {
        let out = self.out.lock().expect("recorder lock").take();
        if let Some(mut out) = out
            && let Err(error) = out.flush()
        {
            self.error
                .lock()
                .expect("recorder lock")
                .get_or_insert(error);
        }
        match self.error.lock().expect("recorder lock").take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// `{"event": …}` with audio elided, or `{"event": null, "raw": …}` for a frame that is not
    /// JSON.
    fn event(&self, frame: &str) -> Value {
        match serde_json::from_str::<Value>(frame) {
            Ok(mut event) => {
                if !self.keep_audio {
                    elide_audio(&mut event);
                }
                mask_mcp_secrets(&mut event);
                json!({ "event": event })
            }
            Err(_) => json!({ "event": null, "raw": frame }),
        }
    }
}

impl Recorder for JsonlRecorder {
    fn record(&self, direction: Direction, frame: &str) {
        let body = self.event(frame);
        let mut out = self.out.lock().expect("recorder lock");
        let Some(writer) = out.as_mut() else {
            return;
        };
        // Stamped under the lock, so that times never go backwards in the file.
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let elapsed_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let mut record = json!({
            "time": time,
            "elapsed_ms": elapsed_ms,
            "direction": direction.as_str(),
        });
        if let (Value::Object(record), Value::Object(body)) = (&mut record, body) {
            record.extend(body);
        }
        let mut line = record.to_string();
        line.push('\n');
        if let Err(error) = writer.write_all(line.as_bytes()) {
            *out = None;
            self.error
                .lock()
                .expect("recorder lock")
                .get_or_insert(error);
        }
    }
}

/// Masks the `authorization` token and header values of hosted MCP tools in a session's
/// `tools` (`session.update` and the server's echo): a recording is shared, a token is not.
fn mask_mcp_secrets(event: &mut Value) {
    let Some(Value::Array(tools)) = event.pointer_mut("/session/tools") else {
        return;
    };
    for tool in tools {
        if tool.get("type").and_then(Value::as_str) != Some("mcp") {
            continue;
        }
        if let Some(token) = tool.get_mut("authorization")
            && !token.is_null()
        {
            *token = Value::from("***");
        }
        if let Some(Value::Object(headers)) = tool.get_mut("headers") {
            for value in headers.values_mut() {
                *value = Value::from("***");
            }
        }
    }
}

/// Replaces the base64 audio of an audio event with a note of its length.
fn elide_audio(event: &mut Value) {
    let Some(kind) = event.get("type").and_then(Value::as_str) else {
        return;
    };
    let Some((_, field)) = AUDIO_FIELDS.iter().find(|(t, _)| *t == kind) else {
        return;
    };
    if let Some(Value::String(audio)) = event.get_mut(*field) {
        *audio = format!("<elided: {} base64 characters>", audio.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_mcp_tokens_are_masked() {
        let mut event = json!({"type": "session.update", "session": {"tools": [
            {"type": "function", "name": "f", "parameters": {}},
            {"type": "mcp", "server_label": "docs", "authorization": "tok-planted-1",
             "headers": {"X-Key": "hdr-planted-2"}}]}});
        mask_mcp_secrets(&mut event);
        let text = event.to_string();
        assert!(!text.contains("planted"), "{text}");
        assert_eq!(event["session"]["tools"][1]["authorization"], "***");
        assert_eq!(event["session"]["tools"][0]["name"], "f");
    }

    #[test]
    fn audio_is_elided_and_everything_else_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let recorder = JsonlRecorder::create(&path, false).unwrap();
        recorder.record(
            Direction::Sent,
            r#"{"type":"input_audio_buffer.append","event_id":"e1","audio":"AAAA"}"#,
        );
        recorder.record(Direction::Received, "not json");
        recorder.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0]["event"],
            json!({"type":"input_audio_buffer.append","event_id":"e1","audio":"<elided: 4 base64 characters>"})
        );
        assert_eq!(lines[0]["direction"], "sent");
        assert_eq!(lines[1]["raw"], "not json");
        assert_eq!(lines[1]["direction"], "received");
    }
}
