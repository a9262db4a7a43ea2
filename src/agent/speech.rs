//! The assistant's side of the audio: what was received and played per item, and barge-in.

use std::collections::HashMap;

use crate::audio::{AudioSink, Played};
use crate::protocol::AudioFormat;

/// Keeps what barge-in needs: audio received per assistant item (a truncation must never go
/// past it), the transcript so far (to cut what the user is shown), and which response's audio
/// is muted after an interruption.
#[derive(Default)]
pub(crate) struct Speech {
    received: HashMap<String, usize>,
    transcripts: HashMap<String, String>,
    muted_response: Option<String>,
    /// What was heard of interrupted items: shown and replayed instead of the whole transcript.
    heard: HashMap<String, String>,
    /// The item whose audio arrived last: the one that is playing, or will.
    current_item: Option<String>,
}

/// What an interruption stopped.
pub(crate) struct Cut {
    pub(crate) item_id: String,
    pub(crate) audio_end_ms: u64,
    pub(crate) heard_text: String,
}

impl Speech {
    /// Whether audio of `response_id` must be dropped (the user interrupted it).
    pub(crate) fn is_muted(&self, response_id: &str) -> bool {
        self.muted_response.as_deref() == Some(response_id)
    }

    /// Records `bytes` of audio received for `item_id`.
    pub(crate) fn received(&mut self, item_id: &str, bytes: usize) {
        match self.received.get_mut(item_id) {
            Some(total) => *total += bytes,
            None => {
                self.received.insert(item_id.to_owned(), bytes);
            }
        }
        if self.current_item.as_deref() != Some(item_id) {
            self.current_item = Some(item_id.to_owned());
        }
    }

    /// Appends to the transcript of `item_id`.
    pub(crate) fn transcript(&mut self, item_id: &str, delta: &str) {
        self.transcripts
            .entry(item_id.to_owned())
            .or_default()
            .push_str(delta);
    }

    /// Stops playback now. Returns what to truncate: the played amount, never more than the
    /// audio received for the item (the API rejects that). `None` when nothing was playing.
    pub(crate) fn interrupt(
        &mut self,
        sink: Option<&mut (dyn AudioSink + 'static)>,
        format: AudioFormat,
        active_response: Option<&str>,
    ) -> Option<Cut> {
        if let Some(response) = active_response {
            self.muted_response = Some(response.to_owned());
        }
        let sink = sink?;
        if !sink.is_playing() {
            return None;
        }
        let Played { item_id, played_ms } = sink.stop()?;
        let received_ms = format.ms_for_bytes(self.received.get(&item_id).copied().unwrap_or(0));
        let audio_end_ms = played_ms.min(received_ms);
        let transcript = self.transcripts.get(&item_id).map_or("", String::as_str);
        let heard_text = cut_transcript(transcript, audio_end_ms, received_ms);
        self.heard.insert(item_id.clone(), heard_text.clone());
        Some(Cut {
            item_id,
            audio_end_ms,
            heard_text,
        })
    }

    /// What was heard of `item_id` if it was interrupted.
    pub(crate) fn heard(&self, item_id: &str) -> Option<&str> {
        self.heard.get(item_id).map(String::as_str)
    }

    /// Forgets the bookkeeping of finished responses' items (bounded memory in long sessions),
    /// keeping the item that may still be playing.
    pub(crate) fn response_done(&mut self, items: &[String]) {
        for item in items {
            self.heard.remove(item);
            if self.current_item.as_deref() != Some(item) {
                self.received.remove(item);
                self.transcripts.remove(item);
            }
        }
    }
}

/// The part of `transcript` heard when `played_ms` of `total_ms` played: proportional to time
/// (transcripts are not aligned with audio), ending at a word boundary.
pub(crate) fn cut_transcript(transcript: &str, played_ms: u64, total_ms: u64) -> String {
    if total_ms == 0 || played_ms >= total_ms {
        return transcript.to_owned();
    }
    let chars: Vec<char> = transcript.chars().collect();
    let keep = (chars.len() as u64 * played_ms / total_ms) as usize;
    let mut text: String = chars[..keep].iter().collect();
    // Do not show half a word.
    if keep < chars.len() && !chars[keep].is_whitespace() {
        match text.rfind(char::is_whitespace) {
            Some(space) => text.truncate(space),
            None => text.clear(),
        }
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::cut_transcript;

    #[test]
    fn transcript_is_cut_in_proportion_at_a_word() {
        assert_eq!(cut_transcript("one two three four", 500, 1000), "one two");
        assert_eq!(
            cut_transcript("one two three four", 1000, 1000),
            "one two three four"
        );
        assert_eq!(cut_transcript("one two", 0, 1000), "");
        assert_eq!(cut_transcript("", 10, 1000), "");
    }
}
