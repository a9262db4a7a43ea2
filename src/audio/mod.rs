//! The shared audio I/O layer: every way audio enters or leaves an agent.
//!
//! The agent loop only sees two small traits: an [`AudioSource`] yields input frames already in
//! the session's input format, and an [`AudioSink`] takes the model's audio in the session's
//! output format and knows how much of each item has actually been played (what the user heard),
//! which is what barge-in truncation needs.

use async_trait::async_trait;

/// An error from an audio source or sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// Something else went wrong; the message says what.
    #[error("{0}")]
    Other(String),
}

/// Where the user's audio comes from: a microphone, a WAV file, an embedding app's buffers.
///
/// A source is created for one session input format and frame length, and yields frames of
/// exactly that many bytes (the last frame of a finite source may be shorter).
#[async_trait]
pub trait AudioSource: Send {
    /// Waits for the next frame, in the session's input format. `Ok(None)` when the source has
    /// ended (a file was read to its end); a live microphone never ends on its own.
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError>;

    /// Milliseconds of audio lost so far before they reached the agent.
    fn dropped_ms(&self) -> u64 {
        0
    }
}

/// What had been played of an assistant item when playback stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// The assistant item that was playing.
    pub item_id: String,
    /// Milliseconds of its audio that were actually played.
    pub played_ms: u64,
}

/// Where the model's audio goes: a speaker, a WAV file, an embedding app's buffers, nowhere.
pub trait AudioSink: Send {
    /// Queues audio of assistant item `item_id` (bytes in the session's output format) and
    /// returns at once; playback of the first audio starts without waiting for more.
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError>;

    /// Says all audio of `item_id` has been queued.
    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        let _ = item_id;
        Ok(())
    }

    /// Finishes the output.
    fn close(&mut self) -> Result<(), AudioError> {
        Ok(())
    }

    /// Stops at once and drops everything queued. Returns what had been played of the item that
    /// was playing, or `None` when nothing was playing.
    fn stop(&mut self) -> Option<Played>;

    /// Whether queued audio is still playing.
    fn is_playing(&self) -> bool;
}
