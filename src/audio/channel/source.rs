//! An audio source fed from memory.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::audio::capture::CaptureEncoder;
use crate::audio::pcm::{i16_to_f32, mix_to_mono};
use crate::audio::{AudioError, AudioSource};
use crate::protocol::AudioFormat;

/// One push from the feeder.
#[derive(Debug)]
enum Chunk {
    /// Interleaved `f32` at a rate.
    Pcm {
        samples: Vec<f32>,
        rate: u32,
        channels: u16,
    },
    /// Bytes already in the session input format.
    Encoded(Vec<u8>),
}

/// A source whose audio an app pushes through a [`ChannelFeeder`]. Ends (after the last frame)
/// when every feeder has been dropped.
pub struct ChannelSource {
    receiver: mpsc::Receiver<Chunk>,
    encoder: CaptureEncoder,
    mono: Vec<f32>,
    ended: bool,
}

impl std::fmt::Debug for ChannelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSource")
            .field("encoder", &self.encoder)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// The app's end of a [`ChannelSource`]. Cloneable; the queue between them holds a bounded
/// number of pushes.
#[derive(Debug, Clone)]
pub struct ChannelFeeder {
    sender: mpsc::Sender<Chunk>,
    format: AudioFormat,
}

impl ChannelSource {
    /// A source of frames of `frame_ms` milliseconds of `format`, with room for `queue_len`
    /// pushes not yet read.
    pub fn new(
        format: AudioFormat,
        frame_ms: u32,
        queue_len: usize,
    ) -> Result<(ChannelSource, ChannelFeeder), AudioError> {
        if queue_len == 0 {
            return Err(AudioError::InvalidParameter(
                "a channel source needs room for at least one push".into(),
            ));
        }
        let encoder = CaptureEncoder::new(format.sample_rate(), format, frame_ms)?;
        let (sender, receiver) = mpsc::channel(queue_len);
        let source = ChannelSource {
            receiver,
            encoder,
            mono: Vec::new(),
            ended: false,
        };
        Ok((source, ChannelFeeder { sender, format }))
    }

    fn take(&mut self, chunk: Chunk) -> Result<(), AudioError> {
        match chunk {
            Chunk::Pcm {
                samples,
                rate,
                channels,
            } => {
                self.mono.clear();
                mix_to_mono(&samples, usize::from(channels), &mut self.mono);
                self.encoder.push_at_rate(&self.mono, rate)
            }
            Chunk::Encoded(bytes) => {
                self.encoder.push_encoded(&bytes);
                Ok(())
            }
        }
    }
}

#[async_trait]
impl AudioSource for ChannelSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
        loop {
            if let Some(frame) = self.encoder.next_frame() {
                return Ok(Some(frame));
            }
            if self.ended {
                return Ok(None);
            }
            // `recv` is cancel-safe and the chunk is handled without awaiting.
            match self.receiver.recv().await {
                Some(chunk) => self.take(chunk)?,
                None => {
                    self.encoder.finish();
                    self.ended = true;
                }
            }
        }
    }
}

fn check_shape(rate: u32, channels: u16) -> Result<(), AudioError> {
    if rate == 0 || channels == 0 {
        return Err(AudioError::InvalidParameter(format!(
            "pushed audio at {rate} Hz with {channels} channels"
        )));
    }
    Ok(())
}

impl ChannelFeeder {
    /// The session input format the source produces.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Pushes interleaved `f32` samples (`-1.0..=1.0`) at `rate` Hz, waiting for room.
    pub async fn push_f32(
        &self,
        interleaved: &[f32],
        rate: u32,
        channels: u16,
    ) -> Result<(), AudioError> {
        check_shape(rate, channels)?;
        self.send(Chunk::Pcm {
            samples: interleaved.to_vec(),
            rate,
            channels,
        })
        .await
    }

    /// Pushes interleaved 16-bit samples at `rate` Hz, waiting for room.
    pub async fn push_i16(
        &self,
        interleaved: &[i16],
        rate: u32,
        channels: u16,
    ) -> Result<(), AudioError> {
        check_shape(rate, channels)?;
        self.send(Chunk::Pcm {
            samples: interleaved.iter().copied().map(i16_to_f32).collect(),
            rate,
            channels,
        })
        .await
    }

    /// Pushes bytes already in the session input format, waiting for room.
    pub async fn push_encoded(&self, bytes: &[u8]) -> Result<(), AudioError> {
        self.send(Chunk::Encoded(bytes.to_vec())).await
    }

    /// Pushes interleaved `f32` samples without waiting: [`AudioError::QueueFull`] when the
    /// queue has no room (the audio was not queued).
    pub fn try_push_f32(
        &self,
        interleaved: &[f32],
        rate: u32,
        channels: u16,
    ) -> Result<(), AudioError> {
        check_shape(rate, channels)?;
        self.try_send(Chunk::Pcm {
            samples: interleaved.to_vec(),
            rate,
            channels,
        })
    }

    /// Pushes session-format bytes without waiting: [`AudioError::QueueFull`] when the queue
    /// has no room.
    pub fn try_push_encoded(&self, bytes: &[u8]) -> Result<(), AudioError> {
        self.try_send(Chunk::Encoded(bytes.to_vec()))
    }

    async fn send(&self, chunk: Chunk) -> Result<(), AudioError> {
        self.sender
            .send(chunk)
            .await
            .map_err(|_| AudioError::Closed)
    }

    fn try_send(&self, chunk: Chunk) -> Result<(), AudioError> {
        self.sender.try_send(chunk).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AudioError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => AudioError::Closed,
        })
    }
}
