//! The shared audio I/O layer: every way audio enters or leaves an agent.
//!
//! The agent loop only sees two small traits: an [`AudioSource`] yields input frames already in
//! the session's input format, and an [`AudioSink`] takes the model's audio in the session's
//! output format and knows how much of each item has actually been played (what the user heard),
//! which is what barge-in truncation needs.
//!
//! # Layout
//!
//! | Module | Job |
//! |---|---|
//! | [`pcm`], [`g711`], [`codec`] | sample conversions; G.711 mu-law/A-law; the session formats |
//! | [`resample`] | streaming resampler (rubato), state kept across pieces |
//! | [`capture`] | mono audio at any rate → fixed session-format frames ([`CaptureEncoder`]) |
//! | [`playback`] | the core every sink uses: bounded lock-free queue, heard position per item |
//! | [`wav`] | [`WavSource`] and [`WavSink`] (hound) |
//! | [`channel`] | [`ChannelSource`] / [`ChannelSink`] for embedding apps and tests |
//! | [`null`] | [`NullSink`]: discards audio at the pace it would play |
//! | [`half_duplex`] | [`HalfDuplexSource`]: no microphone while the assistant is audible |
//! | [`echo`] | the [`EchoCanceller`] hook and the playback signal it sees ([`FarEnd`]) |
//! | [`aec`] (feature `aec`) | [`Aec3Canceller`]: WebRTC's AEC3 (pure Rust) behind that hook |
//! | `device` (feature `audio`) | microphone and speaker through cpal, device listing, [`DeviceAudio`] |
//!
//! Everything except `device` builds without the `audio` feature (no ALSA needed), which is
//! all a server or a telephony bridge needs.
//!
//! # Example
//!
//! An app that plays the model's audio itself uses a [`ChannelSink`]; the
//! [`ChannelPlayer`] it pulls from is also the clock that decides what counts as played:
//!
//! ```
//! use realtime_agent::audio::{AudioSink, ChannelSink, Played};
//! use realtime_agent::protocol::AudioFormat;
//!
//! let (mut sink, mut player) = ChannelSink::new(AudioFormat::Pcm16)?;
//! sink.play("item_1", &vec![0u8; 48_000])?; // one second of 24 kHz PCM16
//! player.advance_ms(250); // the app played a quarter of it, then the user spoke
//! let played = sink.stop();
//! assert_eq!(played, Some(Played { item_id: "item_1".into(), played_ms: 250 }));
//! # Ok::<(), realtime_agent::audio::AudioError>(())
//! ```

use async_trait::async_trait;

#[cfg(feature = "aec")]
pub mod aec;
pub mod capture;
pub mod channel;
pub mod codec;
#[cfg(feature = "audio")]
pub mod device;
pub mod echo;
mod error;
pub mod g711;
pub mod half_duplex;
pub mod null;
pub mod pcm;
pub mod playback;
mod polyphase;
pub mod resample;
pub mod wav;

#[cfg(feature = "aec")]
pub use aec::Aec3Canceller;
pub use capture::{CaptureEncoder, DEFAULT_FRAME_MS};
pub use channel::{ChannelFeeder, ChannelPlayer, ChannelSink, ChannelSource};
#[cfg(feature = "audio")]
pub use device::{
    AudioHost, ChosenHost, DeviceAudio, DeviceInfo, DeviceOptions, DuplexOptions, MicSource,
    SpeakerSink, choose_host, list_devices,
};
pub use echo::{EchoCanceller, FarEnd, NoEchoCanceller};
pub use error::{AudioError, Direction, SUPPORTED_WAV};
pub use half_duplex::{DEFAULT_TAIL, HalfDuplexSource, half_duplex_default};
pub use null::NullSink;
pub use playback::{PlaybackMonitor, PlaybackQueue, PlaybackRenderer, playback_channel};
pub use resample::StreamResampler;
pub use wav::{WavSink, WavSource};

/// Where the user's audio comes from: a microphone, a WAV file, an embedding app's buffers.
///
/// A source is created for one session input format and frame length, and yields frames of
/// exactly that many bytes (the last frame of a finite source may be shorter).
#[async_trait]
pub trait AudioSource: Send {
    /// Waits for the next frame, in the session's input format. `Ok(None)` when the source has
    /// ended (a file was read to its end); a live microphone never ends on its own.
    ///
    /// Cancel-safe: every source in this crate keeps partial state in itself, so dropping the
    /// future (in `select!`) loses no audio.
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError>;

    /// Milliseconds of audio lost so far before they reached the agent, because the reader fell
    /// behind the capture device (its bounded queue was full). The agent reports a growing
    /// count as an event. Sources that cannot lose audio return 0.
    fn dropped_ms(&self) -> u64 {
        0
    }
}

#[async_trait]
impl<S: AudioSource + ?Sized> AudioSource for Box<S> {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
        (**self).next_frame().await
    }

    fn dropped_ms(&self) -> u64 {
        (**self).dropped_ms()
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

    /// Says all audio of `item_id` has been queued (`response.output_audio.done`), so a sink
    /// that resamples can queue the last few milliseconds it holds back. Optional: without it
    /// they are queued when the next item starts.
    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        let _ = item_id;
        Ok(())
    }

    /// Stops at once and drops everything queued. Returns what had been played of the item that
    /// was playing, or `None` when nothing was playing.
    ///
    /// `played_ms` counts the audio already handed to the device, which it plays out within
    /// its latency (10-30 ms typically) and cannot take back; it is rounded down and never more
    /// than the audio received for the item, so it can go straight into
    /// `conversation.item.truncate`.
    fn stop(&mut self) -> Option<Played>;

    /// Whether queued audio is still playing.
    fn is_playing(&self) -> bool;

    /// A view of playback the capture side can consult (half-duplex), if this sink has one.
    fn monitor(&self) -> Option<playback::PlaybackMonitor> {
        None
    }

    /// The rendered playback signal for an echo canceller, if this sink provides it (the first
    /// call only).
    fn far_end(&mut self) -> Option<FarEnd> {
        None
    }

    /// Finishes the output (a WAV file's header). Does not wait for queued audio to play;
    /// wait for [`is_playing`](Self::is_playing) to turn false first if it should be heard.
    fn close(&mut self) -> Result<(), AudioError> {
        Ok(())
    }
}

impl<S: AudioSink + ?Sized> AudioSink for Box<S> {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        (**self).play(item_id, audio)
    }

    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        (**self).finish_item(item_id)
    }

    fn stop(&mut self) -> Option<Played> {
        (**self).stop()
    }

    fn is_playing(&self) -> bool {
        (**self).is_playing()
    }

    fn monitor(&self) -> Option<playback::PlaybackMonitor> {
        (**self).monitor()
    }

    fn far_end(&mut self) -> Option<FarEnd> {
        (**self).far_end()
    }

    fn close(&mut self) -> Result<(), AudioError> {
        (**self).close()
    }
}
