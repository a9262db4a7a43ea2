//! The visitor's speaker: assistant audio goes to the page as binary PCM16 frames; the page's
//! playback worklet reports how many samples it has played, which is the played position.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::audio::{AudioError, AudioSink, Played};
use crate::protocol::AudioFormat;

/// What goes to the page.
#[derive(Debug)]
pub(crate) enum ToPage {
    /// Assistant audio, PCM16 24 kHz (a binary frame).
    Audio(Vec<u8>),
    /// An event for the page (a JSON text frame).
    Json(String),
}

#[derive(Debug)]
struct Span {
    item_id: String,
    start: u64,
    end: u64,
}

/// Playback as the page reports it, shared by the sink and the socket reader. Positions are
/// 24 kHz samples since the last `clear` (an epoch); reports from an older epoch are stale.
#[derive(Debug, Default)]
pub(crate) struct PagePlayback {
    epoch: u64,
    sent: u64,
    played: u64,
    spans: VecDeque<Span>,
}

impl PagePlayback {
    /// The page says it has played `samples` in `epoch`.
    pub(crate) fn report(&mut self, epoch: u64, samples: u64) {
        if epoch == self.epoch {
            self.played = samples.min(self.sent);
            while self.spans.len() > 1 && self.spans[0].end <= self.played {
                self.spans.pop_front();
            }
        }
    }
}

/// An [`AudioSink`] that plays in the browser page.
pub(crate) struct BrowserSink {
    out: mpsc::UnboundedSender<ToPage>,
    playback: Arc<Mutex<PagePlayback>>,
}

impl BrowserSink {
    pub(crate) fn new(
        out: mpsc::UnboundedSender<ToPage>,
        playback: Arc<Mutex<PagePlayback>>,
    ) -> Self {
        BrowserSink { out, playback }
    }
}

impl AudioSink for BrowserSink {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        let samples = (audio.len() / 2) as u64;
        {
            let mut p = self.playback.lock().expect("playback lock");
            let start = p.sent;
            p.sent += samples;
            let end = p.sent;
            match p.spans.back_mut() {
                Some(span) if span.item_id == item_id => span.end = end,
                _ => p.spans.push_back(Span {
                    item_id: item_id.to_owned(),
                    start,
                    end,
                }),
            }
        }
        self.out
            .send(ToPage::Audio(audio.to_vec()))
            .map_err(|_| AudioError::Closed)
    }

    fn stop(&mut self) -> Option<Played> {
        let mut p = self.playback.lock().expect("playback lock");
        if p.played >= p.sent {
            return None;
        }
        let played = p.played;
        let span = p.spans.iter().find(|s| s.end > played)?;
        let result = Played {
            item_id: span.item_id.clone(),
            played_ms: AudioFormat::Pcm16
                .ms_for_bytes(((played - span.start.min(played)) * 2) as usize),
        };
        p.epoch += 1;
        p.sent = 0;
        p.played = 0;
        p.spans.clear();
        let epoch = p.epoch;
        drop(p);
        let _ = self.out.send(ToPage::Json(
            serde_json::json!({"type": "clear", "epoch": epoch}).to_string(),
        ));
        Some(result)
    }

    fn is_playing(&self) -> bool {
        let p = self.playback.lock().expect("playback lock");
        p.played < p.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_reports_are_the_played_position() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let playback = Arc::new(Mutex::new(PagePlayback::default()));
        let mut sink = BrowserSink::new(tx, playback.clone());
        sink.play("a", &[0; 4800]).unwrap(); // 100 ms
        sink.play("b", &[0; 9600]).unwrap(); // 200 ms
        playback.lock().unwrap().report(0, 2400 + 1200); // all of a, 50 ms of b
        assert!(sink.is_playing());
        assert_eq!(
            sink.stop(),
            Some(Played {
                item_id: "b".into(),
                played_ms: 50
            })
        );
        // A report from before the clear is stale.
        playback.lock().unwrap().report(0, 7200);
        assert!(!sink.is_playing());
        let sent: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert!(
            matches!(sent.last(), Some(ToPage::Json(j)) if j == r#"{"epoch":1,"type":"clear"}"# || j == r#"{"type":"clear","epoch":1}"#)
        );
    }
}
