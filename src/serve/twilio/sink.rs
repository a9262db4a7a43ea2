//! The caller's speaker: assistant audio goes to Twilio as `media`, each chunk followed by a
//! `mark`; acknowledged marks are the played position, and `stop` sends `clear`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::messages::Outbound;
use crate::audio::{AudioError, AudioSink, Played};
use crate::protocol::AudioFormat;

/// A mark sent after a chunk: once Twilio returns it, the item was heard up to `end` bytes.
#[derive(Debug)]
struct Pending {
    name: String,
    item_id: String,
    end: usize,
}

/// What Twilio has acknowledged; shared by the sink (agent loop) and the socket reader.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    pending: VecDeque<Pending>,
    /// The last acknowledged point: item and bytes of it played.
    heard: Option<(String, usize)>,
}

impl Marks {
    /// Twilio returned mark `name`: everything queued before it has played. Marks a `clear`
    /// already accounted for are ignored.
    pub(crate) fn acknowledge(&mut self, name: &str) {
        let Some(at) = self.pending.iter().position(|p| p.name == name) else {
            return;
        };
        let reached = self
            .pending
            .drain(..=at)
            .next_back()
            .expect("position is in range");
        self.heard = Some((reached.item_id, reached.end));
    }
}

/// An [`AudioSink`] that plays through a Twilio Media Stream (µ-law 8 kHz passed through).
pub(crate) struct TwilioSink {
    out: mpsc::UnboundedSender<Outbound>,
    marks: Arc<Mutex<Marks>>,
    item: Option<(String, usize)>,
    next_mark: u64,
}

impl TwilioSink {
    pub(crate) fn new(out: mpsc::UnboundedSender<Outbound>, marks: Arc<Mutex<Marks>>) -> Self {
        TwilioSink {
            out,
            marks,
            item: None,
            next_mark: 0,
        }
    }
}

impl AudioSink for TwilioSink {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        if audio.is_empty() {
            return Ok(());
        }
        let end = match &mut self.item {
            Some((id, bytes)) if id == item_id => {
                *bytes += audio.len();
                *bytes
            }
            _ => {
                self.item = Some((item_id.to_owned(), audio.len()));
                audio.len()
            }
        };
        self.next_mark += 1;
        let name = format!("m{}", self.next_mark);
        self.marks
            .lock()
            .expect("marks lock")
            .pending
            .push_back(Pending {
                name: name.clone(),
                item_id: item_id.to_owned(),
                end,
            });
        let sent = self.out.send(Outbound::Media(audio.to_vec())).is_ok()
            && self.out.send(Outbound::Mark(name)).is_ok();
        if sent {
            Ok(())
        } else {
            Err(AudioError::Closed)
        }
    }

    fn stop(&mut self) -> Option<Played> {
        let mut marks = self.marks.lock().expect("marks lock");
        let playing = marks.pending.front()?.item_id.clone();
        let played_bytes = match &marks.heard {
            Some((item, bytes)) if *item == playing => *bytes,
            _ => 0,
        };
        // Twilio returns the cleared marks at once; they are not playback.
        marks.pending.clear();
        drop(marks);
        let _ = self.out.send(Outbound::Clear);
        Some(Played {
            item_id: playing,
            played_ms: AudioFormat::G711Ulaw.ms_for_bytes(played_bytes),
        })
    }

    fn is_playing(&self) -> bool {
        !self.marks.lock().expect("marks lock").pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_marks_are_what_was_heard() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let marks = Arc::new(Mutex::new(Marks::default()));
        let mut sink = TwilioSink::new(tx, marks.clone());
        assert!(!sink.is_playing());
        sink.play("item_a", &[0xff; 800]).unwrap(); // 100 ms
        sink.play("item_a", &[0xff; 800]).unwrap();
        sink.play("item_a", &[0xff; 800]).unwrap();
        assert_eq!(rx.try_recv().unwrap(), Outbound::Media(vec![0xff; 800]));
        assert_eq!(rx.try_recv().unwrap(), Outbound::Mark("m1".into()));
        marks.lock().unwrap().acknowledge("m2");
        assert!(sink.is_playing());
        assert_eq!(
            sink.stop(),
            Some(Played {
                item_id: "item_a".into(),
                played_ms: 200
            })
        );
        // The cleared mark coming back later changes nothing.
        marks.lock().unwrap().acknowledge("m3");
        assert!(!sink.is_playing());
        assert_eq!(sink.stop(), None);
        let rest: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(rest.last(), Some(&Outbound::Clear));
    }
}
